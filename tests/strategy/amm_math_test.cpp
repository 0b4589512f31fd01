// Unit tests for torq/strategy AMM math: published Uniswap values, bounds, rounding directions,
// error returns and swap-loop behaviour. The wei-exact comparison with the real contracts is in
// amm_chain_test.cpp.
#include <gtest/gtest.h>

#include <boost/multiprecision/cpp_dec_float.hpp>
#include <cstdint>
#include <random>
#include <string>

#include "torq/strategy/amm_v2.hpp"
#include "torq/strategy/sqrt_price_math.hpp"
#include "torq/strategy/swap_math.hpp"
#include "torq/strategy/tick_math.hpp"
#include "torq/strategy/v3_pool_sim.hpp"

namespace {

using namespace torq::strategy;
using torq::num::I256;
using torq::num::U256;
using torq::num::u128;

U256 u(const char* s) { return *U256::parse(s); }
const U256 kQ96 = U256::pow2(96);
const U256 kE18 = U256(1'000'000'000'000'000'000ULL);

// ------------------------------------------------------------------------------------------ V2

TEST(AmmV2, ShouldMatchUniswapV2PairTestVectorForGetAmountOut) {
  // v2-core swap test case [1, 5, 10, 1662497915624478906] (amounts in 1e18 units).
  const V2Quote q = v2_get_amount_out(kE18, U256(5) * kE18, U256(10) * kE18);
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q.amount, u("1662497915624478906"));
}

TEST(AmmV2, ShouldRoundAmountOutDownAndAmountInUp) {
  // 1000 in against 1000/1000 reserves: 997000*1000 / (1000000 + 997000) = 499.249... -> 499.
  EXPECT_EQ(v2_get_amount_out(U256(1000), U256(1000), U256(1000)).amount, U256(499));
  // amountIn for 499 out: 1000*499*1000 / (501*997) = 999.0... -> 999 + 1 = 1000.
  EXPECT_EQ(v2_get_amount_in(U256(499), U256(1000), U256(1000)).amount, U256(1000));
  // Exact division: 1000*500*1000 / (500*1000) with fee 1000/1000 = 1000 -> library adds 1.
  EXPECT_EQ(v2_get_amount_in(U256(500), U256(1000), U256(1000), V2Fee{1000, 1000}).amount, U256(1001));
}

TEST(AmmV2, ShouldRoundTripInputThroughGetAmountInAndOut) {
  std::mt19937_64 rng(7);
  for (int k = 0; k < 2000; ++k) {
    const U256 rin = U256(rng() >> (rng() % 60)) + U256::one();
    const U256 rout = U256(rng() >> (rng() % 60)) + U256(2);
    const U256 out = U256(rng()) % (rout - U256::one()) + U256::one();
    const V2Quote in = v2_get_amount_in(out, rin, rout);
    ASSERT_TRUE(in.ok());
    // Paying amount_in buys at least `out`; the library's amount in is never too small.
    EXPECT_GE(v2_get_amount_out(in.amount, rin, rout).amount, out);
    if (in.amount > U256::one()) {
      EXPECT_LE(v2_get_amount_out(in.amount - U256(2), rin, rout).amount, out);
    }
  }
}

TEST(AmmV2, ShouldApplyPerForkFee) {
  const V2Quote uni = v2_get_amount_out(kE18, U256(5) * kE18, U256(10) * kE18, kUniswapV2Fee);
  const V2Quote pancake = v2_get_amount_out(kE18, U256(5) * kE18, U256(10) * kE18, V2Fee{9975, 10000});
  ASSERT_TRUE(uni.ok() && pancake.ok());
  EXPECT_GT(pancake.amount, uni.amount);
  // 9975e18*10e18 / (5e18*10000 + 9975e18)
  EXPECT_EQ(pancake.amount, u("1663192997082117548"));
}

TEST(AmmV2, ShouldReturnErrorsInsteadOfReverting) {
  EXPECT_EQ(v2_get_amount_out(U256(0), U256(1), U256(1)).error, V2Error::insufficient_input_amount);
  EXPECT_EQ(v2_get_amount_out(U256(1), U256(0), U256(1)).error, V2Error::insufficient_liquidity);
  EXPECT_EQ(v2_get_amount_in(U256(0), U256(1), U256(1)).error, V2Error::insufficient_output_amount);
  EXPECT_EQ(v2_get_amount_in(U256(10), U256(100), U256(10)).error, V2Error::insufficient_liquidity);
  EXPECT_EQ(v2_get_amount_in(U256(11), U256(100), U256(10)).error, V2Error::insufficient_liquidity);
  EXPECT_EQ(v2_get_amount_out(U256::max(), U256(1), U256(1)).error, V2Error::overflow);
  EXPECT_EQ(v2_get_amount_out(U256(1), U256(1), U256(1), V2Fee{0, 1000}).error, V2Error::invalid_fee);
}

// ------------------------------------------------------------------------------------ TickMath

TEST(TickMath, ShouldMatchPublishedBounds) {
  EXPECT_EQ(*get_sqrt_ratio_at_tick(kMinTick), U256(4295128739ULL));
  EXPECT_EQ(*get_sqrt_ratio_at_tick(kMaxTick), u("1461446703485210103287273052203988822378723970342"));
  EXPECT_EQ(*get_sqrt_ratio_at_tick(kMinTick + 1), U256(4295343490ULL));
  EXPECT_EQ(*get_sqrt_ratio_at_tick(kMaxTick - 1), u("1461373636630004318706518188784493106690254656249"));
  EXPECT_EQ(*get_sqrt_ratio_at_tick(0), kQ96);
  EXPECT_FALSE(get_sqrt_ratio_at_tick(kMinTick - 1).has_value());
  EXPECT_FALSE(get_sqrt_ratio_at_tick(kMaxTick + 1).has_value());
  EXPECT_EQ(*get_tick_at_sqrt_ratio(kMinSqrtRatio), kMinTick);
  EXPECT_EQ(*get_tick_at_sqrt_ratio(U256(4295343490ULL)), kMinTick + 1);
  EXPECT_EQ(*get_tick_at_sqrt_ratio(kMaxSqrtRatio - U256::one()), kMaxTick - 1);
  EXPECT_EQ(*get_tick_at_sqrt_ratio(u("1461373636630004318706518188784493106690254656249")), kMaxTick - 1);
  EXPECT_FALSE(get_tick_at_sqrt_ratio(kMinSqrtRatio - U256::one()).has_value());
  EXPECT_FALSE(get_tick_at_sqrt_ratio(kMaxSqrtRatio).has_value());
}

TEST(TickMath, ShouldStayWithinOnePartInTenToTheFifteenOfTheExactRatio) {
  using Dec = boost::multiprecision::number<boost::multiprecision::cpp_dec_float<80>>;
  const Dec q96 = boost::multiprecision::pow(Dec(2), 96);
  for (std::int32_t t : {-887272, -500000, -50000, -1000, -60, -1, 1, 2, 10, 60, 1000, 50000, 150000, 500000, 887272}) {
    const Dec exact = boost::multiprecision::sqrt(boost::multiprecision::pow(Dec("1.0001"), t)) * q96;
    const Dec ours(get_sqrt_ratio_at_tick(t)->to_string());
    EXPECT_LT(boost::multiprecision::abs(ours - exact), exact * Dec("1e-15") + 1) << "tick " << t;
  }
}

TEST(TickMath, ShouldInvertGetSqrtRatioAtTickForEveryTickAndItsNeighbours) {
  for (std::int32_t t = kMinTick; t < kMaxTick; t += (t > -1000 && t < 1000) ? 1 : 997) {
    const U256 p = *get_sqrt_ratio_at_tick(t);
    ASSERT_EQ(*get_tick_at_sqrt_ratio(p), t);
    if (p > kMinSqrtRatio) {
      ASSERT_EQ(*get_tick_at_sqrt_ratio(p - U256::one()), t - 1);
    }
    ASSERT_EQ(*get_tick_at_sqrt_ratio(p + U256::one()), t);
  }
}

TEST(TickMath, ShouldReturnGreatestTickAtOrBelowRandomPrices) {
  std::mt19937_64 rng(11);
  for (int k = 0; k < 20000; ++k) {
    U256 p = U256::from_limbs(rng(), rng(), rng() & 0xffffffffULL, 0) >> (rng() % 128);
    if (p < kMinSqrtRatio || p >= kMaxSqrtRatio) continue;
    const std::int32_t t = *get_tick_at_sqrt_ratio(p);
    ASSERT_LE(*get_sqrt_ratio_at_tick(t), p);
    if (t < kMaxTick) {
      ASSERT_GT(*get_sqrt_ratio_at_tick(t + 1), p);
    }
  }
}

// ------------------------------------------------------------------------------ SqrtPriceMath

TEST(SqrtPriceMath, ShouldMatchUniswapSpecVectors) {
  const U256 p121 = u("87150978765690771352898345369");  // encodePriceSqrt(121, 100)
  const u128 l = static_cast<u128>(1'000'000'000'000'000'000ULL);
  EXPECT_EQ(*get_next_sqrt_price_from_input(kQ96, l, U256(100'000'000'000'000'000ULL), false), p121);
  EXPECT_EQ(*get_next_sqrt_price_from_input(kQ96, l, U256(100'000'000'000'000'000ULL), true),
            u("72025602285694852357767227579"));
  EXPECT_EQ(*get_amount0_delta(kQ96, p121, l, true), U256(90909090909090910ULL));
  EXPECT_EQ(*get_amount0_delta(kQ96, p121, l, false), U256(90909090909090909ULL));
  EXPECT_EQ(*get_amount1_delta(kQ96, p121, l, true), U256(100000000000000000ULL));
  EXPECT_EQ(*get_amount1_delta(p121, kQ96, l, false), U256(99999999999999999ULL));
}

TEST(SqrtPriceMath, ShouldRejectWhatTheContractRejects) {
  EXPECT_FALSE(get_next_sqrt_price_from_input(U256::zero(), 1, U256(1), true).has_value());
  EXPECT_FALSE(get_next_sqrt_price_from_input(kQ96, 0, U256(1), true).has_value());
  // Output of all token1 or more: price would cross zero.
  EXPECT_FALSE(get_next_sqrt_price_from_output(kQ96, 1'000'000, U256(1'000'000), true).has_value());
  // Output of more token0 than the range holds: denominator underflows.
  EXPECT_FALSE(get_next_sqrt_price_from_output(kQ96, 1, U256(1), false).has_value());
  // Input of token1 that pushes the price above uint160.
  EXPECT_FALSE(get_next_sqrt_price_from_input(kMaxSqrtRatio, 1, U256::pow2(200), false).has_value());
  EXPECT_FALSE(get_amount0_delta(U256::zero(), kQ96, 1, true).has_value());
  // Huge token0 input: the overflow fallback branch; it reverts only when its own add overflows.
  EXPECT_FALSE(get_next_sqrt_price_from_input(kQ96, 1, U256::max(), true).has_value());
  const auto p = get_next_sqrt_price_from_input(kQ96, 1, U256::pow2(255), true);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(*p, U256::one());
}

// -------------------------------------------------------------------------------- SwapMath

TEST(SwapMath, ShouldMatchUniswapSpecVectors) {
  const auto s = compute_swap_step(kQ96, u("79623317895830914510639640423"), static_cast<u128>(2) * 1'000'000'000'000'000'000ULL,
                                   I256(1'000'000'000'000'000'000LL), 600);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->amount_in, U256(9975124224178055ULL));
  EXPECT_EQ(s->fee_amount, U256(5988667735148ULL));
  EXPECT_EQ(s->amount_out, U256(9925619580021728ULL));
  EXPECT_EQ(s->sqrt_price_next_x96, u("79623317895830914510639640423"));

  const auto fee_only = compute_swap_step(U256(2413), U256(79887613182836312ULL),
                                          static_cast<u128>(*u("1985041575832132834610021537970").to_u128()), I256(10), 1872);
  ASSERT_TRUE(fee_only.has_value());
  EXPECT_EQ(fee_only->amount_in, U256(0));
  EXPECT_EQ(fee_only->fee_amount, U256(10));  // the whole input becomes the fee
  EXPECT_EQ(fee_only->amount_out, U256(0));
  EXPECT_EQ(fee_only->sqrt_price_next_x96, U256(2413));
}

TEST(SwapMath, ShouldCapOutputAtRemainingForExactOutput) {
  const U256 p = u("20282409603651670423947251286016");
  const auto a = compute_swap_step(p, p * U256(11) / U256(10), 1024, I256(-4), 3000);
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->amount_out, U256(0));
  EXPECT_EQ(a->amount_in, U256(26215));
  EXPECT_EQ(a->fee_amount, U256(79));
  EXPECT_EQ(a->sqrt_price_next_x96, p * U256(11) / U256(10));
  const auto b = compute_swap_step(p, p * U256(9) / U256(10), 1024, I256(-263000), 3000);
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->amount_out, U256(26214));
  EXPECT_EQ(b->amount_in, U256(1));
  EXPECT_EQ(b->fee_amount, U256(1));
}

TEST(SwapMath, ShouldNeverChargeLessThanTheFeeRateOrSpendMoreThanRemaining) {
  std::mt19937_64 rng(3);
  for (int k = 0; k < 5000; ++k) {
    const U256 cur = *get_sqrt_ratio_at_tick(static_cast<std::int32_t>(rng() % 200000) - 100000);
    const U256 tgt = *get_sqrt_ratio_at_tick(static_cast<std::int32_t>(rng() % 200000) - 100000);
    const u128 l = (static_cast<u128>(rng()) << (rng() % 60)) + 1;
    const std::int64_t amt = static_cast<std::int64_t>(rng() >> 2) + 1;
    const std::uint32_t fee = std::uint32_t(rng() % 20000);
    const auto in = compute_swap_step(cur, tgt, l, I256(amt), fee);
    ASSERT_TRUE(in.has_value());
    EXPECT_LE(in->amount_in + in->fee_amount, U256(static_cast<std::uint64_t>(amt)));
    const auto out = compute_swap_step(cur, tgt, l, I256(-amt), fee);
    ASSERT_TRUE(out.has_value());
    EXPECT_LE(out->amount_out, U256(static_cast<std::uint64_t>(amt)));
  }
}

// ------------------------------------------------------------------------------ V3 swap loop

V3Pool make_pool(std::int32_t spacing, std::uint32_t fee, std::int32_t tick) {
  V3Pool pool(64);
  V3PoolState s{};
  s.sqrt_price_x96 = *get_sqrt_ratio_at_tick(tick);
  s.tick = tick;
  s.tick_spacing = spacing;
  s.fee_pips = fee;
  pool.set_state(s);
  return pool;
}

TEST(V3PoolSim, ShouldTrackInRangeLiquidityFromPositions) {
  V3Pool pool = make_pool(60, 3000, 0);
  ASSERT_EQ(pool.apply_position_delta(-120, 120, 1000), V3Error::ok);
  ASSERT_EQ(pool.apply_position_delta(60, 180, 500), V3Error::ok);  // out of range
  ASSERT_EQ(pool.apply_position_delta(-60, 60, 7), V3Error::ok);
  EXPECT_EQ(pool.state().liquidity, static_cast<u128>(1007));
  ASSERT_EQ(pool.ticks().size(), 5U);
  EXPECT_EQ(pool.ticks()[3].tick, 120);
  EXPECT_EQ(pool.ticks()[3].liquidity_net, -1000);
  EXPECT_EQ(pool.ticks()[2].liquidity_net, 500 - 7);  // tick 60: +500 lower, -7 upper
  ASSERT_EQ(pool.apply_position_delta(-60, 60, -7), V3Error::ok);
  EXPECT_EQ(pool.ticks().size(), 4U);  // -60 uninitialised again; 60 still used by [60, 180)
  EXPECT_EQ(pool.apply_position_delta(-61, 60, 1), V3Error::tick_out_of_range);
  EXPECT_EQ(pool.apply_position_delta(-60, 60, -1), V3Error::liquidity_overflow);
}

TEST(V3PoolSim, ShouldRejectSwapsTheContractRejects) {
  V3Pool pool = make_pool(60, 3000, 0);
  ASSERT_EQ(pool.apply_position_delta(-600, 600, 1'000'000'000), V3Error::ok);
  const U256 p = pool.state().sqrt_price_x96;
  EXPECT_EQ(pool.simulate_swap(true, I256(0), kMinSqrtRatio + U256::one()).error, V3Error::amount_specified_zero);
  EXPECT_EQ(pool.simulate_swap(true, I256(10), p).error, V3Error::invalid_price_limit);
  EXPECT_EQ(pool.simulate_swap(true, I256(10), kMinSqrtRatio).error, V3Error::invalid_price_limit);
  EXPECT_EQ(pool.simulate_swap(false, I256(10), kMaxSqrtRatio).error, V3Error::invalid_price_limit);
  EXPECT_EQ(pool.simulate_swap(false, I256(10), p - U256::one()).error, V3Error::invalid_price_limit);
}

TEST(V3PoolSim, ShouldMatchASingleSwapStepWhenNoTickIsCrossed) {
  V3Pool pool = make_pool(60, 3000, -300);  // next initialized tick below is -600, same bitmap word
  ASSERT_EQ(pool.apply_position_delta(-600, 600, 1'000'000'000'000), V3Error::ok);
  const V3SwapResult r = pool.simulate_swap(true, I256(1000), kMinSqrtRatio + U256::one());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.ticks_crossed, 0U);
  EXPECT_EQ(r.steps, 1U);
  EXPECT_EQ(r.amount0, I256(1000));
  const auto step = compute_swap_step(pool.state().sqrt_price_x96, *get_sqrt_ratio_at_tick(-600),
                                      1'000'000'000'000, I256(1000), 3000);
  EXPECT_EQ(r.amount1, -*I256::from_u256(step->amount_out));
  EXPECT_EQ(r.sqrt_price_x96, step->sqrt_price_next_x96);
  EXPECT_EQ(r.tick, *get_tick_at_sqrt_ratio(r.sqrt_price_x96));
}

TEST(V3PoolSim, ShouldCrossTicksAndRunToThePriceLimitWhenLiquidityEnds) {
  V3Pool pool = make_pool(10, 500, 5);
  ASSERT_EQ(pool.apply_position_delta(-100, 100, 5'000'000), V3Error::ok);
  ASSERT_EQ(pool.apply_position_delta(-20, 30, 9'000'000), V3Error::ok);
  const U256 limit = *get_sqrt_ratio_at_tick(-5000);
  const V3SwapResult r = pool.simulate_swap(true, I256(1'000'000'000'000LL), limit);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.ticks_crossed, 2U);  // -20 and -100
  EXPECT_EQ(r.liquidity, static_cast<u128>(0));
  EXPECT_EQ(r.sqrt_price_x96, limit);
  EXPECT_GT(r.steps, r.ticks_crossed);  // word boundaries are steps too
  EXPECT_LT(r.amount0, I256(1'000'000'000'000LL));  // not all input could be used
  EXPECT_TRUE(r.amount1.is_negative());
  // Going back up from there crosses -100 and -20 again and restores the liquidity.
  V3Pool moved = make_pool(10, 500, 5);
  ASSERT_EQ(moved.apply_position_delta(-100, 100, 5'000'000), V3Error::ok);
  ASSERT_EQ(moved.apply_position_delta(-20, 30, 9'000'000), V3Error::ok);
  moved.apply_swap(r);
  const V3SwapResult back = moved.simulate_swap(false, I256(-1'000'000), *get_sqrt_ratio_at_tick(0));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back.ticks_crossed, 2U);
  EXPECT_EQ(back.liquidity, static_cast<u128>(14'000'000));
}

TEST(V3PoolSim, ShouldNeverPayOutMoreThanRequestedOnExactOutput) {
  V3Pool pool = make_pool(1, 100, 0);
  for (std::int32_t t = -30; t < 30; t += 3) ASSERT_EQ(pool.apply_position_delta(t, t + 5, 1'000'000'000 + t), V3Error::ok);
  for (std::int64_t want : {1LL, 77LL, 5000LL, 400000LL, 9'000'000LL}) {
    const V3SwapResult r = pool.simulate_swap(false, I256(-want), *get_sqrt_ratio_at_tick(100));
    ASSERT_TRUE(r.ok());
    EXPECT_LE(-r.amount0, I256(want));
    EXPECT_GT(r.amount1, I256(0));
    // Exact input of what exact output charged buys at least as much.
    const V3SwapResult in = pool.simulate_swap(false, r.amount1, *get_sqrt_ratio_at_tick(100));
    ASSERT_TRUE(in.ok());
    EXPECT_GE(-in.amount0, -r.amount0);
  }
}

}  // namespace
