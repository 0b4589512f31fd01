// torq/hw/affinity.hpp — CPU pinning of the calling thread and queries of where it may run.
//
// Owns: thin, error-returning wrappers over sched_setaffinity/sched_getaffinity/sched_getcpu.
// Thread-safety: every function acts on the calling thread only and may be called from any
// thread concurrently. Allocation: pin_current_thread() and current_cpu() never allocate and are
// noexcept (they are syscalls: call them at start-up, not per message); allowed_cpus() and
// set_current_thread_affinity() allocate a std::vector / cpu set.
#pragma once

#include <vector>

namespace torq::hw {

// Pins the calling thread to exactly one CPU (OS index). Returns false, leaving the affinity
// unchanged, if `cpu` is negative, beyond the kernel's CPU limit, offline, or not permitted by
// the process's cpuset. On success the kernel has already migrated the thread, so
// current_cpu() == cpu afterwards.
[[nodiscard]] bool pin_current_thread(int cpu) noexcept;

// The CPU the calling thread is running on now (sched_getcpu()), or -1 if unknown.
[[nodiscard]] int current_cpu() noexcept;

// The CPUs the calling thread may run on (sched_getaffinity), ascending. Empty on error.
[[nodiscard]] std::vector<int> allowed_cpus();

// Sets the calling thread's affinity to the given CPUs (e.g. to restore a saved allowed_cpus()).
// Returns false, leaving the affinity unchanged, if the set is empty, holds an invalid CPU, or
// the kernel refuses it.
[[nodiscard]] bool set_current_thread_affinity(const std::vector<int>& cpus) noexcept;

}  // namespace torq::hw
