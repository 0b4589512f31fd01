// torq/risk/clock.hpp — the injected wall clock used by the risk gates, P&L and audit log.
//
// Owns: Clock, a plain function pointer + context (no virtual call, no std::function) returning
// nanoseconds since the Unix epoch (UTC). The default reads CLOCK_REALTIME through the vDSO (no
// syscall on Linux/x86-64). Tests inject a manual clock (ManualClock) to cross UTC day boundaries
// and breaker cool-downs deterministically. Thread-safety: Clock is a trivially copyable value;
// ManualClock is an atomic and may be advanced from any thread. No allocation.
#pragma once

#include <atomic>
#include <cstdint>
#include <type_traits>

namespace torq::risk {

inline constexpr std::uint64_t kNsPerSecond = 1'000'000'000ULL;
inline constexpr std::uint64_t kNsPerDay = 86'400ULL * kNsPerSecond;

// CLOCK_REALTIME in ns since the epoch.
[[nodiscard]] std::uint64_t realtime_ns() noexcept;

struct Clock {
  using Fn = std::uint64_t (*)(const void* ctx) noexcept;
  Fn fn = &default_fn;
  const void* ctx = nullptr;

  [[nodiscard]] std::uint64_t now_ns() const noexcept { return fn(ctx); }
  // UTC day number (days since 1970-01-01) of a timestamp.
  [[nodiscard]] static constexpr std::uint64_t utc_day(std::uint64_t ns) noexcept { return ns / kNsPerDay; }

 private:
  static std::uint64_t default_fn(const void*) noexcept { return realtime_ns(); }
};
static_assert(std::is_trivially_copyable_v<Clock>);

// A clock that only moves when told to (tests, replays).
class ManualClock {
 public:
  explicit ManualClock(std::uint64_t start_ns = 0) noexcept : now_(start_ns) {}
  void set(std::uint64_t ns) noexcept { now_.store(ns, std::memory_order_release); }
  void advance(std::uint64_t ns) noexcept { now_.fetch_add(ns, std::memory_order_acq_rel); }
  [[nodiscard]] std::uint64_t now() const noexcept { return now_.load(std::memory_order_acquire); }
  [[nodiscard]] Clock clock() const noexcept {
    return Clock{[](const void* c) noexcept { return static_cast<const ManualClock*>(c)->now(); }, this};
  }

 private:
  std::atomic<std::uint64_t> now_;
};

}  // namespace torq::risk
