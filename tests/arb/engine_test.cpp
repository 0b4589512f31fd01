// ArbEngine end to end through real rings: frames in, book updates, exactly the right signals out.
#include <gtest/gtest.h>

#include <random>

#include "arb_test_util.hpp"
#include "torq/arb/engine.hpp"
#include "torq/bench/universe.hpp"
#include "torq/hw/tsc.hpp"

namespace torq::arb {
namespace {

using namespace test;

const U256 kE18 = U256(1'000'000'000'000'000'000ULL);

// token 0 = WMATIC (18 dec), token 1 = USDC (6 dec). Pools 0 and 1: WMATIC/USDC on two venues.
struct EngineFixture : ::testing::Test {
  std::vector<PoolSpec> specs{v2(0, 0, 1), v2(1, 0, 1)};
  EngineConfig cfg;
  std::unique_ptr<ArbEngine> eng;
  TestRing in{1 << 16}, out{1 << 16};
  FrameMaker fm;

  void SetUp() override {
    cfg.pricing.stables = {{1, 6}};
    cfg.pricing.routes = {{0, {0}}};
    cfg.gas.native_token = 0;
    cfg.gas.priority_fee_wei = U256(30'000'000'000ULL);
    cfg.cycles.base_tokens = {1};  // profit measured in USDC
    cfg.min_net_profit = UsdFixedPoint8{UsdFixedPoint8::kScale};  // 1 USD
    build();
  }
  void build() {
    eng = std::make_unique<ArbEngine>(specs, cfg);
    eng->attach_output(&out.producer);
  }
  protocol::BlockHeader header(std::uint64_t n) {
    protocol::BlockHeader h{};
    h.number = n;
    h.base_fee_per_gas = U256(100'000'000'000ULL);  // 100 gwei
    return h;
  }
  // Pool 0 prices WMATIC at 0.50 USDC, pool 1 at 0.55 USDC: 1M WMATIC of depth each.
  std::size_t dislocate(std::uint64_t block, std::uint32_t log0 = 0, std::uint64_t timestamp = 777) {
    const auto f = fm.add(header(block))
                       .add(sync(specs[0], block, log0, U256(1'000'000) * kE18, U256(500'000'000'000ULL)))
                       .add(sync(specs[1], block, log0 + 1, U256(1'000'000) * kE18, U256(550'000'000'000ULL)))
                       .finish(timestamp);
    EXPECT_EQ(in.producer.try_publish(f), ring::PublishResult::ok);
    return eng->poll(in.consumer);
  }
  // A signal frame as read back: the frame's timestamp and its one ArbitrageSignal.
  struct Out {
    std::uint64_t ts;
    protocol::ArbitrageSignal sig;
  };
  static std::vector<Out> read(TestRing& r) {
    std::vector<Out> v;
    for (const auto& rec : r.drain()) {
      const auto pr = protocol::parse_frame(rec);
      EXPECT_TRUE(pr.ok());
      EXPECT_EQ(pr.view.domain(), protocol::RelayDomain::Signal);
      EXPECT_EQ(pr.view.tlv_count, 1u);
      for (const auto& t : pr.view.tlvs()) v.push_back(Out{pr.view.header.timestamp_ns, *protocol::tlv_as<protocol::ArbitrageSignal>(t)});
    }
    return v;
  }
  // The signals of the dislocate() frames (timestamp 777).
  std::vector<protocol::ArbitrageSignal> signals() {
    std::vector<protocol::ArbitrageSignal> v;
    for (const Out& o : read(out)) {
      EXPECT_EQ(o.ts, 777u);
      v.push_back(o.sig);
    }
    return v;
  }
};

TEST_F(EngineFixture, ShouldEmitExactlyOneSignalWithPathAmountsAndProfitWhenDislocated) {
  ASSERT_EQ(dislocate(100), 1u);
  const auto sig = signals();
  ASSERT_EQ(sig.size(), 1u);
  const auto& s = sig[0];
  EXPECT_EQ(s.block_number, 100u);
  EXPECT_EQ(s.hop_count, 2);
  EXPECT_EQ(s.path_kind, static_cast<std::uint8_t>(protocol::PathKind::TwoPoolCross));
  // Buy WMATIC with USDC where it is cheap (pool 0), sell it where it is dear (pool 1).
  EXPECT_EQ(s.pools[0], specs[0].id.raw());
  EXPECT_EQ(s.pools[1], specs[1].id.raw());
  EXPECT_EQ(s.pools[2], 0u);
  EXPECT_EQ(s.tokens[0], token(1).raw());
  EXPECT_EQ(s.tokens[1], token(0).raw());
  EXPECT_EQ(s.tokens[2], token(1).raw());
  EXPECT_EQ(s.pool_state_versions[0], eng->book().state(0).version);
  EXPECT_EQ(s.pool_state_versions[1], eng->book().state(1).version);
  // Amounts: the exact optimum of the same two pools, independently simulated.
  const Hop hops[2] = {Hop{&eng->book().state(0), &eng->book().meta(0), {}, false},
                       Hop{&eng->book().state(1), &eng->book().meta(1), {}, true}};
  const SearchResult r = optimize_v2v2(hops[0], hops[1], SearchConfig{});
  ASSERT_TRUE(r.found);
  EXPECT_EQ(s.amount_in, r.amount_in);
  EXPECT_EQ(s.expected_amount_out, *simulate_path(hops, s.amount_in));
  EXPECT_EQ(s.expected_profit, s.expected_amount_out - s.amount_in);
  // USDC has 6 decimals: USD raw (1e-8) = profit * 100.
  EXPECT_EQ(s.expected_profit_usd, static_cast<std::int64_t>(s.expected_profit.low_u64()) * 100);
  // Gas: 180k * (100 + 30 gwei) = 0.0234 WMATIC at pool 0's mid price 0.5 = 0.0117 USD.
  EXPECT_EQ(s.gas_units, 180'000u);
  EXPECT_EQ(s.gas_cost_usd, 1'170'000);
  EXPECT_EQ(s.net_profit_usd, s.expected_profit_usd - s.gas_cost_usd);
  EXPECT_GT(s.net_profit_usd, 100 * UsdFixedPoint8::kScale);  // a 10% gap on 500k USD of depth
  EXPECT_EQ(eng->stats().signals, 1u);
}

TEST_F(EngineFixture, ShouldNotSignalTwiceInOneBlockButAgainInTheNextBlock) {
  ASSERT_EQ(dislocate(100), 1u);
  ASSERT_EQ(signals().size(), 1u);
  // Same block, the pools touched again (later log index): suppressed.
  ASSERT_EQ(dislocate(100, 5), 1u);
  EXPECT_TRUE(signals().empty());
  EXPECT_GE(eng->stats().suppressed_same_block, 1u);
  // Next block: the opportunity is still there and is signalled once more.
  ASSERT_EQ(dislocate(101), 1u);
  EXPECT_EQ(signals().size(), 1u);
}

TEST_F(EngineFixture, ShouldStampEachFramesFirstSignalAfterItsCommitOnlyWhenAsked) {
  // Off by default: signals, no stamp.
  ASSERT_EQ(dislocate(100), 1u);
  ASSERT_EQ(read(out).size(), 1u);
  EXPECT_EQ(eng->first_signal_stamp().frame_timestamp, 0u);
  EXPECT_EQ(eng->first_signal_stamp().tsc, 0u);
  // On: the frame's timestamp and a TSC read while poll() ran (after the commit).
  eng->set_stamp_first_signal(true);
  const std::uint64_t t0 = hw::rdtscp();
  ASSERT_EQ(dislocate(101, 0, 1001), 1u);
  const std::uint64_t t1 = hw::rdtscp();
  ASSERT_EQ(read(out).size(), 1u);
  const SignalStamp first = eng->first_signal_stamp();
  EXPECT_EQ(first.frame_timestamp, 1001u);
  EXPECT_GE(first.tsc, t0);
  EXPECT_LE(first.tsc, t1);
  // A frame with the same timestamp signals again but keeps the stamp (one per frame timestamp);
  // a frame that does not signal leaves it too.
  ASSERT_EQ(dislocate(102, 0, 1001), 1u);
  ASSERT_EQ(read(out).size(), 1u);
  EXPECT_EQ(eng->first_signal_stamp().tsc, first.tsc);
  ASSERT_EQ(dislocate(102, 5, 1002), 1u);  // same block: suppressed, no signal
  EXPECT_TRUE(read(out).empty());
  EXPECT_EQ(eng->first_signal_stamp().frame_timestamp, 1001u);
  // The next frame that signals replaces it.
  ASSERT_EQ(dislocate(103, 0, 1003), 1u);
  ASSERT_EQ(read(out).size(), 1u);
  EXPECT_EQ(eng->first_signal_stamp().frame_timestamp, 1003u);
  EXPECT_GE(eng->first_signal_stamp().tsc, t1);
  // Off again: no new stamp.
  eng->set_stamp_first_signal(false);
  ASSERT_EQ(dislocate(104, 0, 1004), 1u);
  ASSERT_EQ(read(out).size(), 1u);
  EXPECT_EQ(eng->first_signal_stamp().frame_timestamp, 1003u);
}

TEST_F(EngineFixture, ShouldNotSignalWhenNetProfitIsBelowMinimum) {
  cfg.min_net_profit = UsdFixedPoint8{1'000'000 * UsdFixedPoint8::kScale};  // 1M USD
  build();
  ASSERT_EQ(dislocate(100), 1u);
  EXPECT_TRUE(signals().empty());
  EXPECT_EQ(eng->stats().below_min, 1u);
  EXPECT_EQ(eng->stats().signals, 0u);
}

// Reloaded settings reach a running engine (torqd: SIGHUP / POST /api/reload): the threshold at
// once, the tip in the next gas cost (the cached USD cost is recomputed).
TEST_F(EngineFixture, ShouldApplyAReloadedThresholdAndTipToTheNextSignals) {
  ASSERT_EQ(dislocate(100), 1u);
  auto s = signals();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].gas_cost_usd, 1'170'000);  // 180k x (100 + 30 gwei) at 0.5 USD
  eng->set_priority_fee(U256(130'000'000'000ULL));  // 130 gwei: 180k x 230 gwei = 0.0414 WMATIC
  ASSERT_EQ(dislocate(101), 1u);
  s = signals();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].gas_cost_usd, 2'070'000) << "the signal still assumed the old tip";
  EXPECT_EQ(eng->gas().priority_fee(), U256(130'000'000'000ULL));
  eng->set_min_net_profit(UsdFixedPoint8{1'000'000 * UsdFixedPoint8::kScale});
  ASSERT_EQ(dislocate(102), 1u);
  EXPECT_TRUE(signals().empty()) << "the raised threshold was not applied";
  EXPECT_EQ(eng->stats().below_min, 1u);
}

// Audit (arb search): the base fee is unknown until the first BlockHeader, but the gas cost used
// 0 for it. torqd publishes its start-up snapshots before the block-B header (docs/torqd.md), so
// every cycle found profitable while the book loaded went out with gas = units x tip only.
TEST_F(EngineFixture, ShouldNotValueGasBeforeABlockHeaderGaveTheBaseFee) {
  const auto f = fm.add(sync(specs[0], 100, 0, U256(1'000'000) * kE18, U256(500'000'000'000ULL)))
                     .add(sync(specs[1], 100, 1, U256(1'000'000) * kE18, U256(550'000'000'000ULL)))
                     .finish(777);
  EXPECT_EQ(eng->on_frame(f), 0u);
  const auto early = signals();
  EXPECT_TRUE(early.empty()) << "signalled with gas_cost_usd " << early[0].gas_cost_usd << " (180k x 30 gwei, base fee 0)";
  EXPECT_EQ(eng->stats().unpriced, 1u);
  EXPECT_FALSE(eng->gas().cost_usd(2).has_value());
  // Once a header gives the base fee, the next change is signalled with the full gas cost.
  ASSERT_EQ(dislocate(101), 1u);
  const auto sig = signals();
  ASSERT_EQ(sig.size(), 1u);
  EXPECT_EQ(sig[0].gas_cost_usd, 1'170'000);  // 180k x (100 + 30 gwei) at 0.5 USD
}

TEST_F(EngineFixture, ShouldNotSignalWhenPricesAgree) {
  const auto f = fm.add(header(100))
                     .add(sync(specs[0], 100, 0, U256(1'000'000) * kE18, U256(500'000'000'000ULL)))
                     .add(sync(specs[1], 100, 1, U256(2'000'000) * kE18, U256(1'000'000'000'000ULL)))
                     .finish();
  ASSERT_EQ(eng->on_frame(f), 0u);
  EXPECT_TRUE(signals().empty());
  EXPECT_EQ(eng->stats().prefilter_rejected, 2u);  // both directions filtered before any search
  EXPECT_EQ(eng->stats().searches, 0u);
}

TEST_F(EngineFixture, ShouldUnwindBookAndAllowNewBranchSignalWhenReorgNoticeArrives) {
  // Block 100: agreeing prices. Block 101: dislocation, signalled.
  const auto f0 = fm.add(header(100))
                      .add(sync(specs[0], 100, 0, U256(1'000'000) * kE18, U256(500'000'000'000ULL)))
                      .add(sync(specs[1], 100, 1, U256(1'000'000) * kE18, U256(500'000'000'000ULL)))
                      .finish();
  ASSERT_EQ(eng->on_frame(f0), 0u);
  const PoolState s1 = eng->book().state(1);
  ASSERT_EQ(dislocate(101), 1u);
  ASSERT_EQ(signals().size(), 1u);
  protocol::ReorgNotice n{};
  n.common_ancestor_number = 100;
  n.old_tip_number = 101;
  n.new_tip_number = 101;
  n.depth = 1;
  ASSERT_EQ(eng->on_frame(fm.add(n).finish()), 0u);  // back to agreeing prices: nothing to signal
  EXPECT_TRUE(eng->book().state(1).same_market(s1));
  EXPECT_TRUE(signals().empty());
  EXPECT_EQ(eng->current_block(), 100u);
  // The new branch's block 101 has the same dislocation: it is a different block, signalled again.
  ASSERT_EQ(dislocate(101), 1u);
  EXPECT_EQ(signals().size(), 1u);
}

TEST_F(EngineFixture, ShouldCountDroppedSignalWhenOutputRingIsFull) {
  TestRing tiny{4096};
  eng->attach_output(&tiny.producer);
  for (std::uint64_t b = 100; b < 130; ++b) ASSERT_EQ(dislocate(b), 1u);
  EXPECT_EQ(tiny.drain().size(), eng->stats().signals);
  EXPECT_GT(eng->stats().signals_dropped_full, 0u);
  EXPECT_EQ(eng->stats().signals + eng->stats().signals_dropped_full, 30u);
}

TEST_F(EngineFixture, ShouldRejectCorruptFrameWithoutTouchingTheBook) {
  auto f = fm.add(sync(specs[0], 100, 0, U256(1), U256(1))).finish();
  f[40] ^= std::byte{1};  // checksum no longer matches
  EXPECT_EQ(eng->on_frame(f), 0u);
  EXPECT_EQ(eng->stats().bad_frames, 1u);
  EXPECT_FALSE(eng->book().state(0).has_state());
}


// --- Audit 3/4: block numbers implausibly far ahead, ancestors above the tip. ---

protocol::ReorgNotice reorg_to(std::uint64_t ancestor) {
  protocol::ReorgNotice n{};
  n.common_ancestor_number = ancestor;
  return n;
}

TEST_F(EngineFixture, ShouldRefuseAReorgNoticeWhoseAncestorIsAboveTheCurrentBlock) {
  cfg.finality_depth = 64;
  build();
  ASSERT_EQ(dislocate(100), 1u);
  ASSERT_EQ(dislocate(101), 1u);
  ASSERT_EQ(eng->on_frame(fm.add(reorg_to(~std::uint64_t{0})).finish()), 0u);
  EXPECT_EQ(eng->stats().reorgs_refused, 1u);
  EXPECT_EQ(eng->stats().reorgs, 0u);
  EXPECT_EQ(eng->current_block(), 101u);
  // Later blocks still signal (the per-block suppression key did not freeze).
  for (std::uint64_t b = 102; b < 105; ++b) ASSERT_EQ(dislocate(b), 1u) << b;
  EXPECT_EQ(signals().size(), 5u);
}

TEST_F(EngineFixture, ShouldRefuseAHeaderFarAboveTheCurrentBlockAndKeepFinalityAndReorgsWorking) {
  cfg.finality_depth = 64;
  build();
  ASSERT_EQ(dislocate(100), 1u);
  ASSERT_EQ(eng->on_frame(fm.add(header(~std::uint64_t{0})).finish()), 0u);
  ASSERT_EQ(eng->on_frame(fm.add(header(100 + 1025)).finish()), 0u);
  EXPECT_EQ(eng->stats().future_blocks, 2u);
  EXPECT_EQ(eng->current_block(), 100u);
  EXPECT_EQ(eng->book().journal_floor_block(), 100u - 64u);  // finalize() did not run on the refused numbers
  ASSERT_EQ(dislocate(101), 1u);
  ASSERT_EQ(eng->on_frame(fm.add(reorg_to(100)).finish()), 1u);  // block 100's (dislocated) state, new branch
  EXPECT_EQ(eng->stats().reorgs_too_deep, 0u);
  EXPECT_EQ(eng->current_block(), 100u);
  // 1024 ahead is still plausible (a node catching up).
  ASSERT_EQ(eng->on_frame(fm.add(header(100 + 1024)).finish()), 0u);
  EXPECT_EQ(eng->current_block(), 1124u);
  EXPECT_EQ(eng->book().journal_floor_block(), 1124u - 64u);
  EXPECT_EQ(read(out).size(), 3u);
}

TEST_F(EngineFixture, ShouldRefuseAnEventFarAboveTheCurrentBlockSoThePoolDoesNotFreeze) {
  ASSERT_EQ(dislocate(100), 1u);
  const PoolState s1 = eng->book().state(1);
  ASSERT_EQ(eng->on_frame(fm.add(sync(specs[1], ~std::uint64_t{0}, 0, U256(5), U256(9))).finish()), 0u);
  EXPECT_EQ(eng->stats().future_blocks, 1u);
  EXPECT_EQ(eng->stats().rejected_events, 1u);
  EXPECT_TRUE(eng->book().state(1).same_market(s1));
  EXPECT_EQ(eng->current_block(), 100u);
  // The next real block's events apply (not duplicates) and signal.
  ASSERT_EQ(dislocate(101), 1u);
  EXPECT_EQ(eng->book().stats().duplicates, 0u);
  EXPECT_EQ(signals().size(), 2u);
  // The same for a snapshot (it would raise the journal floor out of reach).
  protocol::PoolStateSnapshot snap{};
  snap.pool = specs[0].id.raw();
  snap.block_number = 101 + 5000;
  snap.kind = static_cast<std::uint8_t>(protocol::PoolKind::V2);
  snap.reserve0 = U256(1);
  snap.reserve1 = U256(1);
  ASSERT_EQ(eng->on_frame(fm.add(snap).finish()), 0u);
  EXPECT_EQ(eng->stats().future_blocks, 2u);
  EXPECT_LT(eng->book().journal_floor_block(), 101u);
}

TEST_F(EngineFixture, ShouldLetTheFirstHeaderReplaceABaseThatAnEarlyEventSetFarAhead) {
  ASSERT_EQ(eng->on_frame(fm.add(sync(specs[0], 1'000'000'000, 0, U256(5), U256(9))).finish()), 0u);
  EXPECT_EQ(eng->current_block(), 1'000'000'000u);
  ASSERT_EQ(eng->on_frame(fm.add(header(100)).finish()), 0u);
  EXPECT_EQ(eng->current_block(), 100u);
  ASSERT_EQ(eng->on_frame(fm.add(header(~std::uint64_t{0})).finish()), 0u);
  EXPECT_EQ(eng->current_block(), 100u);
}

// A reorg deeper than the journal: the pools changed above the ancestor may hold orphaned state,
// so they are quarantined until a snapshot arrives (they used to keep the orphaned state).
TEST_F(EngineFixture, ShouldQuarantinePoolsChangedAboveTheAncestorWhenAReorgIsTooDeep) {
  cfg.finality_depth = 2;
  build();
  ASSERT_EQ(dislocate(100), 1u);
  ASSERT_EQ(dislocate(101), 1u);
  ASSERT_EQ(dislocate(102), 1u);
  ASSERT_EQ(eng->on_frame(fm.add(header(103)).finish()), 0u);  // finalizes 101: floor 101
  ASSERT_EQ(eng->on_frame(fm.add(reorg_to(100)).finish()), 0u);
  EXPECT_EQ(eng->stats().reorgs_too_deep, 1u);
  EXPECT_TRUE(eng->book().state(0).quarantined());
  EXPECT_TRUE(eng->book().state(1).quarantined());
  EXPECT_EQ(eng->book().journal_size(), 0u);
  EXPECT_EQ(signals().size(), 3u);
  ASSERT_EQ(dislocate(101), 1u);
  EXPECT_TRUE(signals().empty());  // nothing is searched on quarantined pools
  EXPECT_EQ(eng->book().stats().quarantined_events, 2u);
  // Snapshots of the new branch make the pools usable again; their events apply.
  for (std::uint32_t i = 0; i < 2; ++i) {
    protocol::PoolStateSnapshot snap{};
    snap.pool = specs[i].id.raw();
    snap.block_number = 101;
    snap.kind = static_cast<std::uint8_t>(protocol::PoolKind::V2);
    snap.reserve0 = U256(1'000'000) * kE18;
    snap.reserve1 = U256(500'000'000'000ULL);
    fm.add(snap);
  }
  ASSERT_EQ(eng->on_frame(fm.finish()), 0u);
  EXPECT_FALSE(eng->book().state(0).quarantined());
  ASSERT_EQ(dislocate(102), 1u);
  EXPECT_EQ(signals().size(), 1u);
}

TEST_F(EngineFixture, ShouldTreatAnEmptiedV2PairAsUnusableAndRefuseOutOfRangeReserves) {
  ASSERT_EQ(dislocate(100), 1u);
  // Audit 5 (E): reserve0 > 2^112 used to produce a $2 091 signal.
  ASSERT_EQ(eng->on_frame(fm.add(sync(specs[1], 101, 0, U256(1'000'000) * kE18 * U256::pow2(40),
                                      U256(1'100'000'000'000ULL) * U256::pow2(40)))
                               .finish()),
            0u);
  EXPECT_EQ(eng->book().stats().out_of_range, 1u);
  EXPECT_TRUE(eng->book().state(1).quarantined());
  // An emptied pair (Sync with reserves 0 after every LP burned) is legal state but has no price.
  ASSERT_EQ(eng->on_frame(fm.add(sync(specs[0], 102, 0, U256(0), U256(0))).finish()), 0u);
  EXPECT_FALSE(eng->book().state(0).quarantined());
  EXPECT_FALSE(eng->evaluate(0).has_value());
  EXPECT_GT(eng->stats().stale_cycles, 0u);
}

TEST_F(EngineFixture, ShouldRejectAFrameThatIsNotMarketDataOrSystem) {
  std::vector<std::byte> buf(4096);
  protocol::FrameBuilder b(buf, protocol::RelayDomain::Execution, 1, 0);
  ASSERT_TRUE(b.add(sync(specs[0], 100, 0, U256(1000), U256(1000))));
  const auto f = b.finish(1, 1);
  EXPECT_EQ(eng->on_frame(std::vector<std::byte>(f.begin(), f.end())), 0u);
  EXPECT_EQ(eng->stats().bad_frames, 1u);
  EXPECT_FALSE(eng->book().state(0).has_state());
}

TEST_F(EngineFixture, ShouldRecomputeCachedGasCostWhenBaseFeeOrTheNativeRouteChanges) {
  ASSERT_EQ(dislocate(10), 1u);
  const auto first = eng->gas().cost_usd(2);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(*first, *eng->pricer().value(0, *eng->gas().cost_wei(2)));
  const std::uint64_t refreshes = eng->gas().cache_refreshes();
  EXPECT_EQ(*eng->gas().cost_usd(2), *first);  // cached: same block, same route state
  EXPECT_EQ(eng->gas().cache_refreshes(), refreshes);
  // WMATIC's route pool (pool 0) moves to 1.00 USDC: gas in USD doubles, exactly as recomputed.
  const auto f = fm.add(sync(specs[0], 11, 0, U256(1'000'000) * kE18, U256(1'000'000'000'000ULL))).finish(778);
  ASSERT_EQ(in.producer.try_publish(f), ring::PublishResult::ok);
  (void)eng->poll(in.consumer);
  const auto moved = eng->gas().cost_usd(2);
  ASSERT_TRUE(moved.has_value());
  EXPECT_EQ(*moved, *eng->pricer().value(0, *eng->gas().cost_wei(2)));
  EXPECT_GT(moved->raw, first->raw);
  // A new base fee (BlockHeader) invalidates it too.
  protocol::BlockHeader h = header(12);
  h.base_fee_per_gas = U256(300'000'000'000ULL);
  const auto f2 = fm.add(h).finish(779);
  ASSERT_EQ(in.producer.try_publish(f2), ring::PublishResult::ok);
  (void)eng->poll(in.consumer);
  const auto pricier = eng->gas().cost_usd(3);
  ASSERT_TRUE(pricier.has_value());
  EXPECT_EQ(*pricier, *eng->pricer().value(0, *eng->gas().cost_wei(3)));
  EXPECT_GT(pricier->raw, moved->raw);
}


// Pools 0-2: WMATIC/USDC on three venues; pools 3-4: WETH (token 2)/USDC on two. A frame that
// dislocates pool 0 has two signalling cycles (0-1 and 0-2); one that dislocates pool 3 has one.
struct NewestFirstFixture : EngineFixture {
  void SetUp() override {
    specs = {v2(0, 0, 1), v2(1, 0, 1), v2(2, 0, 1), v2(3, 2, 1), v2(4, 2, 1)};
    EngineFixture::SetUp();
  }
  std::vector<std::byte> wmatic_frame(std::uint64_t block, std::uint64_t ts, std::uint64_t usdc_in_pool0) {
    return fm.add(header(block))
        .add(sync(specs[0], block, 0, U256(1'000'000) * kE18, U256(usdc_in_pool0)))
        .add(sync(specs[1], block, 1, U256(1'000'000) * kE18, U256(550'000'000'000ULL)))
        .add(sync(specs[2], block, 2, U256(1'000'000) * kE18, U256(550'000'000'000ULL)))
        .finish(ts);
  }
  std::vector<std::byte> weth_frame(std::uint64_t block, std::uint64_t ts) {
    return fm.add(sync(specs[3], block, 3, U256(1'000) * kE18, U256(2'000'000'000'000ULL)))
        .add(sync(specs[4], block, 4, U256(1'000) * kE18, U256(2'200'000'000'000ULL)))
        .finish(ts);
  }
  // The same frames through on_frame, one after the other, on a fresh engine: each frame's
  // cycles all evaluated before the next frame is applied.
  std::vector<Out> sequential(const std::vector<std::vector<std::byte>>& frames, EngineStats* stats = nullptr) {
    ArbEngine ref(specs, cfg);
    TestRing ref_out{1 << 16};
    ref.attach_output(&ref_out.producer);
    for (const auto& f : frames) (void)ref.on_frame(f);
    if (stats != nullptr) *stats = ref.stats();
    return read(ref_out);
  }
  static bool same_trade(const protocol::ArbitrageSignal& a, const protocol::ArbitrageSignal& b) {
    return a.block_number == b.block_number && a.pools == b.pools &&
           a.pool_state_versions == b.pool_state_versions &&
           a.amount_in == b.amount_in && a.expected_amount_out == b.expected_amount_out &&
           a.net_profit_usd == b.net_profit_usd;
  }
};

TEST_F(NewestFirstFixture, ShouldEvaluateNewerFrameBeforeOlderFramesRemainingCyclesAndLoseNone) {
  const auto a = wmatic_frame(100, 777, 500'000'000'000ULL);
  const auto b = weth_frame(100, 888);
  ASSERT_EQ(in.producer.try_publish(a), ring::PublishResult::ok);
  ASSERT_EQ(in.producer.try_publish(b), ring::PublishResult::ok);
  // One frame: A is applied and its first cycle evaluated; B is waiting, so the engine stops there.
  ASSERT_EQ(eng->poll(in.consumer, 1), 1u);
  EXPECT_TRUE(eng->pending());
  EXPECT_EQ(eng->stats().preempted, 1u);
  auto got = read(out);
  EXPECT_LE(got.size(), 1u);
  // The next poll applies B, evaluates its pool, then resumes A's remaining cycles (input idle).
  ASSERT_EQ(eng->poll(in.consumer, 1), 1u);
  EXPECT_FALSE(eng->pending());
  for (const Out& o : read(out)) got.push_back(o);
  ASSERT_EQ(got.size(), 3u);
  // B's signal comes before A's second one (at most A's first cycle went before it) ...
  std::size_t b_at = got.size();
  for (std::size_t i = 0; i < got.size(); ++i)
    if (got[i].ts == 888) b_at = i;
  EXPECT_LE(b_at, 1u);
  EXPECT_EQ(eng->stats().preempted, 1u);
  // ... and the run signals exactly what applying the frames one by one does (A's pools and B's are
  // disjoint, so every cycle saw the same state).
  const auto ref = sequential({a, b});
  ASSERT_EQ(ref.size(), 3u);
  EXPECT_EQ(ref[2].ts, 888u);
  for (const Out& r : ref) {
    std::size_t matches = 0;
    for (const Out& g : got) matches += g.ts == r.ts && same_trade(g.sig, r.sig) ? 1 : 0;
    EXPECT_EQ(matches, 1u);
  }
  EXPECT_EQ(eng->stats().signals, 3u);
}

TEST_F(NewestFirstFixture, ShouldSearchOnlyTheNewestStateWhenAPendingPoolChangesAgain) {
  const auto a = wmatic_frame(100, 777, 500'000'000'000ULL);  // pool 0 at 0.50 USDC
  const auto a2 = fm.add(header(101))
                      .add(sync(specs[0], 101, 0, U256(1'000'000) * kE18, U256(450'000'000'000ULL)))  // 0.45
                      .finish(999);
  ASSERT_EQ(in.producer.try_publish(a), ring::PublishResult::ok);
  ASSERT_EQ(in.producer.try_publish(a2), ring::PublishResult::ok);
  ASSERT_EQ(eng->poll(in.consumer), 2u);
  EXPECT_FALSE(eng->pending());
  EXPECT_EQ(eng->stats().preempted, 1u);
  EXPECT_EQ(eng->stats().superseded, 1u);  // pool 0 was pending when A2 moved it again
  const auto got = read(out);
  // At most A's first cycle ran on A's state; pool 0's cycles then ran once, on A2's state.
  std::size_t on_a = 0;
  std::vector<Out> on_a2;
  for (const Out& g : got) {
    if (g.ts == 777) ++on_a;
    if (g.ts == 999) on_a2.push_back(g);
  }
  EXPECT_LE(on_a, 1u);
  EXPECT_EQ(on_a + on_a2.size(), got.size());
  ASSERT_EQ(on_a2.size(), 2u);
  const std::uint64_t v0 = eng->book().state(0).version;
  for (const Out& g : on_a2) {
    EXPECT_EQ(g.sig.block_number, 101u);
    EXPECT_TRUE(g.sig.pool_state_versions[0] == v0 || g.sig.pool_state_versions[1] == v0);
  }
  // A2's signals are the ones a sequential engine sends for A2 (block 101: signalled again).
  EngineStats ref_stats;
  const auto ref = sequential({a, a2}, &ref_stats);
  std::vector<Out> ref_a2;
  for (const Out& r : ref)
    if (r.ts == 999) ref_a2.push_back(r);
  ASSERT_EQ(ref_a2.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) EXPECT_TRUE(same_trade(on_a2[i].sig, ref_a2[i].sig)) << i;
  // Fewer cycles evaluated than the sequential engine, which went through all of pool 0's cycles
  // on A's state too; the same signals on A2's state.
  EXPECT_LT(eng->stats().cycles_evaluated, ref_stats.cycles_evaluated);
  EXPECT_EQ(ref_stats.signals, 4u);
}


TEST_F(NewestFirstFixture, ShouldNotSearchTheUnwoundStateWhenAReorgArrivesWhileCyclesArePending) {
  // Block 100: every venue at 0.55. Block 101 moves pool 0 to 0.50 (two signalling cycles); a
  // reorg back to block 100 is already waiting when block 101's first cycle has been evaluated.
  const auto base = wmatic_frame(100, 700, 550'000'000'000ULL);
  ASSERT_EQ(eng->on_frame(base), 0u);
  const PoolState s0 = eng->book().state(0);
  const auto moved = fm.add(header(101))
                         .add(sync(specs[0], 101, 0, U256(1'000'000) * kE18, U256(500'000'000'000ULL)))
                         .finish(777);
  protocol::ReorgNotice n{};
  n.common_ancestor_number = 100;
  n.old_tip_number = 101;
  n.new_tip_number = 101;
  n.depth = 1;
  const auto reorg = fm.add(n).finish(888);
  ASSERT_EQ(in.producer.try_publish(moved), ring::PublishResult::ok);
  ASSERT_EQ(in.producer.try_publish(reorg), ring::PublishResult::ok);
  const std::uint64_t rejected_before = eng->stats().prefilter_rejected;
  ASSERT_EQ(eng->poll(in.consumer), 2u);
  EXPECT_FALSE(eng->pending());
  EXPECT_EQ(eng->stats().preempted, 1u);
  EXPECT_EQ(eng->stats().superseded, 1u);  // pool 0, unwound while its cycles were pending
  EXPECT_TRUE(eng->book().state(0).same_market(s0));
  // At most the one cycle evaluated before the reorg was read signalled; the rest ran on the
  // unwound (agreeing) prices and found nothing.
  const auto got = read(out);
  EXPECT_LE(got.size(), 1u);
  for (const Out& g : got) EXPECT_EQ(g.ts, 777u);
  EXPECT_GT(eng->stats().prefilter_rejected, rejected_before);
}

// Cache hints only choose which lines are requested early; they never change a result. The
// benchmarks' universe (hubs, V2 and V3 pools, 2-pool cycles and triangles), the same random
// dislocating, quiet and restoring ticks through an engine with the hints and one without: the
// signal frames are byte-identical and every counter is equal. 600 pools with the hints forced on
// (below the automatic threshold) and 4 200 pools with them automatic (above it). Under the
// sanitizers this also proves that the hints read nothing out of bounds.
TEST(EngineCacheHints, ShouldNotChangeAnySignalOrCounter) {
  constexpr std::uint8_t kFlags = protocol::frame_flags::kNoChecksum;
  for (const std::size_t n_pools : {std::size_t{600}, std::size_t{4200}}) {
    const bench::Universe u = bench::make_universe(n_pools, 77 + n_pools);
    const auto run = [&](CacheHints hints, bool& hinted) {
      EngineConfig cfg = bench::universe_engine_config();
      cfg.cache_hints = hints;
      ArbEngine eng(u.specs, cfg);
      hinted = eng.cache_hints_active();
      bench::load_baseline(eng, u, U256(60'000'000'000ULL), kFlags);
      TestRing out{1 << 20};
      eng.attach_output(&out.producer);
      std::vector<std::byte> buf(4096), signals;
      std::mt19937_64 rng(5);
      const double moves[] = {1.015, 0.985, 1.0004, 0.9996, 1.03};
      std::uint64_t block = 10, seq = 0;
      for (int i = 0; i < 1500; ++i) {
        const std::size_t p = rng() % u.specs.size();
        ++block;
        ++seq;
        std::size_t n = bench::event_frame(buf, u, p, moves[rng() % 5], block, 0, seq, seq, kFlags);
        (void)eng.on_frame(std::span(buf.data(), n));
        if (rng() % 2 == 0) {
          ++seq;
          n = bench::event_frame(buf, u, p, 1.0, block, 1, seq, seq, kFlags);
          (void)eng.on_frame(std::span(buf.data(), n));
        }
        for (const auto& f : out.drain()) signals.insert(signals.end(), f.begin(), f.end());
      }
      return std::pair(signals, eng.stats());
    };
    bool hinted = false, unhinted = true;
    const auto [with, with_stats] = run(n_pools >= 4096 ? CacheHints::automatic : CacheHints::on, hinted);
    const auto [without, without_stats] = run(CacheHints::off, unhinted);
    ASSERT_TRUE(hinted);
    ASSERT_FALSE(unhinted);
    EXPECT_GT(with_stats.signals, 100u) << n_pools << " pools";
    EXPECT_GT(with_stats.searches, with_stats.signals);
    EXPECT_EQ(with_stats, without_stats) << n_pools << " pools";
    EXPECT_TRUE(with == without) << n_pools << " pools: the signal frames differ";
    EXPECT_EQ(with.size(), with_stats.signals * kSignalFrameSize) << n_pools << " pools";
  }
}

}  // namespace
}  // namespace torq::arb
