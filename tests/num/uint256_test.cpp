// U256: every operation against boost::multiprecision::cpp_int on thousands of values plus edges.
#include "torq/num/uint256.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "num_oracle.hpp"

namespace torq::num {
namespace {

using test::cpp_int;
using test::from_big;
using test::to_big;
using test::two256;
using test::ValueGen;

constexpr int kIters = 20000;

// Compile-time checks: the core is usable in constant expressions.
static_assert(U256(6) * U256(7) == U256(42));
static_assert((U256::max() + U256::one()).is_zero());
static_assert(U256::pow2(200) / U256::pow2(100) == U256::pow2(100));
static_assert(*mul_div(U256::max(), U256::max(), U256::max()) == U256::max());
static_assert(U256::pow2(255).bit_length() == 256 && U256::zero().bit_length() == 0);

TEST(U256Layout, ShouldBeLittleEndianLimbsMatchingTheWireForm) {
  const U256 v = U256::from_limbs(0x0807060504030201ULL, 0x100f0e0d0c0b0a09ULL, 0x1817161514131211ULL,
                                  0x201f1e1d1c1b1a19ULL);
  unsigned char mem[32];
  std::memcpy(mem, &v, sizeof v);
  for (int i = 0; i < 32; ++i) EXPECT_EQ(mem[i], i + 1) << i;  // x86-64 is little-endian
  const Bytes32 le = to_le_bytes(v);
  EXPECT_EQ(0, std::memcmp(le.data(), mem, 32));
  EXPECT_EQ(from_le_bytes(le), v);
}

TEST(U256Layout, ShouldEncodeAbiWordBigEndian) {
  const Bytes32 one = to_be_bytes(U256::one());
  for (int i = 0; i < 31; ++i) EXPECT_EQ(one[i], 0);
  EXPECT_EQ(one[31], 1);
  const Bytes32 top = to_be_bytes(U256::pow2(255));
  EXPECT_EQ(top[0], 0x80);
  ValueGen g(1);
  for (int i = 0; i < 2000; ++i) {
    const U256 v = g.next();
    const Bytes32 be = to_be_bytes(v);
    EXPECT_EQ(from_be_bytes(be), v);
    cpp_int from_bytes = 0;
    for (std::uint8_t b : be) from_bytes = (from_bytes << 8) | b;
    ASSERT_EQ(from_bytes, to_big(v));
  }
}

TEST(U256Arith, ShouldMatchOracleForWrappingAddSubMul) {
  ValueGen g(2);
  for (int i = 0; i < kIters; ++i) {
    const U256 a = g.next(), b = g.next();
    const cpp_int A = to_big(a), B = to_big(b);
    ASSERT_EQ(a + b, from_big(A + B)) << A << " + " << B;
    ASSERT_EQ(a - b, from_big(A - B)) << A << " - " << B;
    ASSERT_EQ(a * b, from_big(A * B)) << A << " * " << B;
    ASSERT_EQ(-a, from_big(-A));
  }
}

TEST(U256Arith, ShouldReportOverflowExactlyWhenTheTrueResultLeaves256Bits) {
  ValueGen g(3);
  int add_ovf = 0, sub_ovf = 0, mul_ovf = 0, mul_ok = 0;
  for (int i = 0; i < kIters; ++i) {
    const U256 a = g.next(), b = g.next();
    const cpp_int A = to_big(a), B = to_big(b);
    U256 r;
    const bool ao = add_overflow(a, b, r);
    ASSERT_EQ(ao, A + B >= two256());
    ASSERT_EQ(r, from_big(A + B));
    const bool so = sub_overflow(a, b, r);
    ASSERT_EQ(so, A < B);
    ASSERT_EQ(r, from_big(A - B));
    const bool mo = mul_overflow(a, b, r);
    ASSERT_EQ(mo, A * B >= two256()) << A << " * " << B;
    ASSERT_EQ(r, from_big(A * B));
    ASSERT_EQ(checked_mul(a, b).has_value(), !mo);
    ASSERT_EQ(checked_add(a, b).has_value(), !ao);
    ASSERT_EQ(checked_sub(a, b).has_value(), !so);
    add_ovf += ao;
    sub_ovf += so;
    mul_ovf += mo;
    mul_ok += !mo;
  }
  // The generator must exercise both outcomes, or the test proves nothing.
  EXPECT_GT(add_ovf, 100);
  EXPECT_GT(sub_ovf, 100);
  EXPECT_GT(mul_ovf, 100);
  EXPECT_GT(mul_ok, 100);
}

TEST(U256Arith, ShouldOverflowAtTheExactBoundary) {
  U256 r;
  EXPECT_FALSE(add_overflow(U256::max() - U256::one(), U256::one(), r));
  EXPECT_EQ(r, U256::max());
  EXPECT_TRUE(add_overflow(U256::max(), U256::one(), r));
  EXPECT_TRUE(r.is_zero());
  EXPECT_TRUE(sub_overflow(U256::zero(), U256::one(), r));
  EXPECT_EQ(r, U256::max());
  EXPECT_FALSE(mul_overflow(U256::pow2(128) - U256::one(), U256::pow2(128) + U256::one(), r));  // 2^256 - 1
  EXPECT_EQ(r, U256::max());
  EXPECT_TRUE(mul_overflow(U256::pow2(128), U256::pow2(128), r));
  EXPECT_TRUE(r.is_zero());
  EXPECT_TRUE(mul_overflow(U256::pow2(255), U256(2), r));
  EXPECT_FALSE(mul_overflow(U256::pow2(254), U256(2), r));
}

TEST(U256Div, ShouldMatchOracleForQuotientAndRemainder) {
  ValueGen g(4);
  int wide_divisors = 0;
  for (int i = 0; i < kIters; ++i) {
    const U256 a = g.next();
    U256 b = g.next();
    if (i % 4 == 0) b = U256(g.word() >> (g.word() % 64));  // 64-bit divisor fast path
    if (b.is_zero()) continue;
    const cpp_int A = to_big(a), B = to_big(b);
    const auto dm = divmod(a, b);
    ASSERT_TRUE(dm.has_value());
    ASSERT_EQ(to_big(dm->quot), A / B) << A << " / " << B;
    ASSERT_EQ(to_big(dm->rem), A % B) << A << " % " << B;
    ASSERT_EQ(a / b, dm->quot);
    ASSERT_EQ(a % b, dm->rem);
    wide_divisors += !b.fits_u64();
  }
  EXPECT_GT(wide_divisors, kIters / 4);
}

// Divisors whose normalised top limbs make the first quotient estimate too large, so that
// Algorithm D needs its correction and add-back steps (dense sweep of near-boundary limbs).
TEST(U256Div, ShouldMatchOracleWhenQuotientEstimateNeedsCorrection) {
  const std::uint64_t limbs[] = {0, 1, 2, (1ULL << 63) - 1, 1ULL << 63, (1ULL << 63) + 1, ~0ULL - 1, ~0ULL,
                                 0x7fffffff00000000ULL, 0x00000000ffffffffULL};
  for (std::uint64_t u3 : limbs)
    for (std::uint64_t u2 : limbs)
      for (std::uint64_t u1 : limbs)
        for (std::uint64_t v1 : limbs)
          for (std::uint64_t v0 : limbs) {
            const U256 a = U256::from_limbs(u1, u2, u3, u3 ^ u1);
            const U256 b = U256::from_limbs(v0, v1, v1 ^ 1, 0);
            const cpp_int A = to_big(a), B = to_big(b);
            const auto dm = divmod(a, b);
            ASSERT_TRUE(dm.has_value());
            ASSERT_EQ(to_big(dm->quot), A / B) << A << " / " << B;
            ASSERT_EQ(to_big(dm->rem), A % B) << A << " % " << B;
          }
}

TEST(U256Div, ShouldReturnEmptyAndNeverTrapWhenDividingByZero) {
  EXPECT_FALSE(divmod(U256::max(), U256::zero()).has_value());
  EXPECT_FALSE(checked_div(U256::one(), U256::zero()).has_value());
  EXPECT_FALSE(checked_rem(U256::one(), U256::zero()).has_value());
  EXPECT_FALSE(div_rounding_up(U256::one(), U256::zero()).has_value());
  U256 q = U256(7), r = U256(9);
  EXPECT_FALSE(divmod(U256::one(), U256::zero(), q, r));
  EXPECT_EQ(q, U256(7));  // outputs untouched
  EXPECT_EQ(r, U256(9));
  EXPECT_TRUE((U256::max() / U256::zero()).is_zero());  // EVM DIV semantics
  EXPECT_TRUE((U256::max() % U256::zero()).is_zero());
}

TEST(U256Div, ShouldRoundUpOnlyWhenThereIsARemainder) {
  EXPECT_EQ(*div_rounding_up(U256(10), U256(5)), U256(2));
  EXPECT_EQ(*div_rounding_up(U256(11), U256(5)), U256(3));
  EXPECT_EQ(*div_rounding_up(U256::max(), U256::max()), U256::one());
  EXPECT_EQ(*div_rounding_up(U256::max(), U256(2)), U256::pow2(255));
}

// FullMath.mulDiv / mulDivRoundingUp semantics from the oracle:
// floor(a*b/d) fails iff d == 0 or it is >= 2^256; ceil(a*b/d) fails iff d == 0 or it is >= 2^256.
void check_mul_div(const U256& a, const U256& b, const U256& d, int& ok, int& fail) {
  const cpp_int A = to_big(a), B = to_big(b), D = to_big(d);
  const auto down = mul_div(a, b, d);
  const auto up = mul_div_rounding_up(a, b, d);
  const auto mm = mul_mod(a, b, d);
  if (D == 0) {
    ASSERT_FALSE(down.has_value());
    ASSERT_FALSE(up.has_value());
    ASSERT_FALSE(mm.has_value());
    ++fail;
    return;
  }
  const cpp_int fl = (A * B) / D;
  const cpp_int rem = (A * B) % D;
  const cpp_int ce = fl + (rem != 0 ? 1 : 0);
  ASSERT_TRUE(mm.has_value());
  ASSERT_EQ(to_big(*mm), rem);
  ASSERT_EQ(down.has_value(), fl < two256()) << A << " * " << B << " / " << D;
  if (down) { ASSERT_EQ(to_big(*down), fl) << A << " * " << B << " / " << D; }
  ASSERT_EQ(up.has_value(), ce < two256()) << A << " * " << B << " / " << D;
  if (up) { ASSERT_EQ(to_big(*up), ce); }
  (down ? ok : fail)++;
}

TEST(U256MulDiv, ShouldMatchFullMathOnRandomOperands) {
  ValueGen g(5);
  int ok = 0, fail = 0;
  for (int i = 0; i < kIters; ++i) {
    const U256 a = g.next(), b = g.next();
    U256 d = g.next();
    if (i % 3 == 0) d = U256(g.word() | 1);  // 64-bit denominators
    check_mul_div(a, b, d, ok, fail);
  }
  EXPECT_GT(ok, kIters / 4);
  EXPECT_GT(fail, 100);
}

TEST(U256MulDiv, ShouldMatchFullMathNearTheOverflowBoundary) {
  // Results close to 2^256: d within a few units of a or b, so the quotient is near max.
  ValueGen g(6);
  int ok = 0, fail = 0;
  for (int i = 0; i < kIters / 2; ++i) {
    const U256 a = g.next();
    const U256 b = (i % 2 == 0) ? U256::max() - U256(g.word() % 4) : g.next();
    const U256 delta = U256(g.word() % 3);
    const U256 d = (g.word() & 1) != 0 ? a + delta : a - delta;
    check_mul_div(a, b, d, ok, fail);
  }
  EXPECT_GT(ok, 100);
  EXPECT_GT(fail, 100);
}

TEST(U256MulDiv, ShouldFailRoundingUpOnlyWhenTheCeilingIsTwoTo256) {
  // max * max / max == max exactly: both succeed.
  EXPECT_EQ(*mul_div(U256::max(), U256::max(), U256::max()), U256::max());
  EXPECT_EQ(*mul_div_rounding_up(U256::max(), U256::max(), U256::max()), U256::max());
  // max * max / (max - 1): floor overflows.
  EXPECT_FALSE(mul_div(U256::max(), U256::max(), U256::max() - U256::one()).has_value());
  // floor == max with a remainder: mulDiv succeeds, mulDivRoundingUp reverts.
  // (2^160 - 1)(2^160 + 1) = 2^320 - 1; divided by 2^64: floor 2^256 - 1, remainder 2^64 - 1.
  const U256 a = U256::pow2(160) - U256::one();
  const U256 b = U256::pow2(160) + U256::one();
  const U256 d = U256::pow2(64);
  EXPECT_EQ(*mul_div(a, b, d), U256::max());
  EXPECT_EQ(*mul_mod(a, b, d), U256(~0ULL));
  EXPECT_FALSE(mul_div_rounding_up(a, b, d).has_value());
  EXPECT_EQ(*mul_div_rounding_up(a, b, d + U256::one()), *mul_div(a, b, d + U256::one()) + U256::one());
  EXPECT_FALSE(mul_div(U256::one(), U256::one(), U256::zero()).has_value());
}

TEST(U256Bits, ShouldMatchOracleForShiftsAndBitwiseOps) {
  ValueGen g(7);
  for (int i = 0; i < 2000; ++i) {
    const U256 a = g.next(), b = g.next();
    const cpp_int A = to_big(a), B = to_big(b);
    ASSERT_EQ(a & b, from_big(A & B));
    ASSERT_EQ(a | b, from_big(A | B));
    ASSERT_EQ(a ^ b, from_big(A ^ B));
    ASSERT_EQ(~a, from_big(two256() - 1 - A));
    for (unsigned n : {0U, 1U, 7U, 63U, 64U, 65U, 127U, 128U, 129U, 191U, 192U, 200U, 255U, 256U, 257U, 1000U,
                       static_cast<unsigned>(g.word() % 300)}) {
      ASSERT_EQ(a << n, n >= 256 ? U256::zero() : from_big(A << n)) << A << " << " << n;
      ASSERT_EQ(a >> n, n >= 256 ? U256::zero() : from_big(A >> n)) << A << " >> " << n;
    }
  }
}

TEST(U256Bits, ShouldCountBitsAndCompareLikeTheOracle) {
  ValueGen g(8);
  for (int i = 0; i < kIters; ++i) {
    const U256 a = g.next(), b = g.next();
    const cpp_int A = to_big(a), B = to_big(b);
    const unsigned expect_len = A == 0 ? 0 : static_cast<unsigned>(boost::multiprecision::msb(A)) + 1;
    ASSERT_EQ(a.bit_length(), expect_len);
    ASSERT_EQ(a.countl_zero(), 256 - expect_len);
    ASSERT_EQ(a.countr_zero(), A == 0 ? 256U : static_cast<unsigned>(boost::multiprecision::lsb(A)));
    ASSERT_EQ(a.is_zero(), A == 0);
    ASSERT_EQ(a.fits_u64(), A <= cpp_int(~0ULL));
    ASSERT_EQ(a.fits_u128(), A < (cpp_int(1) << 128));
    ASSERT_EQ(a.fits_u160(), A < (cpp_int(1) << 160));
    ASSERT_EQ(a < b, A < B);
    ASSERT_EQ(a <= b, A <= B);
    ASSERT_EQ(a > b, A > B);
    ASSERT_EQ(a == b, A == B);
    ASSERT_EQ(a != b, A != B);
    ASSERT_EQ(a == a, true);
  }
  EXPECT_TRUE(U256::from_limbs(0, 0, 0, 1) > U256::from_limbs(~0ULL, ~0ULL, ~0ULL, 0));  // most significant limb wins
  EXPECT_TRUE((U256::pow2(160) - U256::one()).fits_u160());
  EXPECT_FALSE(U256::pow2(160).fits_u160());
}

TEST(U256Convert, ShouldRoundTripUnsigned128AndRejectWiderValues) {
  ValueGen g(9);
  for (int i = 0; i < 2000; ++i) {
    const u128 v = (static_cast<u128>(g.word()) << 64) | g.word();
    const U256 u = U256::from_u128(v);
    ASSERT_EQ(u.low_u128(), v);
    ASSERT_EQ(*u.to_u128(), v);
    ASSERT_EQ(to_big(u), (cpp_int(static_cast<std::uint64_t>(v >> 64)) << 64) | cpp_int(static_cast<std::uint64_t>(v)));
  }
  EXPECT_FALSE(U256::pow2(128).to_u128().has_value());
  EXPECT_FALSE(U256::pow2(64).to_u64().has_value());
  EXPECT_EQ(*U256(42).to_u64(), 42U);
}

TEST(U256Text, ShouldFormatDecimalAndHexLikeTheOracle) {
  ValueGen g(10);
  for (int i = 0; i < 5000; ++i) {
    const U256 v = g.next();
    const cpp_int V = to_big(v);
    const std::string dec = V.str();
    ASSERT_EQ(to_string(v), dec);
    ASSERT_EQ(v.to_string(), dec);
    std::string hex = "0x" + V.str(0, std::ios_base::hex);
    for (char& c : hex) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    ASSERT_EQ(to_hex(v), hex);
    ASSERT_EQ(*U256::parse(dec), v);
    ASSERT_EQ(*U256::parse(hex), v);
    std::string upper = hex;
    for (std::size_t k = 2; k < upper.size(); ++k) upper[k] = static_cast<char>(std::toupper(static_cast<unsigned char>(upper[k])));
    ASSERT_EQ(*U256::parse(upper), v);
  }
  EXPECT_EQ(to_string(U256::zero()), "0");
  EXPECT_EQ(to_hex(U256::zero()), "0x0");
  EXPECT_EQ(to_hex(U256(255)), "0xff");
  EXPECT_EQ(to_string(U256::max()), "115792089237316195423570985008687907853269984665640564039457584007913129639935");
  EXPECT_EQ(to_string(U256::pow2(64)), "18446744073709551616");
  EXPECT_EQ(to_string(U256(10000000000000000000ULL)), "10000000000000000000");  // exactly one 10^19 chunk
}

TEST(U256Text, ShouldNotWriteWhenBufferIsTooSmall) {
  char buf[78];
  EXPECT_EQ(to_chars_dec(buf, buf + 77, U256::max()), nullptr);
  EXPECT_EQ(to_chars_dec(buf, buf + 78, U256::max()), buf + 78);
  EXPECT_EQ(to_chars_hex(buf, buf + 3, U256(0x10)), nullptr);
  EXPECT_EQ(to_chars_hex(buf, buf + 4, U256(0x10)), buf + 4);
}

TEST(U256Text, ShouldAcceptValidSpellings) {
  EXPECT_EQ(*U256::parse("0"), U256::zero());
  EXPECT_EQ(*U256::parse("000"), U256::zero());
  EXPECT_EQ(*U256::parse("0000001"), U256::one());
  EXPECT_EQ(*U256::parse("0x0"), U256::zero());
  EXPECT_EQ(*U256::parse("0X1f"), U256(31));
  EXPECT_EQ(*U256::parse("0xDeadBeef"), U256(0xdeadbeefULL));
  EXPECT_EQ(*U256::parse(std::string("0x") + std::string(64, 'f')), U256::max());
  EXPECT_EQ(*U256::parse(std::string("0x") + std::string(100, '0') + "1"), U256::one());
  EXPECT_EQ(*U256::parse("115792089237316195423570985008687907853269984665640564039457584007913129639935"), U256::max());
  EXPECT_EQ(*U256::parse(std::string(90, '0') + "12"), U256(12));
}

TEST(U256Text, ShouldRejectJunkEmptyAndOverflow) {
  for (const char* bad : {"", "0x", "0X", "-1", "+1", " 1", "1 ", "1a", "a", "0x1g", "0xx1", "00x1", "1_000", "1.0",
                          "1e3", "0x-1", "x1", "0b101", "\xef\xbc\x91"}) {
    EXPECT_FALSE(U256::parse(bad).has_value()) << '"' << bad << '"';
  }
  // 2^256 in decimal and hex, and longer.
  EXPECT_FALSE(U256::parse("115792089237316195423570985008687907853269984665640564039457584007913129639936").has_value());
  EXPECT_FALSE(U256::parse(std::string("0x1") + std::string(64, '0')).has_value());
  EXPECT_FALSE(U256::parse(std::string(100, '9')).has_value());
  EXPECT_FALSE(U256::parse(std::string("0x") + std::string(65, 'f')).has_value());
  // Embedded NUL is junk, not a terminator.
  EXPECT_FALSE(U256::parse(std::string_view("12\0" "3", 4)).has_value());
}


// ---------------------------------------------------------------------------------------------
// Reciprocal-based division (Möller–Granlund 2-by-1 / 3-by-2) against the oracle and against the
// previous divq-per-digit Algorithm D, on the shapes AMM math produces and on the corner cases of
// the 3-by-2 step (the exact 2^64 - 1 digit and the add-back).

cpp_int limbs_big(const std::uint64_t* p, int n) {
  cpp_int r = 0;
  for (int i = n - 1; i >= 0; --i) r = (r << 64) | cpp_int(p[i]);
  return r;
}

// Runs both long divisions on u[0..m) / v[0..n) and checks them against the oracle.
void check_long_division(const std::uint64_t* u, int m, const std::uint64_t* v, int n) {
  std::uint64_t q1[8]{}, r1[4]{}, q2[8]{}, r2[4]{};
  detail::divmod_pi(u, m, v, n, q1, r1);
  detail::divmod_knuth_divq(u, m, v, n, q2, r2);
  std::uint64_t q3[8]{}, r3[4]{};
  detail::divmod_knuth(u, m, v, n, q3, r3);  // the dispatcher
  for (int i = 0; i <= m - n; ++i) ASSERT_EQ(q3[i], q1[i]);
  const cpp_int U = limbs_big(u, m), V = limbs_big(v, n);
  ASSERT_EQ(limbs_big(q1, m - n + 1), U / V) << U << " / " << V;
  ASSERT_EQ(limbs_big(r1, n), U % V) << U << " % " << V;
  for (int i = 0; i <= m - n; ++i) ASSERT_EQ(q1[i], q2[i]);
  for (int i = 0; i < n; ++i) ASSERT_EQ(r1[i], r2[i]);
}

TEST(U256DivReciprocal, ShouldMatchOracleAndPreviousDivisionFor512By256Shapes) {
  ValueGen g(40);
  int per_n[5]{};
  for (int i = 0; i < kIters; ++i) {
    // Divisors of 2, 3 and 4 words (128, 192, 256 bits) as in FullMath; dividends of 4..8 words.
    const int n = 2 + i % 3;
    std::uint64_t v[4]{};
    const U256 dv = g.next();
    for (int k = 0; k < n; ++k) v[k] = dv.limb[k];
    if (v[n - 1] == 0) v[n - 1] = g.word() >> (g.word() % 64) | 1;
    const int m = n + static_cast<int>(g.word() % static_cast<std::uint64_t>(9 - n));
    std::uint64_t u[8]{};
    const U256 a = g.next(), b = g.next();
    for (int k = 0; k < m; ++k) u[k] = k < 4 ? a.limb[k] : b.limb[k - 4];
    check_long_division(u, m, v, n);
    ++per_n[n];
  }
  EXPECT_GT(per_n[2], kIters / 4);
  EXPECT_GT(per_n[4], kIters / 4);
}

TEST(U256DivReciprocal, ShouldHandleTheMaximalDigitAndTheAddBackOfThe3By2Step) {
  // Dividends whose top two words equal the normalised divisor's top two words (the digit is
  // exactly 2^64 - 1), and dense near-boundary words that make the 3-by-2 estimate one too large.
  const std::uint64_t w[] = {0, 1, 2, (1ULL << 63) - 1, 1ULL << 63, (1ULL << 63) + 1, ~0ULL - 1, ~0ULL,
                             0x7fffffff00000000ULL, 0x00000000ffffffffULL};
  int maximal_digit = 0;
  for (std::uint64_t d2 : w)
    for (std::uint64_t d1 : w)
      for (std::uint64_t d0 : w)
        for (std::uint64_t lo : w) {
          const std::uint64_t top = d2 | (1ULL << 63);  // normalised, so the windows below are exact
          const std::uint64_t v[3] = {d0, d1, top};
          const std::uint64_t u[5] = {lo, d0 ^ lo, d1, top, 0};
          check_long_division(u, 5, v, 3);
          const std::uint64_t u3[6] = {lo, d0, ~0ULL, d1, top, 0};
          check_long_division(u3, 5, v, 3);
          // U = (top, d1, u1, lo) with u1 < d0: the first digit is 0 and the next window's top two
          // words equal the divisor's, so the digit is exactly 2^64 - 1.
          if (d0 != 0) {
            const std::uint64_t u2[4] = {lo, lo % d0, d1, top};
            check_long_division(u2, 4, v, 3);
            std::uint64_t q[2]{}, r[3]{};
            detail::divmod_pi(u2, 4, v, 3, q, r);
            maximal_digit += q[0] == ~0ULL ? 1 : 0;
          }
          const std::uint64_t v2[2] = {d1, top};
          const std::uint64_t u4[4] = {lo, d0, d1, top};
          check_long_division(u4, 4, v2, 2);
        }
  EXPECT_GT(maximal_digit, 500);
  // Known add-back instance for base 2^64 (Hacker's Delight divmnu test family, scaled).
  const std::uint64_t ua[4] = {0, 0, 0x8000000000000000ULL, 0x7fffffffffffffffULL};
  const std::uint64_t va[3] = {1, 0, 0x8000000000000000ULL};
  check_long_division(ua, 4, va, 3);
}

TEST(U256DivReciprocal, ShouldMatchOracleForSingleWordDivisorsOfEveryWidth) {
  ValueGen g(41);
  for (int i = 0; i < kIters; ++i) {
    const U256 a = g.next();
    const std::uint64_t d = (g.word() >> (g.word() % 64)) | 1;
    const int m = 1 + static_cast<int>(g.word() % 4);
    std::uint64_t q[4]{};
    const std::uint64_t r = detail::divmod_limb_pi(a.limb, m, d, q);
    const cpp_int A = limbs_big(a.limb, m);
    ASSERT_EQ(limbs_big(q, m), A / d) << A << " / " << d;
    ASSERT_EQ(cpp_int(r), A % d);
  }
  for (std::uint64_t d : {1ULL, 2ULL, 3ULL, 1000000ULL, (1ULL << 63), (1ULL << 63) + 1, ~0ULL}) {
    const U256 a = U256::max();
    ASSERT_EQ(to_big(a / U256(d)), to_big(a) / d);
    ASSERT_EQ(to_big(a % U256(d)), to_big(a) % d);
  }
}

TEST(U256MulDiv, ShouldShiftExactlyForPowerOfTwoDenominators) {
  ValueGen g(42);
  int ok = 0, fail = 0;
  for (int i = 0; i < kIters; ++i) {
    const U256 a = g.next(), b = g.next();
    const U256 d = U256::pow2(static_cast<unsigned>(g.word() % 256));
    check_mul_div(a, b, d, ok, fail);
  }
  // The Q96 shapes of SqrtPriceMath.getAmount1Delta: L (128 bits) * price difference (160 bits).
  for (int i = 0; i < 2000; ++i) {
    const U256 l = U256::from_limbs(g.word(), g.word(), 0, 0);
    const U256 diff = U256::from_limbs(g.word(), g.word(), g.word() >> 32, 0);
    check_mul_div(l, diff, U256::pow2(96), ok, fail);
  }
  EXPECT_GT(ok, kIters / 2);
  EXPECT_GT(fail, 100);
}

}  // namespace
}  // namespace torq::num
