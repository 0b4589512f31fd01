// torq/ops/histogram.hpp — log-linear latency histogram with exact integer nanoseconds.
//
// Owns LatencyHistogram: values 0..15 ns have one bucket each; above that every power-of-two
// octave [2^e, 2^(e+1)) is split into 16 equal sub-buckets (relative bucket width <= 6.25%), up to
// 2^64-1 ns. 976 uint64 counters (7.8 KiB), plus exact count, sum (saturating), min and max.
// record() is O(1), noexcept, allocation-free and branch-light: usable on a pinned core by a single
// writer. Percentiles are exact integers: the highest value that falls in the bucket holding the
// requested rank, clamped to [min, max], so p100 == max exactly.
// Thread-safety: none (a plain value; one writer). Publish copies to OperatorState for readers.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace torq::ops {

class LatencyHistogram {
 public:
  static constexpr unsigned kSubBits = 4;
  static constexpr std::uint64_t kSub = 1u << kSubBits;         // 16 sub-buckets per octave
  static constexpr std::size_t kBuckets = kSub + (64 - kSubBits) * kSub;  // 976

  [[nodiscard]] static constexpr std::size_t bucket_of(std::uint64_t v) noexcept {
    if (v < kSub) return static_cast<std::size_t>(v);
    const unsigned e = 63u - static_cast<unsigned>(__builtin_clzll(v));  // >= kSubBits
    const std::uint64_t sub = (v >> (e - kSubBits)) & (kSub - 1);
    return static_cast<std::size_t>(kSub + (e - kSubBits) * kSub + sub);
  }
  [[nodiscard]] static constexpr std::uint64_t bucket_lower(std::size_t i) noexcept {
    if (i < kSub) return i;
    const std::size_t k = i - kSub;
    const unsigned shift = static_cast<unsigned>(k / kSub);
    return (kSub + k % kSub) << shift;
  }
  [[nodiscard]] static constexpr std::uint64_t bucket_upper(std::size_t i) noexcept {
    if (i < kSub) return i;
    const unsigned shift = static_cast<unsigned>((i - kSub) / kSub);
    return bucket_lower(i) + ((std::uint64_t{1} << shift) - 1);
  }

  void record(std::uint64_t ns) noexcept {
    ++buckets_[bucket_of(ns)];
    ++count_;
    sum_ = (sum_ + ns < sum_) ? UINT64_MAX : sum_ + ns;
    if (ns < min_) min_ = ns;
    if (ns > max_) max_ = ns;
  }
  void merge(const LatencyHistogram& o) noexcept;
  // Rebuilds a histogram from its parts (a snapshot received from another process): false, and
  // the histogram left empty, when the parts are inconsistent (bucket counts not summing to count,
  // min > max, a bucket index out of range).
  struct Bucket {
    std::size_t index = 0;
    std::uint64_t count = 0;
  };
  [[nodiscard]] bool restore(const Bucket* buckets, std::size_t n, std::uint64_t count, std::uint64_t sum,
                             std::uint64_t min, std::uint64_t max) noexcept;
  void reset() noexcept { *this = LatencyHistogram{}; }

  [[nodiscard]] std::uint64_t count() const noexcept { return count_; }
  [[nodiscard]] std::uint64_t sum() const noexcept { return sum_; }
  [[nodiscard]] std::uint64_t min() const noexcept { return count_ ? min_ : 0; }
  [[nodiscard]] std::uint64_t max() const noexcept { return max_; }
  [[nodiscard]] std::uint64_t bucket_count(std::size_t i) const noexcept { return buckets_[i]; }

  // Value at quantile num/den (e.g. 999/1000): 0 when empty. den must be > 0 and num <= den.
  [[nodiscard]] std::uint64_t value_at(std::uint64_t num, std::uint64_t den) const noexcept;
  // Number of recorded values <= v, exact when v is a bucket's upper bound (e.g. 2^k - 1).
  [[nodiscard]] std::uint64_t count_at_or_below(std::uint64_t v) const noexcept;

 private:
  std::array<std::uint64_t, kBuckets> buckets_{};
  std::uint64_t count_ = 0;
  std::uint64_t sum_ = 0;
  std::uint64_t min_ = UINT64_MAX;
  std::uint64_t max_ = 0;
};

static_assert(LatencyHistogram::bucket_of(15) == 15);
static_assert(LatencyHistogram::bucket_of(16) == 16);
static_assert(LatencyHistogram::bucket_of(UINT64_MAX) == LatencyHistogram::kBuckets - 1);
static_assert(LatencyHistogram::bucket_upper(LatencyHistogram::kBuckets - 1) == UINT64_MAX);
static_assert(LatencyHistogram::bucket_lower(LatencyHistogram::bucket_of(1000)) <= 1000);
static_assert(LatencyHistogram::bucket_upper(LatencyHistogram::bucket_of(1000)) >= 1000);

}  // namespace torq::ops
