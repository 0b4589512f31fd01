// torq/mycelium/udp_rx.hpp — the kernel UDP receive side that mycelium::UdpSubscriber and
// nic::KernelUdpRx share: opening a bound, non-blocking UDP/IPv4 socket (joined to the group when
// the bind address is a multicast one), and a preallocated recvmmsg burst that reads the
// socket's kernel drop counter (SO_RXQ_OVFL).
//
// Owns: UdpRxSpec, open_udp_rx_socket(), UdpRxBurst.
// Thread-safety: one thread uses a UdpRxBurst. Allocation: open_udp_rx_socket() and the UdpRxBurst
// constructor allocate and throw std::system_error / std::bad_alloc (start-up); receive() is
// noexcept and allocation-free, one recvmmsg syscall per call.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "torq/mycelium/fd.hpp"

namespace torq::mycelium {

// How to open a UDP receive socket.
struct UdpRxSpec {
  sockaddr_in bind_addr{};      // address and port to bind; an address in 224.0.0.0/4 is joined
  int rcvbuf = 0;               // SO_RCVBUF bytes; <= 0 keeps the kernel default
  bool rcvbuf_required = true;  // false: a refused SO_RCVBUF is ignored instead of thrown
  in_addr join_address{};       // multicast: interface to join on, by address (INADDR_ANY: default) ...
  int join_ifindex = 0;         // ... or by index (0: by join_address)
};

// Opens the socket: SOCK_NONBLOCK | SOCK_CLOEXEC, SO_REUSEADDR, SO_RXQ_OVFL (best effort), SO_RCVBUF,
// bind, IP_ADD_MEMBERSHIP for a group address; bound_port gets the port actually bound (for port
// 0). Throws std::system_error(errno, what_prefix + the step that failed, e.g. "bind").
[[nodiscard]] Fd open_udp_rx_socket(const UdpRxSpec& spec, const std::string& what_prefix, std::uint16_t& bound_port);

// `batch` datagram slots of kSlotBytes each, read with one recvmmsg per receive().
class UdpRxBurst {
 public:
  static constexpr std::size_t kSlotBytes = 65536;  // > any frame: larger datagrams show as MSG_TRUNC

  UdpRxBurst() noexcept = default;
  explicit UdpRxBurst(std::size_t batch);  // batch >= 1

  // Receives up to min(max, batch()) datagrams from fd without blocking. Returns how many (0 when
  // none were waiting, max is 0, or recvmmsg failed: a failure other than EAGAIN/EINTR is counted
  // in `errors`). `kernel_drops` gets the socket's cumulative drop count when the kernel sent one.
  [[nodiscard]] int receive(int fd, std::size_t max, std::uint64_t& errors, std::uint64_t& kernel_drops) noexcept;

  [[nodiscard]] std::size_t batch() const noexcept { return batch_; }
  // Datagram i (< the last receive()'s count) was larger than a slot and cut short.
  [[nodiscard]] bool truncated(std::size_t i) const noexcept { return (msgs_[i].msg_hdr.msg_flags & MSG_TRUNC) != 0; }
  // Datagram i's bytes (valid until the next receive()).
  [[nodiscard]] std::span<const std::byte> datagram(std::size_t i) const noexcept {
    return {slots_.get() + i * kSlotBytes, msgs_[i].msg_len};
  }

 private:
  std::size_t batch_ = 0;
  std::unique_ptr<std::byte[]> slots_;    // batch_ * kSlotBytes
  std::unique_ptr<std::byte[]> control_;  // batch_ * control bytes (one SO_RXQ_OVFL cmsg each)
  std::vector<mmsghdr> msgs_;
  std::vector<iovec> iovs_;
};

}  // namespace torq::mycelium
