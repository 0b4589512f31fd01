// torq/arb/search.hpp — exact simulation of a cycle and the search for its best input amount.
//
// Owns: Hop (a read-only view of one pool of a path and its direction), exact path simulation
// (V2 hops through strategy::v2_get_amount_out, V3 hops through strategy::simulate_swap over the
// book's tick slice, chained; every amount is what the pools would give, to the wei), the
// marginal rate of a hop (a double, for estimates), RateBound (an exact, conservatively rounded
// bound on a hop's marginal rate in integer arithmetic, for the prefilter), and the optimisers:
//  - V2-V2: closed form x* = (isqrt(K*M) - M) / N of the composed constant-product curve
//    out(x) = K x / (M + N x), then an exact integer refinement: the simulated (floored) profit is
//    never above the real curve, so every input that could beat the best simulated profit B lies
//    in {x : K x > (B + x)(M + N x)}, an interval found by galloping + bisection with exact
//    512-bit comparisons; when it holds at most SearchConfig::v2v2_max_scan inputs, all are
//    simulated and the result is the exact integer optimum (SearchResult::exact).
//  - any path with a V3 hop (and V2 triangles): the start estimate comes from composing the hops'
//    (virtual) reserves in double; if the exact profit there beats both neighbours at
//    +-x/2^precision_bits it is taken (the optimum stayed inside the current tick ranges);
//    otherwise a bounded golden-section search over integers on
//    [x/16, 16x] where every probe is an exact path simulation, stopping when the bracket is
//    narrower than x >> precision_bits or after max_probes probes; the best simulated probe wins.
// The returned amounts are always exact simulated amounts (never estimates).
// Pure functions over const data: thread-safe, noexcept, no allocation.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "torq/arb/pool_book.hpp"

namespace torq::arb {

struct Hop {
  const PoolState* state;
  const PoolMeta* meta;
  std::span<const V3Tick> ticks;
  bool zero_for_one;
  // V3: the book's cached sqrt prices of the lowest and highest initialized tick
  // (PoolBook::edge_sqrt_prices); nullptr: computed from `ticks` on every simulation.
  const U256* edge_sqrt_prices = nullptr;
};

// A non-negative number m * 2^e with a 64-bit mantissa (top bit set, or m == 0 for zero), rounded
// in a stated direction. Integer-only: used to bound products of marginal rates exactly.
struct BoundFloat {
  std::uint64_t m = 0;
  std::int32_t e = 0;
  [[nodiscard]] static BoundFloat from(const U256& v, bool round_up) noexcept;
  [[nodiscard]] static BoundFloat mul(const BoundFloat& a, const BoundFloat& b, bool round_up) noexcept;
  // a <= b exactly (as the numbers m * 2^e they represent).
  [[nodiscard]] static bool less_equal(const BoundFloat& a, const BoundFloat& b) noexcept;
};

// A hop's marginal rate (output per unit input at the margin, after the fee) as num / den with
// num rounded up and den rounded down, so num / den >= the true rate >= every fill's average rate
// (V2: floor(x n R_out / (d R_in + n x)) <= x n R_out / (d R_in); V3: the fee comes off the input
// and the price only moves against the swapper, every amount out is rounded down).
struct RateBound {
  BoundFloat num;
  BoundFloat den;
};
[[nodiscard]] RateBound marginal_rate_bound(const PoolState& s, const PoolMeta& m, bool zero_for_one) noexcept;
// True when the product of the rates is provably <= 1: then out(x) <= x for every input x and the
// cycle cannot profit. Exact (integer arithmetic, conservative rounding); never drops a cycle
// with a profitable input.
[[nodiscard]] bool cannot_profit(std::span<const RateBound> rates) noexcept;

struct SearchConfig {
  std::uint32_t v2v2_max_scan = 16;  // widest candidate interval (each side) scanned for the exact optimum
  std::uint32_t max_probes = 40;     // simulations per golden-section search
  std::uint32_t precision_bits = 12; // stop when the bracket is below x / 2^bits
};

struct SearchResult {
  U256 amount_in;
  U256 amount_out;
  std::uint32_t probes = 0;  // path simulations made
  bool found = false;        // amount_out > amount_in
  bool exact = false;        // provably the best integer input (V2-V2 with a small interval)
};

// Exact output of one hop for an exact input, or nullopt if the pool would revert / cannot fill.
[[nodiscard]] std::optional<U256> swap_exact_in(const Hop& hop, const U256& amount_in) noexcept;
// Output of the whole path (nullopt when a hop fails).
[[nodiscard]] std::optional<U256> simulate_path(std::span<const Hop> hops, const U256& amount_in) noexcept;
// Output per unit input at the margin after the fee (an upper bound on any fill's average rate).
[[nodiscard]] double marginal_rate(const PoolState& s, const PoolMeta& m, bool zero_for_one) noexcept;

[[nodiscard]] SearchResult optimize_v2v2(const Hop& h1, const Hop& h2, const SearchConfig& cfg) noexcept;
[[nodiscard]] SearchResult optimize_generic(std::span<const Hop> hops, const SearchConfig& cfg) noexcept;
// Chooses the method: closed form for two V2 hops (falling back to the generic search when the
// closed form's integers would overflow), the generic search otherwise.
[[nodiscard]] SearchResult optimize(std::span<const Hop> hops, const SearchConfig& cfg) noexcept;

}  // namespace torq::arb
