// torq/arb/v3_step_math.hpp — the exact arithmetic of a V3 swap step's partial fill, sized limbs.
//
// Owns the fast paths `v3_segment_swap` uses for the step in which a swap's input runs out (and
// the cached step's lazily computed amounts): the fee-less input `floor(x (1e6 - fee) / 1e6)`
// with a compile-time reciprocal of 1e6 (Möller-Granlund 2-by-1 steps, no hardware division),
// `getAmount1Delta` as a 128 x 192-bit product and a shift (no 512-bit product, no division),
// `getNextSqrtPriceFromAmount0RoundingUp` and `getAmount0Delta` with the (L << 96) * x products
// built from the operands' actual limbs and one long division (no 4 x 4-limb product, no
// power-of-two test), `getNextSqrtPriceFromAmount1RoundingDown`; the long divisions by a
// two-limb divisor (sqrt prices near 2^96, liquidity) keep the partial remainder in registers
// and skip the quotient digits that the caller's bound proves zero (the V2 quote's, and
// getAmount0Delta's first division).
// Each returns false when its operands are outside the sizes it handles; the
// caller then uses the torq::strategy / torq::num function, which every fast path equals for every
// input it accepts (property tests over random and edge-case bit lengths 0-256:
// `arb_sizing_test`, `V3StepMath.*`). Pure functions: thread-safe, noexcept, no allocation.
#pragma once

#include <algorithm>
#include <bit>
#include <cstdint>
#include <utility>

#include "torq/num/uint256.hpp"

namespace torq::arb::v3math {

using num::U256;
using num::u128;

// A single-limb divisor with its normalised 2-by-1 reciprocal, computed once (constexpr).
struct DivConst {
  std::uint64_t d;
  std::uint64_t dn;  // d << s (top bit set)
  std::uint64_t v;   // num::detail::reciprocal_2by1(dn)
  unsigned s;
};
[[nodiscard]] constexpr DivConst make_div_const(std::uint64_t d) noexcept {
  const unsigned s = static_cast<unsigned>(std::countl_zero(d));
  return DivConst{d, d << s, num::detail::reciprocal_2by1(d << s), s};
}
inline constexpr DivConst kFeeDen = make_div_const(1'000'000);

// floor(a * m / c.d) (num::mul_div(a, U256(m), U256(c.d))), for a < 2^224 (the product fits in
// 256 bits); false otherwise.
[[nodiscard]] inline bool mul_div_small(const U256& a, std::uint32_t m, const DivConst& c, U256& q) noexcept {
  if ((a.limb[3] >> 32) != 0) return false;
  std::uint64_t p[4];
  std::uint64_t carry = 0;
  for (int i = 0; i < 4; ++i) {
    const u128 t = static_cast<u128>(a.limb[i]) * m + carry;
    p[i] = static_cast<std::uint64_t>(t);
    carry = static_cast<std::uint64_t>(t >> 64);
  }
  int n = 4;
  while (n > 0 && p[n - 1] == 0) --n;
  std::uint64_t qq[4] = {0, 0, 0, 0};
  const unsigned s = c.s;
  std::uint64_t r = (n > 0 && s != 0) ? p[n - 1] >> (64 - s) : 0;  // < dn
  for (int i = n - 1; i >= 0; --i) {
    const std::uint64_t w = (p[i] << s) | (s != 0 && i > 0 ? p[i - 1] >> (64 - s) : 0);
    qq[i] = num::detail::div2by1(r, w, c.dn, c.v, r);
  }
  q = U256::from_limbs(qq[0], qq[1], qq[2], qq[3]);
  return true;
}

namespace detail {
// p[0..5) = L * x for x < 2^192 (a 128 x 192-bit product; x's top limb is not read).
inline void l_times_192(u128 liquidity, const U256& x, std::uint64_t* p) noexcept {
  const std::uint64_t l0 = static_cast<std::uint64_t>(liquidity), l1 = static_cast<std::uint64_t>(liquidity >> 64);
  u128 t = static_cast<u128>(l0) * x.limb[0];
  p[0] = static_cast<std::uint64_t>(t);
  t = (t >> 64) + static_cast<u128>(l0) * x.limb[1];
  p[1] = static_cast<std::uint64_t>(t);
  t = (t >> 64) + static_cast<u128>(l0) * x.limb[2];
  p[2] = static_cast<std::uint64_t>(t);
  p[3] = static_cast<std::uint64_t>(t >> 64);
  t = static_cast<u128>(l1) * x.limb[0] + p[1];
  p[1] = static_cast<std::uint64_t>(t);
  t = (t >> 64) + static_cast<u128>(l1) * x.limb[1] + p[2];
  p[2] = static_cast<std::uint64_t>(t);
  t = (t >> 64) + static_cast<u128>(l1) * x.limb[2] + p[3];
  p[3] = static_cast<std::uint64_t>(t);
  p[4] = static_cast<std::uint64_t>(t >> 64);
}
}  // namespace detail

// getAmount1Delta(a, b, L, round_up) = L |b - a| / 2^96 (rounded), for |b - a| < 2^192; false
// otherwise. Equal to strategy::get_amount1_delta for every accepted input.
[[nodiscard]] inline bool amount1_delta(const U256& a, const U256& b, u128 liquidity, bool round_up, U256& out) noexcept {
  const U256 diff = a > b ? a - b : b - a;
  if (diff.limb[3] != 0) return false;
  std::uint64_t p[5];  // L * diff
  detail::l_times_192(liquidity, diff, p);
  U256 q = U256::from_limbs((p[1] >> 32) | (p[2] << 32), (p[2] >> 32) | (p[3] << 32), (p[3] >> 32) | (p[4] << 32),
                            p[4] >> 32);
  if (round_up && (p[0] != 0 || (p[1] & 0xFFFFFFFFULL) != 0)) q = q + U256::one();  // q < 2^224: no wrap
  out = q;
  return true;
}

namespace detail {
// u[0..7) = (L * x) << 96 for x < 2^192 (a 128 x 192-bit product, 5 limbs, shifted by 96 bits).
inline void l_q96_times(u128 liquidity, const U256& x, std::uint64_t* u) noexcept {
  std::uint64_t p[5];
  l_times_192(liquidity, x, p);
  // << 96 = one limb and 32 bits.
  u[0] = 0;
  u[1] = p[0] << 32;
  u[2] = (p[1] << 32) | (p[0] >> 32);
  u[3] = (p[2] << 32) | (p[1] >> 32);
  u[4] = (p[3] << 32) | (p[2] >> 32);
  u[5] = (p[4] << 32) | (p[3] >> 32);
  u[6] = p[4] >> 32;
}
// x >> (64 - s) and x << (64 - s) for 0 <= s < 64, 0 when s == 0 (two shifts, no branch).
inline std::uint64_t bits_out(std::uint64_t x, unsigned s) noexcept { return (x >> 1) >> (63 - s); }
inline std::uint64_t bits_in(std::uint64_t x, unsigned s) noexcept { return (x << 1) << (63 - s); }
// Digit i (0..m) of u[0..m) << s (digit m holds the bits shifted out of u[m-1]).
inline std::uint64_t shifted_digit(const std::uint64_t* u, int m, unsigned s, int i) noexcept {
  return (i < m ? u[i] << s : 0) | (i > 0 ? bits_out(u[i - 1], s) : 0);
}

// u[0..m) / (d1:d0) for d1 != 0, m >= 2 and a quotient known to be below 2^(64 qd) (0 <= qd <=
// m - 1; qd = m - 1 always holds): quotient digits to q[0..qd) (q[qd..m) untouched), remainder to
// (rem1:rem0). Schoolbook division with the Möller-Granlund 3-by-2 step, the partial remainder
// kept in two registers (num::detail::divmod_pi's n == 2 case without its generic limb arrays).
// The digits above qd are zero, and the partial remainder before digit qd - 1 is u >> 64 qd
// (< d by the bound): it starts there, so a quotient bound of k limbs costs k steps.
inline void divmod_by_2limbs(const std::uint64_t* u, int m, int qd, std::uint64_t d1, std::uint64_t d0,
                             std::uint64_t* q, std::uint64_t& rem1, std::uint64_t& rem0) noexcept {
  const unsigned s = static_cast<unsigned>(std::countl_zero(d1));
  const std::uint64_t dn1 = (d1 << s) | bits_out(d0, s);
  const std::uint64_t dn0 = d0 << s;
  const std::uint64_t v = num::detail::reciprocal_3by2(dn1, dn0);
  // Digit i (0..m-1) of the normalised dividend; digit m is the bits shifted out of u[m-1].
  const auto digit = [u, s](int i) noexcept { return (u[i] << s) | (i > 0 ? bits_out(u[i - 1], s) : 0); };
  std::uint64_t r1 = shifted_digit(u, m, s, qd + 1);  // (r1:r0) = (u >> 64 qd) << s < (dn1:dn0)
  std::uint64_t r0 = shifted_digit(u, m, s, qd);
  for (int j = qd - 1; j >= 0; --j) q[j] = num::detail::div3by2(r1, r0, digit(j), dn1, dn0, v, r1, r0);
  rem0 = (r0 >> s) | bits_in(r1, s);
  rem1 = r1 >> s;
}

// u[0..m) / d for m <= 8, d != 0 and a quotient < 2^(64 max_q) with max_q <= 4 (the callers'
// bounds; a tighter max_q only skips quotient digits known to be zero): quotient, and whether the
// remainder is non-zero.
inline U256 divide(const std::uint64_t* u, int m, const U256& d, bool& rem_nonzero, int max_q = 4) noexcept {
  while (m > 0 && u[m - 1] == 0) --m;
  const int n = num::detail::significant_limbs(d.limb, 4);
  std::uint64_t q[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  if (m < n || m == 0) {  // u < d
    rem_nonzero = m != 0;
    return U256::zero();
  }
  if (n == 1) {
    rem_nonzero = num::detail::divmod_limb_pi(u, m, d.limb[0], q) != 0;
  } else if (n == 2) {
    std::uint64_t r1 = 0, r0 = 0;
    divmod_by_2limbs(u, m, std::min(m - 1, max_q), d.limb[1], d.limb[0], q, r1, r0);
    rem_nonzero = (r1 | r0) != 0;
  } else {  // 3-4 limbs: hardware divq per digit (the 3-by-2 step measured slower there, docs/strategy.md)
    U256 r = U256::zero();
    num::detail::divmod_knuth(u, m, d.limb, n, q, r.limb);
    rem_nonzero = !r.is_zero();
  }
  return U256::from_limbs(q[0], q[1], q[2], q[3]);
}
inline U256 div7(const std::uint64_t* u, const U256& d, bool& rem_nonzero, int max_q = 4) noexcept {
  return divide(u, 7, d, rem_nonzero, max_q);
}
// Limbs of x (1..4 for x != 0).
inline int limbs_of(const U256& x) noexcept { return num::detail::significant_limbs(x.limb, 4); }
}  // namespace detail

// getNextSqrtPriceFromAmount0RoundingUp(sqrtP, L, amount, add = true) =
// ceil((L << 96) sqrtP / ((L << 96) + amount sqrtP)) for sqrtP < 2^192, L != 0 and amount sqrtP +
// (L << 96) < 2^256 (the Solidity formula's main branch); false otherwise.
[[nodiscard]] inline bool next_sqrt_from_amount0_add(const U256& sqrt_px96, u128 liquidity, const U256& amount,
                                                     U256& out) noexcept {
  if (liquidity == 0 || sqrt_px96.limb[3] != 0 || sqrt_px96.is_zero() || amount.is_zero()) return false;
  U256 product;
  if (num::mul_overflow(amount, sqrt_px96, product)) return false;
  const U256 numerator1 = U256::from_u128(liquidity) << 96;
  U256 denominator;
  if (num::add_overflow(numerator1, product, denominator)) return false;
  std::uint64_t u[7];
  detail::l_q96_times(liquidity, sqrt_px96, u);
  bool rem = false;
  // q <= sqrtP (the denominator is at least L << 96): as many limbs as sqrtP; + 1 cannot wrap.
  U256 q = detail::div7(u, denominator, rem, detail::limbs_of(sqrt_px96));
  if (rem) q = q + U256::one();
  out = q;
  return true;
}

// getAmount0Delta(a, b, L, round_up) = (L << 96) (b - a) / b / a (each division rounded), prices
// in either order, for 0 < a, b < 2^192; false otherwise.
[[nodiscard]] inline bool amount0_delta(U256 a, U256 b, u128 liquidity, bool round_up, U256& out) noexcept {
  if (a > b) std::swap(a, b);
  if (a.is_zero() || b.limb[3] != 0) return false;
  std::uint64_t u[7];
  detail::l_q96_times(liquidity, b - a, u);
  bool rem = false;
  // q < L << 96 < 2^224 (b - a < b): at most ceil((bits(L) + 96) / 64) limbs.
  const int l_bits = 128 - (liquidity >> 64 != 0 ? std::countl_zero(static_cast<std::uint64_t>(liquidity >> 64))
                                                 : 64 + std::countl_zero(static_cast<std::uint64_t>(liquidity)));
  U256 q = detail::div7(u, b, rem, (l_bits + 96 + 63) / 64);
  if (round_up && rem) q = q + U256::one();
  bool rem2 = false;
  U256 q2 = detail::divide(q.limb, 4, a, rem2);
  if (round_up && rem2) q2 = q2 + U256::one();
  out = q2;
  return true;
}

// getNextSqrtPriceFromAmount1RoundingDown(sqrtP, L, amount, add = true) = sqrtP + (amount << 96) / L
// for L != 0, amount < 2^160 and a result < 2^160; false otherwise (the caller then uses the
// general function, which also gives the error of a result >= 2^160).
[[nodiscard]] inline bool next_sqrt_from_amount1_add(const U256& sqrt_px96, u128 liquidity, const U256& amount,
                                                     U256& out) noexcept {
  if (liquidity == 0 || !amount.fits_u160()) return false;
  const U256 shifted = amount << 96;
  bool rem = false;
  const U256 quotient = detail::divide(shifted.limb, 4, U256::from_u128(liquidity), rem);
  U256 sum;
  if (num::add_overflow(sqrt_px96, quotient, sum) || !sum.fits_u160()) return false;
  out = sum;
  return true;
}

// a / b for b != 0 (num::divmod's quotient), with the sized division above; max_q as in
// detail::divide (a / b < 2^(64 max_q)).
[[nodiscard]] inline U256 div(const U256& a, const U256& b, int max_q = 4) noexcept {
  bool rem = false;
  return detail::divide(a.limb, 4, b, rem, max_q);
}

}  // namespace torq::arb::v3math
