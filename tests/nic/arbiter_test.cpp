// A/B line arbitration.
#include "torq/nic/arbiter.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <vector>

#include "helpers.hpp"
#include "torq/nic/pcap.hpp"

namespace torq::nic {
namespace {

using test::CollectSink;

struct Feed {
  std::vector<std::vector<std::byte>> frames;  // index = seq - 1
  explicit Feed(std::size_t n, std::uint8_t source = 1) {
    for (std::size_t i = 0; i < n; ++i) frames.push_back(make_feed_frame(source, i + 1));
  }
  static protocol::FrameHeader header(const std::vector<std::byte>& f) {
    protocol::FrameHeader h;
    std::memcpy(&h, f.data(), sizeof h);
    return h;
  }
};

void offer(LineArbiter<CollectSink>& a, std::size_t line, const std::vector<std::byte>& f, std::uint64_t now = 0) {
  a.on_frame(line, f, Feed::header(f), now);
}

TEST(LineArbiter, ShouldLoseNothingWhenLinesMissDisjointTenPercent) {
  constexpr std::size_t kN = 20000;
  Feed feed(kN);
  CollectSink sink;
  LineArbiter<CollectSink> arb(ArbiterConfig{}, sink);
  // Interleave the lines with B lagging a few frames, as two real feeds would.
  auto a_has = [](std::uint64_t s) { return s % 10 != 3; };
  auto b_has = [](std::uint64_t s) { return s % 10 != 7; };
  constexpr std::size_t kLag = 5;
  for (std::size_t i = 0; i < kN + kLag; ++i) {
    if (i < kN && a_has(i + 1)) offer(arb, 0, feed.frames[i]);
    if (i >= kLag && b_has(i - kLag + 1)) offer(arb, 1, feed.frames[i - kLag]);
  }
  EXPECT_EQ(arb.counters().gaps, 0u);
  EXPECT_EQ(arb.counters().missing, 0u);
  EXPECT_EQ(arb.counters().delivered, kN);
  EXPECT_TRUE(sink.exactly_in_order(1, 1, kN));
  EXPECT_EQ(sink.corrupt, 0u);
  // Every frame seen twice except the 20% seen once: the second copies are duplicates.
  EXPECT_EQ(arb.counters().duplicates, kN - kN / 5);
  EXPECT_GT(arb.counters().first_from[1], 0u);  // B filled A's holes
  EXPECT_EQ(arb.free_slots(), arb.config().slots);
}

TEST(LineArbiter, ShouldDeclareGapWhenBothLinesMissAFrameAndWindowPasses) {
  Feed feed(100);
  CollectSink sink;
  ArbiterConfig cfg;
  cfg.window = 8;
  LineArbiter<CollectSink> arb(cfg, sink);
  for (std::size_t i = 0; i < 100; ++i) {
    if (i + 1 == 20 || i + 1 == 21) continue;  // lost on both lines
    offer(arb, 0, feed.frames[i]);
    offer(arb, 1, feed.frames[i]);
  }
  arb.flush();
  EXPECT_EQ(arb.counters().gaps, 1u);
  EXPECT_EQ(arb.counters().missing, 2u);
  EXPECT_EQ(arb.counters().delivered, 98u);
  std::uint64_t prev = 0;
  for (const auto& it : sink.items) {
    EXPECT_GT(it.seq, prev);  // strictly increasing: order kept, nothing twice
    prev = it.seq;
  }
}

TEST(LineArbiter, ShouldWaitForOtherLineWithinWindowThenDeliverInOrder) {
  Feed feed(10);
  CollectSink sink;
  LineArbiter<CollectSink> arb(ArbiterConfig{}, sink);
  offer(arb, 0, feed.frames[0]);
  offer(arb, 0, feed.frames[2]);  // 2 missing on A: 3 waits
  offer(arb, 0, feed.frames[3]);
  EXPECT_EQ(sink.items.size(), 1u);
  EXPECT_EQ(arb.pending(1), 2u);
  offer(arb, 1, feed.frames[1]);  // B brings 2
  ASSERT_EQ(sink.items.size(), 4u);
  EXPECT_TRUE(sink.exactly_in_order(1, 1, 4));
  EXPECT_EQ(arb.counters().gaps, 0u);
}

TEST(LineArbiter, ShouldDeclareGapWhenHoleOutlivesTimeout) {
  Feed feed(5);
  CollectSink sink;
  ArbiterConfig cfg;
  cfg.timeout_ns = 1000;
  LineArbiter<CollectSink> arb(cfg, sink);
  offer(arb, 0, feed.frames[0], 100);
  offer(arb, 0, feed.frames[2], 200);  // 2 missing everywhere
  arb.expire(1100);                    // hole 900 ns old: keep waiting
  EXPECT_EQ(sink.items.size(), 1u);
  arb.expire(1200);
  ASSERT_EQ(sink.items.size(), 2u);
  EXPECT_EQ(sink.items[1].seq, 3u);
  EXPECT_EQ(arb.counters().gaps, 1u);
  EXPECT_EQ(arb.counters().timeouts, 1u);
  offer(arb, 1, feed.frames[1], 1300);  // the lost frame turns up after all: too late, dropped
  EXPECT_EQ(sink.items.size(), 2u);
  EXPECT_EQ(arb.counters().duplicates, 1u);
}

TEST(LineArbiter, ShouldForceDeliveryWhenSlotsRunOut) {
  Feed feed(10);
  CollectSink sink;
  ArbiterConfig cfg;
  cfg.slots = 2;
  LineArbiter<CollectSink> arb(cfg, sink);
  offer(arb, 0, feed.frames[0]);
  for (std::size_t i = 2; i < 6; ++i) offer(arb, 0, feed.frames[i]);  // 2 is missing; 3,4 buffered; 5 overflows
  EXPECT_EQ(arb.counters().overflows, 1u);
  EXPECT_EQ(arb.counters().missing, 1u);
  std::vector<std::uint64_t> seqs;
  for (const auto& it : sink.items) seqs.push_back(it.seq);
  EXPECT_EQ(seqs, (std::vector<std::uint64_t>{1, 3, 4, 5, 6}));
}

TEST(LineArbiter, ShouldKeepSourcesIndependent) {
  Feed f1(3, 1), f2(3, 2);
  CollectSink sink;
  LineArbiter<CollectSink> arb(ArbiterConfig{}, sink);
  offer(arb, 0, f1.frames[0]);
  offer(arb, 0, f2.frames[0]);
  offer(arb, 0, f2.frames[2]);  // source 2 waits for 2
  offer(arb, 0, f1.frames[1]);  // source 1 unaffected
  EXPECT_EQ(sink.items.size(), 3u);
  offer(arb, 1, f2.frames[1]);
  EXPECT_TRUE(sink.exactly_in_order(2, 1, 3));
}

TEST(LineArbiter, ShouldDeliverEachHeartbeatOnce) {
  CollectSink sink;
  LineArbiter<CollectSink> arb(ArbiterConfig{}, sink);
  std::vector<std::byte> buf(256);
  protocol::FrameBuilder b(buf, protocol::RelayDomain::System, 9);
  ASSERT_TRUE(b.add(protocol::Heartbeat{5, 0, 1, 0}));
  const auto f = b.finish(0, 123);
  protocol::FrameHeader h;
  std::memcpy(&h, f.data(), sizeof h);
  const protocol::Heartbeat hb{5, 0, 1, 0};
  arb.on_heartbeat(0, f, h, hb, 0);
  arb.on_heartbeat(1, f, h, hb, 0);
  EXPECT_EQ(sink.items.size(), 1u);
  EXPECT_EQ(arb.counters().heartbeats, 1u);
  EXPECT_EQ(arb.counters().duplicates, 1u);
}

// A heartbeat of `source`: epoch, last data sequence sent, timestamp (the frame header's).
struct Hb {
  std::vector<std::byte> frame;
  protocol::FrameHeader h;
  protocol::Heartbeat hb;
  Hb(std::uint8_t source, std::uint32_t epoch, std::uint64_t last_sequence, std::uint64_t ts) : hb{ts, last_sequence, epoch, 0} {
    std::vector<std::byte> buf(256);
    protocol::FrameBuilder b(buf, protocol::RelayDomain::System, source);
    EXPECT_TRUE(b.add(hb));
    const auto f = b.finish(0, ts);
    frame.assign(f.begin(), f.end());
    std::memcpy(&h, frame.data(), sizeof h);
  }
  void offer(LineArbiter<CollectSink>& a, std::uint64_t now = 0) const { a.on_heartbeat(0, frame, h, hb, now); }
};

using Hole = std::array<std::uint64_t, 3>;  // source, from, count
std::vector<Hole> holes_of(const LineArbiter<CollectSink>& a) {
  std::vector<Hole> v;
  a.holes([&](std::uint8_t s, std::uint64_t from, std::uint64_t count, std::uint64_t) { v.push_back({s, from, count}); });
  return v;
}

TEST(LineArbiter, ShouldListEveryOpenHoleAndCountTheFramesThatFillThemLate) {
  Feed feed(10);
  CollectSink sink;
  LineArbiter<CollectSink> arb(ArbiterConfig{}, sink);
  for (const std::size_t i : {0, 1, 3, 6, 7, 9}) offer(arb, 0, feed.frames[i]);  // 3, 5-6 and 9 missing
  EXPECT_TRUE(arb.has_holes());
  EXPECT_EQ(holes_of(arb), (std::vector<Hole>{{1, 3, 1}, {1, 5, 2}, {1, 9, 1}}));
  offer(arb, 0, feed.frames[2]);  // 3 resent: 3 and 4 delivered
  EXPECT_EQ(holes_of(arb), (std::vector<Hole>{{1, 5, 2}, {1, 9, 1}}));
  for (const std::size_t i : {4, 5, 8}) offer(arb, 0, feed.frames[i]);
  EXPECT_FALSE(arb.has_holes());
  EXPECT_TRUE(holes_of(arb).empty());
  EXPECT_TRUE(sink.exactly_in_order(1, 1, 10));
  EXPECT_EQ(arb.counters().late, 4u);
  EXPECT_EQ(arb.counters().gaps, 0u);
  EXPECT_EQ(arb.free_slots(), arb.config().slots);
}

TEST(LineArbiter, ShouldOpenATailHoleFromAHeartbeatAndDeclareItLostAfterTheTimeout) {
  Feed feed(8);
  CollectSink sink;
  ArbiterConfig cfg;
  cfg.timeout_ns = 1000;
  LineArbiter<CollectSink> arb(cfg, sink);
  for (std::size_t i = 0; i < 3; ++i) offer(arb, 0, feed.frames[i], 10);
  EXPECT_FALSE(arb.has_holes());
  Hb(1, 7, 5, 50).offer(arb, 100);  // frames 4 and 5 were sent; none after them arrived
  EXPECT_EQ(holes_of(arb), (std::vector<Hole>{{1, 4, 2}}));
  arb.expire(1099);
  EXPECT_EQ(arb.counters().gaps, 0u);
  offer(arb, 0, feed.frames[3], 1099);  // 4 resent: the hole shrinks and its clock restarts
  EXPECT_EQ(holes_of(arb), (std::vector<Hole>{{1, 5, 1}}));
  arb.expire(2000);
  EXPECT_EQ(arb.counters().gaps, 0u);
  arb.expire(2099);
  EXPECT_FALSE(arb.has_holes());
  EXPECT_EQ(arb.counters().gaps, 1u);
  EXPECT_EQ(arb.counters().missing, 1u);
  offer(arb, 0, feed.frames[5], 2100);  // 6 continues the stream
  EXPECT_EQ(sink.items.back().seq, 6u);
  EXPECT_EQ(arb.expected(1), 7u);
}

TEST(LineArbiter, ShouldRestartASourceWhoseHeartbeatCarriesANewEpoch) {
  Feed feed(8);
  CollectSink sink;
  LineArbiter<CollectSink> arb(ArbiterConfig{}, sink);
  Hb(1, 7, 0, 10).offer(arb);
  for (std::size_t i = 0; i < 5; ++i) offer(arb, 0, feed.frames[i]);
  offer(arb, 0, feed.frames[6]);  // 7 waits for 6
  ASSERT_EQ(arb.pending(1), 1u);
  Hb(1, 8, 0, 20).offer(arb);  // restarted: numbering from 1 again
  EXPECT_EQ(arb.counters().restarts, 1u);
  EXPECT_EQ(arb.counters().gaps, 1u) << "the old epoch's hole (6) is lost";
  EXPECT_EQ(arb.pending(1), 0u);
  ASSERT_EQ(sink.items.size(), 1u + 6u + 1u);  // heartbeat, 1-5, 7 (the restart's heartbeat is the last item)
  for (std::size_t i = 0; i < 2; ++i) offer(arb, 0, feed.frames[i]);
  EXPECT_EQ(sink.items.back().seq, 2u) << "the new epoch's frames are not duplicates";
  EXPECT_EQ(arb.expected(1), 3u);
  const std::uint64_t dups = arb.counters().duplicates;
  Hb(1, 7, 5, 30).offer(arb);  // the old epoch, late on another line: ignored
  EXPECT_EQ(arb.counters().restarts, 1u);
  EXPECT_EQ(arb.counters().duplicates, dups + 1);
  EXPECT_EQ(arb.expected(1), 3u);
}

// A restart whose epoch (start time in ms, cut to 32 bits) wrapped below the old one is still a
// restart; only the previous epoch's late heartbeat is ignored.
TEST(LineArbiter, ShouldRestartASourceWhoseNewEpochWrappedBelowTheOldOne) {
  Feed feed(8);
  CollectSink sink;
  LineArbiter<CollectSink> arb(ArbiterConfig{}, sink);
  const std::uint32_t e0 = 3'500'000'000u;
  const auto e1 = static_cast<std::uint32_t>(std::uint64_t{e0} + 30ull * 86'400'000ull);
  ASSERT_LT(e1, e0);
  Hb(1, e0, 0, 10).offer(arb);
  for (std::size_t i = 0; i < 5; ++i) offer(arb, 0, feed.frames[i]);
  Hb(1, e1, 0, 20).offer(arb);  // restarted 30 days later: numbering from 1 again
  EXPECT_EQ(arb.counters().restarts, 1u);
  for (std::size_t i = 0; i < 2; ++i) offer(arb, 0, feed.frames[i]);
  EXPECT_EQ(sink.items.back().seq, 2u) << "the restarted source's frames are taken for duplicates";
  EXPECT_EQ(arb.expected(1), 3u);
  const std::uint64_t dups = arb.counters().duplicates;
  Hb(1, e0, 5, 30).offer(arb);  // the previous epoch, late on another line: ignored
  EXPECT_EQ(arb.counters().restarts, 1u);
  EXPECT_EQ(arb.counters().duplicates, dups + 1);
  EXPECT_EQ(arb.expected(1), 3u);
}

TEST(LineArbiter, ShouldRejectBadWindowAtConstruction) {
  CollectSink sink;
  ArbiterConfig cfg;
  cfg.window = 100;
  EXPECT_THROW((LineArbiter<CollectSink>(cfg, sink)), std::invalid_argument);
}

}  // namespace
}  // namespace torq::nic
