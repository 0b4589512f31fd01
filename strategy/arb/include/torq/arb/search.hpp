// torq/arb/search.hpp — exact simulation of a cycle and the search for its best input amount.
//
// Owns: Hop (a read-only view of one pool of a path and its direction), exact path simulation
// (V2 hops through strategy::v2_get_amount_out, V3 hops through strategy::simulate_swap over the
// book's tick slice, chained; every amount is what the pools would give, to the wei), the
// marginal rate of a hop (a double, for estimates), RateBound (an exact, conservatively rounded
// bound on a hop's marginal rate in integer arithmetic, for the prefilter), and the optimisers:
//  - V2-V2 exact (optimize_v2v2; Sizing::legacy, or SearchConfig::v2v2_exact): closed form
//    x* = (isqrt(K*M) - M) / N of the composed constant-product curve
//    out(x) = K x / (M + N x), then an exact integer refinement: the simulated (floored) profit is
//    never above the real curve, so every input that could beat the best simulated profit B lies
//    in {x : K x > (B + x)(M + N x)}, an interval found by galloping + bisection with exact
//    512-bit comparisons; when it holds at most SearchConfig::v2v2_max_scan inputs, all are
//    simulated and the result is the exact integer optimum (SearchResult::exact). Under
//    Sizing::closed_form the same method runs with cheaper exact pieces (v2_amount_out_fast,
//    isqrt_fast, the interval ends tested first): bit-identical results.
//  - Sizing::closed_form (default) for every path (V2-V2 too unless v2v2_exact): inside one V3 swap
//    step a pool is a constant-product pool with virtual reserves L*2^96/sqrtP and L*sqrtP/2^96
//    (fee on input), so the path is one Moebius map K x / (M + N x) and its best input is
//    x* = (sqrt(K M) - M) / N, computed with integer-mantissa floats (64-bit mantissa, exact
//    integer floor square root of the mantissa; deterministic integer arithmetic). The exact
//    profit is then simulated once, at floor(x*) (and at floor(x*)+1 with
//    closed_form_neighbour), with the V3 step cache (v3_segments.hpp; equal to
//    simulate_swap to the wei); when every V3 hop ended inside the step the model used, the
//    model is the real curve there, its derivative is 1 at x*, and by concavity x* is the real
//    optimum (SearchResult::closed_form; one exact path evaluation). Otherwise the path is
//    modelled again with each V3 hop in the step the simulation ended in (a Moebius map shifted
//    by the input and output of the steps before it) and sized again ("step walking", up to
//    closed_form_rounds models); if that does not settle, the bounded golden-section search
//    below runs with the same cached exact evaluator.
//  - Sizing::legacy (the previous method, kept selectable for comparisons): start estimate from
//    composing the hops' (virtual) reserves in double; if the exact profit there beats both
//    neighbours at +-x/2^precision_bits it is taken; otherwise a bounded golden-section search
//    over integers on [x/16, 16x] where every probe is an exact path simulation (simulate_swap),
//    stopping when the bracket is narrower than x >> precision_bits or after max_probes probes.
// The returned amounts are always exact simulated amounts (never estimates); the profit that
// decides a trade is amount_out - amount_in of an exact simulation.
// Pure functions over const data except the V3 step caches a Hop may point to (written by the
// calling thread): one thread per set of caches, noexcept, no allocation.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "torq/arb/pool_book.hpp"
#include "torq/arb/v3_segments.hpp"

namespace torq::arb {

struct Hop {
  const PoolState* state;
  const PoolMeta* meta;
  std::span<const V3Tick> ticks;
  bool zero_for_one;
  // V3: the book's cached sqrt prices of the lowest and highest initialized tick
  // (PoolBook::edge_sqrt_prices); nullptr: computed from `ticks` on every simulation.
  const U256* edge_sqrt_prices = nullptr;
  // V3: the step cache of this pool direction (engine-owned, rebuilt on a new state version);
  // nullptr: the closed-form sizing uses a cache local to the search.
  V3SegmentCache* segments = nullptr;
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

// Inline: the prefilter runs for every cycle touching a changed pool, before the first signal.
inline BoundFloat BoundFloat::from(const U256& v, bool round_up) noexcept {
  int i = 3;
  while (i > 0 && v.limb[i] == 0) --i;
  const std::uint64_t hi = v.limb[i];
  if (hi == 0) return BoundFloat{0, 0};
  const int lz = std::countl_zero(hi);
  if (i == 0) return BoundFloat{hi << lz, -lz};  // fits: exact
  // The top 64 bits; shift sh = 64 i - lz bits away (limbs below i - 1 and lo's low 64 - lz bits).
  const std::uint64_t lo = v.limb[i - 1];
  std::uint64_t m = lz == 0 ? hi : (hi << lz) | (lo >> (64 - lz));
  std::int32_t e = 64 * i - lz;
  if (round_up) {
    bool dropped = (lo << lz) != 0;
    for (int j = 0; j < i - 1; ++j) dropped = dropped || v.limb[j] != 0;
    if (dropped && ++m == 0) {  // bits dropped: round the mantissa up
      m = 1ULL << 63;
      ++e;
    }
  }
  return BoundFloat{m, e};
}

inline BoundFloat BoundFloat::mul(const BoundFloat& a, const BoundFloat& b, bool round_up) noexcept {
  if (a.m == 0 || b.m == 0) return BoundFloat{0, 0};
  const unsigned __int128 p = static_cast<unsigned __int128>(a.m) * b.m;  // in [2^126, 2^128)
  const unsigned sh = (p >> 127) != 0 ? 64 : 63;
  std::uint64_t m = static_cast<std::uint64_t>(p >> sh);
  std::int32_t e = a.e + b.e + static_cast<std::int32_t>(sh);
  const unsigned __int128 dropped = p & ((static_cast<unsigned __int128>(1) << sh) - 1);
  if (round_up && dropped != 0) {
    if (++m == 0) {
      m = 1ULL << 63;
      ++e;
    }
  }
  return BoundFloat{m, e};
}

inline bool BoundFloat::less_equal(const BoundFloat& a, const BoundFloat& b) noexcept {
  if (a.m == 0) return true;
  if (b.m == 0) return false;
  if (a.e != b.e) return a.e < b.e;  // both normalised: the exponent orders them
  return a.m <= b.m;
}

inline bool cannot_profit(std::span<const RateBound> rates) noexcept {
  if (rates.empty()) return true;
  BoundFloat num = rates[0].num, den = rates[0].den;
  for (std::size_t i = 1; i < rates.size(); ++i) {
    num = BoundFloat::mul(num, rates[i].num, true);
    den = BoundFloat::mul(den, rates[i].den, false);
  }
  return BoundFloat::less_equal(num, den);
}

enum class Sizing : std::uint8_t {
  closed_form = 0,  // constant-product closed form per V3 step + cached exact evaluation
  legacy = 1,       // double start estimate, +-x/2^12 check, golden section over simulate_swap
};

struct SearchConfig {
  Sizing sizing = Sizing::closed_form;
  std::uint32_t v2v2_max_scan = 16;  // widest candidate interval (each side) scanned for the exact optimum
  std::uint32_t max_probes = 40;     // simulations per golden-section search
  std::uint32_t precision_bits = 12; // stop when the bracket is below x / 2^bits
  std::uint32_t closed_form_rounds = 4;  // closed-form models tried (step walking) before searching
  bool closed_form_neighbour = false;    // also simulate floor(x*) + 1 (the real optimum is in [x0, x0+1])
  // Sizing::closed_form, V2-V2: false (default) sizes with the closed form of the composed curve
  // like any other path (one exact simulation, ~0.25 us); true runs optimize_v2v2's exact integer
  // refinement (the provably best integer input, ~1.3 us; the profit it adds is a few wei at most).
  bool v2v2_exact = false;
};

struct SearchResult {
  U256 amount_in;
  U256 amount_out;
  std::uint32_t probes = 0;  // path simulations made
  bool found = false;        // amount_out > amount_in
  bool exact = false;        // provably the best integer input (V2-V2 with a small interval)
  bool closed_form = false;  // taken from the closed form (its V3 steps held), no search
  bool searched = false;     // the bounded golden-section search ran
};

// Exact output of one hop for an exact input, or nullopt if the pool would revert / cannot fill.
[[nodiscard]] std::optional<U256> swap_exact_in(const Hop& hop, const U256& amount_in) noexcept;
// strategy::v2_get_amount_out's amount (nullopt on any error or a zero output), computed with
// 64-bit multiplies when the operands cannot overflow (amount < 2^96, reserves < 2^128), else by
// v2_get_amount_out itself. Equal to it for every input (tested).
[[nodiscard]] std::optional<U256> v2_amount_out_fast(const U256& amount_in, const U256& reserve_in,
                                                     const U256& reserve_out, strategy::V2Fee fee) noexcept;
// Output of the whole path (nullopt when a hop fails).
[[nodiscard]] std::optional<U256> simulate_path(std::span<const Hop> hops, const U256& amount_in) noexcept;
// The same number through the V3 step caches (`caches[i]` for V3 hop i; V2 hops ignore theirs).
// `end_steps[i]` receives the step of V3 hop i in which its input ran out (0xFF: simulate_swap).
[[nodiscard]] std::optional<U256> simulate_path_cached(std::span<const Hop> hops, V3SegmentCache* const* caches,
                                                       const U256& amount_in, std::uint8_t* end_steps) noexcept;
// The price limit swap_exact_in gives a V3 hop (the last initialized tick in the swap direction,
// clamped inside TickMath's range); false when the hop cannot fill at all (no ticks, the price
// already at or beyond the limit).
[[nodiscard]] bool v3_price_limit(const Hop& hop, U256& limit) noexcept;
// Output per unit input at the margin after the fee (an upper bound on any fill's average rate).
[[nodiscard]] double marginal_rate(const PoolState& s, const PoolMeta& m, bool zero_for_one) noexcept;

[[nodiscard]] SearchResult optimize_v2v2(const Hop& h1, const Hop& h2, const SearchConfig& cfg) noexcept;
[[nodiscard]] SearchResult optimize_generic(std::span<const Hop> hops, const SearchConfig& cfg) noexcept;
// Sizing::closed_form for any path, V2-V2 included.
[[nodiscard]] SearchResult optimize_closed_form(std::span<const Hop> hops, const SearchConfig& cfg) noexcept;
// Chooses the method: Sizing::closed_form: optimize_closed_form for every path (optimize_v2v2
// for two V2 hops when cfg.v2v2_exact); Sizing::legacy: optimize_v2v2 for two V2 hops (falling
// back to the generic search when its integers would overflow), else optimize_generic.
[[nodiscard]] SearchResult optimize(std::span<const Hop> hops, const SearchConfig& cfg) noexcept;

}  // namespace torq::arb
