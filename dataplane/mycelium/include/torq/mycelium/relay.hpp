// torq/mycelium/relay.hpp — a relay for one domain (market data, signals, execution): validates
// each frame, tracks per-source sequences, and fans it out to N outputs.
//
// Owns: Relay<Output>, RelayConfig, RelayStats, OutputStats. Output is any publisher with
// try_publish(std::span<const std::byte>) -> PublishResult: a concrete transport (static
// dispatch) or mycelium::Publisher (one switch per output per frame, for mixed transports).
// Per frame (on_frame): parse (protocol::parse_frame; `validate=false` trusts ring input and reads
// only the header), reject frames of another domain (System frames always pass), update the
// SequenceTracker (heartbeats update it through on_heartbeat), drop duplicates and stale frames,
// then offer the unchanged frame bytes to every output in order.
// Slow-subscriber policy (drop-and-count, never block): an output that answers anything but ok
// (would_block, not_connected, error, too_large) does not get this frame; the miss is counted in
// its OutputStats (and the relay totals), consecutive misses mark it `lagging` once they reach
// RelayConfig::lagging_after, and the relay moves on at once, so other outputs see no delay and
// no loss. Frames keep their source sequence numbers, so the slow consumer's own tracker sees the
// loss as a gap. An output is never retried or buffered by the relay: a relay stalled by one
// consumer would stall every consumer of the domain (the failure SPEC §9 forbids silently).
// Heartbeats: sources' heartbeats feed the tracker (tail losses, restarts) and are forwarded;
// tick(now_ns) from the idle path sends the relay's own heartbeat (RelayConfig::own_source) every
// interval. Liveness: check_liveness(now_ns, timeout_ns), called from the idle path, reports
// sources that have sent neither frames nor heartbeats since the previous check older than timeout.
// Thread-safety: one thread (the relay's pinned loop). Allocation: add_output() (start-up) only;
// on_frame/pump are noexcept and allocation-free.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "torq/mycelium/heartbeat.hpp"
#include "torq/mycelium/sequence_tracker.hpp"
#include "torq/mycelium/types.hpp"
#include "torq/protocol/frame.hpp"

namespace torq::mycelium {

struct RelayConfig {
  protocol::RelayDomain domain = protocol::RelayDomain::MarketData;
  bool validate = true;            // full parse_frame (TLV walk); false: header checks only
  bool verify_checksum = true;     // with validate: verify CRC32C unless the frame says kNoChecksum
  bool forward_heartbeats = true;  // pass heartbeats on, so downstream trackers see them too
  bool forward_late = true;        // deliver reordered (late) frames; false drops them
  std::uint32_t lagging_after = 1024;  // consecutive misses that mark an output lagging
  // The relay's own heartbeat (tick()): source id (-1: none), epoch, and interval. Lets consumers
  // tell "the relay is alive but the market is quiet" from "the relay is gone".
  int own_source = -1;
  std::uint32_t own_epoch = 0;
  std::uint64_t heartbeat_interval_ns = 100'000'000;
};

enum class RelayVerdict : std::uint8_t { forwarded, heartbeat, malformed, wrong_domain, duplicate, stale, late_dropped };

struct RelayStats {
  std::uint64_t received = 0;        // frames offered to on_frame
  std::uint64_t forwarded = 0;       // frames (incl. heartbeats) fanned out
  std::uint64_t malformed = 0;       // failed validation, dropped
  std::uint64_t wrong_domain = 0;    // another domain's frame, dropped
  std::uint64_t duplicates = 0;      // dropped by the tracker
  std::uint64_t stale = 0;           // dropped by the tracker
  std::uint64_t late_dropped = 0;    // late frames dropped (forward_late = false)
  std::uint64_t heartbeats = 0;      // heartbeats seen
  std::uint64_t deliveries = 0;      // successful output publishes (forwarded x outputs when healthy)
  std::uint64_t output_misses = 0;   // output publishes refused (all reasons, all outputs)
  std::uint64_t own_heartbeats = 0;  // heartbeats the relay sent as its own source (tick)
};

struct OutputStats {
  std::uint64_t delivered = 0;
  std::uint64_t backpressure = 0;    // would_block: the consumer is slow (frame dropped for it)
  std::uint64_t not_connected = 0;   // no peer (frame dropped for it)
  std::uint64_t errors = 0;          // error / too_large (frame dropped for it)
  std::uint64_t consecutive_misses = 0;
  bool lagging = false;              // consecutive_misses reached lagging_after; cleared on delivery
};

template <class Output>
class Relay {
 public:
  explicit Relay(RelayConfig cfg)
      : cfg_(cfg),
        tracker_(std::make_unique<SequenceTracker>()),
        own_(static_cast<std::uint8_t>(cfg.own_source < 0 ? 0 : cfg.own_source), cfg.own_epoch,
             cfg.heartbeat_interval_ns) {}

  // Start-up: adds an output and returns its index.
  std::size_t add_output(Output out) {
    outputs_.push_back(std::move(out));
    output_stats_.emplace_back();
    return outputs_.size() - 1;
  }

  RelayVerdict on_frame(std::span<const std::byte> frame) noexcept {
    ++stats_.received;
    protocol::FrameHeader h;
    bool parsed = false;
    protocol::ParseResult pr{};
    if (frame.size() < protocol::kHeaderSize) [[unlikely]] return reject(RelayVerdict::malformed);
    std::memcpy(&h, frame.data(), sizeof h);
    const bool system = h.domain == static_cast<std::uint8_t>(protocol::RelayDomain::System);
    if (cfg_.validate || system) {
      pr = protocol::parse_frame(frame, protocol::ParseOptions{cfg_.verify_checksum});
      if (!pr.ok() || pr.view.size() != frame.size()) [[unlikely]] return reject(RelayVerdict::malformed);
      parsed = true;
    } else if (h.magic != protocol::kMagic || h.version != protocol::kVersion ||
               protocol::kHeaderSize + std::size_t{h.payload_size} != frame.size()) [[unlikely]] {
      return reject(RelayVerdict::malformed);
    }
    if (system) {
      const auto hb = parsed ? heartbeat_of(pr.view) : std::nullopt;
      if (hb) {
        ++stats_.heartbeats;
        (void)tracker_->on_heartbeat(h.source, *hb);
        if (cfg_.forward_heartbeats) {
          ++stats_.forwarded;
          fan_out(frame);
        }
        return RelayVerdict::heartbeat;
      }
    } else if (h.domain != static_cast<std::uint8_t>(cfg_.domain)) [[unlikely]] {
      return reject(RelayVerdict::wrong_domain);
    }
    const SeqVerdict v = tracker_->on_data(h.source, h.sequence);
    if (!deliverable(v)) [[unlikely]] {
      return reject(v == SeqVerdict::duplicate ? RelayVerdict::duplicate : RelayVerdict::stale);
    }
    if (v == SeqVerdict::late && !cfg_.forward_late) return reject(RelayVerdict::late_dropped);
    ++stats_.forwarded;
    fan_out(frame);
    return RelayVerdict::forwarded;
  }

  // Polls `in` once (up to max_burst frames) and relays what arrived. Returns frames polled.
  template <class Sub>
  std::size_t pump(Sub& in, std::size_t max_burst) noexcept {
    return in.poll([this](std::span<const std::byte> f) noexcept { (void)on_frame(f); }, max_burst);
  }

  // From the idle path: sends the relay's own heartbeat to every output when one is due (and
  // own_source is set). Returns true if one was sent.
  bool tick(std::uint64_t now_ns) noexcept {
    if (cfg_.own_source < 0 || !own_.heartbeat_due(now_ns)) return false;
    const auto f = own_.build_heartbeat(heartbeat_buf_, now_ns);
    if (f.empty()) return false;
    ++stats_.own_heartbeats;
    fan_out(f);
    return true;
  }

  // Sources that were active before and have shown no activity for timeout_ns (measured at the
  // checks: call it periodically from the idle path). Writes up to out.size() source ids.
  std::size_t check_liveness(std::uint64_t now_ns, std::uint64_t timeout_ns, std::span<std::uint8_t> out) noexcept {
    std::size_t n = 0;
    for (std::size_t s = 0; s < 256; ++s) {
      const auto src = static_cast<std::uint8_t>(s);
      if (!tracker_->known(src)) continue;
      const std::uint64_t a = tracker_->activity(src);
      if (a != live_[s].activity) {
        live_[s] = {a, now_ns};
      } else if (now_ns - live_[s].changed_ns >= timeout_ns && n < out.size()) {
        out[n++] = src;
      }
    }
    return n;
  }

  [[nodiscard]] const RelayStats& stats() const noexcept { return stats_; }
  [[nodiscard]] const SequenceTracker& tracker() const noexcept { return *tracker_; }
  [[nodiscard]] std::size_t output_count() const noexcept { return outputs_.size(); }
  [[nodiscard]] Output& output(std::size_t i) noexcept { return outputs_[i]; }
  [[nodiscard]] const OutputStats& output_stats(std::size_t i) const noexcept { return output_stats_[i]; }
  [[nodiscard]] const RelayConfig& config() const noexcept { return cfg_; }

 private:
  RelayVerdict reject(RelayVerdict v) noexcept {
    switch (v) {
      case RelayVerdict::malformed: ++stats_.malformed; break;
      case RelayVerdict::wrong_domain: ++stats_.wrong_domain; break;
      case RelayVerdict::duplicate: ++stats_.duplicates; break;
      case RelayVerdict::stale: ++stats_.stale; break;
      case RelayVerdict::late_dropped: ++stats_.late_dropped; break;
      default: break;
    }
    return v;
  }

  void fan_out(std::span<const std::byte> frame) noexcept {
    for (std::size_t i = 0; i < outputs_.size(); ++i) {
      OutputStats& os = output_stats_[i];
      const PublishResult r = outputs_[i].try_publish(frame);
      if (r == PublishResult::ok) [[likely]] {
        ++os.delivered;
        ++stats_.deliveries;
        os.consecutive_misses = 0;
        os.lagging = false;
        continue;
      }
      ++stats_.output_misses;
      if (r == PublishResult::would_block) {
        ++os.backpressure;
      } else if (r == PublishResult::not_connected) {
        ++os.not_connected;
      } else {
        ++os.errors;
      }
      if (++os.consecutive_misses >= cfg_.lagging_after) os.lagging = true;
    }
  }

  struct Liveness {
    std::uint64_t activity = 0;
    std::uint64_t changed_ns = 0;
  };

  RelayConfig cfg_;
  std::unique_ptr<SequenceTracker> tracker_;  // ~100 KiB: heap, allocated once
  std::vector<Output> outputs_;
  std::vector<OutputStats> output_stats_;
  std::array<Liveness, 256> live_{};
  Sequencer own_;
  std::array<std::byte, kHeartbeatFrameSize> heartbeat_buf_{};
  RelayStats stats_{};
};

}  // namespace torq::mycelium
