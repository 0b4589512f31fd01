// EventPublisher: wraps decoded control-plane events (LogEvent, BlockHeader, ReorgNotice) into
// Protocol V2 market-data frames and hands each finished frame to a sink.
//
// The sink is a template parameter (no std::function, no virtual call): any object callable as
// `bool sink(std::span<const std::byte> frame) noexcept` — a ring producer's try_push, a UDP
// sender, a test recorder. `false` means back pressure: the frame is NOT retried here, it is
// counted in dropped() so that loss is explicit (the caller decides whether to stall or resync).
// The frame bytes are valid only during the call.
//
// One frame per event (lowest latency; a record per frame keeps sequence gaps meaningful per
// event). Sequence numbers are per publisher (one publisher = one Protocol V2 source id).
// No allocation, no exceptions; not thread-safe (one publisher per producing thread).
#pragma once

#include <array>
#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>
#include <algorithm>

#include "torq/control/log_decoder.hpp"
#include "torq/protocol/frame.hpp"

namespace torq::control {

// Frame timestamp source. Default (fn null): CLOCK_REALTIME. Replay (docs/record-replay.md)
// sets one that returns the recorded stamps, so replayed frames are identical byte for byte.
// A plain function pointer: one null check per frame.
struct FrameClock {
  std::uint64_t (*fn)(void* ctx) noexcept = nullptr;
  void* ctx = nullptr;
};

template <class S>
concept FrameSink = requires(S& s, std::span<const std::byte> frame) {
  { s(frame) } -> std::same_as<bool>;
};

template <FrameSink Sink>
class EventPublisher {
 public:
  // Largest frame this publisher builds: header + one standard-form TLV of at most 255 bytes.
  static constexpr std::size_t kFrameCapacity = protocol::kHeaderSize + protocol::kStandardTlvHeader + 256;

  EventPublisher(Sink& sink, std::uint8_t source, bool checksum = true) noexcept
      : sink_(sink), source_(source), flags_(checksum ? 0 : protocol::frame_flags::kNoChecksum) {}

  [[nodiscard]] bool publish(const LogEvent& e) noexcept {
    return publish_raw(static_cast<std::uint8_t>(e.type), e.bytes());
  }
  template <class T>
  [[nodiscard]] bool publish(const T& value) noexcept {
    return publish_raw(static_cast<std::uint8_t>(T::kType),
                       std::span<const std::byte>(reinterpret_cast<const std::byte*>(&value), sizeof(T)));
  }

  // System-domain snapshot of one pool (kSnapshot flag): one PoolStateSnapshot frame, then the
  // ticks in V3TicksSnapshot frames (extended TLV form, as many ticks per frame as fit in
  // `scratch`, at most kMaxFrameSize). System frames have their own sequence (system_sequence())
  // so market-data sequence gaps keep meaning "lost event". Control-plane path: the caller
  // provides the scratch buffer (no allocation here). False if any frame was dropped or failed.
  [[nodiscard]] bool publish_snapshot(const protocol::PoolStateSnapshot& state,
                                      std::span<const protocol::V3TickEntry> ticks,
                                      std::span<std::byte> scratch) noexcept {
    const auto flags = static_cast<std::uint8_t>(flags_ | protocol::frame_flags::kSnapshot);
    bool ok = publish_system(static_cast<std::uint8_t>(protocol::TlvType::PoolStateSnapshot), as_bytes_of(state), {},
                             scratch, flags);
    if (state.kind != static_cast<std::uint8_t>(protocol::PoolKind::V3)) return ok;
    const std::size_t room = std::min(scratch.size(), protocol::kMaxFrameSize);
    const std::size_t overhead = protocol::kHeaderSize + protocol::kExtendedTlvHeader + sizeof(protocol::V3TicksSnapshotHead);
    if (room <= overhead + sizeof(protocol::V3TickEntry)) return false;
    const std::size_t per = std::min((room - overhead) / sizeof(protocol::V3TickEntry),
                                     (protocol::kMaxExtendedTlvValue - sizeof(protocol::V3TicksSnapshotHead)) /
                                         sizeof(protocol::V3TickEntry));
    std::size_t i = 0;
    do {  // an empty tick list still publishes one (count 0) frame: "no initialized ticks"
      const std::size_t n = std::min(per, ticks.size() - i);
      protocol::V3TicksSnapshotHead head{};
      head.pool = state.pool;
      head.block_number = state.block_number;
      head.count = static_cast<std::uint32_t>(n);
      const auto tail = std::as_bytes(ticks.subspan(i, n));
      ok = publish_system(static_cast<std::uint8_t>(protocol::TlvType::V3TicksSnapshot), as_bytes_of(head), tail,
                          scratch, flags) && ok;
      i += n;
    } while (i < ticks.size());
    return ok;
  }

  // Control plane, before publishing (not thread-safe with publish).
  void set_clock(FrameClock c) noexcept { clock_ = c; }

  [[nodiscard]] std::uint64_t system_sequence() const noexcept { return system_sequence_; }
  [[nodiscard]] std::uint64_t published() const noexcept { return published_; }
  [[nodiscard]] std::uint64_t dropped() const noexcept { return dropped_; }
  [[nodiscard]] std::uint64_t build_failures() const noexcept { return build_failures_; }
  [[nodiscard]] std::uint64_t next_sequence() const noexcept { return sequence_; }

 private:
  [[nodiscard]] bool publish_raw(std::uint8_t type, std::span<const std::byte> value) noexcept {
    protocol::FrameBuilder b(std::span<std::byte>(buf_), protocol::RelayDomain::MarketData, source_, flags_);
    if (!b.add_raw(type, value)) {
      ++build_failures_;
      return false;
    }
    const auto frame = b.finish(sequence_, now_ns());
    if (frame.empty()) {
      ++build_failures_;
      return false;
    }
    ++sequence_;  // consumed even when dropped: the receiver sees the gap
    if (!sink_(frame)) {
      ++dropped_;
      return false;
    }
    ++published_;
    return true;
  }

  [[nodiscard]] std::uint64_t now_ns() noexcept {
    if (clock_.fn != nullptr) return clock_.fn(clock_.ctx);
    const auto now = std::chrono::system_clock::now().time_since_epoch();
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(now).count());
  }

  template <class T>
  static std::span<const std::byte> as_bytes_of(const T& v) noexcept {
    return std::span<const std::byte>(reinterpret_cast<const std::byte*>(&v), sizeof(T));
  }
  [[nodiscard]] bool publish_system(std::uint8_t type, std::span<const std::byte> head, std::span<const std::byte> tail,
                                    std::span<std::byte> scratch, std::uint8_t flags) noexcept {
    protocol::FrameBuilder b(scratch, protocol::RelayDomain::System, source_, flags);
    if (!(tail.empty() ? b.add_raw(type, head) : b.add_raw(type, head, tail))) {
      ++build_failures_;
      return false;
    }
    const auto frame = b.finish(system_sequence_, now_ns());
    if (frame.empty()) {
      ++build_failures_;
      return false;
    }
    ++system_sequence_;
    if (!sink_(frame)) {
      ++dropped_;
      return false;
    }
    ++published_;
    return true;
  }

  Sink& sink_;
  std::uint8_t source_;
  std::uint8_t flags_;
  FrameClock clock_{};
  std::uint64_t sequence_ = 1;
  std::uint64_t system_sequence_ = 1;
  std::uint64_t published_ = 0;
  std::uint64_t dropped_ = 0;
  std::uint64_t build_failures_ = 0;
  alignas(64) std::array<std::byte, kFrameCapacity> buf_{};
};

}  // namespace torq::control
