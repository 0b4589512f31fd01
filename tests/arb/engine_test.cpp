// ArbEngine end to end through real rings: frames in, book updates, exactly the right signals out.
#include <gtest/gtest.h>

#include "arb_test_util.hpp"
#include "torq/arb/engine.hpp"

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
  std::size_t dislocate(std::uint64_t block, std::uint32_t log0 = 0) {
    const auto f = fm.add(header(block))
                       .add(sync(specs[0], block, log0, U256(1'000'000) * kE18, U256(500'000'000'000ULL)))
                       .add(sync(specs[1], block, log0 + 1, U256(1'000'000) * kE18, U256(550'000'000'000ULL)))
                       .finish(777);
    EXPECT_EQ(in.producer.try_publish(f), ring::PublishResult::ok);
    return eng->poll(in.consumer);
  }
  std::vector<protocol::ArbitrageSignal> signals() {
    std::vector<protocol::ArbitrageSignal> v;
    for (const auto& rec : out.drain()) {
      const auto pr = protocol::parse_frame(rec);
      EXPECT_TRUE(pr.ok());
      EXPECT_EQ(pr.view.domain(), protocol::RelayDomain::Signal);
      EXPECT_EQ(pr.view.header.timestamp_ns, 777u);
      EXPECT_EQ(pr.view.tlv_count, 1u);
      for (const auto& t : pr.view.tlvs()) v.push_back(*protocol::tlv_as<protocol::ArbitrageSignal>(t));
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

TEST_F(EngineFixture, ShouldNotSignalWhenNetProfitIsBelowMinimum) {
  cfg.min_net_profit = UsdFixedPoint8{1'000'000 * UsdFixedPoint8::kScale};  // 1M USD
  build();
  ASSERT_EQ(dislocate(100), 1u);
  EXPECT_TRUE(signals().empty());
  EXPECT_EQ(eng->stats().below_min, 1u);
  EXPECT_EQ(eng->stats().signals, 0u);
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


TEST_F(EngineFixture, ShouldRecomputeCachedGasCostWhenBaseFeeOrTheNativeRouteChanges) {
  ASSERT_EQ(dislocate(10), 1u);
  const auto first = eng->gas().cost_usd(2);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(*first, *eng->pricer().value(0, eng->gas().cost_wei(2)));
  const std::uint64_t refreshes = eng->gas().cache_refreshes();
  EXPECT_EQ(*eng->gas().cost_usd(2), *first);  // cached: same block, same route state
  EXPECT_EQ(eng->gas().cache_refreshes(), refreshes);
  // WMATIC's route pool (pool 0) moves to 1.00 USDC: gas in USD doubles, exactly as recomputed.
  const auto f = fm.add(sync(specs[0], 11, 0, U256(1'000'000) * kE18, U256(1'000'000'000'000ULL))).finish(778);
  ASSERT_EQ(in.producer.try_publish(f), ring::PublishResult::ok);
  (void)eng->poll(in.consumer);
  const auto moved = eng->gas().cost_usd(2);
  ASSERT_TRUE(moved.has_value());
  EXPECT_EQ(*moved, *eng->pricer().value(0, eng->gas().cost_wei(2)));
  EXPECT_GT(moved->raw, first->raw);
  // A new base fee (BlockHeader) invalidates it too.
  protocol::BlockHeader h = header(12);
  h.base_fee_per_gas = U256(300'000'000'000ULL);
  const auto f2 = fm.add(h).finish(779);
  ASSERT_EQ(in.producer.try_publish(f2), ring::PublishResult::ok);
  (void)eng->poll(in.consumer);
  const auto pricier = eng->gas().cost_usd(3);
  ASSERT_TRUE(pricier.has_value());
  EXPECT_EQ(*pricier, *eng->pricer().value(0, eng->gas().cost_wei(3)));
  EXPECT_GT(pricier->raw, moved->raw);
}

}  // namespace
}  // namespace torq::arb
