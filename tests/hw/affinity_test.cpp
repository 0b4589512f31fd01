// Tests of torq/hw/affinity.hpp. Pinning runs on fresh threads so the test runner is unaffected.
#include "torq/hw/affinity.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <thread>

namespace torq::hw {
namespace {

TEST(Affinity, ShouldListAllowedCpusAscendingAndIncludingTheCurrentOne) {
  const auto cpus = allowed_cpus();
  ASSERT_FALSE(cpus.empty());
  EXPECT_TRUE(std::is_sorted(cpus.begin(), cpus.end()));
  EXPECT_LE(cpus.size(), static_cast<std::size_t>(sysconf(_SC_NPROCESSORS_CONF)));
  const int now = current_cpu();
  ASSERT_GE(now, 0);
  EXPECT_TRUE(std::binary_search(cpus.begin(), cpus.end(), now));
}

TEST(Affinity, ShouldRunOnTheCpuItWasPinnedTo) {
  for (int cpu : allowed_cpus()) {
    std::thread([cpu] {
      ASSERT_TRUE(pin_current_thread(cpu)) << cpu;
      EXPECT_EQ(current_cpu(), cpu);
      EXPECT_EQ(allowed_cpus(), std::vector<int>{cpu});
    }).join();
  }
}

TEST(Affinity, ShouldRefuseInvalidCpusAndKeepTheAffinity) {
  std::thread([] {
    const auto before = allowed_cpus();
    const int beyond = static_cast<int>(sysconf(_SC_NPROCESSORS_CONF)) + 1;
    for (int cpu : {-1, -1000, beyond, 100000, 1 << 30}) EXPECT_FALSE(pin_current_thread(cpu)) << cpu;
    EXPECT_EQ(allowed_cpus(), before);
    EXPECT_FALSE(set_current_thread_affinity({}));
    EXPECT_FALSE(set_current_thread_affinity({-3}));
    EXPECT_FALSE(set_current_thread_affinity({beyond}));
    EXPECT_EQ(allowed_cpus(), before);
  }).join();
}

TEST(Affinity, ShouldRestoreASavedAffinitySet) {
  std::thread([] {
    const auto saved = allowed_cpus();
    ASSERT_TRUE(pin_current_thread(saved.back()));
    ASSERT_EQ(allowed_cpus().size(), 1u);
    ASSERT_TRUE(set_current_thread_affinity(saved));
    EXPECT_EQ(allowed_cpus(), saved);
  }).join();
}

}  // namespace
}  // namespace torq::hw
