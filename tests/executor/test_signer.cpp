// Precomputed-nonce signing (signer.hpp, nonce_pool.hpp, scalar.hpp):
//   - the mod-n arithmetic against a boost::multiprecision::cpp_int oracle on random values and
//     on the edges (0, 1, n-1, n, values >= n, 2^256-1, n/2, products near 2^512);
//   - thousands of fast-path signatures checked by libsecp256k1 itself (secp256k1_ecdsa_verify
//     and secp256k1_ecdsa_recover on a separate context): they verify, recover to the key's
//     address, are low-s, show both parities and never repeat r;
//   - pool exhaustion falls back to RFC 6979 (byte-identical to sign_rfc6979) and is counted;
//   - the refill thread tops the pool up; concurrent signers never share a nonce;
//   - a forked child finds the pool empty (MADV_WIPEONFORK) and cannot reuse a parent nonce;
//   - EIP-1559 transactions signed on the fast path decode and recover to the sender.
#include <gtest/gtest.h>
#include <secp256k1.h>
#include <secp256k1_recovery.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/multiprecision/cpp_int.hpp>
#include <chrono>
#include <cstring>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "ethers_cases.hpp"
#include "torq/executor/hex.hpp"
#include "torq/executor/nonce_pool.hpp"
#include "torq/executor/scalar.hpp"
#include "torq/executor/tx.hpp"

using namespace torq::executor;
using namespace torq::executor::test;
using torq::num::U256;
using boost::multiprecision::cpp_int;

namespace {

// ---------------------------------------------------------------- oracle helpers
cpp_int big(const U256& v) {
  cpp_int r = 0;
  for (int i = 3; i >= 0; --i) r = (r << 64) | cpp_int(v.limb[i]);
  return r;
}
cpp_int big512(const std::uint64_t* p) {
  cpp_int r = 0;
  for (int i = 7; i >= 0; --i) r = (r << 64) | cpp_int(p[i]);
  return r;
}
const cpp_int kN = big(scalar::kOrder);

std::vector<U256> edge_values() {
  const U256 n = scalar::kOrder;
  const U256 c = U256::zero() - n;
  return {U256::zero(),
          U256::one(),
          U256(2),
          n - U256::one(),
          n,
          n + U256::one(),
          n + n - U256::one() - c,  // 2^256 - 1 - ... wraps: any value, kept for its bits
          U256::max(),
          U256::max() - U256::one(),
          c,
          c - U256::one(),
          scalar::kHalfOrder,
          scalar::kHalfOrder + U256::one(),
          U256::pow2(255),
          U256::pow2(128),
          U256::pow2(129) - U256::one(),
          U256::from_limbs(~0ULL, ~0ULL, 0, 0),
          U256::from_limbs(0, 0, ~0ULL, ~0ULL)};
}

U256 random_u256(std::mt19937_64& rng) {
  return U256::from_limbs(rng(), rng(), rng(), rng());
}
// Values with long runs of ones/zeros hit carries that uniform values rarely do.
U256 random_sparse(std::mt19937_64& rng) {
  U256 v;
  for (auto& l : v.limb) {
    switch (rng() % 4) {
      case 0: l = 0; break;
      case 1: l = ~0ULL; break;
      case 2: l = rng() >> (rng() % 64); break;
      default: l = rng(); break;
    }
  }
  return v;
}

// ---------------------------------------------------------------- libsecp256k1 oracle
struct Secp {
  secp256k1_context* ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
  ~Secp() { secp256k1_context_destroy(ctx); }

  secp256k1_pubkey pubkey(const std::string& key_hex) const {
    const auto sk = from_hex(key_hex);
    secp256k1_pubkey pk;
    EXPECT_EQ(secp256k1_ec_pubkey_create(ctx, &pk, sk->data()), 1);
    return pk;
  }
  bool verify(const Hash256& digest, const Signature& s, const secp256k1_pubkey& pk) const {
    std::uint8_t rs[64];
    std::memcpy(rs, s.r.data(), 32);
    std::memcpy(rs + 32, s.s.data(), 32);
    secp256k1_ecdsa_signature sig;
    if (secp256k1_ecdsa_signature_parse_compact(ctx, &sig, rs) != 1) return false;
    return secp256k1_ecdsa_verify(ctx, &sig, digest.data(), &pk) == 1;  // rejects high s too
  }
  std::string recover(const Hash256& digest, const Signature& s) const {
    std::uint8_t rs[64];
    std::memcpy(rs, s.r.data(), 32);
    std::memcpy(rs + 32, s.s.data(), 32);
    secp256k1_ecdsa_recoverable_signature sig;
    if (secp256k1_ecdsa_recoverable_signature_parse_compact(ctx, &sig, rs, s.y_parity) != 1) return "bad";
    secp256k1_pubkey pk;
    if (secp256k1_ecdsa_recover(ctx, &pk, &sig, digest.data()) != 1) return "none";
    std::uint8_t ser[65];
    std::size_t len = sizeof ser;
    (void)secp256k1_ec_pubkey_serialize(ctx, ser, &len, &pk, SECP256K1_EC_UNCOMPRESSED);
    const Hash256 h = keccak256(std::span<const std::uint8_t>(ser + 1, 64));
    torq::protocol::Address a{};
    std::memcpy(a.data(), h.data() + 12, 20);
    return torq::protocol::format_address(a);
  }
};

std::string random_key_hex(std::mt19937_64& rng) {
  for (;;) {
    const U256 k = random_u256(rng);
    if (k.is_zero() || k >= scalar::kOrder) continue;
    const auto b = torq::num::to_be_bytes(k);
    return to_hex(b).substr(2);
  }
}

Hash256 digest_of(std::uint64_t i) {
  const std::string s = "torq fast signer digest " + std::to_string(i);
  return keccak256(std::string_view(s));
}

SignerOptions precomputed(std::size_t capacity, bool prefill = true) {
  SignerOptions o;
  o.nonces = NonceMode::Precomputed;
  o.pool_capacity = capacity;
  o.prefill = prefill;
  return o;
}

}  // namespace

// ================================================================ mod-n arithmetic
static_assert(scalar::mul(U256(2), scalar::kHalfOrder + U256::one()) == U256::one(), "(n+1)/2 is 2^-1");
static_assert(scalar::add(scalar::kOrder - U256::one(), U256::one()) == U256::zero());
static_assert(scalar::neg(U256::zero()) == U256::zero());

TEST(Scalar, ShouldReduce512BitValuesLikeTheOracle) {
  std::mt19937_64 rng(1);
  auto check = [](const std::uint64_t* p) {
    const U256 got = scalar::reduce512(p);
    ASSERT_EQ(big(got), big512(p) % kN) << "input " << big512(p);
  };
  for (int i = 0; i < 20000; ++i) {
    std::uint64_t p[8];
    for (auto& l : p) l = (i % 2 == 0) ? rng() : (rng() % 3 == 0 ? ~0ULL : (rng() % 2 ? 0 : rng()));
    check(p);
  }
  // Edges: 0, 2^512 - 1, n, n·2^256, n^2, (n-1)^2, 2^256·c, c^2, n - 1 + c·2^256.
  const auto ev = edge_values();
  for (const U256& a : ev) {
    for (const U256& b : ev) {
      std::uint64_t p[8];
      for (int j = 0; j < 4; ++j) {
        p[j] = a.limb[j];
        p[j + 4] = b.limb[j];
      }
      check(p);
      torq::num::detail::mul_full(a, b, p);
      check(p);
    }
  }
}

TEST(Scalar, ShouldMultiplyAddNegateAndReduceLikeTheOracle) {
  std::mt19937_64 rng(2);
  std::vector<U256> vals = edge_values();
  for (int i = 0; i < 300; ++i) vals.push_back(i % 2 ? random_u256(rng) : random_sparse(rng));
  for (const U256& a : vals) {
    ASSERT_EQ(big(scalar::reduce(a)), big(a) % kN);
    const U256 ar = scalar::reduce(a);
    ASSERT_EQ(big(scalar::neg(ar)), (kN - big(ar)) % kN);
    ASSERT_EQ(scalar::is_high(ar), big(ar) > kN / 2 ? 1U : 0U);
    for (const U256& b : vals) {
      ASSERT_EQ(big(scalar::mul(a, b)), big(a) * big(b) % kN) << big(a) << " * " << big(b);
      const U256 br = scalar::reduce(b);
      ASSERT_EQ(big(scalar::add(ar, br)), (big(ar) + big(br)) % kN);
    }
  }
}

TEST(Scalar, ShouldInvertLikeTheOracle) {
  std::mt19937_64 rng(3);
  std::vector<U256> vals = edge_values();
  for (int i = 0; i < 200; ++i) vals.push_back(random_u256(rng));
  for (const U256& a : vals) {
    const U256 inv = scalar::inv(a);
    const cpp_int ar = big(a) % kN;
    if (ar == 0) {
      EXPECT_EQ(inv, U256::zero());
      continue;
    }
    ASSERT_EQ(big(inv), boost::multiprecision::powm(ar, kN - 2, kN)) << big(a);
    ASSERT_EQ(big(inv) * ar % kN, 1);
  }
  EXPECT_EQ(scalar::inv(scalar::kOrder - U256::one()), scalar::kOrder - U256::one());
  EXPECT_EQ(scalar::inv(U256::one()), U256::one());
}

TEST(Scalar, ShouldClassifyLowAndHighSAtTheBoundary) {
  EXPECT_EQ(scalar::is_high(scalar::kHalfOrder), 0U);
  EXPECT_EQ(scalar::is_high(scalar::kHalfOrder + U256::one()), 1U);
  EXPECT_EQ(scalar::is_high(U256::zero()), 0U);
  EXPECT_EQ(scalar::is_high(scalar::kOrder - U256::one()), 1U);
  EXPECT_EQ(scalar::neg(scalar::kHalfOrder + U256::one()), scalar::kHalfOrder);
}

// ================================================================ the pool
TEST(NoncePoolTest, ShouldReturnEachPushedNonceOnceInOrderAndReportFullAndEmpty) {
  NoncePool pool(4);
  PrecomputedNonce n{};
  EXPECT_EQ(pool.try_pop(n), PopResult::Empty);
  for (std::uint64_t round = 0; round < 3; ++round) {  // wraps the ring twice
    for (std::uint64_t i = 0; i < 4; ++i) {
      PrecomputedNonce in{U256(round * 10 + i + 1), U256(100 + i), static_cast<std::uint8_t>(i & 1)};
      ASSERT_TRUE(pool.try_push(in));
    }
    PrecomputedNonce extra{U256(999), U256(999), 0};
    EXPECT_FALSE(pool.try_push(extra)) << "a full pool must refuse";
    EXPECT_EQ(pool.size(), 4U);
    for (std::uint64_t i = 0; i < 4; ++i) {
      ASSERT_EQ(pool.try_pop(n), PopResult::Ok);
      EXPECT_EQ(n.k_inv, U256(round * 10 + i + 1));
      EXPECT_EQ(n.r, U256(100 + i));
      EXPECT_EQ(n.recid, i & 1);
    }
    EXPECT_EQ(pool.try_pop(n), PopResult::Empty);
  }
}

TEST(NoncePoolTest, ShouldRefuseACapacityThatIsNotAPowerOfTwo) {
  EXPECT_THROW(NoncePool(1000), std::invalid_argument);
  EXPECT_THROW(NoncePool(1), std::invalid_argument);
  EXPECT_THROW(NoncePool(std::size_t{1} << 21), std::invalid_argument);
}

// ================================================================ the signer
TEST(FastSigner, ShouldProduceSignaturesThatLibsecp256k1VerifiesAndRecoversToTheKeysAddress) {
  Secp secp;
  std::mt19937_64 rng(4);
  std::vector<std::string> keys = {kAnvilKey0};
  for (int i = 0; i < 3; ++i) keys.push_back(random_key_hex(rng));
  Signer signer(precomputed(1024));
  EXPECT_EQ(signer.mode(), NonceMode::Precomputed);
  std::set<std::array<std::uint8_t, 32>> seen_r;
  int parity[2] = {0, 0};
  constexpr int kPerKey = 1250;  // 5000 signatures
  for (const std::string& kh : keys) {
    const PrivateKey key = PrivateKey::from_hex(kh);
    const secp256k1_pubkey pk = secp.pubkey(kh);
    const std::string addr = torq::protocol::format_address(signer.address_of(key));
    for (int i = 0; i < kPerKey; ++i) {
      if (signer.nonces_available() == 0) {
        ASSERT_GT(signer.refill(), 0U);
      }
      Hash256 digest = digest_of(static_cast<std::uint64_t>(i));
      if (i % 50 == 0) std::memset(digest.data(), i % 100 == 0 ? 0x00 : 0xff, 32);  // z = 0, z >= n
      Signature sig;
      ASSERT_EQ(signer.sign(digest, key, sig), SignError::Ok);
      ASSERT_TRUE(secp.verify(digest, sig, pk)) << "signature " << i << " does not verify";
      ASSERT_EQ(secp.recover(digest, sig), addr) << "signature " << i << " recovers elsewhere";
      ASSERT_LE(torq::num::from_be_bytes(sig.s), scalar::kHalfOrder) << "high s";
      ASSERT_LE(sig.y_parity, 1);
      ++parity[sig.y_parity];
      ASSERT_TRUE(seen_r.insert(sig.r).second) << "r repeated: a nonce was used twice";
    }
  }
  EXPECT_GT(parity[0], 1000);
  EXPECT_GT(parity[1], 1000);
  const SignerStats st = signer.stats();
  EXPECT_EQ(st.precomputed, keys.size() * kPerKey);
  EXPECT_EQ(st.fallback_empty + st.fallback_busy + st.fallback_degenerate, 0U);
  EXPECT_GE(st.generated, st.precomputed);
}

TEST(FastSigner, ShouldNeverRepeatANonceForTheSameDigest) {
  Signer signer(precomputed(16));
  const PrivateKey key = PrivateKey::from_hex(kAnvilKey0);
  const Hash256 digest = digest_of(7);
  Signature a, b, det;
  ASSERT_EQ(signer.sign(digest, key, a), SignError::Ok);
  ASSERT_EQ(signer.sign(digest, key, b), SignError::Ok);
  ASSERT_EQ(signer.sign_rfc6979(digest, key, det), SignError::Ok);
  EXPECT_NE(a.r, b.r);
  EXPECT_NE(a.r, det.r);
  EXPECT_NE(b.r, det.r);
}

TEST(FastSigner, ShouldFallBackToRfc6979WhenThePoolIsExhaustedAndCountIt) {
  Signer fast(precomputed(8));
  Signer rfc;
  EXPECT_EQ(rfc.mode(), NonceMode::Rfc6979);
  const PrivateKey key = PrivateKey::from_hex(kAnvilKey0);
  ASSERT_EQ(fast.nonces_available(), 8U);
  for (int i = 0; i < 20; ++i) {
    const Hash256 digest = digest_of(1000 + static_cast<std::uint64_t>(i));
    Signature got, det;
    ASSERT_EQ(fast.sign(digest, key, got), SignError::Ok);
    ASSERT_EQ(rfc.sign(digest, key, det), SignError::Ok);
    if (i < 8) {
      EXPECT_NE(got.r, det.r) << i << ": should have used a pool nonce";
    } else {
      EXPECT_EQ(got.r, det.r) << i << ": should be the RFC 6979 signature";
      EXPECT_EQ(got.s, det.s);
      EXPECT_EQ(got.y_parity, det.y_parity);
    }
  }
  SignerStats st = fast.stats();
  EXPECT_EQ(st.precomputed, 8U);
  EXPECT_EQ(st.fallback_empty, 12U);
  EXPECT_EQ(fast.nonces_available(), 0U);
  EXPECT_EQ(fast.refill(), 8U);
  Signature s;
  ASSERT_EQ(fast.sign(digest_of(1), key, s), SignError::Ok);
  EXPECT_EQ(fast.stats().precomputed, 9U);
}

TEST(FastSigner, ShouldStartEmptyWithoutPrefillAndSignByRfc6979) {
  Signer fast(precomputed(8, /*prefill=*/false));
  const PrivateKey key = PrivateKey::from_hex(kAnvilKey0);
  EXPECT_EQ(fast.nonces_available(), 0U);
  Signature got, det;
  ASSERT_EQ(fast.sign(digest_of(5), key, got), SignError::Ok);
  ASSERT_EQ(fast.sign_rfc6979(digest_of(5), key, det), SignError::Ok);
  EXPECT_EQ(got.r, det.r);
  EXPECT_EQ(fast.stats().fallback_empty, 1U);
}

TEST(FastSigner, ShouldRefuseBadOptionsAndRefillThreadInRfc6979Mode) {
  EXPECT_THROW(Signer(precomputed(1000)), std::invalid_argument);
  SignerOptions o = precomputed(8);
  o.low_water = 9;
  EXPECT_THROW(Signer{o}, std::invalid_argument);
  Signer rfc;
  EXPECT_THROW(rfc.start_refill(), std::logic_error);
  EXPECT_EQ(rfc.refill(), 0U);
  EXPECT_EQ(rfc.nonces_available(), 0U);
}

TEST(FastSigner, ShouldHaveTheRefillThreadTopUpThePool) {
  SignerOptions o = precomputed(64);
  o.low_water = 32;
  Signer signer(o);
  const PrivateKey key = PrivateKey::from_hex(kAnvilKey0);
  signer.start_refill(std::chrono::microseconds(200));
  signer.start_refill();  // idempotent
  Signature s;
  for (int i = 0; i < 40; ++i) ASSERT_EQ(signer.sign(digest_of(static_cast<std::uint64_t>(i)), key, s), SignError::Ok);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (signer.nonces_available() < 64 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(signer.nonces_available(), 64U) << "the thread did not refill below the low-water mark";
  signer.stop_refill();
  EXPECT_GE(signer.stats().generated, 64U + 40U);
  EXPECT_EQ(signer.refill(), 0U);  // full; refill() still works after stop_refill()
}

TEST(FastSigner, ShouldNeverGiveTheSameNonceToConcurrentSigners) {
  Secp secp;
  SignerOptions o = precomputed(256);
  Signer signer(o);
  signer.start_refill(std::chrono::microseconds(100));
  const PrivateKey key = PrivateKey::from_hex(kAnvilKey0);
  const secp256k1_pubkey pk = secp.pubkey(kAnvilKey0);
  constexpr int kThreads = 3, kEach = 400;
  std::vector<std::vector<std::pair<Hash256, Signature>>> out(kThreads);
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; ++t) {
    ts.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        const Hash256 d = digest_of(static_cast<std::uint64_t>(t * 100000 + i));
        Signature s;
        if (signer.sign(d, key, s) == SignError::Ok) out[static_cast<std::size_t>(t)].emplace_back(d, s);
      }
    });
  }
  for (auto& t : ts) t.join();
  signer.stop_refill();
  std::set<std::array<std::uint8_t, 32>> seen_r;
  for (const auto& v : out) {
    ASSERT_EQ(v.size(), static_cast<std::size_t>(kEach));
    for (const auto& [d, s] : v) {
      ASSERT_TRUE(secp.verify(d, s, pk));
      ASSERT_TRUE(seen_r.insert(s.r).second) << "r repeated across threads";
    }
  }
  const SignerStats st = signer.stats();
  EXPECT_EQ(st.precomputed + st.fallback_empty + st.fallback_busy, static_cast<std::uint64_t>(kThreads * kEach));
  EXPECT_GT(st.precomputed, 0U);
}

TEST(FastSigner, ShouldLeaveAForkedChildWithAnEmptyPool) {
  Signer signer(precomputed(16));
  const PrivateKey key = PrivateKey::from_hex(kAnvilKey0);
  ASSERT_EQ(signer.nonces_available(), 16U);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // Child: the mapping is zero (MADV_WIPEONFORK): no nonce to reuse, RFC 6979 instead.
    Signature got, det;
    const Hash256 d = digest_of(42);
    const bool empty = signer.nonces_available() == 0;
    const bool ok = signer.sign(d, key, got) == SignError::Ok && signer.sign_rfc6979(d, key, det) == SignError::Ok &&
                    got.r == det.r && got.s == det.s;
    ::_exit(empty && ok ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "the child saw the parent's nonces";
  EXPECT_EQ(signer.nonces_available(), 16U) << "the parent keeps its pool";
}

TEST(FastSigner, ShouldSignEip1559TransactionsThatDecodeAndRecoverToTheSender) {
  Signer signer(precomputed(64));
  const PrivateKey key = PrivateKey::from_hex(kAnvilKey0);
  std::vector<std::uint8_t> buf(4096), scratch(4096);
  int n = 0;
  for (const auto& c : tx_cases()) {
    SignedTx s;
    ASSERT_EQ(sign_tx(signer, key, c.tx, buf, s), TxError::Ok) << c.name;
    DecodedTx d;
    ASSERT_EQ(decode_signed_tx(std::span(buf).first(s.size), scratch, d), TxError::Ok) << c.name;
    EXPECT_EQ(d.hash, s.hash);
    EXPECT_EQ(d.signing_hash, s.signing_hash);
    torq::protocol::Address from{};
    ASSERT_EQ(signer.recover(d.signing_hash, d.signature, from), SignError::Ok);
    EXPECT_EQ(torq::protocol::format_address(from), kAnvilAddress0) << c.name;
    ++n;
  }
  EXPECT_GT(n, 0);
  EXPECT_EQ(signer.stats().precomputed, static_cast<std::uint64_t>(n));
}
