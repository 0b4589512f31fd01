// torq/mycelium/idle.hpp — idle strategies for consumer loops (after Aeron's IdleStrategy).
//
// Owns: BusySpinIdle (pause instruction only: lowest latency, burns the core), YieldIdle
// (sched_yield: lets a co-scheduled thread run), BackoffIdle (spin with pause, then yield, then
// sleep with exponentially growing periods up to a cap). Each has the same two members:
//   idle(std::size_t work_count) — called after every poll with the number of frames handled;
//                                   resets on work, escalates on consecutive empty polls;
//   reset()                      — back to the first (hottest) phase.
// Consumer loops take the strategy as a template parameter, so the call inlines; no virtual
// dispatch. Thread-safety: one strategy object per loop thread. Allocation: none. BusySpin makes
// no syscall; Yield and Backoff make syscalls only when idle (never while frames flow).
#pragma once

#include <immintrin.h>
#include <sched.h>
#include <time.h>

#include <cstddef>
#include <cstdint>

namespace torq::mycelium {

inline void cpu_relax() noexcept { _mm_pause(); }

struct BusySpinIdle {
  void idle(std::size_t work_count) noexcept {
    if (work_count == 0) cpu_relax();
  }
  void reset() noexcept {}
};

struct YieldIdle {
  void idle(std::size_t work_count) noexcept {
    if (work_count == 0) ::sched_yield();
  }
  void reset() noexcept {}
};

// Phases: `max_spins` pause iterations, then `max_yields` sched_yield calls, then nanosleep
// starting at min_park_ns and doubling up to max_park_ns.
class BackoffIdle {
 public:
  enum class Phase : std::uint8_t { spinning, yielding, parking };

  constexpr BackoffIdle() noexcept = default;
  constexpr BackoffIdle(std::uint32_t max_spins, std::uint32_t max_yields, std::uint64_t min_park_ns,
                        std::uint64_t max_park_ns) noexcept
      : max_spins_(max_spins), max_yields_(max_yields), min_park_ns_(min_park_ns), max_park_ns_(max_park_ns) {}

  void idle(std::size_t work_count) noexcept {
    if (work_count > 0) {
      reset();
      return;
    }
    switch (phase_) {
      case Phase::spinning:
        cpu_relax();
        if (++spins_ >= max_spins_) phase_ = Phase::yielding;
        break;
      case Phase::yielding:
        ::sched_yield();
        if (++yields_ >= max_yields_) {
          phase_ = Phase::parking;
          park_ns_ = min_park_ns_;
        }
        break;
      case Phase::parking: {
        const timespec ts{static_cast<time_t>(park_ns_ / 1'000'000'000u), static_cast<long>(park_ns_ % 1'000'000'000u)};
        ::nanosleep(&ts, nullptr);
        park_ns_ = park_ns_ * 2 > max_park_ns_ ? max_park_ns_ : park_ns_ * 2;
        break;
      }
    }
  }
  void reset() noexcept {
    phase_ = Phase::spinning;
    spins_ = 0;
    yields_ = 0;
    park_ns_ = min_park_ns_;
  }
  [[nodiscard]] Phase phase() const noexcept { return phase_; }
  [[nodiscard]] std::uint64_t park_ns() const noexcept { return park_ns_; }

 private:
  std::uint32_t max_spins_ = 1000;
  std::uint32_t max_yields_ = 100;
  std::uint64_t min_park_ns_ = 1'000;
  std::uint64_t max_park_ns_ = 1'000'000;
  Phase phase_ = Phase::spinning;
  std::uint32_t spins_ = 0;
  std::uint32_t yields_ = 0;
  std::uint64_t park_ns_ = 1'000;
};

}  // namespace torq::mycelium
