// torq/num/uint256.hpp — exact 256-bit integers for token amounts and AMM math.
//
// Owns `torq::num::U256` (unsigned, wrapping modulo 2^256 unless a checked function is used) and
// `torq::num::I256` (two's complement over the same four limbs, Solidity int256 semantics).
// Both are plain values: four little-endian 64-bit limbs (limb[0] least significant), trivially
// copyable, standard layout, 32 bytes — the exact in-memory layout Protocol V2 TLVs put on the
// wire. Every function here is noexcept, constexpr where the language allows, thread-safe (no
// shared state) and does not allocate; only the string functions declared at the end
// (to_string / to_hex / I256 to_string) allocate a std::string. Failures are return values: a
// `true` overflow flag from *_overflow, or an empty std::optional; nothing here is UB for any
// input (division by zero, shifts >= 256, INT256_MIN negation all have defined results).
//
// Semantics follow the EVM / Solidity: `mul_div` and `mul_div_rounding_up` match Uniswap's
// FullMath.mulDiv / mulDivRoundingUp bit for bit (512-bit intermediate; empty when the
// denominator is 0 or the result does not fit in 256 bits). See docs/numbers.md.
#pragma once

#include <array>
#include <bit>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>

#if defined(__x86_64__)
#include <immintrin.h>  // _addcarry_u64 / _subborrow_u64: straight adc / sbb chains
#endif

namespace torq::num {

__extension__ typedef unsigned __int128 u128;
__extension__ typedef __int128 i128;

struct U256 {
  std::uint64_t limb[4];  // little-endian: limb[0] is the least significant 64 bits

  U256() = default;  // trivial: `U256 x;` is uninitialised, `U256 x{};` is zero
  constexpr explicit U256(std::uint64_t v) noexcept : limb{v, 0, 0, 0} {}

  [[nodiscard]] static constexpr U256 from_limbs(std::uint64_t l0, std::uint64_t l1, std::uint64_t l2,
                                                 std::uint64_t l3) noexcept {
    U256 r;
    r.limb[0] = l0;
    r.limb[1] = l1;
    r.limb[2] = l2;
    r.limb[3] = l3;
    return r;
  }
  [[nodiscard]] static constexpr U256 from_u128(u128 v) noexcept {
    return from_limbs(static_cast<std::uint64_t>(v), static_cast<std::uint64_t>(v >> 64), 0, 0);
  }
  [[nodiscard]] static constexpr U256 zero() noexcept { return from_limbs(0, 0, 0, 0); }
  [[nodiscard]] static constexpr U256 one() noexcept { return from_limbs(1, 0, 0, 0); }
  [[nodiscard]] static constexpr U256 max() noexcept { return from_limbs(~0ULL, ~0ULL, ~0ULL, ~0ULL); }
  // 2^n for n < 256; zero for n >= 256.
  [[nodiscard]] static constexpr U256 pow2(unsigned n) noexcept {
    U256 r = zero();
    if (n < 256) r.limb[n / 64] = 1ULL << (n % 64);
    return r;
  }

  [[nodiscard]] constexpr bool is_zero() const noexcept { return (limb[0] | limb[1] | limb[2] | limb[3]) == 0; }
  [[nodiscard]] constexpr unsigned countl_zero() const noexcept {
    for (int i = 3; i >= 0; --i)
      if (limb[i] != 0) return static_cast<unsigned>((3 - i) * 64 + std::countl_zero(limb[i]));
    return 256;
  }
  [[nodiscard]] constexpr unsigned countr_zero() const noexcept {
    for (int i = 0; i < 4; ++i)
      if (limb[i] != 0) return static_cast<unsigned>(i * 64 + std::countr_zero(limb[i]));
    return 256;
  }
  // Number of significant bits: 0 for zero, 256 for values >= 2^255.
  [[nodiscard]] constexpr unsigned bit_length() const noexcept { return 256 - countl_zero(); }
  [[nodiscard]] constexpr bool bit(unsigned n) const noexcept {
    return n < 256 && ((limb[n / 64] >> (n % 64)) & 1U) != 0;
  }

  [[nodiscard]] constexpr bool fits_u64() const noexcept { return (limb[1] | limb[2] | limb[3]) == 0; }
  [[nodiscard]] constexpr bool fits_u128() const noexcept { return (limb[2] | limb[3]) == 0; }
  [[nodiscard]] constexpr bool fits_u160() const noexcept { return limb[3] == 0 && (limb[2] >> 32) == 0; }
  // Truncating accessors (the low bits); pair with fits_*() to convert safely.
  [[nodiscard]] constexpr std::uint64_t low_u64() const noexcept { return limb[0]; }
  [[nodiscard]] constexpr u128 low_u128() const noexcept { return (static_cast<u128>(limb[1]) << 64) | limb[0]; }
  [[nodiscard]] constexpr std::optional<std::uint64_t> to_u64() const noexcept {
    if (!fits_u64()) return std::nullopt;
    return limb[0];
  }
  [[nodiscard]] constexpr std::optional<u128> to_u128() const noexcept {
    if (!fits_u128()) return std::nullopt;
    return low_u128();
  }

  // Text (defined in uint256.cpp; see parse_u256 / to_chars_dec below for the exact grammar).
  [[nodiscard]] static std::optional<U256> parse(std::string_view s) noexcept;
  [[nodiscard]] std::string to_string() const;  // decimal
  [[nodiscard]] std::string to_hex() const;     // "0x" + minimal lowercase hex, "0x0" for zero

  friend constexpr bool operator==(const U256&, const U256&) noexcept = default;
  friend constexpr std::strong_ordering operator<=>(const U256& a, const U256& b) noexcept {
    for (int i = 3; i >= 0; --i)
      if (a.limb[i] != b.limb[i]) return a.limb[i] < b.limb[i] ? std::strong_ordering::less : std::strong_ordering::greater;
    return std::strong_ordering::equal;
  }
};

static_assert(sizeof(U256) == 32, "U256 is 32 bytes on the wire");
static_assert(alignof(U256) == 8);
static_assert(std::is_trivially_copyable_v<U256>);
static_assert(std::is_trivially_default_constructible_v<U256>);
static_assert(std::is_standard_layout_v<U256>);
static_assert(offsetof(U256, limb) == 0);

// ---------------------------------------------------------------------------------------------
// Low-level helpers (limb arithmetic). Public for the tests and for torq/num/usd_fixed.hpp.
namespace detail {

// a + b + carry_in (carry 0 or 1); returns the low 64 bits and sets carry to the carry out.
constexpr std::uint64_t addc(std::uint64_t a, std::uint64_t b, std::uint64_t& carry) noexcept {
  const u128 s = static_cast<u128>(a) + b + carry;
  carry = static_cast<std::uint64_t>(s >> 64);
  return static_cast<std::uint64_t>(s);
}
// a - b - borrow_in (borrow 0 or 1); returns the low 64 bits and sets borrow to the borrow out.
constexpr std::uint64_t subb(std::uint64_t a, std::uint64_t b, std::uint64_t& borrow) noexcept {
  const u128 d = static_cast<u128>(a) - b - borrow;
  borrow = static_cast<std::uint64_t>(d >> 64) & 1U;
  return static_cast<std::uint64_t>(d);
}

// (hi:lo) / d for hi < d (so the quotient fits in 64 bits); the remainder goes to rem.
constexpr std::uint64_t div128by64(std::uint64_t hi, std::uint64_t lo, std::uint64_t d, std::uint64_t& rem) noexcept {
#if defined(__x86_64__)
  if (!std::is_constant_evaluated()) {
    std::uint64_t q, r;
    __asm__("divq %[d]" : "=a"(q), "=d"(r) : [d] "r"(d), "a"(lo), "d"(hi) : "cc");
    rem = r;
    return q;
  }
#endif
  const u128 n = (static_cast<u128>(hi) << 64) | lo;
  const u128 q = n / d;
  rem = static_cast<std::uint64_t>(n - q * d);
  return static_cast<std::uint64_t>(q);
}

// r = a + b (kSub false: returns the carry out) or r = a - b (kSub true: returns the borrow out)
// over four limbs; r may alias a or b. One body for both so the adc and sbb chains stay alike.
template <bool kSub>
constexpr std::uint64_t addsub4(const std::uint64_t* a, const std::uint64_t* b, std::uint64_t* r) noexcept {
#if defined(__x86_64__)
  if (!std::is_constant_evaluated()) {
    const auto step = [](unsigned char c, unsigned long long x, unsigned long long y, unsigned long long* out) {
      if constexpr (kSub) return _subborrow_u64(c, x, y, out);
      else return _addcarry_u64(c, x, y, out);
    };
    unsigned long long t0, t1, t2, t3;
    unsigned char c = step(0, a[0], b[0], &t0);
    c = step(c, a[1], b[1], &t1);
    c = step(c, a[2], b[2], &t2);
    c = step(c, a[3], b[3], &t3);
    r[0] = t0;
    r[1] = t1;
    r[2] = t2;
    r[3] = t3;
    return c;
  }
#endif
  std::uint64_t c = 0;
  for (int i = 0; i < 4; ++i) r[i] = kSub ? subb(a[i], b[i], c) : addc(a[i], b[i], c);
  return c;
}
// r = a + b over four limbs; returns the carry out. r may alias a or b.
constexpr std::uint64_t add4(const std::uint64_t* a, const std::uint64_t* b, std::uint64_t* r) noexcept {
  return addsub4<false>(a, b, r);
}
// r = a - b over four limbs; returns the borrow out. r may alias a or b.
constexpr std::uint64_t sub4(const std::uint64_t* a, const std::uint64_t* b, std::uint64_t* r) noexcept {
  return addsub4<true>(a, b, r);
}

// Number of significant limbs (0 for an all-zero array).
constexpr int significant_limbs(const std::uint64_t* p, int n) noexcept {
  while (n > 0 && p[n - 1] == 0) --n;
  return n;
}

// u[0..m) / d (single limb, d != 0): quotient to q[0..m), returns the remainder. q may alias u.
constexpr std::uint64_t divmod_limb(const std::uint64_t* u, int m, std::uint64_t d, std::uint64_t* q) noexcept {
  std::uint64_t r = 0;
  for (int i = m - 1; i >= 0; --i) q[i] = div128by64(r, u[i], d, r);
  return r;
}

// Knuth, TAOCP vol. 2, 4.3.1 Algorithm D with 64-bit digits and one hardware `divq` per quotient
// digit: the previous implementation, kept as the benchmark peer and as a second oracle in the
// tests (divmod_knuth below is the production path).
// Preconditions: 2 <= n <= 4, n <= m <= 8, v[n-1] != 0. Writes q[0..m-n] and r[0..n).
constexpr void divmod_knuth_divq(const std::uint64_t* u, int m, const std::uint64_t* v, int n, std::uint64_t* q,
                            std::uint64_t* r) noexcept {
  const int s = std::countl_zero(v[n - 1]);  // normalise so the divisor's top bit is set
  std::uint64_t vn[4]{};
  std::uint64_t un[9]{};
  for (int i = n - 1; i > 0; --i) vn[i] = (v[i] << s) | (s != 0 ? v[i - 1] >> (64 - s) : 0);
  vn[0] = v[0] << s;
  un[m] = s != 0 ? u[m - 1] >> (64 - s) : 0;
  for (int i = m - 1; i > 0; --i) un[i] = (u[i] << s) | (s != 0 ? u[i - 1] >> (64 - s) : 0);
  un[0] = u[0] << s;

  const std::uint64_t vtop = vn[n - 1];
  const std::uint64_t vnext = vn[n - 2];
  for (int j = m - n; j >= 0; --j) {
    // Estimate qhat from the top two dividend digits and the top divisor digit.
    std::uint64_t qhat = 0;
    std::uint64_t rhat = 0;
    bool rhat_big = false;  // rhat >= 2^64: the correction test can never succeed
    if (un[j + n] >= vtop) {  // invariant gives un[j+n] == vtop here
      qhat = ~0ULL;
      const u128 t = static_cast<u128>(un[j + n - 1]) + vtop;
      rhat = static_cast<std::uint64_t>(t);
      rhat_big = (t >> 64) != 0;
    } else {
      qhat = div128by64(un[j + n], un[j + n - 1], vtop, rhat);
    }
    while (!rhat_big && static_cast<u128>(qhat) * vnext > ((static_cast<u128>(rhat) << 64) | un[j + n - 2])) {
      --qhat;
      const u128 t = static_cast<u128>(rhat) + vtop;
      rhat = static_cast<std::uint64_t>(t);
      rhat_big = (t >> 64) != 0;
    }
    // Multiply and subtract: un[j..j+n] -= qhat * vn[0..n).
    std::uint64_t mul_carry = 0;
    std::uint64_t borrow = 0;
    for (int i = 0; i < n; ++i) {
      const u128 p = static_cast<u128>(qhat) * vn[i] + mul_carry;
      mul_carry = static_cast<std::uint64_t>(p >> 64);
      un[i + j] = subb(un[i + j], static_cast<std::uint64_t>(p), borrow);
    }
    un[j + n] = subb(un[j + n], mul_carry, borrow);
    if (borrow != 0) {  // qhat was one too large (probability ~2/2^64): add the divisor back
      --qhat;
      std::uint64_t c = 0;
      for (int i = 0; i < n; ++i) un[i + j] = addc(un[i + j], vn[i], c);
      un[j + n] += c;
    }
    q[j] = qhat;
  }
  for (int i = 0; i < n; ++i) r[i] = (un[i] >> s) | (s != 0 ? un[i + 1] << (64 - s) : 0);
}

// Möller & Granlund, "Improved division by invariant integers" (IEEE TC 2011). A division by a
// normalised divisor (top bit set) becomes multiplications by a precomputed reciprocal; the
// reciprocal costs one hardware division, every quotient digit after that costs none.

// Algorithm 3 (via divq): v = floor((2^128 - 1) / d) - 2^64 for a normalised d.
constexpr std::uint64_t reciprocal_2by1(std::uint64_t d) noexcept {
  std::uint64_t r = 0;
  return div128by64(~d, ~0ULL, d, r);  // ~d < d because the top bit of d is set
}

// Algorithm 4: (u1:u0) / d for a normalised d with u1 < d, v = reciprocal_2by1(d).
constexpr std::uint64_t div2by1(std::uint64_t u1, std::uint64_t u0, std::uint64_t d, std::uint64_t v,
                                std::uint64_t& rem) noexcept {
  u128 q = static_cast<u128>(v) * u1;
  q += (static_cast<u128>(u1) << 64) | u0;
  std::uint64_t q1 = static_cast<std::uint64_t>(q >> 64) + 1;
  const std::uint64_t q0 = static_cast<std::uint64_t>(q);
  std::uint64_t r = u0 - q1 * d;
  if (r > q0) {
    --q1;
    r += d;
  }
  if (r >= d) {  // unlikely
    ++q1;
    r -= d;
  }
  rem = r;
  return q1;
}

// Algorithm 6: reciprocal of the normalised two-word divisor (d1:d0) for div3by2:
// floor((2^192 - 1) / (d1:d0)) - 2^64.
constexpr std::uint64_t reciprocal_3by2(std::uint64_t d1, std::uint64_t d0) noexcept {
  std::uint64_t v = reciprocal_2by1(d1);
  std::uint64_t p = d1 * v;
  p += d0;
  if (p < d0) {  // carry
    --v;
    if (p >= d1) {
      --v;
      p -= d1;
    }
    p -= d1;
  }
  const u128 t = static_cast<u128>(v) * d0;
  const std::uint64_t t1 = static_cast<std::uint64_t>(t >> 64);
  const std::uint64_t t0 = static_cast<std::uint64_t>(t);
  p += t1;
  if (p < t1) {  // carry
    --v;
    if (p > d1 || (p == d1 && t0 >= d0)) --v;
  }
  return v;
}

// Algorithm 5: (u2:u1:u0) / (d1:d0) for a normalised divisor and (u2:u1) < (d1:d0); the
// quotient is returned (it fits in one word), the remainder goes to (r1:r0).
constexpr std::uint64_t div3by2(std::uint64_t u2, std::uint64_t u1, std::uint64_t u0, std::uint64_t d1,
                                std::uint64_t d0, std::uint64_t v, std::uint64_t& r1, std::uint64_t& r0) noexcept {
  u128 q = static_cast<u128>(v) * u2;
  q += (static_cast<u128>(u2) << 64) | u1;  // mod 2^128
  std::uint64_t q1 = static_cast<std::uint64_t>(q >> 64);
  const std::uint64_t q0 = static_cast<std::uint64_t>(q);
  const std::uint64_t rr1 = u1 - q1 * d1;
  const u128 d = (static_cast<u128>(d1) << 64) | d0;
  u128 r = ((static_cast<u128>(rr1) << 64) | u0) - static_cast<u128>(d0) * q1 - d;  // mod 2^128
  ++q1;
  if (static_cast<std::uint64_t>(r >> 64) >= q0) {
    --q1;
    r += d;
  }
  if (r >= d) {  // unlikely
    ++q1;
    r -= d;
  }
  r1 = static_cast<std::uint64_t>(r >> 64);
  r0 = static_cast<std::uint64_t>(r);
  return q1;
}

// Schoolbook long division with the 3-by-2 step (the estimate from the top three dividend words
// and the top two divisor words is the true digit or one above it; one add-back fixes the
// latter). Same contract as divmod_knuth_divq: 2 <= n <= 4, n <= m <= 8, v[n-1] != 0; writes
// q[0..m-n] and r[0..n). Bit-identical results; one hardware division per call instead of one
// per quotient digit.
constexpr void divmod_pi(const std::uint64_t* u, int m, const std::uint64_t* v, int n, std::uint64_t* q,
                         std::uint64_t* r) noexcept {
  const int s = std::countl_zero(v[n - 1]);
  std::uint64_t vn[4]{};
  std::uint64_t un[9]{};
  for (int i = n - 1; i > 0; --i) vn[i] = (v[i] << s) | (s != 0 ? v[i - 1] >> (64 - s) : 0);
  vn[0] = v[0] << s;
  un[m] = s != 0 ? u[m - 1] >> (64 - s) : 0;
  for (int i = m - 1; i > 0; --i) un[i] = (u[i] << s) | (s != 0 ? u[i - 1] >> (64 - s) : 0);
  un[0] = u[0] << s;

  const std::uint64_t d1 = vn[n - 1];
  const std::uint64_t d0 = vn[n - 2];
  const std::uint64_t dinv = reciprocal_3by2(d1, d0);
  for (int j = m - n; j >= 0; --j) {
    // Invariant: the partial remainder un[j+1..j+n] < vn, so (un[j+n]:un[j+n-1]) <= (d1:d0).
    const std::uint64_t n2 = un[j + n];
    const std::uint64_t n1 = un[j + n - 1];
    std::uint64_t qhat = 0;
    if (n2 == d1 && n1 == d0) {
      // The digit is exactly 2^64 - 1: the partial remainder R is below 2^64 vn and at least
      // (2^64 - 1) vn because the dropped low divisor words are worth less than one unit.
      qhat = ~0ULL;
      std::uint64_t mul_carry = 0;
      std::uint64_t borrow = 0;
      for (int i = 0; i < n; ++i) {
        const u128 p = static_cast<u128>(qhat) * vn[i] + mul_carry;
        mul_carry = static_cast<std::uint64_t>(p >> 64);
        un[i + j] = subb(un[i + j], static_cast<std::uint64_t>(p), borrow);
      }
      un[j + n] = subb(un[j + n], mul_carry, borrow);
    } else {
      std::uint64_t r1 = 0, r0 = 0;
      qhat = div3by2(n2, n1, un[j + n - 2], d1, d0, dinv, r1, r0);
      // (r1:r0:un[j+n-3..j]) -= qhat * vn[0..n-2)
      std::uint64_t mul_carry = 0;
      std::uint64_t borrow = 0;
      for (int i = 0; i < n - 2; ++i) {
        const u128 p = static_cast<u128>(qhat) * vn[i] + mul_carry;
        mul_carry = static_cast<std::uint64_t>(p >> 64);
        un[i + j] = subb(un[i + j], static_cast<std::uint64_t>(p), borrow);
      }
      r0 = subb(r0, mul_carry, borrow);
      r1 = subb(r1, 0, borrow);
      if (borrow != 0) {  // the estimate was one too large: add the divisor back
        --qhat;
        std::uint64_t c = 0;
        for (int i = 0; i < n - 2; ++i) un[i + j] = addc(un[i + j], vn[i], c);
        r0 = addc(r0, d0, c);
        r1 = addc(r1, d1, c);  // the carry out cancels the borrow
      }
      un[j + n - 2] = r0;
      un[j + n - 1] = r1;
      un[j + n] = 0;
    }
    q[j] = qhat;
  }
  for (int i = 0; i < n; ++i) r[i] = (un[i] >> s) | (s != 0 ? un[i + 1] << (64 - s) : 0);
}

// The production long division: measured in bench_num on this host, the 3-by-2 step wins for
// 2-word (65..128-bit) divisors (1.3x) and loses slightly for 3- and 4-word divisors (hardware
// divq is fast there and the 3-by-2 step has more multiplications), so it is used for n == 2.
// Same contract and bit-identical results as both implementations.
constexpr void divmod_knuth(const std::uint64_t* u, int m, const std::uint64_t* v, int n, std::uint64_t* q,
                            std::uint64_t* r) noexcept {
  if (n == 2) {
    divmod_pi(u, m, v, n, q, r);
  } else {
    divmod_knuth_divq(u, m, v, n, q, r);
  }
}

// u[0..m) / d for a single-word d != 0 with the 2-by-1 reciprocal step: quotient to q[0..m)
// (q may alias u), returns the remainder. One hardware division (the reciprocal) per call.
constexpr std::uint64_t divmod_limb_pi(const std::uint64_t* u, int m, std::uint64_t d, std::uint64_t* q) noexcept {
  if (m <= 1) return divmod_limb(u, m, d, q);
  const int s = std::countl_zero(d);
  const std::uint64_t dn = d << s;
  const std::uint64_t v = reciprocal_2by1(dn);
  std::uint64_t r = s != 0 ? u[m - 1] >> (64 - s) : 0;  // < dn
  for (int i = m - 1; i >= 0; --i) {
    const std::uint64_t w = (u[i] << s) | (s != 0 && i > 0 ? u[i - 1] >> (64 - s) : 0);
    q[i] = div2by1(r, w, dn, v, r);
  }
  return r >> s;
}

// Full 256 x 256 -> 512-bit product, little-endian limbs in p[0..8).
constexpr void mul_full(const U256& a, const U256& b, std::uint64_t* p) noexcept {
  for (int i = 0; i < 8; ++i) p[i] = 0;
#pragma GCC unroll 4
  for (int i = 0; i < 4; ++i) {
    std::uint64_t carry = 0;
#pragma GCC unroll 4
    for (int j = 0; j < 4; ++j) {
      const u128 t = static_cast<u128>(a.limb[i]) * b.limb[j] + p[i + j] + carry;
      p[i + j] = static_cast<std::uint64_t>(t);
      carry = static_cast<std::uint64_t>(t >> 64);
    }
    p[i + 4] = carry;
  }
}

}  // namespace detail

// ---------------------------------------------------------------------------------------------
// Wrapping arithmetic (mod 2^256), like Solidity `unchecked { }`.

[[nodiscard]] constexpr U256 operator+(const U256& a, const U256& b) noexcept {
  U256 r;
  (void)detail::add4(a.limb, b.limb, r.limb);
  return r;
}
[[nodiscard]] constexpr U256 operator-(const U256& a, const U256& b) noexcept {
  U256 r;
  (void)detail::sub4(a.limb, b.limb, r.limb);
  return r;
}
[[nodiscard]] constexpr U256 operator*(const U256& a, const U256& b) noexcept {
  // Schoolbook, only the partial products below 2^256 (10 multiplications).
  U256 r = U256::zero();
#pragma GCC unroll 4
  for (int i = 0; i < 4; ++i) {
    std::uint64_t carry = 0;
#pragma GCC unroll 4
    for (int j = 0; i + j < 4; ++j) {
      const u128 t = static_cast<u128>(a.limb[i]) * b.limb[j] + r.limb[i + j] + carry;
      r.limb[i + j] = static_cast<std::uint64_t>(t);
      carry = static_cast<std::uint64_t>(t >> 64);
    }
  }
  return r;
}
[[nodiscard]] constexpr U256 operator-(const U256& a) noexcept { return U256::zero() - a; }

[[nodiscard]] constexpr U256 operator~(const U256& a) noexcept {
  return U256::from_limbs(~a.limb[0], ~a.limb[1], ~a.limb[2], ~a.limb[3]);
}
[[nodiscard]] constexpr U256 operator&(const U256& a, const U256& b) noexcept {
  return U256::from_limbs(a.limb[0] & b.limb[0], a.limb[1] & b.limb[1], a.limb[2] & b.limb[2], a.limb[3] & b.limb[3]);
}
[[nodiscard]] constexpr U256 operator|(const U256& a, const U256& b) noexcept {
  return U256::from_limbs(a.limb[0] | b.limb[0], a.limb[1] | b.limb[1], a.limb[2] | b.limb[2], a.limb[3] | b.limb[3]);
}
[[nodiscard]] constexpr U256 operator^(const U256& a, const U256& b) noexcept {
  return U256::from_limbs(a.limb[0] ^ b.limb[0], a.limb[1] ^ b.limb[1], a.limb[2] ^ b.limb[2], a.limb[3] ^ b.limb[3]);
}
// Shifts by n >= 256 give zero (EVM SHL/SHR semantics), never UB.
[[nodiscard]] constexpr U256 operator<<(const U256& a, unsigned n) noexcept {
  U256 r = U256::zero();
  if (n >= 256) return r;
  const unsigned w = n / 64;
  const unsigned s = n % 64;
  for (unsigned i = 3 + 1; i-- > w;) {
    std::uint64_t v = a.limb[i - w] << s;
    if (s != 0 && i - w > 0) v |= a.limb[i - w - 1] >> (64 - s);
    r.limb[i] = v;
  }
  return r;
}
[[nodiscard]] constexpr U256 operator>>(const U256& a, unsigned n) noexcept {
  U256 r = U256::zero();
  if (n >= 256) return r;
  const unsigned w = n / 64;
  const unsigned s = n % 64;
  for (unsigned i = 0; i + w < 4; ++i) {
    std::uint64_t v = a.limb[i + w] >> s;
    if (s != 0 && i + w + 1 < 4) v |= a.limb[i + w + 1] << (64 - s);
    r.limb[i] = v;
  }
  return r;
}

constexpr U256& operator+=(U256& a, const U256& b) noexcept { return a = a + b; }
constexpr U256& operator-=(U256& a, const U256& b) noexcept { return a = a - b; }
constexpr U256& operator*=(U256& a, const U256& b) noexcept { return a = a * b; }
constexpr U256& operator&=(U256& a, const U256& b) noexcept { return a = a & b; }
constexpr U256& operator|=(U256& a, const U256& b) noexcept { return a = a | b; }
constexpr U256& operator^=(U256& a, const U256& b) noexcept { return a = a ^ b; }
constexpr U256& operator<<=(U256& a, unsigned n) noexcept { return a = a << n; }
constexpr U256& operator>>=(U256& a, unsigned n) noexcept { return a = a >> n; }

// ---------------------------------------------------------------------------------------------
// Checked arithmetic. Each writes the wrapped result to `out` and returns true on overflow
// (same convention as __builtin_add_overflow). `out` may alias an input.

[[nodiscard]] constexpr bool add_overflow(const U256& a, const U256& b, U256& out) noexcept {
  return detail::add4(a.limb, b.limb, out.limb) != 0;
}
[[nodiscard]] constexpr bool sub_overflow(const U256& a, const U256& b, U256& out) noexcept {
  return detail::sub4(a.limb, b.limb, out.limb) != 0;
}
[[nodiscard]] constexpr bool mul_overflow(const U256& a, const U256& b, U256& out) noexcept {
  // Fast reject on the bit lengths, then an exact answer from the high half of the product.
  const unsigned bits = a.bit_length() + b.bit_length();
  if (bits <= 256) {
    out = a * b;
    return false;
  }
  std::uint64_t p[8];
  detail::mul_full(a, b, p);
  out = U256::from_limbs(p[0], p[1], p[2], p[3]);
  return (p[4] | p[5] | p[6] | p[7]) != 0;
}
// Optional-returning forms (empty on overflow).
[[nodiscard]] constexpr std::optional<U256> checked_add(const U256& a, const U256& b) noexcept {
  U256 r;
  if (add_overflow(a, b, r)) return std::nullopt;
  return r;
}
[[nodiscard]] constexpr std::optional<U256> checked_sub(const U256& a, const U256& b) noexcept {
  U256 r;
  if (sub_overflow(a, b, r)) return std::nullopt;
  return r;
}
[[nodiscard]] constexpr std::optional<U256> checked_mul(const U256& a, const U256& b) noexcept {
  U256 r;
  if (mul_overflow(a, b, r)) return std::nullopt;
  return r;
}

// ---------------------------------------------------------------------------------------------
// Division.

struct DivMod {
  U256 quot;
  U256 rem;
};

// a / b and a % b. Returns false (outputs untouched) when b is zero. Outputs may alias inputs.
[[nodiscard]] constexpr bool divmod(const U256& a, const U256& b, U256& quot, U256& rem) noexcept {
  const int n = detail::significant_limbs(b.limb, 4);
  if (n == 0) return false;
  const int m = detail::significant_limbs(a.limb, 4);
  if (a < b) {
    rem = a;
    quot = U256::zero();
    return true;
  }
  U256 q = U256::zero();
  U256 r = U256::zero();
  if (n == 1) {  // 64-bit divisor: one hardware division per significant dividend limb
    r.limb[0] = detail::divmod_limb_pi(a.limb, m, b.limb[0], q.limb);
  } else {
    detail::divmod_knuth(a.limb, m, b.limb, n, q.limb, r.limb);
  }
  quot = q;
  rem = r;
  return true;
}
[[nodiscard]] constexpr std::optional<DivMod> divmod(const U256& a, const U256& b) noexcept {
  DivMod d{};
  if (!divmod(a, b, d.quot, d.rem)) return std::nullopt;
  return d;
}
[[nodiscard]] constexpr std::optional<U256> checked_div(const U256& a, const U256& b) noexcept {
  U256 q, r;
  if (!divmod(a, b, q, r)) return std::nullopt;
  return q;
}
[[nodiscard]] constexpr std::optional<U256> checked_rem(const U256& a, const U256& b) noexcept {
  U256 q, r;
  if (!divmod(a, b, q, r)) return std::nullopt;
  return r;
}
// EVM DIV / MOD semantics: x / 0 == 0 and x % 0 == 0 (never UB, never traps).
[[nodiscard]] constexpr U256 operator/(const U256& a, const U256& b) noexcept {
  U256 q = U256::zero(), r = U256::zero();
  (void)divmod(a, b, q, r);
  return q;
}
[[nodiscard]] constexpr U256 operator%(const U256& a, const U256& b) noexcept {
  U256 q = U256::zero(), r = U256::zero();
  (void)divmod(a, b, q, r);
  return r;
}
constexpr U256& operator/=(U256& a, const U256& b) noexcept { return a = a / b; }
constexpr U256& operator%=(U256& a, const U256& b) noexcept { return a = a % b; }

// ceil(a / b) (Uniswap UnsafeMath.divRoundingUp); empty when b is zero.
[[nodiscard]] constexpr std::optional<U256> div_rounding_up(const U256& a, const U256& b) noexcept {
  U256 q, r;
  if (!divmod(a, b, q, r)) return std::nullopt;
  if (!r.is_zero()) q = q + U256::one();  // cannot wrap: q < 2^256 - 1 whenever r != 0 and b >= 2
  return q;
}

namespace detail {
constexpr bool is_pow2(const U256& d) noexcept {
  return std::popcount(d.limb[0]) + std::popcount(d.limb[1]) + std::popcount(d.limb[2]) + std::popcount(d.limb[3]) == 1;
}
// floor(a * b / d) and (a * b) % d with a 512-bit intermediate. False when d == 0 or the
// quotient does not fit in 256 bits (the FullMath `require(denominator > prod1)`).
constexpr bool mul_div_rem(const U256& a, const U256& b, const U256& d, U256& quot, U256& rem) noexcept {
  if (d.is_zero()) return false;
  const bool pow2 = is_pow2(d);
  if (!pow2 && a.bit_length() + b.bit_length() <= 256) return divmod(a * b, d, quot, rem);
  std::uint64_t p[8];
  mul_full(a, b, p);
  const U256 hi = U256::from_limbs(p[4], p[5], p[6], p[7]);
  if (hi >= d) return false;  // quotient >= 2^256
  if (pow2) {  // Q96 / Q128 denominators (SqrtPriceMath, mid prices): a shift, no division
    const unsigned k = d.countr_zero();  // < 256 here, and the quotient fits (hi < d)
    const unsigned w = k / 64, b2 = k % 64;
    std::uint64_t qq[4];
    for (unsigned i = 0; i < 4; ++i)
      qq[i] = (p[i + w] >> b2) | (b2 != 0 ? p[i + w + 1] << (64 - b2) : 0);  // i + w + 1 <= 7
    U256 rr = U256::zero();
    for (unsigned i = 0; i < w; ++i) rr.limb[i] = p[i];
    if (b2 != 0) rr.limb[w] = p[w] & ((1ULL << b2) - 1);
    quot = U256::from_limbs(qq[0], qq[1], qq[2], qq[3]);
    rem = rr;
    return true;
  }
  const int m = significant_limbs(p, 8);
  const int n = significant_limbs(d.limb, 4);
  if (m <= 4) return divmod(U256::from_limbs(p[0], p[1], p[2], p[3]), d, quot, rem);
  std::uint64_t q[8]{};
  U256 r = U256::zero();
  if (n == 1) {
    r.limb[0] = divmod_limb_pi(p, m, d.limb[0], q);
  } else {
    divmod_knuth(p, m, d.limb, n, q, r.limb);
  }
  quot = U256::from_limbs(q[0], q[1], q[2], q[3]);  // q[4..] are zero because hi < d
  rem = r;
  return true;
}
}  // namespace detail

// Uniswap FullMath.mulDiv: floor(a * b / denominator) computed exactly (512-bit intermediate).
// Empty when denominator == 0 or the result >= 2^256.
[[nodiscard]] constexpr std::optional<U256> mul_div(const U256& a, const U256& b, const U256& denominator) noexcept {
  U256 q, r;
  if (!detail::mul_div_rem(a, b, denominator, q, r)) return std::nullopt;
  return q;
}
// Uniswap FullMath.mulDivRoundingUp: ceil(a * b / denominator). Empty when denominator == 0 or
// the rounded-up result >= 2^256 (FullMath's `require(result < type(uint256).max)` before ++).
[[nodiscard]] constexpr std::optional<U256> mul_div_rounding_up(const U256& a, const U256& b,
                                                                const U256& denominator) noexcept {
  U256 q, r;
  if (!detail::mul_div_rem(a, b, denominator, q, r)) return std::nullopt;
  if (!r.is_zero()) {
    if (q == U256::max()) return std::nullopt;
    q = q + U256::one();
  }
  return q;
}
// (a * b) % m exactly (EVM MULMOD); empty when m == 0.
[[nodiscard]] constexpr std::optional<U256> mul_mod(const U256& a, const U256& b, const U256& m) noexcept {
  if (m.is_zero()) return std::nullopt;
  std::uint64_t p[8];
  detail::mul_full(a, b, p);
  const int pm = detail::significant_limbs(p, 8);
  if (pm <= 4) return U256::from_limbs(p[0], p[1], p[2], p[3]) % m;
  const int n = detail::significant_limbs(m.limb, 4);
  std::uint64_t q[8]{};
  U256 r = U256::zero();
  if (n == 1) {
    r.limb[0] = detail::divmod_limb_pi(p, pm, m.limb[0], q);
  } else {  // pm >= 5 > n
    detail::divmod_knuth(p, pm, m.limb, n, q, r.limb);
  }
  return r;
}

// ---------------------------------------------------------------------------------------------
// Bytes. Big-endian is the Ethereum ABI word; little-endian is the Protocol V2 wire form.

using Bytes32 = std::array<std::uint8_t, 32>;

[[nodiscard]] constexpr U256 from_be_bytes(std::span<const std::uint8_t, 32> b) noexcept {
  U256 r = U256::zero();
  for (int i = 0; i < 32; ++i) r.limb[(31 - i) / 8] |= static_cast<std::uint64_t>(b[i]) << (8 * ((31 - i) % 8));
  return r;
}
[[nodiscard]] constexpr U256 from_le_bytes(std::span<const std::uint8_t, 32> b) noexcept {
  U256 r = U256::zero();
  for (int i = 0; i < 32; ++i) r.limb[i / 8] |= static_cast<std::uint64_t>(b[i]) << (8 * (i % 8));
  return r;
}
constexpr void to_be_bytes(const U256& v, std::span<std::uint8_t, 32> out) noexcept {
  for (int i = 0; i < 32; ++i) out[i] = static_cast<std::uint8_t>(v.limb[(31 - i) / 8] >> (8 * ((31 - i) % 8)));
}
constexpr void to_le_bytes(const U256& v, std::span<std::uint8_t, 32> out) noexcept {
  for (int i = 0; i < 32; ++i) out[i] = static_cast<std::uint8_t>(v.limb[i / 8] >> (8 * (i % 8)));
}
[[nodiscard]] constexpr Bytes32 to_be_bytes(const U256& v) noexcept {
  Bytes32 b{};
  to_be_bytes(v, std::span<std::uint8_t, 32>(b));
  return b;
}
[[nodiscard]] constexpr Bytes32 to_le_bytes(const U256& v) noexcept {
  Bytes32 b{};
  to_le_bytes(v, std::span<std::uint8_t, 32>(b));
  return b;
}

// ---------------------------------------------------------------------------------------------
// I256: two's complement over four limbs (Solidity int256). Range [-2^255, 2^255 - 1].
// Arithmetic wraps unless a checked function is used; INT256_MIN has no positive counterpart:
// negate_overflow reports it, operator- wraps it to itself (like Solidity `unchecked`).

struct I256 {
  std::uint64_t limb[4];  // same little-endian layout as U256; the sign is bit 255

  I256() = default;
  constexpr explicit I256(std::int64_t v) noexcept
      : limb{static_cast<std::uint64_t>(v), v < 0 ? ~0ULL : 0, v < 0 ? ~0ULL : 0, v < 0 ? ~0ULL : 0} {}

  [[nodiscard]] static constexpr I256 from_i128(i128 v) noexcept {
    const std::uint64_t ext = v < 0 ? ~0ULL : 0;
    const u128 u = static_cast<u128>(v);
    return from_bits(U256::from_limbs(static_cast<std::uint64_t>(u), static_cast<std::uint64_t>(u >> 64), ext, ext));
  }
  // Reinterpret the bits (no range check), like Solidity int256(uint256) in unchecked code.
  [[nodiscard]] static constexpr I256 from_bits(const U256& u) noexcept {
    I256 r;
    for (int i = 0; i < 4; ++i) r.limb[i] = u.limb[i];
    return r;
  }
  [[nodiscard]] constexpr U256 bits() const noexcept { return U256::from_limbs(limb[0], limb[1], limb[2], limb[3]); }

  [[nodiscard]] static constexpr I256 zero() noexcept { return I256(0); }
  [[nodiscard]] static constexpr I256 one() noexcept { return I256(1); }
  [[nodiscard]] static constexpr I256 min() noexcept { return from_bits(U256::from_limbs(0, 0, 0, 1ULL << 63)); }
  [[nodiscard]] static constexpr I256 max() noexcept { return from_bits(U256::from_limbs(~0ULL, ~0ULL, ~0ULL, ~0ULL >> 1)); }

  [[nodiscard]] constexpr bool is_negative() const noexcept { return (limb[3] >> 63) != 0; }
  [[nodiscard]] constexpr bool is_zero() const noexcept { return (limb[0] | limb[1] | limb[2] | limb[3]) == 0; }
  // -1, 0 or +1.
  [[nodiscard]] constexpr int sign() const noexcept { return is_negative() ? -1 : (is_zero() ? 0 : 1); }
  // |x| as U256; exact for every value including min() (2^255).
  [[nodiscard]] constexpr U256 abs() const noexcept { return is_negative() ? U256::zero() - bits() : bits(); }

  [[nodiscard]] constexpr bool fits_i64() const noexcept {
    const std::uint64_t ext = (limb[0] >> 63) != 0 ? ~0ULL : 0;
    return limb[1] == ext && limb[2] == ext && limb[3] == ext;
  }
  [[nodiscard]] constexpr bool fits_i128() const noexcept {
    const std::uint64_t ext = (limb[1] >> 63) != 0 ? ~0ULL : 0;
    return limb[2] == ext && limb[3] == ext;
  }
  [[nodiscard]] constexpr std::optional<std::int64_t> to_i64() const noexcept {
    if (!fits_i64()) return std::nullopt;
    return static_cast<std::int64_t>(limb[0]);
  }
  [[nodiscard]] constexpr std::optional<i128> to_i128() const noexcept {
    if (!fits_i128()) return std::nullopt;
    return static_cast<i128>((static_cast<u128>(limb[1]) << 64) | limb[0]);
  }
  // Range-checked conversions (Solidity SafeCast.toInt256 / toUint256).
  [[nodiscard]] static constexpr std::optional<I256> from_u256(const U256& u) noexcept {
    if ((u.limb[3] >> 63) != 0) return std::nullopt;  // >= 2^255
    return from_bits(u);
  }
  [[nodiscard]] constexpr std::optional<U256> to_u256() const noexcept {
    if (is_negative()) return std::nullopt;
    return bits();
  }

  [[nodiscard]] static std::optional<I256> parse(std::string_view s) noexcept;  // see parse_i256
  [[nodiscard]] std::string to_string() const;                                 // decimal, '-' if negative

  friend constexpr bool operator==(const I256&, const I256&) noexcept = default;
  friend constexpr std::strong_ordering operator<=>(const I256& a, const I256& b) noexcept {
    if (a.is_negative() != b.is_negative()) return a.is_negative() ? std::strong_ordering::less : std::strong_ordering::greater;
    return a.bits() <=> b.bits();  // same sign: two's complement order equals unsigned order
  }
};

static_assert(sizeof(I256) == 32);
static_assert(std::is_trivially_copyable_v<I256>);
static_assert(std::is_trivially_default_constructible_v<I256>);
static_assert(std::is_standard_layout_v<I256>);

[[nodiscard]] constexpr I256 operator+(const I256& a, const I256& b) noexcept { return I256::from_bits(a.bits() + b.bits()); }
[[nodiscard]] constexpr I256 operator-(const I256& a, const I256& b) noexcept { return I256::from_bits(a.bits() - b.bits()); }
[[nodiscard]] constexpr I256 operator*(const I256& a, const I256& b) noexcept { return I256::from_bits(a.bits() * b.bits()); }
// Wrapping negation: -min() == min().
[[nodiscard]] constexpr I256 operator-(const I256& a) noexcept { return I256::from_bits(U256::zero() - a.bits()); }
constexpr I256& operator+=(I256& a, const I256& b) noexcept { return a = a + b; }
constexpr I256& operator-=(I256& a, const I256& b) noexcept { return a = a - b; }
constexpr I256& operator*=(I256& a, const I256& b) noexcept { return a = a * b; }

// Arithmetic shift right (Solidity `>>` on int256 / EVM SAR): rounds toward negative infinity.
[[nodiscard]] constexpr I256 operator>>(const I256& a, unsigned n) noexcept {
  if (!a.is_negative()) return I256::from_bits(a.bits() >> n);
  if (n >= 256) return I256(-1);
  return I256::from_bits(~(~a.bits() >> n));
}

// Each computes the flag before writing `out`, so `out` may alias an input.
[[nodiscard]] constexpr bool negate_overflow(const I256& a, I256& out) noexcept {
  const bool overflow = a == I256::min();
  out = -a;
  return overflow;
}
[[nodiscard]] constexpr bool add_overflow(const I256& a, const I256& b, I256& out) noexcept {
  const I256 r = a + b;
  // Overflow iff both operands have the same sign and the result's sign differs.
  const bool overflow = a.is_negative() == b.is_negative() && r.is_negative() != a.is_negative();
  out = r;
  return overflow;
}
[[nodiscard]] constexpr bool sub_overflow(const I256& a, const I256& b, I256& out) noexcept {
  const I256 r = a - b;
  const bool overflow = a.is_negative() != b.is_negative() && r.is_negative() != a.is_negative();
  out = r;
  return overflow;
}
[[nodiscard]] constexpr bool mul_overflow(const I256& a, const I256& b, I256& out) noexcept {
  const I256 r = a * b;
  U256 mag;
  bool overflow = mul_overflow(a.abs(), b.abs(), mag);
  if (!overflow) {
    const bool negative = a.is_negative() != b.is_negative() && !mag.is_zero();
    const U256 limit = U256::pow2(255);  // |min()|
    overflow = negative ? mag > limit : mag >= limit;
  }
  out = r;
  return overflow;
}
[[nodiscard]] constexpr std::optional<I256> checked_add(const I256& a, const I256& b) noexcept {
  I256 r;
  if (add_overflow(a, b, r)) return std::nullopt;
  return r;
}
[[nodiscard]] constexpr std::optional<I256> checked_sub(const I256& a, const I256& b) noexcept {
  I256 r;
  if (sub_overflow(a, b, r)) return std::nullopt;
  return r;
}
[[nodiscard]] constexpr std::optional<I256> checked_mul(const I256& a, const I256& b) noexcept {
  I256 r;
  if (mul_overflow(a, b, r)) return std::nullopt;
  return r;
}
[[nodiscard]] constexpr std::optional<I256> checked_neg(const I256& a) noexcept {
  I256 r;
  if (negate_overflow(a, r)) return std::nullopt;
  return r;
}

// ---------------------------------------------------------------------------------------------
// Text. parse() does not allocate; to_string()/to_hex() allocate the returned string.

// Decimal ("12345", leading zeros allowed) or hex with a 0x/0X prefix ("0x1f", either case).
// Empty on: empty input, "0x" with no digits, any other character (signs, spaces, '_'), or a
// value >= 2^256.
[[nodiscard]] std::optional<U256> parse_u256(std::string_view s) noexcept;
// Decimal with an optional leading '-' ("-42", "-0x2a" also accepted). Empty when outside
// [-2^255, 2^255 - 1] or malformed.
[[nodiscard]] std::optional<I256> parse_i256(std::string_view s) noexcept;

// Non-allocating formatters: write into [first, last) and return one past the last character
// written, or nullptr when the buffer is too small (78 chars always suffice for U256 and I256
// decimal, 66 for hex). No terminating NUL.
[[nodiscard]] char* to_chars_dec(char* first, char* last, const U256& v) noexcept;
[[nodiscard]] char* to_chars_dec(char* first, char* last, const I256& v) noexcept;
[[nodiscard]] char* to_chars_hex(char* first, char* last, const U256& v) noexcept;

[[nodiscard]] std::string to_string(const U256& v);  // decimal, no leading zeros, "0" for zero
[[nodiscard]] std::string to_hex(const U256& v);     // "0x" + minimal lowercase digits, "0x0"
[[nodiscard]] std::string to_string(const I256& v);  // decimal with '-' for negatives

}  // namespace torq::num
