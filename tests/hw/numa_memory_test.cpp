// Tests of torq/hw/numa_memory.hpp: zeroed, writable, placed, and the no-hugepage fallback.
#include "torq/hw/numa_memory.hpp"

#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <system_error>
#include <thread>

#include "torq/hw/affinity.hpp"
#include "torq/hw/topology.hpp"

namespace torq::hw {
namespace {

bool all_zero(const void* p, std::size_t n) {
  const auto* b = static_cast<const unsigned char*>(p);
  return std::all_of(b, b + n, [](unsigned char c) { return c == 0; });
}

std::uint64_t free_default_hugepages() {
  const auto pools = hugepage_pools();
  for (const auto& p : pools)
    if (p.page_size == (2u << 20)) return p.free;
  return 0;
}

TEST(NumaRegion, ShouldBeZeroedWritableAndSized) {
  constexpr std::size_t kBytes = (1u << 20) + 123;  // not a page multiple
  auto r = NumaRegion::allocate(kBytes, -1, false);
  ASSERT_TRUE(r);
  ASSERT_NE(r.data(), nullptr);
  EXPECT_EQ(r.size(), kBytes);
  EXPECT_GE(r.mapped_size(), kBytes);
  EXPECT_EQ(r.mapped_size() % static_cast<std::size_t>(sysconf(_SC_PAGESIZE)), 0u);
  EXPECT_FALSE(r.hugepages());
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(r.data()) % 4096, 0u);
  ASSERT_TRUE(all_zero(r.data(), r.mapped_size()));
  auto* bytes = static_cast<unsigned char*>(r.data());
  for (std::size_t i = 0; i < kBytes; ++i) bytes[i] = static_cast<unsigned char>(i * 31 + 7);
  for (std::size_t i = 0; i < kBytes; ++i) ASSERT_EQ(bytes[i], static_cast<unsigned char>(i * 31 + 7)) << i;
}

TEST(NumaRegion, ShouldLandOnTheNodeOfThePinnedCallingThread) {
  const Topology topo = Topology::discover();
  const int cpu = topo.cpus.back();
  std::thread([&] {
    ASSERT_TRUE(pin_current_thread(cpu));
    const int expected = topo.numa_node_of_cpu(cpu);
    auto r = NumaRegion::allocate(256 * 1024);  // default: node of the calling thread
    EXPECT_EQ(r.node(), expected);
    const int resident = r.resident_node();
    if (resident >= 0) {
      EXPECT_EQ(resident, expected) << "page lives on another node";
    }
    EXPECT_TRUE(all_zero(r.data(), r.size()));
  }).join();
}

TEST(NumaRegion, ShouldHonourAnExplicitNode) {
  const Topology topo = Topology::discover();
  for (const NumaNode& n : topo.numa_nodes) {
    if (n.memory_bytes == 0) continue;  // memory-less node: nothing to bind to
    auto r = NumaRegion::allocate(64 * 1024, n.os_index, false);
    EXPECT_EQ(r.node(), n.os_index);
    const int resident = r.resident_node();
    if (resident >= 0 && r.bound()) {
      EXPECT_EQ(resident, n.os_index);
    }
  }
}

TEST(NumaRegion, ShouldFallBackToNormalPagesWhenNoHugepagesAreFree) {
  if (free_default_hugepages() >= 2) GTEST_SKIP() << "this host has free 2 MiB hugepages";
  auto r = NumaRegion::allocate(3u << 20, -1, true);
  ASSERT_TRUE(r);
  EXPECT_FALSE(r.hugepages());
  EXPECT_EQ(r.size(), 3u << 20);
  EXPECT_TRUE(all_zero(r.data(), r.size()));
  std::memset(r.data(), 0xAB, r.size());
  EXPECT_EQ(static_cast<unsigned char*>(r.data())[r.size() - 1], 0xAB);
}

TEST(NumaRegion, ShouldUseHugepagesWhenReserved) {
  if (free_default_hugepages() < 2) GTEST_SKIP() << "no free 2 MiB hugepages on this host";
  auto r = NumaRegion::allocate(1u << 20, -1, true);
  if (!r.hugepages()) GTEST_SKIP() << "free hugepages exist but not on this thread's node";
  EXPECT_EQ(r.mapped_size() % (2u << 20), 0u);
  EXPECT_TRUE(all_zero(r.data(), r.size()));
}

// Run only as a child of the test below (a fresh process, so no earlier test has warned yet).
TEST(NumaRegionHelper, AllocateThriceWithHugepagesRequested) {
  if (std::getenv("TORQ_HW_TEST_HELPER") == nullptr) GTEST_SKIP() << "helper for ShouldWarnOnceOnStderrWhenFallingBack";
  for (int i = 0; i < 3; ++i) {
    auto r = NumaRegion::allocate(4096, -1, true);
    EXPECT_FALSE(r.hugepages());
  }
}

// The fallback warning goes to stderr exactly once per process: checked in a freshly exec'ed copy
// of this test binary so the result does not depend on which test allocated first.
TEST(NumaRegion, ShouldWarnOnceOnStderrWhenFallingBack) {
  if (free_default_hugepages() >= 8) GTEST_SKIP() << "this host has free hugepages";
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    dup2(fds[1], STDERR_FILENO);
    const int devnull = open("/dev/null", O_WRONLY);
    if (devnull >= 0) dup2(devnull, STDOUT_FILENO);
    close(fds[0]);
    close(fds[1]);
    setenv("TORQ_HW_TEST_HELPER", "1", 1);
    execl("/proc/self/exe", "hw_test", "--gtest_filter=NumaRegionHelper.AllocateThriceWithHugepagesRequested",
          static_cast<char*>(nullptr));
    _exit(127);
  }
  close(fds[1]);
  std::string err;
  char buf[4096];
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;) err.append(buf, static_cast<std::size_t>(n));
  close(fds[0]);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0) << err;
  std::size_t count = 0;
  for (auto p = err.find("torq::hw warning"); p != std::string::npos; p = err.find("torq::hw warning", p + 1)) ++count;
  EXPECT_EQ(count, 1u) << err;
  EXPECT_NE(err.find("hugepages"), std::string::npos) << err;
}

TEST(NumaRegion, ShouldRejectZeroBytesAndUnknownNodes) {
  EXPECT_THROW((void)NumaRegion::allocate(0), std::system_error);
  EXPECT_THROW((void)NumaRegion::allocate(4096, 4096, false), std::system_error);
  EXPECT_THROW((void)NumaRegion::allocate(4096, numa_node_count() + 64, false), std::system_error);
}

TEST(NumaRegion, ShouldTransferOwnershipOnMove) {
  auto a = NumaRegion::allocate(8192, -1, false);
  void* p = a.data();
  static_cast<char*>(p)[0] = 42;
  NumaRegion b(std::move(a));
  EXPECT_FALSE(a);  // NOLINT(bugprone-use-after-move): moved-from state is specified
  EXPECT_EQ(a.data(), nullptr);
  EXPECT_EQ(a.size(), 0u);
  EXPECT_EQ(b.data(), p);
  NumaRegion c;
  EXPECT_FALSE(c);
  c = std::move(b);
  EXPECT_EQ(c.data(), p);
  EXPECT_EQ(static_cast<char*>(c.data())[0], 42);
  c = NumaRegion::allocate(4096, -1, false);  // releases the old mapping
  EXPECT_NE(c.data(), nullptr);
}

TEST(NumaRegion, ShouldReportHugepagePoolsSortedAndConsistent) {
  const auto pools = hugepage_pools();
  EXPECT_TRUE(std::is_sorted(pools.begin(), pools.end(),
                             [](const HugepagePool& a, const HugepagePool& b) { return a.page_size < b.page_size; }));
  for (const auto& p : pools) {
    EXPECT_GT(p.page_size, 4096u);
    EXPECT_LE(p.free, p.total);
  }
  EXPECT_GE(numa_node_count(), 1);
  EXPECT_GE(current_numa_node(), 0);
}

}  // namespace
}  // namespace torq::hw
