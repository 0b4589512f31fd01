// torq/strategy/sqrt_price_math.hpp — Uniswap V3 SqrtPriceMath in exact integer arithmetic.
//
// Owns the price/amount relations of a V3 liquidity range, ported from the v3-core 1.0.1
// specification with the same rounding in every branch: the next sqrt price after adding or
// removing an amount of token0 (rounded up) or token1 (rounded down), and the token0/token1
// amounts between two prices for a liquidity (rounded up for what the pool receives, down for
// what it pays). Prices are Q64.96 values below 2^160 held in U256; liquidity is uint128.
// Every Solidity `require`/checked-math revert becomes an empty optional.
// Pure functions: thread-safe, no allocation, noexcept.
#pragma once

#include <optional>

#include "torq/num/uint256.hpp"

namespace torq::strategy {

using torq::num::U256;
using torq::num::u128;

namespace detail {
[[nodiscard]] constexpr U256 div_rounding_up_unsafe(const U256& x, const U256& y) noexcept {
  // UnsafeMath.divRoundingUp: EVM DIV/MOD, so y == 0 gives 0.
  U256 q = U256::zero(), r = U256::zero();
  if (!num::divmod(x, y, q, r)) return U256::zero();
  return r.is_zero() ? q : q + U256::one();
}
}  // namespace detail

// getNextSqrtPriceFromAmount0RoundingUp: sqrt(P') = L * sqrtP / (L +- amount * sqrtP), rounded up.
[[nodiscard]] constexpr std::optional<U256> get_next_sqrt_price_from_amount0_rounding_up(
    const U256& sqrt_px96, u128 liquidity, const U256& amount, bool add) noexcept {
  if (amount.is_zero()) return sqrt_px96;
  const U256 numerator1 = U256::from_u128(liquidity) << 96;
  U256 product;
  const bool product_overflow = num::mul_overflow(amount, sqrt_px96, product);
  if (add) {
    if (!product_overflow) {
      U256 denominator;
      if (!num::add_overflow(numerator1, product, denominator)) {
        const auto r = num::mul_div_rounding_up(numerator1, sqrt_px96, denominator);
        if (!r) return std::nullopt;
        return *r;  // <= sqrt_px96, so the uint160 cast never truncates
      }
    }
    // Fallback: numerator1 / (numerator1 / sqrtP + amount), rounded up (checked add).
    if (sqrt_px96.is_zero()) return std::nullopt;
    U256 den;
    if (num::add_overflow(numerator1 / sqrt_px96, amount, den)) return std::nullopt;
    return detail::div_rounding_up_unsafe(numerator1, den);
  }
  if (product_overflow || !(numerator1 > product)) return std::nullopt;
  const auto r = num::mul_div_rounding_up(numerator1, sqrt_px96, numerator1 - product);
  if (!r || !r->fits_u160()) return std::nullopt;
  return *r;
}

// getNextSqrtPriceFromAmount1RoundingDown: sqrt(P') = sqrtP +- amount / L, rounded down.
[[nodiscard]] constexpr std::optional<U256> get_next_sqrt_price_from_amount1_rounding_down(
    const U256& sqrt_px96, u128 liquidity, const U256& amount, bool add) noexcept {
  const U256 l = U256::from_u128(liquidity);
  const U256 q96 = U256::pow2(96);
  if (add) {
    U256 quotient;
    if (amount.fits_u160()) {
      if (l.is_zero()) return std::nullopt;  // Solidity checked division by zero
      quotient = (amount << 96) / l;
    } else {
      const auto r = num::mul_div(amount, q96, l);
      if (!r) return std::nullopt;
      quotient = *r;
    }
    U256 sum;
    if (num::add_overflow(sqrt_px96, quotient, sum) || !sum.fits_u160()) return std::nullopt;
    return sum;
  }
  U256 quotient;
  if (amount.fits_u160()) {
    quotient = detail::div_rounding_up_unsafe(amount << 96, l);
  } else {
    const auto r = num::mul_div_rounding_up(amount, q96, l);
    if (!r) return std::nullopt;
    quotient = *r;
  }
  if (!(sqrt_px96 > quotient)) return std::nullopt;
  return sqrt_px96 - quotient;
}

// getNextSqrtPriceFromInput: price after `amount_in` of the input token enters the range.
[[nodiscard]] constexpr std::optional<U256> get_next_sqrt_price_from_input(const U256& sqrt_px96, u128 liquidity,
                                                                           const U256& amount_in,
                                                                           bool zero_for_one) noexcept {
  if (sqrt_px96.is_zero() || liquidity == 0) return std::nullopt;
  return zero_for_one ? get_next_sqrt_price_from_amount0_rounding_up(sqrt_px96, liquidity, amount_in, true)
                      : get_next_sqrt_price_from_amount1_rounding_down(sqrt_px96, liquidity, amount_in, true);
}

// getNextSqrtPriceFromOutput: price after `amount_out` of the output token leaves the range.
[[nodiscard]] constexpr std::optional<U256> get_next_sqrt_price_from_output(const U256& sqrt_px96, u128 liquidity,
                                                                            const U256& amount_out,
                                                                            bool zero_for_one) noexcept {
  if (sqrt_px96.is_zero() || liquidity == 0) return std::nullopt;
  return zero_for_one ? get_next_sqrt_price_from_amount1_rounding_down(sqrt_px96, liquidity, amount_out, false)
                      : get_next_sqrt_price_from_amount0_rounding_up(sqrt_px96, liquidity, amount_out, false);
}

// getAmount0Delta: L * (sqrtB - sqrtA) / (sqrtA * sqrtB), prices in either order.
[[nodiscard]] constexpr std::optional<U256> get_amount0_delta(U256 sqrt_a, U256 sqrt_b, u128 liquidity,
                                                              bool round_up) noexcept {
  if (sqrt_a > sqrt_b) {
    const U256 t = sqrt_a;
    sqrt_a = sqrt_b;
    sqrt_b = t;
  }
  if (sqrt_a.is_zero()) return std::nullopt;
  const U256 numerator1 = U256::from_u128(liquidity) << 96;
  const U256 numerator2 = sqrt_b - sqrt_a;
  if (round_up) {
    const auto r = num::mul_div_rounding_up(numerator1, numerator2, sqrt_b);
    if (!r) return std::nullopt;
    return detail::div_rounding_up_unsafe(*r, sqrt_a);
  }
  const auto r = num::mul_div(numerator1, numerator2, sqrt_b);
  if (!r) return std::nullopt;
  return *r / sqrt_a;
}

// getAmount1Delta: L * (sqrtB - sqrtA), prices in either order.
[[nodiscard]] constexpr std::optional<U256> get_amount1_delta(U256 sqrt_a, U256 sqrt_b, u128 liquidity,
                                                              bool round_up) noexcept {
  if (sqrt_a > sqrt_b) {
    const U256 t = sqrt_a;
    sqrt_a = sqrt_b;
    sqrt_b = t;
  }
  const U256 l = U256::from_u128(liquidity);
  return round_up ? num::mul_div_rounding_up(l, sqrt_b - sqrt_a, U256::pow2(96))
                  : num::mul_div(l, sqrt_b - sqrt_a, U256::pow2(96));
}

}  // namespace torq::strategy
