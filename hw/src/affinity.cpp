// Implementation of torq/hw/affinity.hpp.
#include "torq/hw/affinity.hpp"

#include <sched.h>

#include <cstdlib>

namespace torq::hw {
namespace {

// Kernel cpu masks can exceed CPU_SETSIZE (1024) on very large machines; size dynamically.
constexpr int kMaxCpus = 8192;

struct DynCpuSet {
  cpu_set_t* set = nullptr;
  std::size_t bytes = 0;
  explicit DynCpuSet(int ncpus) noexcept : set(CPU_ALLOC(ncpus)), bytes(CPU_ALLOC_SIZE(ncpus)) {
    if (set != nullptr) CPU_ZERO_S(bytes, set);
  }
  ~DynCpuSet() {
    if (set != nullptr) CPU_FREE(set);
  }
  DynCpuSet(const DynCpuSet&) = delete;
  DynCpuSet& operator=(const DynCpuSet&) = delete;
};

}  // namespace

bool pin_current_thread(int cpu) noexcept {
  if (cpu < 0 || cpu >= kMaxCpus) return false;
  DynCpuSet s(cpu + 1);
  if (s.set == nullptr) return false;
  CPU_SET_S(static_cast<std::size_t>(cpu), s.bytes, s.set);
  return sched_setaffinity(0, s.bytes, s.set) == 0;
}

int current_cpu() noexcept { return sched_getcpu(); }

std::vector<int> allowed_cpus() {
  std::vector<int> out;
  // Grow until the kernel's mask fits (EINVAL means our buffer is too small).
  for (int n = 1024; n <= kMaxCpus; n *= 2) {
    DynCpuSet s(n);
    if (s.set == nullptr) return out;
    if (sched_getaffinity(0, s.bytes, s.set) == 0) {
      for (int c = 0; c < n; ++c)
        if (CPU_ISSET_S(static_cast<std::size_t>(c), s.bytes, s.set)) out.push_back(c);
      return out;
    }
  }
  return out;
}

bool set_current_thread_affinity(const std::vector<int>& cpus) noexcept {
  if (cpus.empty()) return false;
  int highest = -1;
  for (int c : cpus) {
    if (c < 0 || c >= kMaxCpus) return false;
    if (c > highest) highest = c;
  }
  DynCpuSet s(highest + 1);
  if (s.set == nullptr) return false;
  for (int c : cpus) CPU_SET_S(static_cast<std::size_t>(c), s.bytes, s.set);
  return sched_setaffinity(0, s.bytes, s.set) == 0;
}

}  // namespace torq::hw
