// Kernel UDP receive side shared by UdpSubscriber and nic::KernelUdpRx. See udp_rx.hpp.
#include "torq/mycelium/udp_rx.hpp"

#include <arpa/inet.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

namespace torq::mycelium {
namespace {
constexpr std::size_t kControlBytes = CMSG_SPACE(sizeof(std::uint32_t));
}  // namespace

Fd open_udp_rx_socket(const UdpRxSpec& spec, const std::string& what_prefix, std::uint16_t& bound_port) {
  const auto fail = [&](const char* step) {
    const int err = errno;
    throw std::system_error(err, std::generic_category(), what_prefix + step);
  };
  Fd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) fail("socket(AF_INET, SOCK_DGRAM)");
  const int one = 1;
  if (::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0) fail("SO_REUSEADDR");
  (void)::setsockopt(fd.get(), SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof one);  // drop counter; optional
  if (spec.rcvbuf > 0 && ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &spec.rcvbuf, sizeof spec.rcvbuf) != 0 &&
      spec.rcvbuf_required) {
    fail("setsockopt(SO_RCVBUF)");
  }
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&spec.bind_addr), sizeof spec.bind_addr) != 0) fail("bind");
  if ((ntohl(spec.bind_addr.sin_addr.s_addr) >> 28) == 0xE) {  // 224.0.0.0/4: join the group
    ip_mreqn m{};
    m.imr_multiaddr = spec.bind_addr.sin_addr;
    m.imr_address = spec.join_address;
    m.imr_ifindex = spec.join_ifindex;
    if (::setsockopt(fd.get(), IPPROTO_IP, IP_ADD_MEMBERSHIP, &m, sizeof m) != 0) fail("IP_ADD_MEMBERSHIP");
  }
  sockaddr_in bound{};
  socklen_t len = sizeof bound;
  if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&bound), &len) != 0) fail("getsockname");
  bound_port = ntohs(bound.sin_port);
  return fd;
}

UdpRxBurst::UdpRxBurst(std::size_t batch)
    : batch_(batch),
      slots_(std::make_unique<std::byte[]>(batch * kSlotBytes)),
      control_(std::make_unique<std::byte[]>(batch * kControlBytes)),
      msgs_(batch),
      iovs_(batch) {
  for (std::size_t i = 0; i < batch_; ++i) {
    iovs_[i] = iovec{slots_.get() + i * kSlotBytes, kSlotBytes};
    msgs_[i] = mmsghdr{};
    msgs_[i].msg_hdr.msg_iov = &iovs_[i];
    msgs_[i].msg_hdr.msg_iovlen = 1;
  }
}

int UdpRxBurst::receive(int fd, std::size_t max, std::uint64_t& errors, std::uint64_t& kernel_drops) noexcept {
  const std::size_t want = std::min(max, batch_);
  if (want == 0) return 0;
  for (std::size_t i = 0; i < want; ++i) {
    msgs_[i].msg_hdr.msg_control = control_.get() + i * kControlBytes;
    msgs_[i].msg_hdr.msg_controllen = kControlBytes;
    msgs_[i].msg_hdr.msg_flags = 0;
  }
  const int got = ::recvmmsg(fd, msgs_.data(), static_cast<unsigned>(want), MSG_DONTWAIT, nullptr);
  if (got < 0) {
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) ++errors;
    return 0;
  }
  // SO_RXQ_OVFL: each datagram carries the socket's cumulative drop count; the last one is newest.
  if (got > 0) {
    msghdr& h = msgs_[static_cast<std::size_t>(got - 1)].msg_hdr;
    for (cmsghdr* c = CMSG_FIRSTHDR(&h); c != nullptr; c = CMSG_NXTHDR(&h, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) {
        std::uint32_t drops = 0;
        std::memcpy(&drops, CMSG_DATA(c), sizeof drops);
        kernel_drops = drops;
      }
    }
  }
  return got;
}

}  // namespace torq::mycelium
