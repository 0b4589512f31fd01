// torq/strategy/v3_pool_sim.hpp — Uniswap V3 pool state and exact swap simulation.
//
// Owns `V3PoolState` (slot0 price and tick, in-range liquidity, tick spacing, fee), `V3Tick` (an
// initialized tick: liquidityNet and liquidityGross), `simulate_swap` (a free function over a
// sorted flat tick array) and `V3Pool` (a state plus a tick array preallocated at start-up).
// simulate_swap follows UniswapV3Pool.swap of v3-core 1.0.1 step for step: the same
// TickBitmap.nextInitializedTickWithinOneWord stepping (word boundaries of 256 compressed ticks
// are step boundaries even when no tick is initialized there, which changes rounding), the same
// SwapMath.computeSwapStep, tick crossing with liquidityNet (negated when moving left), the same
// tick update rules and the same final amount0/amount1. Fee growth, oracle and protocol-fee
// bookkeeping do not change amounts and are omitted (protocol fee assumed 0).
// Thread-safety: simulate_swap and const members are pure (safe to call concurrently on a
// state no one is writing); V3Pool mutators need external serialisation (one writer).
// Allocation: only the V3Pool constructor allocates (start-up); everything else is noexcept and
// allocation-free, failures are returned as V3Error values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <type_traits>

#include "torq/num/uint256.hpp"
#include "torq/strategy/swap_math.hpp"
#include "torq/strategy/tick_math.hpp"

namespace torq::strategy {

using torq::num::I256;
using torq::num::U256;
using torq::num::i128;
using torq::num::u128;

enum class V3Error : std::uint8_t {
  ok = 0,
  amount_specified_zero,  // 'AS'
  invalid_price_limit,    // 'SPL'
  not_initialized,        // sqrtPriceX96 == 0 (the pool reverts 'LOK' before initialize)
  math_overflow,          // a SqrtPriceMath/SwapMath/FullMath/SafeCast require failed
  liquidity_overflow,     // LiquidityMath 'LS' / 'LA' while crossing a tick
  tick_out_of_range,      // a tick outside [kMinTick, kMaxTick] or not a multiple of the spacing
  tick_capacity,          // V3Pool: the preallocated tick array is full
};

// One initialized tick (liquidityGross > 0).
struct V3Tick {
  i128 liquidity_net;    // added when crossing left-to-right, subtracted right-to-left
  u128 liquidity_gross;  // total position liquidity referencing this tick
  std::int32_t tick;
  std::uint32_t reserved;
  std::uint64_t reserved2;
};
static_assert(std::is_trivially_copyable_v<V3Tick> && sizeof(V3Tick) == 48);
static_assert(offsetof(V3Tick, liquidity_net) == 0 && offsetof(V3Tick, tick) == 32);

struct V3PoolState {
  U256 sqrt_price_x96;        // slot0.sqrtPriceX96
  u128 liquidity;             // in-range liquidity
  std::int32_t tick;          // slot0.tick
  std::int32_t tick_spacing;  // 1, 10, 60, 200 for Uniswap's fee tiers
  std::uint32_t fee_pips;     // 100, 500, 3000, 10000
  std::uint32_t reserved;
};
static_assert(std::is_trivially_copyable_v<V3PoolState> && sizeof(V3PoolState) == 64);

struct V3SwapResult {
  I256 amount0;          // > 0: the pool receives token0; < 0: the pool pays token0
  I256 amount1;
  U256 sqrt_price_x96;   // after the swap
  u128 liquidity;        // after the swap
  std::int32_t tick;     // after the swap
  std::uint32_t ticks_crossed;  // initialized ticks crossed
  std::uint32_t steps;          // loop iterations (computeSwapStep calls)
  V3Error error;
  [[nodiscard]] constexpr bool ok() const noexcept { return error == V3Error::ok; }
};
static_assert(std::is_trivially_copyable_v<V3SwapResult>);

namespace detail {

struct NextTick {
  std::int32_t tick;
  bool initialized;
};

// floor(a / b) for b > 0.
[[nodiscard]] constexpr std::int64_t floor_div(std::int64_t a, std::int64_t b) noexcept {
  const std::int64_t q = a / b;
  return (a % b != 0 && a < 0) ? q - 1 : q;
}

// Index of the first element with .tick >= t (ticks sorted ascending).
[[nodiscard]] constexpr std::size_t lower_bound_tick(std::span<const V3Tick> ticks, std::int64_t t) noexcept {
  std::size_t lo = 0, hi = ticks.size();
  while (lo < hi) {
    const std::size_t mid = lo + (hi - lo) / 2;
    if (ticks[mid].tick < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

// TickBitmap.nextInitializedTickWithinOneWord over a sorted array of initialized ticks.
[[nodiscard]] constexpr NextTick next_initialized_tick_within_one_word(std::span<const V3Tick> ticks,
                                                                       std::int32_t tick, std::int32_t spacing,
                                                                       bool lte) noexcept {
  const std::int64_t s = spacing;
  const std::int64_t compressed = floor_div(tick, s);
  if (lte) {
    const std::int64_t word_start = floor_div(compressed, 256) * 256;  // compressed - bitPos
    // Largest initialized tick <= compressed * s and >= word_start * s.
    const std::size_t i = lower_bound_tick(ticks, compressed * s + 1);
    if (i > 0 && ticks[i - 1].tick >= word_start * s)
      return {ticks[i - 1].tick, true};
    return {static_cast<std::int32_t>(word_start * s), false};
  }
  const std::int64_t next = compressed + 1;
  const std::int64_t word_end = floor_div(next, 256) * 256 + 255;  // next + (255 - bitPos)
  const std::size_t i = lower_bound_tick(ticks, next * s);
  if (i < ticks.size() && ticks[i].tick <= word_end * s) return {ticks[i].tick, true};
  return {static_cast<std::int32_t>(word_end * s), false};
}

// LiquidityMath.addDelta.
[[nodiscard]] constexpr bool add_delta(u128 x, i128 y, u128& out) noexcept {
  if (y < 0) {
    const u128 m = static_cast<u128>(0) - static_cast<u128>(y);  // |y|, exact for INT128_MIN
    if (m > x) return false;  // 'LS'
    out = x - m;
    return true;
  }
  const u128 z = x + static_cast<u128>(y);
  if (z < x) return false;  // 'LA'
  out = z;
  return true;
}

// SafeCast.toInt256 of a U256 (< 2^255).
[[nodiscard]] constexpr bool to_i256(const U256& v, I256& out) noexcept {
  if (v.bit(255)) return false;
  out = I256::from_bits(v);
  return true;
}

}  // namespace detail

// Simulates UniswapV3Pool.swap on `state` with the initialized ticks `ticks` (sorted ascending by
// tick, unique, multiples of state.tick_spacing). amount_specified > 0: exact input; < 0: exact
// output. O(steps * log(ticks)); no allocation.
[[nodiscard]] constexpr V3SwapResult simulate_swap(const V3PoolState& state, std::span<const V3Tick> ticks,
                                                   bool zero_for_one, const I256& amount_specified,
                                                   const U256& sqrt_price_limit_x96) noexcept {
  V3SwapResult res{};
  res.sqrt_price_x96 = state.sqrt_price_x96;
  res.liquidity = state.liquidity;
  res.tick = state.tick;
  res.amount0 = I256::zero();
  res.amount1 = I256::zero();
  auto fail = [&res](V3Error e) {
    res.error = e;
    return res;
  };
  if (amount_specified.is_zero()) return fail(V3Error::amount_specified_zero);
  if (state.sqrt_price_x96.is_zero()) return fail(V3Error::not_initialized);
  if (state.tick_spacing <= 0) return fail(V3Error::tick_out_of_range);
  const bool limit_ok = zero_for_one
                            ? (sqrt_price_limit_x96 < state.sqrt_price_x96 && sqrt_price_limit_x96 > kMinSqrtRatio)
                            : (sqrt_price_limit_x96 > state.sqrt_price_x96 && sqrt_price_limit_x96 < kMaxSqrtRatio);
  if (!limit_ok) return fail(V3Error::invalid_price_limit);

  const bool exact_input = !amount_specified.is_negative();
  I256 remaining = amount_specified;
  I256 calculated = I256::zero();
  U256 sqrt_price = state.sqrt_price_x96;
  std::int32_t tick = state.tick;
  u128 liquidity = state.liquidity;

  while (!remaining.is_zero() && sqrt_price != sqrt_price_limit_x96) {
    const U256 sqrt_start = sqrt_price;
    detail::NextTick next = detail::next_initialized_tick_within_one_word(ticks, tick, state.tick_spacing, zero_for_one);
    if (next.tick < kMinTick) next.tick = kMinTick;
    else if (next.tick > kMaxTick) next.tick = kMaxTick;
    const auto sqrt_next_opt = get_sqrt_ratio_at_tick(next.tick);
    if (!sqrt_next_opt) return fail(V3Error::tick_out_of_range);
    const U256 sqrt_next = *sqrt_next_opt;
    const U256 target = (zero_for_one ? sqrt_next < sqrt_price_limit_x96 : sqrt_next > sqrt_price_limit_x96)
                            ? sqrt_price_limit_x96
                            : sqrt_next;
    const auto step = compute_swap_step(sqrt_price, target, liquidity, remaining, state.fee_pips);
    if (!step) return fail(V3Error::math_overflow);
    ++res.steps;
    sqrt_price = step->sqrt_price_next_x96;

    I256 in_plus_fee, out;
    if (!detail::to_i256(step->amount_in + step->fee_amount, in_plus_fee)) return fail(V3Error::math_overflow);
    if (!detail::to_i256(step->amount_out, out)) return fail(V3Error::math_overflow);
    if (exact_input) {
      remaining = remaining - in_plus_fee;  // native int256 `-=` (unchecked in 0.7)
      if (num::sub_overflow(calculated, out, calculated)) return fail(V3Error::math_overflow);
    } else {
      remaining = remaining + out;
      if (num::add_overflow(calculated, in_plus_fee, calculated)) return fail(V3Error::math_overflow);
    }

    if (sqrt_price == sqrt_next) {
      if (next.initialized) {
        const std::size_t i = detail::lower_bound_tick(ticks, next.tick);
        i128 net = (i < ticks.size() && ticks[i].tick == next.tick) ? ticks[i].liquidity_net : 0;
        if (zero_for_one) net = static_cast<i128>(static_cast<u128>(0) - static_cast<u128>(net));
        if (!detail::add_delta(liquidity, net, liquidity)) return fail(V3Error::liquidity_overflow);
        ++res.ticks_crossed;
      }
      tick = zero_for_one ? next.tick - 1 : next.tick;
    } else if (sqrt_price != sqrt_start) {
      const auto t = get_tick_at_sqrt_ratio(sqrt_price);
      if (!t) return fail(V3Error::math_overflow);
      tick = *t;
    }
  }

  const I256 used = amount_specified - remaining;
  if (zero_for_one == exact_input) {
    res.amount0 = used;
    res.amount1 = calculated;
  } else {
    res.amount0 = calculated;
    res.amount1 = used;
  }
  res.sqrt_price_x96 = sqrt_price;
  res.tick = tick;
  res.liquidity = liquidity;
  res.error = V3Error::ok;
  return res;
}

// A V3 pool: state plus initialized ticks in a sorted array preallocated at construction.
class V3Pool {
 public:
  // Start-up only: allocates room for `tick_capacity` initialized ticks (may throw bad_alloc).
  explicit V3Pool(std::size_t tick_capacity)
      : ticks_(std::make_unique<V3Tick[]>(tick_capacity)), capacity_(tick_capacity) {}

  // Sets slot0/liquidity/spacing/fee; keeps the ticks.
  void set_state(const V3PoolState& s) noexcept { state_ = s; }
  [[nodiscard]] const V3PoolState& state() const noexcept { return state_; }
  [[nodiscard]] std::span<const V3Tick> ticks() const noexcept { return {ticks_.get(), count_}; }
  [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }
  void clear_ticks() noexcept { count_ = 0; }

  // A Mint (delta > 0) or Burn (delta < 0) of a position [lower, upper): updates both ticks'
  // liquidityNet/Gross (removing a tick whose gross reaches 0) and, when lower <= tick < upper,
  // the in-range liquidity — the pool's _modifyPosition for everything that affects swaps.
  [[nodiscard]] V3Error apply_position_delta(std::int32_t lower, std::int32_t upper, i128 delta) noexcept {
    if (lower >= upper || lower < kMinTick || upper > kMaxTick || state_.tick_spacing <= 0 ||
        lower % state_.tick_spacing != 0 || upper % state_.tick_spacing != 0)
      return V3Error::tick_out_of_range;
    if (delta == 0) return V3Error::ok;
    const bool in_range = state_.tick >= lower && state_.tick < upper;
    u128 new_liquidity = state_.liquidity;
    if (in_range && !detail::add_delta(state_.liquidity, delta, new_liquidity)) return V3Error::liquidity_overflow;
    // Make sure both ticks can be written before changing anything.
    const std::size_t need = (find(lower) == npos ? 1U : 0U) + (find(upper) == npos ? 1U : 0U);
    if (delta > 0 && count_ + need > capacity_) return V3Error::tick_capacity;
    if (delta < 0 && need != 0) return V3Error::liquidity_overflow;  // burning a position that is not there
    V3Error e = update_tick(lower, delta, false);
    if (e != V3Error::ok) return e;
    e = update_tick(upper, delta, true);
    if (e != V3Error::ok) return e;
    state_.liquidity = new_liquidity;
    return V3Error::ok;
  }

  [[nodiscard]] V3SwapResult simulate_swap(bool zero_for_one, const I256& amount_specified,
                                           const U256& sqrt_price_limit_x96) const noexcept {
    return torq::strategy::simulate_swap(state_, ticks(), zero_for_one, amount_specified, sqrt_price_limit_x96);
  }
  // Moves the pool to the state after a successful simulated (or observed) swap.
  void apply_swap(const V3SwapResult& r) noexcept {
    if (!r.ok()) return;
    state_.sqrt_price_x96 = r.sqrt_price_x96;
    state_.tick = r.tick;
    state_.liquidity = r.liquidity;
  }

 private:
  static constexpr std::size_t npos = ~static_cast<std::size_t>(0);
  [[nodiscard]] std::size_t find(std::int32_t t) const noexcept {
    const std::size_t i = detail::lower_bound_tick(ticks(), t);
    return (i < count_ && ticks_[i].tick == t) ? i : npos;
  }
  [[nodiscard]] V3Error update_tick(std::int32_t t, i128 delta, bool upper) noexcept {
    std::size_t i = detail::lower_bound_tick(ticks(), t);
    if (i == count_ || ticks_[i].tick != t) {  // insert (capacity checked by the caller)
      for (std::size_t j = count_; j > i; --j) ticks_[j] = ticks_[j - 1];
      ticks_[i] = V3Tick{0, 0, t, 0, 0};
      ++count_;
    }
    V3Tick& k = ticks_[i];
    if (!detail::add_delta(k.liquidity_gross, delta, k.liquidity_gross)) return V3Error::liquidity_overflow;
    k.liquidity_net = upper ? static_cast<i128>(static_cast<u128>(k.liquidity_net) - static_cast<u128>(delta))
                            : static_cast<i128>(static_cast<u128>(k.liquidity_net) + static_cast<u128>(delta));
    if (k.liquidity_gross == 0) {  // uninitialised again: remove
      for (std::size_t j = i; j + 1 < count_; ++j) ticks_[j] = ticks_[j + 1];
      --count_;
    }
    return V3Error::ok;
  }

  V3PoolState state_{};
  std::unique_ptr<V3Tick[]> ticks_;
  std::size_t capacity_ = 0;
  std::size_t count_ = 0;
};

}  // namespace torq::strategy
