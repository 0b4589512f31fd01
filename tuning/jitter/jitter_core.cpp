// Busy-spin jitter measurement: recorder, spin loop, summary and cyclictest summary parser.
#include "torq/tuning/jitter.hpp"

#include <immintrin.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <numeric>
#include <random>

namespace torq::tuning {

std::uint64_t percentile_nearest_rank(const std::uint64_t* sorted, std::size_t n, double q) noexcept {
  if (n == 0 || sorted == nullptr) return 0;
  if (!(q > 0.0)) return sorted[0];
  if (q >= 1.0) return sorted[n - 1];
  // Nearest rank: the smallest value with at least q*n values at or below it.
  auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(n)));
  rank = std::clamp<std::size_t>(rank, 1, n);
  return sorted[rank - 1];
}

GapRecorder::GapRecorder(std::size_t capacity) : gaps_(capacity, 0) {
  // The value-initialising constructor has written every element: all pages are resident.
}

const std::vector<std::uint64_t>& GapRecorder::sorted_gaps() {
  gaps_.resize(stored_);
  std::sort(gaps_.begin(), gaps_.end());
  return gaps_;
}

SpinResult spin_for(const hw::TscClock& clock, std::uint64_t duration_ns, std::uint64_t threshold_ns,
                    GapRecorder& recorder) noexcept {
  // ns -> cycles once, outside the loop (hz fits easily: duration * hz / 1e9 with 128 bits).
  __extension__ using u128 = unsigned __int128;
  const std::uint64_t hz = clock.hz();
  const auto duration_cycles = static_cast<std::uint64_t>(static_cast<u128>(duration_ns) * hz / 1'000'000'000u);
  const auto threshold_cycles = static_cast<std::uint64_t>(static_cast<u128>(threshold_ns) * hz / 1'000'000'000u);

  const std::uint64_t start = hw::rdtsc();
  const std::uint64_t end = start + duration_cycles;
  std::uint64_t prev = start;
  std::uint64_t samples = 0;
  for (;;) {
    const std::uint64_t now = hw::rdtsc();
    ++samples;
    if (now > prev && now - prev > threshold_cycles) [[unlikely]] {
      recorder.record(clock.to_ns(now - prev));
    }
    if (now > prev) prev = now;
    if (now >= end) break;
  }
  return SpinResult{samples, clock.to_ns(prev - start)};
}

LineChain::LineChain(std::size_t bytes, std::uint64_t seed) : lines_(std::max<std::size_t>(1, (bytes + 63) / 64)) {
  // A random cyclic order: line 0, then a shuffle of the others, back to 0 (one cycle through all).
  std::vector<std::size_t> order(lines_.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::mt19937_64 rng(seed);
  std::shuffle(order.begin() + 1, order.end(), rng);
  for (std::size_t k = 0; k < order.size(); ++k) lines_[order[k]].next = &lines_[order[(k + 1) % order.size()]];
}

std::size_t LineChain::walk() const noexcept {
  const Line* const first = lines_.data();
  const Line* p = first;
  std::size_t n = 0;
  do {
    p = p->next;  // each load's address is the previous load's value: no overlap
    ++n;
  } while (p != first);
  return n;
}

std::vector<RetentionPoint> measure_retention(const hw::TscClock& clock, const LineChain& chain,
                                              const std::vector<std::uint64_t>& idle_ns, std::size_t walks) {
  __extension__ using u128 = unsigned __int128;
  std::vector<RetentionPoint> points;
  points.reserve(idle_ns.size());
  std::vector<std::uint64_t> samples(std::max<std::size_t>(1, walks), 0);
  volatile std::size_t sink = chain.walk();  // warm
  for (const std::uint64_t idle : idle_ns) {
    const auto idle_cycles = static_cast<std::uint64_t>(static_cast<u128>(idle) * clock.hz() / 1'000'000'000u);
    for (std::size_t w = 0; w < samples.size(); ++w) {
      const std::uint64_t until = hw::rdtsc() + idle_cycles;
      while (hw::rdtsc() < until) _mm_pause();
      const std::uint64_t t0 = hw::rdtscp();
      sink = chain.walk();
      const std::uint64_t t1 = hw::rdtscp();
      samples[w] = clock.to_ns(t1 > t0 ? t1 - t0 : 0);
    }
    std::sort(samples.begin(), samples.end());
    RetentionPoint pt;
    pt.idle_ns = idle;
    pt.walks = samples.size();
    pt.p50_walk_ns = percentile_nearest_rank(samples.data(), samples.size(), 0.50);
    pt.p90_walk_ns = percentile_nearest_rank(samples.data(), samples.size(), 0.90);
    pt.p50_ns_per_line = static_cast<double>(pt.p50_walk_ns) / static_cast<double>(chain.lines());
    pt.ratio = points.empty() || points.front().p50_walk_ns == 0
                   ? 1.0
                   : static_cast<double>(pt.p50_walk_ns) / static_cast<double>(points.front().p50_walk_ns);
    points.push_back(pt);
  }
  (void)sink;
  return points;
}

CoreReport summarize(int cpu, const SpinResult& spin, std::uint64_t threshold_ns, GapRecorder& recorder) {
  CoreReport r;
  r.cpu = cpu;
  r.pinned = true;
  r.samples = spin.samples;
  r.elapsed_ns = spin.elapsed_ns;
  r.threshold_ns = threshold_ns;
  r.count = recorder.count();
  r.dropped = recorder.dropped();
  r.lost_ns = recorder.lost_ns();
  r.max_ns = recorder.max_ns();
  const auto& gaps = recorder.sorted_gaps();
  r.p50_ns = percentile_nearest_rank(gaps.data(), gaps.size(), 0.50);
  r.p99_ns = percentile_nearest_rank(gaps.data(), gaps.size(), 0.99);
  r.p999_ns = percentile_nearest_rank(gaps.data(), gaps.size(), 0.999);
  if (spin.elapsed_ns > 0) {
    r.percent_lost = 100.0 * static_cast<double>(std::min(r.lost_ns, spin.elapsed_ns)) /
                     static_cast<double>(spin.elapsed_ns);
  }
  if (spin.samples > 0) {
    r.mean_loop_ns = static_cast<double>(spin.elapsed_ns) / static_cast<double>(spin.samples);
  }
  const auto& h = recorder.histogram();
  for (std::size_t k = 0; k < h.size(); ++k) {
    if (h[k] == 0) continue;
    const std::uint64_t lo = k == 0 ? 0 : (std::uint64_t{1} << k);
    const std::uint64_t hi = k >= 63 ? UINT64_MAX : (std::uint64_t{1} << (k + 1));
    r.histogram.push_back(HistogramBucket{lo, hi, h[k]});
  }
  return r;
}

namespace {

// Reads the unsigned number following `key` (skipping blanks) in `line`; nullopt if absent.
std::optional<std::uint64_t> field(std::string_view line, std::string_view key) {
  const auto pos = line.find(key);
  if (pos == std::string_view::npos) return std::nullopt;
  std::size_t i = pos + key.size();
  while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
  std::uint64_t v = 0;
  const auto [p, ec] = std::from_chars(line.data() + i, line.data() + line.size(), v);
  if (ec != std::errc{} || p == line.data() + i) return std::nullopt;
  return v;
}

}  // namespace

std::vector<CyclictestThread> parse_cyclictest_summary(std::string_view output) {
  std::vector<CyclictestThread> out;
  while (!output.empty()) {
    auto nl = output.find_first_of("\r\n");
    std::string_view line = output.substr(0, nl);
    output = nl == std::string_view::npos ? std::string_view{} : output.substr(nl + 1);
    const auto t = line.find("T:");
    if (t == std::string_view::npos) continue;
    line = line.substr(t);
    const auto thread = field(line, "T:");
    const auto cycles = field(line, "C:");
    const auto mn = field(line, "Min:");
    const auto avg = field(line, "Avg:");
    const auto mx = field(line, "Max:");
    if (!thread || !cycles || !mn || !avg || !mx) continue;
    CyclictestThread ct;
    ct.thread = static_cast<int>(*thread);
    ct.priority = static_cast<int>(field(line, "P:").value_or(0));
    ct.interval_us = field(line, "I:").value_or(0);
    ct.cycles = *cycles;
    ct.min_us = *mn;
    ct.act_us = field(line, "Act:").value_or(0);
    ct.avg_us = *avg;
    ct.max_us = *mx;
    out.push_back(ct);
  }
  return out;
}

}  // namespace torq::tuning
