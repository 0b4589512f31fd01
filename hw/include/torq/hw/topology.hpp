// torq/hw/topology.hpp — the machine's CPU and memory topology, discovered once with hwloc.
//
// Owns: Topology, a plain value describing packages (sockets), NUMA nodes, L3 cache domains (the
// CPUs sharing one L3: a whole socket on most Intel parts, one CCX/CCD of 4-8 cores on AMD EPYC),
// physical cores with their processing units (PUs = logical CPUs, SMT siblings) and a per-CPU
// lookup of core, package, NUMA node and L3 domain; and check_hot_placement, which reports how a
// set of pinned busy-polling roles sits on that topology (shared cores, NUMA nodes, L3 domains). All CPU numbers are OS indices (as used by sched_setaffinity, /sys, taskset).
// Only CPUs this process may use (hwloc's "allowed" set, i.e. the cgroup cpuset) are listed.
// Thread-safety: discover() may be called from any thread; a Topology is immutable afterwards and
// safe to read from any number of threads. Allocation: discover() and the vector-returning helpers
// allocate (start-up only); the int-returning lookups are noexcept and do not allocate.
// discover() throws std::runtime_error if hwloc cannot load the topology.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace torq::hw {

struct Core {
  int index = 0;          // position in Topology::cores
  int os_index = -1;      // the kernel's core id (may repeat across packages; -1 if unknown)
  int package = 0;        // position in Topology::packages
  int numa_node = -1;     // OS index of the NUMA node local to this core (-1 if unknown)
  std::vector<int> cpus;  // PUs (OS indices) of this core, ascending: SMT siblings of each other
};

struct NumaNode {
  int os_index = 0;
  std::uint64_t memory_bytes = 0;  // local memory hwloc reports (0 if unknown)
  std::vector<int> cpus;           // PUs local to the node, ascending (may be empty: CPU-less node)
};

// The CPUs that share one L3 cache. A frame handed between two cores of one domain moves
// through that L3; between domains it crosses the socket's fabric (or QPI/UPI across sockets):
// on AMD EPYC 2-3x the latency of the same hand-off inside a CCX.
struct CacheDomain {
  int index = 0;            // position in Topology::l3_caches
  std::uint64_t bytes = 0;  // cache size hwloc reports (0 if unknown)
  std::vector<int> cpus;    // PUs sharing it, ascending
};

struct Package {
  int os_index = -1;
  std::vector<int> cores;  // positions in Topology::cores
  std::vector<int> cpus;   // PUs, ascending
};

struct Topology {
  std::vector<Package> packages;     // >= 1 after discover()
  std::vector<NumaNode> numa_nodes;  // >= 1 after discover()
  std::vector<Core> cores;           // >= 1 after discover(), ordered by first PU
  std::vector<int> cpus;             // every usable PU, ascending
  // Empty when hwloc reports no L3 (many virtual machines expose no cache information).
  std::vector<CacheDomain> l3_caches;

  // Indexed by OS cpu index (size = highest cpu + 1); -1 for cpus absent from the topology.
  std::vector<int> cpu_numa_node;    // OS index of the NUMA node
  std::vector<int> cpu_core;         // position in cores
  std::vector<int> cpu_package;      // position in packages
  std::vector<int> cpu_l3;           // position in l3_caches (-1: unknown)

  std::string cpu_model;             // e.g. "AMD EPYC 7763", empty if unknown

  // Loads the topology of this machine with hwloc.
  static Topology discover();

  [[nodiscard]] bool has_cpu(int cpu) const noexcept {
    return cpu >= 0 && static_cast<std::size_t>(cpu) < cpu_core.size() &&
           cpu_core[static_cast<std::size_t>(cpu)] >= 0;
  }
  // All PUs of the core that `cpu` belongs to, including `cpu` itself, ascending (like the kernel's
  // thread_siblings_list). Empty if `cpu` is not in the topology.
  [[nodiscard]] std::vector<int> smt_siblings(int cpu) const;
  // OS index of the NUMA node of `cpu`, or -1 if unknown.
  [[nodiscard]] int numa_node_of_cpu(int cpu) const noexcept;
  // Position in `cores` of the core holding `cpu`, or -1.
  [[nodiscard]] int core_of_cpu(int cpu) const noexcept;
  // Position in `packages` of the package holding `cpu`, or -1.
  [[nodiscard]] int package_of_cpu(int cpu) const noexcept;
  // Position in `l3_caches` of the L3 domain holding `cpu`, or -1 (unknown cpu or no L3 reported).
  [[nodiscard]] int l3_of_cpu(int cpu) const noexcept;
  // True when some core has more than one PU.
  [[nodiscard]] bool smt_enabled() const noexcept;
  // One PU per core (the lowest), in core order, optionally only cores on NUMA node `node`
  // (-1: all): the usual list of candidate CPUs for pinned busy-polling threads.
  [[nodiscard]] std::vector<int> one_cpu_per_core(int node = -1) const;
};

// A pinned busy-polling thread of the hot path and its CPU (e.g. {"strategy", 3}); cpu < 0: not
// pinned (ignored by the check).
struct HotRole {
  std::string name;
  int cpu = -1;
};

struct PlacementIssue {
  enum class Kind : std::uint8_t {
    unknown_cpu,   // not a usable CPU of this machine (offline, outside the cpuset)
    shared_core,   // two roles on one physical core (same CPU or SMT siblings): they halve each other
    numa_split,    // the roles span NUMA nodes: their rings and state live remote to some of them
    l3_split,      // the roles span L3 domains: every hand-off between them crosses caches
  };
  Kind kind;
  std::string message;  // names the roles and CPUs, and what to change
};
[[nodiscard]] const char* to_string(PlacementIssue::Kind k) noexcept;

// How `roles` sit on `topo`: an empty result means distinct physical cores in one NUMA node and
// one L3 domain (or no L3 information). Start-up / tooling only (allocates).
[[nodiscard]] std::vector<PlacementIssue> check_hot_placement(const Topology& topo, const std::vector<HotRole>& roles);

}  // namespace torq::hw
