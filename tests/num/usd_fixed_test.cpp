// UsdFixedPoint8: exact text, checked arithmetic with truncation toward zero, and
// from_token_amount against a cpp_int oracle.
#include "torq/num/usd_fixed.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "num_oracle.hpp"

namespace torq::num {
namespace {

using test::cpp_int;
using test::to_big;
using test::ValueGen;

using Usd = UsdFixedPoint8;

constexpr Usd usd(std::int64_t raw) { return Usd::from_raw(raw); }

static_assert(sizeof(Usd) == 8);
static_assert(*checked_mul(usd(150000000), usd(200000000)) == usd(300000000));  // 1.5 * 2 == 3

std::int64_t random_raw(std::mt19937_64& rng) {
  const std::uint64_t w = rng() >> (rng() % 64);
  return (rng() & 1) != 0 ? static_cast<std::int64_t>(w) : -static_cast<std::int64_t>(w >> 1);
}

bool fits_i64(const cpp_int& v) { return v >= cpp_int(INT64_MIN) && v <= cpp_int(INT64_MAX); }

TEST(UsdText, ShouldAlwaysPrintEightDecimals) {
  EXPECT_EQ(to_string(usd(-1234000000)), "-12.34000000");
  EXPECT_EQ(usd(-1234000000).to_string(), "-12.34000000");
  EXPECT_EQ(to_string(usd(0)), "0.00000000");
  EXPECT_EQ(to_string(usd(1)), "0.00000001");
  EXPECT_EQ(to_string(usd(-1)), "-0.00000001");
  EXPECT_EQ(to_string(usd(100000000)), "1.00000000");
  EXPECT_EQ(to_string(Usd::max()), "92233720368.54775807");
  EXPECT_EQ(to_string(Usd::min()), "-92233720368.54775808");
  char buf[21];
  EXPECT_EQ(to_chars(buf, buf + 20, Usd::min()), nullptr);
  EXPECT_EQ(to_chars(buf, buf + 21, Usd::min()), buf + 21);
}

TEST(UsdText, ShouldParseExactlyAndRoundTrip) {
  EXPECT_EQ(*Usd::parse("12"), usd(1200000000));
  EXPECT_EQ(*Usd::parse("12.5"), usd(1250000000));
  EXPECT_EQ(*Usd::parse("-12.34"), usd(-1234000000));
  EXPECT_EQ(*Usd::parse("0.00000001"), usd(1));
  EXPECT_EQ(*Usd::parse("-0.00000001"), usd(-1));
  EXPECT_EQ(*Usd::parse("-0"), usd(0));
  EXPECT_EQ(*Usd::parse("007.10"), usd(710000000));
  EXPECT_EQ(*Usd::parse("92233720368.54775807"), Usd::max());
  EXPECT_EQ(*Usd::parse("-92233720368.54775808"), Usd::min());
  std::mt19937_64 rng(30);
  for (int i = 0; i < 20000; ++i) {
    const Usd v = usd(random_raw(rng));
    ASSERT_EQ(*Usd::parse(to_string(v)), v) << to_string(v);
  }
}

TEST(UsdText, ShouldRejectJunkExtraPrecisionAndOverflow) {
  for (const char* bad : {"", "-", "+1", " 1", "1 ", ".5", "5.", "-.5", "1.123456789", "0.000000001", "1e5", "1,5",
                          "1.2.3", "--1", "1-", "0x10", "abc", "92233720368.54775808", "-92233720368.54775809",
                          "92233720369", "99999999999999999999999", "184467440737095516160"}) {
    EXPECT_FALSE(Usd::parse(bad).has_value()) << '"' << bad << '"';
  }
}

TEST(UsdArith, ShouldReportOverflowOnAddAndSubAtTheLimits) {
  EXPECT_EQ(*checked_add(usd(1), usd(2)), usd(3));
  EXPECT_FALSE(checked_add(Usd::max(), usd(1)).has_value());
  EXPECT_EQ(*checked_add(Usd::max(), usd(-1)), usd(INT64_MAX - 1));
  EXPECT_FALSE(checked_sub(Usd::min(), usd(1)).has_value());
  EXPECT_FALSE(checked_sub(usd(0), Usd::min()).has_value());
  EXPECT_EQ(*checked_sub(usd(-1), Usd::max()), Usd::min());
  EXPECT_FALSE(checked_neg(Usd::min()).has_value());
  Usd out{0};
  EXPECT_TRUE(add_overflow(Usd::min(), usd(-1), out));
  EXPECT_FALSE(sub_overflow(usd(5), usd(7), out));
  EXPECT_EQ(out, usd(-2));
  EXPECT_EQ(*Usd::from_usd(3), usd(300000000));
  EXPECT_FALSE(Usd::from_usd(92233720369).has_value());
  EXPECT_EQ(*Usd::from_usd(-92233720368), usd(-9223372036800000000));
}

TEST(UsdArith, ShouldMultiplyAndDivideTruncatingTowardZeroLikeTheOracle) {
  std::mt19937_64 rng(31);
  int ovf = 0;
  for (int i = 0; i < 20000; ++i) {
    const Usd a = usd(random_raw(rng)), b = usd(random_raw(rng));
    const cpp_int A(a.raw), B(b.raw);
    const cpp_int prod = A * B / Usd::kScale;  // cpp_int division truncates toward zero
    const auto m = checked_mul(a, b);
    ASSERT_EQ(m.has_value(), fits_i64(prod)) << A << " * " << B;
    if (m) { ASSERT_EQ(cpp_int(m->raw), prod); }
    ovf += !m;
    const auto d = checked_div(a, b);
    if (b.raw == 0) {
      ASSERT_FALSE(d.has_value());
    } else {
      const cpp_int quot = A * Usd::kScale / B;
      ASSERT_EQ(d.has_value(), fits_i64(quot)) << A << " / " << B;
      if (d) { ASSERT_EQ(cpp_int(d->raw), quot); }
    }
    const std::int64_t k = random_raw(rng) >> (rng() % 64);
    const auto mk = checked_mul(a, k);
    ASSERT_EQ(mk.has_value(), fits_i64(A * k));
    if (mk) { ASSERT_EQ(cpp_int(mk->raw), A * k); }
    if (k != 0) {
      const auto dk = checked_div(a, k);
      ASSERT_EQ(dk.has_value(), fits_i64(A / k));
      if (dk) { ASSERT_EQ(cpp_int(dk->raw), A / k); }
    }
  }
  EXPECT_GT(ovf, 100);
  // Documented rounding: truncation toward zero on both signs.
  EXPECT_EQ(*checked_mul(usd(3), usd(50000000)), usd(1));    // 3e-8 * 0.5 = 1.5e-8 -> 1e-8
  EXPECT_EQ(*checked_mul(usd(-3), usd(50000000)), usd(-1));  // -1.5e-8 -> -1e-8
  EXPECT_EQ(*checked_div(usd(100000000), usd(300000000)), usd(33333333));
  EXPECT_EQ(*checked_div(usd(-100000000), usd(300000000)), usd(-33333333));
  EXPECT_FALSE(checked_div(usd(1), usd(0)).has_value());
  EXPECT_FALSE(checked_div(usd(1), std::int64_t{0}).has_value());
  EXPECT_FALSE(checked_div(Usd::min(), std::int64_t{-1}).has_value());
  EXPECT_FALSE(checked_mul(Usd::min(), std::int64_t{-1}).has_value());
}

cpp_int floor_div(const cpp_int& a, const cpp_int& b) {  // b > 0
  cpp_int q = a / b;
  if (a < 0 && q * b != a) q -= 1;
  return q;
}

TEST(UsdTokenAmount, ShouldValueTokenAmountsExactlyWithFloorRounding) {
  // 1.5 WETH (18 decimals) at 3000.12345678 USD = 4500.18518517 USD.
  const auto eth = from_token_amount(U256(1500000000000000000ULL), 18, *Usd::parse("3000.12345678"));
  ASSERT_TRUE(eth.has_value());
  EXPECT_EQ(to_string(*eth), "4500.18518517");
  // 1 base unit of USDC (6 decimals) at 1.00000000 = 0.000001 USD = 100 raw.
  EXPECT_EQ(*from_token_amount(U256(1), 6, *Usd::parse("1")), usd(100));
  // Floor: 1 wei at 1 USD is 1e-18 USD -> 0; at -1 USD it is -1e-18 -> floor -0.00000001.
  EXPECT_EQ(*from_token_amount(U256(1), 18, *Usd::parse("1")), usd(0));
  EXPECT_EQ(*from_token_amount(U256(1), 18, *Usd::parse("-1")), usd(-1));
  // Huge raw amounts need the 512-bit intermediate: (2^256-1) * 1e-8 USD / 10^77 = 1.157...e-8 -> 1 raw.
  EXPECT_EQ(*from_token_amount(U256::max(), 77, usd(1)), usd(1));
  EXPECT_EQ(*from_token_amount(U256::max(), 77, usd(100000000)), usd(115792089));
  EXPECT_FALSE(from_token_amount(U256::max(), 77, Usd::max()).has_value());  // 1.07e19 raw > INT64_MAX
  EXPECT_EQ(*from_token_amount(U256::max(), 78, Usd::max()), usd(1067993517960455041));
  EXPECT_EQ(*from_token_amount(U256::max(), 200, Usd::max()), usd(0));
  EXPECT_EQ(*from_token_amount(U256::max(), 200, Usd::min()), usd(-1));
  EXPECT_EQ(*from_token_amount(U256::zero(), 200, Usd::min()), usd(0));
  // Overflow is reported.
  EXPECT_FALSE(from_token_amount(U256::max(), 18, usd(1)).has_value());
  EXPECT_FALSE(from_token_amount(U256(2), 0, Usd::max()).has_value());
  EXPECT_EQ(*from_token_amount(U256(1), 0, Usd::min()), Usd::min());
  EXPECT_FALSE(from_token_amount(U256(2), 0, Usd::min()).has_value());
}

TEST(UsdTokenAmount, ShouldMatchOracleOnRandomAmountsDecimalsAndPrices) {
  ValueGen g(32);
  std::mt19937_64 rng(33);
  int ok = 0, ovf = 0;
  for (int i = 0; i < 20000; ++i) {
    const U256 raw = g.next();
    const unsigned decimals = static_cast<unsigned>(rng() % 100);
    const Usd price = usd(random_raw(rng));
    cpp_int p10 = 1;
    for (unsigned k = 0; k < decimals; ++k) p10 *= 10;
    const cpp_int expect = floor_div(to_big(raw) * cpp_int(price.raw), p10);
    const auto got = from_token_amount(raw, decimals, price);
    ASSERT_EQ(got.has_value(), fits_i64(expect)) << to_big(raw) << " d=" << decimals << " p=" << price.raw;
    if (got) { ASSERT_EQ(cpp_int(got->raw), expect) << to_big(raw) << " d=" << decimals << " p=" << price.raw; }
    (got ? ok : ovf)++;
  }
  EXPECT_GT(ok, 1000);
  EXPECT_GT(ovf, 1000);
}

}  // namespace
}  // namespace torq::num
