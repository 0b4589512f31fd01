// torq/nic/kernel_udp.hpp — the kernel UDP fallback receiver: one non-blocking UDP socket per
// feed line (unicast or multicast), read in bursts with recvmmsg and fed to the same RxPipeline
// as the DPDK path (on_datagram), so frame validation, sequencing, arbitration and counters are
// identical. Transmit over kernel UDP is mycelium::UdpPublisher (same wire format).
//
// Owns: KernelUdpRx (socket + preallocated burst buffers), KernelUdpStats.
// Thread-safety: one thread polls a KernelUdpRx. Allocation: the constructor (buffers; throws
// std::system_error); poll() is noexcept, allocation-free, one recvmmsg syscall per call.
#pragma once

#include <sys/socket.h>
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "torq/mycelium/udp_rx.hpp"
#include "torq/nic/config.hpp"
#include "torq/nic/rx_pipeline.hpp"

namespace torq::nic {

struct KernelUdpStats {
  std::uint64_t datagrams = 0;     // received
  std::uint64_t truncated = 0;     // larger than a slot (MSG_TRUNC): dropped
  std::uint64_t errors = 0;        // recvmmsg errors other than EAGAIN
  std::uint64_t kernel_drops = 0;  // SO_RXQ_OVFL: dropped by the kernel (socket buffer full)
};

class KernelUdpRx {
 public:
  static constexpr std::size_t kSlotBytes = mycelium::UdpRxBurst::kSlotBytes;

  // Binds dst_ip (a multicast group is joined on interface_ip) : dst_port. `batch` datagrams per
  // recvmmsg. dst_port 0 binds an ephemeral port (tests), readable with port().
  explicit KernelUdpRx(const LineConfig& line, std::size_t batch = 32);
  ~KernelUdpRx();
  KernelUdpRx(KernelUdpRx&& o) noexcept;
  KernelUdpRx& operator=(KernelUdpRx&&) = delete;
  KernelUdpRx(const KernelUdpRx&) = delete;
  KernelUdpRx& operator=(const KernelUdpRx&) = delete;

  // Receives one burst and hands every datagram to pipeline.on_datagram(line, ...). Returns the
  // number received (0 when nothing was waiting).
  template <class Sink>
  std::size_t poll(std::size_t line, RxPipeline<Sink>& pipeline, std::uint64_t now_ns) noexcept {
    const int got = burst_.receive(fd_, burst_.batch(), stats_.errors, stats_.kernel_drops);
    stats_.datagrams += static_cast<std::uint64_t>(got);
    for (int i = 0; i < got; ++i) {
      if (burst_.truncated(static_cast<std::size_t>(i))) [[unlikely]] {
        ++stats_.truncated;
        continue;
      }
      pipeline.on_datagram(line, burst_.datagram(static_cast<std::size_t>(i)), now_ns);
    }
    return got > 0 ? static_cast<std::size_t>(got) : 0;
  }

  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  [[nodiscard]] int fd() const noexcept { return fd_; }
  [[nodiscard]] const KernelUdpStats& stats() const noexcept { return stats_; }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
  mycelium::UdpRxBurst burst_;  // recvmmsg slots; reads SO_RXQ_OVFL
  KernelUdpStats stats_{};
};

}  // namespace torq::nic
