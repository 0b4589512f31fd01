// Tests of torq/hw/memlock.hpp.
#include "torq/hw/memlock.hpp"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <cerrno>
#include <cstring>
#include <vector>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TORQ_TEST_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define TORQ_TEST_ASAN 1
#endif

namespace torq::hw {
namespace {

TEST(Memlock, ShouldEitherLockOrExplainWhy) {
  const MemlockResult r = lock_all_memory(/*future=*/false);
  if (r) {
    EXPECT_EQ(r.error, 0);
    EXPECT_TRUE(unlock_all_memory().ok);
    return;
  }
  EXPECT_NE(r.error, 0);
  EXPECT_NE(r.message.find("mlockall"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find(std::strerror(r.error)), std::string::npos) << r.message;
#ifdef TORQ_TEST_ASAN
  EXPECT_EQ(r.error, ENOTSUP);
#endif
}

TEST(Memlock, ShouldReportTheRlimit) {
  rlimit rl{};
  ASSERT_EQ(getrlimit(RLIMIT_MEMLOCK, &rl), 0);
  const auto lim = memlock_limit();
  if (rl.rlim_cur == RLIM_INFINITY) {
    EXPECT_FALSE(lim.has_value());
  } else {
    ASSERT_TRUE(lim.has_value());
    EXPECT_EQ(*lim, static_cast<std::uint64_t>(rl.rlim_cur));
  }
}

TEST(Memlock, ShouldPrefaultWithoutChangingContents) {
  std::vector<unsigned char> buf(3 * 4096 + 17);
  for (std::size_t i = 0; i < buf.size(); ++i) buf[i] = static_cast<unsigned char>(i);
  prefault(buf.data(), buf.size(), true);
  prefault(buf.data() + 1, buf.size() - 1, false);
  prefault(nullptr, 100, true);   // no-op
  prefault(buf.data(), 0, true);  // no-op
  for (std::size_t i = 0; i < buf.size(); ++i) ASSERT_EQ(buf[i], static_cast<unsigned char>(i)) << i;
  prefault_stack(64 * 1024);
  prefault_stack(0);
}

}  // namespace
}  // namespace torq::hw
