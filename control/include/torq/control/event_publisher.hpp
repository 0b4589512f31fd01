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

#include "torq/control/log_decoder.hpp"
#include "torq/protocol/frame.hpp"

namespace torq::control {

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
    const auto now = std::chrono::system_clock::now().time_since_epoch();
    const auto frame = b.finish(sequence_, static_cast<std::uint64_t>(
                                               std::chrono::duration_cast<std::chrono::nanoseconds>(now).count()));
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

  Sink& sink_;
  std::uint8_t source_;
  std::uint8_t flags_;
  std::uint64_t sequence_ = 1;
  std::uint64_t published_ = 0;
  std::uint64_t dropped_ = 0;
  std::uint64_t build_failures_ = 0;
  alignas(64) std::array<std::byte, kFrameCapacity> buf_{};
};

}  // namespace torq::control
