// torq/hw/isolation.hpp — which CPUs the kernel keeps free for pinned busy-polling threads.
//
// Owns: parse_cpu_list(), the kernel's cpu-list syntax ("2-5,8,10-11", "0-15:2/4"), as a pure
// function; parse_kernel_cmdline() for isolcpus=, nohz_full= and rcu_nocbs=; and
// detect_isolation(), which reads /sys/devices/system/cpu/{isolated,nohz_full,online} and
// /proc/cmdline (under a configurable root so tests can use a fake tree).
// Thread-safety: all functions are reentrant and touch no shared state. Allocation: they all
// allocate (std::vector/std::string); start-up and reporting only. Nothing here throws except
// std::bad_alloc.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace torq::hw {

// Largest CPU number accepted by the parser (guards against "0-4000000000").
inline constexpr int kMaxCpuNumber = 65535;

struct CpuListResult {
  std::vector<int> cpus;  // ascending, no duplicates
  std::string error;      // empty on success; else what is wrong and where
  [[nodiscard]] bool ok() const noexcept { return error.empty(); }
};

// Parses the kernel's cpu-list format: comma-separated items, each `N`, `A-B` (A <= B) or
// `A-B:used/group` (in each group of `group` cpus starting at A, the first `used`). Leading and
// trailing whitespace (e.g. the newline in sysfs files) is ignored; an empty or all-blank string is
// an empty, valid list. `N` as a number means the last cpu (kernel >= 5.13) only when `nr_cpus` > 0.
// Rejects empty items ("1,,2"), reversed ranges ("5-2"), signs, non-digits, inner blanks, numbers
// above kMaxCpuNumber, and used == 0 / used > group.
[[nodiscard]] CpuListResult parse_cpu_list(std::string_view text, int nr_cpus = 0);

// Formats cpus (any order, duplicates allowed) back into the compact form, e.g. {2,3,4,5,8} -> "2-5,8".
[[nodiscard]] std::string format_cpu_list(const std::vector<int>& cpus);

// One cpu-list parameter from the kernel command line.
struct CmdlineCpuParam {
  bool present = false;             // the parameter appears on the command line
  std::string raw;                  // its value as written (last occurrence wins, like the kernel)
  std::vector<std::string> flags;   // isolcpus only: leading flags such as "nohz", "domain", "managed_irq"
  CpuListResult list;               // parsed cpus (ok() false if the value is malformed)
};

struct KernelCmdlineIsolation {
  CmdlineCpuParam isolcpus;
  CmdlineCpuParam nohz_full;
  CmdlineCpuParam rcu_nocbs;
};

// Extracts isolcpus=, nohz_full= and rcu_nocbs= from a kernel command line (pure). Parameters after
// a standalone "--" belong to init and are ignored. `rcu_nocbs` without a value (kernel >= 5.17,
// all cpus offloadable) is present with an empty list; "all" / "N" need nr_cpus > 0 to expand.
[[nodiscard]] KernelCmdlineIsolation parse_kernel_cmdline(std::string_view cmdline, int nr_cpus = 0);

struct IsolationInfo {
  std::vector<int> online;      // /sys/devices/system/cpu/online
  std::vector<int> isolated;    // /sys/devices/system/cpu/isolated (isolcpus domain isolation)
  std::vector<int> nohz_full;   // /sys/devices/system/cpu/nohz_full (empty when absent)
  bool isolated_file_present = false;
  bool nohz_full_file_present = false;
  KernelCmdlineIsolation cmdline;  // from /proc/cmdline
  std::vector<std::string> warnings;  // unreadable or malformed inputs, in words

  [[nodiscard]] bool is_isolated(int cpu) const noexcept;   // in `isolated`
  [[nodiscard]] bool is_nohz_full(int cpu) const noexcept;  // in `nohz_full`
  // CPUs that are isolated, nohz_full, and (when rcu_nocbs= is given) RCU-offloaded: the best
  // homes for busy-polling threads. Ascending; empty on an untuned host.
  [[nodiscard]] std::vector<int> fully_isolated() const;
};

// Reads the files under `sysfs_root` (default "/sys") and `procfs_root` (default "/proc").
// Missing files are not errors (a VM without nohz_full has no such file); they leave lists empty
// and, where unexpected, add a warning.
[[nodiscard]] IsolationInfo detect_isolation(const std::string& sysfs_root = "/sys",
                                             const std::string& procfs_root = "/proc");

}  // namespace torq::hw
