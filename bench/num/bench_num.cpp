// bench_num: torq::num::U256 against boost::multiprecision::uint256_t (cpp_int_backend 256-bit,
// unsigned, unchecked) in the same run: add, mul, divmod (64-bit and wide divisors), mul_div
// (512-bit intermediate; boost via uint512_t), to_string, parse.
// Each benchmark walks a fixed table of 1024 pre-generated operands (same values for both peers)
// so that nothing folds at compile time; time is per operation.
// Run: bench_num --benchmark_format=json   (bench/num/summarize.py prints torq/boost ratios)
#include <benchmark/benchmark.h>

#include <boost/multiprecision/cpp_int.hpp>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "torq/num/uint256.hpp"

namespace {

using torq::num::U256;
using BU256 = boost::multiprecision::uint256_t;
using BU512 = boost::multiprecision::uint512_t;

static_assert(std::is_same_v<BU256, boost::multiprecision::number<boost::multiprecision::cpp_int_backend<
                                        256, 256, boost::multiprecision::unsigned_magnitude,
                                        boost::multiprecision::unchecked, void>>>);

constexpr std::size_t kN = 1024;

BU256 to_boost(const U256& v) {
  BU256 r = 0;
  for (int i = 3; i >= 0; --i) r = (r << 64) | BU256(v.limb[i]);
  return r;
}

U256 random_bits(std::mt19937_64& rng, unsigned bits) {  // exactly `bits` significant bits
  U256 v = U256::from_limbs(rng(), rng(), rng(), rng());
  if (bits < 256) v = v & (U256::pow2(bits) - U256::one());
  return v | U256::pow2(bits - 1);
}

struct Operands {
  std::vector<U256> a, b, d64, dwide, m160, dtop;
  std::vector<std::string> dec;
  std::vector<BU256> ba, bb, bd64, bdwide, bm160, bdtop;
  Operands() {
    std::mt19937_64 rng(42);
    for (std::size_t i = 0; i < kN; ++i) {
      a.push_back(random_bits(rng, 256));
      b.push_back(random_bits(rng, 256));
      d64.push_back(random_bits(rng, 1 + static_cast<unsigned>(rng() % 64)));
      dwide.push_back(random_bits(rng, 65 + static_cast<unsigned>(rng() % 192)));  // 65..256 bits
      m160.push_back(random_bits(rng, 160));
      dtop.push_back(random_bits(rng, 256));  // top bit set: a * m160 / dtop always fits
      dec.push_back(torq::num::to_string(a.back()));
      ba.push_back(to_boost(a.back()));
      bb.push_back(to_boost(b.back()));
      bd64.push_back(to_boost(d64.back()));
      bdwide.push_back(to_boost(dwide.back()));
      bm160.push_back(to_boost(m160.back()));
      bdtop.push_back(to_boost(dtop.back()));
    }
  }
};

const Operands& ops() {
  static const Operands o;
  return o;
}

void set_items(benchmark::State& s) { s.SetItemsProcessed(static_cast<std::int64_t>(s.iterations())); }

// ---- add
void BM_add_torq(benchmark::State& s) {
  const auto& o = ops();
  std::size_t i = 0;
  for (auto _ : s) {
    U256 r = o.a[i] + o.b[i];
    benchmark::DoNotOptimize(r);
    i = (i + 1) % kN;
  }
  set_items(s);
}
void BM_add_boost(benchmark::State& s) {
  const auto& o = ops();
  std::size_t i = 0;
  for (auto _ : s) {
    BU256 r = o.ba[i] + o.bb[i];
    benchmark::DoNotOptimize(r);
    i = (i + 1) % kN;
  }
  set_items(s);
}
// ---- mul (wrapping)
void BM_mul_torq(benchmark::State& s) {
  const auto& o = ops();
  std::size_t i = 0;
  for (auto _ : s) {
    U256 r = o.a[i] * o.b[i];
    benchmark::DoNotOptimize(r);
    i = (i + 1) % kN;
  }
  set_items(s);
}
void BM_mul_boost(benchmark::State& s) {
  const auto& o = ops();
  std::size_t i = 0;
  for (auto _ : s) {
    BU256 r = o.ba[i] * o.bb[i];
    benchmark::DoNotOptimize(r);
    i = (i + 1) % kN;
  }
  set_items(s);
}
// ---- divmod, 256-bit dividend, 1..64-bit divisor
void BM_divmod64_torq(benchmark::State& s) {
  const auto& o = ops();
  std::size_t i = 0;
  for (auto _ : s) {
    U256 q, r;
    benchmark::DoNotOptimize(torq::num::divmod(o.a[i], o.d64[i], q, r));
    benchmark::DoNotOptimize(q);
    benchmark::DoNotOptimize(r);
    i = (i + 1) % kN;
  }
  set_items(s);
}
void BM_divmod64_boost(benchmark::State& s) {
  const auto& o = ops();
  std::size_t i = 0;
  for (auto _ : s) {
    BU256 q, r;
    boost::multiprecision::divide_qr(o.ba[i], o.bd64[i], q, r);
    benchmark::DoNotOptimize(q);
    benchmark::DoNotOptimize(r);
    i = (i + 1) % kN;
  }
  set_items(s);
}
// ---- divmod, 256-bit dividend, 65..256-bit divisor
void BM_divmod_wide_torq(benchmark::State& s) {
  const auto& o = ops();
  std::size_t i = 0;
  for (auto _ : s) {
    U256 q, r;
    benchmark::DoNotOptimize(torq::num::divmod(o.a[i], o.dwide[i], q, r));
    benchmark::DoNotOptimize(q);
    benchmark::DoNotOptimize(r);
    i = (i + 1) % kN;
  }
  set_items(s);
}
void BM_divmod_wide_boost(benchmark::State& s) {
  const auto& o = ops();
  std::size_t i = 0;
  for (auto _ : s) {
    BU256 q, r;
    boost::multiprecision::divide_qr(o.ba[i], o.bdwide[i], q, r);
    benchmark::DoNotOptimize(q);
    benchmark::DoNotOptimize(r);
    i = (i + 1) % kN;
  }
  set_items(s);
}
// ---- mul_div: 256-bit * 160-bit / 256-bit (the shape of Uniswap V3 SqrtPriceMath)
void BM_mul_div_torq(benchmark::State& s) {
  const auto& o = ops();
  std::size_t i = 0;
  for (auto _ : s) {
    auto r = torq::num::mul_div(o.a[i], o.m160[i], o.dtop[i]);
    benchmark::DoNotOptimize(r);
    i = (i + 1) % kN;
  }
  set_items(s);
}
void BM_mul_div_boost(benchmark::State& s) {
  // The natural boost spelling: widen to uint512_t, divide, range-check, narrow.
  const auto& o = ops();
  std::size_t i = 0;
  for (auto _ : s) {
    const BU512 q = BU512(o.ba[i]) * BU512(o.bm160[i]) / BU512(o.bdtop[i]);
    bool fits = q <= BU512(std::numeric_limits<BU256>::max());
    BU256 r = fits ? static_cast<BU256>(q) : BU256(0);
    benchmark::DoNotOptimize(fits);
    benchmark::DoNotOptimize(r);
    i = (i + 1) % kN;
  }
  set_items(s);
}
// ---- to_string (decimal, full width)
void BM_to_string_torq(benchmark::State& s) {
  const auto& o = ops();
  std::size_t i = 0;
  for (auto _ : s) {
    std::string str = torq::num::to_string(o.a[i]);
    benchmark::DoNotOptimize(str.data());
    i = (i + 1) % kN;
  }
  set_items(s);
}
void BM_to_string_boost(benchmark::State& s) {
  const auto& o = ops();
  std::size_t i = 0;
  for (auto _ : s) {
    std::string str = o.ba[i].str();
    benchmark::DoNotOptimize(str.data());
    i = (i + 1) % kN;
  }
  set_items(s);
}
// ---- parse (decimal, full width, ~77 digits)
void BM_parse_torq(benchmark::State& s) {
  const auto& o = ops();
  std::size_t i = 0;
  for (auto _ : s) {
    auto v = torq::num::parse_u256(o.dec[i]);
    benchmark::DoNotOptimize(v);
    i = (i + 1) % kN;
  }
  set_items(s);
}
void BM_parse_boost(benchmark::State& s) {
  // boost's string constructor throws on junk; the caller has to catch (not hot-path friendly).
  const auto& o = ops();
  std::size_t i = 0;
  for (auto _ : s) {
    BU256 v(o.dec[i]);
    benchmark::DoNotOptimize(v);
    i = (i + 1) % kN;
  }
  set_items(s);
}

BENCHMARK(BM_add_torq);
BENCHMARK(BM_add_boost);
BENCHMARK(BM_mul_torq);
BENCHMARK(BM_mul_boost);
BENCHMARK(BM_divmod64_torq);
BENCHMARK(BM_divmod64_boost);
BENCHMARK(BM_divmod_wide_torq);
BENCHMARK(BM_divmod_wide_boost);
BENCHMARK(BM_mul_div_torq);
BENCHMARK(BM_mul_div_boost);
BENCHMARK(BM_to_string_torq);
BENCHMARK(BM_to_string_boost);
BENCHMARK(BM_parse_torq);
BENCHMARK(BM_parse_boost);

}  // namespace

BENCHMARK_MAIN();
