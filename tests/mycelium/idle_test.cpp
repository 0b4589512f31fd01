// Idle strategies: backoff escalates spin -> yield -> park on consecutive empty polls, doubles the
// park period up to its cap, and resets on work.
#include <gtest/gtest.h>

#include "torq/mycelium/idle.hpp"

namespace torq::mycelium {
namespace {

TEST(BackoffIdle, ShouldEscalateFromSpinToYieldToParkAndResetOnWork) {
  BackoffIdle idle(3, 2, 1000, 4000);
  EXPECT_EQ(idle.phase(), BackoffIdle::Phase::spinning);
  for (int i = 0; i < 3; ++i) idle.idle(0);
  EXPECT_EQ(idle.phase(), BackoffIdle::Phase::yielding);
  for (int i = 0; i < 2; ++i) idle.idle(0);
  EXPECT_EQ(idle.phase(), BackoffIdle::Phase::parking);
  EXPECT_EQ(idle.park_ns(), 1000u);
  idle.idle(0);
  EXPECT_EQ(idle.park_ns(), 2000u);
  idle.idle(0);
  idle.idle(0);
  EXPECT_EQ(idle.park_ns(), 4000u);  // capped
  idle.idle(1);
  EXPECT_EQ(idle.phase(), BackoffIdle::Phase::spinning);
  idle.idle(0);
  EXPECT_EQ(idle.phase(), BackoffIdle::Phase::spinning);
}

TEST(BackoffIdle, ShouldStayHotWhileWorkKeepsArriving) {
  BackoffIdle idle(2, 2, 1000, 4000);
  for (int i = 0; i < 100; ++i) {
    idle.idle(0);
    idle.idle(5);
  }
  EXPECT_EQ(idle.phase(), BackoffIdle::Phase::spinning);
}

}  // namespace
}  // namespace torq::mycelium
