// Pacing primitives of the control plane: a token bucket (per-endpoint request budget) and an
// exponential backoff schedule with jitter (reconnects). Both take time as an explicit argument
// (nanoseconds on any monotonic clock) and randomness from a seeded generator, so they are
// deterministic under test (injected clock) and cost nothing when idle.
//
// Pure value types: no allocation, no exceptions, no locks; not thread-safe (one owner thread).
#pragma once

#include <algorithm>
#include <cstdint>

namespace torq::control {

// Token bucket: `rate` tokens per second refill up to `burst`. A JSON-RPC batch of n requests
// takes n tokens (providers bill per element). rate <= 0 disables the budget (always allowed).
class TokenBucket {
 public:
  TokenBucket() noexcept = default;
  TokenBucket(double rate_per_s, double burst, std::uint64_t now_ns) noexcept
      : rate_(rate_per_s), burst_(std::max(burst, 1.0)), tokens_(std::max(burst, 1.0)), last_ns_(now_ns) {}

  // Takes n tokens if available now (refilling first); false leaves the bucket unchanged.
  [[nodiscard]] bool try_take(std::uint64_t now_ns, double n = 1.0) noexcept {
    if (rate_ <= 0) return true;
    refill(now_ns);
    if (tokens_ + 1e-9 < n) return false;
    tokens_ -= n;
    return true;
  }
  // Nanoseconds until n tokens will be available (0 when they are now). n above burst is capped
  // at burst (a large batch waits for a full bucket, then takes it all and goes negative-free).
  [[nodiscard]] std::uint64_t wait_ns(std::uint64_t now_ns, double n = 1.0) noexcept {
    if (rate_ <= 0) return 0;
    refill(now_ns);
    const double need = std::min(n, burst_) - tokens_;
    if (need <= 0) return 0;
    return static_cast<std::uint64_t>(need / rate_ * 1e9) + 1;
  }
  // Takes min(n, burst) tokens, waiting first if needed: returns the wait the caller must sleep
  // before sending (the tokens are already debited). The caller's clock must advance by it.
  [[nodiscard]] std::uint64_t reserve(std::uint64_t now_ns, double n = 1.0) noexcept {
    if (rate_ <= 0) return 0;
    const std::uint64_t w = wait_ns(now_ns, n);
    refill(now_ns + w);
    tokens_ = std::max(0.0, tokens_ - std::min(n, burst_));
    return w;
  }
  [[nodiscard]] double tokens() const noexcept { return tokens_; }
  [[nodiscard]] double rate() const noexcept { return rate_; }

 private:
  void refill(std::uint64_t now_ns) noexcept {
    if (now_ns <= last_ns_) return;
    tokens_ = std::min(burst_, tokens_ + static_cast<double>(now_ns - last_ns_) * 1e-9 * rate_);
    last_ns_ = now_ns;
  }
  double rate_ = 0;
  double burst_ = 1;
  double tokens_ = 1;
  std::uint64_t last_ns_ = 0;
};

// splitmix64: small seeded generator for jitter (deterministic per seed).
struct SplitMix64 {
  std::uint64_t state;
  [[nodiscard]] std::uint64_t next() noexcept {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, 1).
  [[nodiscard]] double unit() noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
};

struct BackoffPolicy {
  std::uint64_t initial_ms = 100;
  std::uint64_t max_ms = 10'000;
  double multiplier = 2.0;
  double jitter = 0.5;  // fraction of the delay that is randomised: delay * (1 - jitter * u)
};

// Exponential backoff with jitter: attempt k (0-based) waits base_k * (1 - jitter * u), u in
// [0,1), base_k = min(max, initial * multiplier^k). reset() after a success.
class Backoff {
 public:
  explicit Backoff(BackoffPolicy p = {}, std::uint64_t seed = 0x7071) noexcept : p_(p), rng_{seed} {}
  // Delay before the next attempt, in milliseconds; advances the attempt counter.
  [[nodiscard]] std::uint64_t next_ms() noexcept {
    const double base = base_ms(attempt_);
    ++attempt_;
    const double j = std::clamp(p_.jitter, 0.0, 1.0);
    return static_cast<std::uint64_t>(base * (1.0 - j * rng_.unit()));
  }
  // Un-jittered delay of attempt k (the upper bound of next_ms() for that attempt).
  [[nodiscard]] double base_ms(std::uint32_t k) const noexcept {
    double d = static_cast<double>(p_.initial_ms);
    for (std::uint32_t i = 0; i < k && d < static_cast<double>(p_.max_ms); ++i) d *= p_.multiplier;
    return std::min(d, static_cast<double>(p_.max_ms));
  }
  void reset() noexcept { attempt_ = 0; }
  [[nodiscard]] std::uint32_t attempt() const noexcept { return attempt_; }

 private:
  BackoffPolicy p_;
  SplitMix64 rng_;
  std::uint32_t attempt_ = 0;
};

}  // namespace torq::control
