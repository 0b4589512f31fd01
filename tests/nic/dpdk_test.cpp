// DPDK backend with real DPDK virtual devices, no physical NIC: net_pcap replay of a generated
// capture (corrupted packets counted and dropped), A/B arbitration across two pcap ports, the
// transmit path written to a capture by net_pcap and re-parsed, net_null through the poll loop,
// and net_af_packet on a veth pair between two network namespaces created by the test (root
// only; skipped otherwise), traffic both ways with the kernel's UDP stack.
// One EAL per process (DPDK's rule): initialized once, ports attached/detached per test.
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "helpers.hpp"
#include "torq/nic/config.hpp"
#include "torq/nic/dpdk.hpp"
#include "torq/nic/pcap.hpp"
#include "torq/nic/receiver.hpp"

namespace torq::nic {
namespace {

using test::CollectSink;
namespace fs = std::filesystem;

dpdk::MbufPools& pools() {
  static dpdk::MbufPools* p = [] {
    EalOptions o;
    o.cores = std::to_string(std::max(0, hw::current_cpu()));
    o.file_prefix = "torq_nic_test_" + std::to_string(getpid());
    o.log_level = "*:error";
    o.memory_mb = 256;
    cpu_set_t before, after;
    CPU_ZERO(&before);
    CPU_ZERO(&after);
    (void)pthread_getaffinity_np(pthread_self(), sizeof before, &before);
    dpdk::eal_init(eal_arguments(o, false));
    (void)pthread_getaffinity_np(pthread_self(), sizeof after, &after);
    // Threads started after the EAL (torqd's strategy, executor) must not inherit its main lcore.
    EXPECT_TRUE(CPU_EQUAL(&before, &after)) << "eal_init left the calling thread pinned";
    dpdk::MbufPoolConfig mc;
    mc.mbufs = 16383;
    return new dpdk::MbufPools(mc, "nictest");
  }();
  return *p;
}

fs::path tmp(const std::string& name) { return fs::temp_directory_path() / ("torq_nic_" + std::to_string(getpid()) + "_" + name); }

UdpEndpoints feed_endpoints() {
  UdpEndpoints ep;
  ep.src_mac = {0x02, 0, 0, 0, 0, 1};
  ep.dst_mac = {0x02, 0, 0, 0, 0, 2};
  ep.src_ip = ipv4(10, 0, 0, 1);
  ep.dst_ip = ipv4(10, 0, 0, 2);
  ep.src_port = 40000;
  ep.dst_port = 9000;
  return ep;
}

// Polls until `done()` or a 5 s guard passes (never asserted on: the caller checks counts).
template <class F, class Done>
void poll_until(F&& poll, Done&& done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!done() && std::chrono::steady_clock::now() < deadline) (void)poll();
}

class Dpdk : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!dpdk::available()) GTEST_SKIP() << "torq_nic built without DPDK";
    (void)pools();
  }
};

TEST_F(Dpdk, ShouldReplayPcapAndCountCorruptedPackets) {
  FeedSpec spec;
  spec.count = 5000;
  spec.endpoints = feed_endpoints();
  spec.corrupt_every = 10;
  const FeedPackets feed = make_feed_packets(spec);
  const fs::path file = tmp("replay.pcap");
  write_pcap(file, feed.packets);
  dpdk::Port port(dpdk::PortConfig{"net_pcap10,rx_pcap=" + file.string()}, pools());
  EXPECT_EQ(port.driver(), "net_pcap");
  EXPECT_TRUE(port.link().up);
  CollectSink sink;
  RxPipelineConfig pc;
  pc.filters[0].dst_port = 9000;
  RxPipeline<CollectSink> p(pc, sink);
  poll_until([&] { return poll_port(port, 0, 0, p, 0); }, [&] { return p.counters().packets >= feed.packets.size(); });
  fs::remove(file);
  const RxCounters c = p.counters();
  EXPECT_EQ(c.packets, feed.packets.size());
  EXPECT_EQ(c.bad_packets() + c.bad_frames(), feed.corrupted);
  EXPECT_EQ(c.frame_error(protocol::FrameError::BadChecksum), feed.by_kind[0]);
  EXPECT_TRUE(sink.exactly_in_order(1, 1, 5000));
  EXPECT_EQ(port.stats().ipackets, feed.packets.size());
}

TEST_F(Dpdk, ShouldArbitrateTwoPcapFeedsMissingDisjointTenPercentWithoutLoss) {
  FeedSpec a;
  a.count = 10000;
  a.endpoints = feed_endpoints();
  a.keep = [](std::uint64_t s) { return s % 10 != 4; };
  FeedSpec b = a;
  b.keep = [](std::uint64_t s) { return s % 10 != 8; };
  const fs::path fa = tmp("a.pcap"), fb = tmp("b.pcap");
  write_pcap(fa, make_feed_packets(a).packets);
  write_pcap(fb, make_feed_packets(b).packets);
  NicConfig cfg;
  cfg.backend = Backend::dpdk;
  cfg.arbitrate = true;
  cfg.lines = {LineConfig{}, LineConfig{}};
  cfg.lines[0].dpdk_device = "net_pcap11,rx_pcap=" + fa.string();
  cfg.lines[1].dpdk_device = "net_pcap12,rx_pcap=" + fb.string();
  cfg.lines[0].dst_port = cfg.lines[1].dst_port = 9000;
  CollectSink sink;
  {
    NicReceiver<CollectSink> rx(cfg, sink, 100);
    ASSERT_EQ(rx.backend(), Backend::dpdk);
    ASSERT_EQ(rx.ports().size(), 2u);
    poll_until([&] { return rx.poll(monotonic_ns()); }, [&] { return rx.pipeline().counters().frames >= 18000; });
    rx.pipeline().flush();
    const auto& ac = rx.pipeline().arbiter()->counters();
    EXPECT_EQ(ac.gaps, 0u);
    EXPECT_EQ(ac.missing, 0u);
    EXPECT_EQ(ac.delivered, 10000u);
  }
  fs::remove(fa);
  fs::remove(fb);
  EXPECT_TRUE(sink.exactly_in_order(1, 1, 10000));
}

TEST_F(Dpdk, ShouldTransmitFramesThatParseBackFromTheWire) {
  const fs::path empty = tmp("empty.pcap"), out = tmp("tx.pcap");
  write_pcap(empty, {});
  constexpr std::uint64_t kN = 300;
  {
    dpdk::Port port(dpdk::PortConfig{"net_pcap13,rx_pcap=" + empty.string() + ",tx_pcap=" + out.string()}, pools());
    dpdk::Publisher pub(port, 0, feed_endpoints());
    for (std::uint64_t s = 1; s <= kN; ++s) {
      const auto f = make_feed_frame(5, s);
      ASSERT_EQ(pub.try_publish(f), mycelium::PublishResult::ok);
    }
    const std::vector<std::byte> huge(4000);
    EXPECT_EQ(pub.try_publish(huge), mycelium::PublishResult::too_large);
    EXPECT_EQ(pub.stats().published, kN);
  }  // port closed: capture flushed
  const auto pkts = read_pcap(out);
  fs::remove(empty);
  fs::remove(out);
  ASSERT_EQ(pkts.size(), kN);
  CollectSink sink;
  RxPipelineConfig pc;
  pc.filters[0] = PacketFilter{ipv4(10, 0, 0, 2), 9000, true};  // UDP checksum verified too
  RxPipeline<CollectSink> p(pc, sink);
  for (const auto& pk : pkts) p.on_packet(0, pk.bytes, 0);
  EXPECT_EQ(p.counters().bad_packets(), 0u);
  EXPECT_TRUE(sink.exactly_in_order(5, 1, kN));
}

TEST_F(Dpdk, ShouldRunNullDevicePacketsThroughPollLoopAndCountThemBad) {
  dpdk::Port port(dpdk::PortConfig{"net_null10,size=128"}, pools());
  CollectSink sink;
  RxPipeline<CollectSink> p(RxPipelineConfig{}, sink);
  std::size_t polled = 0;
  for (int i = 0; i < 100; ++i) polled += poll_port(port, 0, 0, p, 0);
  EXPECT_GT(polled, 0u);
  EXPECT_EQ(p.counters().packets, polled);
  EXPECT_EQ(p.counters().bad_packets(), polled);  // zeroed packets are not IPv4
  EXPECT_TRUE(sink.items.empty());
}

// ---- net_af_packet on a veth pair between two namespaces ----

bool run(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()) == 0; }

class NetnsPair {
 public:
  NetnsPair() {
    const std::string id = std::to_string(getpid() % 100000);
    a_ = "torqnicA" + id;
    b_ = "torqnicB" + id;
    va_ = "tqa" + id;
    vb_ = "tqb" + id;
    ok_ = run("ip netns add " + a_) && run("ip netns add " + b_) &&
          run("ip link add " + va_ + " netns " + a_ + " type veth peer name " + vb_ + " netns " + b_) &&
          run("ip -n " + a_ + " link set " + va_ + " address 02:00:00:00:77:01") &&
          run("ip -n " + b_ + " link set " + vb_ + " address 02:00:00:00:77:02") &&
          run("ip -n " + a_ + " link set " + va_ + " up") &&
          run("ip -n " + b_ + " addr add 10.77.0.2/24 dev " + vb_) && run("ip -n " + b_ + " link set " + vb_ + " up") &&
          run("ip -n " + b_ + " neigh replace 10.77.0.1 lladdr 02:00:00:00:77:01 dev " + vb_);
  }
  ~NetnsPair() {  // deleting the namespaces deletes the veth pair inside them
    (void)run("ip netns del " + a_);
    (void)run("ip netns del " + b_);
  }
  NetnsPair(const NetnsPair&) = delete;
  NetnsPair& operator=(const NetnsPair&) = delete;
  [[nodiscard]] bool ok() const { return ok_; }
  const std::string& a() const { return a_; }
  const std::string& b() const { return b_; }
  const std::string& veth_a() const { return va_; }

 private:
  std::string a_, b_, va_, vb_;
  bool ok_ = false;
};

// Runs f() with the calling thread inside network namespace `ns`; sockets made there stay there.
template <class F>
auto in_netns(const std::string& ns, F&& f) {
  const int self = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  const int target = ::open(("/var/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
  if (self < 0 || target < 0 || ::setns(target, CLONE_NEWNET) != 0) {
    if (self >= 0) ::close(self);
    if (target >= 0) ::close(target);
    throw std::runtime_error("setns " + ns);
  }
  struct Back {
    int self, target;
    ~Back() {
      (void)::setns(self, CLONE_NEWNET);
      ::close(self);
      ::close(target);
    }
  } back{self, target};
  return f();
}

TEST_F(Dpdk, ShouldExchangeFramesWithKernelOverVethViaAfPacket) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root for network namespaces";
  NetnsPair ns;
  if (!ns.ok()) GTEST_SKIP() << "network namespaces / veth unavailable";
  auto port = in_netns(ns.a(), [&] {
    return dpdk::Port(dpdk::PortConfig{"net_af_packet10,iface=" + ns.veth_a() + ",qpairs=1"}, pools());
  });
  // Kernel side in namespace B: a receiving socket (10.77.0.2:9001) and a sending socket.
  const int krx = in_netns(ns.b(), [] { return ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0); });
  const int ktx = in_netns(ns.b(), [] { return ::socket(AF_INET, SOCK_DGRAM, 0); });
  ASSERT_GE(krx, 0);
  ASSERT_GE(ktx, 0);
  sockaddr_in me{};
  me.sin_family = AF_INET;
  me.sin_port = htons(9001);
  me.sin_addr.s_addr = htonl(ipv4(10, 77, 0, 2));
  ASSERT_EQ(::bind(krx, reinterpret_cast<const sockaddr*>(&me), sizeof me), 0);

  // Kernel -> DPDK.
  constexpr std::uint64_t kN = 200;
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(9000);
  to.sin_addr.s_addr = htonl(ipv4(10, 77, 0, 1));
  CollectSink sink;
  RxPipelineConfig pc;
  // No UDP checksum check: veth offloads it, so AF_PACKET sees a partial (pseudo-header) sum.
  pc.filters[0] = PacketFilter{ipv4(10, 77, 0, 1), 9000, false};
  RxPipeline<CollectSink> p(pc, sink);
  for (std::uint64_t s = 1; s <= kN; ++s) {
    const auto f = make_feed_frame(6, s);
    ASSERT_EQ(::sendto(ktx, f.data(), f.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof to),
              static_cast<ssize_t>(f.size()));
    if (s % 32 == 0) (void)poll_port(port, 0, 0, p, 0);
  }
  poll_until([&] { return poll_port(port, 0, 0, p, 0); }, [&] { return sink.items.size() >= kN; });
  EXPECT_TRUE(sink.exactly_in_order(6, 1, kN)) << "packets " << p.counters().packets << " frames " << p.counters().frames
                                                << " bad packets " << p.counters().bad_packets() << " delivered "
                                                << sink.items.size();

  // DPDK -> kernel.
  UdpEndpoints ep;
  ep.src_mac = port.mac();
  ep.dst_mac = {0x02, 0, 0, 0, 0x77, 0x02};
  ep.src_ip = ipv4(10, 77, 0, 1);
  ep.dst_ip = ipv4(10, 77, 0, 2);
  ep.src_port = 9000;
  ep.dst_port = 9001;
  dpdk::Publisher pub(port, 0, ep);
  std::size_t got = 0, valid = 0;
  std::vector<std::byte> buf(70000);
  for (std::uint64_t s = 1; s <= kN; ++s) {
    const auto f = make_feed_frame(8, s);
    EXPECT_EQ(pub.try_publish(f), mycelium::PublishResult::ok);
    for (ssize_t n; (n = ::recv(krx, buf.data(), buf.size(), 0)) > 0;) {
      ++got;
      const auto r = protocol::parse_frame(std::span<const std::byte>(buf.data(), static_cast<std::size_t>(n)));
      valid += r.ok() && r.view.header.source == 8;
    }
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  while (got < kN && std::chrono::steady_clock::now() < deadline) {
    const ssize_t n = ::recv(krx, buf.data(), buf.size(), 0);
    if (n <= 0) continue;
    ++got;
    const auto r = protocol::parse_frame(std::span<const std::byte>(buf.data(), static_cast<std::size_t>(n)));
    valid += r.ok() && r.view.header.source == 8;
  }
  ::close(krx);
  ::close(ktx);
  EXPECT_EQ(got, kN);
  EXPECT_EQ(valid, kN);
}

}  // namespace
}  // namespace torq::nic
