// I256 (two's complement int256): arithmetic, overflow flags and sign edges against cpp_int.
#include <gtest/gtest.h>

#include <string>

#include "num_oracle.hpp"
#include "torq/num/uint256.hpp"

namespace torq::num {
namespace {

using test::cpp_int;
using test::from_big;
using test::to_big;
using test::two255;
using test::ValueGen;

constexpr int kIters = 20000;

static_assert((I256(-5) >> 1) == I256(-3));  // SAR rounds toward -infinity
static_assert(-I256::min() == I256::min());
static_assert(I256(-1).abs() == U256::one());

bool in_range(const cpp_int& v) { return v >= -two255() && v < two255(); }

I256 next_i(ValueGen& g) { return I256::from_bits(g.next()); }

TEST(I256Basics, ShouldConvertFromInt64AndInt128WithSignExtension) {
  ValueGen g(20);
  for (int i = 0; i < 5000; ++i) {
    const auto v64 = static_cast<std::int64_t>(g.word() >> (g.word() % 64));
    const std::int64_t s64 = (g.word() & 1) != 0 ? v64 : -v64;
    const I256 x(s64);
    ASSERT_EQ(to_big(x), cpp_int(s64));
    ASSERT_EQ(*x.to_i64(), s64);
    const i128 v128 = static_cast<i128>((static_cast<u128>(g.word()) << 64) | g.word());
    const I256 y = I256::from_i128(v128);
    ASSERT_EQ(*y.to_i128(), v128);
    ASSERT_EQ(y.is_negative(), v128 < 0);
  }
  EXPECT_EQ(to_big(I256(INT64_MIN)), cpp_int(INT64_MIN));
  EXPECT_EQ(to_big(I256::from_i128(static_cast<i128>(static_cast<u128>(1) << 127))), -(cpp_int(1) << 127));
  EXPECT_FALSE(I256::from_bits(U256::pow2(64)).to_i64().has_value());
  EXPECT_FALSE(I256::from_bits(U256::pow2(127)).to_i128().has_value());
  EXPECT_TRUE(I256::from_i128(-1).fits_i64());
}

TEST(I256Arith, ShouldMatchOracleForWrappingArithmeticAndOverflowFlags) {
  ValueGen g(21);
  int add_ovf = 0, sub_ovf = 0, mul_ovf = 0, mul_ok = 0;
  for (int i = 0; i < kIters; ++i) {
    const I256 a = next_i(g), b = next_i(g);
    const cpp_int A = to_big(a), B = to_big(b);
    I256 r;
    ASSERT_EQ(add_overflow(a, b, r), !in_range(A + B)) << A << " + " << B;
    ASSERT_EQ(r.bits(), from_big(A + B));
    ASSERT_EQ(sub_overflow(a, b, r), !in_range(A - B)) << A << " - " << B;
    ASSERT_EQ(r.bits(), from_big(A - B));
    const bool mo = mul_overflow(a, b, r);
    ASSERT_EQ(mo, !in_range(A * B)) << A << " * " << B;
    ASSERT_EQ(r.bits(), from_big(A * B));
    ASSERT_EQ((a + b).bits(), from_big(A + B));
    ASSERT_EQ((a - b).bits(), from_big(A - B));
    ASSERT_EQ((a * b).bits(), from_big(A * B));
    ASSERT_EQ(checked_add(a, b).has_value(), in_range(A + B));
    ASSERT_EQ(checked_sub(a, b).has_value(), in_range(A - B));
    ASSERT_EQ(checked_mul(a, b).has_value(), in_range(A * B));
    add_ovf += !in_range(A + B);
    sub_ovf += !in_range(A - B);
    mul_ovf += mo;
    mul_ok += !mo;
  }
  EXPECT_GT(add_ovf, 100);
  EXPECT_GT(sub_ovf, 100);
  EXPECT_GT(mul_ovf, 100);
  EXPECT_GT(mul_ok, 100);
}

TEST(I256Arith, ShouldFlagMultiplicationOverflowExactlyAtMin) {
  I256 r;
  // -2^255 = 2^254 * -2 is representable; 2^254 * 2 is not.
  EXPECT_FALSE(mul_overflow(I256::from_bits(U256::pow2(254)), I256(-2), r));
  EXPECT_EQ(r, I256::min());
  EXPECT_TRUE(mul_overflow(I256::from_bits(U256::pow2(254)), I256(2), r));
  EXPECT_TRUE(mul_overflow(I256::min(), I256(-1), r));
  EXPECT_FALSE(mul_overflow(I256::min(), I256(1), r));
  EXPECT_FALSE(mul_overflow(I256::min(), I256(0), r));
  EXPECT_TRUE(r.is_zero());
}

TEST(I256Arith, ShouldComputeOverflowFlagsWhenOutputAliasesAnInput) {
  I256 a = I256::max();
  EXPECT_TRUE(add_overflow(a, I256::one(), a));
  EXPECT_EQ(a, I256::min());
  a = I256::min();
  EXPECT_TRUE(sub_overflow(a, I256::one(), a));
  EXPECT_EQ(a, I256::max());
  a = I256::from_bits(U256::pow2(254));
  EXPECT_TRUE(mul_overflow(a, I256(2), a));
  EXPECT_EQ(a, I256::min());
  a = I256::from_bits(U256::pow2(254));
  EXPECT_FALSE(mul_overflow(a, I256(-2), a));
  EXPECT_EQ(a, I256::min());
  a = I256::min();
  EXPECT_TRUE(negate_overflow(a, a));
  U256 u = U256::max();
  EXPECT_TRUE(add_overflow(u, U256::one(), u));
  EXPECT_TRUE(u.is_zero());
  u = U256::pow2(200);
  EXPECT_TRUE(mul_overflow(u, u, u));
  EXPECT_TRUE(u.is_zero());
  U256 q = U256(100), r = U256(7);
  ASSERT_TRUE(divmod(q, r, q, r));  // outputs alias inputs
  EXPECT_EQ(q, U256(14));
  EXPECT_EQ(r, U256(2));
}

TEST(I256Sign, ShouldReportNegationOverflowOnlyForMin) {
  I256 r;
  EXPECT_TRUE(negate_overflow(I256::min(), r));
  EXPECT_EQ(r, I256::min());  // wraps like Solidity unchecked
  EXPECT_FALSE(checked_neg(I256::min()).has_value());
  EXPECT_FALSE(negate_overflow(I256::max(), r));
  EXPECT_EQ(r, I256::min() + I256::one());
  EXPECT_EQ(*checked_neg(I256::zero()), I256::zero());
  EXPECT_EQ(*checked_neg(I256(-7)), I256(7));
  I256 s;
  EXPECT_TRUE(add_overflow(I256::max(), I256::one(), s));
  EXPECT_EQ(s, I256::min());
  EXPECT_TRUE(sub_overflow(I256::min(), I256::one(), s));
  EXPECT_EQ(s, I256::max());
  EXPECT_FALSE(sub_overflow(I256(-1), I256::max(), s));
  EXPECT_EQ(s, I256::min());
  EXPECT_TRUE(sub_overflow(I256::zero(), I256::min(), s));
}

TEST(I256Sign, ShouldGiveSignAbsAndOrderingLikeTheOracle) {
  ValueGen g(22);
  for (int i = 0; i < kIters; ++i) {
    const I256 a = next_i(g), b = next_i(g);
    const cpp_int A = to_big(a), B = to_big(b);
    ASSERT_EQ(a.sign(), A < 0 ? -1 : (A == 0 ? 0 : 1));
    ASSERT_EQ(to_big(a.abs()), abs(A));
    ASSERT_EQ(a < b, A < B) << A << " < " << B;
    ASSERT_EQ(a > b, A > B);
    ASSERT_EQ(a == b, A == B);
    ASSERT_EQ((-a).bits(), from_big(-A));
  }
  EXPECT_EQ(I256::min().abs(), U256::pow2(255));
  EXPECT_LT(I256::min(), I256(-1));
  EXPECT_LT(I256(-1), I256::zero());
  EXPECT_LT(I256::zero(), I256::max());
  EXPECT_EQ(I256::min().sign(), -1);
  EXPECT_EQ(I256::max().sign(), 1);
}

TEST(I256Shift, ShouldShiftArithmeticallyRoundingTowardNegativeInfinity) {
  ValueGen g(23);
  for (int i = 0; i < 3000; ++i) {
    const I256 a = next_i(g);
    const cpp_int A = to_big(a);
    for (unsigned n : {0U, 1U, 63U, 64U, 65U, 128U, 254U, 255U, 256U, 300U, static_cast<unsigned>(g.word() % 256)}) {
      const cpp_int p = cpp_int(1) << std::min(n, 300U);
      // floor division
      cpp_int q = A / p;
      if (A < 0 && q * p != A) q -= 1;
      ASSERT_EQ(to_big(a >> n), q) << A << " >> " << n;
    }
  }
}

TEST(I256Convert, ShouldRangeCheckConversionsToAndFromU256) {
  EXPECT_EQ(*I256::from_u256(U256::pow2(255) - U256::one()), I256::max());
  EXPECT_FALSE(I256::from_u256(U256::pow2(255)).has_value());
  EXPECT_FALSE(I256::from_u256(U256::max()).has_value());
  EXPECT_EQ(*I256::from_u256(U256::zero()), I256::zero());
  EXPECT_FALSE(I256(-1).to_u256().has_value());
  EXPECT_FALSE(I256::min().to_u256().has_value());
  EXPECT_EQ(*I256::max().to_u256(), U256::pow2(255) - U256::one());
  EXPECT_EQ(I256::from_bits(U256::max()), I256(-1));  // bit reinterpretation
}

TEST(I256Text, ShouldRoundTripDecimalAndRejectOutOfRange) {
  ValueGen g(24);
  for (int i = 0; i < 5000; ++i) {
    const I256 a = next_i(g);
    const std::string s = to_big(a).str();
    ASSERT_EQ(to_string(a), s);
    ASSERT_EQ(a.to_string(), s);
    ASSERT_EQ(*I256::parse(s), a);
  }
  const std::string min = "-57896044618658097711785492504343953926634992332820282019728792003956564819968";
  const std::string max = "57896044618658097711785492504343953926634992332820282019728792003956564819967";
  EXPECT_EQ(to_string(I256::min()), min);
  EXPECT_EQ(to_string(I256::max()), max);
  EXPECT_EQ(*I256::parse(min), I256::min());
  EXPECT_EQ(*I256::parse(max), I256::max());
  EXPECT_FALSE(I256::parse("-57896044618658097711785492504343953926634992332820282019728792003956564819969").has_value());
  EXPECT_FALSE(I256::parse("57896044618658097711785492504343953926634992332820282019728792003956564819968").has_value());
  EXPECT_EQ(*I256::parse("-0"), I256::zero());
  EXPECT_EQ(*I256::parse("-0x2a"), I256(-42));
  for (const char* bad : {"", "-", "--1", "+1", "- 1", "1-", "0x", "-0x"}) EXPECT_FALSE(I256::parse(bad).has_value()) << bad;
  char buf[78];  // '-' + 77 digits
  EXPECT_EQ(to_chars_dec(buf, buf + 77, I256::min()), nullptr);
  EXPECT_EQ(to_chars_dec(buf, buf + 78, I256::min()), buf + 78);
}

}  // namespace
}  // namespace torq::num
