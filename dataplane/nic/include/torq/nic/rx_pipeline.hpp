// torq/nic/rx_pipeline.hpp — the receive-side frame handling shared by the DPDK poll loop and the
// kernel UDP fallback: packet checks, Protocol V2 validation, sequencing, delivery to a sink.
//
// Owns: RxPipeline<Sink>, RxPipelineConfig, RxCounters.
// on_packet(line, ethernet_frame) runs parse_udp_packet() with the line's filter, then
// on_datagram(line, udp_payload) (the kernel path enters here): the datagram holds one or more
// back-to-back Protocol V2 frames, each validated by protocol::parse_frame (magic, version,
// domain, sizes, CRC32C, TLV structure); a datagram whose bytes are not entirely valid frames
// counts one bad frame per failure and stops at the first one (the rest cannot be framed).
// Valid frames are sequenced per source, by one of two policies fixed at construction:
//   - single line: mycelium::SequenceTracker (gaps, late, duplicates, stale, source restarts via
//     heartbeats); duplicates and stale frames dropped, everything else delivered;
//   - A/B arbitration (arbitrate = true): LineArbiter merges the lines (see arbiter.hpp); with
//     one line it is a reorder buffer whose holes wait for a resend (holes()).
// Every drop is counted, by reason (RxCounters, per line and total). Nothing is logged per packet.
// Sink: any type with on_frame(std::span<const std::byte>) — a mycelium::Relay<Out> directly,
// or any callable wrapper; called synchronously, never through a virtual call.
// Thread-safety: one thread (the poll loop). Allocation: constructor only (~100 KiB tracker or
// the arbiter's slots); on_packet/on_datagram/expire are noexcept and allocation-free.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <type_traits>

#include "torq/mycelium/heartbeat.hpp"
#include "torq/mycelium/sequence_tracker.hpp"
#include "torq/nic/arbiter.hpp"
#include "torq/nic/packet.hpp"
#include "torq/protocol/frame.hpp"

namespace torq::nic {

inline constexpr std::size_t kFrameErrorCount = 12;  // protocol::FrameError values, Ok included

struct RxCounters {
  std::uint64_t packets = 0;    // Ethernet frames offered (DPDK path)
  std::uint64_t bytes = 0;      // their bytes
  std::uint64_t datagrams = 0;  // UDP payloads offered to frame validation (both paths)
  std::uint64_t frames = 0;     // valid Protocol V2 frames
  std::uint64_t multi_segment = 0;  // DPDK packets spread over several mbufs: dropped
  std::array<std::uint64_t, kPacketErrorCount> packet_errors{};  // by PacketError (index 0 unused)
  std::array<std::uint64_t, kFrameErrorCount> frame_errors{};    // by protocol::FrameError (0 unused)

  [[nodiscard]] std::uint64_t bad_packets() const noexcept {
    std::uint64_t s = multi_segment;
    for (std::size_t i = 1; i < packet_errors.size(); ++i) s += packet_errors[i];
    return s;
  }
  [[nodiscard]] std::uint64_t bad_frames() const noexcept {
    std::uint64_t s = 0;
    for (std::size_t i = 1; i < frame_errors.size(); ++i) s += frame_errors[i];
    return s;
  }
  [[nodiscard]] std::uint64_t packet_error(PacketError e) const noexcept { return packet_errors[static_cast<std::size_t>(e)]; }
  [[nodiscard]] std::uint64_t frame_error(protocol::FrameError e) const noexcept {
    return frame_errors[static_cast<std::size_t>(e)];
  }
  RxCounters& operator+=(const RxCounters& o) noexcept {
    packets += o.packets; bytes += o.bytes; datagrams += o.datagrams; frames += o.frames;
    multi_segment += o.multi_segment;
    for (std::size_t i = 0; i < packet_errors.size(); ++i) packet_errors[i] += o.packet_errors[i];
    for (std::size_t i = 0; i < frame_errors.size(); ++i) frame_errors[i] += o.frame_errors[i];
    return *this;
  }
};
static_assert(std::is_trivially_copyable_v<RxCounters>);

struct RxPipelineConfig {
  std::size_t lines = 1;                            // 1..kMaxLines
  std::array<PacketFilter, kMaxLines> filters{};    // per line
  bool arbitrate = false;                           // A/B merge, or with one line a reorder buffer for resends
  ArbiterConfig arbiter{};
  bool verify_checksum = true;                      // CRC32C (unless a frame says kNoChecksum)
};

// Delivery statistics of the single-line policy (the arbiter has its own, see arbiter.hpp).
struct TrackerDrops {
  std::uint64_t delivered = 0;
  std::uint64_t duplicates = 0;
  std::uint64_t stale = 0;
};

template <class Sink>
class RxPipeline {
 public:
  RxPipeline(const RxPipelineConfig& cfg, Sink& sink) : cfg_(cfg), sink_(sink) {
    if (cfg.lines == 0 || cfg.lines > kMaxLines) throw std::invalid_argument("RxPipelineConfig.lines must be 1..4");
    if (cfg.arbitrate) {
      arbiter_ = std::make_unique<LineArbiter<Sink>>(cfg.arbiter, sink);
    } else {
      tracker_ = std::make_unique<mycelium::SequenceTracker>();
    }
  }

  // One Ethernet frame received on `line` (< lines).
  void on_packet(std::size_t line, std::span<const std::byte> packet, std::uint64_t now_ns) noexcept {
    RxCounters& c = line_[line];
    ++c.packets;
    c.bytes += packet.size();
    const UdpPacket p = parse_udp_packet(packet, cfg_.filters[line]);
    if (!p.ok()) [[unlikely]] {
      ++c.packet_errors[static_cast<std::size_t>(p.error)];
      return;
    }
    on_datagram(line, udp_payload(packet, p), now_ns);
  }

  // A DPDK packet that did not fit one mbuf (not reassembled): counted and dropped.
  void on_multi_segment(std::size_t line) noexcept {
    ++line_[line].packets;
    ++line_[line].multi_segment;
  }

  // One UDP payload (one or more back-to-back Protocol V2 frames) received on `line`.
  void on_datagram(std::size_t line, std::span<const std::byte> dgram, std::uint64_t now_ns) noexcept {
    RxCounters& c = line_[line];
    ++c.datagrams;
    if (dgram.empty()) [[unlikely]] {
      ++c.frame_errors[static_cast<std::size_t>(protocol::FrameError::TruncatedHeader)];
      return;
    }
    while (!dgram.empty()) {
      const protocol::ParseResult r = protocol::parse_frame(dgram, protocol::ParseOptions{.verify_checksum = cfg_.verify_checksum, .require_checksum = cfg_.verify_checksum});
      if (!r.ok()) [[unlikely]] {
        ++c.frame_errors[static_cast<std::size_t>(r.error)];
        return;
      }
      ++c.frames;
      const std::span<const std::byte> frame = r.view.frame;
      dgram = dgram.subspan(frame.size());
      const std::optional<protocol::Heartbeat> hb = mycelium::heartbeat_of(r.view);
      if (arbiter_) {
        if (hb) {
          arbiter_->on_heartbeat(line, frame, r.view.header, *hb, now_ns);
        } else {
          arbiter_->on_frame(line, frame, r.view.header, now_ns);
        }
        continue;
      }
      if (hb) {
        (void)tracker_->on_heartbeat(r.view.header.source, *hb);
        ++drops_.delivered;
        (void)sink_.on_frame(frame);
        continue;
      }
      const mycelium::SeqVerdict v = tracker_->on_data(r.view.header.source, r.view.header.sequence);
      if (mycelium::deliverable(v)) [[likely]] {
        ++drops_.delivered;
        (void)sink_.on_frame(frame);
      } else if (v == mycelium::SeqVerdict::duplicate) {
        ++drops_.duplicates;
      } else {
        ++drops_.stale;
      }
    }
  }

  // Idle-path housekeeping: lets the arbiter declare holes older than its timeout.
  void expire(std::uint64_t now_ns) noexcept {
    if (arbiter_) arbiter_->expire(now_ns);
  }
  // End of stream: the arbiter gives up on every hole and delivers what it buffered.
  void flush() noexcept {
    if (arbiter_) arbiter_->flush();
  }

  [[nodiscard]] const RxCounters& line_counters(std::size_t line) const noexcept { return line_[line]; }
  [[nodiscard]] RxCounters counters() const noexcept {
    RxCounters t;
    for (std::size_t i = 0; i < cfg_.lines; ++i) t += line_[i];
    return t;
  }
  [[nodiscard]] bool arbitrated() const noexcept { return arbiter_ != nullptr; }
  // Arbitration policy only (nullptr otherwise).
  [[nodiscard]] const LineArbiter<Sink>* arbiter() const noexcept { return arbiter_.get(); }
  // Single-line policy only (nullptr otherwise).
  [[nodiscard]] const mycelium::SequenceTracker* tracker() const noexcept { return tracker_.get(); }
  [[nodiscard]] const TrackerDrops& tracker_drops() const noexcept { return drops_; }
  // Frames handed to the sink so far, whichever policy.
  [[nodiscard]] std::uint64_t delivered() const noexcept {
    return arbiter_ ? arbiter_->counters().delivered : drops_.delivered;
  }
  // Frames lost on every line (gaps), whichever policy.
  [[nodiscard]] std::uint64_t missing() const noexcept {
    return arbiter_ ? arbiter_->counters().missing : tracker_->totals().missing;
  }
  [[nodiscard]] const RxPipelineConfig& config() const noexcept { return cfg_; }

 private:
  RxPipelineConfig cfg_;
  Sink& sink_;
  std::unique_ptr<LineArbiter<Sink>> arbiter_;
  std::unique_ptr<mycelium::SequenceTracker> tracker_;
  std::array<RxCounters, kMaxLines> line_{};
  TrackerDrops drops_{};
};

}  // namespace torq::nic
