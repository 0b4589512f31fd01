// Test support for tests/num: conversions between torq::num types and boost cpp_int (the oracle),
// and a deterministic generator of "interesting" 256-bit values (edges, carries across limbs,
// powers of two, random bit lengths). Test-only; allocates freely.
#pragma once

#include <boost/multiprecision/cpp_int.hpp>

#include <cstdint>
#include <random>
#include <vector>

#include "torq/num/uint256.hpp"

namespace torq::num::test {

using boost::multiprecision::cpp_int;

inline const cpp_int& two256() {
  static const cpp_int v = cpp_int(1) << 256;
  return v;
}
inline const cpp_int& two255() {
  static const cpp_int v = cpp_int(1) << 255;
  return v;
}

inline cpp_int to_big(const U256& v) {
  cpp_int r = 0;
  for (int i = 3; i >= 0; --i) r = (r << 64) | cpp_int(v.limb[i]);
  return r;
}
// Reduces modulo 2^256 first (so negative values wrap like two's complement).
inline U256 from_big(cpp_int x) {
  x %= two256();
  if (x < 0) x += two256();
  U256 r = U256::zero();
  for (int i = 0; i < 4; ++i) {
    r.limb[i] = static_cast<std::uint64_t>(x & cpp_int(~0ULL));
    x >>= 64;
  }
  return r;
}
inline cpp_int to_big(const I256& v) {
  cpp_int u = to_big(v.bits());
  return v.is_negative() ? u - two256() : u;
}

// Values that stress carries and normalisation: whole limbs of 0 / 1 / ~0 / 2^63, powers of two
// and their neighbours, random bit lengths, fully random words.
class ValueGen {
 public:
  explicit ValueGen(std::uint64_t seed) : rng_(seed) {}

  std::uint64_t word() { return rng_(); }

  std::uint64_t interesting_limb() {
    switch (rng_() % 8) {
      case 0: return 0;
      case 1: return ~0ULL;
      case 2: return 1ULL << 63;
      case 3: return (1ULL << 63) - 1;
      case 4: return 1;
      case 5: return ~0ULL - 1;
      default: return rng_();
    }
  }

  U256 next() {
    switch (rng_() % 7) {
      case 0: return U256::from_limbs(rng_(), rng_(), rng_(), rng_());
      case 1: {  // random bit length
        const unsigned bits = static_cast<unsigned>(rng_() % 257);
        U256 v = U256::from_limbs(rng_(), rng_(), rng_(), rng_());
        return bits == 256 ? v : v & (U256::pow2(bits) - U256::one());
      }
      case 2: return U256::from_limbs(interesting_limb(), interesting_limb(), interesting_limb(), interesting_limb());
      case 3: {  // 2^k + small delta (k, delta random)
        const unsigned k = static_cast<unsigned>(rng_() % 256);
        const U256 d = U256(rng_() % 5);
        return (rng_() & 1) != 0 ? U256::pow2(k) + d : U256::pow2(k) - d;
      }
      case 4: return edges()[rng_() % edges().size()];
      case 5: return U256(rng_() >> (rng_() % 64));  // 64-bit values
      default: {  // a few significant limbs
        U256 v = U256::zero();
        const int n = static_cast<int>(rng_() % 5);
        for (int i = 0; i < n; ++i) v.limb[i] = interesting_limb();
        return v;
      }
    }
  }

  static const std::vector<U256>& edges() {
    static const std::vector<U256> e = [] {
      std::vector<U256> v;
      v.push_back(U256::zero());
      v.push_back(U256::one());
      v.push_back(U256(2));
      v.push_back(U256(10));
      v.push_back(U256::max());
      v.push_back(U256::max() - U256::one());
      for (unsigned k : {63U, 64U, 127U, 128U, 159U, 160U, 191U, 192U, 255U}) {
        v.push_back(U256::pow2(k));
        v.push_back(U256::pow2(k) - U256::one());
        v.push_back(U256::pow2(k) + U256::one());
      }
      v.push_back(U256(1000000000000000000ULL));  // 1e18
      v.push_back(U256::from_limbs(~0ULL, 0, ~0ULL, 0));
      v.push_back(U256::from_limbs(0, ~0ULL, 0, ~0ULL));
      return v;
    }();
    return e;
  }

 private:
  std::mt19937_64 rng_;
};

}  // namespace torq::num::test
