// Tests of the jitter measurement core: recorder, percentiles, histogram, summary, cyclictest parser.
#include <gtest/gtest.h>

#include <cstdint>
#include <numeric>
#include <vector>

#include "torq/tuning/jitter.hpp"

namespace torq::tuning {
namespace {

TEST(Log2Bucket, ShouldPlaceEachGapInItsPowerOfTwoBucket) {
  EXPECT_EQ(log2_bucket(0), 0u);
  EXPECT_EQ(log2_bucket(1), 0u);
  EXPECT_EQ(log2_bucket(2), 1u);
  EXPECT_EQ(log2_bucket(255), 7u);
  EXPECT_EQ(log2_bucket(256), 8u);
  EXPECT_EQ(log2_bucket(511), 8u);
  EXPECT_EQ(log2_bucket(UINT64_MAX), 63u);
}

TEST(Percentile, ShouldUseNearestRank) {
  std::vector<std::uint64_t> v(1000);
  std::iota(v.begin(), v.end(), 1);  // 1..1000
  EXPECT_EQ(percentile_nearest_rank(v.data(), v.size(), 0.50), 500u);
  EXPECT_EQ(percentile_nearest_rank(v.data(), v.size(), 0.99), 990u);
  EXPECT_EQ(percentile_nearest_rank(v.data(), v.size(), 0.999), 999u);
  EXPECT_EQ(percentile_nearest_rank(v.data(), v.size(), 1.0), 1000u);
  EXPECT_EQ(percentile_nearest_rank(v.data(), v.size(), 0.0), 1u);
}

TEST(Percentile, ShouldReturnZeroWhenThereAreNoGaps) {
  EXPECT_EQ(percentile_nearest_rank(nullptr, 0, 0.5), 0u);
}

TEST(Percentile, ShouldReturnTheOnlyValueForOneGap) {
  const std::uint64_t one = 42;
  EXPECT_EQ(percentile_nearest_rank(&one, 1, 0.5), 42u);
  EXPECT_EQ(percentile_nearest_rank(&one, 1, 0.999), 42u);
}

TEST(GapRecorder, ShouldKeepCountMaxAndHistogramWhenBufferIsFull) {
  GapRecorder rec(2);
  rec.record(300);
  rec.record(5000);
  rec.record(100000);  // not stored: buffer full
  EXPECT_EQ(rec.count(), 3u);
  EXPECT_EQ(rec.stored(), 2u);
  EXPECT_EQ(rec.dropped(), 1u);
  EXPECT_EQ(rec.max_ns(), 100000u);
  EXPECT_EQ(rec.lost_ns(), 105300u);
  const auto& h = rec.histogram();
  EXPECT_EQ(std::accumulate(h.begin(), h.end(), std::uint64_t{0}), 3u);
  EXPECT_EQ(h[log2_bucket(100000)], 1u);
}

TEST(Summarize, ShouldReportOrderedPercentilesAndTimeLost) {
  GapRecorder rec(1024);
  for (int i = 0; i < 998; ++i) rec.record(400);
  rec.record(20000);
  rec.record(1000000);
  const SpinResult spin{1'000'000, 100'000'000};  // 100 ms
  const CoreReport r = summarize(3, spin, 250, rec);
  EXPECT_EQ(r.cpu, 3);
  EXPECT_TRUE(r.pinned);
  EXPECT_EQ(r.count, 1000u);
  EXPECT_EQ(r.p50_ns, 400u);
  EXPECT_EQ(r.p99_ns, 400u);
  EXPECT_EQ(r.p999_ns, 20000u);
  EXPECT_EQ(r.max_ns, 1000000u);
  EXPECT_EQ(r.lost_ns, 998u * 400u + 20000u + 1000000u);
  EXPECT_NEAR(r.percent_lost, 100.0 * static_cast<double>(r.lost_ns) / 1e8, 1e-9);
  EXPECT_DOUBLE_EQ(r.mean_loop_ns, 100.0);
  ASSERT_EQ(r.histogram.size(), 3u);
  EXPECT_EQ(r.histogram[0].lo_ns, 256u);
  EXPECT_EQ(r.histogram[0].hi_ns, 512u);
  EXPECT_EQ(r.histogram[0].count, 998u);
  std::uint64_t total = 0;
  for (const auto& b : r.histogram) total += b.count;
  EXPECT_EQ(total, r.count);
}

TEST(Summarize, ShouldCapPercentLostAtOneHundred) {
  GapRecorder rec(4);
  rec.record(5'000'000);
  const CoreReport r = summarize(0, SpinResult{10, 1'000'000}, 250, rec);
  EXPECT_LE(r.percent_lost, 100.0);
}

TEST(SpinFor, ShouldRunForTheRequestedDurationAndOrderPercentiles) {
  const auto clock = hw::TscClock::from_hz(2'000'000'000);  // rate is irrelevant to ordering
  GapRecorder rec(1 << 16);
  const SpinResult spin = spin_for(clock, 5'000'000, 50, rec);  // 5 ms, low threshold: some gaps
  EXPECT_GT(spin.samples, 0u);
  EXPECT_GE(spin.elapsed_ns, 4'990'000u);  // mult/shift rounding
  const CoreReport r = summarize(0, spin, 50, rec);
  EXPECT_LE(r.p50_ns, r.p99_ns);
  EXPECT_LE(r.p99_ns, r.p999_ns);
  EXPECT_LE(r.p999_ns, r.max_ns);
  EXPECT_LE(r.count, spin.samples);
}

TEST(Cyclictest, ShouldParseEveryThreadSummaryLine) {
  const char* out =
      "# /dev/cpu_dma_latency set to 0us\n"
      "T: 0 (10480) P:95 I:200 C:    500 Min:     11 Act:   12 Avg:   13 Max:      41\n"
      "T: 1 (10481) P:95 I:200 C:    499 Min:      8 Act:    9 Avg:   10 Max:    1234\n";
  const auto t = parse_cyclictest_summary(out);
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[0].thread, 0);
  EXPECT_EQ(t[0].priority, 95);
  EXPECT_EQ(t[0].interval_us, 200u);
  EXPECT_EQ(t[0].cycles, 500u);
  EXPECT_EQ(t[0].min_us, 11u);
  EXPECT_EQ(t[0].act_us, 12u);
  EXPECT_EQ(t[0].avg_us, 13u);
  EXPECT_EQ(t[0].max_us, 41u);
  EXPECT_EQ(t[1].thread, 1);
  EXPECT_EQ(t[1].max_us, 1234u);
}

TEST(Cyclictest, ShouldIgnoreErrorsAndTruncatedLines) {
  const auto t = parse_cyclictest_summary(
      "Unable to change scheduling policy!\nT: 0 (10480) P:95 I:200 C:    500 Min:\n\n");
  EXPECT_TRUE(t.empty());
}

// Follows next() from line 0 until it returns there; the lines seen, in order.
std::vector<std::size_t> chain_order(const LineChain& c) {
  std::vector<std::size_t> seen;
  std::size_t i = 0;
  do {
    seen.push_back(i);
    i = c.next(i);
  } while (i != 0 && seen.size() <= c.lines());
  return seen;
}

TEST(LineChain, ShouldVisitEveryLineOnceInOneCycle) {
  for (const std::size_t bytes : {std::size_t{1}, std::size_t{64}, std::size_t{130}, std::size_t{64'000}}) {
    const LineChain c(bytes, 7);
    EXPECT_EQ(c.lines(), (bytes + 63) / 64) << bytes;
    const auto seen = chain_order(c);
    ASSERT_EQ(seen.size(), c.lines()) << bytes;  // back at 0 after exactly lines() steps
    std::vector<bool> hit(c.lines(), false);
    for (const std::size_t i : seen) {
      ASSERT_LT(i, c.lines());
      EXPECT_FALSE(hit[i]) << "line " << i << " visited twice";
      hit[i] = true;
    }
    EXPECT_EQ(c.walk(), c.lines()) << bytes;
  }
  EXPECT_EQ(LineChain(0, 1).lines(), 1u);  // at least one line
}

TEST(LineChain, ShouldOrderTheLinesAtRandomSoThatPrefetchersCannotFollow) {
  const LineChain a(1000 * 64, 1), b(1000 * 64, 2);
  std::size_t sequential = 0, same = 0;
  for (std::size_t i = 0; i < a.lines(); ++i) {
    sequential += a.next(i) == (i + 1) % a.lines() ? 1 : 0;
    same += a.next(i) == b.next(i) ? 1 : 0;
  }
  EXPECT_LT(sequential, 20u);  // a shuffle of 999 lines has about one
  EXPECT_LT(same, 20u);        // seeds give different orders
}

TEST(Retention, ShouldReportOnePointPerIdleSpellInOrderWithTheFirstAsBaseline) {
  const auto clock = hw::TscClock::from_hz(2'000'000'000);  // the rate only scales the idle spells
  const LineChain chain(16 * 1024, 3);
  const std::vector<std::uint64_t> idle_ns{0, 20'000, 1'000};
  const auto pts = measure_retention(clock, chain, idle_ns, 25);
  ASSERT_EQ(pts.size(), 3u);
  for (std::size_t k = 0; k < pts.size(); ++k) {
    EXPECT_EQ(pts[k].idle_ns, idle_ns[k]);
    EXPECT_EQ(pts[k].walks, 25u);
    EXPECT_GT(pts[k].p50_walk_ns, 0u);
    EXPECT_LE(pts[k].p50_walk_ns, pts[k].p90_walk_ns);
    EXPECT_DOUBLE_EQ(pts[k].p50_ns_per_line, static_cast<double>(pts[k].p50_walk_ns) / 256.0);
    EXPECT_DOUBLE_EQ(pts[k].ratio, static_cast<double>(pts[k].p50_walk_ns) / static_cast<double>(pts[0].p50_walk_ns));
  }
  EXPECT_DOUBLE_EQ(pts[0].ratio, 1.0);
}

}  // namespace
}  // namespace torq::tuning
