// Tests of torq/hw/tsc.hpp: the integer conversion and the calibration against CLOCK_MONOTONIC_RAW.
#include "torq/hw/tsc.hpp"

#include <gtest/gtest.h>
#include <time.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <stdexcept>
#include <string>
#include <thread>

#include "torq/hw/affinity.hpp"

namespace torq::hw {
namespace {

std::uint64_t clock_ns(clockid_t id) {
  timespec ts{};
  clock_gettime(id, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ULL + static_cast<std::uint64_t>(ts.tv_nsec);
}

TEST(TscClock, ShouldConvertOneSecondOfCyclesToOneBillionNs) {
  for (std::uint64_t hz : {1'000'000ULL, 999'999'937ULL, 1'000'000'000ULL, 2'596'130'000ULL, 3'000'000'001ULL, 5'700'000'000ULL}) {
    const TscClock c = TscClock::from_hz(hz);
    ASSERT_EQ(c.hz(), hz);
    EXPECT_EQ(c.to_ns(0), 0u);
    const std::uint64_t one_s = c.to_ns(hz);
    EXPECT_LE(one_s > 1'000'000'000ULL ? one_s - 1'000'000'000ULL : 1'000'000'000ULL - one_s, 1u) << hz;
    const std::uint64_t ten_min = c.to_ns(hz * 600);
    EXPECT_LE(std::llabs(static_cast<long long>(ten_min) - 600'000'000'000LL), 2) << hz;
  }
}

TEST(TscClock, ShouldNotOverflowForTheLargestCycleCount) {
  const TscClock c = TscClock::from_hz(3'000'000'000ULL);
  const long double expected = static_cast<long double>(std::numeric_limits<std::uint64_t>::max()) / 3.0L;
  const long double got = static_cast<long double>(c.to_ns(std::numeric_limits<std::uint64_t>::max()));
  EXPECT_LT(std::fabs(static_cast<double>((got - expected) / expected)), 1e-9);
}

TEST(TscClock, ShouldBeMonotonicInCycles) {
  const TscClock c = TscClock::from_hz(2'345'678'901ULL);
  std::uint64_t prev = 0;
  for (std::uint64_t cyc = 0; cyc < 100'000; cyc += 7) {
    const std::uint64_t ns = c.to_ns(cyc);
    ASSERT_GE(ns, prev);
    prev = ns;
  }
}

TEST(TscClock, ShouldRejectImplausibleFrequencies) {
  EXPECT_EQ(TscClock::from_hz(0).hz(), 0u);
  EXPECT_EQ(TscClock::from_hz(999'999).hz(), 0u);
  EXPECT_EQ(TscClock::from_hz(200'000'000'000ULL).hz(), 0u);
  EXPECT_EQ(TscClock{}.to_ns(12345), 0u);
  EXPECT_THROW((void)TscClock::calibrate(std::chrono::milliseconds(0)), std::runtime_error);
}

// Correctness of the calibration (not a latency measurement): over ~50 ms, TSC time must agree
// with CLOCK_MONOTONIC_RAW within a generous 5 %.
TEST(TscClock, ShouldAgreeWithMonotonicRawAfterCalibration) {
  std::thread([] {
    (void)pin_current_thread(current_cpu());  // one core: no cross-core TSC skew
    const TscClock c = TscClock::calibrate(std::chrono::milliseconds(50));
    ASSERT_GT(c.hz(), 100'000'000u);
    const std::uint64_t t0 = rdtscp();
    const std::uint64_t m0 = clock_ns(CLOCK_MONOTONIC_RAW);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    const std::uint64_t t1 = rdtscp();
    const std::uint64_t m1 = clock_ns(CLOCK_MONOTONIC_RAW);
    const double tsc_ns = static_cast<double>(c.to_ns(t1 - t0));
    const double raw_ns = static_cast<double>(m1 - m0);
    EXPECT_NEAR(tsc_ns / raw_ns, 1.0, 0.05) << "tsc " << tsc_ns << " ns vs raw " << raw_ns << " ns";
    // The absolute mapping too: monotonic_raw_ns(tsc) tracks the clock.
    EXPECT_NEAR(static_cast<double>(c.monotonic_raw_ns(t1)), static_cast<double>(m1), 0.05 * raw_ns + 1e6);
  }).join();
}

TEST(TscClock, ShouldAnchorNowToTheRealtimeEpoch) {
  const TscClock c = TscClock::calibrate(std::chrono::milliseconds(10));
  const std::uint64_t rt = clock_ns(CLOCK_REALTIME);
  const std::uint64_t now = c.now_ns();
  // Generous: the realtime clock may be slewed by NTP; a broken anchor is off by years.
  EXPECT_NEAR(static_cast<double>(now), static_cast<double>(rt), 50e6);
  EXPECT_GT(now, 1'600'000'000'000'000'000ULL);  // after 2020
}

TEST(TscClock, ShouldReportInvariantTscLikeTheKernel) {
  const TscClock c = TscClock::from_hz(1'000'000'000ULL);
  EXPECT_EQ(c.invariant(), tsc_invariant());
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("flags", 0) != 0) continue;
    // Linux sets nonstop_tsc from the same CPUID bit (0x80000007 EDX[8]).
    if (tsc_invariant()) {
      EXPECT_NE(line.find(" nonstop_tsc"), std::string::npos);
    }
    return;
  }
  GTEST_SKIP() << "no flags line in /proc/cpuinfo";
}

TEST(TscClock, ShouldReadANonDecreasingCounterOnOneCpu) {
  std::thread([] {
    (void)pin_current_thread(current_cpu());
    std::uint64_t prev = rdtscp();
    for (int i = 0; i < 1000; ++i) {
      const std::uint64_t now = (i % 2) ? rdtsc() : rdtscp();
      ASSERT_GE(now, prev);
      prev = now;
    }
  }).join();
}

}  // namespace
}  // namespace torq::hw
