// Test helper: runs the calling thread inside a fresh, private network namespace whose loopback
// carries multicast (lo up, `multicast on`, 224.0.0.0/4 routed to lo), and returns the thread to
// its original namespace on destruction. Sockets opened meanwhile stay in the private namespace,
// which the kernel frees when the last of them closes (nothing to clean up, even after a crash).
// Any UDP port is free inside it, so tests can use fixed ports.
//
// Owns: LoopbackNetns (RAII). Thread-safety: affects only the calling thread (setns/unshare of
// CLONE_NEWNET are per thread); `ip` runs as a child process, which inherits the thread's
// namespace. Allocation: yes (test code). Needs root (CAP_SYS_ADMIN) and the `ip` tool; when
// either is missing ok() is false and reason() says why, so the test can GTEST_SKIP.
#pragma once

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

namespace torq::test {

class LoopbackNetns {
 public:
  LoopbackNetns() {
    if (::geteuid() != 0) {
      reason_ = "needs root (CAP_SYS_ADMIN) to create a network namespace";
      return;
    }
    self_ = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (self_ < 0) {
      reason_ = std::string("open /proc/thread-self/ns/net: ") + std::strerror(errno);
      return;
    }
    if (::unshare(CLONE_NEWNET) != 0) {
      reason_ = std::string("unshare(CLONE_NEWNET): ") + std::strerror(errno) + " (network namespaces unavailable)";
      return;
    }
    entered_ = true;
    for (const char* cmd : {"ip link set lo up", "ip link set lo multicast on", "ip route add 224.0.0.0/4 dev lo"}) {
      if (std::system((std::string(cmd) + " >/dev/null 2>&1").c_str()) != 0) {
        reason_ = std::string("'") + cmd + "' failed in the new namespace (is iproute2 installed?)";
        return;
      }
    }
    ok_ = true;
  }
  ~LoopbackNetns() {
    if (entered_) (void)::setns(self_, CLONE_NEWNET);
    if (self_ >= 0) ::close(self_);
  }
  LoopbackNetns(const LoopbackNetns&) = delete;
  LoopbackNetns& operator=(const LoopbackNetns&) = delete;

  [[nodiscard]] bool ok() const noexcept { return ok_; }
  [[nodiscard]] const std::string& reason() const noexcept { return reason_; }

 private:
  int self_ = -1;
  bool entered_ = false;
  bool ok_ = false;
  std::string reason_;
};

}  // namespace torq::test
