// tests/e2e/net_util.hpp — network helpers for tests that open udp:// links: a free UDP port on
// loopback (bound and released, never the same one twice in a process) and a veth pair whose one
// end DPDK's net_af_packet reads (root only). Header-only, test code, single-threaded use.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <set>
#include <string>

namespace torq::e2e {

// Each call's socket is closed before the next bind, so the kernel may hand the same ephemeral
// port to two calls; a test that takes several ports for one link (source, lossy hop, receiver,
// request channel) would then bind two of its sockets to one port and see no data at all. A port
// is never returned twice in one process.
inline std::uint16_t free_udp_port() {
  static std::set<std::uint16_t> given;
  for (int attempt = 0; attempt < 1000; ++attempt) {
    const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    (void)::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    (void)::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(fd);
    const std::uint16_t port = ntohs(a.sin_port);
    if (port != 0 && given.insert(port).second) return port;
  }
  return 0;  // no loopback: the caller's bind fails with a clear error
}

// A veth pair in this network namespace: the kernel side (with an address and a static neighbour
// entry for the DPDK side's address) and the DPDK side (no address; read by net_af_packet).
// `octet` and `tag` keep the pairs of different test binaries apart (10.<octet>.x.0/24, tq<tag>*).
class VethPair {
 public:
  explicit VethPair(int octet = 79, char tag = 'd') {
    const std::string id = std::to_string(::getpid() % 100000);
    dpdk_ = std::string("tq") + tag + "d" + id;
    kernel_ = std::string("tq") + tag + "k" + id;
    const std::string net = "10." + std::to_string(octet) + "." + std::to_string(::getpid() % 250) + ".";
    const std::string mac = "02:00:00:00:" + std::to_string(octet % 100) + ":01";
    dpdk_ip_ = net + "1";
    ok_ = sh("ip link add " + dpdk_ + " type veth peer name " + kernel_) && sh("ip link set " + dpdk_ + " address " + mac) &&
          sh("ip link set " + dpdk_ + " up") && sh("ip addr add " + net + "2/24 dev " + kernel_) &&
          sh("ip link set " + kernel_ + " up") && sh("ip neigh replace " + dpdk_ip_ + " lladdr " + mac + " dev " + kernel_);
  }
  ~VethPair() { (void)sh("ip link del " + kernel_); }  // deletes both ends
  VethPair(const VethPair&) = delete;
  VethPair& operator=(const VethPair&) = delete;
  [[nodiscard]] bool ok() const { return ok_; }
  const std::string& dpdk_iface() const { return dpdk_; }
  const std::string& dpdk_ip() const { return dpdk_ip_; }
  std::string kernel_ip() const { return dpdk_ip_.substr(0, dpdk_ip_.size() - 1) + "2"; }
  std::string kernel_mac() const {
    std::ifstream f("/sys/class/net/" + kernel_ + "/address");
    std::string m((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
    return m;
  }

 private:
  static bool sh(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()) == 0; }
  std::string dpdk_, kernel_, dpdk_ip_;
  bool ok_ = false;
};

}  // namespace torq::e2e
