// torq/arb/v3_segments.hpp — exact V3 exact-input swaps from cached swap steps (the search's V3 hop).
//
// Owns V3Segment / V3SegmentCache and `v3_segment_swap`. UniswapV3Pool.swap (our
// strategy::simulate_swap) walks steps: from the current price to the next initialized tick within
// one bitmap word (or the price limit), SwapMath.computeSwapStep, crossing. Every quantity of a
// step that the step reaches in full is independent of the swap amount: its target price, the
// input to reach it (`amount_in`, rounded up), its fee (`mulDivRoundingUp(amount_in, fee, 1e6 -
// fee)`), its output (rounded down) and the liquidity and tick after it. The cache stores those
// per pool direction for the pool's state version, built lazily step by step with exactly the
// functions simulate_swap calls (next_initialized_tick_within_one_word, get_sqrt_ratio_at_tick,
// compute_swap_step's formulas, LiquidityMath; the amount formulas through the equal sized-limb
// fast paths of v3_step_math.hpp). A step's fee and whole-step output are computed only when a
// swap crosses the step (or a model of a later step needs them): the first swap on a moved pool
// usually ends inside its first step and never needs them. A swap of x then costs: for each step it reaches
// in full, one `mul_div(remaining, 1e6 - fee, 1e6)` and a compare and two additions; for the step
// where it ends, computeSwapStep's "target not reached" branch (next price from the input, the
// output between the two prices). The per-step TickMath calls, the recomputation of the input to
// the target and the final getTickAtSqrtRatio (which does not change any amount) are gone.
// The result is the same number simulate_swap gives, to the wei (tests compare both on thousands
// of random multi-tick states): every case the cache does not mirror one to one (a step that
// overflows, a rounding corner where the next price lands exactly on the target, more steps than
// kMaxSegments) is answered by calling simulate_swap itself.
// Also reports in which step the swap ended, which tells the closed-form sizing whether its
// constant-product model of the current step (virtual reserves L/sqrtP, L*sqrtP) held.
// Thread-safety: a cache is written by the thread that evaluates (the strategy core), no locking.
// Allocation: none (fixed-size arrays; the engine preallocates the caches at start-up).
#pragma once

#include <climits>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "torq/arb/pool_book.hpp"

namespace torq::arb {

// A step's fields in the order a swap reads them: a swap that ends inside the step reads the
// first two cache lines only (prices, amount_in, liquidity, flags); the whole-step amounts follow.
struct alignas(64) V3Segment {
  U256 sqrt_start;   // price at the step's start
  U256 sqrt_target;  // the step's target (next tick within the word, or the price limit)
  U256 amount_in;    // input (without fee) that reaches the target, rounded up (computeSwapStep's amountIn)
  u128 liquidity;    // in-range liquidity during the step
  bool ends_at_limit = false;  // the target is the price limit: the swap stops there
  bool full_ready = false;     // in_full / out_full computed (lazily: v3_segment_full)
  U256 in_full;      // amount_in + fee when the target is reached (what leaves `remaining`); valid if full_ready
  U256 out_full;     // output when the target is reached (rounded down); valid if full_ready
};
static_assert(sizeof(V3Segment) == 192);

// One pool direction's steps; 64-byte aligned so that its header and each step start on their own
// cache lines. The first line holds what a lookup or a rebuild reads first: the validity, the
// loop's tick and liquidity, and the ticks of the TickMath memo (a rebuild finds a memo hit
// without touching another line).
struct alignas(64) V3SegmentCache {
  static constexpr unsigned kMaxSegments = 4;
  std::uint64_t version = ~std::uint64_t{0};  // PoolState::version the steps were built for
  const PoolState* state = nullptr;           // and the pool (a cache is bound to one pool direction)
  std::uint8_t count = 0;        // steps built
  bool complete = false;         // the last built step ends at the limit
  bool stuck = false;            // the next step cannot be mirrored (overflow etc.): use simulate_swap
  bool zero_for_one = false;
  std::int32_t next_tick = 0;    // loop state after the last built step (with next_liquidity, next_sqrt)
  // TickMath memo: the sqrt prices (memo_sqrt, after the steps) of the last 4 distinct step
  // targets (getSqrtRatioAtTick is a pure function of the tick, so an entry stays valid across
  // state versions). A pool that moves and moves back, or moves a little, usually walks to a next
  // tick it walked to before (often a bitmap word boundary); a rebuild then skips its TickMath
  // call. Read and written only when a step is built. INT32_MIN: no entry (never matches a
  // clamped tick).
  std::int32_t memo_tick[kMaxSegments] = {INT32_MIN, INT32_MIN, INT32_MIN, INT32_MIN};
  std::uint8_t memo_next = 0;    // the entry a miss replaces (round robin: the last 4 targets stay)
  u128 next_liquidity = 0;
  U256 next_sqrt;
  U256 limit;
  V3Segment seg[kMaxSegments];
  U256 memo_sqrt[kMaxSegments];
};
static_assert(offsetof(V3SegmentCache, next_sqrt) == 64 && offsetof(V3SegmentCache, seg) == 128 &&
              sizeof(V3SegmentCache) == 1024);

// The Hop's V3 state as the simulation sees it (price limit at the last initialized tick).
struct Hop;

// Exact output of an exact-input swap of `amount_in` on V3 hop `h` (nullopt when simulate_swap
// would fail or fill partially, as swap_exact_in). `cache` is (re)built for the hop's state
// version when needed. `end_step` receives the step (0-based) in which the input ran out, or
// 0xFF when simulate_swap answered.
[[nodiscard]] std::optional<U256> v3_segment_swap(const Hop& h, V3SegmentCache& cache, const U256& amount_in,
                                                  std::uint8_t& end_step) noexcept;

// Makes sure the first step of the cache is built for the hop's current state; false when the
// pool cannot be mirrored (then v3_segment_swap falls back to simulate_swap).
[[nodiscard]] bool v3_segments_prepare(const Hop& h, V3SegmentCache& cache) noexcept;
// Makes sure step k's in_full / out_full are computed (they are built lazily: only a swap that
// crosses the step, or a model of a later step, needs them); false when k is not built or they
// cannot be mirrored (then the step's amounts are simulate_swap's to give).
[[nodiscard]] bool v3_segment_full(const Hop& h, V3SegmentCache& cache, unsigned k) noexcept;
// Builds one more step (after prepare); false when none can be added (limit reached, stuck, full).
[[nodiscard]] bool v3_segments_extend(const Hop& h, V3SegmentCache& cache) noexcept;

}  // namespace torq::arb
