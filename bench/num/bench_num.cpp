// bench_num: torq::num::U256 against boost::multiprecision::uint256_t (cpp_int_backend 256-bit,
// unsigned, unchecked) in the same run: add, mul, divmod (64-bit and wide divisors), mul_div
// (512-bit intermediate; boost via uint512_t), to_string, parse.
// Each benchmark walks a fixed table of 1024 pre-generated operands (same values for both peers)
// so that nothing folds at compile time; time is per operation.
// Third peer "prev": the previous torq division (Knuth D with one hardware divq per quotient
// digit, no power-of-two shortcut), kept in torq::num::detail as divmod_knuth_divq / divmod_limb,
// so the reciprocal-based division (Möller–Granlund 3-by-2 / 2-by-1) is measured against it in
// the same process. Extra shapes from the AMM math: mul_div by Q96 (SqrtPriceMath
// getAmount1Delta), 384-by-192-bit and 352-by-128-bit mul_div.
// Run: bench_num --benchmark_format=json   (bench/num/summarize.py prints the ratios)
#include <benchmark/benchmark.h>

#include <boost/multiprecision/cpp_int.hpp>

#include <cstdint>
#include <limits>
#include <optional>
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
  std::vector<U256> l128, diff160, a192, b192, d192, a200, b150, d128;
  std::vector<std::string> dec;
  std::vector<BU256> ba, bb, bd64, bdwide, bm160, bdtop;
  std::vector<BU256> bl128, bdiff160, ba192, bb192, bd192, ba200, bb150, bd128;
  Operands() {
    std::mt19937_64 rng(42);
    for (std::size_t i = 0; i < kN; ++i) {
      l128.push_back(random_bits(rng, 128));
      diff160.push_back(random_bits(rng, 1 + static_cast<unsigned>(rng() % 160)));
      a192.push_back(random_bits(rng, 192));
      b192.push_back(random_bits(rng, 192));
      d192.push_back(random_bits(rng, 192));
      a200.push_back(random_bits(rng, 200));
      b150.push_back(random_bits(rng, 150));
      d128.push_back(random_bits(rng, 128));
      bl128.push_back(to_boost(l128.back()));
      bdiff160.push_back(to_boost(diff160.back()));
      ba192.push_back(to_boost(a192.back()));
      bb192.push_back(to_boost(b192.back()));
      bd192.push_back(to_boost(d192.back()));
      ba200.push_back(to_boost(a200.back()));
      bb150.push_back(to_boost(b150.back()));
      bd128.push_back(to_boost(d128.back()));
    }
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

// ---- the previous implementation (same contract as divmod / mul_div), for the "prev" peer
bool prev_divmod(const U256& a, const U256& b, U256& quot, U256& rem) {
  using namespace torq::num::detail;
  const int n = significant_limbs(b.limb, 4);
  if (n == 0) return false;
  const int m = significant_limbs(a.limb, 4);
  if (a < b) {
    rem = a;
    quot = U256::zero();
    return true;
  }
  U256 q = U256::zero(), r = U256::zero();
  if (n == 1) r.limb[0] = divmod_limb(a.limb, m, b.limb[0], q.limb);
  else divmod_knuth_divq(a.limb, m, b.limb, n, q.limb, r.limb);
  quot = q;
  rem = r;
  return true;
}
std::optional<U256> prev_mul_div(const U256& a, const U256& b, const U256& d) {
  using namespace torq::num::detail;
  if (d.is_zero()) return std::nullopt;
  U256 quot, rem;
  if (a.bit_length() + b.bit_length() <= 256) {
    (void)prev_divmod(a * b, d, quot, rem);
    return quot;
  }
  std::uint64_t p[8];
  mul_full(a, b, p);
  if (U256::from_limbs(p[4], p[5], p[6], p[7]) >= d) return std::nullopt;
  const int m = significant_limbs(p, 8);
  const int n = significant_limbs(d.limb, 4);
  if (m <= 4) {
    (void)prev_divmod(U256::from_limbs(p[0], p[1], p[2], p[3]), d, quot, rem);
    return quot;
  }
  std::uint64_t q[8]{};
  std::uint64_t r[4]{};
  if (n == 1) (void)divmod_limb(p, m, d.limb[0], q);
  else divmod_knuth_divq(p, m, d.limb, n, q, r);
  return U256::from_limbs(q[0], q[1], q[2], q[3]);
}

void BM_divmod64_prev(benchmark::State& s) {
  const auto& o = ops();
  std::size_t i = 0;
  for (auto _ : s) {
    U256 q, r;
    benchmark::DoNotOptimize(prev_divmod(o.a[i], o.d64[i], q, r));
    benchmark::DoNotOptimize(q);
    benchmark::DoNotOptimize(r);
    i = (i + 1) % kN;
  }
  set_items(s);
}
void BM_divmod_wide_prev(benchmark::State& s) {
  const auto& o = ops();
  std::size_t i = 0;
  for (auto _ : s) {
    U256 q, r;
    benchmark::DoNotOptimize(prev_divmod(o.a[i], o.dwide[i], q, r));
    benchmark::DoNotOptimize(q);
    benchmark::DoNotOptimize(r);
    i = (i + 1) % kN;
  }
  set_items(s);
}
void BM_mul_div_prev(benchmark::State& s) {
  const auto& o = ops();
  std::size_t i = 0;
  for (auto _ : s) {
    auto r = prev_mul_div(o.a[i], o.m160[i], o.dtop[i]);
    benchmark::DoNotOptimize(r);
    i = (i + 1) % kN;
  }
  set_items(s);
}

// mul_div shapes, three peers each. X: operand vectors; D: denominator expression.
#define TORQ_MULDIV_BENCH(NAME, A, B, D, BA, BB, BD)                                              \
  void BM_##NAME##_torq(benchmark::State& s) {                                                   \
    const auto& o = ops();                                                                       \
    std::size_t i = 0;                                                                           \
    for (auto _ : s) {                                                                           \
      auto r = torq::num::mul_div(o.A[i], o.B[i], D);                                            \
      benchmark::DoNotOptimize(r);                                                               \
      i = (i + 1) % kN;                                                                          \
    }                                                                                            \
    set_items(s);                                                                                \
  }                                                                                              \
  void BM_##NAME##_prev(benchmark::State& s) {                                                   \
    const auto& o = ops();                                                                       \
    std::size_t i = 0;                                                                           \
    for (auto _ : s) {                                                                           \
      auto r = prev_mul_div(o.A[i], o.B[i], D);                                                  \
      benchmark::DoNotOptimize(r);                                                               \
      i = (i + 1) % kN;                                                                          \
    }                                                                                            \
    set_items(s);                                                                                \
  }                                                                                              \
  void BM_##NAME##_boost(benchmark::State& s) {                                                  \
    const auto& o = ops();                                                                       \
    std::size_t i = 0;                                                                           \
    for (auto _ : s) {                                                                           \
      const BU512 q = BU512(o.BA[i]) * BU512(o.BB[i]) / BU512(BD);                               \
      bool fits = q <= BU512(std::numeric_limits<BU256>::max());                                 \
      BU256 r = fits ? static_cast<BU256>(q) : BU256(0);                                         \
      benchmark::DoNotOptimize(fits);                                                            \
      benchmark::DoNotOptimize(r);                                                               \
      i = (i + 1) % kN;                                                                          \
    }                                                                                            \
    set_items(s);                                                                                \
  }                                                                                              \
  BENCHMARK(BM_##NAME##_torq);                                                                   \
  BENCHMARK(BM_##NAME##_prev);                                                                   \
  BENCHMARK(BM_##NAME##_boost);

const U256 kQ96 = U256::pow2(96);
const BU256 kBQ96 = BU256(1) << 96;
TORQ_MULDIV_BENCH(mul_div_q96, l128, diff160, kQ96, bl128, bdiff160, kBQ96)
TORQ_MULDIV_BENCH(mul_div_384by192, a192, b192, o.d192[i], ba192, bb192, o.bd192[i])
TORQ_MULDIV_BENCH(mul_div_350by128, a200, b150, o.d128[i], ba200, bb150, o.bd128[i])
#undef TORQ_MULDIV_BENCH

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
BENCHMARK(BM_divmod64_prev);
BENCHMARK(BM_divmod_wide_torq);
BENCHMARK(BM_divmod_wide_boost);
BENCHMARK(BM_divmod_wide_prev);
BENCHMARK(BM_mul_div_torq);
BENCHMARK(BM_mul_div_boost);
BENCHMARK(BM_mul_div_prev);
BENCHMARK(BM_to_string_torq);
BENCHMARK(BM_to_string_boost);
BENCHMARK(BM_parse_torq);
BENCHMARK(BM_parse_boost);

}  // namespace

BENCHMARK_MAIN();
