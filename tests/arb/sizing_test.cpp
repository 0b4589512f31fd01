// Closed-form sizing and the V3 step cache: the partial-step fast paths (v3_step_math.hpp) equal
// the general SqrtPriceMath / mul_div routines for every input they accept; the cached V3 swap
// equals simulate_swap to the wei on random multi-tick pools (also with one cache following a
// pool through many moves); the closed-form size finds the same or a better exact profit than the
// previous search (Sizing::legacy) on random V2/V3 cycles; the engine's signals carry amounts
// that an exact re-simulation reproduces.
#include <gtest/gtest.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>

#include "arb_test_util.hpp"
#include "torq/arb/engine.hpp"
#include "torq/arb/search.hpp"
#include "torq/arb/v3_segments.hpp"
#include "torq/arb/v3_step_math.hpp"
#include "torq/arb/wide_math.hpp"
#include "torq/strategy/sqrt_price_math.hpp"
#include "torq/strategy/tick_math.hpp"

namespace torq::arb {
namespace {

using namespace test;

U256 rand_bits(std::mt19937_64& rng, unsigned bits) {
  U256 v = U256::from_limbs(rng(), rng(), rng(), rng());
  if (bits >= 256) return v;
  v = v & (U256::pow2(bits) - U256::one());
  return v | U256::pow2(bits - 1);
}
U256 rand_amount(std::mt19937_64& rng, unsigned max_bits) { return rand_bits(rng, 1 + static_cast<unsigned>(rng() % max_bits)); }

struct Tier {
  std::uint32_t fee;
  std::int32_t spacing;
};
constexpr Tier kTiers[] = {{100, 1}, {500, 10}, {3000, 60}, {10000, 200}};

// A book of `n_v3` V3 pools (token0/token1 of the spec) with random prices and positions, and
// V2 pools after them. Positions: 1-12 random ranges around the price, a third as a ladder of
// adjacent narrow ranges; the price sits on a tick boundary in a quarter of the pools.
struct RandomBook {
  std::vector<PoolSpec> specs;
  std::unique_ptr<PoolBook> book;
  std::uint32_t log = 0;

  RandomBook(std::mt19937_64& rng, std::vector<PoolSpec> s, std::vector<double> v3_center_ticks) : specs(std::move(s)) {
    book = std::make_unique<PoolBook>(specs, BookConfig{});
    std::size_t k = 0;
    for (const PoolSpec& sp : specs) {
      if (sp.type != PoolType::V3) continue;
      const std::int32_t spacing = sp.tick_spacing;
      const auto center = static_cast<std::int32_t>(v3_center_ticks[k++]);
      U256 sqrt = *strategy::get_sqrt_ratio_at_tick(center);
      if (rng() % 4 != 0) sqrt = sqrt + rand_bits(rng, 60);  // inside the tick, not on its boundary
      const std::int32_t tick = *strategy::get_tick_at_sqrt_ratio(sqrt);
      std::uint32_t p = 0;
      EXPECT_EQ(book->apply(protocol::V3Initialize{ctx(sp, 1, 0, log++), sqrt, tick, 0}, p), ApplyResult::applied);
      const int n_pos = 1 + static_cast<int>(rng() % 12);
      const std::int32_t base = tick / spacing * spacing;
      for (int i = 0; i < n_pos; ++i) {
        const u128 liq = (static_cast<u128>(1) << (40 + rng() % 50)) + rng() % 1000;
        std::int32_t lo, hi;
        if (rng() % 3 == 0) {  // ladder step near the price
          const std::int32_t w = spacing * (1 + static_cast<std::int32_t>(rng() % 4));
          lo = base + (static_cast<std::int32_t>(rng() % 16) - 8) * w;
          hi = lo + w;
        } else {
          lo = base - spacing * static_cast<std::int32_t>(1 + rng() % 3000);
          hi = base + spacing * static_cast<std::int32_t>(1 + rng() % 3000);
        }
        lo = std::max(lo, strategy::kMinTick / spacing * spacing);
        hi = std::min(hi, strategy::kMaxTick / spacing * spacing);
        if (lo >= hi) continue;
        EXPECT_EQ(book->apply(v3mint(sp, 1, log++, lo, hi, liq), p), ApplyResult::applied);
      }
    }
  }
  Hop hop(std::uint32_t p, bool z, V3SegmentCache* c = nullptr) const {
    return Hop{&book->state(p), &book->meta(p), book->ticks(p), z, book->edge_sqrt_prices(p), c};
  }
};

// Operands for the V3 step-math property tests: every bit length 0-256, as random values, powers
// of two and all-ones runs (carries through every limb), and small values.
U256 edge_or_random(std::mt19937_64& rng, unsigned bits) {
  if (bits == 0) return U256::zero();
  switch (rng() % 5) {
    case 0: return U256::pow2(bits - 1);
    case 1: return bits >= 256 ? U256::max() : U256::pow2(bits) - U256::one();
    case 2: return rand_bits(rng, bits) | (U256::pow2(bits - 1) - U256::one());  // top bit and every bit below it
    default: return rand_bits(rng, bits);
  }
}
u128 liquidity_of(std::mt19937_64& rng) {
  const U256 v = edge_or_random(rng, static_cast<unsigned>(rng() % 129));
  return v.low_u128();
}

TEST(V3StepMath, FeeLessInputShouldEqualMulDivForEveryBitLength) {
  std::mt19937_64 rng(31);
  const std::uint32_t muls[] = {0, 1, 999'999, 1'000'000, 999'900, 999'500, 997'000, 990'000, 0xFFFFFFFFU};
  std::uint64_t accepted = 0;
  for (unsigned bits = 0; bits <= 256; ++bits)
    for (int i = 0; i < 400; ++i) {
      const U256 a = edge_or_random(rng, bits);
      const std::uint32_t m = i % 3 == 0 ? static_cast<std::uint32_t>(rng()) : muls[rng() % std::size(muls)];
      U256 q;
      const bool ok = v3math::mul_div_small(a, m, v3math::kFeeDen, q);
      ASSERT_EQ(ok, a.bit_length() <= 224) << a.to_string();
      if (!ok) continue;
      ++accepted;
      const auto want = num::mul_div(a, U256(m), U256(1'000'000U));
      ASSERT_TRUE(want.has_value());
      ASSERT_EQ(q, *want) << a.to_string() << " * " << m;
    }
  // Other single-limb divisors (every normalisation shift).
  for (unsigned dbits = 1; dbits <= 64; ++dbits) {
    const std::uint64_t d = edge_or_random(rng, dbits).limb[0];
    const v3math::DivConst c = v3math::make_div_const(d);
    for (int i = 0; i < 200; ++i) {
      const U256 a = edge_or_random(rng, static_cast<unsigned>(rng() % 225));
      const auto m = static_cast<std::uint32_t>(rng());
      U256 q;
      ASSERT_TRUE(v3math::mul_div_small(a, m, c, q));
      ASSERT_EQ(q, *num::mul_div(a, U256(m), U256(d))) << a.to_string() << " * " << m << " / " << d;
    }
  }
  EXPECT_GT(accepted, 80'000U);
}

TEST(V3StepMath, AmountDeltasShouldEqualSqrtPriceMathForEveryBitLength) {
  std::mt19937_64 rng(32);
  std::uint64_t fast0 = 0, fast1 = 0;
  for (unsigned bits_a = 0; bits_a <= 256; bits_a += 1)
    for (int i = 0; i < 120; ++i) {
      const U256 a = edge_or_random(rng, bits_a);
      // b near a (a swap step), or of any other length.
      const U256 b = i % 2 == 0 ? a + edge_or_random(rng, static_cast<unsigned>(rng() % (bits_a + 1)))
                                : edge_or_random(rng, static_cast<unsigned>(rng() % 257));
      const u128 l = liquidity_of(rng);
      for (const bool up : {false, true}) {
        U256 got;
        if (v3math::amount1_delta(a, b, l, up, got)) {
          ++fast1;
          const auto want = strategy::get_amount1_delta(a, b, l, up);
          ASSERT_TRUE(want.has_value());
          ASSERT_EQ(got, *want) << a.to_string() << " " << b.to_string() << " up " << up;
        } else {
          ASSERT_GE((a > b ? a - b : b - a).bit_length(), 193U);
        }
        if (v3math::amount0_delta(a, b, l, up, got)) {
          ++fast0;
          const auto want = strategy::get_amount0_delta(a, b, l, up);
          ASSERT_TRUE(want.has_value());
          ASSERT_EQ(got, *want) << a.to_string() << " " << b.to_string() << " L " << U256::from_u128(l).to_string()
                                << " up " << up;
        } else {
          ASSERT_TRUE(a.is_zero() || b.is_zero() || std::max(a, b).bit_length() > 192);
        }
      }
    }
  EXPECT_GT(fast0, 30'000U);
  EXPECT_GT(fast1, 40'000U);
}

TEST(V3StepMath, NextPriceFromToken0InputShouldEqualSqrtPriceMathForEveryBitLength) {
  std::mt19937_64 rng(33);
  std::uint64_t fast = 0;
  for (unsigned bits_p = 0; bits_p <= 256; ++bits_p)
    for (int i = 0; i < 200; ++i) {
      const U256 p = edge_or_random(rng, bits_p);
      const U256 x = edge_or_random(rng, static_cast<unsigned>(rng() % 257));
      const u128 l = liquidity_of(rng);
      U256 got;
      if (!v3math::next_sqrt_from_amount0_add(p, l, x, got)) continue;
      ++fast;
      const auto want = strategy::get_next_sqrt_price_from_amount0_rounding_up(p, l, x, true);
      ASSERT_TRUE(want.has_value());
      ASSERT_EQ(got, *want) << p.to_string() << " L " << U256::from_u128(l).to_string() << " x " << x.to_string();
      ASSERT_EQ(*strategy::get_next_sqrt_price_from_input(p, l, x, true), got);
    }
  // Prices and inputs of real pools: sqrt prices over the whole tick range, inputs up to 2^128.
  for (int i = 0; i < 100'000; ++i) {
    const std::int32_t tick = static_cast<std::int32_t>(rng() % (2 * 887'272 + 1)) - 887'272;
    const U256 p = *strategy::get_sqrt_ratio_at_tick(tick) + (i % 2 == 0 ? U256::zero() : rand_bits(rng, 1 + rng() % 40));
    const U256 x = rand_amount(rng, 128);
    const u128 l = liquidity_of(rng);
    U256 got;
    if (!v3math::next_sqrt_from_amount0_add(p, l, x, got)) continue;
    ++fast;
    ASSERT_EQ(got, *strategy::get_next_sqrt_price_from_amount0_rounding_up(p, l, x, true)) << p.to_string();
  }
  EXPECT_GT(fast, 60'000U);
}

TEST(V3StepMath, SizedDivisionShouldEqualMulDivForEveryBitLength) {
  std::mt19937_64 rng(34);
  std::uint64_t cases = 0, two_limb = 0;
  for (unsigned bits_d = 1; bits_d <= 256; ++bits_d)
    for (int i = 0; i < 300; ++i) {
      const U256 d = edge_or_random(rng, bits_d);
      const U256 a = edge_or_random(rng, static_cast<unsigned>(rng() % 257));
      const U256 b = i % 4 == 0 ? U256::one() : edge_or_random(rng, static_cast<unsigned>(rng() % 257));
      const auto want = num::mul_div(a, b, d);
      if (!want) continue;  // quotient >= 2^256: outside the contract
      const U512 p = mul_wide(a, b);
      bool rem = false;
      ASSERT_EQ(v3math::detail::divide(p.limb, 8, d, rem), *want) << a.to_string() << " " << b.to_string() << " " << d.to_string();
      const auto up = num::mul_div_rounding_up(a, b, d);  // empty only when the quotient is 2^256 - 1 and inexact
      ASSERT_EQ(rem, !up || *up != *want);
      if (b == U256::one()) {
        ASSERT_EQ(v3math::div(a, d), a / d);
      }
      ++cases;
      if (d.bit_length() > 64 && d.bit_length() <= 128) ++two_limb;
    }
  EXPECT_GT(cases, 30'000U);
  EXPECT_GT(two_limb, 8'000U);
}

// The two-limb divisor's division with a quotient-digit bound (the V2 quote's and
// getAmount0Delta's first division skip digits known to be zero) against Knuth's algorithm, for
// every divisor bit length 65-128, dividends of 2-8 limbs and every valid bound.
TEST(V3StepMath, TwoLimbDivisionWithQuotientBoundShouldEqualKnuth) {
  std::mt19937_64 rng(37);
  std::uint64_t cases = 0, bounded = 0;
  for (unsigned bits_d = 65; bits_d <= 128; ++bits_d)
    for (int i = 0; i < 600; ++i) {
      const U256 d = edge_or_random(rng, bits_d);
      std::uint64_t u[8] = {0, 0, 0, 0, 0, 0, 0, 0};
      int m = 2 + static_cast<int>(rng() % 7);
      if (i % 3 == 0) {  // u = q d + r with all-ones / edge quotients, r = d - 1 or random below d
        const U256 qv = i % 6 == 0 ? U256::max() : edge_or_random(rng, static_cast<unsigned>(rng() % 257));
        const U512 p = mul_wide(qv, d);
        const U256 r = i % 2 == 0 ? d - U256::one() : edge_or_random(rng, bits_d - 1);
        std::uint64_t c = 0;
        for (int k = 0; k < 8; ++k) u[k] = num::detail::addc(p.limb[k], k < 4 ? r.limb[k] : 0, c);
        m = 8;
        while (m > 2 && u[m - 1] == 0) --m;
      } else {
        for (int k = 0; k < m; ++k) u[k] = rng() % 3 == 0 ? ~0ULL : (rng() % 2 == 0 ? d.limb[k % 2] : rng() >> (rng() % 64));
      }
      std::uint64_t want_q[8] = {0, 0, 0, 0, 0, 0, 0, 0}, want_r[4] = {0, 0, 0, 0};
      num::detail::divmod_knuth_divq(u, m, d.limb, 2, want_q, want_r);
      for (int qd = num::detail::significant_limbs(want_q, 8); qd <= m - 1; ++qd) {
        std::uint64_t q[8] = {0, 0, 0, 0, 0, 0, 0, 0}, r1 = 1, r0 = 1;
        v3math::detail::divmod_by_2limbs(u, m, qd, d.limb[1], d.limb[0], q, r1, r0);
        for (int k = 0; k < 8; ++k) ASSERT_EQ(q[k], want_q[k]) << "digit " << k << " qd " << qd << " d " << d.to_string();
        ASSERT_EQ(r0, want_r[0]);
        ASSERT_EQ(r1, want_r[1]);
        ++cases;
        if (qd < m - 1) ++bounded;
      }
    }
  EXPECT_GT(cases, 64U * 600U);
  EXPECT_GT(bounded, 10'000U);
}

TEST(V3StepMath, NextPriceFromToken1InputShouldEqualSqrtPriceMathForEveryBitLength) {
  std::mt19937_64 rng(35);
  std::uint64_t fast = 0;
  for (unsigned bits_p = 0; bits_p <= 256; ++bits_p)
    for (int i = 0; i < 200; ++i) {
      const U256 p = edge_or_random(rng, bits_p % 2 == 0 ? bits_p : static_cast<unsigned>(rng() % 161));
      const U256 x = edge_or_random(rng, static_cast<unsigned>(rng() % 257));
      const u128 l = liquidity_of(rng);
      U256 got;
      if (!v3math::next_sqrt_from_amount1_add(p, l, x, got)) {
        const auto want = strategy::get_next_sqrt_price_from_amount1_rounding_down(p, l, x, true);
        ASSERT_TRUE(l == 0 || !x.fits_u160() || !want.has_value()) << p.to_string() << " " << x.to_string();
        continue;
      }
      ++fast;
      const auto want = strategy::get_next_sqrt_price_from_amount1_rounding_down(p, l, x, true);
      ASSERT_TRUE(want.has_value());
      ASSERT_EQ(got, *want) << p.to_string() << " L " << U256::from_u128(l).to_string() << " x " << x.to_string();
    }
  EXPECT_GT(fast, 10'000U);
}

TEST(V3StepCache, ShouldEqualSimulateSwapToTheWeiOnRandomMultiTickPools) {
  std::mt19937_64 rng(7);
  std::uint64_t cases = 0, ok_cases = 0, multi_step = 0, reference = 0, boundary_cases = 0;
  for (int iter = 0; iter < 300; ++iter) {
    const Tier t = kTiers[rng() % 4];
    const PoolSpec sp = v3(0, 0, 1, t.fee, t.spacing);
    const double center = (static_cast<double>(rng() % 2000001) - 1000000.0) / 1000000.0 * 400000.0;
    RandomBook rb(rng, {sp}, {center / t.spacing * t.spacing});
    for (const bool z : {true, false}) {
      V3SegmentCache cache;  // reused across the amounts: lazily extended, never rebuilt
      const Hop h = rb.hop(0, z);
      for (int a = 0; a < 24; ++a) {
        U256 x = rand_amount(rng, 200);
        // Every few amounts: exactly at, or one wei around, the input that fills a cached step.
        if (a % 3 == 2 && cache.count > 0) {
          const unsigned k = static_cast<unsigned>(rng() % cache.count);
          U256 edge = U256::zero();
          for (unsigned j = 0; j <= k; ++j) {
            ASSERT_TRUE(v3_segment_full(h, cache, j));
            edge = edge + cache.seg[j].in_full;
          }
          const int d = static_cast<int>(rng() % 3) - 1;
          x = d < 0 ? edge - U256::one() : (d > 0 ? edge + U256::one() : edge);
          ++boundary_cases;
        }
        std::uint8_t step = 0;
        const auto want = swap_exact_in(h, x);
        const auto got = v3_segment_swap(h, cache, x, step);
        ++cases;
        ASSERT_EQ(want.has_value(), got.has_value()) << "iter " << iter << " z " << z << " x " << x.to_string();
        if (!want) continue;
        ++ok_cases;
        ASSERT_EQ(*want, *got) << "iter " << iter << " z " << z << " x " << x.to_string();
        if (step == 0xFF) ++reference;
        else if (step > 0) ++multi_step;
      }
    }
    // A new state version (a mint) invalidates the cache: still equal afterwards.
    std::uint32_t p = 0;
    const std::int32_t base = rb.book->state(0).tick / t.spacing * t.spacing;
    ASSERT_EQ(rb.book->apply(v3mint(sp, 2, 0, base - t.spacing, base + t.spacing, static_cast<u128>(1) << 60), p),
              ApplyResult::applied);
    V3SegmentCache c2;
    const Hop h = rb.hop(0, true);
    const U256 x = rand_amount(rng, 120);
    std::uint8_t step = 0;
    (void)v3_segment_swap(h, c2, U256::one() << 20, step);
    ASSERT_EQ(swap_exact_in(h, x), v3_segment_swap(h, c2, x, step));
  }
  std::printf("v3 step cache: %llu cases, %llu filled, %llu ended after the first step (cached), %llu via simulate_swap, "
              "%llu at step boundaries\n",
              static_cast<unsigned long long>(cases), static_cast<unsigned long long>(ok_cases),
              static_cast<unsigned long long>(multi_step), static_cast<unsigned long long>(reference),
              static_cast<unsigned long long>(boundary_cases));
  EXPECT_GT(ok_cases, cases / 4);
  EXPECT_GT(multi_step, ok_cases / 10);  // the sample crosses ticks, not only the first step
  EXPECT_LT(reference, ok_cases / 2);    // and mostly answers from the cache
}

TEST(V3StepCache, ShouldStayExactWhenOneCacheFollowsAPoolThatMovesAndMovesBack) {
  // The engine keeps one cache per pool direction for its whole life: rebuilt on every state
  // version, its TickMath memo (step targets' sqrt prices) carried over. Moves back and forth
  // (as a dislocation and its restore) must still give simulate_swap's amounts to the wei.
  std::mt19937_64 rng(41);
  std::uint64_t compared = 0;
  for (int iter = 0; iter < 40; ++iter) {
    const Tier t = kTiers[rng() % 4];
    const PoolSpec sp = v3(0, 0, 1, t.fee, t.spacing);
    const double center = (static_cast<double>(rng() % 2000001) - 1000000.0) / 1000000.0 * 400000.0;
    RandomBook rb(rng, {sp}, {center / t.spacing * t.spacing});
    const PoolState base = rb.book->state(0);
    V3SegmentCache caches[2];
    std::uint32_t log = 1000;
    for (int move = 0; move < 30; ++move) {
      U256 sqrt = base.sqrt_price_x96();
      if (move % 2 == 1) {  // a move of up to +-3000 ticks; every other one restores the base
        const auto dt = static_cast<std::int32_t>(rng() % 6001) - 3000;
        const std::int32_t tk = std::clamp(base.tick + dt, strategy::kMinTick + 1, strategy::kMaxTick - 1);
        sqrt = *strategy::get_sqrt_ratio_at_tick(tk) + (rng() % 2 == 0 ? U256::zero() : rand_bits(rng, 30));
      }
      std::uint32_t p = 0;
      ASSERT_EQ(rb.book->apply(v3swap(sp, 2 + static_cast<std::uint64_t>(move), log++, sqrt, base.liquidity,
                                      *strategy::get_tick_at_sqrt_ratio(sqrt)),
                               p),
                ApplyResult::applied);
      for (const bool z : {true, false}) {
        V3SegmentCache& cache = caches[z ? 0 : 1];
        const Hop h = rb.hop(0, z, &cache);
        for (int a = 0; a < 6; ++a) {
          const U256 x = rand_amount(rng, 160);
          std::uint8_t step = 0;
          const auto want = swap_exact_in(h, x);
          const auto got = v3_segment_swap(h, cache, x, step);
          ASSERT_EQ(want.has_value(), got.has_value()) << "iter " << iter << " move " << move << " z " << z;
          if (want) {
            ASSERT_EQ(*want, *got) << "iter " << iter << " move " << move << " z " << z << " x " << x.to_string();
          }
          ++compared;
        }
        for (unsigned i = 0; i < V3SegmentCache::kMaxSegments; ++i) {
          if (cache.memo_tick[i] != INT32_MIN) {
            ASSERT_EQ(cache.memo_sqrt[i], *strategy::get_sqrt_ratio_at_tick(cache.memo_tick[i])) << cache.memo_tick[i];
          }
        }
      }
    }
  }
  EXPECT_GT(compared, 10'000U);
}

TEST(V2Quote, FastPathShouldEqualTheLibraryFormulaForEveryInput) {
  std::mt19937_64 rng(11);
  const strategy::V2Fee fees[] = {{997, 1000}, {9975, 10000}, {1, 1}, {0, 1000}, {1001, 1000}, {4294967295u, 4294967295u}};
  int fast = 0;
  for (int i = 0; i < 200000; ++i) {
    const U256 in = i % 10 == 0 ? U256::zero() : rand_amount(rng, i % 3 == 0 ? 200 : 96);
    const U256 rin = i % 17 == 0 ? U256::zero() : rand_amount(rng, i % 5 == 0 ? 250 : 128);
    const U256 rout = rand_amount(rng, i % 7 == 0 ? 250 : 128);
    const strategy::V2Fee f = fees[i % 6];
    const strategy::V2Quote q = strategy::v2_get_amount_out(in, rin, rout, f);
    const auto got = v2_amount_out_fast(in, rin, rout, f);
    ASSERT_EQ(q.ok() && !q.amount.is_zero(), got.has_value()) << i;
    if (got) {
      ASSERT_EQ(*got, q.amount) << i;
    }
    if (in.bit_length() <= 96 && rin.fits_u128() && rout.fits_u128() && got) ++fast;
  }
  EXPECT_GT(fast, 50000);
}

// optimize_v2v2 (SearchConfig::v2v2_exact) with Sizing::closed_form's cheaper pieces (fast
// quotes, isqrt_fast, the interval ends tested first): the same result as the legacy path, bit for bit.
TEST(ClosedFormSizing, V2V2ShouldGiveExactlyTheLegacyResult) {
  std::mt19937_64 rng(5);
  SearchConfig legacy;
  legacy.sizing = Sizing::legacy;
  SearchConfig fast;
  int found = 0, exact = 0;
  for (int i = 0; i < 8000; ++i) {
    // Half the cases with a wide scan, so that the proven-optimum branch runs too.
    legacy.v2v2_max_scan = fast.v2v2_max_scan = i % 2 == 0 ? 16 : 4096;
    PoolState s1{}, s2{};
    PoolMeta m1{}, m2{};
    m1.type = m2.type = PoolType::V2;
    m1.v2_fee = {997, 1000};
    m2.v2_fee = i % 3 == 0 ? strategy::V2Fee{9975, 10000} : strategy::V2Fee{997, 1000};
    const unsigned bits = (i / 2) % 2 == 0 ? 9 + static_cast<unsigned>(rng() % 8) : 40 + static_cast<unsigned>(rng() % 72);
    const U256 a1 = rand_bits(rng, bits), b1 = rand_bits(rng, bits);
    // The second pool at a price within +-3% of the first's.
    const double f = 1.0 + (static_cast<double>(rng() % 60001) - 30000.0) / 1e6;
    const U256 a2 = rand_bits(rng, bits);
    const U256 b2 = U256::from_u128(static_cast<u128>(to_double(a2) * to_double(b1) / to_double(a1) * f)) + U256::one();
    s1.set_reserves(a1, b1); s1.flags = pool_flags::kHasState;
    s2.set_reserves(a2, b2); s2.flags = pool_flags::kHasState;
    const Hop h1{&s1, &m1, {}, true}, h2{&s2, &m2, {}, false};
    const SearchResult r0 = optimize_v2v2(h1, h2, legacy), r1 = optimize_v2v2(h1, h2, fast);
    ASSERT_EQ(r0.found, r1.found) << i;
    ASSERT_EQ(r0.exact, r1.exact) << i;
    if (!r0.found) continue;
    ++found;
    if (r0.exact) ++exact;
    ASSERT_EQ(r0.amount_in, r1.amount_in) << i;
    ASSERT_EQ(r0.amount_out, r1.amount_out) << i;
  }
  EXPECT_GT(found, 1200);
  std::printf("v2-v2: %d profitable, %d proven optimal\n", found, exact);
  EXPECT_GT(exact, 30);  // small reserves, wide scan: proven integer optima
}

// Sizing::closed_form sizes V2-V2 with the closed form of the composed curve (one exact
// simulation) unless v2v2_exact: its profit never beats the exact method's (which is the proven
// optimum when `exact`) and, with realistic reserves (>= 2^40), falls short of it by at most a
// few wei: the profit curve is flat at the optimum.
TEST(ClosedFormSizing, V2V2ClosedFormShouldBeWithinAFewWeiOfTheExactOptimumWithOneSimulation) {
  std::mt19937_64 rng(11);
  SearchConfig exact_cfg;
  exact_cfg.v2v2_exact = true;
  exact_cfg.v2v2_max_scan = 4096;
  const SearchConfig cf;  // the default
  int compared = 0;
  U256 worst = U256::zero();
  for (int i = 0; i < 6000; ++i) {
    PoolState s1{}, s2{};
    PoolMeta m1{}, m2{};
    m1.type = m2.type = PoolType::V2;
    m1.v2_fee = {997, 1000};
    m2.v2_fee = i % 3 == 0 ? strategy::V2Fee{9975, 10000} : strategy::V2Fee{997, 1000};
    const unsigned bits = 40 + static_cast<unsigned>(rng() % 72);
    const U256 a1 = rand_bits(rng, bits), b1 = rand_bits(rng, bits);
    const double f = 1.0 + (static_cast<double>(rng() % 60001) - 30000.0) / 1e6;
    const U256 a2 = rand_bits(rng, bits);
    const U256 b2 = U256::from_u128(static_cast<u128>(to_double(a2) * to_double(b1) / to_double(a1) * f)) + U256::one();
    s1.set_reserves(a1, b1); s1.flags = pool_flags::kHasState;
    s2.set_reserves(a2, b2); s2.flags = pool_flags::kHasState;
    const Hop hops[2] = {Hop{&s1, &m1, {}, true}, Hop{&s2, &m2, {}, false}};
    const SearchResult e = optimize(hops, exact_cfg), c = optimize(hops, cf);
    ASSERT_EQ(e.found, c.found) << i;
    if (!e.found) continue;
    ++compared;
    EXPECT_EQ(c.probes, 1U) << i;
    EXPECT_TRUE(c.closed_form) << i;
    EXPECT_EQ(*simulate_path(hops, c.amount_in), c.amount_out) << i;  // exact amounts
    const U256 pe = e.amount_out - e.amount_in, pc = c.amount_out - c.amount_in;
    if (e.exact) {
      ASSERT_FALSE(pe < pc) << i << ": beat the proven optimum";
    }
    if (pc < pe) worst = std::max(worst, pe - pc);
  }
  std::printf("v2-v2 closed form: %d compared, worst shortfall %s wei\n", compared, worst.to_string().c_str());
  EXPECT_GT(compared, 1500);
  EXPECT_LE(worst, U256(8));
}

// One random cycle: kind 0 = V3 -> V2, 1 = V2 -> V3, 2 = V3 -> V3, 3 = triangle V3, V2, V2.
struct RandomCycle {
  std::unique_ptr<RandomBook> rb;
  std::vector<Hop> hops;
  RandomCycle(std::mt19937_64& rng, int kind) {
    const Tier t1 = kTiers[rng() % 4], t2 = kTiers[rng() % 4];
    const double center = static_cast<double>(static_cast<std::int64_t>(rng() % 200001) - 100000);  // price 1.0001^center
    // Dislocation between the venues: 0.05% .. 8%, either way.
    const double dis = std::exp((std::log(0.0005) + (std::log(0.08) - std::log(0.0005)) * static_cast<double>(rng() % 10000) / 1e4));
    const double sign = rng() % 2 ? 1.0 : -1.0;
    const double dis_ticks = sign * std::log1p(dis) / std::log(1.0001);
    std::vector<PoolSpec> specs;
    std::vector<double> centers;
    auto v2_at = [&](std::uint64_t id, std::uint64_t a, std::uint64_t b, double price_ticks) {
      // reserves with price token1/token0 = 1.0001^price_ticks, depth 2^(50..100)
      specs.push_back(v2(id, a, b));
      return price_ticks;
    };
    std::vector<double> v2_prices;
    if (kind == 0 || kind == 1) {
      specs.push_back(v3(0, 0, 1, t1.fee, t1.spacing));
      centers.push_back(std::round(center / t1.spacing) * t1.spacing);
      v2_prices.push_back(v2_at(1, 0, 1, center + dis_ticks));
    } else if (kind == 2) {
      specs.push_back(v3(0, 0, 1, t1.fee, t1.spacing));
      specs.push_back(v3(1, 0, 1, t2.fee, t2.spacing));
      centers.push_back(std::round(center / t1.spacing) * t1.spacing);
      centers.push_back(std::round((center + dis_ticks) / t2.spacing) * t2.spacing);
    } else {
      // tokens 0, 1, 2: V3 0/1 at center; V2 1/2 at c2; V2 0/2 at center + c2 + dis.
      specs.push_back(v3(0, 0, 1, t1.fee, t1.spacing));
      centers.push_back(std::round(center / t1.spacing) * t1.spacing);
      const double c2 = static_cast<double>(static_cast<std::int64_t>(rng() % 100001) - 50000);
      v2_prices.push_back(v2_at(1, 1, 2, c2));
      v2_prices.push_back(v2_at(2, 0, 2, center + c2 + dis_ticks));
    }
    rb = std::make_unique<RandomBook>(rng, specs, centers);
    std::size_t vi = 0;
    for (std::size_t i = 0; i < specs.size(); ++i) {
      if (specs[i].type != PoolType::V2) continue;
      const double price = std::pow(1.0001, v2_prices[vi++]);
      const double r0 = std::ldexp(1.0 + static_cast<double>(rng() % 1000) / 1000.0, 50 + static_cast<int>(rng() % 50));
      const double r1 = r0 * price;
      std::uint32_t p = 0;
      // A UniswapV2 pair keeps uint112 reserves (the book refuses more).
      const U256 u0 = U256::from_u128(static_cast<u128>(r0)), u1 = U256::from_u128(static_cast<u128>(std::min(r1, 0x1p111)));
      EXPECT_EQ(rb->book->apply(sync(specs[i], 1, 1000 + static_cast<std::uint32_t>(i), u0, u1.is_zero() ? U256::one() : u1), p),
                ApplyResult::applied);
    }
    // Orientation: which way is profitable is unknown; the caller tries both directions.
    if (kind == 0 || kind == 1 || kind == 2) {
      hops = {rb->hop(0, true), rb->hop(1, false)};  // sell token0 on pool 0, buy it back on pool 1
      if (kind == 1) hops = {rb->hop(1, true), rb->hop(0, false)};
    } else {
      hops = {rb->hop(0, true), rb->hop(1, true), rb->hop(2, false)};  // 0 -> 1 (V3), 1 -> 2, 2 -> 0
    }
  }
  // The reverse cycle.
  void reverse() {
    std::vector<Hop> r;
    for (auto it = hops.rbegin(); it != hops.rend(); ++it) {
      Hop h = *it;
      h.zero_for_one = !h.zero_for_one;
      r.push_back(h);
    }
    hops = r;
  }
};

I256 profit_of(const SearchResult& r) {
  return r.found ? I256::from_bits(r.amount_out) - I256::from_bits(r.amount_in) : I256::zero();
}

TEST(ClosedFormSizing, ShouldFindTheSameOrBetterExactProfitThanTheLegacySearch) {
  // TORQ_SIZING_SEED=n runs another sample (the default is fixed so the test is reproducible).
  const char* seed_env = std::getenv("TORQ_SIZING_SEED");
  std::mt19937_64 rng(seed_env != nullptr ? std::strtoull(seed_env, nullptr, 10) : 2026);
  SearchConfig legacy_cfg;
  legacy_cfg.sizing = Sizing::legacy;
  const SearchConfig cfg;
  int found = 0, better = 0, equal = 0, worse = 0, closed = 0, new_only = 0, walked = 0, searched = 0;
  double worst_rel = 0, worst_tol = 0;
  std::uint64_t probes_new = 0, probes_old = 0;
  for (int iter = 0; iter < 2400; ++iter) {
    const int kind = iter % 4;
    RandomCycle rc(rng, kind);
    if (iter % 8 >= 4) rc.reverse();
    const SearchResult old = optimize_generic(rc.hops, legacy_cfg);
    const SearchResult neu = optimize(rc.hops, cfg);
    probes_old += old.probes;
    probes_new += neu.probes;
    if (neu.found) {
      // The decision's numbers are an exact simulation (simulate_swap, no cache).
      const auto re = simulate_path(rc.hops, neu.amount_in);
      ASSERT_TRUE(re.has_value()) << iter;
      ASSERT_EQ(*re, neu.amount_out) << iter;
      ASSERT_GT(neu.amount_out, neu.amount_in) << iter;
      if (neu.closed_form) ++closed;
      if (neu.closed_form && neu.probes > 1) ++walked;
      if (neu.searched) ++searched;
    }
    if (!old.found) {
      if (neu.found) ++new_only;
      continue;
    }
    ++found;
    ASSERT_TRUE(neu.found) << "iter " << iter << " kind " << kind;
    const I256 po = profit_of(old), pn = profit_of(neu);
    if (pn > po) ++better;
    else if (pn == po) ++equal;
    else {
      ++worse;
      // Both inputs sit at the real optimum (the closed form's; the legacy fallback search is the
      // same search): only the pools' integer rounding separates them. A V3 output is quantised
      // by the Q96 price (one ulp of sqrtP moves amount0 by L 2^96 / sqrtP^2, amount1 by
      // L / 2^96) and every output is floored; the difference must stay within a few quanta,
      // carried to the start token through the later hops' rates.
      double tol = 0, carry = 1;
      for (std::size_t i = rc.hops.size(); i-- > 0;) {
        const Hop& h = rc.hops[i];
        double q = 2;
        if (h.meta->type == PoolType::V3) {
          const double l = static_cast<double>(h.state->liquidity), sp = to_double(h.state->sqrt_price_x96());
          q += 2 * (h.zero_for_one ? l / 0x1p96 : l * 0x1p96 / (sp * sp));
        }
        tol += 4 * q * carry;
        carry *= marginal_rate(*h.state, *h.meta, h.zero_for_one);
      }
      const double rel = to_double((po - pn).bits()) / to_double(po.bits());
      worst_rel = std::max(worst_rel, rel);
      worst_tol = std::max(worst_tol, to_double((po - pn).bits()) / tol);
      EXPECT_LE(to_double((po - pn).bits()), tol) << "iter " << iter << " kind " << kind << " old " << po.bits().to_string() << " new "
                           << pn.bits().to_string() << " closed " << neu.closed_form << " probes " << neu.probes << "/" << old.probes << " in " << neu.amount_in.to_string() << " vs " << old.amount_in.to_string();
    }
  }
  std::printf("closed form vs legacy: %d profitable (legacy), new better %d, equal %d, worse %d (worst %.3g relative, %.3g of the rounding bound), "
              "found only by new %d; closed form accepted %d (after step walking %d), golden-section fallback %d; probes per "
              "search legacy %.2f new %.2f\n",
              found, better, equal, worse, worst_rel, worst_tol, new_only, closed, walked, searched, static_cast<double>(probes_old) / 2400.0,
              static_cast<double>(probes_new) / 2400.0);
  EXPECT_GT(found, 500);  // the sample exercises profitable cycles (about 600 of 2400)
  EXPECT_GT(closed, found / 2);
}

// The engine's signal: amounts and profit equal an exact re-simulation with simulate_swap, and the
// closed form sized it.
TEST(ClosedFormSizing, ShouldEmitSignalsWhoseAmountsEqualAnExactResimulation) {
  const std::vector<PoolSpec> specs{v2(0, 0, 1), v3(1, 0, 1, 500, 10)};
  EngineConfig cfg;
  cfg.pricing.stables = {{1, 6}};
  cfg.pricing.routes = {{0, {0}}};
  cfg.gas.native_token = 0;
  cfg.gas.priority_fee_wei = U256(30'000'000'000ULL);
  cfg.cycles.base_tokens = {1};
  cfg.min_net_profit = UsdFixedPoint8{UsdFixedPoint8::kScale};
  for (const Sizing sizing : {Sizing::closed_form, Sizing::legacy}) {
    cfg.search.sizing = sizing;
    ArbEngine eng(specs, cfg);
    TestRing out{1 << 16};
    eng.attach_output(&out.producer);
    FrameMaker fm;
    // V3: WMATIC (18 dec) at 0.50 USDC (6 dec): price token1/token0 = 0.5e-12.
    const U256 sqrt = U256::from_u128(static_cast<u128>(std::sqrt(0.5e-12) * 0x1p96));
    const std::int32_t tick = *strategy::get_tick_at_sqrt_ratio(sqrt);
    const std::int32_t c = tick / 10 * 10;
    const u128 L = static_cast<u128>(1) << 66;
    protocol::BlockHeader h{};
    h.number = 5;
    h.base_fee_per_gas = U256(100'000'000'000ULL);
    const auto f1 = fm.add(h)
                        .add(protocol::V3Initialize{ctx(specs[1], 5, 0, 0), sqrt, tick, 0})
                        .add(v3mint(specs[1], 5, 1, c - 2000, c + 2000, L))
                        .add(v3mint(specs[1], 5, 2, c - 200, c + 300, L / 2))
                        .add(sync(specs[0], 5, 3, U256(2'000'000) * U256(1'000'000'000'000'000'000ULL),
                                  U256(1'060'000'000'000ULL)))  // 0.53 USDC per WMATIC
                        .finish(1);
    ASSERT_GT(eng.on_frame(f1), 0u);
    std::vector<protocol::ArbitrageSignal> sigs;
    for (const auto& rec : out.drain()) {
      const auto pr = protocol::parse_frame(rec);
      for (const auto& t : pr.view.tlvs()) sigs.push_back(*protocol::tlv_as<protocol::ArbitrageSignal>(t));
    }
    ASSERT_EQ(sigs.size(), 1u);
    const auto& s = sigs[0];
    // Re-simulate the signalled path on the book with the reference simulation.
    std::vector<Hop> hops;
    for (unsigned k = 0; k < s.hop_count; ++k) {
      const std::uint32_t p = *eng.book().pool_index(s.pools[k]);
      const bool z = s.tokens[k] == eng.book().token_id(eng.book().meta(p).token0);
      hops.push_back(Hop{&eng.book().state(p), &eng.book().meta(p), eng.book().ticks(p), z, nullptr});
      EXPECT_EQ(s.pool_state_versions[k], eng.book().state(p).version);
    }
    const auto re = simulate_path(hops, s.amount_in);
    ASSERT_TRUE(re.has_value());
    EXPECT_EQ(*re, s.expected_amount_out);
    EXPECT_EQ(s.expected_profit, s.expected_amount_out - s.amount_in);
    if (sizing == Sizing::closed_form) EXPECT_EQ(eng.stats().closed_form_sized, 1u);
    else EXPECT_EQ(eng.stats().closed_form_sized, 0u);
  }
}

}  // namespace
}  // namespace torq::arb
