// Multicast feeds over kernel UDP, end to end, in a private network namespace (root only; skipped
// otherwise): mycelium::UdpPublisher sends Protocol V2 frames to two multicast groups (lines A and
// B, ?iface=lo), nic::NicReceiver's kernel backend (KernelUdpRx: IP_ADD_MEMBERSHIP on 127.0.0.1)
// receives both and arbitrates them. Each line misses a disjoint 10% (never sent): the merged
// stream must lose nothing, in order, exactly once. A group the receiver did not join delivers
// nothing to it, while a socket that did join it receives (so the stray frames really were sent).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <string>

#include "helpers.hpp"
#include "loopback_netns.hpp"
#include "torq/mycelium/config.hpp"
#include "torq/mycelium/socket_transport.hpp"
#include "torq/nic/config.hpp"
#include "torq/nic/kernel_udp.hpp"
#include "torq/nic/pcap.hpp"
#include "torq/nic/receiver.hpp"

namespace torq::nic {
namespace {

using test::CollectSink;

constexpr std::uint16_t kPort = 47001;  // the namespace is private: any port is free
const std::string kGroupA = "239.77.0.1";
const std::string kGroupB = "239.77.0.2";
const std::string kGroupOther = "239.77.0.3";  // never joined by the receiver under test

mycelium::UdpPublisher publisher(const std::string& group, std::uint16_t port = kPort) {
  return mycelium::open_udp_publisher(
      mycelium::parse_transport_config("udp://" + group + ":" + std::to_string(port) + "?iface=lo"));
}

LineConfig line(const std::string& name, const std::string& group, std::uint16_t port = kPort) {
  LineConfig l;
  l.name = name;
  l.dst_ip = parse_ipv4(group);
  l.dst_port = port;
  l.interface_ip = parse_ipv4("127.0.0.1");
  return l;
}

// Polls until `done()` or 5 s passed (the caller asserts on the counts).
template <class Poll, class Done>
void poll_until(Poll&& poll, Done&& done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!done() && std::chrono::steady_clock::now() < deadline) (void)poll();
}

TEST(Multicast, ShouldMergeTwoLossyMulticastGroupsWithoutLoss) {
  torq::test::LoopbackNetns ns;
  if (!ns.ok()) GTEST_SKIP() << ns.reason();
  NicConfig cfg;
  cfg.backend = Backend::kernel;
  cfg.arbitrate = true;
  cfg.lines = {line("A", kGroupA), line("B", kGroupB)};
  CollectSink sink;
  NicReceiver<CollectSink> rx(cfg, sink);
  ASSERT_EQ(rx.backend(), Backend::kernel);
  auto pub_a = publisher(kGroupA);
  auto pub_b = publisher(kGroupB);

  constexpr std::uint64_t kN = 4000;
  constexpr std::uint8_t kSource = 7;
  std::uint64_t sent_a = 0, sent_b = 0;
  for (std::uint64_t s = 1; s <= kN; ++s) {
    const auto f = make_feed_frame(kSource, s);
    if (s % 10 != 2) {  // line A misses sequences ending in 2
      ASSERT_EQ(pub_a.try_publish(f), mycelium::PublishResult::ok) << "seq " << s;
      ++sent_a;
    }
    if (s % 10 != 5) {  // line B misses a disjoint 10%
      ASSERT_EQ(pub_b.try_publish(f), mycelium::PublishResult::ok) << "seq " << s;
      ++sent_b;
    }
    if (s % 32 == 0) (void)rx.poll(monotonic_ns());  // keep the socket buffers from overflowing
  }
  poll_until([&] { return rx.poll(monotonic_ns()); },
             [&] { return rx.pipeline().counters().datagrams >= sent_a + sent_b; });
  for (int i = 0; i < 50; ++i) (void)rx.poll(monotonic_ns());  // anything extra (a duplicated copy) shows up

  const RxCounters a = rx.pipeline().line_counters(0);
  const RxCounters b = rx.pipeline().line_counters(1);
  EXPECT_EQ(a.datagrams, sent_a) << "line A: every datagram sent to group A, once";
  EXPECT_EQ(b.datagrams, sent_b) << "line B: every datagram sent to group B, once";
  EXPECT_EQ(a.frames, sent_a);
  EXPECT_EQ(b.frames, sent_b);
  EXPECT_EQ(rx.sockets()[0].stats().kernel_drops, 0u);
  EXPECT_EQ(rx.sockets()[1].stats().kernel_drops, 0u);
  ASSERT_NE(rx.pipeline().arbiter(), nullptr);
  const ArbiterCounters& arb = rx.pipeline().arbiter()->counters();
  EXPECT_EQ(arb.gaps, 0u);
  EXPECT_EQ(arb.missing, 0u);
  EXPECT_EQ(arb.delivered, kN);
  EXPECT_EQ(arb.duplicates, sent_a + sent_b - kN) << "the second copy of every frame both lines carried";
  EXPECT_GE(arb.first_from[1], kN / 10) << "B filled A's holes";
  EXPECT_EQ(sink.corrupt, 0u);
  EXPECT_TRUE(sink.exactly_in_order(kSource, 1, kN)) << "merged stream: " << sink.items.size() << " frames";
}

TEST(Multicast, ShouldNotReceiveFramesSentToAGroupItDidNotJoin) {
  torq::test::LoopbackNetns ns;
  if (!ns.ok()) GTEST_SKIP() << ns.reason();
  // The receiver under test joins group A only.
  NicConfig cfg;
  cfg.backend = Backend::kernel;
  cfg.lines = {line("A", kGroupA)};
  CollectSink sink;
  NicReceiver<CollectSink> rx(cfg, sink);
  // A control receiver that joined the other group (same port): proves the strays were sent.
  NicConfig other_cfg;
  other_cfg.backend = Backend::kernel;
  other_cfg.lines = {line("X", kGroupOther)};
  CollectSink other_sink;
  NicReceiver<CollectSink> other(other_cfg, other_sink);

  auto pub_a = publisher(kGroupA);
  auto pub_other = publisher(kGroupOther);
  constexpr std::uint64_t kN = 500;
  constexpr std::uint64_t kStrays = 50;
  std::uint64_t strays = 0;
  for (std::uint64_t s = 1; s <= kN; ++s) {
    // Strays first: were they wrongly delivered to A's socket, they would queue ahead of A's frames.
    if (s % 10 == 1) {
      ASSERT_EQ(pub_other.try_publish(make_feed_frame(9, ++strays)), mycelium::PublishResult::ok);
    }
    ASSERT_EQ(pub_a.try_publish(make_feed_frame(7, s)), mycelium::PublishResult::ok);
    if (s % 32 == 0) {
      (void)rx.poll(monotonic_ns());
      (void)other.poll(monotonic_ns());
    }
  }
  ASSERT_EQ(strays, kStrays);
  poll_until(
      [&] { return rx.poll(monotonic_ns()) + other.poll(monotonic_ns()); },
      [&] { return rx.pipeline().counters().datagrams >= kN && other.pipeline().counters().datagrams >= kStrays; });
  for (int i = 0; i < 50; ++i) (void)rx.poll(monotonic_ns());

  EXPECT_EQ(rx.pipeline().counters().datagrams, kN) << "only group A's datagrams reach the group-A socket";
  EXPECT_TRUE(sink.exactly_in_order(7, 1, kN));
  EXPECT_TRUE(sink.exactly_in_order(9, 1, 0)) << "a frame of the group not joined was received";
  EXPECT_EQ(other.pipeline().counters().datagrams, kStrays) << "control: the other group's member got them";
  EXPECT_TRUE(other_sink.exactly_in_order(9, 1, kStrays));
  EXPECT_TRUE(other_sink.exactly_in_order(7, 1, 0)) << "group A's frames leaked to the other group's member";
}

}  // namespace
}  // namespace torq::nic
