// UDP loss across a veth pair between two network namespaces that the test creates (root and
// iproute2 needed; skipped otherwise). Loss, duplication and reordering come from `tc netem` on
// the sender's veth; where the kernel has no sch_netem the netem tests skip and the
// user-space-impairment variants still exercise the same namespaces, veths and checks.
// The namespaces (and with them the veths) are deleted by NetnsLab's destructor on every exit path.
#include <gtest/gtest.h>

#include <string>

#include "udp_loss_scenario.hpp"

namespace torq::faults {
namespace {

using mycelium::open_udp_publisher;
using mycelium::open_udp_subscriber;
using mycelium::parse_transport_config;

struct Line {
  mycelium::UdpSubscriber sub;  // in namespace b
  mycelium::UdpPublisher pub;   // in namespace a
};

Line open_line(const NetnsLab& lab, int i) {
  Line l;
  l.sub = in_netns(lab.b(), [&] {
    return open_udp_subscriber(parse_transport_config("udp://" + NetnsLab::ip_b(i) + ":0?rcvbuf=8388608"));
  });
  l.pub = in_netns(lab.a(), [&] {
    return open_udp_publisher(parse_transport_config("udp://" + NetnsLab::ip_b(i) + ":" + std::to_string(l.sub.port())));
  });
  return l;
}

#define TORQ_REQUIRE_NETNS()                                                   \
  do {                                                                         \
    const std::string why = NetnsLab::unavailable_reason();                    \
    if (!why.empty()) GTEST_SKIP() << why;                                     \
  } while (0)

// True if this kernel can attach a netem qdisc (probed on the lab's first line, then removed).
bool netem_available(const NetnsLab& lab) {
  const bool ok = lab.netem(0, "loss 0%");
  if (ok) (void)lab.netem_off(0);
  return ok;
}

TEST(NetnsUdpLoss, ShouldMatchRelayCountersToNetemLossDuplicationAndReordering) {
  TORQ_REQUIRE_NETNS();
  NetnsLab lab(1);
  if (!lab.ok()) GTEST_SKIP() << "cannot create network namespaces / veth here";
  if (!netem_available(lab)) GTEST_SKIP() << "tc netem unavailable (kernel without sch_netem)";
  Line l = open_line(lab, 0);
  ScenarioEnv env;
  env.receiver_thread = true;
  env.pace_ns = 25'000;  // 40 k frames/s: netem's 1 ms reorder stays far inside the 256 window
  env.impair_on = [&] { return lab.netem(0, "limit 100000 delay 1ms reorder 90% 50% loss 5% duplicate 1%"); };
  const auto r = run_single_line(l.pub, l.sub, 20'000, env);
  if (r.skipped) GTEST_SKIP() << "netem rejected the impairment";
  const auto tc_dropped = lab.netem_dropped(0);
  print("netns netem 5% loss / 1% dup / reorder", r);
  std::printf("[faults] netem qdisc dropped (tc -s, includes dropped duplicates): %lld\n",
              tc_dropped ? static_cast<long long>(*tc_dropped) : -1LL);
  EXPECT_GT(r.lost, 0u);
  EXPECT_GT(r.arrivals - r.distinct, 0u) << "netem duplicated nothing";
  EXPECT_GT(r.seq.late, 0u) << "netem reordered nothing";
}

TEST(NetnsUdpLoss, ShouldMergeTwoNetemLinesWithGapsOnlyWhereBothLost) {
  TORQ_REQUIRE_NETNS();
  NetnsLab lab(2);
  if (!lab.ok()) GTEST_SKIP() << "cannot create network namespaces / veth here";
  if (!netem_available(lab)) GTEST_SKIP() << "tc netem unavailable (kernel without sch_netem)";
  Line a = open_line(lab, 0);
  Line b = open_line(lab, 1);
  ScenarioEnv env;
  env.receiver_thread = true;
  env.pace_ns = 25'000;
  env.arbiter_timeout_ns = 5'000'000;  // holes lost on both lines are declared by expire()
  env.impair_on = [&] { return lab.netem(0, "loss 10%") && lab.netem(1, "loss 10%"); };
  env.impair_off = [&] {
    (void)lab.netem_off(0);
    (void)lab.netem_off(1);
  };
  const auto r = run_ab_lines(a.pub, b.pub, a.sub, b.sub, 20'000, env);
  if (r.skipped) GTEST_SKIP() << "netem rejected the impairment";
  print("netns netem A/B 10% + 10% loss", r);
  EXPECT_GT(r.sent - r.on_a, 0u);
  EXPECT_GT(r.sent - r.on_b, 0u);
}

// The same checks over the namespaces' veth with the impairment made in user space: runs on
// kernels without netem, and proves the lab (namespaces, veths, cleanup) itself works.
TEST(NetnsUdpLoss, ShouldMatchRelayCountersOverVethWithUserSpaceImpairment) {
  TORQ_REQUIRE_NETNS();
  NetnsLab lab(1);
  if (!lab.ok()) GTEST_SKIP() << "cannot create network namespaces / veth here";
  Line l = open_line(lab, 0);
  LossyWire wire({.loss_pm = 50, .dup_pm = 10, .reorder_pm = 50, .depth = 8, .seed = 0xfeed});
  ScenarioEnv env;
  env.receiver_thread = true;
  env.pace_ns = 20'000;
  env.wire = &wire;
  const auto r = run_single_line(l.pub, l.sub, 10'000, env);
  print("netns veth user-space 5% loss / 1% dup / 5% reorder", r);
  EXPECT_EQ(r.lost, wire.dropped() + r.kernel_drops);
  EXPECT_GT(wire.dropped(), 0u);
}

TEST(NetnsUdpLoss, ShouldMergeTwoVethLinesWithUserSpaceLoss) {
  TORQ_REQUIRE_NETNS();
  NetnsLab lab(2);
  if (!lab.ok()) GTEST_SKIP() << "cannot create network namespaces / veth here";
  Line a = open_line(lab, 0);
  Line b = open_line(lab, 1);
  LossyWire wa({.loss_pm = 100, .dup_pm = 0, .reorder_pm = 0, .depth = 1, .seed = 0xAA});
  LossyWire wb({.loss_pm = 100, .dup_pm = 0, .reorder_pm = 0, .depth = 1, .seed = 0xBB});
  ScenarioEnv env;
  env.receiver_thread = true;
  env.pace_ns = 20'000;
  env.wire = &wa;
  env.wire_b = &wb;
  env.arbiter_timeout_ns = 5'000'000;  // holes lost on both lines are declared by expire()
  const auto r = run_ab_lines(a.pub, b.pub, a.sub, b.sub, 10'000, env);
  print("netns veth A/B user-space 10% + 10% loss", r);
  EXPECT_EQ(r.on_a + wa.dropped(), r.sent);
  EXPECT_EQ(r.on_b + wb.dropped(), r.sent);
}

TEST(NetnsLab, ShouldRemoveItsNamespacesWhenDestroyed) {
  TORQ_REQUIRE_NETNS();
  std::string a, b;
  {
    NetnsLab lab(2);
    if (!lab.ok()) GTEST_SKIP() << "cannot create network namespaces / veth here";
    a = lab.a();
    b = lab.b();
    ASSERT_TRUE(sh("ip netns exec " + a + " ip link show " + lab.dev_a(1)));
  }
  EXPECT_FALSE(sh("ip netns exec " + a + " true"));
  EXPECT_FALSE(sh("ip netns exec " + b + " true"));
}

}  // namespace
}  // namespace torq::faults
