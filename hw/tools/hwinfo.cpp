// torq-hwinfo: prints what torq::hw sees on this host: topology, isolated cores, NUMA nodes,
// hugepages, transparent hugepages, memlock limit and the TSC (invariant, calibrated frequency).
// Usage: torq-hwinfo [--json] [--calibration-ms N]. Exit status: 0 ok, 1 topology discovery
// failed, 64 bad usage.
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "torq/hw/affinity.hpp"
#include "torq/hw/isolation.hpp"
#include "torq/hw/memlock.hpp"
#include "torq/hw/numa_memory.hpp"
#include "torq/hw/topology.hpp"
#include "torq/hw/tsc.hpp"

namespace {

using namespace torq::hw;

std::string json_escape(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

std::string json_ints(const std::vector<int>& v) {
  std::string out = "[";
  for (std::size_t i = 0; i < v.size(); ++i) out += (i ? "," : "") + std::to_string(v[i]);
  return out + "]";
}

std::string json_param(const CmdlineCpuParam& p) {
  if (!p.present) return "null";
  std::string flags = "[";
  for (std::size_t i = 0; i < p.flags.size(); ++i) flags += (i ? "," : "") + json_escape(p.flags[i]);
  flags += "]";
  return "{\"raw\":" + json_escape(p.raw) + ",\"flags\":" + flags + ",\"cpus\":" + json_ints(p.list.cpus) +
         ",\"error\":" + (p.list.ok() ? std::string("null") : json_escape(p.list.error)) + "}";
}

std::string thp_mode() {
  std::ifstream f("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string line;
  if (!f || !std::getline(f, line)) return "unavailable";
  const auto a = line.find('['), b = line.find(']');
  return (a != std::string::npos && b != std::string::npos && b > a) ? line.substr(a + 1, b - a - 1) : line;
}

std::string list_or_dash(const std::vector<int>& v) { return v.empty() ? "-" : format_cpu_list(v); }

std::string param_text(const CmdlineCpuParam& p) {
  if (!p.present) return "-";
  return p.raw + (p.list.ok() ? "" : "  (malformed: " + p.list.error + ")");
}

std::string bytes_text(std::uint64_t b) {
  char buf[64];
  if (b >= (1ULL << 30)) std::snprintf(buf, sizeof buf, "%.1f GiB", static_cast<double>(b) / (1ULL << 30));
  else if (b >= (1ULL << 20)) std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(b) / (1ULL << 20));
  else std::snprintf(buf, sizeof buf, "%llu KiB", static_cast<unsigned long long>(b / 1024));
  return buf;
}

constexpr int kExitUsage = 64;  // EX_USAGE, as torq-jitter and tuning/check

void usage(std::FILE* f) {
  std::fputs("usage: torq-hwinfo [--json] [--calibration-ms N]\n"
             "Prints CPU topology, isolated cores, NUMA nodes, hugepages and the TSC clock.\n"
             "  --json              one JSON document on stdout\n"
             "  --calibration-ms N  TSC calibration time, 1..10000 (default 50)\n"
             "exit status: 0 ok, 1 topology discovery failed, 64 bad usage\n",
             f);
}

int bad_usage(const std::string& why) {
  std::fprintf(stderr, "torq-hwinfo: %s\n", why.c_str());
  usage(stderr);
  return kExitUsage;
}

}  // namespace

int main(int argc, char** argv) {
  bool json = false;
  long calib_ms = 50;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--json") {
      json = true;
    } else if (a == "--help" || a == "-h") {
      usage(stdout);
      return 0;
    } else if (a == "--calibration-ms") {
      if (i + 1 >= argc) return bad_usage("--calibration-ms needs a value");
      const std::string_view v = argv[++i];
      const bool digits = !v.empty() && v.size() <= 5 && v.find_first_not_of("0123456789") == std::string_view::npos;
      calib_ms = digits ? std::strtol(argv[i], nullptr, 10) : 0;
      if (calib_ms < 1 || calib_ms > 10000) return bad_usage("--calibration-ms needs 1..10000, got '" + std::string(v) + "'");
    } else {
      return bad_usage("unknown argument '" + std::string(a) + "'");
    }
  }

  Topology topo;
  try {
    topo = Topology::discover();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "torq-hwinfo: topology discovery failed: %s\n", e.what());
    return 1;
  }
  const IsolationInfo iso = detect_isolation();
  const auto pools = hugepage_pools();
  const auto allowed = allowed_cpus();
  const auto limit = memlock_limit();
  TscClock tsc;
  std::string tsc_error;
  try {
    tsc = TscClock::calibrate(std::chrono::milliseconds(calib_ms));
  } catch (const std::exception& e) {
    tsc_error = e.what();
  }
  const bool invariant = tsc_invariant();
  const std::string thp = thp_mode();

  if (json) {
    std::ostringstream o;
    o << "{\"cpu_model\":" << json_escape(topo.cpu_model) << ",\"cpus\":" << json_ints(topo.cpus)
      << ",\"allowed_cpus\":" << json_ints(allowed) << ",\"smt\":" << (topo.smt_enabled() ? "true" : "false")
      << ",\"packages\":[";
    for (std::size_t i = 0; i < topo.packages.size(); ++i)
      o << (i ? "," : "") << "{\"os_index\":" << topo.packages[i].os_index << ",\"cores\":" << json_ints(topo.packages[i].cores)
        << ",\"cpus\":" << json_ints(topo.packages[i].cpus) << "}";
    o << "],\"numa_nodes\":[";
    for (std::size_t i = 0; i < topo.numa_nodes.size(); ++i) {
      const auto& n = topo.numa_nodes[i];
      o << (i ? "," : "") << "{\"os_index\":" << n.os_index << ",\"memory_bytes\":" << n.memory_bytes
        << ",\"cpus\":" << json_ints(n.cpus) << "}";
    }
    o << "],\"l3_caches\":[";
    for (std::size_t i = 0; i < topo.l3_caches.size(); ++i)
      o << (i ? "," : "") << "{\"index\":" << topo.l3_caches[i].index << ",\"bytes\":" << topo.l3_caches[i].bytes
        << ",\"cpus\":" << json_ints(topo.l3_caches[i].cpus) << "}";
    o << "],\"cores\":[";
    for (std::size_t i = 0; i < topo.cores.size(); ++i) {
      const auto& c = topo.cores[i];
      o << (i ? "," : "") << "{\"index\":" << c.index << ",\"os_index\":" << c.os_index << ",\"package\":" << c.package
        << ",\"numa_node\":" << c.numa_node << ",\"l3\":" << topo.l3_of_cpu(c.cpus.front())
        << ",\"cpus\":" << json_ints(c.cpus) << "}";
    }
    o << "],\"isolation\":{\"online\":" << json_ints(iso.online) << ",\"isolated\":" << json_ints(iso.isolated)
      << ",\"nohz_full\":" << json_ints(iso.nohz_full) << ",\"nohz_full_file_present\":"
      << (iso.nohz_full_file_present ? "true" : "false") << ",\"fully_isolated\":" << json_ints(iso.fully_isolated())
      << ",\"cmdline\":{\"isolcpus\":" << json_param(iso.cmdline.isolcpus) << ",\"nohz_full\":"
      << json_param(iso.cmdline.nohz_full) << ",\"rcu_nocbs\":" << json_param(iso.cmdline.rcu_nocbs) << "},\"warnings\":[";
    for (std::size_t i = 0; i < iso.warnings.size(); ++i) o << (i ? "," : "") << json_escape(iso.warnings[i]);
    o << "]},\"numa_supported_nodes\":" << numa_node_count() << ",\"hugepages\":[";
    for (std::size_t i = 0; i < pools.size(); ++i)
      o << (i ? "," : "") << "{\"page_size\":" << pools[i].page_size << ",\"total\":" << pools[i].total
        << ",\"free\":" << pools[i].free << "}";
    o << "],\"transparent_hugepages\":" << json_escape(thp) << ",\"memlock_limit\":"
      << (limit ? std::to_string(*limit) : std::string("null")) << ",\"tsc\":{\"invariant\":"
      << (invariant ? "true" : "false") << ",\"hz\":" << tsc.hz() << ",\"mult\":" << tsc.mult()
      << ",\"shift\":" << tsc.shift() << ",\"calibration_ms\":" << calib_ms << ",\"error\":"
      << (tsc_error.empty() ? std::string("null") : json_escape(tsc_error)) << "}}\n";
    std::fputs(o.str().c_str(), stdout);
    return 0;
  }

  std::printf("CPU model        %s\n", topo.cpu_model.empty() ? "(unknown)" : topo.cpu_model.c_str());
  std::printf("Packages         %zu\nNUMA nodes       %zu\nCores            %zu\nCPUs (PUs)       %zu  [%s]\n",
              topo.packages.size(), topo.numa_nodes.size(), topo.cores.size(), topo.cpus.size(),
              format_cpu_list(topo.cpus).c_str());
  std::printf("SMT              %s\nAllowed CPUs     %s\n\n", topo.smt_enabled() ? "on" : "off",
              list_or_dash(allowed).c_str());

  std::printf("%-6s %-8s %-6s %-6s %-12s %-9s %-9s\n", "core", "package", "node", "l3", "cpus", "isolated", "nohz_full");
  for (const auto& c : topo.cores) {
    bool isol = true, nohz = true;
    for (int cpu : c.cpus) {
      isol = isol && iso.is_isolated(cpu);
      nohz = nohz && iso.is_nohz_full(cpu);
    }
    const int l3 = topo.l3_of_cpu(c.cpus.front());
    std::printf("%-6d %-8d %-6d %-6s %-12s %-9s %-9s\n", c.index, topo.packages[static_cast<std::size_t>(c.package)].os_index,
                c.numa_node, l3 < 0 ? "-" : std::to_string(l3).c_str(), format_cpu_list(c.cpus).c_str(), isol ? "yes" : "no",
                nohz ? "yes" : "no");
  }

  std::printf("\n%-6s %-12s %-12s\n", "l3", "size", "cpus (hot roles belong in one: docs/tuning.md)");
  if (topo.l3_caches.empty()) std::printf("(no L3 information)\n");
  for (const auto& d : topo.l3_caches)
    std::printf("%-6d %-12s %-12s\n", d.index, d.bytes != 0 ? bytes_text(d.bytes).c_str() : "?", format_cpu_list(d.cpus).c_str());

  std::printf("\n%-6s %-12s %-12s\n", "node", "memory", "cpus");
  for (const auto& n : topo.numa_nodes)
    std::printf("%-6d %-12s %-12s\n", n.os_index, bytes_text(n.memory_bytes).c_str(), list_or_dash(n.cpus).c_str());
  std::printf("libnuma nodes    %d\n", numa_node_count());

  std::printf("\nIsolation\n");
  std::printf("  isolated (sysfs)    %s\n", list_or_dash(iso.isolated).c_str());
  std::printf("  nohz_full (sysfs)   %s\n", iso.nohz_full_file_present ? list_or_dash(iso.nohz_full).c_str() : "(no file: kernel without NO_HZ_FULL)");
  std::printf("  isolcpus=           %s\n", param_text(iso.cmdline.isolcpus).c_str());
  std::printf("  nohz_full=          %s\n", param_text(iso.cmdline.nohz_full).c_str());
  std::printf("  rcu_nocbs=          %s\n", param_text(iso.cmdline.rcu_nocbs).c_str());
  std::printf("  fully isolated      %s\n", list_or_dash(iso.fully_isolated()).c_str());
  for (const auto& w : iso.warnings) std::printf("  warning: %s\n", w.c_str());

  std::printf("\nMemory\n");
  if (pools.empty()) std::printf("  hugepages           (no hugetlb support)\n");
  for (const auto& p : pools)
    std::printf("  hugepages %-9s total %llu, free %llu\n", bytes_text(p.page_size).c_str(),
                static_cast<unsigned long long>(p.total), static_cast<unsigned long long>(p.free));
  std::printf("  transparent hugepages  %s\n", thp.c_str());
  std::printf("  RLIMIT_MEMLOCK      %s\n", limit ? bytes_text(*limit).c_str() : "unlimited");

  std::printf("\nTSC\n  invariant           %s\n", invariant ? "yes" : "NO (do not use the TSC across cores/sleep states)");
  if (tsc_error.empty())
    std::printf("  frequency           %.6f GHz (calibrated over %ld ms against CLOCK_MONOTONIC_RAW)\n  to_ns               (cycles * %llu) >> %u\n",
                tsc.ghz(), calib_ms, static_cast<unsigned long long>(tsc.mult()), tsc.shift());
  else
    std::printf("  calibration failed  %s\n", tsc_error.c_str());
  return 0;
}
