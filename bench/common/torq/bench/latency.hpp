// torq/bench/latency.hpp — the shared latency harness of all Torq benchmarks (header-only).
//
// Owns: LatencyRecorder (TSC cycle samples in an array preallocated and prefaulted up front, so
// recording is one store; record_interval counts a cross-core interval whose end stamp reads
// below its start instead of wrapping it), LatencySummary (count, min, mean,
// p50/p90/p99/p99.9/p99.99, max in ns via torq::hw::TscClock), a tiny JSON object writer, and
// helpers that pick two CPUs, pin the calling thread and warm it up (busy spin so the core leaves
// low-power states first; two distinct cores sharing an L3 by default), and cpu_pair_kind for the
// JSON.
// Thread-safety: a LatencyRecorder is written by one thread; summarize() after that thread is done.
// JsonObject is single-threaded. Allocation: the constructor allocates; record() never does;
// summarize() sorts in place; JSON output allocates (reporting only).
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "torq/hw/affinity.hpp"
#include "torq/hw/topology.hpp"
#include "torq/hw/tsc.hpp"

namespace torq::bench {

struct LatencySummary {
  std::uint64_t count = 0;
  std::uint64_t dropped = 0;  // samples beyond the preallocated capacity
  // Cross-thread intervals whose end stamp read below their start stamp (TSC offset between the
  // two cores, or an end read issued early); each is counted and recorded as 0 cycles.
  std::uint64_t negative_intervals = 0;
  double min_ns = 0, mean_ns = 0, p50_ns = 0, p90_ns = 0, p99_ns = 0, p999_ns = 0, p9999_ns = 0, max_ns = 0;
};

class LatencyRecorder {
 public:
  explicit LatencyRecorder(std::size_t capacity) : samples_(capacity, 0) {}  // zero-fill prefaults

  void record(std::uint64_t cycles) noexcept {
    if (n_ < samples_.size()) [[likely]] {
      samples_[n_++] = cycles;
    } else {
      ++dropped_;
    }
  }
  // An interval between two TSC stamps, possibly taken on two cores: `end` below `start` (the
  // cores' counters disagree, or the end was read before the data it times) must not wrap into a
  // 2^64-cycle sample; it is counted and recorded as 0. Read `end` with rdtscp, after the data.
  void record_interval(std::uint64_t start, std::uint64_t end) noexcept {
    if (end >= start) [[likely]] {
      record(end - start);
    } else {
      ++negative_;
      record(0);
    }
  }
  [[nodiscard]] std::size_t count() const noexcept { return n_; }
  void reset() noexcept { n_ = 0; dropped_ = 0; negative_ = 0; }

  // Sorts the samples in place (call once, after recording) and converts to ns.
  [[nodiscard]] LatencySummary summarize(const hw::TscClock& clock) {
    LatencySummary s;
    s.count = n_;
    s.dropped = dropped_;
    s.negative_intervals = negative_;
    if (n_ == 0) return s;
    std::sort(samples_.begin(), samples_.begin() + static_cast<std::ptrdiff_t>(n_));
    long double sum = 0;
    for (std::size_t i = 0; i < n_; ++i) sum += static_cast<long double>(samples_[i]);
    const auto ns = [&](std::uint64_t c) { return static_cast<double>(clock.to_ns(c)); };
    // Nearest-rank percentile.
    const auto pct = [&](double p) {
      auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(n_)));
      rank = std::clamp<std::size_t>(rank, 1, n_);
      return ns(samples_[rank - 1]);
    };
    s.min_ns = ns(samples_[0]);
    s.max_ns = ns(samples_[n_ - 1]);
    s.mean_ns = static_cast<double>(sum / static_cast<long double>(n_)) *
                (clock.hz() ? 1e9 / static_cast<double>(clock.hz()) : 0.0);
    s.p50_ns = pct(0.50);
    s.p90_ns = pct(0.90);
    s.p99_ns = pct(0.99);
    s.p999_ns = pct(0.999);
    s.p9999_ns = pct(0.9999);
    return s;
  }

 private:
  std::vector<std::uint64_t> samples_;
  std::size_t n_ = 0;
  std::uint64_t dropped_ = 0;
  std::uint64_t negative_ = 0;
};

// Minimal JSON object writer (keys are trusted identifiers; string values are escaped).
class JsonObject {
 public:
  JsonObject& add(std::string_view key, double v) {
    char buf[64];
    if (std::isfinite(v)) {
      std::snprintf(buf, sizeof buf, "%.6g", v);
    } else {
      std::snprintf(buf, sizeof buf, "null");
    }
    return raw(key, buf);
  }
  JsonObject& add(std::string_view key, std::uint64_t v) { return raw(key, std::to_string(v)); }
  JsonObject& add(std::string_view key, int v) { return raw(key, std::to_string(v)); }
  JsonObject& add(std::string_view key, bool v) { return raw(key, v ? "true" : "false"); }
  JsonObject& add(std::string_view key, const char* v) { return add(key, std::string_view(v)); }
  JsonObject& add(std::string_view key, std::string_view v) {
    std::string q = "\"";
    for (char c : v) {
      if (c == '"' || c == '\\') {
        q += '\\';
        q += c;
      } else if (static_cast<unsigned char>(c) < 0x20) {
        char b[8];
        std::snprintf(b, sizeof b, "\\u%04x", c);
        q += b;
      } else {
        q += c;
      }
    }
    q += '"';
    return raw(key, q);
  }
  JsonObject& add(std::string_view key, const JsonObject& o) { return raw(key, o.str()); }
  // A value that is already JSON (array, object, literal).
  JsonObject& raw(std::string_view key, std::string_view json) {
    if (!body_.empty()) body_ += ',';
    body_ += '"';
    body_ += key;
    body_ += "\":";
    body_ += json;
    return *this;
  }
  [[nodiscard]] std::string str() const { return "{" + body_ + "}"; }

 private:
  std::string body_;
};

[[nodiscard]] inline std::string json_array(const std::vector<std::string>& items) {
  std::string s = "[";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) s += ',';
    s += items[i];
  }
  return s + "]";
}

[[nodiscard]] inline JsonObject to_json(const LatencySummary& s) {
  JsonObject o;
  o.add("count", s.count).add("dropped", s.dropped).add("min_ns", s.min_ns).add("mean_ns", s.mean_ns);
  o.add("p50_ns", s.p50_ns).add("p90_ns", s.p90_ns).add("p99_ns", s.p99_ns).add("p99_9_ns", s.p999_ns);
  o.add("p99_99_ns", s.p9999_ns).add("max_ns", s.max_ns).add("negative_intervals", s.negative_intervals);
  return o;
}

// Two distinct CPUs for a producer/consumer pair (the last two allowed ones, away from cpu 0's
// housekeeping when possible); {-1, -1} when fewer than two are allowed.
// TORQ_BENCH_CPUS="a,b" overrides the choice (both must be allowed), e.g. two isolated cores
// of one socket that are not SMT siblings.
[[nodiscard]] inline std::pair<int, int> pick_two_cpus() {
  const std::vector<int> cpus = hw::allowed_cpus();
  if (const char* env = std::getenv("TORQ_BENCH_CPUS"); env != nullptr) {
    int a = -1;
    int b = -1;
    if (std::sscanf(env, "%d,%d", &a, &b) == 2 && a != b && std::find(cpus.begin(), cpus.end(), a) != cpus.end() &&
        std::find(cpus.begin(), cpus.end(), b) != cpus.end())
      return {a, b};
    std::fprintf(stderr, "TORQ_BENCH_CPUS=%s ignored: two distinct allowed CPUs expected\n", env);
  }
  if (cpus.size() < 2) return {-1, -1};
  // The last two distinct physical cores that share an L3 (where torqd's hot roles belong:
  // docs/tuning.md), else the last two cores, else the last two cpus.
  try {
    const hw::Topology topo = hw::Topology::discover();
    const std::vector<int> firsts = topo.one_cpu_per_core();
    for (std::size_t i = firsts.size(); i-- > 1;)
      for (std::size_t j = i; j-- > 0;)
        if (topo.l3_of_cpu(firsts[i]) >= 0 && topo.l3_of_cpu(firsts[i]) == topo.l3_of_cpu(firsts[j]))
          return {firsts[j], firsts[i]};
    if (firsts.size() >= 2) return {firsts[firsts.size() - 2], firsts[firsts.size() - 1]};
  } catch (const std::exception&) {
  }
  return {cpus[cpus.size() - 2], cpus[cpus.size() - 1]};
}

// How two cpus relate, for the JSON of a two-thread benchmark: "same_cpu", "smt_siblings",
// "same_l3" (distinct cores sharing an L3), "cross_l3", or "unknown" (no L3 information).
[[nodiscard]] inline const char* cpu_pair_kind(int a, int b) {
  try {
    const hw::Topology topo = hw::Topology::discover();
    if (a == b) return "same_cpu";
    if (topo.core_of_cpu(a) >= 0 && topo.core_of_cpu(a) == topo.core_of_cpu(b)) return "smt_siblings";
    const int la = topo.l3_of_cpu(a), lb = topo.l3_of_cpu(b);
    if (la < 0 || lb < 0) return "unknown";
    return la == lb ? "same_l3" : "cross_l3";
  } catch (const std::exception&) {
    return "unknown";
  }
}

// Pins the calling thread to `cpu` (if >= 0) and busy-spins for `warm` so the core is at speed.
// Returns whether pinning succeeded (false for cpu < 0).
inline bool pin_and_warm(int cpu, std::chrono::milliseconds warm = std::chrono::milliseconds(50)) noexcept {
  const bool pinned = cpu >= 0 && hw::pin_current_thread(cpu);
  const auto until = std::chrono::steady_clock::now() + warm;
  volatile std::uint64_t sink = 0;
  while (std::chrono::steady_clock::now() < until) {
    for (int i = 0; i < 1000; ++i) sink = sink + static_cast<std::uint64_t>(i);
  }
  return pinned;
}

}  // namespace torq::bench
