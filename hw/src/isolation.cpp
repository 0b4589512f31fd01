// Implementation of torq/hw/isolation.hpp.
#include "torq/hw/isolation.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "text.hpp"

namespace torq::hw {
namespace {

using detail::is_blank;
using detail::trim;

// Parses a decimal number in [0, kMaxCpuNumber], or "N" (last cpu) when nr_cpus > 0.
bool parse_number(std::string_view s, int nr_cpus, int& out, std::string& error) {
  if (s == "N" && nr_cpus > 0) {
    out = nr_cpus - 1;
    return true;
  }
  if (s.empty()) {
    error = "missing number";
    return false;
  }
  long long v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') {
      error = "unexpected character '" + std::string(1, c) + "' in \"" + std::string(s) + "\"";
      return false;
    }
    v = v * 10 + (c - '0');
    if (v > kMaxCpuNumber) {
      error = "cpu number \"" + std::string(s) + "\" exceeds " + std::to_string(kMaxCpuNumber);
      return false;
    }
  }
  out = static_cast<int>(v);
  return true;
}

bool parse_item(std::string_view item, int nr_cpus, std::vector<int>& cpus, std::string& error) {
  std::string_view range = item;
  int used = 0, group = 0;
  bool has_group = false;
  if (const auto colon = item.find(':'); colon != std::string_view::npos) {
    range = item.substr(0, colon);
    const std::string_view g = item.substr(colon + 1);
    const auto slash = g.find('/');
    if (slash == std::string_view::npos) {
      error = "group spec \"" + std::string(g) + "\" must be used/group";
      return false;
    }
    if (!parse_number(g.substr(0, slash), 0, used, error) || !parse_number(g.substr(slash + 1), 0, group, error)) return false;
    if (used == 0 || group == 0 || used > group) {
      error = "group spec \"" + std::string(g) + "\" needs 0 < used <= group";
      return false;
    }
    has_group = true;
  }
  int lo = 0, hi = 0;
  if (const auto dash = range.find('-'); dash != std::string_view::npos) {
    if (!parse_number(range.substr(0, dash), nr_cpus, lo, error) || !parse_number(range.substr(dash + 1), nr_cpus, hi, error))
      return false;
    if (lo > hi) {
      error = "reversed range \"" + std::string(range) + "\"";
      return false;
    }
  } else {
    if (has_group) {
      error = "group spec needs a range, got \"" + std::string(item) + "\"";
      return false;
    }
    if (!parse_number(range, nr_cpus, lo, error)) return false;
    hi = lo;
  }
  for (int c = lo; c <= hi; ++c)
    if (!has_group || (c - lo) % group < used) cpus.push_back(c);
  return true;
}

std::string read_file(const std::string& path, bool& present) {
  std::ifstream f(path);
  present = static_cast<bool>(f);
  if (!present) return {};
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void fill_param(CmdlineCpuParam& p, std::string_view value, int nr_cpus, bool with_flags) {
  p.present = true;
  p.raw = std::string(value);
  p.flags.clear();
  std::string_view list = value;
  if (with_flags) {
    // isolcpus=[flag,...,]cpu-list where flags are words such as nohz, domain, managed_irq.
    while (!list.empty()) {
      const auto comma = list.find(',');
      const std::string_view head = list.substr(0, comma);
      if (head.empty() || !((head.front() >= 'a' && head.front() <= 'z'))) break;
      p.flags.emplace_back(head);
      list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
    }
  }
  if (list == "all") {
    if (nr_cpus > 0) {
      p.list = CpuListResult{};
      for (int c = 0; c < nr_cpus; ++c) p.list.cpus.push_back(c);
    } else {
      p.list = CpuListResult{{}, "\"all\" needs the cpu count to expand"};
    }
    return;
  }
  p.list = parse_cpu_list(list, nr_cpus);
}

bool contains(const std::vector<int>& v, int x) { return std::binary_search(v.begin(), v.end(), x); }

}  // namespace

CpuListResult parse_cpu_list(std::string_view text, int nr_cpus) {
  CpuListResult r;
  text = trim(text);
  if (text.empty()) return r;
  std::size_t start = 0;
  while (true) {
    const auto comma = text.find(',', start);
    const std::string_view item = text.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    if (item.empty()) {
      r.error = "empty item at offset " + std::to_string(start);
      r.cpus.clear();
      return r;
    }
    if (!parse_item(item, nr_cpus, r.cpus, r.error)) {
      r.error += " (item \"" + std::string(item) + "\" at offset " + std::to_string(start) + ")";
      r.cpus.clear();
      return r;
    }
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  std::sort(r.cpus.begin(), r.cpus.end());
  r.cpus.erase(std::unique(r.cpus.begin(), r.cpus.end()), r.cpus.end());
  return r;
}

std::string format_cpu_list(const std::vector<int>& in) {
  std::vector<int> cpus = in;
  std::sort(cpus.begin(), cpus.end());
  cpus.erase(std::unique(cpus.begin(), cpus.end()), cpus.end());
  std::string out;
  for (std::size_t i = 0; i < cpus.size();) {
    std::size_t j = i;
    while (j + 1 < cpus.size() && cpus[j + 1] == cpus[j] + 1) ++j;
    if (!out.empty()) out += ',';
    out += std::to_string(cpus[i]);
    if (j > i) out += '-' + std::to_string(cpus[j]);
    i = j + 1;
  }
  return out;
}

KernelCmdlineIsolation parse_kernel_cmdline(std::string_view cmdline, int nr_cpus) {
  KernelCmdlineIsolation k;
  std::size_t pos = 0;
  while (pos < cmdline.size()) {
    while (pos < cmdline.size() && is_blank(cmdline[pos])) ++pos;
    if (pos >= cmdline.size()) break;
    std::size_t end = pos;
    bool quoted = false;
    while (end < cmdline.size() && (quoted || !is_blank(cmdline[end]))) {
      if (cmdline[end] == '"') quoted = !quoted;
      ++end;
    }
    std::string token(cmdline.substr(pos, end - pos));
    pos = end;
    if (token == "--") break;  // the rest goes to init
    token.erase(std::remove(token.begin(), token.end(), '"'), token.end());
    const auto eq = token.find('=');
    const std::string key = token.substr(0, eq);
    const std::string_view value = eq == std::string::npos ? std::string_view{} : std::string_view(token).substr(eq + 1);
    if (key == "isolcpus" && eq != std::string::npos) {
      fill_param(k.isolcpus, value, nr_cpus, true);
    } else if (key == "nohz_full" && eq != std::string::npos) {
      fill_param(k.nohz_full, value, nr_cpus, false);
    } else if (key == "rcu_nocbs") {
      fill_param(k.rcu_nocbs, value, nr_cpus, false);
    }
  }
  return k;
}

bool IsolationInfo::is_isolated(int cpu) const noexcept { return contains(isolated, cpu); }
bool IsolationInfo::is_nohz_full(int cpu) const noexcept { return contains(nohz_full, cpu); }

std::vector<int> IsolationInfo::fully_isolated() const {
  std::vector<int> out;
  for (int c : isolated) {
    if (!contains(nohz_full, c)) continue;
    if (cmdline.rcu_nocbs.present && cmdline.rcu_nocbs.list.ok() && !cmdline.rcu_nocbs.list.cpus.empty() &&
        !contains(cmdline.rcu_nocbs.list.cpus, c))
      continue;
    out.push_back(c);
  }
  return out;
}

IsolationInfo detect_isolation(const std::string& sysfs_root, const std::string& procfs_root) {
  IsolationInfo info;
  const std::string cpu_dir = sysfs_root + "/devices/system/cpu/";
  auto read_list = [&](const char* name, std::vector<int>& out, bool& present, bool expected) {
    const std::string path = cpu_dir + name;
    const std::string text = read_file(path, present);
    if (!present) {
      if (expected) info.warnings.push_back(path + ": cannot be read");
      return;
    }
    CpuListResult r = parse_cpu_list(text);
    if (!r.ok()) {
      info.warnings.push_back(path + ": " + r.error);
      return;
    }
    out = std::move(r.cpus);
  };
  bool online_present = false;
  read_list("online", info.online, online_present, true);
  read_list("isolated", info.isolated, info.isolated_file_present, true);
  read_list("nohz_full", info.nohz_full, info.nohz_full_file_present, false);  // absent without CONFIG_NO_HZ_FULL

  const int nr_cpus = info.online.empty() ? 0 : info.online.back() + 1;
  bool cmdline_present = false;
  const std::string cmdline = read_file(procfs_root + "/cmdline", cmdline_present);
  if (!cmdline_present) {
    info.warnings.push_back(procfs_root + "/cmdline: cannot be read");
  } else {
    info.cmdline = parse_kernel_cmdline(cmdline, nr_cpus);
    for (const auto* p : {&info.cmdline.isolcpus, &info.cmdline.nohz_full, &info.cmdline.rcu_nocbs})
      if (p->present && !p->list.ok()) info.warnings.push_back("kernel command line: \"" + p->raw + "\": " + p->list.error);
  }
  return info;
}

}  // namespace torq::hw
