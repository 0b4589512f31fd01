// torq/strategy/amm_v2.hpp — Uniswap V2 constant-product quotes in exact integer arithmetic.
//
// Owns `v2_get_amount_out` / `v2_get_amount_in`, bit-exact ports of UniswapV2Library.getAmountOut
// and getAmountIn (v2-periphery) with the fork's fee as a fraction kept by the pool: Uniswap V2,
// QuickSwap and SushiSwap keep 997/1000 (0.3 % fee); other forks differ (e.g. 9975/10000). The
// amounts match what the real UniswapV2Pair accepts: amount_out is the largest output whose K
// check passes for amount_in, and amount_in is the library's `floor(n / d) + 1` (which is the
// smallest passing input except when n / d divides exactly, where it is one above it).
// Failures (the library's `require`s and SafeMath overflows) are returned, never thrown.
// Pure functions: thread-safe, no allocation, noexcept, constexpr.
#pragma once

#include <cstdint>
#include <type_traits>

#include "torq/num/uint256.hpp"

namespace torq::strategy {

using torq::num::U256;

// Fraction of the input the pool keeps after its fee: numerator / denominator (997 / 1000).
struct V2Fee {
  std::uint32_t numerator;
  std::uint32_t denominator;
};
static_assert(sizeof(V2Fee) == 8 && std::is_trivially_copyable_v<V2Fee>);

inline constexpr V2Fee kUniswapV2Fee{997, 1000};
inline constexpr V2Fee kQuickSwapFee{997, 1000};
inline constexpr V2Fee kSushiSwapFee{997, 1000};

enum class V2Error : std::uint8_t {
  ok = 0,
  insufficient_input_amount,   // amount_in == 0 ('UniswapV2Library: INSUFFICIENT_INPUT_AMOUNT')
  insufficient_output_amount,  // amount_out == 0 ('UniswapV2Library: INSUFFICIENT_OUTPUT_AMOUNT')
  insufficient_liquidity,      // a reserve is 0, or amount_out >= reserve_out
  overflow,                    // an intermediate product exceeds 2^256 (SafeMath revert)
  invalid_fee,                 // numerator == 0, denominator == 0 or numerator > denominator
};

struct V2Quote {
  U256 amount;   // amount out (get_amount_out) or amount in (get_amount_in); zero on error
  V2Error error;
  [[nodiscard]] constexpr bool ok() const noexcept { return error == V2Error::ok; }
};
static_assert(std::is_trivially_copyable_v<V2Quote>);

[[nodiscard]] constexpr bool v2_fee_valid(V2Fee f) noexcept {
  return f.numerator != 0 && f.denominator != 0 && f.numerator <= f.denominator;
}

// amountOut = (amountIn * fee.num * reserveOut) / (reserveIn * fee.den + amountIn * fee.num).
[[nodiscard]] constexpr V2Quote v2_get_amount_out(const U256& amount_in, const U256& reserve_in,
                                                  const U256& reserve_out, V2Fee fee = kUniswapV2Fee) noexcept {
  if (!v2_fee_valid(fee)) return {U256::zero(), V2Error::invalid_fee};
  if (amount_in.is_zero()) return {U256::zero(), V2Error::insufficient_input_amount};
  if (reserve_in.is_zero() || reserve_out.is_zero()) return {U256::zero(), V2Error::insufficient_liquidity};
  U256 in_with_fee, numerator, den_a, denominator;
  if (num::mul_overflow(amount_in, U256(fee.numerator), in_with_fee)) return {U256::zero(), V2Error::overflow};
  if (num::mul_overflow(in_with_fee, reserve_out, numerator)) return {U256::zero(), V2Error::overflow};
  if (num::mul_overflow(reserve_in, U256(fee.denominator), den_a)) return {U256::zero(), V2Error::overflow};
  if (num::add_overflow(den_a, in_with_fee, denominator)) return {U256::zero(), V2Error::overflow};
  return {numerator / denominator, V2Error::ok};
}

// amountIn = (reserveIn * amountOut * fee.den) / ((reserveOut - amountOut) * fee.num) + 1.
[[nodiscard]] constexpr V2Quote v2_get_amount_in(const U256& amount_out, const U256& reserve_in,
                                                 const U256& reserve_out, V2Fee fee = kUniswapV2Fee) noexcept {
  if (!v2_fee_valid(fee)) return {U256::zero(), V2Error::invalid_fee};
  if (amount_out.is_zero()) return {U256::zero(), V2Error::insufficient_output_amount};
  if (reserve_in.is_zero() || reserve_out.is_zero()) return {U256::zero(), V2Error::insufficient_liquidity};
  // The library reverts in SafeMath.sub (amount_out > reserve_out) or divides by zero (==).
  if (amount_out >= reserve_out) return {U256::zero(), V2Error::insufficient_liquidity};
  U256 a, numerator, denominator;
  if (num::mul_overflow(reserve_in, amount_out, a)) return {U256::zero(), V2Error::overflow};
  if (num::mul_overflow(a, U256(fee.denominator), numerator)) return {U256::zero(), V2Error::overflow};
  if (num::mul_overflow(reserve_out - amount_out, U256(fee.numerator), denominator))
    return {U256::zero(), V2Error::overflow};
  U256 result;
  if (num::add_overflow(numerator / denominator, U256::one(), result)) return {U256::zero(), V2Error::overflow};
  return {result, V2Error::ok};
}

}  // namespace torq::strategy
