// Kernel UDP receiver. See kernel_udp.hpp.
#include "torq/nic/kernel_udp.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

namespace torq::nic {
namespace {
constexpr std::size_t kControlBytes = CMSG_SPACE(sizeof(std::uint32_t));
[[noreturn]] void sys_fail(const char* what) { throw std::system_error(errno, std::generic_category(), what); }
}  // namespace

KernelUdpRx::KernelUdpRx(const LineConfig& line, std::size_t batch) : batch_(batch == 0 ? 1 : batch) {
  fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) sys_fail("socket(AF_INET, SOCK_DGRAM)");
  try {
    const int one = 1;
    if (::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0) sys_fail("SO_REUSEADDR");
    (void)::setsockopt(fd_, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof one);
    const int rcvbuf = static_cast<int>(line.kernel_rcvbuf);
    if (rcvbuf > 0) (void)::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    const bool multicast = (line.dst_ip >> 28) == 0xE;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(line.dst_port);
    a.sin_addr.s_addr = htonl(line.dst_ip);
    if (::bind(fd_, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) sys_fail("bind");
    if (multicast) {
      ip_mreq m{};
      m.imr_multiaddr.s_addr = htonl(line.dst_ip);
      m.imr_interface.s_addr = htonl(line.interface_ip);
      if (::setsockopt(fd_, IPPROTO_IP, IP_ADD_MEMBERSHIP, &m, sizeof m) != 0) sys_fail("IP_ADD_MEMBERSHIP");
    }
    socklen_t len = sizeof a;
    if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) sys_fail("getsockname");
    port_ = ntohs(a.sin_port);
  } catch (...) {
    ::close(fd_);
    throw;
  }
  slots_ = std::make_unique<std::byte[]>(batch_ * kSlotBytes);
  control_ = std::make_unique<std::byte[]>(batch_ * kControlBytes);
  msgs_.resize(batch_);
  iovs_.resize(batch_);
  for (std::size_t i = 0; i < batch_; ++i) {
    iovs_[i] = iovec{slots_.get() + i * kSlotBytes, kSlotBytes};
    msgs_[i] = mmsghdr{};
    msgs_[i].msg_hdr.msg_iov = &iovs_[i];
    msgs_[i].msg_hdr.msg_iovlen = 1;
  }
}

KernelUdpRx::KernelUdpRx(KernelUdpRx&& o) noexcept
    : fd_(o.fd_), port_(o.port_), batch_(o.batch_), slots_(std::move(o.slots_)), control_(std::move(o.control_)),
      msgs_(std::move(o.msgs_)), iovs_(std::move(o.iovs_)), stats_(o.stats_) {
  o.fd_ = -1;
}

KernelUdpRx::~KernelUdpRx() {
  if (fd_ >= 0) ::close(fd_);
}

int KernelUdpRx::receive() noexcept {
  for (std::size_t i = 0; i < batch_; ++i) {
    msgs_[i].msg_hdr.msg_control = control_.get() + i * kControlBytes;
    msgs_[i].msg_hdr.msg_controllen = kControlBytes;
    msgs_[i].msg_hdr.msg_flags = 0;
  }
  const int got = ::recvmmsg(fd_, msgs_.data(), static_cast<unsigned>(batch_), MSG_DONTWAIT, nullptr);
  if (got < 0) {
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) ++stats_.errors;
    return 0;
  }
  stats_.datagrams += static_cast<std::uint64_t>(got);
  if (got > 0) {  // SO_RXQ_OVFL: cumulative drop count of the socket, on the last message
    msghdr& h = msgs_[static_cast<std::size_t>(got - 1)].msg_hdr;
    for (cmsghdr* c = CMSG_FIRSTHDR(&h); c != nullptr; c = CMSG_NXTHDR(&h, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) {
        std::uint32_t drops = 0;
        std::memcpy(&drops, CMSG_DATA(c), sizeof drops);
        stats_.kernel_drops = drops;
      }
    }
  }
  return got;
}

}  // namespace torq::nic
