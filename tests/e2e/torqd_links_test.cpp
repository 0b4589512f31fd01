// torqd's udp:// link bridges (torq/torqd/links.hpp) over real loopback sockets: a local ring →
// LinkEgress → UDP → LinkIngress (nic::NicReceiver, kernel backend) → local ring. Checks that the
// collector's two sequences (market data and snapshots, one source) arrive as one gap-free stream,
// that frames carry a valid checksum after the link even when the in-process frame had none, that a
// lost datagram is counted as a gap, that a restarted publisher is accepted (also behind the
// reorder buffer), that A/B lines are merged without duplicates, that the back channel's resends
// (through a lossy UDP hop) fill lost frames and a lost tail in order, fall back to a gap and a
// snapshot request when they cannot, and are counted when the history no longer holds them (the
// repair once more with the receiver polling a veth pair through DPDK, root only), and that a full
// local ring drops and counts instead of blocking. The
// multicast case (udp://239.x:port?iface=lo, lines A and B on two groups) runs in a private network
// namespace whose lo carries multicast (root only; skipped otherwise).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "../arb/arb_test_util.hpp"
#include "../nic/loopback_netns.hpp"
#include "net_util.hpp"
#include "torq/control/event_publisher.hpp"
#include "torq/mycelium/heartbeat.hpp"
#include "torq/mycelium/transport.hpp"
#include "torq/nic/dpdk.hpp"
#include "torq/protocol/frame.hpp"
#include "torq/torqd/links.hpp"

using namespace torq;
using namespace torq::torqd;
using namespace std::chrono_literals;

namespace {

using e2e::free_udp_port;

std::string udp(std::uint16_t port) { return "udp://127.0.0.1:" + std::to_string(port); }

// One in-process ring with both ends (the way torqd opens its local link rings).
struct Ring {
  mycelium::Publisher pub;
  mycelium::Subscriber sub;
  explicit Ring(const std::string& name, std::uint64_t capacity = 1 << 20)
      : pub(mycelium::Publisher::open("inproc:" + name + "?capacity=" + std::to_string(capacity))),
        sub(mycelium::Subscriber::open("inproc:" + name + "?capacity=" + std::to_string(capacity))) {}
  ring::SpscProducer& producer() {
    ring::SpscProducer* p = nullptr;
    pub.visit([&](auto& c) {
      if constexpr (requires { c.producer(); }) p = &c.producer();
    });
    return *p;
  }
  ring::SpscConsumer& consumer() {
    ring::SpscConsumer* p = nullptr;
    sub.visit([&](auto& c) {
      if constexpr (requires { c.consumer(); }) p = &c.consumer();
    });
    return *p;
  }
};

// A frame like the collector's: `domain`, its own sequence, no checksum (in-process), one TLV
// whose first 8 bytes carry `tag`.
std::vector<std::byte> frame(protocol::RelayDomain domain, std::uint64_t seq, std::uint32_t tag, bool checksum = false) {
  std::vector<std::byte> buf(256);
  protocol::FrameBuilder b(buf, domain, 10, checksum ? 0 : protocol::frame_flags::kNoChecksum);
  protocol::BlockHeader v{};
  v.number = tag;
  EXPECT_TRUE(b.add(v));
  const auto f = b.finish(seq, 1'000'000 + tag);
  return {f.begin(), f.end()};
}

std::uint32_t tag_of(std::span<const std::byte> f) {
  const auto r = protocol::parse_frame(f, protocol::ParseOptions{.verify_checksum = true, .require_checksum = true});
  EXPECT_TRUE(r.ok()) << "frame after the link does not parse with a required checksum";
  if (!r.ok()) return 0;
  std::uint32_t t = 0;
  for (const auto& tlv : r.view.tlvs()) std::memcpy(&t, tlv.value.data(), 4);
  return t;
}

// Pumps the egress and polls the ingress until `want` frames arrived in `out` or 2 s passed.
std::vector<std::uint32_t> carry(LinkEgress& eg, LinkIngress& in, Ring& out, std::size_t want) {
  std::vector<std::uint32_t> got;
  const auto deadline = std::chrono::steady_clock::now() + 2s;
  while (got.size() < want && std::chrono::steady_clock::now() < deadline) {
    (void)eg.pump(nic::monotonic_ns());
    (void)in.poll_once();
    (void)out.consumer().consume_burst([&](std::span<const std::byte> f) noexcept { got.push_back(tag_of(f)); }, 64);
  }
  return got;
}

TEST(TorqdLinks, ShouldCarryBothCollectorSequencesInOrderWithChecksumsAndNoGap) {
  const std::uint16_t port = free_udp_port();
  Ring src("links-src-1"), dst("links-dst-1");
  LinkIngress in("market_data", nic_config_for(ops::NicConfig{}, udp(port), "", -1), dst.producer());
  LinkEgress eg("market_data", {udp(port)}, 12, src.consumer());
  // Market data 1..40 and snapshots 1..40 interleaved: the same source, two sequences that
  // collide (a per-source tracker would drop half of them as duplicates without renumbering).
  std::vector<std::uint32_t> sent;
  for (std::uint32_t i = 1; i <= 40; ++i) {
    for (auto d : {protocol::RelayDomain::MarketData, protocol::RelayDomain::System}) {
      const std::uint32_t tag = i * 10 + (d == protocol::RelayDomain::System ? 1 : 0);
      ASSERT_EQ(src.producer().try_publish(frame(d, i, tag)), ring::PublishResult::ok);
      sent.push_back(tag);
    }
  }
  const auto got = carry(eg, in, dst, sent.size());
  EXPECT_EQ(got, sent);
  EXPECT_EQ(in.stats().gaps.load(), 0u);
  EXPECT_EQ(in.stats().duplicates.load(), 0u);
  EXPECT_EQ(in.stats().delivered.load(), sent.size());
  EXPECT_GE(in.stats().heartbeats.load(), 1u) << "the egress announces itself with a heartbeat";
  EXPECT_EQ(eg.stats().frames.load(), sent.size());
}

// A ring record whose header's payload size disagrees with its length is not one frame: the
// egress drops and counts it before numbering, so the receiver sees no hole (sent, it took a
// sequence the receiver could only count as lost).
TEST(TorqdLinks, ShouldDropARecordThatIsNotOneFrameWithoutLeavingAHole) {
  const std::uint16_t port = free_udp_port();
  Ring src("links-src-pm"), dst("links-dst-pm");
  LinkIngress in("market_data", nic_config_for(ops::NicConfig{}, udp(port), "", -1), dst.producer());
  LinkEgress eg("market_data", {udp(port)}, 12, src.consumer());
  std::vector<std::byte> bad = frame(protocol::RelayDomain::MarketData, 2, 2);
  std::uint32_t payload = 0;
  std::memcpy(&payload, bad.data() + 24, 4);
  payload += 4;  // claims 4 bytes more than the record holds
  std::memcpy(bad.data() + 24, &payload, 4);
  ASSERT_EQ(src.producer().try_publish(frame(protocol::RelayDomain::MarketData, 1, 1)), ring::PublishResult::ok);
  ASSERT_EQ(src.producer().try_publish(bad), ring::PublishResult::ok);
  ASSERT_EQ(src.producer().try_publish(frame(protocol::RelayDomain::MarketData, 3, 3)), ring::PublishResult::ok);
  EXPECT_EQ(carry(eg, in, dst, 2), (std::vector<std::uint32_t>{1, 3}));
  EXPECT_EQ(eg.stats().oversize.load(), 1u);
  EXPECT_EQ(eg.stats().frames.load(), 2u);
  EXPECT_EQ(in.stats().gaps.load(), 0u) << "the record took a sequence number";
}

TEST(TorqdLinks, ShouldCountALostDatagramAsAGap) {
  const std::uint16_t port = free_udp_port();
  Ring dst("links-dst-2");
  LinkIngress in("market_data", nic_config_for(ops::NicConfig{}, udp(port), "", -1), dst.producer());
  auto pub = mycelium::open_udp_publisher(mycelium::parse_transport_config(udp(port)));
  for (std::uint64_t seq : {1, 2, 3, 5, 6}) ASSERT_EQ(pub.try_publish(frame(protocol::RelayDomain::MarketData, seq, static_cast<std::uint32_t>(seq), true)), mycelium::PublishResult::ok);
  std::vector<std::uint32_t> got;
  for (int i = 0; i < 200 && got.size() < 5; ++i) {
    (void)in.poll_once();
    (void)dst.consumer().consume_burst([&](std::span<const std::byte> f) noexcept { got.push_back(tag_of(f)); }, 64);
    std::this_thread::sleep_for(1ms);
  }
  EXPECT_EQ(got, (std::vector<std::uint32_t>{1, 2, 3, 5, 6}));
  EXPECT_EQ(in.stats().gaps.load(), 1u);
  EXPECT_EQ(in.stats().missing.load(), 1u);
}

// A restarted publisher (new heartbeat epoch, numbering from 1 again) is accepted by the
// per-source tracker (one line) and by the reorder buffer (A/B, or one line with a back channel).
void expect_restart_accepted(bool reorder, const std::string& tag) {
  const std::uint16_t port = free_udp_port();
  Ring src("links-src-3" + tag), dst("links-dst-3" + tag);
  nic::NicConfig cfg = nic_config_for(ops::NicConfig{}, udp(port), "", -1);
  cfg.arbitrate = reorder;
  LinkIngress in("market_data", cfg, dst.producer());
  {
    LinkEgress first("market_data", {udp(port)}, 12, src.consumer());
    for (std::uint32_t i = 1; i <= 5; ++i) ASSERT_EQ(src.producer().try_publish(frame(protocol::RelayDomain::MarketData, i, i)), ring::PublishResult::ok);
    EXPECT_EQ(carry(first, in, dst, 5).size(), 5u);
  }
  std::this_thread::sleep_for(5ms);  // the epoch is the start time in ms
  LinkEgress second("market_data", {udp(port)}, 12, src.consumer());
  for (std::uint32_t i = 1; i <= 3; ++i) ASSERT_EQ(src.producer().try_publish(frame(protocol::RelayDomain::MarketData, i, 100 + i)), ring::PublishResult::ok);
  EXPECT_EQ(carry(second, in, dst, 3), (std::vector<std::uint32_t>{101, 102, 103})) << "the restarted collector's frames were dropped";
  EXPECT_EQ(in.stats().restarts.load(), 1u);
  EXPECT_EQ(in.stats().gaps.load(), 0u);
}

TEST(TorqdLinks, ShouldAcceptARestartedPublisherWhoseNumberingStartsAgain) { expect_restart_accepted(false, "t"); }

TEST(TorqdLinks, ShouldAcceptARestartedPublisherBehindAReorderBuffer) { expect_restart_accepted(true, "r"); }

TEST(TorqdLinks, ShouldMergeLinesAAndBWithoutDuplicates) {
  const std::uint16_t pa = free_udp_port(), pb = free_udp_port();
  Ring src("links-src-4"), dst("links-dst-4");
  const nic::NicConfig cfg = nic_config_for(ops::NicConfig{}, udp(pa), udp(pb), -1);
  ASSERT_EQ(cfg.lines.size(), 2u);
  ASSERT_TRUE(cfg.arbitrate);
  LinkIngress in("market_data", cfg, dst.producer());
  LinkEgress eg("market_data", {udp(pa), udp(pb)}, 12, src.consumer());
  std::vector<std::uint32_t> sent;
  for (std::uint32_t i = 1; i <= 50; ++i) {
    ASSERT_EQ(src.producer().try_publish(frame(protocol::RelayDomain::MarketData, i, i)), ring::PublishResult::ok);
    sent.push_back(i);
  }
  EXPECT_EQ(carry(eg, in, dst, sent.size()), sent);
  for (int i = 0; i < 20; ++i) (void)in.poll_once();  // the B copies
  EXPECT_EQ(in.stats().delivered.load(), 50u);
  EXPECT_GE(in.stats().duplicates.load(), 40u) << "line B's copies";
  EXPECT_EQ(in.stats().missing.load(), 0u);
}

// Multicast link over lo: nic_config_for joins the groups on the interface ?iface= names (lo's
// 127.0.0.1), LinkEgress sends every frame to both groups, LinkIngress merges them A/B.
TEST(TorqdLinks, ShouldCarryFramesOverMulticastGroupsJoinedOnTheNamedInterface) {
  torq::test::LoopbackNetns ns;
  if (!ns.ok()) GTEST_SKIP() << ns.reason();
  const std::string link_a = "udp://239.77.1.1:47101?iface=lo", link_b = "udp://239.77.1.2:47101?iface=lo";
  const nic::NicConfig cfg = nic_config_for(ops::NicConfig{}, link_a, link_b, -1);
  ASSERT_EQ(cfg.lines.size(), 2u);
  EXPECT_EQ(cfg.backend, nic::Backend::kernel);
  EXPECT_TRUE(cfg.arbitrate);
  EXPECT_EQ(cfg.lines[0].dst_ip, nic::parse_ipv4("239.77.1.1"));
  EXPECT_EQ(cfg.lines[1].dst_ip, nic::parse_ipv4("239.77.1.2"));
  EXPECT_EQ(cfg.lines[0].interface_ip, nic::parse_ipv4("127.0.0.1")) << "?iface=lo joins on lo's address";
  EXPECT_EQ(cfg.lines[0].dst_port, 47101);
  Ring src("links-src-mc"), dst("links-dst-mc");
  LinkIngress in("market_data", cfg, dst.producer());
  LinkEgress eg("market_data", {link_a, link_b}, 12, src.consumer());
  std::vector<std::uint32_t> sent;
  for (std::uint32_t i = 1; i <= 100; ++i) {
    ASSERT_EQ(src.producer().try_publish(frame(protocol::RelayDomain::MarketData, i, 1000 + i)), ring::PublishResult::ok);
    sent.push_back(1000 + i);
  }
  EXPECT_EQ(carry(eg, in, dst, sent.size()), sent);
  // The later line's copies (eg.stats().datagrams counts both lines, heartbeats included).
  const auto deadline = std::chrono::steady_clock::now() + 2s;
  while (in.stats().datagrams.load() < eg.stats().datagrams.load() && std::chrono::steady_clock::now() < deadline) {
    (void)in.poll_once();
  }
  for (int i = 0; i < 20; ++i) (void)in.poll_once();  // a duplicated datagram would show up here
  EXPECT_EQ(eg.stats().frames.load(), 100u);
  EXPECT_EQ(in.stats().datagrams.load(), eg.stats().datagrams.load()) << "every datagram sent to either group arrived, once";
  EXPECT_EQ(in.stats().delivered.load(), 100u);
  EXPECT_GE(in.stats().duplicates.load(), 100u) << "the other group's copy of every frame";
  EXPECT_EQ(in.stats().gaps.load(), 0u);
  EXPECT_EQ(in.stats().missing.load(), 0u);
  EXPECT_EQ(in.stats().bad_frames.load(), 0u);
  EXPECT_GE(in.stats().heartbeats.load(), 1u);
}

TEST(TorqdLinks, ShouldRebuildAV3TickSnapshotSplitIntoMtuSizedFramesOnTheFarSide) {
  // The collector's EventPublisher with a 1472-byte frame limit (what torqd sets for a udp://
  // market-data link) splits 300 ticks over ~11 frames; after the link the strategy's PoolBook
  // holds all 300, in order, equal to what was published.
  const std::uint16_t port = free_udp_port();
  Ring src("links-src-split"), dst("links-dst-split", 1 << 20);
  LinkIngress in("market_data", nic_config_for(ops::NicConfig{}, udp(port), "", -1), dst.producer());
  LinkEgress eg("market_data", {udp(port)}, 12, src.consumer());
  struct RingSink {
    ring::SpscProducer* p;
    bool operator()(std::span<const std::byte> f) noexcept { return p->try_publish(f) == ring::PublishResult::ok; }
  } sink{&src.producer()};
  control::EventPublisher<RingSink> pub(sink, 10, false);
  const arb::PoolSpec spec = arb::test::v3(0, 0, 1, 3000, 60);
  protocol::PoolStateSnapshot snap{};
  snap.pool = spec.id.raw();
  snap.block_number = 77;
  snap.fee_ppm = 3000;
  snap.tick_spacing = 60;
  snap.kind = static_cast<std::uint8_t>(protocol::PoolKind::V3);
  std::vector<protocol::V3TickEntry> ticks;
  for (int i = 0; i < 300; ++i) {
    const bool lower = i < 150;
    ticks.push_back(protocol::V3TickEntry{(i - 150) * 60, 0, protocol::Int128Le::from(lower ? 1000 + i : -(1000 + (299 - i))),
                                          protocol::Uint128Le::from(static_cast<arb::u128>(lower ? 1000 + i : 1000 + (299 - i)))});
  }
  std::vector<std::byte> scratch(1472);
  ASSERT_TRUE(pub.publish_snapshot(snap, ticks, scratch));
  std::size_t largest = 0, frames = 0;
  arb::BookConfig cfg{};
  cfg.v3_tick_capacity = 512;
  arb::PoolBook book(std::vector<arb::PoolSpec>{spec}, cfg);
  const auto deadline = std::chrono::steady_clock::now() + 2s;
  while (book.ticks(0).size() < ticks.size() && std::chrono::steady_clock::now() < deadline) {
    (void)eg.pump(nic::monotonic_ns());
    (void)in.poll_once();
    (void)dst.consumer().consume_burst(
        [&](std::span<const std::byte> f) noexcept {
          ++frames;
          largest = std::max(largest, f.size());
          const auto r = protocol::parse_frame(f, protocol::ParseOptions{.verify_checksum = true, .require_checksum = true});
          if (!r.ok()) return;
          for (const auto& tlv : r.view.tlvs()) {
            std::uint32_t pool = 0;
            if (auto st = protocol::tlv_as<protocol::PoolStateSnapshot>(tlv)) {
              (void)book.load(*st, pool);
            } else if (tlv.type == static_cast<std::uint8_t>(protocol::TlvType::V3TicksSnapshot)) {
              protocol::V3TicksSnapshotHead head;
              std::memcpy(&head, tlv.value.data(), sizeof head);
              (void)book.load_ticks(head, tlv.value.subspan(sizeof head), pool);
            }
          }
        },
        64);
  }
  EXPECT_GE(frames, 10u) << "the snapshot was not split";
  EXPECT_LE(largest, 1472u);
  EXPECT_EQ(in.stats().gaps.load(), 0u);
  ASSERT_EQ(book.ticks(0).size(), ticks.size());
  for (std::size_t i = 0; i < ticks.size(); ++i) {
    EXPECT_EQ(book.ticks(0)[i].tick, ticks[i].tick);
    EXPECT_EQ(book.ticks(0)[i].liquidity_net, ticks[i].liquidity_net.value());
  }
  EXPECT_FALSE(book.state(0).quarantined());
}

TEST(TorqdLinks, ShouldAskTheSourceForSnapshotsOnJoiningAndOnAGapAndRateLimitIt) {
  const std::uint16_t port = free_udp_port(), req_port = free_udp_port();
  Ring src("links-src-req"), dst("links-dst-req");
  LinkIngress in("market_data", nic_config_for(ops::NicConfig{}, udp(port), "", -1), dst.producer());
  in.request_from(udp(req_port), 12);
  LinkEgress eg("market_data", {udp(port)}, 12, src.consumer());
  std::atomic<int> asked{0};
  eg.listen_for_requests(udp(req_port), SnapshotRequestHook{[](void* c) noexcept { static_cast<std::atomic<int>*>(c)->fetch_add(1); }, &asked},
                         200'000'000);  // 200 ms
  // The source's rate limit runs on the time pump() is given: a test clock, so that "inside the
  // interval" does not depend on this machine's scheduling.
  const std::uint64_t t0 = nic::monotonic_ns();
  std::uint64_t eg_now = t0;
  auto run_for = [&](std::chrono::milliseconds d) {
    const auto until = std::chrono::steady_clock::now() + d;
    while (std::chrono::steady_clock::now() < until) {
      (void)eg.pump(eg_now);
      (void)in.poll_once();
      (void)dst.consumer().consume_burst([](std::span<const std::byte>) noexcept {}, 64);
    }
  };
  // Joining: nothing received yet, so the receiver asks (again every second until data comes).
  run_for(100ms);
  EXPECT_EQ(asked.load(), 1) << "the join request reached the source's hook";
  EXPECT_EQ(in.stats().requests_sent.load(), 1u);
  EXPECT_EQ(eg.stats().requests.load(), 1u);
  // Data flows: no more join requests.
  for (std::uint32_t i = 1; i <= 5; ++i) ASSERT_EQ(src.producer().try_publish(frame(protocol::RelayDomain::MarketData, i, i)), ring::PublishResult::ok);
  run_for(1200ms);
  EXPECT_EQ(in.stats().delivered.load(), 5u);
  EXPECT_EQ(asked.load(), 1);
  // Lost datagrams (sequences 6 and 8 never sent; 7 and 9 straight from a socket) are gaps: asked again.
  eg_now = t0 + 300'000'000;
  auto pub = mycelium::open_udp_publisher(mycelium::parse_transport_config(udp(port)));
  for (std::uint64_t seq : {7, 9}) {  // the egress numbered its 5 data frames 1..5 (heartbeats take no number)
    std::vector<std::byte> f = frame(protocol::RelayDomain::MarketData, seq, 100 + static_cast<std::uint32_t>(seq), true);
    protocol::FrameHeader h;
    std::memcpy(&h, f.data(), sizeof h);
    h.source = 12;
    h.checksum = 0;
    std::memcpy(f.data(), &h, sizeof h);
    h.checksum = protocol::frame_checksum(std::span<const std::byte>(f).first(protocol::kHeaderSize),
                                          std::span<const std::byte>(f).subspan(protocol::kHeaderSize));
    std::memcpy(f.data(), &h, sizeof h);
    ASSERT_EQ(pub.try_publish(f), mycelium::PublishResult::ok);
  }
  run_for(300ms);
  EXPECT_GE(in.stats().gaps.load(), 1u);
  EXPECT_EQ(asked.load(), 2) << "a gap asks for snapshots";
  EXPECT_EQ(in.stats().requests_sent.load(), 2u);
  // Requests are coalesced and rate-limited at the source (several receivers may ask at once).
  auto req = mycelium::open_udp_publisher(mycelium::parse_transport_config(udp(req_port)));
  std::uint64_t req_seq = 100;
  auto ask = [&](int n) {
    for (int i = 0; i < n; ++i) {
      std::array<std::byte, 128> buf{};
      protocol::FrameBuilder b(buf, protocol::RelayDomain::System, 12, 0);
      protocol::SnapshotRequest q{};
      q.source = 12;
      q.reason = static_cast<std::uint8_t>(protocol::SnapshotRequestReason::Gap);
      ASSERT_TRUE(b.add(q));
      ASSERT_EQ(req.try_publish(b.finish(++req_seq, 1)), mycelium::PublishResult::ok);
    }
  };
  eg_now = t0 + 600'000'000;
  ask(3);
  run_for(50ms);
  EXPECT_EQ(asked.load(), 3) << "a burst of three is served once";
  eg_now = t0 + 650'000'000;
  ask(1);
  run_for(50ms);
  EXPECT_EQ(asked.load(), 3) << "inside the 200 ms interval: deferred";
  eg_now = t0 + 900'000'000;
  run_for(50ms);
  EXPECT_EQ(asked.load(), 4) << "served when the interval ended";
  EXPECT_EQ(eg.stats().requests.load(), 6u);
  EXPECT_EQ(eg.stats().requests_acted.load(), 4u);
}

// A lossy hop between the egress and the ingress, as a switch that drops packets: forwards every
// datagram except the first copy of the `once` sequences and every copy of the `always` ones
// (heartbeats always pass).
struct LossyHop {
  mycelium::UdpSubscriber in;
  mycelium::UdpPublisher out;
  std::vector<std::uint64_t> once, always, dropped;
  LossyHop(std::uint16_t listen, const std::string& to)
      : in(mycelium::open_udp_subscriber(mycelium::parse_transport_config(udp(listen)))),
        out(mycelium::open_udp_publisher(mycelium::parse_transport_config(to))) {}
  void pump() {
    (void)in.poll(
        [&](std::span<const std::byte> f) noexcept {
          protocol::FrameHeader h;
          std::memcpy(&h, f.data(), sizeof h);
          const bool heartbeat = mycelium::heartbeat_of(protocol::parse_frame(f).view).has_value();
          const auto has = [](const std::vector<std::uint64_t>& v, std::uint64_t x) { return std::find(v.begin(), v.end(), x) != v.end(); };
          if (!heartbeat && (has(always, h.sequence) || (has(once, h.sequence) && !has(dropped, h.sequence)))) {
            dropped.push_back(h.sequence);
            return;
          }
          (void)out.try_publish(f);
        },
        64);
  }
};

// Egress → lossy hop → ingress with the back channel on (reorder buffer, resend requests). The
// ingress reads a kernel socket on in_port, or what `rx_nic` ([nic] lines) names, with the hop
// sending to `rx_link`.
struct ResendLink {
  std::uint16_t hop_port = free_udp_port(), in_port = free_udp_port(), req_port = free_udp_port();
  Ring src, dst;
  LossyHop hop;
  LinkIngress in;
  LinkEgress eg;
  std::atomic<int> snapshots_asked{0};
  ResendLink(const std::string& tag, std::uint32_t history, std::uint64_t heartbeat_ns = 100'000'000, ResendLimits limits = {},
             const ops::NicConfig* rx_nic = nullptr, const std::string& rx_link = "")
      : src("links-src-rs" + tag), dst("links-dst-rs" + tag), hop(hop_port, rx_link.empty() ? udp(in_port) : rx_link),
        in("market_data", reorder(nic_config_for(rx_nic ? *rx_nic : ops::NicConfig{}, udp(in_port), "", -1)), dst.producer()),
        eg("market_data", {udp(hop_port)}, 12, src.consumer(), nullptr, heartbeat_ns) {
    in.request_from(udp(req_port), 12);
    eg.listen_for_requests(udp(req_port), SnapshotRequestHook{[](void* c) noexcept { static_cast<std::atomic<int>*>(c)->fetch_add(1); }, &snapshots_asked},
                           1'000'000, with_history(limits, history));
  }
  static ResendLimits with_history(ResendLimits l, std::uint32_t history) {
    l.history_frames = history;
    return l;
  }
  static nic::NicConfig reorder(nic::NicConfig c) {
    c.arbitrate = true;
    return c;
  }
  void publish(std::uint32_t from, std::uint32_t to) {
    for (std::uint32_t i = from; i <= to; ++i)
      ASSERT_EQ(src.producer().try_publish(frame(protocol::RelayDomain::MarketData, i, i)), ring::PublishResult::ok);
  }
  // A resend request for source 12's frames [from, from + count), as another receiver would send.
  void ask_resend(std::uint64_t from, std::uint32_t count) {
    auto req = mycelium::open_udp_publisher(mycelium::parse_transport_config(udp(req_port)));
    std::array<std::byte, 128> buf{};
    protocol::FrameBuilder b(buf, protocol::RelayDomain::System, 12, 0);
    protocol::ResendRequest q{};
    q.from_sequence = from;
    q.count = count;
    q.source = 12;
    ASSERT_TRUE(b.add(q));
    ASSERT_EQ(req.try_publish(b.finish(1, 1)), mycelium::PublishResult::ok);
  }
  // Runs every stage until `want` frames arrived (want = 0: for all of `limit`) or `limit` passed.
  // (A DPDK receiver polls its port in poll_once like a kernel one.)
  std::vector<std::uint32_t> run(std::size_t want, std::chrono::milliseconds limit = 2000ms) {
    std::vector<std::uint32_t> got;
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while ((want == 0 || got.size() < want) && std::chrono::steady_clock::now() < deadline) {
      (void)eg.pump(nic::monotonic_ns());
      hop.pump();
      (void)in.poll_once();
      (void)dst.consumer().consume_burst([&](std::span<const std::byte> f) noexcept { got.push_back(tag_of(f)); }, 64);
    }
    return got;
  }
};

std::vector<std::uint32_t> iota(std::uint32_t from, std::uint32_t to) {
  std::vector<std::uint32_t> v;
  for (std::uint32_t i = from; i <= to; ++i) v.push_back(i);
  return v;
}

TEST(TorqdLinks, ShouldResendLostFramesFromTheSourcesHistoryAndDeliverEveryFrameInOrder) {
  ResendLink l("1", 64);
  l.hop.once = {5, 17, 18, 40};  // one lost frame, two in a row, one more
  l.publish(1, 60);
  EXPECT_EQ(l.run(60), iota(1, 60)) << "every frame, in order, none lost";
  EXPECT_EQ(l.hop.dropped.size(), 4u);
  EXPECT_EQ(l.in.stats().gaps.load(), 0u) << "no hole outlived the reorder buffer";
  EXPECT_EQ(l.in.stats().missing.load(), 0u);
  EXPECT_EQ(l.in.stats().late.load(), 4u) << "the four resent frames filled the holes";
  EXPECT_EQ(l.in.stats().delivered.load(), 60u);
  EXPECT_GE(l.in.stats().resend_requests_sent.load(), 3u) << "three holes";
  EXPECT_GE(l.eg.stats().frames_resent.load(), 4u);
  EXPECT_EQ(l.eg.stats().resend_unavailable.load(), 0u);
  EXPECT_EQ(l.eg.stats().frames.load(), 60u) << "resends are not new frames";
  EXPECT_EQ(l.snapshots_asked.load(), 0) << "no snapshot needed: the join request came after data, and no gap";
}

TEST(TorqdLinks, ShouldResendLostFramesToAReceiverPollingThroughDpdk) {
  // The same repair on the kernel-bypass path: the receiver polls one end of a veth pair with
  // DPDK's net_af_packet (EAL without hugepages) and runs the same reorder buffer; the hop sends
  // into the other end; resend requests go back over a kernel socket as on the kernel path.
  if (!nic::dpdk::available()) GTEST_SKIP() << "built without DPDK";
  if (::geteuid() != 0) GTEST_SKIP() << "needs root for a veth pair";
  e2e::VethPair veth(78, 'l');
  if (!veth.ok()) GTEST_SKIP() << "veth pairs unavailable";
  ops::NicConfig n;
  n.present = true;
  n.backend = ops::NicBackend::dpdk;
  n.hugepages = "none";
  n.eal_memory_mb = 256;
  ops::NicLineConfig line;
  line.name = "A";
  line.address = veth.dpdk_ip() + ":" + std::to_string(free_udp_port());
  line.dpdk_device = "net_af_packet0,iface=" + veth.dpdk_iface() + ",qpairs=1";
  n.lines.push_back(line);
  ResendLink l("d", 64, 100'000'000, {}, &n, "udp://" + line.address);
  ASSERT_EQ(l.in.backend(), nic::Backend::dpdk) << l.in.describe();
  l.hop.once = {5, 17, 18, 40};
  l.publish(1, 60);
  EXPECT_EQ(l.run(60, 5000ms), iota(1, 60)) << "every frame, in order, none lost";
  EXPECT_EQ(l.hop.dropped.size(), 4u);
  EXPECT_EQ(l.in.stats().gaps.load(), 0u);
  EXPECT_EQ(l.in.stats().late.load(), 4u) << "the four resent frames filled the holes";
  EXPECT_EQ(l.in.stats().delivered.load(), 60u);
  EXPECT_GE(l.in.stats().resend_requests_sent.load(), 3u);
  EXPECT_GE(l.eg.stats().frames_resent.load(), 4u);
}

// A transmit queue that never drains (a NIC with its link down): DPDK's net_ring, whose RX side
// nobody polls, takes 1 024 packets and then refuses every send. The egress keeps retrying while
// running (back pressure); after the stop request it gives the refused frames up after
// kStopGiveUpNs, counts them, and run() returns instead of holding the process forever.
TEST(TorqdLinks, ShouldAbandonRefusedSendsAndStopWhenTheTransmitQueueNeverDrains) {
  if (!nic::dpdk::available()) GTEST_SKIP() << "built without DPDK";
  ops::NicConfig n;
  n.present = true;
  n.backend = ops::NicBackend::dpdk;
  n.hugepages = "none";
  n.eal_memory_mb = 256;
  n.tx_device = "net_ring0";
  n.tx_src_ip = "127.0.0.1";
  n.tx_dst_mac = "02:00:00:00:00:01";
  Ring in("stuck-tx", 1 << 22);
  LinkEgress eg("market_data", {udp(free_udp_port())}, 1, in.consumer(), &n, 1'000'000'000);
  ASSERT_NE(eg.describe().find("dpdk net_ring0"), std::string::npos) << eg.describe();
  constexpr std::uint64_t kFrames = 3000;
  for (std::uint64_t i = 1; i <= kFrames; ++i) {
    const auto f = frame(protocol::RelayDomain::MarketData, i, static_cast<std::uint32_t>(i));
    ASSERT_EQ(in.pub.try_publish(f), mycelium::PublishResult::ok);
  }
  std::atomic<bool> stop{false};
  std::atomic<bool> returned{false};
  std::thread t([&] {
    eg.run(stop, -1, IdleKind::spin);
    returned.store(true);
  });
  const auto full_by = std::chrono::steady_clock::now() + 5s;
  while (eg.stats().would_block.load() == 0 && std::chrono::steady_clock::now() < full_by) std::this_thread::sleep_for(1ms);
  ASSERT_GT(eg.stats().would_block.load(), 0u) << "the transmit queue never filled";
  std::this_thread::sleep_for(300ms);  // longer than kStopGiveUpNs: still retrying, nothing given up
  EXPECT_FALSE(returned.load());
  EXPECT_EQ(eg.stats().abandoned.load(), 0u) << "a send was given up before the stop request";
  const auto stop_at = std::chrono::steady_clock::now();
  stop.store(true);
  while (!returned.load() && std::chrono::steady_clock::now() < stop_at + 5s) std::this_thread::sleep_for(1ms);
  if (!returned.load()) {
    ADD_FAILURE() << "run() did not return within 5 s of the stop request";
    t.detach();
    std::fflush(nullptr);
    std::_Exit(1);  // the egress thread is stuck: nothing else in this process can end cleanly
  }
  t.join();
  const LinkEgressStats& st = eg.stats();
  EXPECT_LT(std::chrono::steady_clock::now() - stop_at, 2s);
  EXPECT_EQ(st.frames.load(), kFrames) << "the ring was drained";
  EXPECT_GT(st.abandoned.load(), 0u);
  EXPECT_GT(st.datagrams.load(), 0u);
  EXPECT_EQ(st.datagrams.load() + st.abandoned.load(), st.frames.load() + st.heartbeats.load())
      << "every frame and heartbeat either sent or abandoned, once";
}

TEST(TorqdLinks, ShouldResendALostTailThatOnlyAHeartbeatReveals) {
  ResendLink l("2", 64, 2'000'000);  // a heartbeat every 2 ms
  l.hop.once = {29, 30};              // the last two frames: nothing after them shows the hole
  l.publish(1, 30);
  EXPECT_EQ(l.run(30), iota(1, 30));
  EXPECT_EQ(l.in.stats().gaps.load(), 0u);
  EXPECT_EQ(l.in.stats().late.load(), 2u);
  EXPECT_GE(l.eg.stats().frames_resent.load(), 2u);
}

TEST(TorqdLinks, ShouldFallBackToSnapshotsWhenAResendCannotFillTheHole) {
  ResendLink l("3", 64);
  l.hop.always = {7};  // lost every time, resends included
  l.publish(1, 20);
  std::vector<std::uint32_t> want = iota(1, 20);
  want.erase(want.begin() + 6);
  EXPECT_EQ(l.run(19), want) << "the frames behind the hole are delivered once it times out";
  EXPECT_TRUE(l.run(0, 50ms).empty()) << "nothing more";
  EXPECT_EQ(l.in.stats().gaps.load(), 1u);
  EXPECT_EQ(l.in.stats().missing.load(), 1u);
  EXPECT_GE(l.eg.stats().frames_resent.load(), 1u) << "the source did resend (the hop lost it again)";
  EXPECT_GE(l.in.stats().resend_requests_sent.load(), 1u);
  EXPECT_EQ(l.snapshots_asked.load(), 1) << "the gap asks for snapshots";
}

TEST(TorqdLinks, ShouldCountResendsThatTheHistoryNoLongerHolds) {
  ResendLink l("4", 8);
  l.publish(1, 40);
  EXPECT_EQ(l.run(40), iota(1, 40));
  // A request from another receiver for frames 1..40: only the last 8 are still held.
  l.ask_resend(1, 40);
  EXPECT_TRUE(l.run(0, 50ms).empty()) << "the resent copies are not delivered again";
  EXPECT_EQ(l.eg.stats().resend_requests.load(), 1u);
  EXPECT_EQ(l.eg.stats().frames_resent.load(), 8u);
  EXPECT_EQ(l.eg.stats().resend_unavailable.load(), 32u);
  EXPECT_EQ(l.in.stats().delivered.load(), 40u);
  EXPECT_GE(l.in.stats().duplicates.load(), 8u);
}

TEST(TorqdLinks, ShouldRefuseResendsBeyondTheBudget) {
  ResendLimits limits;
  limits.burst = 8;
  limits.per_second = 1;  // no refill within the test
  ResendLink l("5", 64, 100'000'000, limits);
  l.publish(1, 30);
  EXPECT_EQ(l.run(30), iota(1, 30));
  l.ask_resend(1, 20);  // all held
  EXPECT_TRUE(l.run(0, 50ms).empty());
  EXPECT_EQ(l.eg.stats().resend_requests.load(), 1u);
  EXPECT_EQ(l.eg.stats().frames_resent.load(), 8u) << "the budget";
  EXPECT_EQ(l.eg.stats().resend_refused.load(), 12u);
  EXPECT_EQ(l.eg.stats().resend_unavailable.load(), 0u);
  EXPECT_THROW(l.eg.listen_for_requests(udp(free_udp_port()), SnapshotRequestHook{}, 1, ResendLimits{.history_frames = 100}),
               std::invalid_argument)
      << "not a power of two";
}

// The budget refills at per_second whatever the request rhythm: requests every 1.5 frame-times
// earn 3 frames per 2 requests (before 2026-11-27 the half frame-time was dropped at each
// request, one frame per request: 2/3 of the configured rate).
TEST(TorqdLinks, ShouldRefillTheResendBudgetAtTheConfiguredRate) {
  ResendLimits limits;
  limits.burst = 10;
  limits.per_second = 1000;  // one frame per ms of the pump's clock (driven here, not real time)
  ResendLink l("7", 64, 100'000'000'000ull, limits);
  l.publish(1, 40);
  EXPECT_EQ(l.run(40), iota(1, 40));
  const std::uint64_t resent0 = l.eg.stats().frames_resent.load();
  const auto ask_and_pump = [&](std::uint64_t now_ns) {
    const std::uint64_t requests = l.eg.stats().resend_requests.load();
    l.ask_resend(1, 40);
    for (int i = 0; i < 2000 && l.eg.stats().resend_requests.load() == requests; ++i) {
      (void)l.eg.pump(now_ns);
      std::this_thread::sleep_for(100us);
    }
    ASSERT_EQ(l.eg.stats().resend_requests.load(), requests + 1) << "the request never arrived";
  };
  const std::uint64_t t0 = 1'000'000'000'000ull;
  ask_and_pump(t0);  // a full bucket: the burst
  EXPECT_EQ(l.eg.stats().frames_resent.load() - resent0, 10u);
  for (std::uint64_t k = 1; k <= 20; ++k) ask_and_pump(t0 + k * 1'500'000);  // 30 ms of refill
  EXPECT_EQ(l.eg.stats().frames_resent.load() - resent0, 10u + 30u) << "refilled below 1000 frames/s";
}

// A request frame may carry many ResendRequest TLVs (a 65 000-byte datagram holds ~2 500): the
// source serves at most kMaxResendCount frames per request frame however they are split, so one
// datagram cannot make the sending thread walk millions of history slots.
TEST(TorqdLinks, ShouldServeAtMostOneRequestsWorthOfFramesPerRequestFrame) {
  ResendLink l("6", 64);
  l.publish(1, 20);
  EXPECT_EQ(l.run(20), iota(1, 20));
  {
    auto req = mycelium::open_udp_publisher(mycelium::parse_transport_config(udp(l.req_port)));
    std::vector<std::byte> buf(protocol::kMaxFrameSize);
    protocol::FrameBuilder b(buf, protocol::RelayDomain::System, 12, 0);
    protocol::ResendRequest q{};
    q.from_sequence = 1'000'000;  // never sent: every frame asked for is unavailable
    q.count = LinkEgress::kMaxResendCount;
    q.source = 12;
    const std::size_t tlvs =
        (protocol::kMaxFrameSize - protocol::kHeaderSize) / (protocol::kStandardTlvHeader + sizeof q);
    ASSERT_GT(tlvs, 1000u);
    for (std::size_t i = 0; i < tlvs; ++i) ASSERT_TRUE(b.add(q));
    const auto f = b.finish(1, 1);
    ASSERT_FALSE(f.empty());
    ASSERT_EQ(req.try_publish(f), mycelium::PublishResult::ok);
  }
  EXPECT_TRUE(l.run(0, 50ms).empty());
  EXPECT_LE(l.eg.stats().resend_unavailable.load(), std::uint64_t{LinkEgress::kMaxResendCount});
  EXPECT_LE(l.eg.stats().resend_requests.load(), 1u);
  EXPECT_EQ(l.eg.stats().frames_resent.load(), 0u);
}

TEST(TorqdLinks, ShouldDropAndCountWhenTheLocalRingIsFull) {
  const std::uint16_t port = free_udp_port();
  Ring src("links-src-5"), dst("links-dst-5", 4096);
  LinkIngress in("market_data", nic_config_for(ops::NicConfig{}, udp(port), "", -1), dst.producer());
  LinkEgress eg("market_data", {udp(port)}, 12, src.consumer());
  for (std::uint32_t i = 1; i <= 200; ++i) ASSERT_EQ(src.producer().try_publish(frame(protocol::RelayDomain::MarketData, i, i)), ring::PublishResult::ok);
  for (int i = 0; i < 200; ++i) {
    (void)eg.pump(nic::monotonic_ns());
    (void)in.poll_once();
  }
  EXPECT_EQ(eg.stats().frames.load(), 200u);
  EXPECT_GT(in.stats().ring_full.load(), 0u);
  EXPECT_EQ(in.stats().delivered.load() + in.stats().ring_full.load(), 200u) << "every frame is either delivered or counted";
}

// Frames the receiver dropped because its own ring was full are lost to the book behind it, as
// a gap on the wire is: it asks the source for snapshots (before 2026-11-27 only wire gaps did).
TEST(TorqdLinks, ShouldAskForSnapshotsWhenItsOwnRingDroppedFrames) {
  const std::uint16_t port = free_udp_port(), req_port = free_udp_port();
  Ring src("links-src-6"), dst("links-dst-6", 4096);
  LinkIngress in("market_data", nic_config_for(ops::NicConfig{}, udp(port), "", -1), dst.producer());
  in.request_from(udp(req_port), 12);
  LinkEgress eg("market_data", {udp(port)}, 12, src.consumer());
  std::atomic<int> asked{0};
  eg.listen_for_requests(udp(req_port), SnapshotRequestHook{[](void* c) noexcept { static_cast<std::atomic<int>*>(c)->fetch_add(1); }, &asked},
                         1'000);
  for (std::uint32_t i = 1; i <= 200; ++i) ASSERT_EQ(src.producer().try_publish(frame(protocol::RelayDomain::MarketData, i, i)), ring::PublishResult::ok);
  for (int i = 0; i < 200; ++i) {  // nobody drains dst: it fills
    (void)eg.pump(nic::monotonic_ns());
    (void)in.poll_once();
  }
  ASSERT_GT(in.stats().ring_full.load(), 0u);
  ASSERT_GT(in.stats().delivered.load(), 0u);
  EXPECT_EQ(in.stats().gaps.load(), 0u) << "nothing was lost on the wire";
  const auto until = std::chrono::steady_clock::now() + 1300ms;  // past the receiver's 1 s repeat interval
  while (std::chrono::steady_clock::now() < until) {
    (void)eg.pump(nic::monotonic_ns());
    (void)in.poll_once();
    (void)dst.consumer().consume_burst([](std::span<const std::byte>) noexcept {}, 64);
  }
  EXPECT_EQ(in.stats().requests_sent.load(), 2u) << "join, then one for the dropped frames";
  EXPECT_EQ(asked.load(), 2);
}

TEST(TorqdLinks, ShouldBuildTheReceiverFromNicSectionOrFromTheLinkStrings) {
  EXPECT_THROW((void)nic_config_for(ops::NicConfig{}, "shm:/torq-md", "", -1), std::invalid_argument);
  const nic::NicConfig k = nic_config_for(ops::NicConfig{}, "udp://239.1.2.3:5001", "", 3);
  ASSERT_EQ(k.lines.size(), 1u);
  EXPECT_EQ(k.backend, nic::Backend::kernel);
  EXPECT_EQ(k.lines[0].dst_ip, nic::parse_ipv4("239.1.2.3")) << "a multicast group is joined";
  EXPECT_EQ(k.lines[0].dst_port, 5001);
  EXPECT_EQ(k.poll_cpu, 3);
  EXPECT_EQ(nic_config_for(ops::NicConfig{}, "udp://127.0.0.1:5001", "", -1).lines[0].dst_ip, 0u) << "unicast binds every address";

  ops::NicConfig n;
  n.present = true;
  n.backend = ops::NicBackend::dpdk;
  n.poll_core = 5;
  n.arbitrate = true;
  n.arbiter_timeout_us = 500;
  n.vdevs = {"net_tap0"};
  n.hugepages = "none";
  n.lines = {{"A", "10.0.0.1:5001", "", "net_tap0", 0}, {"B", "10.0.0.2:5002", "", "net_tap0", 1}};
  const nic::NicConfig d = nic_config_for(n, "udp://10.0.0.1:5001", "", -1);
  EXPECT_EQ(d.backend, nic::Backend::dpdk);
  EXPECT_EQ(d.poll_cpu, 5);
  EXPECT_EQ(d.eal.cores, "5") << "the EAL core list defaults to the poll core";
  EXPECT_EQ(d.eal.hugepages, nic::Hugepages::none);
  EXPECT_EQ(d.eal.vdevs, std::vector<std::string>{"net_tap0"});
  EXPECT_EQ(d.arbiter.timeout_ns, 500'000u);
  ASSERT_EQ(d.lines.size(), 2u);
  EXPECT_EQ(d.lines[1].dpdk_queue, 1);
  EXPECT_EQ(d.lines[1].dst_port, 5002);
  const auto args = nic::eal_arguments(d.eal, false);
  EXPECT_NE(std::find(args.begin(), args.end(), "--no-huge"), args.end());
}

}  // namespace
