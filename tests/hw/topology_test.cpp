// Tests of torq/hw/topology.hpp against the kernel's own view (sysconf, sched_getaffinity, sysfs).
#include "torq/hw/topology.hpp"

#include <gtest/gtest.h>
#include <numa.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <string>

#include "torq/hw/affinity.hpp"
#include "torq/hw/isolation.hpp"

namespace torq::hw {
namespace {

class TopologyTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { topo_ = new Topology(Topology::discover()); }
  static void TearDownTestSuite() {
    delete topo_;
    topo_ = nullptr;
  }
  static const Topology& topo() { return *topo_; }
  static Topology* topo_;
};
Topology* TopologyTest::topo_ = nullptr;

TEST_F(TopologyTest, ShouldCountNoMoreCpusThanOnlineAndAtLeastTheAllowedOnes) {
  const long online = sysconf(_SC_NPROCESSORS_ONLN);
  ASSERT_GT(online, 0);
  EXPECT_LE(topo().cpus.size(), static_cast<std::size_t>(online));
  EXPECT_LE(topo().cores.size(), topo().cpus.size());
  EXPECT_GE(topo().cores.size(), 1u);
  EXPECT_GE(topo().packages.size(), 1u);
  EXPECT_GE(topo().numa_nodes.size(), 1u);
  for (int cpu : allowed_cpus()) EXPECT_TRUE(topo().has_cpu(cpu)) << "allowed cpu " << cpu << " missing";
}

TEST_F(TopologyTest, ShouldPutEachCpuInExactlyOneCore) {
  std::multiset<int> seen;
  for (const Core& c : topo().cores) {
    EXPECT_FALSE(c.cpus.empty());
    EXPECT_TRUE(std::is_sorted(c.cpus.begin(), c.cpus.end()));
    seen.insert(c.cpus.begin(), c.cpus.end());
  }
  for (int cpu : topo().cpus) EXPECT_EQ(seen.count(cpu), 1u) << cpu;
  EXPECT_EQ(seen.size(), topo().cpus.size());
  for (std::size_t i = 0; i < topo().cores.size(); ++i) {
    EXPECT_EQ(topo().cores[i].index, static_cast<int>(i));
    for (int cpu : topo().cores[i].cpus) EXPECT_EQ(topo().core_of_cpu(cpu), static_cast<int>(i));
  }
}

TEST_F(TopologyTest, ShouldReportSymmetricSmtSiblingsIncludingTheCpuItself) {
  for (int a : topo().cpus) {
    const auto sa = topo().smt_siblings(a);
    ASSERT_TRUE(std::find(sa.begin(), sa.end(), a) != sa.end()) << a;
    for (int b : sa) EXPECT_EQ(topo().smt_siblings(b), sa) << a << " vs " << b;
  }
}

TEST_F(TopologyTest, ShouldMatchKernelThreadSiblingsList) {
  int checked = 0;
  for (int cpu : topo().cpus) {
    std::ifstream f("/sys/devices/system/cpu/cpu" + std::to_string(cpu) + "/topology/thread_siblings_list");
    std::string text;
    if (!f || !std::getline(f, text)) continue;
    auto kernel = parse_cpu_list(text).cpus;
    std::erase_if(kernel, [&](int c) { return !topo().has_cpu(c); });  // restricted by cpuset
    EXPECT_EQ(topo().smt_siblings(cpu), kernel) << "cpu " << cpu;
    ++checked;
  }
  if (checked == 0) GTEST_SKIP() << "no sysfs topology files";
}

TEST_F(TopologyTest, ShouldAssignEveryCpuTheNumaNodeThatListsIt) {
  for (int cpu : topo().cpus) {
    const int node = topo().numa_node_of_cpu(cpu);
    ASSERT_GE(node, 0) << cpu;
    const auto it = std::find_if(topo().numa_nodes.begin(), topo().numa_nodes.end(),
                                 [&](const NumaNode& n) { return n.os_index == node; });
    ASSERT_NE(it, topo().numa_nodes.end());
    EXPECT_TRUE(std::binary_search(it->cpus.begin(), it->cpus.end(), cpu));
    if (numa_available() >= 0) {
      EXPECT_EQ(numa_node_of_cpu(cpu), node) << "libnuma disagrees for cpu " << cpu;
    }
  }
}

TEST_F(TopologyTest, ShouldPartitionCpusIntoPackages) {
  std::multiset<int> seen;
  for (std::size_t p = 0; p < topo().packages.size(); ++p) {
    const Package& pkg = topo().packages[p];
    seen.insert(pkg.cpus.begin(), pkg.cpus.end());
    for (int ci : pkg.cores) EXPECT_EQ(topo().cores[static_cast<std::size_t>(ci)].package, static_cast<int>(p));
    for (int cpu : pkg.cpus) EXPECT_EQ(topo().package_of_cpu(cpu), static_cast<int>(p));
  }
  EXPECT_EQ(seen.size(), topo().cpus.size());
  for (int cpu : topo().cpus) EXPECT_EQ(seen.count(cpu), 1u);
}

TEST_F(TopologyTest, ShouldAnswerUnknownCpusWithEmptyOrMinusOne) {
  for (int cpu : {-1, -100, 1 << 20}) {
    EXPECT_FALSE(topo().has_cpu(cpu));
    EXPECT_TRUE(topo().smt_siblings(cpu).empty());
    EXPECT_EQ(topo().numa_node_of_cpu(cpu), -1);
    EXPECT_EQ(topo().core_of_cpu(cpu), -1);
    EXPECT_EQ(topo().package_of_cpu(cpu), -1);
  }
}

TEST_F(TopologyTest, ShouldOfferOneCpuPerCore) {
  const auto all = topo().one_cpu_per_core();
  EXPECT_EQ(all.size(), topo().cores.size());
  std::set<int> cores;
  for (int cpu : all) cores.insert(topo().core_of_cpu(cpu));
  EXPECT_EQ(cores.size(), all.size());
  std::size_t by_node = 0;
  for (const NumaNode& n : topo().numa_nodes) by_node += topo().one_cpu_per_core(n.os_index).size();
  EXPECT_EQ(by_node, all.size());
}

TEST_F(TopologyTest, ShouldListEachCpuInAtMostOneL3DomainMatchingTheKernel) {
  std::set<int> seen;
  for (const CacheDomain& d : topo().l3_caches) {
    EXPECT_EQ(topo().l3_caches[static_cast<std::size_t>(d.index)].cpus, d.cpus);
    EXPECT_FALSE(d.cpus.empty());
    EXPECT_TRUE(std::is_sorted(d.cpus.begin(), d.cpus.end()));
    for (int cpu : d.cpus) {
      EXPECT_TRUE(seen.insert(cpu).second) << "cpu " << cpu << " in two L3 domains";
      EXPECT_EQ(topo().l3_of_cpu(cpu), d.index);
    }
  }
  for (int cpu : topo().cpus) {
    if (seen.count(cpu) == 0) {
      EXPECT_EQ(topo().l3_of_cpu(cpu), -1);
    }
  }
  EXPECT_EQ(topo().l3_of_cpu(-1), -1);
  EXPECT_EQ(topo().l3_of_cpu(1 << 20), -1);
  // Where the kernel lists an L3 for a cpu, hwloc's domain holds the cpus sharing it (those this
  // process may use).
  int checked = 0;
  for (int cpu : topo().cpus) {
    for (int i = 0; i < 8; ++i) {
      const std::string dir = "/sys/devices/system/cpu/cpu" + std::to_string(cpu) + "/cache/index" + std::to_string(i);
      std::ifstream level(dir + "/level"), shared(dir + "/shared_cpu_list");
      int lv = 0;
      std::string list;
      if (!(level >> lv) || lv != 3 || !(shared >> list)) continue;
      const int l3 = topo().l3_of_cpu(cpu);
      ASSERT_GE(l3, 0) << "cpu " << cpu << " has an L3 in sysfs";
      std::vector<int> want;
      for (int c : parse_cpu_list(list).cpus)
        if (topo().has_cpu(c)) want.push_back(c);
      EXPECT_EQ(topo().l3_caches[static_cast<std::size_t>(l3)].cpus, want) << "cpu " << cpu;
      ++checked;
    }
  }
  if (checked == 0) GTEST_SKIP() << "no L3 in sysfs (this machine exposes no cache information); "
                                 << topo().l3_caches.size() << " domains from hwloc";
}

// A synthetic two-socket machine: 8 cores x 2 SMT threads (cpu c and c + 8 on core c), cores 0-3
// on NUMA node 0 and 4-7 on node 1, one L3 per two cores (AMD-like CCX). `with_l3` false: no
// cache information (as on many VMs).
Topology synthetic(bool with_l3) {
  Topology t;
  for (int c = 0; c < 16; ++c) t.cpus.push_back(c);
  t.cpu_core.assign(16, -1);
  t.cpu_numa_node.assign(16, -1);
  t.cpu_package.assign(16, -1);
  t.cpu_l3.assign(16, -1);
  for (int n = 0; n < 2; ++n) {
    NumaNode node;
    node.os_index = n;
    Package pkg;
    pkg.os_index = n;
    for (int c = 4 * n; c < 4 * n + 4; ++c) {
      node.cpus.push_back(c);
      pkg.cores.push_back(c);
      pkg.cpus.push_back(c);
    }
    for (int c = 4 * n; c < 4 * n + 4; ++c) {
      node.cpus.push_back(c + 8);
      pkg.cpus.push_back(c + 8);
    }
    t.numa_nodes.push_back(node);
    t.packages.push_back(pkg);
  }
  for (int c = 0; c < 8; ++c) {
    Core core;
    core.index = c;
    core.os_index = c;
    core.package = c / 4;
    core.numa_node = c / 4;
    core.cpus = {c, c + 8};
    t.cores.push_back(core);
    for (int cpu : core.cpus) {
      t.cpu_core[static_cast<std::size_t>(cpu)] = c;
      t.cpu_numa_node[static_cast<std::size_t>(cpu)] = c / 4;
      t.cpu_package[static_cast<std::size_t>(cpu)] = c / 4;
      if (with_l3) t.cpu_l3[static_cast<std::size_t>(cpu)] = c / 2;
    }
  }
  if (with_l3)
    for (int d = 0; d < 4; ++d) t.l3_caches.push_back(CacheDomain{d, 16u << 20, {2 * d, 2 * d + 1, 2 * d + 8, 2 * d + 9}});
  return t;
}

std::vector<PlacementIssue::Kind> kinds(const std::vector<PlacementIssue>& v) {
  std::vector<PlacementIssue::Kind> k;
  for (const PlacementIssue& i : v) k.push_back(i.kind);
  return k;
}

TEST(HotPlacement, ShouldAcceptDistinctCoresOfOneL3AndIgnoreUnpinnedRoles) {
  const Topology t = synthetic(true);
  EXPECT_TRUE(check_hot_placement(t, {{"collector", 0}, {"strategy", 1}}).empty());
  EXPECT_TRUE(check_hot_placement(t, {{"collector", 10}, {"strategy", 3}, {"executor", -1}}).empty());
  EXPECT_TRUE(check_hot_placement(t, {}).empty());
}

TEST(HotPlacement, ShouldReportRolesSharingACoreOrACpu) {
  const Topology t = synthetic(true);
  const auto siblings = check_hot_placement(t, {{"strategy", 1}, {"executor", 9}});
  ASSERT_EQ(kinds(siblings), std::vector<PlacementIssue::Kind>{PlacementIssue::Kind::shared_core});
  EXPECT_NE(siblings[0].message.find("strategy (cpu 1) and executor (cpu 9) are SMT siblings"), std::string::npos)
      << siblings[0].message;
  const auto same = check_hot_placement(t, {{"strategy", 3}, {"executor", 3}});
  ASSERT_EQ(kinds(same), std::vector<PlacementIssue::Kind>{PlacementIssue::Kind::shared_core});
  EXPECT_NE(same[0].message.find("share one cpu"), std::string::npos) << same[0].message;
}

TEST(HotPlacement, ShouldReportRolesAcrossL3DomainsAndNumaNodes) {
  const Topology t = synthetic(true);
  const auto l3 = check_hot_placement(t, {{"collector", 0}, {"strategy", 1}, {"executor", 2}});
  ASSERT_EQ(kinds(l3), std::vector<PlacementIssue::Kind>{PlacementIssue::Kind::l3_split});
  EXPECT_NE(l3[0].message.find("L3 #0 (cpus 0-1,8-9): collector (cpu 0), strategy (cpu 1); L3 #1 (cpus 2-3,10-11): "
                               "executor (cpu 2)"),
            std::string::npos)
      << l3[0].message;
  const auto numa = check_hot_placement(t, {{"collector", 0}, {"strategy", 1}, {"executor", 4}});
  ASSERT_EQ(kinds(numa), (std::vector<PlacementIssue::Kind>{PlacementIssue::Kind::numa_split, PlacementIssue::Kind::l3_split}));
  EXPECT_NE(numa[0].message.find("node 0 (cpus 0-3,8-11): collector (cpu 0), strategy (cpu 1); node 1 (cpus 4-7,12-15): "
                                 "executor (cpu 4)"),
            std::string::npos)
      << numa[0].message;
}

TEST(HotPlacement, ShouldSkipTheL3CheckWithoutCacheInformationAndFlagUnknownCpus) {
  const Topology t = synthetic(false);
  EXPECT_TRUE(check_hot_placement(t, {{"collector", 0}, {"strategy", 2}}).empty());
  const auto bad = check_hot_placement(t, {{"strategy", 99}, {"executor", 2}});
  ASSERT_EQ(kinds(bad), std::vector<PlacementIssue::Kind>{PlacementIssue::Kind::unknown_cpu});
  EXPECT_NE(bad[0].message.find("strategy (cpu 99): not a usable cpu of this machine (usable: 0-15)"), std::string::npos)
      << bad[0].message;
  EXPECT_STREQ(to_string(PlacementIssue::Kind::l3_split), "l3_split");
}

}  // namespace
}  // namespace torq::hw
