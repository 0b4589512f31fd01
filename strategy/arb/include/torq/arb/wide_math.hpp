// torq/arb/wide_math.hpp — exact wide-integer helpers the arbitrage search needs beyond torq::num.
//
// Owns: U512 (a 512-bit unsigned product of two U256, little-endian limbs) with comparison,
// exact integer square roots `isqrt(U256)`, `isqrt(U512)` and `isqrt_fast(U512)` (floor of the
// real square root, Newton's method from an over-estimate, exact for every input), and `to_double` (nearest-ish
// double of a U256, used only by the conservative prefilter and the search's starting estimate,
// never for a reported amount).
// Pure functions: thread-safe, noexcept, no allocation.
#pragma once

#include <compare>
#include <cstdint>
#include <type_traits>

#include "torq/num/uint256.hpp"

namespace torq::arb {

using num::U256;
using num::u128;

struct U512 {
  std::uint64_t limb[8];  // little-endian
  friend constexpr bool operator==(const U512&, const U512&) noexcept = default;
  friend constexpr std::strong_ordering operator<=>(const U512& a, const U512& b) noexcept {
    for (int i = 7; i >= 0; --i)
      if (a.limb[i] != b.limb[i]) return a.limb[i] < b.limb[i] ? std::strong_ordering::less : std::strong_ordering::greater;
    return std::strong_ordering::equal;
  }
};
static_assert(sizeof(U512) == 64 && std::is_trivially_copyable_v<U512>);

// Full product a * b (never overflows).
[[nodiscard]] constexpr U512 mul_wide(const U256& a, const U256& b) noexcept {
  U512 r{};
  num::detail::mul_full(a, b, r.limb);
  return r;
}

[[nodiscard]] constexpr unsigned bit_length(const U512& v) noexcept {
  for (int i = 7; i >= 0; --i)
    if (v.limb[i] != 0) return static_cast<unsigned>(i) * 64 + 64 - static_cast<unsigned>(__builtin_clzll(v.limb[i]));
  return 0;
}

// floor(n / d) for d != 0 and a quotient known to fit in 256 bits (callers guarantee it).
[[nodiscard]] constexpr U256 div_512_by_256(const U512& n, const U256& d) noexcept {
  const int m = num::detail::significant_limbs(n.limb, 8);
  const int dn = num::detail::significant_limbs(d.limb, 4);
  if (m == 0) return U256::zero();
  std::uint64_t q[8]{};
  if (dn == 1) {
    (void)num::detail::divmod_limb(n.limb, m, d.limb[0], q);
  } else if (m < dn) {
    return U256::zero();
  } else {
    std::uint64_t r[4]{};
    num::detail::divmod_knuth(n.limb, m, d.limb, dn, q, r);
  }
  return U256::from_limbs(q[0], q[1], q[2], q[3]);
}

namespace detail {
// For n of `bits` significant bits (> 104) and x >= sqrt(n): lowers x to just above sqrt(n) when a
// double estimate from n's top three limbs (relative error < 2^-50 each way, so 1 + 2^-40 over it
// is still >= sqrt(n)) is below it; x stays >= sqrt(n).
[[gnu::always_inline]] constexpr void lower_to_sqrt_estimate(const U512& n, unsigned bits, U256& x) noexcept {
  const int top = static_cast<int>((bits - 1) / 64);
  double d = 0;
  for (int i = top; i >= 0 && i >= top - 2; --i) d += __builtin_ldexp(static_cast<double>(n.limb[i]), 64 * i);
  const double r = __builtin_sqrt(d) * (1.0 + 0x1p-40) + 2.0;
  int e = 0;
  const double m = __builtin_frexp(r, &e);
  const U256 est = U256(static_cast<std::uint64_t>(__builtin_ldexp(m, 63)) + 1) << static_cast<unsigned>(e > 63 ? e - 63 : 0);
  if (e > 63 && est < x) x = est;
}
}  // namespace detail

// floor(sqrt(n)) for a 512-bit n; the result always fits in 256 bits.
[[nodiscard]] constexpr U256 isqrt(const U512& n) noexcept {
  const unsigned bits = bit_length(n);
  if (bits == 0) return U256::zero();
  // Start at 2^ceil(bits/2) >= sqrt(n) (capped at 2^256 - 1, still >= floor(sqrt(n))).
  const unsigned half = (bits + 1) / 2;
  if (half >= 256 && n >= mul_wide(U256::max(), U256::max())) return U256::max();
  U256 x = half >= 256 ? U256::max() : U256::pow2(half);
  // Start just above sqrt(n): Newton then needs two or three steps, not ~8.
  if (bits > 104 && half < 255) detail::lower_to_sqrt_estimate(n, bits, x);
  // Newton from above: x_{k+1} = floor((x + n/x) / 2) decreases strictly until x = isqrt(n).
  for (;;) {
    const U256 q = div_512_by_256(n, x);  // x >= sqrt(n) so q <= sqrt(n) < 2^256
    const U256 y = (x >> 1) + (q >> 1) + ((x.limb[0] & q.limb[0] & 1U) ? U256::one() : U256::zero());
    if (y >= x) return x;
    x = y;
  }
}

// floor(sqrt(n)), the same value as isqrt(n), with fewer divisions: from the same over-estimate,
// Newton steps (each >= floor(sqrt(n))) until x * x <= n, which is then exactly floor(sqrt(n));
// the test is a 512-bit multiplication instead of isqrt's confirming division.
[[nodiscard]] constexpr U256 isqrt_fast(const U512& n) noexcept {
  const unsigned bits = bit_length(n);
  if (bits <= 104 || bits >= 509) return isqrt(n);  // small or near 2^512: the plain path
  const unsigned half = (bits + 1) / 2;
  U256 x = U256::pow2(half);  // >= sqrt(n)
  detail::lower_to_sqrt_estimate(n, bits, x);
  for (;;) {
    if (mul_wide(x, x) <= n) return x;  // x >= floor(sqrt(n)) always, so this is it
    const U256 q = div_512_by_256(n, x);
    x = (x >> 1) + (q >> 1) + ((x.limb[0] & q.limb[0] & 1U) ? U256::one() : U256::zero());
  }
}

[[nodiscard]] constexpr U256 isqrt(const U256& n) noexcept {
  U512 w{};
  for (int i = 0; i < 4; ++i) w.limb[i] = n.limb[i];
  return isqrt(w);
}

[[nodiscard]] inline double to_double(const U256& v) noexcept {
  return static_cast<double>(v.limb[3]) * 0x1p192 + static_cast<double>(v.limb[2]) * 0x1p128 +
         static_cast<double>(v.limb[1]) * 0x1p64 + static_cast<double>(v.limb[0]);
}
[[nodiscard]] inline double to_double(u128 v) noexcept {
  return static_cast<double>(static_cast<std::uint64_t>(v >> 64)) * 0x1p64 + static_cast<double>(static_cast<std::uint64_t>(v));
}

}  // namespace torq::arb
