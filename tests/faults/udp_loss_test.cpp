// UDP loss on loopback, injected in user space (no root needed): a publisher sends Protocol V2
// frames through a seeded LossyWire (drop, duplicate, reorder) to a UdpSubscriber feeding a
// mycelium::Relay, and to two lines merged by the nic A/B arbiter. The relay's and the arbiter's
// counters must equal the ground truth recorded on both sides of the wire.
#include <gtest/gtest.h>

#include <string>

#include "udp_loss_scenario.hpp"

namespace torq::faults {
namespace {

using mycelium::open_udp_publisher;
using mycelium::open_udp_subscriber;
using mycelium::parse_transport_config;

mycelium::UdpSubscriber loopback_sub() {
  return open_udp_subscriber(parse_transport_config("udp://127.0.0.1:0?rcvbuf=4194304"));
}
mycelium::UdpPublisher loopback_pub(const mycelium::UdpSubscriber& s) {
  return open_udp_publisher(parse_transport_config("udp://127.0.0.1:" + std::to_string(s.port())));
}

TEST(UdpLoss, ShouldCountEveryLostDuplicatedAndReorderedFrameExactlyOnLoopback) {
  auto sub = loopback_sub();
  auto pub = loopback_pub(sub);
  LossyWire wire({.loss_pm = 50, .dup_pm = 10, .reorder_pm = 50, .depth = 8, .seed = 0x5eed01});
  ScenarioEnv env;
  env.wire = &wire;
  const auto r = run_single_line(pub, sub, 20'000, env);
  print("udp loopback 5% loss / 1% dup / 5% reorder", r);
  // Both sides of the wire agree: what the wire dropped is what the relay found missing.
  EXPECT_EQ(r.kernel_drops, 0u);
  EXPECT_EQ(r.lost, wire.dropped());
  EXPECT_EQ(r.arrivals - r.distinct, wire.duplicated());
  EXPECT_GT(wire.dropped(), 0u);
  EXPECT_GT(r.seq.late, 0u);
  EXPECT_EQ(r.seq.missing - r.seq.late, wire.dropped());
}

TEST(UdpLoss, ShouldCountATailLossRevealedOnlyByTheClosingHeartbeat) {
  auto sub = loopback_sub();
  auto pub = loopback_pub(sub);
  // Drops everything: no data frame arrives, the closing heartbeat alone reveals all of them.
  LossyWire wire({.loss_pm = 1000, .dup_pm = 0, .reorder_pm = 0, .depth = 1, .seed = 3});
  ScenarioEnv env;
  env.wire = &wire;
  const auto r = run_single_line(pub, sub, 100, env);
  print("udp loopback total loss", r);
  EXPECT_EQ(r.distinct, 0u);
  EXPECT_EQ(r.seq.missing, 100u);
  EXPECT_EQ(r.seq.gaps, 1u);
}

TEST(UdpLoss, ShouldMergeTwoLossyLinesWithGapsOnlyWhereBothLost) {
  auto sa = loopback_sub();
  auto sb = loopback_sub();
  auto pa = loopback_pub(sa);
  auto pb = loopback_pub(sb);
  LossyWire wa({.loss_pm = 100, .dup_pm = 5, .reorder_pm = 20, .depth = 4, .seed = 0xA});
  LossyWire wb({.loss_pm = 100, .dup_pm = 5, .reorder_pm = 20, .depth = 4, .seed = 0xB});
  ScenarioEnv env;
  env.wire = &wa;
  env.wire_b = &wb;
  env.arbiter_timeout_ns = 1'000'000'000;  // inline receive: holes are closed by the window or flush
  const auto r = run_ab_lines(pa, pb, sa, sb, 20'000, env);
  print("A/B loopback 10% + 10% loss", r);
  EXPECT_EQ(r.on_a, r.sent - wa.dropped());
  EXPECT_EQ(r.on_b, r.sent - wb.dropped());
  EXPECT_GT(r.on_neither, 0u);  // ~1% of 20 000 lost on both: the gap path is exercised
  EXPECT_LT(r.on_neither, r.sent / 50);
}

TEST(UdpLoss, ShouldDeliverEverythingWithZeroGapsWhenTheLinesLoseDisjointFrames) {
  auto sa = loopback_sub();
  auto sb = loopback_sub();
  auto pa = loopback_pub(sa);
  auto pb = loopback_pub(sb);
  // Line A loses 10%; line B loses nothing but reorders 3%: every frame reaches some line, so
  // the merge must have zero gaps and deliver every frame exactly once, in order.
  LossyWire wa({.loss_pm = 100, .dup_pm = 0, .reorder_pm = 0, .depth = 1, .seed = 0x11});
  LossyWire wb({.loss_pm = 0, .dup_pm = 0, .reorder_pm = 30, .depth = 3, .seed = 0x22});
  ScenarioEnv env;
  env.wire = &wa;
  env.wire_b = &wb;
  env.arbiter_timeout_ns = 1'000'000'000;
  const auto r = run_ab_lines(pa, pb, sa, sb, 10'000, env);
  print("A/B loopback 10% loss on A only, reorder on B", r);
  EXPECT_EQ(r.on_neither, 0u);
  EXPECT_EQ(r.arb.gaps, 0u);
  EXPECT_EQ(r.arb.missing, 0u);
  EXPECT_EQ(r.arb.delivered, r.sent);
}

}  // namespace
}  // namespace torq::faults
