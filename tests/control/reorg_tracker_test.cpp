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

}  // namespace
