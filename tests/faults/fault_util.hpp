// tests/faults/fault_util.hpp — helpers shared by the component-level fault tests.
//
// Owns: recognisable Protocol V2 test frames (make_frame / frame_matches / seq_of), a small
// deterministic RNG (SplitMix64), and NetnsLab: an RAII guard that creates two network namespaces
// joined by one or more veth pairs ("lines") and deletes them again in its destructor, whatever
// happened in between (a namespace's deletion also destroys the veth ends inside it). in_netns()
// runs a function with the calling thread switched into a namespace (sockets created there stay
// in that namespace after the switch back).
// Thread-safety: NetnsLab is driven by the test's main thread; in_netns switches only the calling
// thread. Allocation: yes (test code).
#pragma once

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "torq/protocol/frame.hpp"

namespace torq::faults {

inline constexpr std::uint64_t kTestEpochNs = 1'764'000'000'000'000'000ULL;

// Market-data frame carrying `syncs` V2Sync records whose fields encode (source, seq).
inline std::vector<std::byte> make_frame(std::uint8_t source, std::uint64_t seq, int syncs = 1) {
  std::vector<std::byte> buf(protocol::kMaxFrameSize);
  protocol::FrameBuilder b(buf, protocol::RelayDomain::MarketData, source);
  for (int i = 0; i < syncs; ++i) {
    protocol::V2Sync s{};
    s.ctx.pool = 0x3030300000000000ULL + source;
    s.ctx.block_number = seq;
    s.ctx.tx_index = static_cast<std::uint32_t>(i);
    s.reserve0 = protocol::U256(seq * 1000 + static_cast<std::uint64_t>(i));
    s.reserve1 = protocol::U256(~seq);
    if (!b.add(s)) return {};
  }
  const auto f = b.finish(seq, kTestEpochNs + seq);
  buf.resize(f.size());
  return buf;
}

// True if `bytes` is exactly one valid frame from `source` with sequence `seq` and the contents
// make_frame wrote.
inline bool frame_matches(std::span<const std::byte> bytes, std::uint8_t source, std::uint64_t seq) {
  const auto r = protocol::parse_frame(bytes);
  if (!r.ok() || r.view.size() != bytes.size()) return false;
  if (r.view.header.source != source || r.view.header.sequence != seq) return false;
  std::size_t n = 0;
  for (const auto& t : r.view.tlvs()) {
    const auto s = protocol::tlv_as<protocol::V2Sync>(t);
    if (!s || s->ctx.block_number != seq || s->reserve1 != protocol::U256(~seq)) return false;
    if (s->reserve0 != protocol::U256(seq * 1000 + s->ctx.tx_index)) return false;
    ++n;
  }
  return n > 0;
}

inline protocol::FrameHeader header_of(std::span<const std::byte> bytes) {
  protocol::FrameHeader h{};
  if (bytes.size() >= sizeof h) std::memcpy(&h, bytes.data(), sizeof h);
  return h;
}

inline bool is_system(std::span<const std::byte> bytes) {
  return header_of(bytes).domain == static_cast<std::uint8_t>(protocol::RelayDomain::System);
}

// SplitMix64: tiny, seedable, identical on every platform (std distributions are not).
class Rng {
 public:
  explicit Rng(std::uint64_t seed) noexcept : s_(seed) {}
  std::uint64_t next() noexcept {
    std::uint64_t z = (s_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  std::uint64_t below(std::uint64_t n) noexcept { return n == 0 ? 0 : next() % n; }
  // True with probability per_mille / 1000.
  bool chance(std::uint32_t per_mille) noexcept { return below(1000) < per_mille; }

 private:
  std::uint64_t s_;
};

// ---- network namespaces -------------------------------------------------------------------

inline bool sh(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()) == 0; }

inline std::string sh_output(const std::string& cmd) {
  std::string out;
  if (FILE* p = ::popen((cmd + " 2>/dev/null").c_str(), "r")) {
    char buf[512];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    ::pclose(p);
  }
  return out;
}

// Runs f() with the calling thread in network namespace `ns`, then switches back.
template <class F>
auto in_netns(const std::string& ns, F&& f) {
  const int self = ::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  const int target = ::open(("/var/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
  struct Restore {
    int self, target;
    ~Restore() {
      if (self >= 0) {
        (void)::setns(self, CLONE_NEWNET);
        ::close(self);
      }
      if (target >= 0) ::close(target);
    }
  } restore{self, target};
  if (self < 0 || target < 0 || ::setns(target, CLONE_NEWNET) != 0) {
    throw std::runtime_error("cannot enter network namespace " + ns);
  }
  return f();
}

// Two namespaces, "<prefix>a" (sender side) and "<prefix>b" (receiver side), joined by `lines`
// veth pairs. Line i: 10.77.<i+1>.1 in a (device va<i>) <-> 10.77.<i+1>.2 in b (device vb<i>).
class NetnsLab {
 public:
  // Deletes namespaces left behind by earlier runs of these tests whose process is gone.
  static void remove_stale() {
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator("/var/run/netns", ec)) {
      const std::string n = e.path().filename().string();
      if (n.rfind("tqf", 0) != 0 || n.size() < 5) continue;
      const long pid = std::strtol(n.c_str() + 3, nullptr, 10);
      if (pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0) (void)sh("ip netns del " + n);
    }
  }

  // Why the lab cannot exist here ("" when it can): not root, or no `ip` tool.
  static std::string unavailable_reason() {
    if (::geteuid() != 0) return "needs root (network namespaces)";
    if (!sh("ip -V")) return "iproute2 `ip` not installed";
    if (!sh("tc -V")) return "iproute2 `tc` not installed";
    return "";
  }

  explicit NetnsLab(int lines) : prefix_("tqf" + std::to_string(::getpid()) + "x" + std::to_string(++counter())) {
    remove_stale();
    ok_ = sh("ip netns add " + a()) && sh("ip netns add " + b());
    for (int i = 0; ok_ && i < lines; ++i) {
      const std::string va = dev_a(i), vb = dev_b(i), net = "10.77." + std::to_string(i + 1) + ".";
      ok_ = sh("ip link add " + va + " netns " + a() + " type veth peer name " + vb + " netns " + b()) &&
            sh("ip -n " + a() + " addr add " + net + "1/24 dev " + va) &&
            sh("ip -n " + b() + " addr add " + net + "2/24 dev " + vb) && sh("ip -n " + a() + " link set " + va + " up") &&
            sh("ip -n " + b() + " link set " + vb + " up");
    }
    ok_ = ok_ && sh("ip -n " + a() + " link set lo up") && sh("ip -n " + b() + " link set lo up");
    lines_ = lines;
  }
  ~NetnsLab() {
    (void)sh("ip netns del " + a());
    (void)sh("ip netns del " + b());
  }
  NetnsLab(const NetnsLab&) = delete;
  NetnsLab& operator=(const NetnsLab&) = delete;

  [[nodiscard]] bool ok() const noexcept { return ok_; }
  [[nodiscard]] std::string a() const { return prefix_ + "a"; }
  [[nodiscard]] std::string b() const { return prefix_ + "b"; }
  [[nodiscard]] std::string dev_a(int i) const { return prefix_ + "a" + std::to_string(i); }
  [[nodiscard]] std::string dev_b(int i) const { return prefix_ + "b" + std::to_string(i); }
  [[nodiscard]] static std::string ip_b(int i) { return "10.77." + std::to_string(i + 1) + ".2"; }

  // Installs `netem <args>` as the root qdisc of line i's sender-side device. False if netem is
  // unavailable (kernel without sch_netem) or the arguments are rejected.
  [[nodiscard]] bool netem(int i, const std::string& args) const {
    return sh("ip netns exec " + a() + " tc qdisc replace dev " + dev_a(i) + " root netem " + args);
  }
  [[nodiscard]] bool netem_off(int i) const {
    return sh("ip netns exec " + a() + " tc qdisc del dev " + dev_a(i) + " root");
  }
  // Packets the netem qdisc of line i dropped so far ("dropped N" in tc -s), if readable.
  [[nodiscard]] std::optional<std::uint64_t> netem_dropped(int i) const {
    const std::string s = sh_output("ip netns exec " + a() + " tc -s qdisc show dev " + dev_a(i));
    const auto p = s.find("dropped ");
    if (p == std::string::npos) return std::nullopt;
    return std::strtoull(s.c_str() + p + 8, nullptr, 10);
  }

 private:
  static int& counter() {
    static int c = 0;
    return c;
  }
  std::string prefix_;
  int lines_ = 0;
  bool ok_ = false;
};

}  // namespace torq::faults
