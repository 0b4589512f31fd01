// torq/executor/scalar.hpp — arithmetic modulo the secp256k1 group order n, for the
// precomputed-nonce signing path (signer.hpp, docs/transactions.md "Precomputed nonces").
//
// Owns the `torq::executor::scalar` functions: reduction of any 256- or 512-bit value mod n,
// modular add / negate / multiply, Fermat inversion (a^(n-2)), the low-s test (s > n/2) and a
// mask select. Values are `num::U256` (four little-endian 64-bit limbs); results are canonical
// (< n). Multiplication reduces with the special form of n: 2^256 ≡ c (mod n) where
// c = 2^256 - n < 2^129, folded three times (512 → 386 → 260 → 256 bits) and then one
// conditional subtraction. Every function has a constant structure: fixed loop counts, no branch
// and no memory index that depends on the values (conditions become masks), so the time does
// not depend on the secret scalars (k^-1, d) that pass through them. Only `inv`'s exponent
// (n - 2) steers its loop, and it is public.
//
// Pure functions: noexcept, constexpr, thread-safe, no allocation.
#pragma once

#include <cstdint>

#include "torq/num/uint256.hpp"

namespace torq::executor::scalar {

using num::U256;

// n = FFFFFFFF FFFFFFFF FFFFFFFF FFFFFFFE BAAEDCE6 AF48A03B BFD25E8C D0364141
inline constexpr U256 kOrder = U256::from_limbs(0xBFD25E8CD0364141ULL, 0xBAAEDCE6AF48A03BULL,
                                                0xFFFFFFFFFFFFFFFEULL, 0xFFFFFFFFFFFFFFFFULL);
// floor(n / 2): the largest low-s value (EIP-2).
inline constexpr U256 kHalfOrder = U256::from_limbs(0xDFE92F46681B20A0ULL, 0x5D576E7357A4501DULL,
                                                    0xFFFFFFFFFFFFFFFFULL, 0x7FFFFFFFFFFFFFFFULL);
// c = 2^256 - n (129 bits): 2^256 ≡ c (mod n).
inline constexpr std::uint64_t kC[3] = {0x402DA1732FC9BEBFULL, 0x4551231950B75FC4ULL, 1ULL};
static_assert(U256::from_limbs(kC[0], kC[1], kC[2], 0) == U256::zero() - kOrder);
static_assert(kHalfOrder == (kOrder >> 1));

namespace detail {

using u128 = unsigned __int128;

// all-ones when `bit` (0 or 1) is 1, zero otherwise.
constexpr std::uint64_t mask_of(std::uint64_t bit) noexcept { return std::uint64_t{0} - bit; }

// acc[0..A) += hi[0..H) * c, where the caller guarantees that the true sum fits in A limbs.
// Row i adds hi[i] * (c0, c1, 1) at limb i and carries to the top: a fixed number of steps.
template <int H, int A>
constexpr void fold(const std::uint64_t* hi, std::uint64_t (&acc)[A]) noexcept {
  static_assert(H + 2 < A);
#pragma GCC unroll 4
  for (int i = 0; i < H; ++i) {
    std::uint64_t carry = 0;
#pragma GCC unroll 3
    for (int j = 0; j < 3; ++j) {
      const u128 t = static_cast<u128>(hi[i]) * kC[j] + acc[i + j] + carry;
      acc[i + j] = static_cast<std::uint64_t>(t);
      carry = static_cast<std::uint64_t>(t >> 64);
    }
#pragma GCC unroll 7
    for (int k = i + 3; k < A; ++k) {
      const u128 t = static_cast<u128>(acc[k]) + carry;
      acc[k] = static_cast<std::uint64_t>(t);
      carry = static_cast<std::uint64_t>(t >> 64);
    }
  }
}

}  // namespace detail

// mask ? a : b, without a branch (mask is all-ones or zero).
[[nodiscard]] constexpr U256 select(std::uint64_t mask, const U256& a, const U256& b) noexcept {
  U256 r;
  for (int i = 0; i < 4; ++i) r.limb[i] = (a.limb[i] & mask) | (b.limb[i] & ~mask);
  return r;
}

// (carry · 2^256 + a) mod n for a value below 2n (carry is 0 or 1).
[[nodiscard]] constexpr U256 reduce_once(const U256& a, std::uint64_t carry) noexcept {
  U256 t;
  const std::uint64_t borrow = num::detail::sub4(a.limb, kOrder.limb, t.limb);
  // a - n is the answer when the value is >= n: a carry out of 2^256, or no borrow.
  return select(detail::mask_of(carry | (borrow ^ 1U)), t, a);
}

// a mod n for any 256-bit a (2^256 < 2n, so one conditional subtraction suffices).
[[nodiscard]] constexpr U256 reduce(const U256& a) noexcept { return reduce_once(a, 0); }

// p mod n for a 512-bit value p[0..8) (little-endian limbs).
[[nodiscard]] constexpr U256 reduce512(const std::uint64_t* p) noexcept {
  // p = hi·2^256 + lo ≡ lo + hi·c: < 2^256 + 2^385, seven limbs.
  std::uint64_t m[7] = {p[0], p[1], p[2], p[3], 0, 0, 0};
  detail::fold<4, 7>(p + 4, m);
  // m = m_hi·2^256 + m_lo with m_hi < 2^130 (three limbs): < 2^256 + 2^259, five limbs.
  std::uint64_t q[6] = {m[0], m[1], m[2], m[3], 0, 0};
  detail::fold<3, 6>(m + 4, q);
  // q_hi = q[4] < 2^4: the result is < 2^256 + 2^133 < 2n — one carry bit and one subtraction.
  std::uint64_t s[5] = {q[0], q[1], q[2], q[3], 0};
  detail::fold<1, 5>(q + 4, s);
  return reduce_once(U256::from_limbs(s[0], s[1], s[2], s[3]), s[4]);
}

// (a + b) mod n for canonical a, b (< n).
[[nodiscard]] constexpr U256 add(const U256& a, const U256& b) noexcept {
  U256 t;
  const std::uint64_t carry = num::detail::add4(a.limb, b.limb, t.limb);
  return reduce_once(t, carry);
}

// (n - a) mod n for canonical a (zero stays zero).
[[nodiscard]] constexpr U256 neg(const U256& a) noexcept {
  U256 t;
  (void)num::detail::sub4(kOrder.limb, a.limb, t.limb);
  const std::uint64_t any = a.limb[0] | a.limb[1] | a.limb[2] | a.limb[3];
  const std::uint64_t nonzero = (any | (std::uint64_t{0} - any)) >> 63;  // 1 iff any != 0
  return select(detail::mask_of(nonzero), t, U256::zero());
}

// (a · b) mod n for any 256-bit a, b (not only canonical ones).
[[nodiscard]] constexpr U256 mul(const U256& a, const U256& b) noexcept {
  std::uint64_t p[8];
  num::detail::mul_full(a, b, p);
  return reduce512(p);
}

// a^-1 mod n by Fermat's little theorem (n is prime): a^(n-2). Zero maps to zero. 256
// squarings and 196 multiplications; meant for the refill thread, not the hot path.
[[nodiscard]] constexpr U256 inv(const U256& a) noexcept {
  constexpr U256 e = kOrder - U256(2);
  const U256 x = reduce(a);
  U256 r = U256::one();
  for (int i = 255; i >= 0; --i) {
    r = mul(r, r);
    if (e.bit(static_cast<unsigned>(i))) r = mul(r, x);  // public exponent bit
  }
  return r;
}

// 1 when s > n/2 (a high s that EIP-2 forbids), else 0, without a branch. s must be canonical.
[[nodiscard]] constexpr std::uint64_t is_high(const U256& s) noexcept {
  U256 t;
  return num::detail::sub4(kHalfOrder.limb, s.limb, t.limb);  // borrow iff s > n/2
}

}  // namespace torq::executor::scalar
