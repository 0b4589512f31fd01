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

}  // namespace
}  // namespace torq::hw
