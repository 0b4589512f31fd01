// torq/nic/receiver.hpp — the feed receiver torqd runs on a pinned core: the backend (DPDK ports
// or kernel UDP sockets) chosen once at start-up from NicConfig, every configured line polled
// into one RxPipeline (validation, sequencing or A/B arbitration, counters) and a Sink.
//
// Owns: poll_port() (one rte_eth_rx_burst worth of packets through a pipeline), NicReceiver<Sink>
// (owns the EAL pools/ports or the sockets, and the pipeline), run_poll_loop().
// Hot path: poll() branches once on the backend (fixed at construction: no virtual call), then
// bursts; expire() runs from the idle path. now_ns comes from the caller (one clock read per poll).
// Thread-safety: construct and destroy on one thread; poll()/run on one (pinned) thread; counters
// read from that thread (or copied out by it). Allocation: constructor only; throws
// std::runtime_error / std::system_error / std::invalid_argument at start-up.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "torq/hw/affinity.hpp"
#include "torq/nic/config.hpp"
#include "torq/nic/dpdk.hpp"
#include "torq/nic/kernel_udp.hpp"
#include "torq/nic/rx_pipeline.hpp"

namespace torq::nic {

inline constexpr std::size_t kMaxBurst = 64;

// Monotonic nanoseconds (vDSO clock_gettime; ~20 ns): read once per poll, not per packet.
[[nodiscard]] inline std::uint64_t monotonic_ns() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ULL + static_cast<std::uint64_t>(ts.tv_nsec);
}

// One burst from a DPDK port queue through the pipeline as `line`. Returns packets received.
template <class Sink>
std::size_t poll_port(dpdk::Port& port, std::uint16_t queue, std::size_t line, RxPipeline<Sink>& pipeline,
                      std::uint64_t now_ns, std::size_t burst = 32) noexcept {
  std::array<dpdk::RxPacket, kMaxBurst> pk;
  const std::uint16_t n = port.rx_burst(queue, std::span<dpdk::RxPacket>(pk.data(), burst < kMaxBurst ? burst : kMaxBurst));
  if (n == 0) [[unlikely]] return 0;
  for (std::uint16_t i = 0; i < n; ++i) {
    if (pk[i].segments != 1) [[unlikely]] {
      pipeline.on_multi_segment(line);
      continue;
    }
    pipeline.on_packet(line, std::span<const std::byte>(pk[i].data, pk[i].size), now_ns);
  }
  dpdk::Port::release(std::span<const dpdk::RxPacket>(pk.data(), n));
  return n;
}

template <class Sink>
class NicReceiver {
 public:
  // Builds the backend choose_backend() picks. DPDK: runs eal_init(eal_arguments(...)) unless the
  // EAL is already up, creates the mbuf pools and one Port per distinct device, waits up to
  // link_wait_ms for links. Kernel: one socket per line.
  NicReceiver(const NicConfig& cfg, Sink& sink, std::uint32_t link_wait_ms = 1000)
      : cfg_(cfg), backend_(choose_backend(cfg, &backend_reason_)), pipeline_(pipeline_config(cfg), sink) {
    if (cfg.lines.empty() || cfg.lines.size() > kMaxLines) throw std::invalid_argument("nic.lines: 1..4 lines");
    if (backend_ == Backend::dpdk) {
      if (!dpdk::eal_initialized()) dpdk::eal_init(eal_arguments(cfg.eal, hugepages_available()));
      pools_ = std::make_unique<dpdk::MbufPools>(cfg.mbufs);
      for (const LineConfig& l : cfg.lines) {
        std::size_t idx = ports_.size();
        for (std::size_t p = 0; p < ports_.size(); ++p) {
          if (devices_[p] == l.dpdk_device) idx = p;
        }
        if (idx == ports_.size()) {
          dpdk::PortConfig pc;
          pc.device = l.dpdk_device;
          for (const LineConfig& o : cfg.lines) {
            if (o.dpdk_device == l.dpdk_device && o.dpdk_queue >= pc.rx_queues) pc.rx_queues = static_cast<std::uint16_t>(o.dpdk_queue + 1);
          }
          ports_.emplace_back(pc, *pools_);
          devices_.push_back(l.dpdk_device);
          link_up_.push_back(ports_.back().wait_link_up(link_wait_ms));
        }
        line_port_.push_back(idx);
      }
    } else {
      for (const LineConfig& l : cfg.lines) sockets_.emplace_back(l, cfg.burst);
    }
  }

  // Polls every line once. Returns packets/datagrams received.
  std::size_t poll(std::uint64_t now_ns) noexcept {
    std::size_t n = 0;
    if (backend_ == Backend::dpdk) {
      for (std::size_t i = 0; i < line_port_.size(); ++i) {
        n += poll_port(ports_[line_port_[i]], cfg_.lines[i].dpdk_queue, i, pipeline_, now_ns, cfg_.burst);
      }
    } else {
      for (std::size_t i = 0; i < sockets_.size(); ++i) n += sockets_[i].poll(i, pipeline_, now_ns);
    }
    return n;
  }

  // Busy-polls until `stop`, pinned to cfg.poll_cpu when set (false if pinning failed: then it
  // does not run). Idle polls run the arbiter's expiry every 256 empty polls.
  bool run(const std::atomic<bool>& stop) noexcept {
    if (cfg_.poll_cpu >= 0 && !hw::pin_current_thread(cfg_.poll_cpu)) return false;
    std::uint32_t idle = 0;
    while (!stop.load(std::memory_order_relaxed)) {
      const std::uint64_t now = monotonic_ns();
      if (poll(now) == 0 && (++idle & 255) == 0) pipeline_.expire(now);
    }
    return true;
  }

  [[nodiscard]] Backend backend() const noexcept { return backend_; }
  // Why the kernel backend was chosen (empty for DPDK).
  [[nodiscard]] const std::string& backend_reason() const noexcept { return backend_reason_; }
  [[nodiscard]] RxPipeline<Sink>& pipeline() noexcept { return pipeline_; }
  [[nodiscard]] const RxPipeline<Sink>& pipeline() const noexcept { return pipeline_; }
  [[nodiscard]] std::span<dpdk::Port> ports() noexcept { return ports_; }
  [[nodiscard]] std::span<KernelUdpRx> sockets() noexcept { return sockets_; }
  [[nodiscard]] bool link_up(std::size_t port) const noexcept { return port < link_up_.size() && link_up_[port]; }

 private:
  static RxPipelineConfig pipeline_config(const NicConfig& cfg) {
    RxPipelineConfig p;
    p.lines = cfg.lines.empty() ? 1 : cfg.lines.size();
    p.arbitrate = cfg.arbitrate;
    p.arbiter = cfg.arbiter;
    for (std::size_t i = 0; i < cfg.lines.size() && i < kMaxLines; ++i) {
      p.filters[i] = PacketFilter{cfg.lines[i].dst_ip, cfg.lines[i].dst_port, cfg.verify_udp_checksum};
    }
    return p;
  }

  NicConfig cfg_;
  std::string backend_reason_;
  Backend backend_;
  RxPipeline<Sink> pipeline_;
  std::unique_ptr<dpdk::MbufPools> pools_;
  std::vector<dpdk::Port> ports_;
  std::vector<std::string> devices_;
  std::vector<bool> link_up_;
  std::vector<std::size_t> line_port_;
  std::vector<KernelUdpRx> sockets_;
};

}  // namespace torq::nic
