// torq/tuning/jitter.hpp — busy-spin jitter measurement ("hiccups"/sysjitter style) for one core.
//
// Owns: GapRecorder, a preallocated per-core store of the gaps between successive TSC reads that
// exceed a threshold (each gap is time the spinning thread did not run: interrupts, timer ticks,
// SMIs, hypervisor exits); spin_for(), the measuring loop; summarize() into a CoreReport
// (count, p50/p99/p99.9/max, time lost, log2 histogram); and parse_cyclictest_summary() for the
// optional cyclictest run; LineChain and measure_retention(), whether a core's caches survive
// idle time (cache retention). The torq-jitter tool (tuning/jitter/jitter.cpp) drives one pinned
// thread per core with these.
// Thread-safety: a GapRecorder belongs to one thread (the spinning one) until the spin ends;
// summarize() then runs on any one thread. Free functions are reentrant.
// Allocation: the GapRecorder constructor allocates and touches its whole buffer (start-up);
// record() and spin_for() never allocate, lock, throw or make a syscall. summarize() sorts the
// buffer in place and allocates only the report's histogram vector; the parser allocates.
// LineChain's constructor allocates (start-up); walk() does not; measure_retention() allocates its
// sample buffers before it measures.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "torq/hw/tsc.hpp"

namespace torq::tuning {

// Histogram bucket index of a gap: floor(log2(ns)), 0 for ns <= 1. Bucket k holds [2^k, 2^(k+1)).
[[nodiscard]] constexpr unsigned log2_bucket(std::uint64_t ns) noexcept {
  unsigned k = 0;
  while (ns > 1) {
    ns >>= 1;
    ++k;
  }
  return k;
}
inline constexpr std::size_t kHistogramBuckets = 64;

// Nearest-rank percentile (q in [0, 1]) of an ascending sequence; 0 when it is empty.
[[nodiscard]] std::uint64_t percentile_nearest_rank(const std::uint64_t* sorted, std::size_t n,
                                                    double q) noexcept;

class GapRecorder {
 public:
  // Preallocates room for `capacity` gaps and writes every element once so that no page fault
  // happens while spinning. Throws std::bad_alloc (start-up only).
  explicit GapRecorder(std::size_t capacity);

  // Counts one gap above the threshold. Stored while there is room; beyond that only count,
  // total, maximum and histogram advance (dropped() says how many were not stored).
  void record(std::uint64_t gap_ns) noexcept {
    ++count_;
    lost_ns_ += gap_ns;
    if (gap_ns > max_ns_) max_ns_ = gap_ns;
    ++histogram_[log2_bucket(gap_ns)];
    if (stored_ < gaps_.size()) gaps_[stored_++] = gap_ns;
  }

  [[nodiscard]] std::uint64_t count() const noexcept { return count_; }
  [[nodiscard]] std::uint64_t stored() const noexcept { return stored_; }
  [[nodiscard]] std::uint64_t dropped() const noexcept { return count_ - stored_; }
  [[nodiscard]] std::uint64_t lost_ns() const noexcept { return lost_ns_; }
  [[nodiscard]] std::uint64_t max_ns() const noexcept { return max_ns_; }
  [[nodiscard]] std::size_t capacity() const noexcept { return gaps_.size(); }
  [[nodiscard]] const std::array<std::uint64_t, kHistogramBuckets>& histogram() const noexcept {
    return histogram_;
  }
  // Sorts the stored gaps ascending (after the spin) and returns them.
  [[nodiscard]] const std::vector<std::uint64_t>& sorted_gaps();

 private:
  std::vector<std::uint64_t> gaps_;
  std::size_t stored_ = 0;
  std::uint64_t count_ = 0;
  std::uint64_t lost_ns_ = 0;
  std::uint64_t max_ns_ = 0;
  std::array<std::uint64_t, kHistogramBuckets> histogram_{};
};

struct SpinResult {
  std::uint64_t samples = 0;     // TSC reads taken
  std::uint64_t elapsed_ns = 0;  // first to last read
};

// Reads the TSC in a tight loop for `duration_ns`, recording every gap between successive reads
// longer than `threshold_ns`. Call on a thread pinned to the measured core.
[[nodiscard]] SpinResult spin_for(const hw::TscClock& clock, std::uint64_t duration_ns,
                                  std::uint64_t threshold_ns, GapRecorder& recorder) noexcept;

// Cache retention across idle time. A hot core's working set should still be in its caches when
// the next message arrives after a quiet spell; on a core that is shared while it waits (an SMT
// sibling running other work, other guests of a hypervisor) it is not, and the first message
// after the spell pays the misses (bench_tick_to_signal --gap-us shows what that does to the
// strategy's first signal). The probe is a chain of pointers through `bytes` of memory, one per
// 64-byte line in a random cyclic order, so each load depends on the one before and every miss
// is paid in full; it is walked once to warm it, then for each idle time: spin idle (TSC reads and
// pause, as a busy-polling loop with nothing to do) for that long, then time one whole walk.
class LineChain {
 public:
  // At least one line; `bytes` is rounded up to whole lines. Throws std::bad_alloc (start-up).
  LineChain(std::size_t bytes, std::uint64_t seed);
  // Follows the chain once round from line 0; returns the lines visited (== lines()).
  [[nodiscard]] std::size_t walk() const noexcept;
  [[nodiscard]] std::size_t lines() const noexcept { return lines_.size(); }
  // Index of the line after line i.
  [[nodiscard]] std::size_t next(std::size_t i) const noexcept {
    return static_cast<std::size_t>(lines_[i].next - lines_.data());
  }

 private:
  struct alignas(64) Line {
    const Line* next;
  };
  std::vector<Line> lines_;
};

struct RetentionPoint {
  std::uint64_t idle_ns = 0;     // idle time before each timed walk
  std::uint64_t walks = 0;       // timed walks
  std::uint64_t p50_walk_ns = 0, p90_walk_ns = 0;
  double p50_ns_per_line = 0.0;  // p50_walk_ns / lines
  double ratio = 0.0;            // p50_walk_ns / the first point's p50_walk_ns (1 for the first)
};

// One point per idle time, in the given order (put 0 first: back-to-back walks, the warm
// baseline the ratios refer to). Call on a thread pinned to the measured core.
[[nodiscard]] std::vector<RetentionPoint> measure_retention(const hw::TscClock& clock, const LineChain& chain,
                                                            const std::vector<std::uint64_t>& idle_ns,
                                                            std::size_t walks);

struct HistogramBucket {
  std::uint64_t lo_ns = 0;  // inclusive
  std::uint64_t hi_ns = 0;  // exclusive
  std::uint64_t count = 0;
};

struct CoreReport {
  int cpu = -1;
  bool pinned = false;
  std::string error;  // why the core was not measured (empty when it was)
  std::uint64_t samples = 0;
  std::uint64_t elapsed_ns = 0;
  std::uint64_t threshold_ns = 0;
  std::uint64_t count = 0;    // gaps above the threshold
  std::uint64_t dropped = 0;  // of those, not stored (buffer full): percentiles exclude them
  std::uint64_t p50_ns = 0, p99_ns = 0, p999_ns = 0, max_ns = 0;
  std::uint64_t lost_ns = 0;
  double percent_lost = 0.0;
  double mean_loop_ns = 0.0;               // elapsed / samples: cost of one TSC read + check
  std::vector<HistogramBucket> histogram;  // non-empty buckets, ascending
  std::size_t retention_lines = 0;         // the retention probe's chain (0: not measured)
  std::vector<RetentionPoint> retention;
};

// Builds the report of one spun core (sorts the recorder's buffer).
[[nodiscard]] CoreReport summarize(int cpu, const SpinResult& spin, std::uint64_t threshold_ns,
                                   GapRecorder& recorder);

// One thread's line of cyclictest's final summary, e.g.
// "T: 0 (10480) P:90 I:200 C:    500 Min:     11 Act:   12 Avg:   12 Max:      41" (microseconds).
struct CyclictestThread {
  int thread = 0;
  int priority = 0;
  std::uint64_t interval_us = 0;
  std::uint64_t cycles = 0;
  std::uint64_t min_us = 0, act_us = 0, avg_us = 0, max_us = 0;
};
// Parses every "T:" summary line in cyclictest's (-q) output; other lines are ignored.
[[nodiscard]] std::vector<CyclictestThread> parse_cyclictest_summary(std::string_view output);

}  // namespace torq::tuning
