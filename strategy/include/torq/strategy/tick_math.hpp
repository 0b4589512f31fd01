// torq/strategy/tick_math.hpp — Uniswap V3 TickMath in exact integer arithmetic.
//
// Owns `get_sqrt_ratio_at_tick` (sqrt(1.0001^tick) * 2^96 as a Q64.96, rounded up exactly like
// TickMath.getSqrtRatioAtTick) and `get_tick_at_sqrt_ratio` (the greatest tick whose ratio is
// <= the price, TickMath.getTickAtSqrtRatio), ported from the v3-core 1.0.1 specification: the
// same Q128.128 magic constants, the same binary-logarithm approximation and the same final
// tick correction, so results equal the contract's for every input. Inputs outside the
// contract's domain give an empty optional (the contract's 'T' / 'R' reverts).
// Pure functions: thread-safe, no allocation, noexcept.
#pragma once

#include <cstdint>
#include <optional>

#include "torq/num/uint256.hpp"

namespace torq::strategy {

using torq::num::I256;
using torq::num::U256;
using torq::num::u128;

inline constexpr std::int32_t kMinTick = -887272;
inline constexpr std::int32_t kMaxTick = 887272;
inline constexpr U256 kMinSqrtRatio = U256(4295128739ULL);
// 1461446703485210103287273052203988822378723970342
inline constexpr U256 kMaxSqrtRatio =
    U256::from_limbs(0x5d951d5263988d26ULL, 0xefd1fc6a50648849ULL, 0xfffd8963ULL, 0);

namespace detail {
// (a * b) >> 128 for a, b < 2^128 (the high half of the 256-bit product).
[[nodiscard]] constexpr u128 mul_hi128(u128 a, u128 b) noexcept {
  const std::uint64_t a0 = static_cast<std::uint64_t>(a), a1 = static_cast<std::uint64_t>(a >> 64);
  const std::uint64_t b0 = static_cast<std::uint64_t>(b), b1 = static_cast<std::uint64_t>(b >> 64);
  const u128 p00 = static_cast<u128>(a0) * b0;
  const u128 p01 = static_cast<u128>(a0) * b1;
  const u128 p10 = static_cast<u128>(a1) * b0;
  const u128 p11 = static_cast<u128>(a1) * b1;
  const u128 mid = (p00 >> 64) + static_cast<std::uint64_t>(p01) + static_cast<std::uint64_t>(p10);
  return p11 + (p01 >> 64) + (p10 >> 64) + (mid >> 64);
}
[[nodiscard]] constexpr u128 hex128(std::uint64_t hi, std::uint64_t lo) noexcept {
  return (static_cast<u128>(hi) << 64) | lo;
}
// 1 / sqrt(1.0001)^(2^i) in Q128.128 for i = 1..19 (bit 0 is the starting value).
inline constexpr u128 kTickRatio[20] = {
    hex128(0xfffcb933bd6fad37ULL, 0xaa2d162d1a594001ULL), hex128(0xfff97272373d4132ULL, 0x59a46990580e213aULL),
    hex128(0xfff2e50f5f656932ULL, 0xef12357cf3c7fdccULL), hex128(0xffe5caca7e10e4e6ULL, 0x1c3624eaa0941cd0ULL),
    hex128(0xffcb9843d60f6159ULL, 0xc9db58835c926644ULL), hex128(0xff973b41fa98c081ULL, 0x472e6896dfb254c0ULL),
    hex128(0xff2ea16466c96a38ULL, 0x43ec78b326b52861ULL), hex128(0xfe5dee046a99a2a8ULL, 0x11c461f1969c3053ULL),
    hex128(0xfcbe86c7900a88aeULL, 0xdcffc83b479aa3a4ULL), hex128(0xf987a7253ac41317ULL, 0x6f2b074cf7815e54ULL),
    hex128(0xf3392b0822b70005ULL, 0x940c7a398e4b70f3ULL), hex128(0xe7159475a2c29b74ULL, 0x43b29c7fa6e889d9ULL),
    hex128(0xd097f3bdfd2022b8ULL, 0x845ad8f792aa5825ULL), hex128(0xa9f746462d870fdfULL, 0x8a65dc1f90e061e5ULL),
    hex128(0x70d869a156d2a1b8ULL, 0x90bb3df62baf32f7ULL), hex128(0x31be135f97d08fd9ULL, 0x81231505542fcfa6ULL),
    hex128(0x09aa508b5b7a84e1ULL, 0xc677de54f3e99bc9ULL), hex128(0x005d6af8dedb8119ULL, 0x6699c329225ee604ULL),
    hex128(0x00002216e584f5faULL, 0x1ea926041bedfe98ULL), hex128(0x00000000048a1703ULL, 0x91f7dc42444e8fa2ULL),
};
// log_sqrt(1.0001)(2) in Q128 and the two error bounds of the logarithm approximation.
inline constexpr U256 kLogSqrt10001Factor = U256::from_limbs(0xa301d71055774c85ULL, 0x0000000000003627ULL, 0, 0);
inline constexpr U256 kTickLowBound = U256::from_limbs(0x5af012a19d003aaaULL, 0x028f6481ab7f045aULL, 0, 0);
inline constexpr U256 kTickHighBound = U256::from_limbs(0x455e260799a0632fULL, 0xdb2df09e81959a81ULL, 0, 0);
}  // namespace detail

// sqrt(1.0001^tick) * 2^96, rounded up. Empty when |tick| > kMaxTick.
[[nodiscard]] constexpr std::optional<U256> get_sqrt_ratio_at_tick(std::int32_t tick) noexcept {
  const std::uint32_t abs_tick = tick < 0 ? static_cast<std::uint32_t>(-static_cast<std::int64_t>(tick))
                                          : static_cast<std::uint32_t>(tick);
  if (abs_tick > static_cast<std::uint32_t>(kMaxTick)) return std::nullopt;
  // ratio is Q128.128; it starts at 1.0 (2^128, which does not fit u128: tracked by `is_one`).
  bool is_one = true;
  u128 ratio = 0;
  for (unsigned i = 0; i < 20; ++i) {
    if ((abs_tick >> i) & 1U) {
      if (is_one) {
        ratio = detail::kTickRatio[i];  // (2^128 * c) >> 128 == c
        is_one = false;
      } else {
        ratio = detail::mul_hi128(ratio, detail::kTickRatio[i]);
      }
    }
  }
  U256 r = is_one ? U256::pow2(128) : U256::from_u128(ratio);
  if (tick > 0) r = U256::max() / r;
  // Q128.128 -> Q128.96, rounding up.
  U256 out = r >> 32;
  if ((r.limb[0] & 0xffffffffULL) != 0) out = out + U256::one();
  return out;
}

// Greatest tick t with get_sqrt_ratio_at_tick(t) <= sqrt_price_x96. Empty unless
// kMinSqrtRatio <= sqrt_price_x96 < kMaxSqrtRatio.
[[nodiscard]] constexpr std::optional<std::int32_t> get_tick_at_sqrt_ratio(const U256& sqrt_price_x96) noexcept {
  if (sqrt_price_x96 < kMinSqrtRatio || !(sqrt_price_x96 < kMaxSqrtRatio)) return std::nullopt;
  const U256 ratio = sqrt_price_x96 << 32;  // Q128.128, < 2^192
  const unsigned msb = ratio.bit_length() - 1;
  // Normalise to [2^127, 2^128).
  const u128 r0 = (msb >= 128 ? (ratio >> (msb - 127)) : (ratio << (127 - msb))).low_u128();
  // log_2 in Q64.64 (signed); the integer part is msb - 128.
  I256 log_2 = I256(static_cast<std::int64_t>(msb) - 128);
  log_2 = I256::from_bits(log_2.bits() << 64);
  u128 r = r0;
  std::uint64_t frac = 0;
  for (unsigned bit = 63; bit >= 50; --bit) {
    // r := (r * r) >> 127; f := bit 128 of it; r >>= f. With r in [2^127, 2^128):
    const u128 hi = detail::mul_hi128(r, r);  // (r * r) >> 128, in [2^126, 2^128)
    if ((hi >> 127) != 0) {                   // f == 1: r = (r * r) >> 128
      r = hi;
      frac |= 1ULL << bit;
    } else {                                  // f == 0: r = (r * r) >> 127 (fits: hi < 2^127)
      r = (hi << 1) | ((r * r) >> 127);
    }
  }
  log_2 = I256::from_bits(log_2.bits() | U256(frac));
  const I256 log_sqrt10001 = log_2 * I256::from_bits(detail::kLogSqrt10001Factor);  // Q128.128
  const I256 low = (log_sqrt10001 - I256::from_bits(detail::kTickLowBound)) >> 128;
  const I256 high = (log_sqrt10001 + I256::from_bits(detail::kTickHighBound)) >> 128;
  const auto tick_low = static_cast<std::int32_t>(static_cast<std::int64_t>(low.limb[0]));
  const auto tick_high = static_cast<std::int32_t>(static_cast<std::int64_t>(high.limb[0]));
  if (tick_low == tick_high) return tick_low;
  const std::optional<U256> at_high = get_sqrt_ratio_at_tick(tick_high);
  return (at_high && *at_high <= sqrt_price_x96) ? tick_high : tick_low;
}

}  // namespace torq::strategy
