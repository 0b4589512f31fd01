// The benchmarks' latency harness (bench/common/torq/bench/latency.hpp): nearest-rank
// percentiles, capacity, and cross-core intervals whose end stamp reads below the start.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "torq/bench/latency.hpp"
#include "torq/hw/tsc.hpp"

namespace torq::bench {
namespace {

const hw::TscClock kGhz = hw::TscClock::from_hz(1'000'000'000);  // 1 cycle = 1 ns

TEST(LatencyHarness, NearestRankPercentilesAndCapacity) {
  LatencyRecorder rec(1000);
  for (std::uint64_t v = 1000; v >= 1; --v) rec.record(v);  // any order
  rec.record(5);                                             // over capacity
  const LatencySummary s = rec.summarize(kGhz);
  EXPECT_EQ(s.count, 1000U);
  EXPECT_EQ(s.dropped, 1U);
  EXPECT_EQ(s.negative_intervals, 0U);
  EXPECT_DOUBLE_EQ(s.min_ns, 1);
  EXPECT_DOUBLE_EQ(s.p50_ns, 500);
  EXPECT_DOUBLE_EQ(s.p99_ns, 990);
  EXPECT_DOUBLE_EQ(s.p999_ns, 999);
  EXPECT_DOUBLE_EQ(s.max_ns, 1000);
}

// Two cores' stamps can disagree by a few cycles (a TSC offset between vCPUs, or an end read
// issued before the data it times): such an interval must not become a 2^64-cycle sample that
// turns p99.9 and the mean into 1.8e19 ns.
TEST(LatencyHarness, NegativeCrossCoreIntervalIsCountedNotWrapped) {
  LatencyRecorder rec(100);
  for (std::uint64_t i = 0; i < 98; ++i) rec.record_interval(1'000'000, 1'000'100);
  rec.record_interval(1'000'000, 999'990);  // end 10 cycles before start
  rec.record_interval(5, 5);                // zero is a valid interval, not a negative one
  const LatencySummary s = rec.summarize(kGhz);
  EXPECT_EQ(s.count, 100U);
  EXPECT_EQ(s.negative_intervals, 1U);
  EXPECT_DOUBLE_EQ(s.min_ns, 0);
  EXPECT_DOUBLE_EQ(s.max_ns, 100);
  EXPECT_DOUBLE_EQ(s.p999_ns, 100);
  EXPECT_LT(s.mean_ns, 100.0);
  const std::string json = to_json(s).str();
  EXPECT_NE(json.find("\"negative_intervals\":1"), std::string::npos) << json;
  rec.reset();
  EXPECT_EQ(rec.summarize(kGhz).negative_intervals, 0U);
}

}  // namespace
}  // namespace torq::bench
