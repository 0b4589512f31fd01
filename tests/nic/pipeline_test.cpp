// Receive pipeline (packet checks, frame validation, sequencing), pcap files, EAL arguments and
// the kernel UDP fallback on loopback.
#include "torq/nic/rx_pipeline.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <thread>

#include "helpers.hpp"
#include "torq/nic/config.hpp"
#include "torq/nic/kernel_udp.hpp"
#include "torq/nic/pcap.hpp"
#include "torq/mycelium/relay.hpp"
#include "torq/nic/receiver.hpp"

namespace torq::nic {
namespace {

using test::CollectSink;

UdpEndpoints feed_endpoints(std::uint16_t port = 9000) {
  UdpEndpoints ep;
  ep.src_mac = {0x02, 0, 0, 0, 0, 1};
  ep.dst_mac = {0x02, 0, 0, 0, 0, 2};
  ep.src_ip = ipv4(10, 0, 0, 1);
  ep.dst_ip = ipv4(10, 0, 0, 2);
  ep.src_port = 40000;
  ep.dst_port = port;
  return ep;
}

RxPipelineConfig one_line(std::uint16_t port = 9000) {
  RxPipelineConfig c;
  c.filters[0].dst_port = port;
  return c;
}

TEST(RxPipeline, ShouldCountAndDropEveryKindOfCorruptedPacket) {
  FeedSpec spec;
  spec.count = 700;
  spec.endpoints = feed_endpoints();
  spec.corrupt_every = 5;
  const FeedPackets feed = make_feed_packets(spec);
  ASSERT_EQ(feed.corrupted, 140u);
  CollectSink sink;
  RxPipeline<CollectSink> p(one_line(), sink);
  for (const auto& pkt : feed.packets) p.on_packet(0, pkt, 0);
  const RxCounters c = p.counters();
  EXPECT_EQ(c.packets, feed.packets.size());
  EXPECT_EQ(c.frames, 700u);
  EXPECT_EQ(c.bad_packets() + c.bad_frames(), feed.corrupted);
  EXPECT_EQ(c.frame_error(protocol::FrameError::BadChecksum), 20u);
  EXPECT_EQ(c.frame_error(protocol::FrameError::BadMagic), 20u);
  EXPECT_EQ(c.packet_error(PacketError::BadIpChecksum), 20u);
  EXPECT_EQ(c.packet_error(PacketError::WrongDestination), 20u);
  EXPECT_EQ(c.packet_error(PacketError::Truncated), 20u);
  EXPECT_EQ(c.packet_error(PacketError::IpFragment), 20u);
  EXPECT_EQ(c.packet_error(PacketError::NotIpv4), 20u);
  EXPECT_TRUE(sink.exactly_in_order(1, 1, 700));
  EXPECT_EQ(sink.corrupt, 0u);
}

TEST(RxPipeline, ShouldDetectGapsAndDropDuplicatesOnSingleLine) {
  CollectSink sink;
  RxPipeline<CollectSink> p(one_line(), sink);
  for (std::uint64_t s : {1, 2, 3, 6, 7, 7, 4}) p.on_datagram(0, make_feed_frame(1, s), 0);
  ASSERT_NE(p.tracker(), nullptr);
  const auto t = p.tracker()->totals();
  EXPECT_EQ(t.gaps, 1u);
  EXPECT_EQ(t.missing, 2u);
  EXPECT_EQ(t.late, 1u);
  EXPECT_EQ(p.tracker_drops().duplicates, 1u);
  EXPECT_EQ(p.delivered(), 6u);  // 1 2 3 6 7 and late 4
}

TEST(RxPipeline, ShouldAcceptBackToBackFramesInOneDatagram) {
  CollectSink sink;
  RxPipeline<CollectSink> p(one_line(), sink);
  std::vector<std::byte> d;
  for (std::uint64_t s = 1; s <= 3; ++s) {
    const auto f = make_feed_frame(4, s);
    d.insert(d.end(), f.begin(), f.end());
  }
  p.on_datagram(0, d, 0);
  EXPECT_TRUE(sink.exactly_in_order(4, 1, 3));
  d.push_back(std::byte{0xEF});  // trailing garbage: counted once
  p.on_datagram(0, d, 0);
  EXPECT_EQ(p.counters().frame_error(protocol::FrameError::TruncatedHeader), 1u);
}

TEST(RxPipeline, ShouldMergeLinesWhenArbitrating) {
  FeedSpec a;
  a.count = 2000;
  a.endpoints = feed_endpoints();
  a.keep = [](std::uint64_t s) { return s % 10 != 1; };
  FeedSpec b = a;
  b.keep = [](std::uint64_t s) { return s % 10 != 6; };
  const auto pa = make_feed_packets(a);
  const auto pb = make_feed_packets(b);
  CollectSink sink;
  RxPipelineConfig cfg = one_line();
  cfg.lines = 2;
  cfg.filters[1].dst_port = 9000;
  cfg.arbitrate = true;
  RxPipeline<CollectSink> p(cfg, sink);
  for (std::size_t i = 0; i < std::max(pa.packets.size(), pb.packets.size()); ++i) {
    if (i < pb.packets.size()) p.on_packet(1, pb.packets[i], 0);
    if (i < pa.packets.size()) p.on_packet(0, pa.packets[i], 0);
  }
  EXPECT_EQ(p.missing(), 0u);
  EXPECT_TRUE(sink.exactly_in_order(1, 1, 2000));
}

// A mycelium relay is a sink as it is: NIC frames go straight into the relays.
struct CountingOutput {
  std::size_t* n;
  mycelium::PublishResult try_publish(std::span<const std::byte>) noexcept {
    ++*n;
    return mycelium::PublishResult::ok;
  }
};

TEST(RxPipeline, ShouldFeedMyceliumRelayDirectly) {
  std::size_t published = 0;
  mycelium::Relay<CountingOutput> relay(mycelium::RelayConfig{});
  relay.add_output(CountingOutput{&published});
  RxPipeline<mycelium::Relay<CountingOutput>> p(one_line(), relay);
  FeedSpec spec;
  spec.count = 50;
  spec.endpoints = feed_endpoints();
  for (const auto& pkt : make_feed_packets(spec).packets) p.on_packet(0, pkt, 0);
  EXPECT_EQ(relay.stats().forwarded, 50u);
  EXPECT_EQ(published, 50u);
}

TEST(Pcap, ShouldRoundTripPackets) {
  const auto path = std::filesystem::temp_directory_path() / ("torq_nic_rt_" + std::to_string(getpid()) + ".pcap");
  FeedSpec spec;
  spec.count = 10;
  spec.endpoints = feed_endpoints();
  const auto feed = make_feed_packets(spec);
  ASSERT_EQ(write_pcap(path, feed.packets, 5'000'000'000ULL, 1000), 10u);
  const auto back = read_pcap(path);
  std::filesystem::remove(path);
  ASSERT_EQ(back.size(), 10u);
  for (std::size_t i = 0; i < 10; ++i) {
    EXPECT_EQ(back[i].bytes, feed.packets[i]);
    EXPECT_EQ(back[i].timestamp_ns, 5'000'000'000ULL + i * 1000);
  }
  EXPECT_THROW((void)read_pcap("/nonexistent/x.pcap"), std::runtime_error);
}

TEST(EalArguments, ShouldUseNoHugeAndNoShconfWithoutHugepages) {
  EalOptions o;
  o.cores = "2";
  o.vdevs = {"net_null0"};
  o.file_prefix = "t1";
  const auto a = eal_arguments(o, false);
  const auto has = [&](const std::string& s) { return std::find(a.begin(), a.end(), s) != a.end(); };
  EXPECT_TRUE(has("--no-huge"));
  EXPECT_TRUE(has("--no-shconf"));
  EXPECT_FALSE(has("--in-memory"));
  EXPECT_TRUE(has("--no-pci"));
  EXPECT_TRUE(has("--vdev=net_null0"));
  EXPECT_TRUE(has("--file-prefix=t1"));
  EXPECT_TRUE(has("--no-telemetry"));
  EXPECT_EQ(a[0], "-l");
  EXPECT_EQ(a[1], "2");
}

TEST(EalArguments, ShouldUseInMemoryAndAllowListWithHugepages) {
  EalOptions o;
  o.allow_pci = {"0000:3b:00.0"};
  o.memory_mb = 1024;
  const auto a = eal_arguments(o, true);
  const auto has = [&](const std::string& s) { return std::find(a.begin(), a.end(), s) != a.end(); };
  EXPECT_TRUE(has("--in-memory"));
  EXPECT_FALSE(has("--no-huge"));
  EXPECT_FALSE(has("--no-pci"));
  EXPECT_TRUE(has("0000:3b:00.0"));
  EXPECT_TRUE(has("1024"));
}

TEST(EalArguments, ShouldRefuseRequiredHugepagesWhenNoneAreFree) {
  EalOptions o;
  o.hugepages = Hugepages::require;
  EXPECT_THROW((void)eal_arguments(o, false), std::invalid_argument);
  o.hugepages = Hugepages::auto_detect;
  o.cores.clear();
  EXPECT_THROW((void)eal_arguments(o, true), std::invalid_argument);
}

TEST(Backend, ShouldFallBackToKernelWhenDpdkNotConfigured) {
  NicConfig c;
  std::string why;
  EXPECT_EQ(choose_backend(c, &why), Backend::kernel);
  EXPECT_FALSE(why.empty());
  c.backend = Backend::dpdk;
  EXPECT_EQ(choose_backend(c, &why), dpdk::available() ? Backend::dpdk : Backend::kernel);
}

TEST(Ipv4Text, ShouldParseAndFormat) {
  EXPECT_EQ(parse_ipv4("239.1.2.3"), ipv4(239, 1, 2, 3));
  EXPECT_EQ(format_ipv4(ipv4(10, 0, 0, 7)), "10.0.0.7");
  EXPECT_THROW((void)parse_ipv4("10.0.0"), std::invalid_argument);
}

// Kernel UDP fallback on loopback: two lines (A and B sockets), each missing a disjoint 10%,
// merged by the NicReceiver with the same pipeline as DPDK; a corrupted datagram is counted.
TEST(KernelUdp, ShouldMergeTwoLossyLoopbackFeedsWithoutLoss) {
  NicConfig cfg;
  cfg.backend = Backend::kernel;
  cfg.arbitrate = true;
  cfg.lines = {LineConfig{}, LineConfig{}};
  cfg.lines[0].dst_ip = cfg.lines[1].dst_ip = ipv4(127, 0, 0, 1);
  CollectSink sink;
  NicReceiver<CollectSink> rx(cfg, sink);
  ASSERT_EQ(rx.backend(), Backend::kernel);
  const int tx = ::socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_GE(tx, 0);
  auto send_to = [&](std::uint16_t port, std::span<const std::byte> d) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return ::sendto(tx, d.data(), d.size(), 0, reinterpret_cast<const sockaddr*>(&a), sizeof a) == static_cast<ssize_t>(d.size());
  };
  constexpr std::uint64_t kN = 2000;
  std::size_t sent = 0;
  for (std::uint64_t s = 1; s <= kN; ++s) {
    const auto f = make_feed_frame(7, s);
    if (s % 10 != 2) {
      ASSERT_TRUE(send_to(rx.sockets()[0].port(), f));
    }
    if (s % 10 != 5) {
      ASSERT_TRUE(send_to(rx.sockets()[1].port(), f));
    }
    sent += (s % 10 != 2) + (s % 10 != 5);
    if (s % 64 == 0) (void)rx.poll(monotonic_ns());  // keep socket buffers from overflowing
  }
  auto bad = make_feed_frame(7, kN + 1);
  bad[40] ^= std::byte{1};
  ASSERT_TRUE(send_to(rx.sockets()[0].port(), bad));
  ::close(tx);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (rx.pipeline().counters().datagrams < sent + 1 && std::chrono::steady_clock::now() < deadline) {
    (void)rx.poll(monotonic_ns());
  }
  EXPECT_EQ(rx.pipeline().counters().frame_error(protocol::FrameError::BadChecksum), 1u);
  EXPECT_EQ(rx.pipeline().missing(), 0u);
  EXPECT_TRUE(sink.exactly_in_order(7, 1, kN));
}

}  // namespace
}  // namespace torq::nic
