// torq/mycelium/heartbeat.hpp — the producing side of sequence tracking: per-source sequence
// numbers, epochs and Heartbeat frames.
//
// Owns: Sequencer, which a frame source (one `source` id) uses to number its data frames
// (next_sequence(): 1, 2, 3, ...) and to build Heartbeat frames: System domain, the source's id,
// header sequence = last data sequence (heartbeats consume no number), one Heartbeat TLV
// {timestamp_ns, last_sequence, epoch}. A source announces itself (and any restart, with a new
// epoch) by sending a heartbeat before its first data frame, then one every interval while idle
// or busy; heartbeat_due() tells when. is_heartbeat() recognises such frames for relays.
// Thread-safety: a Sequencer belongs to the one thread that publishes for its source.
// Allocation: none; frames are built into caller buffers (kHeartbeatFrameSize bytes).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "torq/protocol/frame.hpp"

namespace torq::mycelium {

inline constexpr std::size_t kHeartbeatFrameSize =
    protocol::kHeaderSize + protocol::kStandardTlvHeader + sizeof(protocol::Heartbeat);
static_assert(kHeartbeatFrameSize == 58);

class Sequencer {
 public:
  // epoch: distinct per run of the source (e.g. a persisted counter, or start time in seconds).
  Sequencer(std::uint8_t source, std::uint32_t epoch, std::uint64_t heartbeat_interval_ns = 100'000'000) noexcept
      : source_(source), epoch_(epoch), interval_ns_(heartbeat_interval_ns) {}

  [[nodiscard]] std::uint64_t next_sequence() noexcept { return ++last_; }
  [[nodiscard]] std::uint64_t last_sequence() const noexcept { return last_; }
  [[nodiscard]] std::uint8_t source() const noexcept { return source_; }
  [[nodiscard]] std::uint32_t epoch() const noexcept { return epoch_; }

  [[nodiscard]] bool heartbeat_due(std::uint64_t now_ns) const noexcept { return now_ns >= last_heartbeat_ns_ + interval_ns_; }

  // Builds a heartbeat frame into `buf` (>= kHeartbeatFrameSize bytes) and restarts the interval.
  // Empty span if the buffer is too small.
  [[nodiscard]] std::span<const std::byte> build_heartbeat(std::span<std::byte> buf, std::uint64_t now_ns,
                                                           bool checksum = true) noexcept {
    protocol::FrameBuilder b(buf, protocol::RelayDomain::System, source_, checksum ? 0 : protocol::frame_flags::kNoChecksum);
    const protocol::Heartbeat hb{now_ns, last_, epoch_, 0};
    if (!b.add(hb)) return {};
    last_heartbeat_ns_ = now_ns;
    return b.finish(last_, now_ns);
  }

 private:
  std::uint8_t source_;
  std::uint32_t epoch_;
  std::uint64_t interval_ns_;
  std::uint64_t last_ = 0;
  std::uint64_t last_heartbeat_ns_ = 0;
};

// The Heartbeat carried by a parsed frame, if the frame is a heartbeat (System domain, first TLV
// a Heartbeat).
[[nodiscard]] inline std::optional<protocol::Heartbeat> heartbeat_of(const protocol::FrameView& v) noexcept {
  if (v.header.domain != static_cast<std::uint8_t>(protocol::RelayDomain::System)) return std::nullopt;
  const auto it = v.tlvs().begin();
  if (it == v.tlvs().end()) return std::nullopt;
  return protocol::tlv_as<protocol::Heartbeat>(*it);
}

}  // namespace torq::mycelium
