// torq/mycelium/fd.hpp — Fd, the move-only owner of one file descriptor (closed on destruction),
// used by the socket transports (socket_transport.hpp) and the UDP receive side (udp_rx.hpp).
// Thread-safety: a plain value, used by one thread at a time. Allocation: none.
#pragma once

namespace torq::mycelium {

// RAII file descriptor (move-only).
class Fd {
 public:
  Fd() noexcept = default;
  explicit Fd(int fd) noexcept : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(Fd&& o) noexcept : fd_(o.release()) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = o.release();
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  [[nodiscard]] int get() const noexcept { return fd_; }
  [[nodiscard]] bool valid() const noexcept { return fd_ >= 0; }
  int release() noexcept {
    const int f = fd_;
    fd_ = -1;
    return f;
  }
  void reset() noexcept;  // closes the descriptor (defined in socket_transport.cpp)

 private:
  int fd_ = -1;
};

}  // namespace torq::mycelium
