// Cycle index, exact isqrt, optimal-input search (V2-V2 against brute force; V3 paths), gas and USD valuation.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <set>

#include "arb_test_util.hpp"
#include "torq/arb/cycle_index.hpp"
#include "torq/arb/pricing.hpp"
#include "torq/arb/search.hpp"
#include "torq/arb/wide_math.hpp"
#include "torq/strategy/tick_math.hpp"

namespace torq::arb {
namespace {

using namespace test;

TEST(WideMath, ShouldReturnFloorSquareRootForRandom512BitValues) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 2000; ++i) {
    U512 n{};
    const int limbs = 1 + static_cast<int>(rng() % 8);
    for (int k = 0; k < limbs; ++k) n.limb[k] = rng() >> (rng() % 64);
    const U256 r = isqrt(n);
    EXPECT_EQ(isqrt_fast(n), r);
    EXPECT_LE(mul_wide(r, r), n);
    const U256 r1 = r + U256::one();
    if (!r1.is_zero()) {  // (r+1)^2 > n
      EXPECT_GT(mul_wide(r1, r1), n);
    }
  }
  EXPECT_EQ(isqrt(U256(99)), U256(9));
  EXPECT_EQ(isqrt(U256(100)), U256(10));
  U512 max{};
  for (auto& l : max.limb) l = ~0ULL;
  EXPECT_EQ(isqrt(max), U256::max());
  EXPECT_EQ(isqrt_fast(max), U256::max());
  // Perfect squares and their neighbours, where a Newton iteration stops one early or late.
  for (int i = 0; i < 2000; ++i) {
    const U256 r = U256::from_limbs(rng(), rng(), i % 2 ? rng() : 0, i % 4 == 0 ? rng() >> (rng() % 64) : 0);
    U512 sq = mul_wide(r, r);
    EXPECT_EQ(isqrt_fast(sq), r);
    EXPECT_EQ(isqrt(sq), r);
    if (!r.is_zero()) {
      U512 below = sq;  // r^2 - 1
      for (auto& l : below.limb) {
        if (l-- != 0) break;
      }
      EXPECT_EQ(isqrt_fast(below), r - U256::one());
    }
  }
}

TEST(CycleIndex, ShouldIndexExactlyTheCyclesTouchingEachPool) {
  // tokens A=0 B=1 C=2 D=3; p0,p1: A-B on two venues, p2: B-C, p3: C-A, p4: C-D (in no cycle).
  const std::vector<PoolSpec> specs{v2(0, 0, 1), v2(1, 0, 1), v2(2, 1, 2), v2(3, 2, 0), v2(4, 2, 3)};
  const PoolBook book(specs, BookConfig{});
  CycleConfig cfg;
  cfg.base_tokens = {2};  // C starts every cycle that contains it
  const CycleIndex idx(book, cfg);
  EXPECT_EQ(idx.stats().two_pool, 2u);
  EXPECT_EQ(idx.stats().triangular, 4u);
  ASSERT_EQ(idx.size(), 6u);
  EXPECT_TRUE(idx.touching(4).empty());
  EXPECT_EQ(idx.touching(0).size(), 4u);
  EXPECT_EQ(idx.touching(2).size(), 4u);
  for (std::uint32_t p = 0; p < 5; ++p) {
    std::set<std::uint32_t> listed;
    for (const Cycle& cy : idx.touching(p)) listed.insert(cy.id);
    EXPECT_EQ(listed.size(), idx.touching(p).size()) << "pool " << p << ": a cycle listed twice";
    for (std::uint32_t c = 0; c < idx.size(); ++c) {
      const Cycle& cy = idx.cycle(c);
      const bool has = std::find(cy.pool, cy.pool + cy.hops, p) != cy.pool + cy.hops;
      EXPECT_EQ(listed.count(c) == 1, has) << "pool " << p << " cycle " << c;
    }
  }
  // touching lists copies naming their ids, equal to the cycles they copy (the engine evaluates
  // from these copies; a pool's 2-pool cycles come first).
  for (std::uint32_t c = 0; c < idx.size(); ++c) EXPECT_EQ(idx.cycle(c).id, c);
  for (std::uint32_t p = 0; p < 5; ++p) {
    const auto copies = idx.touching(p);
    for (std::size_t k = 0; k < copies.size(); ++k) {
      ASSERT_LT(copies[k].id, idx.size()) << "pool " << p << " entry " << k;
      EXPECT_EQ(copies[k], idx.cycle(copies[k].id)) << "pool " << p << " entry " << k;
      if (k > 0) {
        EXPECT_LE(copies[k - 1].hops, copies[k].hops);
      }
    }
  }
  std::set<std::vector<std::uint32_t>> directed;
  for (const Cycle& c : idx.cycles()) {
    // The hops chain: each hop's output token is the next hop's input, the last returns token[0].
    for (unsigned h = 0; h < c.hops; ++h) {
      const PoolMeta& m = book.meta(c.pool[h]);
      const std::uint32_t in = c.token[h];
      const std::uint32_t out = c.z41(h) ? m.token1 : m.token0;
      EXPECT_EQ(c.z41(h) ? m.token0 : m.token1, in);
      EXPECT_EQ(out, h + 1 < c.hops ? c.token[h + 1] : c.token[0]);
    }
    if (c.hops == 3) {
      EXPECT_EQ(c.token[0], 2u);
    }
    directed.insert({c.pool[0], c.pool[1], c.hops == 3 ? c.pool[2] : 99});
  }
  EXPECT_EQ(directed.size(), 6u);  // both directions, no duplicates
}

TEST(CycleIndex, ShouldKeepCyclesReachableFromAllTheirPoolsWhenPerPoolLimitBinds) {
  std::vector<PoolSpec> specs;
  for (std::uint64_t i = 0; i < 6; ++i) specs.push_back(v2(i, 0, 1));  // 15 pairs
  const PoolBook book(specs, BookConfig{});
  CycleConfig cfg;
  cfg.max_cycles_per_pool = 4;
  const CycleIndex idx(book, cfg);
  EXPECT_GT(idx.stats().dropped, 0u);
  for (std::uint32_t p = 0; p < 6; ++p) EXPECT_LE(idx.touching(p).size(), 4u);
  for (std::uint32_t c = 0; c < idx.size(); ++c)
    for (unsigned h = 0; h < idx.cycle(c).hops; ++h) {
      const auto t = idx.touching(idx.cycle(c).pool[h]);
      EXPECT_NE(std::find_if(t.begin(), t.end(), [c](const Cycle& x) { return x.id == c; }), t.end());
    }
}

struct V2Pair {
  PoolState s1{}, s2{};
  PoolMeta m1{}, m2{};
  Hop h1{}, h2{};
  V2Pair(U256 a1, U256 b1, U256 b2, U256 a2, strategy::V2Fee f1 = {997, 1000}, strategy::V2Fee f2 = {997, 1000}) {
    // hop 1 sells token0 (a) for token1 (b); hop 2 sells token1 back.
    s1.set_reserves(a1, b1); s1.flags = pool_flags::kHasState;
    s2.set_reserves(a2, b2); s2.flags = pool_flags::kHasState;
    m1.type = m2.type = PoolType::V2;
    m1.v2_fee = f1;
    m2.v2_fee = f2;
    h1 = Hop{&s1, &m1, {}, true};
    h2 = Hop{&s2, &m2, {}, false};
  }
};

TEST(Search, ShouldEqualBruteForceOptimumForV2V2OnSmallReserves) {
  std::mt19937_64 rng(42);
  SearchConfig cfg;
  cfg.v2v2_max_scan = 1 << 14;
  int profitable = 0;
  for (int iter = 0; iter < 300; ++iter) {
    const std::uint64_t a1 = 500 + rng() % 20000, b1 = 500 + rng() % 20000;
    const std::uint64_t b2 = 500 + rng() % 20000, a2 = 500 + rng() % 20000;
    const strategy::V2Fee f2 = (iter % 3 == 0) ? strategy::V2Fee{9975, 10000} : strategy::V2Fee{997, 1000};
    V2Pair pr{U256(a1), U256(b1), U256(b2), U256(a2), {997, 1000}, f2};
    const Hop hops[2] = {pr.h1, pr.h2};
    // Brute force over every input that could profit.
    I256 best = I256::zero();
    for (std::uint64_t x = 1; x <= a2; ++x) {  // output < a2, so larger inputs lose
      const auto out = simulate_path(hops, U256(x));
      if (!out) continue;
      const I256 p = I256::from_bits(*out) - I256(static_cast<std::int64_t>(x));
      if (p > best) best = p;
    }
    const SearchResult r = optimize_v2v2(pr.h1, pr.h2, cfg);
    if (best > I256::zero()) {
      ++profitable;
      ASSERT_TRUE(r.found) << iter;
      EXPECT_TRUE(r.exact) << iter;
      EXPECT_EQ(I256::from_bits(r.amount_out) - I256::from_bits(r.amount_in), best) << iter;
      EXPECT_EQ(*simulate_path(hops, r.amount_in), r.amount_out);
    } else {
      EXPECT_FALSE(r.found) << iter;
    }
  }
  EXPECT_GT(profitable, 50);  // the sample exercises the profitable branch
}

TEST(Search, ShouldFindNearOptimalInputWhenPathHasV3Hop) {
  // V3 pool at price 1 (token0/token1), V2 pool pricing token1 20% higher.
  const PoolSpec sp3 = v3(0, 0, 1, 3000, 60);
  const PoolSpec sp2 = v2(1, 0, 1);
  PoolBook book(std::vector<PoolSpec>{sp3, sp2}, BookConfig{});
  std::uint32_t p = 0;
  ASSERT_EQ(book.apply(v3swap(sp3, 1, 0, *strategy::get_sqrt_ratio_at_tick(0), 0, 0), p), ApplyResult::applied);
  const u128 L = static_cast<u128>(1) << 70;
  ASSERT_EQ(book.apply(v3mint(sp3, 1, 1, -600, 600, L), p), ApplyResult::applied);
  ASSERT_EQ(book.apply(v3mint(sp3, 1, 2, -6000, 6000, L * 3), p), ApplyResult::applied);
  const U256 r = U256::pow2(72);
  ASSERT_EQ(book.apply(sync(sp2, 1, 3, r * U256(10), r * U256(12)), p), ApplyResult::applied);
  // Buy token0 on V3 with token1... cycle: token1 -> token0 on V3 (zero_for_one = false), token0 -> token1 on V2.
  const Hop hops[2] = {Hop{&book.state(0), &book.meta(0), book.ticks(0), false},
                       Hop{&book.state(1), &book.meta(1), {}, true}};
  for (const Sizing sizing : {Sizing::closed_form, Sizing::legacy}) {
    SearchConfig cfg;
    cfg.sizing = sizing;
    const SearchResult res = optimize(hops, cfg);
    ASSERT_TRUE(res.found);
    EXPECT_EQ(*simulate_path(hops, res.amount_in), res.amount_out);
    const U256 profit = res.amount_out - res.amount_in;
    // No point of a fine grid does better than the search by more than 0.1%.
    U256 grid_best = U256::zero();
    const U256 step = res.amount_in * U256(4) / U256(400);
    for (U256 x = step; x <= res.amount_in * U256(4); x += step) {
      const auto out = simulate_path(hops, x);
      if (out && *out > x && *out - x > grid_best) grid_best = *out - x;
    }
    EXPECT_GE(profit * U256(1000), grid_best * U256(999));
    if (sizing == Sizing::legacy) {
      EXPECT_GT(res.probes, 5u);  // the optimum is past the first range: the golden-section search ran
    } else {
      // The optimum is past the inner position's range (tick 600): the first closed-form model
      // (current range) overshoots, the second (the range the simulation ended in) settles.
      EXPECT_TRUE(res.closed_form);
      EXPECT_LE(res.probes, 4u);
    }
  }
}

TEST(Search, ShouldReportNothingWhenNoInputIsProfitable) {
  V2Pair pr{U256(1000000), U256(2000000), U256(2000000), U256(1000000)};  // same price both sides
  EXPECT_FALSE(optimize_v2v2(pr.h1, pr.h2, SearchConfig{}).found);
}

// token 0 = WMATIC (18 decimals, the native token), token 1 = USDC (6 decimals, stable); pool 0
// holds `wmatic` / `usdc` raw units and is WMATIC's USD route: the gas tests' reference book.
struct WmaticUsdcBook {
  std::vector<PoolSpec> specs{v2(0, 0, 1)};
  PoolBook book{specs, BookConfig{}};
  PricingConfig pc = config();
  UsdPricer pricer{book, pc};
  WmaticUsdcBook(const U256& wmatic, const U256& usdc) {
    std::uint32_t p = 0;
    EXPECT_EQ(book.apply(sync(specs[0], 1, 0, wmatic, usdc), p), ApplyResult::applied);
  }
  static PricingConfig config() {
    PricingConfig c;
    c.stables = {{1, 6}};
    c.routes = {{0, {0}}};
    return c;
  }
};

TEST(Gas, ShouldValueGasExactlyThroughReferencePoolWithPolygonPriorityFloor) {
  // Pool 0: 1e6 WMATIC / 5e5 USDC (0.5 USD).
  const U256 e18 = U256(1'000'000'000'000'000'000ULL);
  const WmaticUsdcBook ref(U256(1'000'000) * e18, U256(500'000'000'000ULL));
  const UsdPricer& pricer = ref.pricer;
  GasConfig gc;
  gc.priority_fee_wei = U256(1'000'000'000ULL);  // 1 gwei: below Polygon's 25 gwei floor
  gc.native_token = 0;
  GasModel gas(gc, pricer);
  gas.set_base_fee(U256(100'000'000'000ULL));
  EXPECT_EQ(gas.priority_fee(), U256(25'000'000'000ULL));
  EXPECT_EQ(*gas.cost_wei(2), U256(180'000ULL * 125'000'000'000ULL));  // 0.0225 WMATIC
  const auto usd = gas.cost_usd(2);
  ASSERT_TRUE(usd.has_value());
  EXPECT_EQ(usd->raw, 1'125'000);  // 0.0225 * 0.5 = 0.01125 USD
  const auto usd3 = gas.cost_usd(3);
  ASSERT_TRUE(usd3.has_value());
  EXPECT_EQ(usd3->raw, 1'625'000);  // 260k gas
  // Off Polygon there is no floor.
  gc.chain = protocol::Chain::Ethereum;
  EXPECT_EQ(GasModel(gc, pricer).priority_fee(), U256(1'000'000'000ULL));
}

TEST(Gas, ShouldValueThroughV3PoolAndTwoHopRoute) {
  // token 2 -> (V2 pool 1, 1:2) -> token 0 -> (V3 pool 0 at price 1) -> token 1 (stable, 18 dec).
  const std::vector<PoolSpec> specs{v3(0, 0, 1), v2(1, 2, 0)};
  PoolBook book(specs, BookConfig{});
  std::uint32_t p = 0;
  ASSERT_EQ(book.apply(v3swap(specs[0], 1, 0, U256::pow2(96), 1, 0), p), ApplyResult::applied);
  ASSERT_EQ(book.apply(sync(specs[1], 1, 1, U256(1000), U256(2000)), p), ApplyResult::applied);
  PricingConfig pc;
  pc.stables = {{1, 18}};
  const UsdPricer pricer(book, pc);
  ASSERT_EQ(pricer.route(2).hops, 2);
  const auto v = pricer.value(2, U256(3'000'000'000'000'000'000ULL));  // 3 tokens -> 6 token0 -> 6 USD
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->raw, 600'000'000);
  EXPECT_FALSE(pricer.priced(3));
}


// Audit (arb search): units x (base fee + tip) used to wrap modulo 2^256. A header's base fee is
// any U256: 2^255 made 180k x (2^255 + 25 gwei) wrap to 180k x 25 gwei, an absurd gas price
// valued as a cheap one. Now the cost cannot be valued (no signal) instead.
TEST(Gas, ShouldNotWrapTheWeiCostWhenTheBaseFeeIsHuge) {
  const U256 e18 = U256(1'000'000'000'000'000'000ULL);
  const WmaticUsdcBook ref(U256(1'000'000) * e18, U256(500'000'000'000ULL));
  GasConfig gc;
  gc.native_token = 0;
  GasModel gas(gc, ref.pricer);
  gas.set_base_fee(U256::pow2(255));
  EXPECT_FALSE(gas.cost_usd(2).has_value()) << gas.cost_usd(2)->raw;
  EXPECT_FALSE(gas.cost_usd(3).has_value());
  gas.set_base_fee(U256::max() - U256(1'000));  // base fee + tip alone overflows
  EXPECT_FALSE(gas.cost_usd(2).has_value());
  gas.set_base_fee(U256(100'000'000'000ULL));  // back to a real one: valued again
  ASSERT_TRUE(gas.cost_usd(2).has_value());
  EXPECT_EQ(gas.cost_usd(2)->raw, 1'170'000);  // 180k x 130 gwei at 0.5 USD
}

// Audit (arb search): a V2 reference pool with an empty output side (a legal Sync of reserves
// (x, 0)) has no price, but its mid price valued every amount at 0: gas through it cost nothing
// and signals went out with gas_cost_usd 0. It is unpriced now, like a zero input side.
TEST(Gas, ShouldNotValueGasAtZeroThroughAReferencePairWithAnEmptySide) {
  const U256 e18 = U256(1'000'000'000'000'000'000ULL);
  const WmaticUsdcBook ref(U256(1'000'000) * e18, U256::zero());
  const UsdPricer& pricer = ref.pricer;
  const PoolBook& book = ref.book;
  GasConfig gc;
  gc.native_token = 0;
  GasModel gas(gc, pricer);
  gas.set_base_fee(U256(100'000'000'000ULL));
  EXPECT_FALSE(pricer.value(0, e18).has_value()) << pricer.value(0, e18)->raw;
  EXPECT_FALSE(gas.cost_usd(2).has_value()) << gas.cost_usd(2)->raw;
  // The stable side priced through the same pair (its input side empty) was already unpriced.
  EXPECT_FALSE(UsdPricer::mid_convert(book.state(0), book.meta(0), false, U256(1'000)).has_value());
}

// The exact prefilter: never rejects a cycle that has a profitable input (brute force on small
// reserves), rejects at exactly product == 1, and accepts one unit above it.
TEST(Prefilter, ShouldNeverRejectACycleWithAProfitableInput) {
  std::mt19937_64 rng(7);
  int rejected = 0, profitable = 0;
  for (int iter = 0; iter < 400; ++iter) {
    const std::uint64_t a1 = 500 + rng() % 5000, b1 = 500 + rng() % 5000;
    const std::uint64_t b2 = 500 + rng() % 5000, a2 = 500 + rng() % 5000;
    V2Pair pr{U256(a1), U256(b1), U256(b2), U256(a2)};
    const Hop hops[2] = {pr.h1, pr.h2};
    const RateBound rb[2] = {marginal_rate_bound(pr.s1, pr.m1, true), marginal_rate_bound(pr.s2, pr.m2, false)};
    const bool reject = cannot_profit(rb);
    bool any_profit = false;
    for (std::uint64_t x = 1; x <= a2 && !any_profit; ++x) {
      const auto out = simulate_path(hops, U256(x));
      any_profit = out && *out > U256(x);
    }
    if (any_profit) {
      ++profitable;
      ASSERT_FALSE(reject) << a1 << " " << b1 << " " << b2 << " " << a2;
    }
    rejected += reject ? 1 : 0;
  }
  EXPECT_GT(profitable, 20);
  EXPECT_GT(rejected, 100);
}

TEST(Prefilter, ShouldRejectAtProductOneWhenExactAndNearOneOnlyBelowTheRoundingMargin) {
  // Fee-free pools (1/1) with reserves whose products fit 64 bits: the bound is exact, so mirror
  // reserves (product exactly 1) are rejected and one unit more is not.
  const U256 x(0x1234567ULL), y(0xfedcba9ULL);
  V2Pair same{x, y, y, x, {1, 1}, {1, 1}};
  const RateBound eq[2] = {marginal_rate_bound(same.s1, same.m1, true), marginal_rate_bound(same.s2, same.m2, false)};
  EXPECT_TRUE(cannot_profit(eq));
  V2Pair above{x, y + U256::one(), y, x, {1, 1}, {1, 1}};  // product (y+1)/y > 1
  const RateBound gt[2] = {marginal_rate_bound(above.s1, above.m1, true), marginal_rate_bound(above.s2, above.m2, false)};
  EXPECT_FALSE(cannot_profit(gt));
  // Wider reserves: rounding is upward for the rate, so an exact 1 may pass (to the exact search),
  // but a product 2^-40 below 1 is rejected.
  const U256 wx = U256::from_limbs(0x123456789abcdefULL, 0x42, 0, 0), wy = U256::from_limbs(0, 0x17, 0, 0);
  V2Pair below{wx, wy - (wy >> 40), wy, wx, {1, 1}, {1, 1}};
  const RateBound lt[2] = {marginal_rate_bound(below.s1, below.m1, true), marginal_rate_bound(below.s2, below.m2, false)};
  EXPECT_TRUE(cannot_profit(lt));
  // V3 both ways at one price with a 1-pip fee: (1 - 1e-6)^2 < 1.
  PoolState v3s{};
  v3s.set_sqrt_price_x96(*strategy::get_sqrt_ratio_at_tick(12345));
  v3s.flags = pool_flags::kHasState;
  PoolMeta v3m{};
  v3m.type = PoolType::V3;
  v3m.fee_pips = 1;
  const RateBound round_trip[2] = {marginal_rate_bound(v3s, v3m, true), marginal_rate_bound(v3s, v3m, false)};
  EXPECT_TRUE(cannot_profit(round_trip));
  v3m.fee_pips = 0;  // exactly 1 with 160-bit prices: conservative, left to the search
  const RateBound free_trip[2] = {marginal_rate_bound(v3s, v3m, true), marginal_rate_bound(v3s, v3m, false)};
  EXPECT_FALSE(cannot_profit(free_trip));
  // The bounds really bound: num/den >= the double rate.
  const RateBound r = marginal_rate_bound(v3s, v3m, true);
  EXPECT_GE(std::ldexp(static_cast<double>(r.num.m), r.num.e) / std::ldexp(static_cast<double>(r.den.m), r.den.e),
            marginal_rate(v3s, v3m, true) * (1 - 1e-15));
}

// BoundFloat::from (limb-wise, inline) against its definition: m = the top 64 bits of v, e = the
// shift, the mantissa rounded up when round_up and a dropped bit is set (carry renormalises).
TEST(Prefilter, ShouldRoundBoundFloatFromExactlyAsDefinedForEveryBitLength) {
  std::mt19937_64 rng(11);
  const auto reference = [](const U256& v, bool up) {
    const unsigned bl = v.bit_length();
    if (bl == 0) return BoundFloat{0, 0};
    if (bl <= 64) return BoundFloat{v.limb[0] << (64 - bl), static_cast<std::int32_t>(bl) - 64};
    const unsigned sh = bl - 64;
    std::uint64_t m = (v >> sh).limb[0];
    std::int32_t e = static_cast<std::int32_t>(sh);
    if (up && v.countr_zero() < sh && ++m == 0) {
      m = 1ULL << 63;
      ++e;
    }
    return BoundFloat{m, e};
  };
  int carries = 0;
  for (unsigned bits = 0; bits <= 256; ++bits) {
    for (int k = 0; k < 64; ++k) {
      U256 v = U256::from_limbs(rng(), rng(), rng(), rng());
      if (k % 4 == 1) v = U256::from_limbs(~0ULL, ~0ULL, ~0ULL, ~0ULL);       // all ones: rounding carries
      if (k % 4 == 2) v = U256::from_limbs(0, 0, 0, 1ULL << 63);             // one bit: nothing dropped
      if (k % 4 == 3) v = U256::from_limbs(rng() & 1, 0, 0, ~0ULL);          // only the lowest bit below
      v = bits == 256 ? v : (v >> (256 - bits));
      for (const bool up : {false, true}) {
        const BoundFloat a = BoundFloat::from(v, up), b = reference(v, up);
        ASSERT_EQ(a.m, b.m) << bits << " " << k << " " << up;
        ASSERT_EQ(a.e, b.e) << bits << " " << k << " " << up;
        carries += (bits > 64 && b.e == static_cast<std::int32_t>(v.bit_length()) - 63) ? 1 : 0;  // rounded to 2^bl
      }
    }
  }
  EXPECT_GT(carries, 100);  // the all-ones values of every length above 64 bits
}

// The pricer's last step (a stable amount at 1 USD) equals num::from_token_amount for every
// decimals count and amount size, overflow (nullopt) included.
TEST(Gas, ShouldValueStableAmountsExactlyAsFromTokenAmount) {
  std::mt19937_64 rng(5);
  int some = 0, none = 0;
  for (unsigned d = 0; d <= 40; ++d) {
    for (int k = 0; k < 3000; ++k) {
      const unsigned bits = 1 + static_cast<unsigned>(rng() % 140);  // around 2^63 * 10^(d-8) and 2^128
      U256 a = U256::from_limbs(rng(), rng(), rng(), rng()) >> (256 - bits);
      if (k < 3) {  // around the overflow threshold: a = floor(INT64_MAX / 10^(8-d)), or (2^63) 10^(d-8)
        U256 t = U256(static_cast<std::uint64_t>(INT64_MAX));
        if (d <= 8) {
          for (unsigned i = d; i < 8; ++i) t = t / U256(10);
        } else {
          t = t + U256::one();
          for (unsigned i = 8; i < d; ++i) t = t * U256(10);
        }
        a = k == 0 ? t - U256::one() : (k == 1 ? t : t + U256::one());
      }
      const auto want = num::from_token_amount(a, d, num::UsdFixedPoint8{num::UsdFixedPoint8::kScale});
      const auto got = UsdPricer::stable_usd(a, d);
      ASSERT_EQ(want.has_value(), got.has_value()) << d << " " << bits;
      if (want) {
        ASSERT_EQ(want->raw, got->raw) << d << " " << bits;
        ++some;
      } else {
        ++none;
      }
    }
  }
  EXPECT_GT(some, 10000);
  EXPECT_GT(none, 10000);
}

}  // namespace
}  // namespace torq::arb
