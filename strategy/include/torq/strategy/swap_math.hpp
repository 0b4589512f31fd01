// torq/strategy/swap_math.hpp — Uniswap V3 SwapMath.computeSwapStep in exact integer arithmetic.
//
// Owns `compute_swap_step`: one step of a V3 swap inside a single liquidity range, from the
// current price toward a target price, for an exact-input (amount_remaining > 0) or exact-output
// (amount_remaining < 0) swap, with the fee in hundredths of a bip (pips, 3000 = 0.3 %). Ported
// from the v3-core 1.0.1 specification branch for branch, including which amounts are rounded up,
// the output cap and the "remainder becomes fee" rule when the target is not reached.
// Pure function: thread-safe, no allocation, noexcept; a contract revert is an empty optional.
#pragma once

#include <cstdint>
#include <optional>
#include <type_traits>

#include "torq/num/uint256.hpp"
#include "torq/strategy/sqrt_price_math.hpp"

namespace torq::strategy {

using torq::num::I256;
using torq::num::U256;
using torq::num::u128;

inline constexpr std::uint32_t kFeePipsDenominator = 1'000'000;

struct SwapStep {
  U256 sqrt_price_next_x96;
  U256 amount_in;   // excluding the fee
  U256 amount_out;
  U256 fee_amount;
};
static_assert(std::is_trivially_copyable_v<SwapStep> && sizeof(SwapStep) == 128);

[[nodiscard]] constexpr std::optional<SwapStep> compute_swap_step(const U256& sqrt_current, const U256& sqrt_target,
                                                                  u128 liquidity, const I256& amount_remaining,
                                                                  std::uint32_t fee_pips) noexcept {
  if (fee_pips >= kFeePipsDenominator) return std::nullopt;  // the fee formula divides by 1e6 - fee
  const bool zero_for_one = sqrt_current >= sqrt_target;
  const bool exact_in = !amount_remaining.is_negative();
  const U256 remaining_abs = amount_remaining.abs();  // uint256(x) or uint256(-x); exact for INT256_MIN
  const U256 fee_complement(kFeePipsDenominator - fee_pips);
  SwapStep s{};

  if (exact_in) {
    const auto less_fee = num::mul_div(remaining_abs, fee_complement, U256(kFeePipsDenominator));
    if (!less_fee) return std::nullopt;
    const auto in = zero_for_one ? get_amount0_delta(sqrt_target, sqrt_current, liquidity, true)
                                 : get_amount1_delta(sqrt_current, sqrt_target, liquidity, true);
    if (!in) return std::nullopt;
    s.amount_in = *in;
    if (*less_fee >= s.amount_in) {
      s.sqrt_price_next_x96 = sqrt_target;
    } else {
      const auto next = get_next_sqrt_price_from_input(sqrt_current, liquidity, *less_fee, zero_for_one);
      if (!next) return std::nullopt;
      s.sqrt_price_next_x96 = *next;
    }
  } else {
    const auto out = zero_for_one ? get_amount1_delta(sqrt_target, sqrt_current, liquidity, false)
                                  : get_amount0_delta(sqrt_current, sqrt_target, liquidity, false);
    if (!out) return std::nullopt;
    s.amount_out = *out;
    if (remaining_abs >= s.amount_out) {
      s.sqrt_price_next_x96 = sqrt_target;
    } else {
      const auto next = get_next_sqrt_price_from_output(sqrt_current, liquidity, remaining_abs, zero_for_one);
      if (!next) return std::nullopt;
      s.sqrt_price_next_x96 = *next;
    }
  }

  const bool max = sqrt_target == s.sqrt_price_next_x96;
  if (zero_for_one) {
    if (!(max && exact_in)) {
      const auto v = get_amount0_delta(s.sqrt_price_next_x96, sqrt_current, liquidity, true);
      if (!v) return std::nullopt;
      s.amount_in = *v;
    }
    if (!(max && !exact_in)) {
      const auto v = get_amount1_delta(s.sqrt_price_next_x96, sqrt_current, liquidity, false);
      if (!v) return std::nullopt;
      s.amount_out = *v;
    }
  } else {
    if (!(max && exact_in)) {
      const auto v = get_amount1_delta(sqrt_current, s.sqrt_price_next_x96, liquidity, true);
      if (!v) return std::nullopt;
      s.amount_in = *v;
    }
    if (!(max && !exact_in)) {
      const auto v = get_amount0_delta(sqrt_current, s.sqrt_price_next_x96, liquidity, false);
      if (!v) return std::nullopt;
      s.amount_out = *v;
    }
  }

  // Cap the output at what is left to receive (exact output).
  if (!exact_in && s.amount_out > remaining_abs) s.amount_out = remaining_abs;

  if (exact_in && s.sqrt_price_next_x96 != sqrt_target) {
    s.fee_amount = remaining_abs - s.amount_in;  // unchecked in the contract (never wraps here)
  } else {
    const auto fee = num::mul_div_rounding_up(s.amount_in, U256(fee_pips), fee_complement);
    if (!fee) return std::nullopt;
    s.fee_amount = *fee;
  }
  return s;
}

}  // namespace torq::strategy
