// bench_amm: cost of one AMM quote/simulation per call.
//   V2: torq v2_get_amount_out / v2_get_amount_in against a boost::multiprecision::uint256_t
//       implementation of the same UniswapV2Library formula (named peer, same run).
//   V3: simulate_swap on a pool with one 60-spaced initialized tick every 60 ticks, exact input,
//       the price limit chosen so that the swap crosses exactly 0, 1 or 10 initialized ticks
//       (checked at set-up); compute_swap_step alone as the per-step reference.
// Each benchmark walks a table of 256 pre-generated inputs so nothing folds at compile time.
// Run: bench_amm --benchmark_format=json
#include <benchmark/benchmark.h>

#include <boost/multiprecision/cpp_int.hpp>

#include <cstdint>
#include <random>
#include <vector>

#include "torq/strategy/amm_v2.hpp"
#include "torq/strategy/swap_math.hpp"
#include "torq/strategy/tick_math.hpp"
#include "torq/strategy/v3_pool_sim.hpp"

namespace {

using namespace torq::strategy;
using torq::num::I256;
using torq::num::U256;
using BU256 = boost::multiprecision::uint256_t;

constexpr std::size_t kN = 256;

BU256 to_boost(const U256& v) {
  BU256 r = 0;
  for (int i = 3; i >= 0; --i) r = (r << 64) | BU256(v.limb[i]);
  return r;
}

struct V2Input {
  U256 amount, rin, rout;
};
const std::vector<V2Input>& v2_inputs() {
  static const std::vector<V2Input> in = [] {
    std::mt19937_64 rng(42);
    std::vector<V2Input> v(kN);
    for (auto& x : v) {
      x.rin = U256::from_limbs(rng(), rng() >> 24, 0, 0);   // ~104-bit reserves
      x.rout = U256::from_limbs(rng(), rng() >> 24, 0, 0);
      x.amount = U256::from_limbs(rng(), rng() >> 40, 0, 0);  // much smaller than the reserves
    }
    return v;
  }();
  return in;
}

void BM_V2GetAmountOut_Torq(benchmark::State& st) {
  const auto& in = v2_inputs();
  std::size_t i = 0;
  for (auto _ : st) {
    const V2Input& x = in[i++ % kN];
    benchmark::DoNotOptimize(v2_get_amount_out(x.amount, x.rin, x.rout, kQuickSwapFee));
  }
  st.SetItemsProcessed(static_cast<std::int64_t>(st.iterations()));
}
BENCHMARK(BM_V2GetAmountOut_Torq);

void BM_V2GetAmountOut_BoostCppInt(benchmark::State& st) {
  std::vector<BU256> a, r0, r1;
  for (const auto& x : v2_inputs()) {
    a.push_back(to_boost(x.amount));
    r0.push_back(to_boost(x.rin));
    r1.push_back(to_boost(x.rout));
  }
  std::size_t i = 0;
  for (auto _ : st) {
    const std::size_t k = i++ % kN;
    const BU256 in_fee = a[k] * 997;
    BU256 out = (in_fee * r1[k]) / (r0[k] * 1000 + in_fee);
    benchmark::DoNotOptimize(out);
  }
  st.SetItemsProcessed(static_cast<std::int64_t>(st.iterations()));
}
BENCHMARK(BM_V2GetAmountOut_BoostCppInt);

void BM_V2GetAmountIn_Torq(benchmark::State& st) {
  const auto& in = v2_inputs();
  std::size_t i = 0;
  for (auto _ : st) {
    const V2Input& x = in[i++ % kN];
    benchmark::DoNotOptimize(v2_get_amount_in(x.amount, x.rin, x.rout, kQuickSwapFee));
  }
  st.SetItemsProcessed(static_cast<std::int64_t>(st.iterations()));
}
BENCHMARK(BM_V2GetAmountIn_Torq);

// V3 pool: positions [60k, 60k+60) for k in [-60, 60), liquidity 1e20 each; price inside tick 30.
V3Pool make_ladder_pool() {
  V3Pool pool(256);
  V3PoolState s{};
  s.sqrt_price_x96 = *get_sqrt_ratio_at_tick(30);
  s.tick = 30;
  s.tick_spacing = 60;
  s.fee_pips = 3000;
  pool.set_state(s);
  for (int k = -60; k < 60; ++k) (void)pool.apply_position_delta(60 * k, 60 * k + 60, static_cast<torq::num::i128>(1e20));
  return pool;
}

void BM_V3SimulateSwap(benchmark::State& st) {
  const int crossings = static_cast<int>(st.range(0));
  const V3Pool pool = make_ladder_pool();
  // Going down from tick 30 the n-th initialized tick crossed is 60 * (1 - n); stop 30 ticks later.
  const U256 limit = *get_sqrt_ratio_at_tick(crossings == 0 ? 10 : 60 * (1 - crossings) - 30);
  std::mt19937_64 rng(9);
  std::vector<I256> amounts(kN);
  for (auto& a : amounts) a = I256::from_i128(static_cast<torq::num::i128>(1e30) + static_cast<torq::num::i128>(rng() >> 8));
  const V3SwapResult check = pool.simulate_swap(true, amounts[0], limit);
  if (!check.ok() || static_cast<int>(check.ticks_crossed) != crossings) {
    st.SkipWithError("set-up did not produce the intended number of tick crossings");
    return;
  }
  std::size_t i = 0;
  for (auto _ : st) benchmark::DoNotOptimize(pool.simulate_swap(true, amounts[i++ % kN], limit));
  st.counters["ticks_crossed"] = check.ticks_crossed;
  st.counters["steps"] = check.steps;
  st.SetItemsProcessed(static_cast<std::int64_t>(st.iterations()));
}
BENCHMARK(BM_V3SimulateSwap)->Arg(0)->Arg(1)->Arg(10);

void BM_V3ComputeSwapStep(benchmark::State& st) {
  const U256 cur = *get_sqrt_ratio_at_tick(30);
  const U256 tgt = *get_sqrt_ratio_at_tick(0);
  std::mt19937_64 rng(5);
  std::vector<I256> amounts(kN);
  for (auto& a : amounts) a = I256(static_cast<std::int64_t>(rng() >> 4));
  std::size_t i = 0;
  for (auto _ : st) {
    benchmark::DoNotOptimize(compute_swap_step(cur, tgt, static_cast<torq::num::u128>(1e20), amounts[i++ % kN], 3000));
  }
  st.SetItemsProcessed(static_cast<std::int64_t>(st.iterations()));
}
BENCHMARK(BM_V3ComputeSwapStep);

void BM_V3GetSqrtRatioAtTick(benchmark::State& st) {
  std::mt19937_64 rng(1);
  std::vector<std::int32_t> ticks(kN);
  for (auto& t : ticks) t = static_cast<std::int32_t>(rng() % 1'700'000) - 850'000;
  std::size_t i = 0;
  for (auto _ : st) benchmark::DoNotOptimize(get_sqrt_ratio_at_tick(ticks[i++ % kN]));
  st.SetItemsProcessed(static_cast<std::int64_t>(st.iterations()));
}
BENCHMARK(BM_V3GetSqrtRatioAtTick);

void BM_V3GetTickAtSqrtRatio(benchmark::State& st) {
  std::mt19937_64 rng(2);
  std::vector<U256> prices(kN);
  for (auto& p : prices) p = *get_sqrt_ratio_at_tick(static_cast<std::int32_t>(rng() % 1'700'000) - 850'000) + U256(rng() & 0xffff);
  std::size_t i = 0;
  for (auto _ : st) benchmark::DoNotOptimize(get_tick_at_sqrt_ratio(prices[i++ % kN]));
  st.SetItemsProcessed(static_cast<std::int64_t>(st.iterations()));
}
BENCHMARK(BM_V3GetTickAtSqrtRatio);

}  // namespace

BENCHMARK_MAIN();
