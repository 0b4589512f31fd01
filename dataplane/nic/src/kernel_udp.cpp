// Kernel UDP receiver. See kernel_udp.hpp.
#include "torq/nic/kernel_udp.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#include <utility>

namespace torq::nic {

KernelUdpRx::KernelUdpRx(const LineConfig& line, std::size_t batch) : burst_(batch == 0 ? 1 : batch) {
  mycelium::UdpRxSpec spec;
  spec.bind_addr.sin_family = AF_INET;
  spec.bind_addr.sin_port = htons(line.dst_port);
  spec.bind_addr.sin_addr.s_addr = htonl(line.dst_ip);  // a multicast group is joined
  spec.rcvbuf = static_cast<int>(line.kernel_rcvbuf);
  spec.rcvbuf_required = false;  // best effort: a refused size keeps the kernel default
  spec.join_address.s_addr = htonl(line.interface_ip);
  fd_ = mycelium::open_udp_rx_socket(spec, "", port_).release();
}

KernelUdpRx::KernelUdpRx(KernelUdpRx&& o) noexcept
    : fd_(o.fd_), port_(o.port_), burst_(std::move(o.burst_)), stats_(o.stats_) {
  o.fd_ = -1;
}

KernelUdpRx::~KernelUdpRx() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace torq::nic
