// PoolBook: event application, V3 liquidity bookkeeping, duplicates, reorg unwind, snapshots.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "arb_test_util.hpp"
#include "torq/strategy/tick_math.hpp"

namespace torq::arb {
namespace {

using namespace test;

const U256 kQ96 = U256::pow2(96);

struct BookFixture : ::testing::Test {
  std::vector<PoolSpec> specs{v2(0, 0, 1), v3(1, 0, 1, 3000, 60), v2(2, 1, 2)};
  BookConfig cfg{};
  std::unique_ptr<PoolBook> book;
  std::uint32_t p = 0;
  void SetUp() override {
    cfg.v3_tick_capacity = 4;
    cfg.journal_capacity = 64;
    book = std::make_unique<PoolBook>(specs, cfg);
  }
  void init_v3(std::uint64_t block = 10) {
    const auto sp = strategy::get_sqrt_ratio_at_tick(0);
    ASSERT_EQ(book->apply(v3swap(specs[1], block, 0, *sp, 0, 0), p), ApplyResult::applied);
  }
};

TEST_F(BookFixture, ShouldSetReservesAndBumpVersionWhenV2SyncApplied) {
  ASSERT_EQ(book->apply(sync(specs[0], 5, 1, U256(1000), U256(2000)), p), ApplyResult::applied);
  EXPECT_EQ(p, 0u);
  EXPECT_EQ(book->state(0).reserve0(), U256(1000));
  EXPECT_EQ(book->state(0).reserve1(), U256(2000));
  EXPECT_TRUE(book->state(0).has_state());
  const auto v = book->state(0).version;
  ASSERT_EQ(book->apply(sync(specs[0], 5, 2, U256(1100), U256(1900)), p), ApplyResult::applied);
  EXPECT_EQ(book->state(0).reserve0(), U256(1100));
  EXPECT_EQ(book->state(0).version, v + 1);
}

// A V2 pool's reserves share the 32 bytes a V3 pool's sqrt price takes (two 128-bit halves):
// both stay exact at their largest admitted values, through a snapshot, an event and an unwind.
TEST_F(BookFixture, ShouldKeepBothReservesAndTheSqrtPriceExactAtTheirLargestValues) {
  const U256 r0 = U256::pow2(112) - U256(1);
  const U256 r1 = U256::pow2(112) - U256::pow2(64) - U256(3);  // both 64-bit words of each half set
  protocol::PoolStateSnapshot snap{};
  snap.pool = specs[0].id.raw();
  snap.block_number = 50;
  snap.kind = static_cast<std::uint8_t>(protocol::PoolKind::V2);
  snap.reserve0 = r0;
  snap.reserve1 = r1;
  ASSERT_EQ(book->load(snap, p), ApplyResult::applied);
  EXPECT_EQ(book->state(0).reserve0(), r0);
  EXPECT_EQ(book->state(0).reserve1(), r1);
  ASSERT_EQ(book->apply(sync(specs[0], 60, 0, r1, r0), p), ApplyResult::applied);
  EXPECT_EQ(book->state(0).reserve0(), r1);
  EXPECT_EQ(book->state(0).reserve1(), r0);
  ASSERT_EQ(book->unwind_to(55, [](std::uint32_t) {}), UnwindResult::ok);
  EXPECT_EQ(book->state(0).reserve0(), r0);
  EXPECT_EQ(book->state(0).reserve1(), r1);
  const U256 sp = strategy::kMaxSqrtRatio - U256(1);  // 160 bits
  ASSERT_EQ(book->apply(v3swap(specs[1], 60, 1, sp, 7, strategy::kMaxTick - 1), p), ApplyResult::applied);
  EXPECT_EQ(book->state(1).sqrt_price_x96(), sp);
  EXPECT_EQ(book->state(1).liquidity, u128{7});
  EXPECT_EQ(book->state(0).reserve1(), r1);  // the neighbour's line is untouched
}

TEST_F(BookFixture, ShouldIgnoreEventAtOrBeforeLastAppliedPosition) {
  ASSERT_EQ(book->apply(sync(specs[0], 5, 3, U256(1000), U256(2000)), p), ApplyResult::applied);
  EXPECT_EQ(book->apply(sync(specs[0], 5, 3, U256(7), U256(7)), p), ApplyResult::duplicate);
  EXPECT_EQ(book->apply(sync(specs[0], 4, 9, U256(7), U256(7)), p), ApplyResult::duplicate);
  EXPECT_EQ(book->state(0).reserve0(), U256(1000));
  EXPECT_EQ(book->stats().duplicates, 2u);
}

TEST_F(BookFixture, ShouldRejectEventOfWrongPoolTypeOrUnknownPool) {
  EXPECT_EQ(book->apply(v3swap(specs[0], 5, 0, kQ96, 1, 0), p), ApplyResult::wrong_type);
  PoolSpec ghost = v2(9, 0, 1);
  EXPECT_EQ(book->apply(sync(ghost, 5, 0, U256(1), U256(1)), p), ApplyResult::unknown_pool);
}

TEST_F(BookFixture, ShouldSetSlot0WhenV3SwapApplied) {
  const U256 sp = *strategy::get_sqrt_ratio_at_tick(120);
  ASSERT_EQ(book->apply(v3swap(specs[1], 7, 0, sp, 5555, 120), p), ApplyResult::applied);
  EXPECT_EQ(book->state(1).sqrt_price_x96(), sp);
  EXPECT_EQ(book->state(1).liquidity, u128{5555});
  EXPECT_EQ(book->state(1).tick, 120);
}

TEST_F(BookFixture, ShouldUpdateLiquidityNetAtBothTicksAndActiveLiquidityWhenMintIsInRange) {
  init_v3();
  ASSERT_EQ(book->apply(v3mint(specs[1], 11, 0, -60, 60, 1000), p), ApplyResult::applied);
  auto t = book->ticks(1);
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[0].tick, -60);
  EXPECT_EQ(t[0].liquidity_net, i128{1000});
  EXPECT_EQ(t[1].tick, 60);
  EXPECT_EQ(t[1].liquidity_net, i128{-1000});
  EXPECT_EQ(book->state(1).liquidity, u128{1000});
  // Out of range (above the current tick): ticks change, active liquidity does not.
  ASSERT_EQ(book->apply(v3mint(specs[1], 11, 1, 60, 180, 500), p), ApplyResult::applied);
  t = book->ticks(1);
  ASSERT_EQ(t.size(), 3u);
  EXPECT_EQ(t[1].tick, 60);
  EXPECT_EQ(t[1].liquidity_net, i128{-500});
  EXPECT_EQ(t[1].liquidity_gross, u128{1500});
  EXPECT_EQ(t[2].liquidity_net, i128{-500});
  EXPECT_EQ(book->state(1).liquidity, u128{1000});
  // The upper tick is exclusive: a range ending at the current tick is not active.
  ASSERT_EQ(book->apply(v3mint(specs[1], 11, 2, -60, 0, 7), p), ApplyResult::applied);
  EXPECT_EQ(book->state(1).liquidity, u128{1000});
}

TEST_F(BookFixture, ShouldRemoveTicksAndActiveLiquidityWhenBurnEmptiesPosition) {
  init_v3();
  ASSERT_EQ(book->apply(v3mint(specs[1], 11, 0, -60, 60, 1000), p), ApplyResult::applied);
  ASSERT_EQ(book->apply(v3burn(specs[1], 11, 1, -60, 60, 400), p), ApplyResult::applied);
  EXPECT_EQ(book->state(1).liquidity, u128{600});
  EXPECT_EQ(book->ticks(1)[0].liquidity_net, i128{600});
  ASSERT_EQ(book->apply(v3burn(specs[1], 11, 2, -60, 60, 600), p), ApplyResult::applied);
  EXPECT_EQ(book->ticks(1).size(), 0u);
  EXPECT_EQ(book->state(1).liquidity, u128{0});
}

TEST_F(BookFixture, ShouldQuarantinePoolWhenBurningAbsentLiquidity) {
  init_v3();
  EXPECT_EQ(book->apply(v3burn(specs[1], 11, 0, -60, 60, 5), p), ApplyResult::inconsistent);
  EXPECT_TRUE(book->state(1).quarantined());
  EXPECT_EQ(book->apply(v3swap(specs[1], 12, 0, kQ96, 1, 0), p), ApplyResult::quarantined);
}

TEST_F(BookFixture, ShouldQuarantineInsteadOfAllocatingWhenTickCapacityIsFull) {
  init_v3();
  ASSERT_EQ(book->apply(v3mint(specs[1], 11, 0, -60, 60, 1), p), ApplyResult::applied);
  ASSERT_EQ(book->apply(v3mint(specs[1], 11, 1, -120, 120, 1), p), ApplyResult::applied);
  EXPECT_EQ(book->apply(v3mint(specs[1], 11, 2, -180, 180, 1), p), ApplyResult::tick_overflow);
  EXPECT_TRUE(book->state(1).quarantined());
  EXPECT_EQ(book->ticks(1).size(), 4u);  // unchanged by the refused mint
  EXPECT_EQ(book->stats().tick_overflows, 1u);
}

TEST_F(BookFixture, ShouldRestoreExactPriorStateWhenReorgUnwindsBlocks) {
  ASSERT_EQ(book->apply(sync(specs[0], 100, 0, U256(1000), U256(2000)), p), ApplyResult::applied);
  init_v3(100);
  ASSERT_EQ(book->apply(v3mint(specs[1], 100, 1, -60, 60, 1000), p), ApplyResult::applied);
  std::vector<PoolState> before;
  for (std::uint32_t i = 0; i < 3; ++i) before.push_back(book->state(i));
  const std::vector<V3Tick> ticks_before(book->ticks(1).begin(), book->ticks(1).end());

  // Blocks 101..103: syncs, a swap crossing into another range, mints/burns that insert and remove ticks.
  ASSERT_EQ(book->apply(sync(specs[0], 101, 0, U256(900), U256(2300)), p), ApplyResult::applied);
  ASSERT_EQ(book->apply(sync(specs[2], 101, 1, U256(5), U256(6)), p), ApplyResult::applied);
  ASSERT_EQ(book->apply(v3mint(specs[1], 101, 2, -120, 120, 77), p), ApplyResult::applied);
  ASSERT_EQ(book->apply(v3burn(specs[1], 102, 0, -60, 60, 1000), p), ApplyResult::applied);
  ASSERT_EQ(book->apply(v3swap(specs[1], 102, 1, *strategy::get_sqrt_ratio_at_tick(90), 77, 90), p),
            ApplyResult::applied);
  ASSERT_EQ(book->apply(v3mint(specs[1], 103, 0, 60, 180, 5), p), ApplyResult::applied);
  ASSERT_EQ(book->apply(sync(specs[0], 103, 1, U256(1), U256(1)), p), ApplyResult::applied);
  ASSERT_FALSE(book->state(1).same_market(before[1]));

  std::vector<std::uint32_t> touched;
  ASSERT_EQ(book->unwind_to(100, [&](std::uint32_t q) { touched.push_back(q); }), UnwindResult::ok);
  for (std::uint32_t i = 0; i < 3; ++i) {
    EXPECT_TRUE(book->state(i).same_market(before[i])) << "pool " << i;
    EXPECT_GE(book->state(i).version, before[i].version);
  }
  const std::vector<V3Tick> ticks_after(book->ticks(1).begin(), book->ticks(1).end());
  ASSERT_EQ(ticks_after.size(), ticks_before.size());
  EXPECT_EQ(std::memcmp(ticks_after.data(), ticks_before.data(), ticks_before.size() * sizeof(V3Tick)), 0);
  EXPECT_EQ(touched.size(), 7u);
  // The new branch's block 101 events are accepted (not duplicates of the removed branch).
  EXPECT_EQ(book->apply(sync(specs[0], 101, 0, U256(950), U256(2100)), p), ApplyResult::applied);
}

TEST_F(BookFixture, ShouldRefuseUnwindWhenJournalNoLongerHoldsTheBlocks) {
  for (std::uint32_t i = 0; i < 70; ++i)  // 70 entries > capacity 64
    ASSERT_EQ(book->apply(sync(specs[0], 200 + i, 0, U256(1000 + i), U256(2000)), p), ApplyResult::applied);
  const PoolState s = book->state(0);
  EXPECT_EQ(book->unwind_to(201, [](std::uint32_t) {}), UnwindResult::too_deep);
  EXPECT_TRUE(book->state(0).same_market(s));  // unchanged
  EXPECT_EQ(book->unwind_to(260, [](std::uint32_t) {}), UnwindResult::ok);
  EXPECT_EQ(book->state(0).reserve0(), U256(1000 + 60));
}

TEST_F(BookFixture, ShouldLoadPoolAndTickSnapshots) {
  protocol::PoolStateSnapshot snap{};
  snap.pool = specs[1].id.raw();
  snap.block_number = 50;
  snap.fee_ppm = 3000;
  snap.tick = 10;
  snap.tick_spacing = 60;
  snap.kind = static_cast<std::uint8_t>(protocol::PoolKind::V3);
  snap.sqrt_price_x96 = *strategy::get_sqrt_ratio_at_tick(10);
  snap.liquidity = protocol::Uint128Le::from(5242);
  ASSERT_EQ(book->load(snap, p), ApplyResult::applied);
  EXPECT_EQ(book->state(1).liquidity, u128{5242});
  EXPECT_EQ(book->state(1).tick, 10);

  // Positions in the snapshot: A = 4242 on [-60, 120), B = 1000 on [-60, 240), C = 1000 on [120, 240).
  // Tick 120: net -4242 + 1000, gross 5242. Tick 240: net -2000, gross 2000.
  auto entry = [](std::int32_t t, i128 net, u128 gross) {
    return protocol::V3TickEntry{t, 0, protocol::Int128Le::from(net), protocol::Uint128Le::from(gross)};
  };
  protocol::V3TicksSnapshotHead head{specs[1].id.raw(), 50, 3, 0};
  const protocol::V3TickEntry e[3] = {entry(-60, 5242, 5242), entry(120, -3242, 5242), entry(240, -2000, 2000)};
  ASSERT_EQ(book->load_ticks(head, std::as_bytes(std::span(e)), p), ApplyResult::applied);
  ASSERT_EQ(book->ticks(1).size(), 3u);
  EXPECT_EQ(book->ticks(1)[1].liquidity_net, i128{-3242});
  EXPECT_EQ(book->ticks(1)[1].liquidity_gross, u128{5242});
  // Events at or before the snapshot block are already in it.
  EXPECT_EQ(book->apply(v3swap(specs[1], 50, 9, kQ96, 1, 0), p), ApplyResult::duplicate);
  // Burning A: tick -60 keeps B (net = gross = 1000); tick 120 keeps C (net 1000, gross 1000).
  // The old max(|net|, 1) estimate started tick 120 at gross 3242 < 4242 and had to guess.
  ASSERT_EQ(book->apply(v3burn(specs[1], 51, 0, -60, 120, 4242), p), ApplyResult::applied);
  ASSERT_EQ(book->ticks(1).size(), 3u);
  EXPECT_EQ(book->ticks(1)[0].liquidity_net, i128{1000});
  EXPECT_EQ(book->ticks(1)[0].liquidity_gross, u128{1000});
  EXPECT_EQ(book->ticks(1)[1].liquidity_net, i128{1000});
  EXPECT_EQ(book->ticks(1)[1].liquidity_gross, u128{1000});
  EXPECT_EQ(book->state(1).liquidity, u128{1000});
  // Burning C removes only the gross it had at 120 and half of 240's.
  ASSERT_EQ(book->apply(v3burn(specs[1], 51, 1, 120, 240, 1000), p), ApplyResult::applied);
  ASSERT_EQ(book->ticks(1).size(), 2u);
  EXPECT_EQ(book->ticks(1)[0].tick, -60);
  EXPECT_EQ(book->ticks(1)[1].tick, 240);
  EXPECT_EQ(book->ticks(1)[1].liquidity_gross, u128{1000});
  // More than the tick's gross is not there: inconsistent, quarantined (no saturation).
  EXPECT_EQ(book->apply(v3burn(specs[1], 51, 2, -60, 240, 1001), p), ApplyResult::inconsistent);
  EXPECT_TRUE(book->state(1).quarantined());
  // A fresh snapshot clears the quarantine; burning B exactly empties the pool's ticks.
  ASSERT_EQ(book->load(snap, p), ApplyResult::applied);
  protocol::V3TicksSnapshotHead head2{specs[1].id.raw(), 52, 2, 0};
  const protocol::V3TickEntry e2[2] = {entry(-60, 1000, 1000), entry(240, -1000, 1000)};
  ASSERT_EQ(book->load_ticks(head2, std::as_bytes(std::span(e2)), p), ApplyResult::applied);
  EXPECT_FALSE(book->state(1).quarantined());
  ASSERT_EQ(book->apply(v3burn(specs[1], 53, 0, -60, 240, 1000), p), ApplyResult::applied);
  EXPECT_EQ(book->ticks(1).size(), 0u);
}

TEST_F(BookFixture, ShouldRejectTickSnapshotsThatAreUnsortedOrContradictGross) {
  protocol::V3TicksSnapshotHead head{specs[1].id.raw(), 50, 2, 0};
  auto entry = [](std::int32_t t, i128 net, u128 gross) {
    return protocol::V3TickEntry{t, 0, protocol::Int128Le::from(net), protocol::Uint128Le::from(gross)};
  };
  const protocol::V3TickEntry unsorted[2] = {entry(120, 1, 1), entry(-60, -1, 1)};
  EXPECT_EQ(book->load_ticks(head, std::as_bytes(std::span(unsorted)), p), ApplyResult::inconsistent);
  EXPECT_TRUE(book->state(1).quarantined());
  const protocol::V3TickEntry zero_gross[2] = {entry(-60, 0, 0), entry(120, 0, 0)};
  EXPECT_EQ(book->load_ticks(head, std::as_bytes(std::span(zero_gross)), p), ApplyResult::inconsistent);
  const protocol::V3TickEntry net_above_gross[2] = {entry(-60, 7, 6), entry(120, -6, 6)};
  EXPECT_EQ(book->load_ticks(head, std::as_bytes(std::span(net_above_gross)), p), ApplyResult::inconsistent);
  EXPECT_EQ(book->ticks(1).size(), 0u);
  const protocol::V3TickEntry good[2] = {entry(-60, 6, 6), entry(120, -6, 6)};
  EXPECT_EQ(book->load_ticks(head, std::as_bytes(std::span(good)), p), ApplyResult::applied);
  EXPECT_FALSE(book->state(1).quarantined());
}

TEST_F(BookFixture, ShouldAppendTheChunksOfASplitTickSnapshotAndReplaceOnANewSnapshot) {
  auto entry = [](std::int32_t t, i128 net, u128 gross) {
    return protocol::V3TickEntry{t, 0, protocol::Int128Le::from(net), protocol::Uint128Le::from(gross)};
  };
  // One snapshot at block 50 split in two records (as a udp:// link's 1472-byte frames split it).
  const protocol::V3TickEntry lo[2] = {entry(-120, 5, 5), entry(-60, 7, 7)};
  const protocol::V3TickEntry hi[2] = {entry(60, -7, 7), entry(120, -5, 5)};
  ASSERT_EQ(book->load_ticks({specs[1].id.raw(), 50, 2, 0}, std::as_bytes(std::span(lo)), p), ApplyResult::applied);
  ASSERT_EQ(book->load_ticks({specs[1].id.raw(), 50, 2, 0}, std::as_bytes(std::span(hi)), p), ApplyResult::applied);
  ASSERT_EQ(book->ticks(1).size(), 4u) << "the second chunk must not replace the first";
  EXPECT_EQ(book->ticks(1)[0].tick, -120);
  EXPECT_EQ(book->ticks(1)[3].tick, 120);
  // The same block's snapshot again (a resnapshot) starts over from its first chunk.
  ASSERT_EQ(book->load_ticks({specs[1].id.raw(), 50, 2, 0}, std::as_bytes(std::span(lo)), p), ApplyResult::applied);
  EXPECT_EQ(book->ticks(1).size(), 2u);
  // A later block's first chunk replaces even when its ticks lie above the loaded ones.
  ASSERT_EQ(book->load_ticks({specs[1].id.raw(), 51, 2, 0}, std::as_bytes(std::span(hi)), p), ApplyResult::applied);
  ASSERT_EQ(book->ticks(1).size(), 2u);
  EXPECT_EQ(book->ticks(1)[0].tick, 60);
  // The pool's capacity (4 here) bounds the whole snapshot, not one chunk.
  const protocol::V3TickEntry three[3] = {entry(180, 1, 1), entry(240, 1, 1), entry(300, -2, 2)};
  EXPECT_EQ(book->load_ticks({specs[1].id.raw(), 51, 3, 0}, std::as_bytes(std::span(three)), p), ApplyResult::tick_overflow);
  EXPECT_TRUE(book->state(1).quarantined());
}


// --- Audit sequences: reorg unwinds must never leave the book worse than refusing them. ---

protocol::V3TickEntry tick_entry(std::int32_t t, i128 net, u128 gross) {
  return protocol::V3TickEntry{t, 0, protocol::Int128Le::from(net), protocol::Uint128Le::from(gross)};
}

// Audit 1: a full tick snapshot stamped older than a journaled Burn. Undoing the Burn re-inserted
// its two ticks past the pool's 4 slots (heap overflow into the next pool's ticks).
TEST_F(BookFixture, ShouldNotUnwindThroughATickSnapshotStampedOlderThanTheJournal) {
  init_v3(100);
  const protocol::V3TickEntry two[2] = {tick_entry(-120, 1000, 1000), tick_entry(120, -1000, 1000)};
  ASSERT_EQ(book->load_ticks({specs[1].id.raw(), 100, 2, 0}, std::as_bytes(std::span(two)), p), ApplyResult::applied);
  ASSERT_EQ(book->apply(v3mint(specs[1], 101, 0, -60, 60, 500), p), ApplyResult::applied);
  ASSERT_EQ(book->apply(v3burn(specs[1], 102, 0, -60, 60, 500), p), ApplyResult::applied);
  ASSERT_EQ(book->ticks(1).size(), 2u);
  const protocol::V3TickEntry four[4] = {tick_entry(-240, 10, 10), tick_entry(-180, 10, 10), tick_entry(180, -10, 10),
                                         tick_entry(240, -10, 10)};
  ASSERT_EQ(book->load_ticks({specs[1].id.raw(), 101, 4, 0}, std::as_bytes(std::span(four)), p), ApplyResult::applied);
  EXPECT_GE(book->journal_floor_block(), 102u);  // the pool's last applied block, not only the snapshot's
  EXPECT_EQ(book->unwind_to(101, [](std::uint32_t) {}), UnwindResult::too_deep);
  ASSERT_EQ(book->ticks(1).size(), 4u);
  EXPECT_EQ(book->ticks(1)[0].tick, -240);
  EXPECT_EQ(book->ticks(1)[3].tick, 240);
  EXPECT_EQ(book->stats().unwind_tick_overflows, 0u);
}

// The same for a pool-state snapshot: the pool's older entries are never undone on top of it.
TEST_F(BookFixture, ShouldNotUndoAPoolsOlderEntriesOnTopOfItsStateSnapshot) {
  ASSERT_EQ(book->apply(sync(specs[0], 100, 0, U256(1000), U256(2000)), p), ApplyResult::applied);
  ASSERT_EQ(book->apply(sync(specs[0], 102, 0, U256(1100), U256(1900)), p), ApplyResult::applied);
  protocol::PoolStateSnapshot snap{};
  snap.pool = specs[0].id.raw();
  snap.block_number = 101;
  snap.kind = static_cast<std::uint8_t>(protocol::PoolKind::V2);
  snap.reserve0 = U256(5000);
  snap.reserve1 = U256(6000);
  ASSERT_EQ(book->load(snap, p), ApplyResult::applied);
  EXPECT_EQ(book->unwind_to(101, [](std::uint32_t) {}), UnwindResult::too_deep);
  EXPECT_EQ(book->state(0).reserve0(), U256(5000));
}

// Audit 2: pool0 @200 then pool1 @150 in stream order; the old unwind stopped at pool1's entry
// and left pool0's orphaned block-200 state while reporting ok.
TEST_F(BookFixture, ShouldUndoEveryEntryAboveTheAncestorWhenBlocksArriveOutOfOrderAcrossPools) {
  ASSERT_EQ(book->apply(sync(specs[0], 100, 0, U256(1000), U256(1000)), p), ApplyResult::applied);
  ASSERT_EQ(book->apply(sync(specs[2], 100, 1, U256(1000), U256(1000)), p), ApplyResult::applied);
  ASSERT_EQ(book->apply(sync(specs[0], 200, 0, U256(7777), U256(1)), p), ApplyResult::applied);
  ASSERT_EQ(book->apply(sync(specs[2], 150, 0, U256(2000), U256(2000)), p), ApplyResult::applied);
  ASSERT_EQ(book->apply(sync(specs[2], 160, 0, U256(3000), U256(3000)), p), ApplyResult::applied);
  std::vector<std::uint32_t> touched;
  ASSERT_EQ(book->unwind_to(170, [&](std::uint32_t q) { touched.push_back(q); }), UnwindResult::ok);
  EXPECT_EQ(book->state(0).reserve0(), U256(1000));  // block 200 undone
  EXPECT_EQ(book->state(2).reserve0(), U256(3000));  // blocks 150, 160 kept
  EXPECT_EQ(touched, std::vector<std::uint32_t>{0});
  EXPECT_EQ(book->journal_size(), 4u);
  // The kept entries still unwind exactly, in order.
  ASSERT_EQ(book->unwind_to(155, [](std::uint32_t) {}), UnwindResult::ok);
  EXPECT_EQ(book->state(2).reserve0(), U256(2000));
  ASSERT_EQ(book->unwind_to(120, [](std::uint32_t) {}), UnwindResult::ok);
  EXPECT_EQ(book->state(2).reserve0(), U256(1000));
  EXPECT_EQ(book->state(0).reserve0(), U256(1000));
  EXPECT_EQ(book->journal_size(), 2u);
  // Pool 0's new-branch block 200 is not a duplicate of the undone one.
  EXPECT_EQ(book->apply(sync(specs[0], 200, 0, U256(1234), U256(1)), p), ApplyResult::applied);
}

// Audit 6: a failed tick snapshot wipes the ticks and quarantines without a journal entry; the
// unwind used to restore the pre-quarantine flags and re-insert only the journaled ticks.
TEST_F(BookFixture, ShouldKeepAFailedTickSnapshotsQuarantineAcrossAReorg) {
  init_v3(100);
  const protocol::V3TickEntry four[4] = {tick_entry(-600, 1000, 1000), tick_entry(-120, 2000, 2000),
                                         tick_entry(120, -2000, 2000), tick_entry(600, -1000, 1000)};
  ASSERT_EQ(book->load_ticks({specs[1].id.raw(), 100, 4, 0}, std::as_bytes(std::span(four)), p), ApplyResult::applied);
  ASSERT_EQ(book->apply(v3mint(specs[1], 101, 0, -120, 120, 500), p), ApplyResult::applied);
  const protocol::V3TickEntry bad[1] = {tick_entry(60, 0, 0)};  // gross 0: inconsistent
  ASSERT_EQ(book->load_ticks({specs[1].id.raw(), 102, 1, 0}, std::as_bytes(std::span(bad)), p), ApplyResult::inconsistent);
  ASSERT_TRUE(book->state(1).quarantined());
  EXPECT_EQ(book->unwind_to(100, [](std::uint32_t) {}), UnwindResult::too_deep);
  EXPECT_TRUE(book->state(1).quarantined());
  EXPECT_EQ(book->ticks(1).size(), 0u);
}

// An unwind never lifts a quarantine (it is not journaled); only a snapshot does.
TEST_F(BookFixture, ShouldKeepAQuarantineWhenAReorgUnwindsThePoolsEarlierEntries) {
  init_v3(100);
  ASSERT_EQ(book->apply(v3mint(specs[1], 101, 0, -60, 60, 500), p), ApplyResult::applied);
  ASSERT_EQ(book->apply(v3burn(specs[1], 102, 0, -120, 120, 5), p), ApplyResult::inconsistent);
  ASSERT_EQ(book->unwind_to(100, [](std::uint32_t) {}), UnwindResult::ok);
  EXPECT_TRUE(book->state(1).quarantined());
  EXPECT_EQ(book->ticks(1).size(), 0u);  // the mint is undone exactly
}

// After a too_deep unwind, abandon_above quarantines the pools changed above the ancestor, moves
// their position back and drops the journal.
TEST_F(BookFixture, ShouldQuarantinePoolsChangedAboveTheAncestorWhenAbandoningATooDeepReorg) {
  ASSERT_EQ(book->apply(sync(specs[0], 100, 0, U256(1000), U256(1000)), p), ApplyResult::applied);
  for (std::uint32_t i = 0; i < 70; ++i)  // overwrites pool 0's entries
    ASSERT_EQ(book->apply(sync(specs[2], 101 + i, 0, U256(1000 + i), U256(2000)), p), ApplyResult::applied);
  ASSERT_EQ(book->unwind_to(100, [](std::uint32_t) {}), UnwindResult::too_deep);
  std::vector<std::uint32_t> touched;
  book->abandon_above(100, [&](std::uint32_t q) { touched.push_back(q); });
  EXPECT_EQ(touched, std::vector<std::uint32_t>{2});
  EXPECT_FALSE(book->state(0).quarantined());
  EXPECT_TRUE(book->state(2).quarantined());
  EXPECT_EQ(book->journal_size(), 0u);
  EXPECT_EQ(book->stats().abandoned_pools, 1u);
  // A snapshot of the new branch clears it; the new branch's block 101 is not a duplicate.
  protocol::PoolStateSnapshot snap{};
  snap.pool = specs[2].id.raw();
  snap.block_number = 100;
  snap.kind = static_cast<std::uint8_t>(protocol::PoolKind::V2);
  snap.reserve0 = U256(1000);
  snap.reserve1 = U256(2000);
  ASSERT_EQ(book->load(snap, p), ApplyResult::applied);
  EXPECT_FALSE(book->state(2).quarantined());
  EXPECT_EQ(book->apply(sync(specs[2], 101, 0, U256(999), U256(2001)), p), ApplyResult::applied);
}

// Audit 5: values no real pool can hold are refused (counted, quarantined), the limits accepted.
TEST_F(BookFixture, ShouldRefuseV2ReservesOfUint112OrMore) {
  const U256 max112 = U256::pow2(112) - U256(1);
  ASSERT_EQ(book->apply(sync(specs[0], 100, 0, max112, U256(0)), p), ApplyResult::applied);  // 0: an emptied pair
  EXPECT_EQ(book->apply(sync(specs[2], 100, 0, U256(1), U256::pow2(112)), p), ApplyResult::inconsistent);
  EXPECT_TRUE(book->state(2).quarantined());
  EXPECT_FALSE(book->state(2).has_state());
  EXPECT_EQ(book->stats().out_of_range, 1u);
  protocol::PoolStateSnapshot snap{};
  snap.pool = specs[0].id.raw();
  snap.block_number = 101;
  snap.kind = static_cast<std::uint8_t>(protocol::PoolKind::V2);
  snap.reserve0 = U256::pow2(200);
  snap.reserve1 = U256(5);
  EXPECT_EQ(book->load(snap, p), ApplyResult::inconsistent);
  EXPECT_TRUE(book->state(0).quarantined());
  EXPECT_EQ(book->state(0).reserve0(), max112);
  EXPECT_EQ(book->stats().out_of_range, 2u);
}

TEST_F(BookFixture, ShouldRefuseV3Slot0OutsideTickMathsRanges) {
  const u128 L = 1000;
  EXPECT_EQ(book->apply(v3swap(specs[1], 100, 0, strategy::kMinSqrtRatio, L, strategy::kMinTick), p), ApplyResult::applied);
  EXPECT_EQ(book->apply(v3swap(specs[1], 100, 1, strategy::kMaxSqrtRatio - U256(1), L, strategy::kMaxTick - 1), p),
            ApplyResult::applied);
  const PoolState ok = book->state(1);
  struct Case {
    U256 sqrt;
    std::int32_t tick;
  };
  const Case bad[] = {{U256::zero(), 0},
                      {strategy::kMinSqrtRatio - U256(1), 0},
                      {strategy::kMaxSqrtRatio, 0},
                      {U256::pow2(170), -5},
                      {kQ96, strategy::kMaxTick + 1},
                      {kQ96, strategy::kMinTick - 1}};
  std::uint32_t log = 2;
  for (const Case& c : bad) {
    SetUp();  // a fresh book per case: each refusal quarantines the pool
    ASSERT_EQ(book->apply(v3swap(specs[1], 100, 0, kQ96, L, 0), p), ApplyResult::applied);
    EXPECT_EQ(book->apply(v3swap(specs[1], 100, log, c.sqrt, L, c.tick), p), ApplyResult::inconsistent) << c.tick;
    EXPECT_TRUE(book->state(1).quarantined());
    EXPECT_EQ(book->state(1).sqrt_price_x96(), kQ96);
    EXPECT_EQ(book->stats().out_of_range, 1u);
  }
  SetUp();
  EXPECT_EQ(book->apply(protocol::V3Initialize{ctx(specs[1], 100, 0, 0), U256::zero(), 0, 0}, p), ApplyResult::inconsistent);
  EXPECT_FALSE(book->state(1).has_state());
  SetUp();
  protocol::PoolStateSnapshot snap{};
  snap.pool = specs[1].id.raw();
  snap.block_number = 50;
  snap.fee_ppm = 3000;
  snap.tick_spacing = 60;
  snap.kind = static_cast<std::uint8_t>(protocol::PoolKind::V3);
  snap.sqrt_price_x96 = strategy::kMaxSqrtRatio + U256::pow2(150);
  snap.tick = 887271;
  EXPECT_EQ(book->load(snap, p), ApplyResult::inconsistent);
  EXPECT_FALSE(book->state(1).has_state());
  EXPECT_TRUE(book->state(1).quarantined());
  (void)ok;
}

}  // namespace
}  // namespace torq::arb
