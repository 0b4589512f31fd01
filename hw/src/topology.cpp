// Implementation of torq/hw/topology.hpp (hwloc 2.x).
#include "torq/hw/topology.hpp"

#include <hwloc.h>

#include <algorithm>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>

#include "text.hpp"
#include "torq/hw/isolation.hpp"

namespace torq::hw {
namespace {

struct HwlocTopology {
  hwloc_topology_t t = nullptr;
  HwlocTopology() {
    if (hwloc_topology_init(&t) != 0) throw std::runtime_error("hwloc_topology_init failed");
    if (hwloc_topology_load(t) != 0) {
      hwloc_topology_destroy(t);
      throw std::runtime_error("hwloc_topology_load failed");
    }
  }
  ~HwlocTopology() { hwloc_topology_destroy(t); }
  HwlocTopology(const HwlocTopology&) = delete;
  HwlocTopology& operator=(const HwlocTopology&) = delete;
};

std::vector<int> bitmap_to_cpus(hwloc_const_bitmap_t set, hwloc_const_bitmap_t allowed) {
  std::vector<int> out;
  if (set == nullptr) return out;
  for (int i = hwloc_bitmap_first(set); i >= 0; i = hwloc_bitmap_next(set, i))
    if (allowed == nullptr || hwloc_bitmap_isset(allowed, static_cast<unsigned>(i))) out.push_back(i);
  return out;
}

int os_index_or(hwloc_obj_t o, int fallback) {
  return (o != nullptr && o->os_index != HWLOC_UNKNOWN_INDEX) ? static_cast<int>(o->os_index) : fallback;
}

std::size_t idx(int i) { return static_cast<std::size_t>(i); }

}  // namespace

Topology Topology::discover() {
  HwlocTopology h;
  hwloc_topology_t t = h.t;
  Topology topo;
  hwloc_const_cpuset_t allowed = hwloc_topology_get_allowed_cpuset(t);

  // PUs.
  const int npu = hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_PU);
  int max_cpu = -1;
  for (int i = 0; i < npu; ++i) {
    hwloc_obj_t pu = hwloc_get_obj_by_type(t, HWLOC_OBJ_PU, static_cast<unsigned>(i));
    if (pu == nullptr || pu->os_index == HWLOC_UNKNOWN_INDEX) continue;
    if (allowed != nullptr && !hwloc_bitmap_isset(allowed, pu->os_index)) continue;
    topo.cpus.push_back(static_cast<int>(pu->os_index));
    max_cpu = std::max(max_cpu, static_cast<int>(pu->os_index));
  }
  if (topo.cpus.empty()) throw std::runtime_error("hwloc reported no usable processing units");
  std::sort(topo.cpus.begin(), topo.cpus.end());
  topo.cpu_numa_node.assign(idx(max_cpu + 1), -1);
  topo.cpu_core.assign(idx(max_cpu + 1), -1);
  topo.cpu_package.assign(idx(max_cpu + 1), -1);

  // NUMA nodes (hwloc 2 always has at least one).
  const int nnode = hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_NUMANODE);
  for (int i = 0; i < nnode; ++i) {
    hwloc_obj_t n = hwloc_get_obj_by_type(t, HWLOC_OBJ_NUMANODE, static_cast<unsigned>(i));
    if (n == nullptr) continue;
    NumaNode node;
    node.os_index = os_index_or(n, i);
    node.memory_bytes = n->attr != nullptr ? n->attr->numanode.local_memory : 0;
    node.cpus = bitmap_to_cpus(n->cpuset, allowed);
    for (int c : node.cpus)
      if (c <= max_cpu && topo.cpu_numa_node[idx(c)] < 0) topo.cpu_numa_node[idx(c)] = node.os_index;
    topo.numa_nodes.push_back(std::move(node));
  }
  if (topo.numa_nodes.empty()) {
    NumaNode node;
    node.os_index = 0;
    node.cpus = topo.cpus;
    for (int c : node.cpus) topo.cpu_numa_node[idx(c)] = 0;
    topo.numa_nodes.push_back(std::move(node));
  }

  // Cores. PUs without a Core ancestor (some virtual machines, non-x86) become one-PU cores.
  const int ncore = hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_CORE);
  for (int i = 0; i < ncore; ++i) {
    hwloc_obj_t c = hwloc_get_obj_by_type(t, HWLOC_OBJ_CORE, static_cast<unsigned>(i));
    if (c == nullptr) continue;
    Core core;
    core.os_index = os_index_or(c, -1);
    core.cpus = bitmap_to_cpus(c->cpuset, allowed);
    if (core.cpus.empty()) continue;
    topo.cores.push_back(std::move(core));
  }
  for (int cpu : topo.cpus) {
    bool covered = false;
    for (const Core& c : topo.cores)
      if (std::find(c.cpus.begin(), c.cpus.end(), cpu) != c.cpus.end()) covered = true;
    if (!covered) {
      Core core;
      core.cpus = {cpu};
      topo.cores.push_back(std::move(core));
    }
  }
  std::sort(topo.cores.begin(), topo.cores.end(), [](const Core& a, const Core& b) { return a.cpus.front() < b.cpus.front(); });
  for (std::size_t i = 0; i < topo.cores.size(); ++i) {
    Core& core = topo.cores[i];
    core.index = static_cast<int>(i);
    core.numa_node = topo.cpu_numa_node[idx(core.cpus.front())];
    for (int cpu : core.cpus) topo.cpu_core[idx(cpu)] = static_cast<int>(i);
  }

  // Packages. Missing on some VMs: then one synthetic package holds everything.
  const int npkg = hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_PACKAGE);
  for (int i = 0; i < npkg; ++i) {
    hwloc_obj_t p = hwloc_get_obj_by_type(t, HWLOC_OBJ_PACKAGE, static_cast<unsigned>(i));
    if (p == nullptr) continue;
    Package pkg;
    pkg.os_index = os_index_or(p, i);
    pkg.cpus = bitmap_to_cpus(p->cpuset, allowed);
    if (pkg.cpus.empty()) continue;
    const int pos = static_cast<int>(topo.packages.size());
    for (int cpu : pkg.cpus) topo.cpu_package[idx(cpu)] = pos;
    topo.packages.push_back(std::move(pkg));
  }
  std::vector<int> orphans;
  for (int cpu : topo.cpus)
    if (topo.cpu_package[idx(cpu)] < 0) orphans.push_back(cpu);
  if (!orphans.empty()) {
    Package pkg;
    pkg.os_index = topo.packages.empty() ? 0 : -1;
    pkg.cpus = orphans;
    const int pos = static_cast<int>(topo.packages.size());
    for (int cpu : orphans) topo.cpu_package[idx(cpu)] = pos;
    topo.packages.push_back(std::move(pkg));
  }
  for (Core& core : topo.cores) {
    core.package = topo.cpu_package[idx(core.cpus.front())];
    topo.packages[idx(core.package)].cores.push_back(core.index);
  }

  // L3 domains (absent on many VMs: then every cpu_l3 stays -1).
  topo.cpu_l3.assign(idx(max_cpu + 1), -1);
  const int nl3 = hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_L3CACHE);
  for (int i = 0; i < nl3; ++i) {
    hwloc_obj_t o = hwloc_get_obj_by_type(t, HWLOC_OBJ_L3CACHE, static_cast<unsigned>(i));
    if (o == nullptr) continue;
    CacheDomain d;
    d.index = static_cast<int>(topo.l3_caches.size());
    d.bytes = o->attr != nullptr ? o->attr->cache.size : 0;
    d.cpus = bitmap_to_cpus(o->cpuset, allowed);
    if (d.cpus.empty()) continue;
    for (int cpu : d.cpus)
      if (cpu <= max_cpu && topo.cpu_l3[idx(cpu)] < 0) topo.cpu_l3[idx(cpu)] = d.index;
    topo.l3_caches.push_back(std::move(d));
  }

  hwloc_obj_t root = hwloc_get_root_obj(t);
  hwloc_obj_t pkg0 = hwloc_get_obj_by_type(t, HWLOC_OBJ_PACKAGE, 0);
  const char* model = pkg0 != nullptr ? hwloc_obj_get_info_by_name(pkg0, "CPUModel") : nullptr;
  if (model == nullptr && root != nullptr) model = hwloc_obj_get_info_by_name(root, "CPUModel");
  // Some CPUs (and VMs) pad the brand string with spaces; report the name alone.
  if (model != nullptr) topo.cpu_model = std::string(detail::trim(model));
  return topo;
}

std::vector<int> Topology::smt_siblings(int cpu) const {
  const int c = core_of_cpu(cpu);
  if (c < 0) return {};
  return cores[idx(c)].cpus;
}

int Topology::numa_node_of_cpu(int cpu) const noexcept {
  return has_cpu(cpu) ? cpu_numa_node[idx(cpu)] : -1;
}

int Topology::core_of_cpu(int cpu) const noexcept { return has_cpu(cpu) ? cpu_core[idx(cpu)] : -1; }

int Topology::package_of_cpu(int cpu) const noexcept { return has_cpu(cpu) ? cpu_package[idx(cpu)] : -1; }

int Topology::l3_of_cpu(int cpu) const noexcept {
  return has_cpu(cpu) && static_cast<std::size_t>(cpu) < cpu_l3.size() ? cpu_l3[idx(cpu)] : -1;
}

bool Topology::smt_enabled() const noexcept {
  return std::any_of(cores.begin(), cores.end(), [](const Core& c) { return c.cpus.size() > 1; });
}

std::vector<int> Topology::one_cpu_per_core(int node) const {
  std::vector<int> out;
  for (const Core& c : cores)
    if (node < 0 || c.numa_node == node) out.push_back(c.cpus.front());
  return out;
}

const char* to_string(PlacementIssue::Kind k) noexcept {
  switch (k) {
    case PlacementIssue::Kind::unknown_cpu: return "unknown_cpu";
    case PlacementIssue::Kind::shared_core: return "shared_core";
    case PlacementIssue::Kind::numa_split: return "numa_split";
    case PlacementIssue::Kind::l3_split: return "l3_split";
  }
  return "?";
}

namespace {
std::string role_at(const HotRole& r) { return r.name + " (cpu " + std::to_string(r.cpu) + ")"; }
// "L3 #0 (cpus 0-7): collector (cpu 2), strategy (cpu 3); L3 #1 (cpus 8-15): executor (cpu 9)".
std::string groups(const std::map<int, std::vector<const HotRole*>>& by, const char* what,
                   const std::vector<int>* (*cpus_of)(const Topology&, int), const Topology& topo) {
  std::string out;
  for (const auto& [key, roles] : by) {
    if (!out.empty()) out += "; ";
    out += std::string(what) + std::to_string(key) + " (cpus " + format_cpu_list(*cpus_of(topo, key)) + "): ";
    for (std::size_t i = 0; i < roles.size(); ++i) out += (i ? ", " : "") + role_at(*roles[i]);
  }
  return out;
}
}  // namespace

std::vector<PlacementIssue> check_hot_placement(const Topology& topo, const std::vector<HotRole>& roles) {
  std::vector<PlacementIssue> out;
  std::vector<const HotRole*> known;
  for (const HotRole& r : roles) {
    if (r.cpu < 0) continue;
    if (!topo.has_cpu(r.cpu)) {
      out.push_back({PlacementIssue::Kind::unknown_cpu,
                     role_at(r) + ": not a usable cpu of this machine (usable: " + format_cpu_list(topo.cpus) + ")"});
      continue;
    }
    known.push_back(&r);
  }
  for (std::size_t i = 0; i < known.size(); ++i)
    for (std::size_t j = i + 1; j < known.size(); ++j) {
      const int ci = topo.core_of_cpu(known[i]->cpu);
      if (ci != topo.core_of_cpu(known[j]->cpu)) continue;
      const std::string how = known[i]->cpu == known[j]->cpu
                                  ? " share one cpu"
                                  : " are SMT siblings of one core (cpus " +
                                        format_cpu_list(topo.cores[static_cast<std::size_t>(ci)].cpus) + ")";
      out.push_back({PlacementIssue::Kind::shared_core,
                     role_at(*known[i]) + " and " + role_at(*known[j]) + how +
                         ": two busy-polling threads on one core slow each other down; give each its own core"});
    }
  std::map<int, std::vector<const HotRole*>> by_node, by_l3;
  for (const HotRole* r : known) {
    by_node[topo.numa_node_of_cpu(r->cpu)].push_back(r);
    if (const int l3 = topo.l3_of_cpu(r->cpu); l3 >= 0) by_l3[l3].push_back(r);
  }
  if (by_node.size() > 1) {
    const auto node_cpus = [](const Topology& t, int node) -> const std::vector<int>* {
      for (const NumaNode& n : t.numa_nodes)
        if (n.os_index == node) return &n.cpus;
      static const std::vector<int> none;
      return &none;
    };
    out.push_back({PlacementIssue::Kind::numa_split,
                   "the hot roles span NUMA nodes: " + groups(by_node, "node ", node_cpus, topo) +
                       "; each ring and the strategy's state are remote to some of them: pin them in one node (the NIC's)"});
  }
  if (by_l3.size() > 1) {
    const auto l3_cpus = [](const Topology& t, int l3) -> const std::vector<int>* {
      return &t.l3_caches[static_cast<std::size_t>(l3)].cpus;
    };
    out.push_back({PlacementIssue::Kind::l3_split,
                   "the hot roles span L3 domains: " + groups(by_l3, "L3 #", l3_cpus, topo) +
                       "; every frame handed between them crosses caches (on AMD EPYC 2-3x a hand-off inside one "
                       "L3): pin them in one L3 domain"});
  }
  return out;
}

}  // namespace torq::hw
