// Implementation of torq/hw/tsc.hpp.
#include "torq/hw/tsc.hpp"

#include <cpuid.h>
#include <time.h>

#include <stdexcept>
#include <string>
#include <thread>

namespace torq::hw {
namespace {

__extension__ using u128 = unsigned __int128;

std::uint64_t clock_ns(clockid_t id) noexcept {
  timespec ts{};
  clock_gettime(id, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ULL + static_cast<std::uint64_t>(ts.tv_nsec);
}

struct Sample {
  std::uint64_t tsc;
  std::uint64_t ns;     // CLOCK_MONOTONIC_RAW
  std::uint64_t width;  // TSC cycles between the two clock reads bracketing the sample
};

// Reads TSC between two CLOCK_MONOTONIC_RAW reads, several times, and keeps the tightest bracket:
// a preemption or vDSO retry in one attempt only widens that attempt.
Sample bracketed_sample() noexcept {
  Sample best{0, 0, ~0ULL};
  for (int i = 0; i < 16; ++i) {
    const std::uint64_t t0 = rdtscp();
    const std::uint64_t n0 = clock_ns(CLOCK_MONOTONIC_RAW);
    const std::uint64_t t1 = rdtscp();
    const std::uint64_t n1 = clock_ns(CLOCK_MONOTONIC_RAW);
    const std::uint64_t t2 = rdtscp();
    (void)t2;
    // n0 was taken between t0 and t1, n1 between t1 and t2: pair t1 with the midpoint of n0, n1.
    const std::uint64_t width = t2 - t0;
    if (width < best.width) best = Sample{t1, n0 + (n1 - n0) / 2, width};
  }
  return best;
}

}  // namespace

bool tsc_invariant() noexcept {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (__get_cpuid(0x80000000u, &eax, &ebx, &ecx, &edx) == 0 || eax < 0x80000007u) return false;
  if (__get_cpuid(0x80000007u, &eax, &ebx, &ecx, &edx) == 0) return false;
  return (edx & (1u << 8)) != 0;
}

void TscClock::set_frequency(std::uint64_t hz) noexcept {
  hz_ = hz;
  // ns = cycles * 1e9 / hz = (cycles * mult) >> shift with mult = round(1e9 * 2^shift / hz).
  // Take the largest shift that keeps mult below 2^63: the most precision a 64-bit mult allows.
  unsigned shift = 0;
  std::uint64_t mult = 0;
  for (unsigned s = 63; s > 0; --s) {
    const u128 m = ((static_cast<u128>(1'000'000'000ULL) << s) + hz / 2) / hz;
    if (m < (static_cast<u128>(1) << 63)) {
      shift = s;
      mult = static_cast<std::uint64_t>(m);
      break;
    }
  }
  mult_ = mult;
  shift_ = shift;
}

TscClock TscClock::from_hz(std::uint64_t hz) noexcept {
  TscClock c;
  if (hz < 1'000'000ULL || hz > 100'000'000'000ULL) return c;
  c.invariant_ = tsc_invariant();
  c.set_frequency(hz);
  const Sample s = bracketed_sample();
  c.anchor_tsc_ = s.tsc;
  c.anchor_monotonic_ns_ = s.ns;
  c.anchor_realtime_ns_ = clock_ns(CLOCK_REALTIME);
  return c;
}

TscClock TscClock::calibrate(std::chrono::milliseconds window) {
  if (window < std::chrono::milliseconds(1))
    throw std::runtime_error("TscClock::calibrate: window must be at least 1 ms");
  // The realtime anchor is taken next to the first sample so now_ns() is epoch-based.
  const std::uint64_t rt0 = clock_ns(CLOCK_REALTIME);
  const Sample a = bracketed_sample();
  const std::uint64_t rt1 = clock_ns(CLOCK_REALTIME);
  std::this_thread::sleep_for(window);
  const Sample b = bracketed_sample();
  if (b.ns <= a.ns || b.tsc <= a.tsc)
    throw std::runtime_error("TscClock::calibrate: TSC or CLOCK_MONOTONIC_RAW did not advance");
  const std::uint64_t dns = b.ns - a.ns;
  const std::uint64_t dtsc = b.tsc - a.tsc;
  const u128 hz128 = (static_cast<u128>(dtsc) * 1'000'000'000ULL + dns / 2) / dns;
  if (hz128 < 1'000'000ULL || hz128 > 100'000'000'000ULL)
    throw std::runtime_error("TscClock::calibrate: implausible TSC frequency " +
                             std::to_string(static_cast<std::uint64_t>(hz128)) + " Hz");
  TscClock c;
  c.invariant_ = tsc_invariant();
  c.set_frequency(static_cast<std::uint64_t>(hz128));
  c.anchor_tsc_ = a.tsc;
  c.anchor_monotonic_ns_ = a.ns;
  c.anchor_realtime_ns_ = rt0 + (rt1 - rt0) / 2;
  return c;
}

}  // namespace torq::hw
