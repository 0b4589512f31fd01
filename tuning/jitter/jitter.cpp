// torq-jitter: one busy-spinning thread pinned per selected core reads the TSC in a tight loop and
// records every gap between successive reads above a threshold: the time the core was taken away
// (interrupts, ticks, SMIs, hypervisor exits). Prints per core: samples, gap count,
// p50/p99/p99.9/max gap, percent of time lost and a log2 histogram; --json for one JSON document.
// With --cyclictest, also runs cyclictest (rt-tests) on the same cores afterwards and includes
// its summary. With --retention, each core then times walks over a working set after idle spells
// of the given lengths (torq/tuning/jitter.hpp: whether the core's caches survive idle time).
//
// Exit status: 0 measured every core, 1 a core could not be pinned or the TSC could not be
// calibrated, 64 bad usage.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "torq/hw/affinity.hpp"
#include "torq/hw/isolation.hpp"
#include "torq/hw/tsc.hpp"
#include "torq/tuning/jitter.hpp"

namespace {

using torq::tuning::CoreReport;
using torq::tuning::CyclictestThread;

constexpr int kUsage = 64;

struct Options {
  std::vector<int> cores;
  std::uint64_t duration_ms = 1000;
  std::uint64_t threshold_ns = 250;
  std::uint64_t max_events = 1u << 20;
  bool json = false;
  bool cyclictest = false;
  std::uint64_t cyclictest_ms = 1000;
  std::uint64_t cyclictest_interval_us = 200;
  bool retention = false;
  std::uint64_t retention_kib = 512;
  std::vector<std::uint64_t> retention_idle_us{0, 10, 100, 1000};
  std::uint64_t retention_walks = 200;
};

void usage(std::FILE* f) {
  std::fprintf(f,
               "usage: torq-jitter [--cores LIST] [--duration-ms N] [--threshold-ns N] [--max-events N]\n"
               "                   [--json] [--cyclictest] [--cyclictest-ms N]\n"
               "                   [--retention] [--retention-kib N] [--retention-idle-us LIST] [--retention-walks N]\n"
               "  --cores LIST       cpus to measure, e.g. 2-5,8 (default: isolated cpus, else the last\n"
               "                     allowed cpu)\n"
               "  --duration-ms N    spin time per core (default 1000)\n"
               "  --threshold-ns N   gaps longer than this count as lost time (default 250)\n"
               "  --max-events N     gaps stored per core for percentiles (default 1048576)\n"
               "  --json             one JSON document on stdout\n"
               "  --cyclictest       then run cyclictest (rt-tests) on the same cpus and report it\n"
               "  --cyclictest-ms N  cyclictest run time (default 1000)\n"
               "  --retention        then, per core, time a walk over a working set after idle spells:\n"
               "                     do the core's caches survive idle time? (ratio 1.0 = they do)\n"
               "  --retention-kib N  working set (default 512)\n"
               "  --retention-idle-us LIST  idle spells, first one the baseline (default 0,10,100,1000)\n"
               "  --retention-walks N  timed walks per idle spell (default 200)\n"
               "exit status: 0 ok, 1 a core could not be measured, 64 bad usage\n");
}

bool parse_u64(const char* s, std::uint64_t& out) {
  if (s == nullptr || *s == '\0' || *s == '-') return false;
  char* end = nullptr;
  errno = 0;
  const unsigned long long v = std::strtoull(s, &end, 10);
  if (errno != 0 || end == nullptr || *end != '\0') return false;
  out = v;
  return true;
}

// Returns 0 to continue, or the exit status.
int parse_args(int argc, char** argv, Options& o) {
  bool cores_given = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    std::string val;
    bool has_val = false;
    if (const auto eq = a.find('='); a.rfind("--", 0) == 0 && eq != std::string::npos) {
      val = a.substr(eq + 1);
      a = a.substr(0, eq);
      has_val = true;
    }
    auto take = [&](std::string& v) {
      if (has_val) { v = val; return true; }
      if (i + 1 >= argc) return false;
      v = argv[++i];
      return true;
    };
    auto take_u64 = [&](std::uint64_t& out) {
      std::string v;
      return take(v) && parse_u64(v.c_str(), out);
    };
    // A number in [lo, hi], else the reason on stderr (the caller exits with kUsage).
    auto take_range = [&](std::uint64_t& out, std::uint64_t lo, std::uint64_t hi) {
      if (take_u64(out) && out >= lo && out <= hi) return true;
      std::fprintf(stderr, "torq-jitter: %s needs %" PRIu64 "..%" PRIu64 "\n", a.c_str(), lo, hi);
      return false;
    };
    if (a == "-h" || a == "--help") {
      usage(stdout);
      return -1;
    } else if (a == "--json") {
      o.json = true;
    } else if (a == "--cyclictest") {
      o.cyclictest = true;
    } else if (a == "--retention") {
      o.retention = true;
    } else if (a == "--retention-kib") {
      if (!take_range(o.retention_kib, 1, 1u << 20)) return kUsage;
    } else if (a == "--retention-walks") {
      if (!take_range(o.retention_walks, 1, 100'000)) return kUsage;
    } else if (a == "--retention-idle-us") {
      std::string v;
      std::vector<std::uint64_t> list;
      bool ok = take(v) && !v.empty() && v.back() != ',';
      for (std::size_t pos = 0; ok && pos < v.size();) {
        const std::size_t comma = std::min(v.find(',', pos), v.size());
        std::uint64_t us = 0;
        ok = parse_u64(v.substr(pos, comma - pos).c_str(), us) && us <= 1'000'000 && list.size() < 16;
        list.push_back(us);
        pos = comma + 1;
      }
      if (!ok) {
        std::fprintf(stderr, "torq-jitter: --retention-idle-us needs up to 16 values in 0..1000000, e.g. 0,100,1000\n");
        return kUsage;
      }
      o.retention_idle_us = list;
    } else if (a == "--cores") {
      std::string v;
      if (!take(v)) { std::fprintf(stderr, "torq-jitter: --cores needs a list\n"); return kUsage; }
      const auto r = torq::hw::parse_cpu_list(v);
      if (!r.ok() || r.cpus.empty()) {
        std::fprintf(stderr, "torq-jitter: bad --cores '%s': %s\n", v.c_str(), r.ok() ? "empty" : r.error.c_str());
        return kUsage;
      }
      o.cores = r.cpus;
      cores_given = true;
    } else if (a == "--duration-ms") {
      if (!take_range(o.duration_ms, 1, 3'600'000)) return kUsage;
    } else if (a == "--threshold-ns") {
      if (!take_range(o.threshold_ns, 0, 1'000'000'000)) return kUsage;
    } else if (a == "--max-events") {
      if (!take_range(o.max_events, 1, 1u << 28)) return kUsage;
    } else if (a == "--cyclictest-ms") {
      if (!take_range(o.cyclictest_ms, 1, 3'600'000)) return kUsage;
    } else {
      std::fprintf(stderr, "torq-jitter: unknown argument '%s'\n", argv[i]);
      usage(stderr);
      return kUsage;
    }
  }
  if (!cores_given) {
    const auto iso = torq::hw::detect_isolation();
    o.cores = iso.isolated;
    if (o.cores.empty()) {
      const auto allowed = torq::hw::allowed_cpus();
      if (!allowed.empty()) o.cores.push_back(allowed.back());
    }
    if (o.cores.empty()) {
      std::fprintf(stderr, "torq-jitter: no cpu to measure (pass --cores)\n");
      return 1;
    }
  }
  return 0;
}

// Spins on one core; fills `out`. Runs on its own thread.
void measure_core(int cpu, const Options& o, const torq::hw::TscClock& clock,
                  const std::atomic<bool>& go, CoreReport& out) {
  out.cpu = cpu;
  out.threshold_ns = o.threshold_ns;
  if (!torq::hw::pin_current_thread(cpu)) {
    out.error = "cannot pin to cpu " + std::to_string(cpu) + " (offline, invalid or not allowed)";
    return;
  }
  // Allocate after pinning so that first touch places the buffer on this core's NUMA node.
  std::optional<torq::tuning::GapRecorder> rec;
  try {
    rec.emplace(static_cast<std::size_t>(o.max_events));
  } catch (const std::exception& e) {
    out.error = std::string("cannot allocate the gap buffer: ") + e.what();
    return;
  }
  while (!go.load(std::memory_order_acquire)) {
  }
  const auto spin = torq::tuning::spin_for(clock, o.duration_ms * 1'000'000u, o.threshold_ns, *rec);
  out = torq::tuning::summarize(cpu, spin, o.threshold_ns, *rec);
  if (!o.retention) return;
  std::vector<std::uint64_t> idle_ns;
  for (const std::uint64_t us : o.retention_idle_us) idle_ns.push_back(us * 1000);
  try {
    const torq::tuning::LineChain chain(static_cast<std::size_t>(o.retention_kib) * 1024, 0x70727121u + static_cast<unsigned>(cpu));
    out.retention = torq::tuning::measure_retention(clock, chain, idle_ns, static_cast<std::size_t>(o.retention_walks));
    out.retention_lines = chain.lines();
  } catch (const std::exception& e) {
    out.error = std::string("cannot allocate the retention working set: ") + e.what();
  }
}

std::string find_on_path(const char* name) {
  const char* path = std::getenv("PATH");
  if (path == nullptr) return {};
  std::string p = path;
  std::size_t start = 0;
  while (start <= p.size()) {
    auto end = p.find(':', start);
    if (end == std::string::npos) end = p.size();
    std::string dir = p.substr(start, end - start);
    if (dir.empty()) dir = ".";
    const std::string cand = dir + "/" + name;
    if (::access(cand.c_str(), X_OK) == 0) return cand;
    start = end + 1;
  }
  return {};
}

struct CyclictestResult {
  std::string status = "not_requested";  // not_requested | unavailable | ok | failed
  std::string command;
  std::string detail;
  std::vector<CyclictestThread> threads;
};

CyclictestResult run_cyclictest(const Options& o) {
  CyclictestResult r;
  if (!o.cyclictest) return r;
  const std::string exe = find_on_path("cyclictest");
  if (exe.empty()) {
    r.status = "unavailable";
    r.detail = "cyclictest not found on PATH (Debian package rt-tests)";
    return r;
  }
  const std::uint64_t loops = std::max<std::uint64_t>(1, o.cyclictest_ms * 1000 / o.cyclictest_interval_us);
  std::string cpus = torq::hw::format_cpu_list(o.cores);
  r.command = exe + " -q -m -p 95 -i " + std::to_string(o.cyclictest_interval_us) + " -d 0 -a " + cpus +
              " -t " + std::to_string(o.cores.size()) + " -l " + std::to_string(loops);
  std::FILE* p = ::popen((r.command + " 2>&1").c_str(), "r");
  if (p == nullptr) {
    r.status = "failed";
    r.detail = std::string("popen: ") + std::strerror(errno);
    return r;
  }
  std::string out;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int st = ::pclose(p);
  r.threads = torq::tuning::parse_cyclictest_summary(out);
  if (st != 0 || r.threads.empty()) {
    r.status = "failed";
    r.detail = out.size() > 400 ? out.substr(out.size() - 400) : out;
    r.detail += " (exit status " + std::to_string(st) + ")";
  } else {
    r.status = "ok";
  }
  return r;
}

std::string json_escape(const std::string& s) {
  std::string o = "\"";
  for (const unsigned char c : s) {
    switch (c) {
      case '"': o += "\\\""; break;
      case '\\': o += "\\\\"; break;
      case '\n': o += "\\n"; break;
      case '\r': o += "\\r"; break;
      case '\t': o += "\\t"; break;
      default:
        if (c < 0x20) {
          char u[8];
          std::snprintf(u, sizeof u, "\\u%04x", c);
          o += u;
        } else {
          o += static_cast<char>(c);
        }
    }
  }
  return o + "\"";
}

void print_json(const Options& o, const torq::hw::TscClock& clock, const std::vector<CoreReport>& cores,
                const CyclictestResult& ct) {
  std::printf("{\"tool\":\"torq-jitter\",\"version\":1,\"duration_ms\":%" PRIu64 ",\"threshold_ns\":%" PRIu64
              ",\"tsc_ghz\":%.6f,\"tsc_invariant\":%s,\"cores\":[",
              o.duration_ms, o.threshold_ns, clock.ghz(), clock.invariant() ? "true" : "false");
  for (std::size_t i = 0; i < cores.size(); ++i) {
    const auto& c = cores[i];
    std::printf("%s\n{\"cpu\":%d,\"pinned\":%s,\"error\":%s,\"samples\":%" PRIu64 ",\"elapsed_ns\":%" PRIu64
                ",\"mean_loop_ns\":%.3f,\"threshold_ns\":%" PRIu64 ",\"count\":%" PRIu64 ",\"dropped\":%" PRIu64
                ",\"p50_ns\":%" PRIu64 ",\"p99_ns\":%" PRIu64 ",\"p999_ns\":%" PRIu64 ",\"max_ns\":%" PRIu64
                ",\"lost_ns\":%" PRIu64 ",\"percent_lost\":%.6f,\"histogram\":[",
                i ? "," : "", c.cpu, c.pinned ? "true" : "false", c.error.empty() ? "null" : json_escape(c.error).c_str(),
                c.samples, c.elapsed_ns, c.mean_loop_ns, c.threshold_ns, c.count, c.dropped, c.p50_ns, c.p99_ns,
                c.p999_ns, c.max_ns, c.lost_ns, c.percent_lost);
    for (std::size_t k = 0; k < c.histogram.size(); ++k) {
      std::printf("%s{\"lo_ns\":%" PRIu64 ",\"hi_ns\":%" PRIu64 ",\"count\":%" PRIu64 "}", k ? "," : "",
                  c.histogram[k].lo_ns, c.histogram[k].hi_ns, c.histogram[k].count);
    }
    std::printf("],\"retention\":");
    if (c.retention.empty()) {
      std::printf("null}");
      continue;
    }
    std::printf("{\"lines\":%zu,\"bytes\":%zu,\"points\":[", c.retention_lines, c.retention_lines * 64);
    for (std::size_t k = 0; k < c.retention.size(); ++k) {
      const auto& r = c.retention[k];
      std::printf("%s{\"idle_us\":%" PRIu64 ",\"walks\":%" PRIu64 ",\"p50_walk_ns\":%" PRIu64 ",\"p90_walk_ns\":%" PRIu64
                  ",\"p50_ns_per_line\":%.3f,\"ratio\":%.3f}",
                  k ? "," : "", r.idle_ns / 1000, r.walks, r.p50_walk_ns, r.p90_walk_ns, r.p50_ns_per_line, r.ratio);
    }
    std::printf("]}}");
  }
  std::printf("\n],\"cyclictest\":{\"status\":%s", json_escape(ct.status).c_str());
  if (!ct.command.empty()) std::printf(",\"command\":%s", json_escape(ct.command).c_str());
  if (!ct.detail.empty()) std::printf(",\"detail\":%s", json_escape(ct.detail).c_str());
  std::printf(",\"threads\":[");
  for (std::size_t i = 0; i < ct.threads.size(); ++i) {
    const auto& t = ct.threads[i];
    const int cpu = o.cores.empty() ? -1 : o.cores[static_cast<std::size_t>(t.thread) % o.cores.size()];
    std::printf("%s{\"thread\":%d,\"cpu\":%d,\"priority\":%d,\"interval_us\":%" PRIu64 ",\"cycles\":%" PRIu64
                ",\"min_us\":%" PRIu64 ",\"avg_us\":%" PRIu64 ",\"max_us\":%" PRIu64 "}",
                i ? "," : "", t.thread, cpu, t.priority, t.interval_us, t.cycles, t.min_us, t.avg_us, t.max_us);
  }
  std::printf("]}}\n");
}

void print_text(const Options& o, const torq::hw::TscClock& clock, const std::vector<CoreReport>& cores,
                const CyclictestResult& ct) {
  std::printf("torq-jitter: %" PRIu64 " ms per core, threshold %" PRIu64 " ns, TSC %.3f GHz%s\n\n", o.duration_ms,
              o.threshold_ns, clock.ghz(), clock.invariant() ? "" : " (NOT invariant: results unreliable)");
  std::printf("%4s %12s %9s %9s %9s %9s %11s %9s %8s\n", "cpu", "samples", "gaps", "p50_ns", "p99_ns", "p99.9_ns",
              "max_ns", "lost_%", "loop_ns");
  for (const auto& c : cores) {
    if (!c.error.empty()) {
      std::printf("%4d  error: %s\n", c.cpu, c.error.c_str());
      continue;
    }
    std::printf("%4d %12" PRIu64 " %9" PRIu64 " %9" PRIu64 " %9" PRIu64 " %9" PRIu64 " %11" PRIu64 " %9.4f %8.1f\n",
                c.cpu, c.samples, c.count, c.p50_ns, c.p99_ns, c.p999_ns, c.max_ns, c.percent_lost, c.mean_loop_ns);
    if (c.dropped) std::printf("      (%" PRIu64 " gaps not stored: raise --max-events)\n", c.dropped);
  }
  for (const auto& c : cores) {
    if (!c.error.empty() || c.histogram.empty()) continue;
    std::printf("\ncpu %d gaps above %" PRIu64 " ns (log2 buckets):\n", c.cpu, c.threshold_ns);
    std::uint64_t peak = 1;
    for (const auto& b : c.histogram) peak = std::max(peak, b.count);
    for (const auto& b : c.histogram) {
      const int bar = static_cast<int>((b.count * 50 + peak - 1) / peak);
      std::printf("  [%10" PRIu64 ", %10" PRIu64 ") %10" PRIu64 " %.*s\n", b.lo_ns, b.hi_ns, b.count, bar,
                  "##################################################");
    }
  }
  for (const auto& c : cores) {
    if (!c.error.empty() || c.retention.empty()) continue;
    std::printf("\ncpu %d cache retention, %zu KiB working set (a walk after each idle spell):\n", c.cpu,
                c.retention_lines * 64 / 1024);
    std::printf("  %10s %8s %12s %12s %12s %7s\n", "idle_us", "walks", "p50_walk_ns", "p90_walk_ns", "ns_per_line", "ratio");
    for (const auto& r : c.retention)
      std::printf("  %10" PRIu64 " %8" PRIu64 " %12" PRIu64 " %12" PRIu64 " %12.2f %7.2f\n", r.idle_ns / 1000, r.walks,
                  r.p50_walk_ns, r.p90_walk_ns, r.p50_ns_per_line, r.ratio);
  }
  if (ct.status != "not_requested") {
    std::printf("\ncyclictest: %s%s%s\n", ct.status.c_str(), ct.detail.empty() ? "" : ": ", ct.detail.c_str());
    for (const auto& t : ct.threads) {
      std::printf("  thread %d: %" PRIu64 " cycles at %" PRIu64 " us, min %" PRIu64 " avg %" PRIu64 " max %" PRIu64
                  " us\n",
                  t.thread, t.cycles, t.interval_us, t.min_us, t.avg_us, t.max_us);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (const int rc = parse_args(argc, argv, o); rc != 0) return rc < 0 ? 0 : rc;

  torq::hw::TscClock clock;
  try {
    clock = torq::hw::TscClock::calibrate(std::chrono::milliseconds(100));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "torq-jitter: TSC calibration failed: %s\n", e.what());
    return 1;
  }

  std::vector<CoreReport> reports(o.cores.size());
  std::atomic<bool> go{false};
  {
    std::vector<std::thread> threads;
    threads.reserve(o.cores.size());
    for (std::size_t i = 0; i < o.cores.size(); ++i) {
      threads.emplace_back(measure_core, o.cores[i], std::cref(o), std::cref(clock), std::cref(go),
                           std::ref(reports[i]));
    }
    // Let every thread pin and prefault before the clocks start together.
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    go.store(true, std::memory_order_release);
    for (auto& t : threads) t.join();
  }

  const CyclictestResult ct = run_cyclictest(o);
  if (o.json) print_json(o, clock, reports, ct);
  else print_text(o, clock, reports, ct);

  for (const auto& r : reports) {
    if (!r.error.empty()) return 1;
  }
  return 0;
}
