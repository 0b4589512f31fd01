// TokenBucket and Backoff with an injected clock and a seeded jitter source.
#include <gtest/gtest.h>

#include "torq/control/chain_client.hpp"
#include "torq/control/rate_limit.hpp"

using namespace torq::control;

TEST(TokenBucket, ShouldAllowBurstThenRefuseUntilRefilled) {
  TokenBucket b(10.0, 5.0, 0);  // 10/s, burst 5
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(b.try_take(0));
  EXPECT_FALSE(b.try_take(0));
  EXPECT_FALSE(b.try_take(50'000'000));  // 0.5 token after 50 ms
  EXPECT_TRUE(b.try_take(100'000'000));  // 1 token after 100 ms
  EXPECT_FALSE(b.try_take(100'000'000));
}

TEST(TokenBucket, ShouldNeverExceedBurstAfterLongIdle) {
  TokenBucket b(10.0, 3.0, 0);
  EXPECT_TRUE(b.try_take(0, 3));
  EXPECT_FALSE(b.try_take(3'600'000'000'000ull, 4));  // an hour later still at most 3
  EXPECT_TRUE(b.try_take(3'600'000'000'000ull, 3));
}

TEST(TokenBucket, ShouldReportWaitAndReserveForBatches) {
  TokenBucket b(100.0, 10.0, 0);
  EXPECT_EQ(b.reserve(0, 10), 0u);        // full burst available
  const std::uint64_t w = b.reserve(0, 4);  // needs 4 tokens at 100/s = 40 ms
  EXPECT_GE(w, 40'000'000u);
  EXPECT_LE(w, 40'000'100u);
  EXPECT_FALSE(b.try_take(w, 1));  // the 4 refilled tokens were taken by the reservation
  EXPECT_TRUE(b.try_take(w + 10'000'000, 1));
}

TEST(TokenBucket, ShouldBeUnlimitedWhenRateIsZero) {
  TokenBucket b(0.0, 1.0, 0);
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(b.try_take(0));
  EXPECT_EQ(b.reserve(0, 1e6), 0u);
}

TEST(Backoff, ShouldGrowExponentiallyUpToMaxWithJitterInsideBounds) {
  BackoffPolicy p{100, 5000, 2.0, 0.5};
  Backoff b(p, 42);
  const double expect_base[] = {100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000};
  for (double base : expect_base) {
    const std::uint64_t d = b.next_ms();
    EXPECT_LE(static_cast<double>(d), base);
    EXPECT_GE(static_cast<double>(d), base * 0.5 - 1);
  }
  b.reset();
  EXPECT_EQ(b.attempt(), 0u);
  EXPECT_LE(b.next_ms(), 100u);
}

TEST(Backoff, ShouldBeDeterministicPerSeedAndDifferAcrossSeeds) {
  BackoffPolicy p{100, 10'000, 2.0, 1.0};
  Backoff a(p, 7), b(p, 7), c(p, 8);
  bool differs = false;
  for (int i = 0; i < 8; ++i) {
    const auto x = a.next_ms(), y = b.next_ms(), z = c.next_ms();
    EXPECT_EQ(x, y);
    differs |= x != z;
  }
  EXPECT_TRUE(differs);
}

TEST(Backoff, ShouldNotJitterWhenJitterIsZero) {
  Backoff b(BackoffPolicy{50, 400, 3.0, 0.0}, 1);
  EXPECT_EQ(b.next_ms(), 50u);
  EXPECT_EQ(b.next_ms(), 150u);
  EXPECT_EQ(b.next_ms(), 400u);
  EXPECT_EQ(b.next_ms(), 400u);
}

TEST(RpcError, ShouldClassifyRangeLimitErrors) {
  EXPECT_TRUE((RpcError{RpcError::Kind::Rpc, -32005, "query returned more than 10000 results"}).is_range_limit());
  EXPECT_TRUE((RpcError{RpcError::Kind::Rpc, -32000, "block range too large"}).is_range_limit());
  EXPECT_TRUE((RpcError{RpcError::Kind::Rpc, -32602, "Log response size exceeded. limit exceeded"}).is_range_limit());
  EXPECT_FALSE((RpcError{RpcError::Kind::Rpc, -32601, "method not found"}).is_range_limit());
  EXPECT_FALSE((RpcError{RpcError::Kind::Transport, -32005, "range"}).is_range_limit());
}

TEST(RpcError, ShouldClassifyRateLimitSeparatelyFromRangeLimit) {
  const RpcError rate{RpcError::Kind::Rpc, -32005, "daily request count exceeded, request rate limited"};
  EXPECT_TRUE(rate.is_rate_limit());
  EXPECT_FALSE(rate.is_range_limit());  // -32005 alone does not mean "shrink the range"
  EXPECT_TRUE((RpcError{RpcError::Kind::Rpc, 429, "Too Many Requests"}).is_rate_limit());
  EXPECT_TRUE((RpcError{RpcError::Kind::Rpc, -32005, "project ID request rate exceeded the rate limit"}).is_rate_limit());
  EXPECT_FALSE((RpcError{RpcError::Kind::Rpc, -32005, "query returned more than 10000 results"}).is_rate_limit());
  EXPECT_FALSE((RpcError{RpcError::Kind::Rpc, -32000, "block range too large"}).is_rate_limit());
  EXPECT_FALSE((RpcError{RpcError::Kind::Transport, 429, "rate limit"}).is_rate_limit());
}

TEST(AbiWords, ShouldParseWordsAndRejectBadLength) {
  auto w = abi_words("0x" + std::string(63, '0') + "7" + std::string(64, 'f'));
  ASSERT_TRUE(w);
  ASSERT_EQ(w->size(), 2u);
  EXPECT_EQ((*w)[0].limb[0], 7u);
  EXPECT_EQ((*w)[1].limb[3], ~0ull);
  EXPECT_FALSE(abi_words("0x123"));
}
