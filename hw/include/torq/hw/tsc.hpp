// torq/hw/tsc.hpp — the x86 time-stamp counter as a clock.
//
// Owns: rdtsc()/rdtscp() reads, the invariant-TSC check (CPUID 0x80000007 EDX bit 8), and
// TscClock: a TSC frequency calibrated against CLOCK_MONOTONIC_RAW, turned into a 64-bit
// multiplier and shift so that to_ns() is one 64x64->128 multiply and a shift (no floating point,
// no division, no syscall), plus a CLOCK_REALTIME anchor so now_ns() yields ns since the epoch.
// Thread-safety: TscClock is immutable after calibrate(); share it by value or const reference
// between any number of threads. TSC values taken on different cores are only comparable when the
// TSC is invariant and synchronised (check invariant() at start-up).
// Allocation: none. calibrate() sleeps for the window (start-up only) and throws
// std::runtime_error if the measurement is unusable; everything else is noexcept.
#pragma once

#include <chrono>
#include <cstdint>
#include <type_traits>

#include <x86intrin.h>

namespace torq::hw {

// Raw TSC read without any fence: cheapest, may be reordered with surrounding loads.
[[nodiscard]] inline std::uint64_t rdtsc() noexcept { return __rdtsc(); }

// RDTSCP: waits until all previous instructions have executed before reading (serialising
// with respect to earlier instructions), and also returns IA32_TSC_AUX (cpu/node id on Linux).
[[nodiscard]] inline std::uint64_t rdtscp() noexcept {
  unsigned aux;
  return __rdtscp(&aux);
}
[[nodiscard]] inline std::uint64_t rdtscp(unsigned& aux) noexcept { return __rdtscp(&aux); }

// CPUID 0x80000007 EDX bit 8: the TSC ticks at a constant rate in all P-/C-states.
[[nodiscard]] bool tsc_invariant() noexcept;

class TscClock {
 public:
  // Default: an unusable clock (hz() == 0, to_ns() == 0). Use calibrate() or from_hz().
  constexpr TscClock() noexcept = default;

  // Measures the TSC against CLOCK_MONOTONIC_RAW over `window` (sleeping), with each end point
  // bracketed by clock reads and the tightest of several brackets kept. Throws
  // std::runtime_error if the window is shorter than 1 ms or the measurement is implausible.
  static TscClock calibrate(std::chrono::milliseconds window = std::chrono::milliseconds(50));

  // A clock for a known frequency (tests, or a frequency persisted from a previous calibration).
  // Anchored at the moment of the call. hz must be in [1 MHz, 100 GHz], else hz() == 0.
  [[nodiscard]] static TscClock from_hz(std::uint64_t hz) noexcept;

  [[nodiscard]] bool invariant() const noexcept { return invariant_; }
  [[nodiscard]] double ghz() const noexcept { return static_cast<double>(hz_) / 1e9; }  // reporting
  [[nodiscard]] std::uint64_t hz() const noexcept { return hz_; }
  [[nodiscard]] std::uint64_t mult() const noexcept { return mult_; }
  [[nodiscard]] unsigned shift() const noexcept { return shift_; }

  // Converts a TSC cycle count (a difference, or an absolute value) to nanoseconds:
  // (cycles * mult) >> shift with a 128-bit intermediate, so no overflow for any 64-bit input.
  [[nodiscard]] std::uint64_t to_ns(std::uint64_t cycles) const noexcept {
    __extension__ using u128 = unsigned __int128;
    return static_cast<std::uint64_t>((static_cast<u128>(cycles) * mult_) >> shift_);
  }

  // ns since the Unix epoch (CLOCK_REALTIME at calibration + TSC time elapsed since then).
  // Monotonic for a given thread on an invariant TSC; it does not follow later NTP steps.
  [[nodiscard]] std::uint64_t now_ns() const noexcept { return at_ns(rdtsc()); }

  // Same as now_ns() for a TSC value read earlier (e.g. a packet's receive stamp).
  [[nodiscard]] std::uint64_t at_ns(std::uint64_t tsc) const noexcept {
    return tsc >= anchor_tsc_ ? anchor_realtime_ns_ + to_ns(tsc - anchor_tsc_)
                              : anchor_realtime_ns_ - to_ns(anchor_tsc_ - tsc);
  }

  // CLOCK_MONOTONIC_RAW-anchored ns for a TSC value (comparable with clock_gettime readings of
  // that clock, e.g. to check the calibration).
  [[nodiscard]] std::uint64_t monotonic_raw_ns(std::uint64_t tsc) const noexcept {
    return tsc >= anchor_tsc_ ? anchor_monotonic_ns_ + to_ns(tsc - anchor_tsc_)
                              : anchor_monotonic_ns_ - to_ns(anchor_tsc_ - tsc);
  }

 private:
  void set_frequency(std::uint64_t hz) noexcept;

  std::uint64_t hz_ = 0;
  std::uint64_t mult_ = 0;
  std::uint64_t anchor_tsc_ = 0;
  std::uint64_t anchor_realtime_ns_ = 0;
  std::uint64_t anchor_monotonic_ns_ = 0;
  unsigned shift_ = 0;
  bool invariant_ = false;
};

static_assert(std::is_trivially_copyable_v<TscClock>);
static_assert(sizeof(TscClock) <= 64, "TscClock should fit one cache line");

}  // namespace torq::hw
