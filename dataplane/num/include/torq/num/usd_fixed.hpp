// torq/num/usd_fixed.hpp — USD amounts as exact fixed point with 8 decimals.
//
// Owns `torq::num::UsdFixedPoint8`: a signed 64-bit count of 1e-8 USD (1 USD == 100'000'000 raw),
// range [-92233720368.54775808, 92233720368.54775807] USD. Trivially copyable, 8 bytes, the
// Protocol V2 wire form (int64 little-endian). Every operation is exact integer arithmetic (no
// floating point anywhere), noexcept, thread-safe (no shared state) and allocation-free, except
// to_string() which returns a std::string. Overflow and division by zero are reported as an empty
// std::optional (or a `true` overflow flag), never UB.
//
// Rounding: products and quotients of two fixed-point values are truncated toward zero (like C++
// integer division): mul(1.5e-8, 0.5) == 0 and mul(-1.5e-8, 0.5) == 0. from_token_amount()
// rounds toward negative infinity (floor), which is the same as truncation for prices >= 0.
// See docs/numbers.md.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include "torq/num/uint256.hpp"

namespace torq::num {

struct UsdFixedPoint8 {
  static constexpr std::int64_t kScale = 100'000'000;  // raw units per USD
  static constexpr unsigned kDecimals = 8;

  std::int64_t raw;  // USD * 1e8

  [[nodiscard]] static constexpr UsdFixedPoint8 from_raw(std::int64_t r) noexcept { return UsdFixedPoint8{r}; }
  [[nodiscard]] static constexpr UsdFixedPoint8 zero() noexcept { return UsdFixedPoint8{0}; }
  [[nodiscard]] static constexpr UsdFixedPoint8 min() noexcept { return UsdFixedPoint8{INT64_MIN}; }
  [[nodiscard]] static constexpr UsdFixedPoint8 max() noexcept { return UsdFixedPoint8{INT64_MAX}; }
  // Whole dollars; empty when |usd| * 1e8 does not fit in int64.
  [[nodiscard]] static constexpr std::optional<UsdFixedPoint8> from_usd(std::int64_t usd) noexcept {
    std::int64_t r = 0;
    if (__builtin_mul_overflow(usd, kScale, &r)) return std::nullopt;
    return UsdFixedPoint8{r};
  }

  // Text (defined in usd_fixed.cpp; grammar at parse_usd below).
  [[nodiscard]] static std::optional<UsdFixedPoint8> parse(std::string_view s) noexcept;
  [[nodiscard]] std::string to_string() const;  // "-12.34000000": always 8 decimals

  [[nodiscard]] constexpr bool is_negative() const noexcept { return raw < 0; }
  [[nodiscard]] constexpr bool is_zero() const noexcept { return raw == 0; }

  friend constexpr bool operator==(const UsdFixedPoint8&, const UsdFixedPoint8&) noexcept = default;
  friend constexpr std::strong_ordering operator<=>(const UsdFixedPoint8&, const UsdFixedPoint8&) noexcept = default;
};

static_assert(sizeof(UsdFixedPoint8) == 8);
static_assert(std::is_trivially_copyable_v<UsdFixedPoint8>);
static_assert(std::is_standard_layout_v<UsdFixedPoint8>);
static_assert(std::is_aggregate_v<UsdFixedPoint8>);

namespace detail {
constexpr std::optional<UsdFixedPoint8> usd_from_i128(i128 v) noexcept {
  if (v < INT64_MIN || v > INT64_MAX) return std::nullopt;
  return UsdFixedPoint8{static_cast<std::int64_t>(v)};
}
}  // namespace detail

// a + b, a - b: true on overflow (out then holds the wrapped value; do not use it).
[[nodiscard]] constexpr bool add_overflow(UsdFixedPoint8 a, UsdFixedPoint8 b, UsdFixedPoint8& out) noexcept {
  return __builtin_add_overflow(a.raw, b.raw, &out.raw);
}
[[nodiscard]] constexpr bool sub_overflow(UsdFixedPoint8 a, UsdFixedPoint8 b, UsdFixedPoint8& out) noexcept {
  return __builtin_sub_overflow(a.raw, b.raw, &out.raw);
}
[[nodiscard]] constexpr std::optional<UsdFixedPoint8> checked_add(UsdFixedPoint8 a, UsdFixedPoint8 b) noexcept {
  UsdFixedPoint8 r{0};
  if (add_overflow(a, b, r)) return std::nullopt;
  return r;
}
[[nodiscard]] constexpr std::optional<UsdFixedPoint8> checked_sub(UsdFixedPoint8 a, UsdFixedPoint8 b) noexcept {
  UsdFixedPoint8 r{0};
  if (sub_overflow(a, b, r)) return std::nullopt;
  return r;
}
[[nodiscard]] constexpr std::optional<UsdFixedPoint8> checked_neg(UsdFixedPoint8 a) noexcept {
  if (a.raw == INT64_MIN) return std::nullopt;
  return UsdFixedPoint8{-a.raw};
}
// a * k for an integer k (e.g. a count of units); exact, empty on overflow.
[[nodiscard]] constexpr std::optional<UsdFixedPoint8> checked_mul(UsdFixedPoint8 a, std::int64_t k) noexcept {
  UsdFixedPoint8 r{0};
  if (__builtin_mul_overflow(a.raw, k, &r.raw)) return std::nullopt;
  return r;
}
// a / k for an integer k, truncated toward zero; empty when k == 0 or on overflow (min / -1).
[[nodiscard]] constexpr std::optional<UsdFixedPoint8> checked_div(UsdFixedPoint8 a, std::int64_t k) noexcept {
  if (k == 0) return std::nullopt;
  return detail::usd_from_i128(static_cast<i128>(a.raw) / k);
}
// a * b in USD (e.g. price * quantity, both 8-decimal): (a.raw * b.raw) / 1e8 truncated toward
// zero, exact 128-bit intermediate; empty when the result does not fit.
[[nodiscard]] constexpr std::optional<UsdFixedPoint8> checked_mul(UsdFixedPoint8 a, UsdFixedPoint8 b) noexcept {
  return detail::usd_from_i128(static_cast<i128>(a.raw) * b.raw / UsdFixedPoint8::kScale);
}
// a / b (e.g. a ratio of two USD values, 8-decimal): (a.raw * 1e8) / b.raw truncated toward zero,
// exact 128-bit intermediate; empty when b is zero or the result does not fit.
[[nodiscard]] constexpr std::optional<UsdFixedPoint8> checked_div(UsdFixedPoint8 a, UsdFixedPoint8 b) noexcept {
  if (b.raw == 0) return std::nullopt;
  return detail::usd_from_i128(static_cast<i128>(a.raw) * UsdFixedPoint8::kScale / b.raw);
}

namespace detail {
// 10^n for n <= 77 (10^77 is the largest power of ten below 2^256).
constexpr U256 pow10_u256(unsigned n) noexcept {
  U256 r = U256::one();
  for (unsigned i = 0; i < n; ++i) r = r * U256(10);
  return r;
}
}  // namespace detail

// The USD value of `raw` base units of a token with `decimals` decimals at `price_per_whole_token`
// USD per whole token: floor(raw * price / 10^decimals), exact (512-bit intermediate via mul_div),
// for every decimals value (0..UINT_MAX). Empty when the result does not fit in UsdFixedPoint8.
// Negative prices round toward negative infinity as well (floor), not toward zero.
[[nodiscard]] constexpr std::optional<UsdFixedPoint8> from_token_amount(const U256& raw, unsigned decimals,
                                                                        UsdFixedPoint8 price_per_whole_token) noexcept {
  const bool negative = price_per_whole_token.raw < 0;
  // |price| as uint64 (exact for INT64_MIN as well).
  const std::uint64_t mag = negative ? 0 - static_cast<std::uint64_t>(price_per_whole_token.raw)
                                     : static_cast<std::uint64_t>(price_per_whole_token.raw);
  const unsigned first = decimals < 77 ? decimals : 77;
  const U256 p = U256(mag);
  // floor(x / (ab)) == floor(floor(x / a) / b) and likewise for ceil, so big powers split cleanly.
  std::optional<U256> q = negative ? mul_div_rounding_up(raw, p, detail::pow10_u256(first))
                                   : mul_div(raw, p, detail::pow10_u256(first));
  if (!q) return std::nullopt;  // quotient >= 2^256: far beyond int64
  if (decimals > 77) {
    const unsigned rest = decimals - 77;
    if (rest > 77) {
      // q < 2^256 < 10^78 <= 10^rest: floor is 0, ceil is 1 unless q is 0.
      *q = (negative && !q->is_zero()) ? U256::one() : U256::zero();
    } else {
      q = negative ? div_rounding_up(*q, detail::pow10_u256(rest)) : checked_div(*q, detail::pow10_u256(rest));
    }
  }
  if (negative) {
    if (*q > U256(1ULL << 63)) return std::nullopt;
    return UsdFixedPoint8{static_cast<std::int64_t>(0 - q->limb[0])};  // two's complement of |v| <= 2^63
  }
  if (*q > U256(static_cast<std::uint64_t>(INT64_MAX))) return std::nullopt;
  return UsdFixedPoint8{static_cast<std::int64_t>(q->limb[0])};
}

// Text: "[-]<digits>.<exactly 8 digits>", e.g. "-12.34000000", "0.00000001", "0.00000000".
// parse() accepts "[-]<digits>[.<1 to 8 digits>]": no '+', no spaces, no exponent, no more than
// 8 fractional digits (rejected rather than rounded), integer part required ("12" ok, ".5" and
// "5." rejected); empty on overflow. parse(to_string(x)) == x for every x.
[[nodiscard]] std::optional<UsdFixedPoint8> parse_usd(std::string_view s) noexcept;
// Non-allocating: writes into [first, last), returns one past the end or nullptr if too small
// (30 chars always suffice). No terminating NUL.
[[nodiscard]] char* to_chars(char* first, char* last, UsdFixedPoint8 v) noexcept;
[[nodiscard]] std::string to_string(UsdFixedPoint8 v);

}  // namespace torq::num
