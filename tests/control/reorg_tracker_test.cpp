// ReorgTracker: parent-hash chain, reorg detection and common-ancestor search.
#include <gtest/gtest.h>

#include <cstring>
#include <map>

#include "torq/control/reorg_tracker.hpp"

using namespace torq;
using namespace torq::control;

namespace {

Hash32 h(std::uint64_t number, std::uint8_t branch) {
  Hash32 x{};
  x[0] = branch;
  x[1] = static_cast<std::uint8_t>(number);
  x[2] = static_cast<std::uint8_t>(number >> 8);
  return x;
}
protocol::BlockHeader head(std::uint64_t n, std::uint8_t branch, std::uint8_t parent_branch) {
  protocol::BlockHeader b{};
  b.number = n;
  b.hash = h(n, branch);
  b.parent_hash = h(n - 1, parent_branch);
  return b;
}

TEST(ReorgTrackerTest, ShouldExtendWhenParentHashMatches) {
  ReorgTracker t(16, 8);
  for (std::uint64_t n = 100; n < 110; ++n) ASSERT_EQ(t.on_head(head(n, 0, 0)), HeadResult::Extended);
  EXPECT_EQ(t.tip(), 109u);
  EXPECT_EQ(t.on_head(head(109, 0, 0)), HeadResult::Duplicate);
  EXPECT_EQ(t.finalized(), 101u);
}

TEST(ReorgTrackerTest, ShouldFindCommonAncestorAndDepthWhenBranchesDiverge) {
  ReorgTracker t(16, 8);
  for (std::uint64_t n = 100; n <= 110; ++n) ASSERT_EQ(t.on_head(head(n, 0, 0)), HeadResult::Extended);
  // Node switched to branch 1 from block 108 on (ancestor 107): like anvil_reorg(3).
  std::map<std::uint64_t, Hash32> canonical;
  for (std::uint64_t n = 100; n <= 107; ++n) canonical[n] = h(n, 0);
  for (std::uint64_t n = 108; n <= 110; ++n) canonical[n] = h(n, 1);
  const auto new_head = head(108, 1, 0);
  ASSERT_EQ(t.on_head(new_head), HeadResult::NeedsResolve);
  protocol::ReorgNotice notice{};
  ASSERT_TRUE(t.resolve(&new_head, [&](std::uint64_t n) -> std::optional<Hash32> { return canonical.at(n); }, notice));
  EXPECT_EQ(notice.common_ancestor_number, 107u);
  EXPECT_EQ(notice.common_ancestor_hash, h(107, 0));
  EXPECT_EQ(notice.old_tip_number, 110u);
  EXPECT_EQ(notice.new_tip_number, 108u);
  EXPECT_EQ(notice.depth, 3u);
  EXPECT_EQ(t.hash_at(108), h(108, 1));
  EXPECT_FALSE(t.hash_at(109).has_value());
  EXPECT_EQ(t.on_head(head(109, 1, 1)), HeadResult::Extended);
  EXPECT_EQ(t.reorgs(), 1u);
}

TEST(ReorgTrackerTest, ShouldDetectParentMismatchOnNextBlock) {
  ReorgTracker t(16, 8);
  for (std::uint64_t n = 1; n <= 5; ++n) ASSERT_EQ(t.on_head(head(n, 0, 0)), HeadResult::Extended);
  EXPECT_EQ(t.on_head(head(6, 2, 2)), HeadResult::NeedsResolve);  // its parent 5 is not ours
}

TEST(ReorgTrackerTest, ShouldReportDeepReorgBeyondFinality) {
  ReorgTracker t(16, 4);
  for (std::uint64_t n = 1; n <= 12; ++n) ASSERT_EQ(t.on_head(head(n, 0, 0)), HeadResult::Extended);
  const auto new_head = head(12, 1, 1);
  ASSERT_EQ(t.on_head(new_head), HeadResult::NeedsResolve);
  protocol::ReorgNotice notice{};
  EXPECT_FALSE(t.resolve(&new_head, [&](std::uint64_t n) -> std::optional<Hash32> { return h(n, 1); }, notice));
  EXPECT_EQ(t.deep_reorgs(), 1u);
}

TEST(ReorgTrackerTest, ShouldRecognizeRemovedLogOfAHeldBlock) {
  ReorgTracker t(16, 8);
  for (std::uint64_t n = 1; n <= 5; ++n) ASSERT_EQ(t.on_head(head(n, 0, 0)), HeadResult::Extended);
  std::uint64_t prefix;
  const Hash32 x = h(4, 0);
  std::memcpy(&prefix, x.data(), 8);
  EXPECT_TRUE(t.holds(4, prefix));
  EXPECT_FALSE(t.holds(4, prefix + 1));
  EXPECT_FALSE(t.holds(9, prefix));
}

TEST(ReorgTrackerTest, ShouldAcceptGapAfterMissedHeads) {
  ReorgTracker t(16, 8);
  ASSERT_EQ(t.on_head(head(1, 0, 0)), HeadResult::Extended);
  EXPECT_EQ(t.on_head(head(5, 0, 0)), HeadResult::Gap);
  EXPECT_EQ(t.tip(), 5u);
  EXPECT_EQ(t.on_head(head(6, 0, 0)), HeadResult::Extended);
}

// Audit: after a reorg whose new head is more than one block above the ancestor, the tracker
// used to clear its whole history (store() took the head as a Gap), so the next ordinary reorg
// was reported deep and every pool was resynced.
TEST(ReorgTrackerTest, ShouldKeepHistoryWhenNewHeadIsTwoAboveTheAncestor) {
  ReorgTracker t(256, 64);
  std::map<std::uint64_t, std::uint8_t> canon;
  for (std::uint64_t n = 1; n <= 100; ++n) {
    canon[n] = 0;
    ASSERT_EQ(t.on_head(head(n, 0, 0)), HeadResult::Extended);
  }
  auto canonical = [&](std::uint64_t n) -> std::optional<Hash32> { return h(n, canon[n]); };
  // 2-deep reorg (99', 100', 101'), announced by 101' only.
  canon[99] = canon[100] = canon[101] = 1;
  const auto h1 = head(101, 1, 1);
  ASSERT_EQ(t.on_head(h1), HeadResult::NeedsResolve);
  protocol::ReorgNotice n{};
  ASSERT_TRUE(t.resolve(&h1, canonical, n));
  EXPECT_EQ(n.common_ancestor_number, 98u);
  EXPECT_EQ(n.new_tip_number, 101u);
  EXPECT_EQ(t.hash_at(98), h(98, 0));
  EXPECT_EQ(t.hash_at(99), h(99, 1));
  EXPECT_EQ(t.hash_at(100), h(100, 1));
  // The next block extends, then another 2-deep reorg (101'', 102'', 103''): ancestor 100'.
  canon[102] = 1;
  ASSERT_EQ(t.on_head(head(102, 1, 1)), HeadResult::Extended);
  canon[101] = canon[102] = canon[103] = 2;
  const auto h2 = head(103, 2, 2);
  ASSERT_EQ(t.on_head(h2), HeadResult::NeedsResolve);
  ASSERT_TRUE(t.resolve(&h2, canonical, n));
  EXPECT_EQ(n.common_ancestor_number, 100u);
  EXPECT_EQ(n.common_ancestor_hash, h(100, 1));
  EXPECT_EQ(t.deep_reorgs(), 0u);
  EXPECT_EQ(t.reorgs(), 2u);
}

// A new head far above the old tip: the blocks in between are fetched (within finality) so that
// the tracker still links the new head to the ancestor.
TEST(ReorgTrackerTest, ShouldFillTheBlocksBetweenOldTipAndNewHead) {
  ReorgTracker t(64, 16);
  std::map<std::uint64_t, std::uint8_t> canon;
  for (std::uint64_t n = 1; n <= 50; ++n) {
    canon[n] = 0;
    ASSERT_EQ(t.on_head(head(n, 0, 0)), HeadResult::Extended);
  }
  for (std::uint64_t n = 50; n <= 55; ++n) canon[n] = 1;  // reorg of 50 while we were away, chain to 55
  auto canonical = [&](std::uint64_t n) -> std::optional<Hash32> { return h(n, canon[n]); };
  const auto nh = head(55, 1, 1);
  protocol::ReorgNotice n{};
  ASSERT_TRUE(t.resolve(&nh, canonical, n));
  EXPECT_EQ(n.common_ancestor_number, 49u);
  for (std::uint64_t k = 50; k <= 55; ++k) EXPECT_EQ(t.hash_at(k), h(k, 1)) << k;
  EXPECT_EQ(t.hash_at(49), h(49, 0));
}

// The session checks its tip before a gap; with keep_below_gap the history below stays.
TEST(ReorgTrackerTest, ShouldKeepHistoryBelowAGapWhenTheCallerCheckedTheTip) {
  ReorgTracker t(16, 8);
  for (std::uint64_t n = 1; n <= 5; ++n) ASSERT_EQ(t.on_head(head(n, 0, 0)), HeadResult::Extended);
  EXPECT_EQ(t.on_head(head(8, 0, 0), /*keep_below_gap=*/true), HeadResult::Gap);
  EXPECT_EQ(t.hash_at(5), h(5, 0));
  EXPECT_FALSE(t.hash_at(6).has_value());
  EXPECT_EQ(t.on_head(head(10, 0, 0)), HeadResult::Gap);  // default: history cleared
  EXPECT_FALSE(t.hash_at(8).has_value());
}

// Audit: numbers near 2^64 from a hostile node made truncate_above loop forever.
TEST(ReorgTrackerTest, ShouldRefuseBlockNumbersAbove2To63AndNeverLoopForever) {
  ReorgTracker t(16, 8);
  const std::uint64_t M = ~std::uint64_t{0};
  ASSERT_EQ(t.on_head(head(100, 0, 0)), HeadResult::Extended);
  EXPECT_EQ(t.on_head(head(M, 0, 0)), HeadResult::Refused);
  EXPECT_EQ(t.on_head(head(kMaxBlockNumber + 1, 0, 0)), HeadResult::Refused);
  EXPECT_EQ(t.tip(), 100u);
  // At the limit itself, a reorg resolves (no counter can wrap).
  ASSERT_EQ(t.on_head(head(kMaxBlockNumber - 1, 0, 0)), HeadResult::Gap);
  ASSERT_EQ(t.on_head(head(kMaxBlockNumber, 0, 0)), HeadResult::Extended);
  const auto nh = head(kMaxBlockNumber, 1, 0);
  ASSERT_EQ(t.on_head(nh), HeadResult::NeedsResolve);
  protocol::ReorgNotice n{};
  ASSERT_TRUE(t.resolve(&nh, [&](std::uint64_t k) -> std::optional<Hash32> { return h(k, k == kMaxBlockNumber ? 1 : 0); }, n));
  EXPECT_EQ(n.common_ancestor_number, kMaxBlockNumber - 1);
  EXPECT_EQ(t.tip(), kMaxBlockNumber);
  const auto bad = head(M, 1, 1);
  EXPECT_FALSE(t.resolve(&bad, [&](std::uint64_t k) -> std::optional<Hash32> { return h(k, 0); }, n));
}

}  // namespace
