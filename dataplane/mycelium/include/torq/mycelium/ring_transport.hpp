// torq/mycelium/ring_transport.hpp — Mycelium endpoints over torq::ring SPSC rings.
//
// Owns: RingPublisher<Storage> / RingSubscriber<Storage>, the publisher and subscriber of one
// SPSC frame ring, and their two storages: process-local rings found by name in this process
// (InprocPublisher/InprocSubscriber, "inproc:<name>") and rings in a POSIX shared-memory segment
// (ShmPublisher/ShmSubscriber, "shm:/<name>"). The ring is reliable: a full ring is reported as
// PublishResult::would_block (and counted on both the endpoint and the ring's shared counters);
// nothing is ever overwritten or dropped by the transport.
// Frames are carried as opaque records: the ring does not validate them (its memory is trusted);
// relays validate with protocol::parse_frame when configured to.
// Thread-safety: one publisher and one subscriber per ring name, each used by one thread at a
// time (the shm pair may be in two processes). The inproc name registry is mutex-protected and
// used only by the open functions (start-up). Allocation: the open_* functions allocate and map
// memory and throw std::runtime_error / std::system_error on failure; try_publish and poll are
// noexcept, allocation-free and syscall-free.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <type_traits>
#include <utility>

#include "torq/mycelium/config.hpp"
#include "torq/mycelium/types.hpp"
#include "torq/ring/local_ring.hpp"
#include "torq/ring/shm_segment.hpp"
#include "torq/ring/spsc_ring.hpp"

namespace torq::mycelium {

// Keeps a shared-memory ring mapped; removes its name at destruction when asked to.
class ShmStorage {
 public:
  ShmStorage() noexcept = default;
  ShmStorage(ring::ShmRing r, bool unlink) noexcept : ring_(std::move(r)), unlink_(unlink) {}
  ~ShmStorage() {
    if (unlink_ && ring_.segment) ring::ShmSegment::remove(ring_.segment.name());
  }
  ShmStorage(ShmStorage&& o) noexcept : ring_(std::move(o.ring_)), unlink_(std::exchange(o.unlink_, false)) {}
  ShmStorage& operator=(ShmStorage&& o) noexcept {
    if (this != &o) {
      if (unlink_ && ring_.segment) ring::ShmSegment::remove(ring_.segment.name());
      ring_ = std::move(o.ring_);
      unlink_ = std::exchange(o.unlink_, false);
    }
    return *this;
  }
  [[nodiscard]] ring::RingRegion region() const noexcept { return ring_.region; }

 private:
  ring::ShmRing ring_;
  bool unlink_ = false;
};

using InprocStorage = std::shared_ptr<ring::LocalRing>;

[[nodiscard]] inline ring::RingRegion region_of(const InprocStorage& s) noexcept {
  return s ? s->region() : ring::RingRegion{};
}
[[nodiscard]] inline ring::RingRegion region_of(const ShmStorage& s) noexcept { return s.region(); }

template <class Storage>
class RingPublisher {
 public:
  static constexpr TransportKind kKind =
      std::is_same_v<Storage, InprocStorage> ? TransportKind::inproc : TransportKind::shm;
  static constexpr bool kReliable = true;

  RingPublisher() noexcept = default;
  RingPublisher(Storage storage, ring::SpscProducer producer) noexcept
      : storage_(std::move(storage)), producer_(std::move(producer)) {}

  // Copies the frame into the ring. ok, would_block (ring full), or too_large (empty or larger
  // than the ring's max_payload()).
  [[nodiscard]] PublishResult try_publish(std::span<const std::byte> frame) noexcept {
    if (frame.empty() || frame.size() > producer_.max_payload()) [[unlikely]] {
      ++stats_.too_large;
      return PublishResult::too_large;
    }
    const auto r = producer_.try_publish(frame);
    if (r == ring::PublishResult::ok) [[likely]] {
      ++stats_.published;
      return PublishResult::ok;
    }
    ++stats_.would_block;
    return PublishResult::would_block;
  }
  // Nothing is buffered by this transport; present so all publishers share one interface.
  [[nodiscard]] bool flush() noexcept { return true; }

  [[nodiscard]] std::size_t max_frame_size() const noexcept { return producer_.max_payload(); }
  [[nodiscard]] const PublisherStats& stats() const noexcept { return stats_; }
  [[nodiscard]] ring::SpscProducer& producer() noexcept { return producer_; }
  // The ring's shared control block, for monitoring from any thread (RingRegion::stats()).
  [[nodiscard]] ring::RingRegion region() const noexcept { return region_of(storage_); }

 private:
  Storage storage_;             // declared first: the memory outlives the endpoint handle
  ring::SpscProducer producer_;
  PublisherStats stats_{};
};

template <class Storage>
class RingSubscriber {
 public:
  static constexpr TransportKind kKind =
      std::is_same_v<Storage, InprocStorage> ? TransportKind::inproc : TransportKind::shm;

  RingSubscriber() noexcept = default;
  RingSubscriber(Storage storage, ring::SpscConsumer consumer) noexcept
      : storage_(std::move(storage)), consumer_(std::move(consumer)) {}

  // Calls handler(std::span<const std::byte> frame) for up to max_burst frames in order; the
  // span is valid only during the call. Returns the number handled.
  template <class Handler>
  [[nodiscard]] std::size_t poll(Handler&& handler, std::size_t max_burst) noexcept {
    ++stats_.polls;
    const std::size_t n = consumer_.consume_burst(handler, max_burst);
    stats_.received += n;
    return n;
  }

  [[nodiscard]] const SubscriberStats& stats() const noexcept { return stats_; }
  [[nodiscard]] ring::SpscConsumer& consumer() noexcept { return consumer_; }
  // The ring's shared control block, for monitoring from any thread (RingRegion::stats()).
  [[nodiscard]] ring::RingRegion region() const noexcept { return region_of(storage_); }

 private:
  Storage storage_;
  ring::SpscConsumer consumer_;
  SubscriberStats stats_{};
};

using InprocPublisher = RingPublisher<InprocStorage>;
using InprocSubscriber = RingSubscriber<InprocStorage>;
using ShmPublisher = RingPublisher<ShmStorage>;
using ShmSubscriber = RingSubscriber<ShmStorage>;

// Start-up: find or create the process-local ring named cfg.name (capacity from the creator's
// config) and attach one side. Throws std::runtime_error if that side is already taken.
[[nodiscard]] InprocPublisher open_inproc_publisher(const TransportConfig& cfg);
[[nodiscard]] InprocSubscriber open_inproc_subscriber(const TransportConfig& cfg);
// Start-up: attach to the segment /dev/shm/<cfg.name>, or create and format it if absent
// (whichever side comes first creates; the other attaches). Throws on failure.
[[nodiscard]] ShmPublisher open_shm_publisher(const TransportConfig& cfg);
[[nodiscard]] ShmSubscriber open_shm_subscriber(const TransportConfig& cfg);

}  // namespace torq::mycelium
