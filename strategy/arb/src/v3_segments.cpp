// Exact V3 exact-input swaps from cached swap steps (see v3_segments.hpp).
#include "torq/arb/v3_segments.hpp"

#include "torq/arb/search.hpp"
#include "torq/arb/v3_step_math.hpp"
#include "torq/strategy/sqrt_price_math.hpp"
#include "torq/strategy/swap_math.hpp"
#include "torq/strategy/tick_math.hpp"
#include "torq/strategy/v3_pool_sim.hpp"

namespace torq::arb {

namespace {

constexpr std::uint32_t kFeeDen = strategy::kFeePipsDenominator;

// getAmount0Delta / getAmount1Delta: the sized fast path (v3_step_math.hpp), the general routine
// for the operands it does not take.
[[gnu::always_inline]] inline std::optional<U256> amount0_delta(const U256& a, const U256& b, u128 L, bool round_up) noexcept {
  U256 fast;
  if (v3math::amount0_delta(a, b, L, round_up, fast)) return fast;
  return strategy::get_amount0_delta(a, b, L, round_up);
}
[[gnu::always_inline]] inline std::optional<U256> amount1_delta(const U256& a, const U256& b, u128 L, bool round_up) noexcept {
  U256 fast;
  if (v3math::amount1_delta(a, b, L, round_up, fast)) return fast;
  return strategy::get_amount1_delta(a, b, L, round_up);
}

// The step's fee and output at its target, exactly as simulate_swap's computeSwapStep (its
// "target reached" branch); false when they leave the range the cache mirrors (near int256 limits).
bool compute_full(const Hop& h, const V3SegmentCache& c, V3Segment& s) noexcept {
  const bool z = c.zero_for_one;
  const std::uint32_t fee = h.meta->fee_pips;
  const U256& cur = s.sqrt_start;
  const U256& target = s.sqrt_target;
  const u128 L = s.liquidity;
  const std::optional<U256> out = z ? amount1_delta(target, cur, L, false) : amount0_delta(cur, target, L, false);
  if (!out) return false;
  const auto fee_amt = num::mul_div_rounding_up(s.amount_in, U256(fee), U256(kFeeDen - fee));
  if (!fee_amt) return false;
  U256 in_full;
  if (num::add_overflow(s.amount_in, *fee_amt, in_full) || in_full.bit(255) || out->bit(255) ||
      in_full.bit_length() > 250 || out->bit_length() > 250)
    return false;
  s.in_full = in_full;
  s.out_full = *out;
  s.full_ready = true;
  return true;
}

// Builds the next step of the swap loop (simulate_swap's loop body for an input large enough to
// reach the step's target). Sets `stuck` when the step cannot be mirrored.
void build_next(const Hop& h, V3SegmentCache& c) noexcept {
  if (c.stuck || c.complete || c.count >= V3SegmentCache::kMaxSegments) return;
  const bool z = c.zero_for_one;
  strategy::detail::NextTick next =
      strategy::detail::next_initialized_tick_within_one_word(h.ticks, c.next_tick, h.meta->tick_spacing, z);
  if (next.tick < strategy::kMinTick) next.tick = strategy::kMinTick;
  else if (next.tick > strategy::kMaxTick) next.tick = strategy::kMaxTick;
  U256 sqrt_next;
  unsigned memo = 0;
  while (memo < V3SegmentCache::kMaxSegments && c.memo_tick[memo] != next.tick) ++memo;
  if (memo < V3SegmentCache::kMaxSegments) {
    sqrt_next = c.memo_sqrt[memo];  // == get_sqrt_ratio_at_tick(next.tick)
  } else {
    const auto sqrt_next_opt = strategy::get_sqrt_ratio_at_tick(next.tick);
    if (!sqrt_next_opt) { c.stuck = true; return; }
    sqrt_next = *sqrt_next_opt;
    c.memo_sqrt[c.memo_next] = sqrt_next;
    c.memo_tick[c.memo_next] = next.tick;
    c.memo_next = static_cast<std::uint8_t>((c.memo_next + 1) % V3SegmentCache::kMaxSegments);
  }
  const U256 target = (z ? sqrt_next < c.limit : sqrt_next > c.limit) ? c.limit : sqrt_next;
  const U256& cur = c.next_sqrt;
  const u128 L = c.next_liquidity;
  // computeSwapStep, exact input, target reached: amountIn (rounded up), amountOut at the target,
  // fee = mulDivRoundingUp(amountIn, fee, 1e6 - fee).
  const std::optional<U256> in = z ? amount0_delta(target, cur, L, true) : amount1_delta(cur, target, L, true);
  if (!in) { c.stuck = true; return; }
  V3Segment& s = c.seg[c.count];
  s.sqrt_start = cur;
  s.sqrt_target = target;
  s.amount_in = *in;
  s.liquidity = L;
  s.full_ready = false;
  // The fee and the output of the whole step are needed only by a swap that crosses it (or by a
  // model of a later step): computed then (v3_segment_full). That is exact and cannot fail while
  // amountIn < 2^230 and the price < 2^160 (fee < 2^249, amountIn + fee < 2^250, output < 2^192:
  // build_next's bounds below always hold); outside those bounds they are computed here, as before.
  if (in->bit_length() > 229 || !cur.fits_u160()) {
    if (!compute_full(h, c, s)) { c.stuck = true; return; }
  }
  s.ends_at_limit = target == c.limit;
  ++c.count;
  if (s.ends_at_limit) {
    c.complete = true;
    return;
  }
  // The loop after a step that ended on sqrt_next: cross an initialized tick, set the tick.
  c.next_sqrt = target;
  if (next.initialized) {
    const std::size_t i = strategy::detail::lower_bound_tick(h.ticks, next.tick);
    i128 net = (i < h.ticks.size() && h.ticks[i].tick == next.tick) ? h.ticks[i].liquidity_net : 0;
    if (z) net = static_cast<i128>(static_cast<u128>(0) - static_cast<u128>(net));
    if (!strategy::detail::add_delta(c.next_liquidity, net, c.next_liquidity)) { c.stuck = true; return; }
  }
  c.next_tick = z ? next.tick - 1 : next.tick;
}

[[nodiscard]] std::optional<U256> reference(const Hop& h, const U256& amount_in, std::uint8_t& end_step) noexcept {
  end_step = 0xFF;
  return swap_exact_in(h, amount_in);
}

}  // namespace

bool v3_segments_prepare(const Hop& h, V3SegmentCache& c) noexcept {
  if (c.version == h.state->version && c.state == h.state && c.zero_for_one == h.zero_for_one)
    return !c.stuck || c.count > 0;
  c.version = h.state->version;
  c.state = h.state;
  c.zero_for_one = h.zero_for_one;
  c.count = 0;
  c.complete = false;
  c.stuck = false;
  const PoolState& s = *h.state;
  if (!s.has_state() || s.sqrt_price_x96().is_zero() || h.meta->tick_spacing <= 0 || h.meta->fee_pips >= kFeeDen ||
      !v3_price_limit(h, c.limit)) {
    c.stuck = true;  // simulate_swap (through swap_exact_in) gives the answer, an error
    return false;
  }
  c.next_sqrt = s.sqrt_price_x96();
  c.next_liquidity = s.liquidity;
  c.next_tick = s.tick;
  build_next(h, c);
  return c.count > 0;
}

bool v3_segment_full(const Hop& h, V3SegmentCache& c, unsigned k) noexcept {
  if (k >= c.count) return false;
  V3Segment& s = c.seg[k];
  return s.full_ready || compute_full(h, c, s);
}

bool v3_segments_extend(const Hop& h, V3SegmentCache& c) noexcept {
  const std::uint8_t before = c.count;
  build_next(h, c);
  return c.count > before;
}

std::optional<U256> v3_segment_swap(const Hop& h, V3SegmentCache& c, const U256& amount_in, std::uint8_t& end_step) noexcept {
  if (!v3_segments_prepare(h, c)) return reference(h, amount_in, end_step);
  if (amount_in.is_zero() || amount_in.bit(255)) return std::nullopt;  // 'AS' / not an int256 input
  const bool z = c.zero_for_one;
  const std::uint32_t keep = kFeeDen - h.meta->fee_pips;
  U256 remaining = amount_in;
  U256 out = U256::zero();
  for (unsigned k = 0;; ++k) {
    if (k == c.count) {
      build_next(h, c);
      if (k == c.count) return reference(h, amount_in, end_step);  // not mirrored beyond here
    }
    V3Segment& s = c.seg[k];
    // amountRemainingLessFee = mulDiv(remaining, 1e6 - fee, 1e6).
    U256 less_fee;
    if (!v3math::mul_div_small(remaining, keep, v3math::kFeeDen, less_fee)) {
      const auto lf = num::mul_div(remaining, U256(keep), U256(kFeeDen));
      if (!lf) return reference(h, amount_in, end_step);
      less_fee = *lf;
    }
    if (less_fee >= s.amount_in) {  // reaches the target: the whole step, amounts as cached
      if (!s.full_ready && !compute_full(h, c, s)) return reference(h, amount_in, end_step);  // cannot happen
      if (s.in_full > remaining) return reference(h, amount_in, end_step);  // cannot happen; be safe
      remaining = remaining - s.in_full;
      out = out + s.out_full;
      if (remaining.is_zero()) {
        end_step = static_cast<std::uint8_t>(k);
        break;
      }
      if (s.ends_at_limit) return std::nullopt;  // price limit reached with input left: partial fill
      continue;
    }
    // Target not reached: the rest of the input is spent in this step (the remainder is fee).
    // getNextSqrtPriceFromInput, then the output between the two prices (rounded down).
    U256 next;
    if (!(z ? v3math::next_sqrt_from_amount0_add(s.sqrt_start, s.liquidity, less_fee, next)
            : v3math::next_sqrt_from_amount1_add(s.sqrt_start, s.liquidity, less_fee, next))) {
      const auto n = strategy::get_next_sqrt_price_from_input(s.sqrt_start, s.liquidity, less_fee, z);
      if (!n) return reference(h, amount_in, end_step);
      next = *n;
    }
    if (next == s.sqrt_target) return reference(h, amount_in, end_step);  // rounding corner
    const std::optional<U256> o = z ? amount1_delta(next, s.sqrt_start, s.liquidity, false)
                                    : amount0_delta(s.sqrt_start, next, s.liquidity, false);
    if (!o) return reference(h, amount_in, end_step);
    out = out + *o;
    end_step = static_cast<std::uint8_t>(k);
    break;
  }
  if (out.is_zero() || out.bit(255)) return std::nullopt;  // nothing out (swap_exact_in's rule)
  return out;
}

}  // namespace torq::arb
