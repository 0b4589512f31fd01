// bench_tx — transaction building on the executor core, with named peers in the same run:
//   keccak256 (ours) vs OpenSSL SHA3-256 (same Keccak-f[1600] permutation and rate, different
//   padding: the speed peer, not a correctness peer) at 32 / 136 / 1024 bytes;
//   RLP encoding of an EIP-1559 transaction (the execute() call);
//   Signer::sign (recoverable, RFC 6979, low s) vs plain secp256k1_ecdsa_sign on the same context
//   kind (the library's own floor) vs Signer::sign in precomputed-nonce mode (the hot side only:
//   take a pool nonce, s = k^-1 (z + r d) mod n, low s, wipe) and the off-hot-path cost of one
//   precomputed nonce (getrandom + k·G + k^-1);
//   full build + sign of an arbitrage transaction (ABI calldata + RLP + keccak + sign + tx hash),
//   with RFC 6979 and with precomputed nonces;
//   sender recovery (what a node does on receipt).
// JSON: bench_tx --benchmark_format=json. Every iteration works on caller buffers (no allocation).
#include <benchmark/benchmark.h>
#include <openssl/evp.h>
#include <secp256k1.h>

#include <array>
#include <cstdint>
#include <vector>

#include "torq/executor/scalar.hpp"

#include "torq/executor/abi.hpp"
#include "torq/executor/keccak.hpp"
#include "torq/executor/tx.hpp"

using namespace torq::executor;
using torq::num::U256;

namespace {

// anvil's well-known test key (worthless outside a local test chain).
constexpr const char* kKey = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

std::vector<std::uint8_t> input(std::size_t n) {
  std::vector<std::uint8_t> b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(i * 131 + 7);
  return b;
}

void BM_keccak256_torq(benchmark::State& st) {
  auto in = input(static_cast<std::size_t>(st.range(0)));
  for (auto _ : st) {
    benchmark::DoNotOptimize(in.data());
    Hash256 h = keccak256(in);
    benchmark::DoNotOptimize(h);
  }
  st.SetBytesProcessed(static_cast<std::int64_t>(st.iterations()) * st.range(0));
}
BENCHMARK(BM_keccak256_torq)->Arg(32)->Arg(136)->Arg(1024);

void BM_sha3_256_openssl(benchmark::State& st) {
  auto in = input(static_cast<std::size_t>(st.range(0)));
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const EVP_MD* md = EVP_sha3_256();
  unsigned char out[32];
  unsigned int len = 0;
  for (auto _ : st) {
    EVP_DigestInit_ex(ctx, md, nullptr);
    EVP_DigestUpdate(ctx, in.data(), in.size());
    EVP_DigestFinal_ex(ctx, out, &len);
    benchmark::DoNotOptimize(out);
  }
  EVP_MD_CTX_free(ctx);
  st.SetBytesProcessed(static_cast<std::int64_t>(st.iterations()) * st.range(0));
}
BENCHMARK(BM_sha3_256_openssl)->Arg(32)->Arg(136)->Arg(1024);

struct ArbFixture {
  std::vector<std::uint8_t> path = input(70);  // 3-hop packed path
  std::vector<std::uint8_t> calldata = std::vector<std::uint8_t>(execute_call_size(70));
  std::vector<std::uint8_t> out = std::vector<std::uint8_t>(max_signed_tx_size(execute_call_size(70)));
  Eip1559Tx tx;
  ArbFixture() {
    (void)encode_execute_call(calldata, path, *U256::parse("3000000000000000007"), *U256::parse("123456789"));
    tx.chain_id = 137;
    tx.nonce = 42;
    tx.max_priority_fee_per_gas = *U256::parse("30000000000");
    tx.max_fee_per_gas = *U256::parse("300000000000");
    tx.gas_limit = 450000;
    tx.to = *torq::protocol::parse_address("0x5FbDB2315678afecb367f032d93F642f64180aa3");
    tx.data = calldata;
  }
};

void BM_rlp_encode_eip1559(benchmark::State& st) {
  ArbFixture f;
  Signature sig;
  sig.r.fill(0x5a);
  sig.s.fill(0x3c);
  for (auto _ : st) {
    const std::size_t n = encode_signed_tx(f.tx, sig, f.out);
    benchmark::DoNotOptimize(n);
    benchmark::DoNotOptimize(f.out.data());
  }
}
BENCHMARK(BM_rlp_encode_eip1559);

void BM_sign_recoverable_torq(benchmark::State& st) {
  Signer signer;
  const PrivateKey key = PrivateKey::from_hex(kKey);
  Hash256 digest = keccak256(std::string_view("digest"));
  Signature sig;
  for (auto _ : st) {
    digest[0]++;  // a fresh digest each time (RFC 6979 nonce derivation included)
    if (signer.sign(digest, key, sig) != SignError::Ok) st.SkipWithError("sign failed");
    benchmark::DoNotOptimize(sig);
  }
}
BENCHMARK(BM_sign_recoverable_torq);

// Precomputed mode: every iteration consumes one pool nonce (never reused, as in production), so
// the run is a fixed number of iterations equal to the prefilled pool (no refill, no fallback
// inside the timed loop; the counter `fallbacks` must be 0).
constexpr std::size_t kFastPool = 8192;

SignerOptions fast_options() {
  SignerOptions o;
  o.nonces = NonceMode::Precomputed;
  o.pool_capacity = kFastPool;
  return o;
}

void BM_sign_precomputed_torq(benchmark::State& st) {
  Signer signer(fast_options());  // prefill: not timed
  const PrivateKey key = PrivateKey::from_hex(kKey);
  Hash256 digest = keccak256(std::string_view("digest"));
  Signature sig;
  for (auto _ : st) {
    digest[0]++;
    if (signer.sign(digest, key, sig) != SignError::Ok) st.SkipWithError("sign failed");
    benchmark::DoNotOptimize(sig);
  }
  const SignerStats s = signer.stats();
  st.counters["fallbacks"] = static_cast<double>(s.fallback_empty + s.fallback_busy + s.fallback_degenerate);
}
BENCHMARK(BM_sign_precomputed_torq)->Iterations(kFastPool);

// The refill thread's work per nonce: getrandom, secp256k1_ec_pubkey_create(k), k^-1 (Fermat).
void BM_precompute_nonce(benchmark::State& st) {
  constexpr std::size_t kCap = 256;
  SignerOptions o = fast_options();
  o.pool_capacity = kCap;
  o.prefill = false;
  Signer signer(o);
  const PrivateKey key = PrivateKey::from_hex(kKey);
  Hash256 digest = keccak256(std::string_view("digest"));
  Signature sig;
  for (auto _ : st) {
    if (signer.refill() != kCap) st.SkipWithError("refill failed");
    st.PauseTiming();
    for (std::size_t i = 0; i < kCap; ++i) (void)signer.sign(digest, key, sig);  // drain
    st.ResumeTiming();
  }
  st.SetItemsProcessed(static_cast<std::int64_t>(st.iterations() * kCap));
}
BENCHMARK(BM_precompute_nonce)->Unit(benchmark::kMillisecond);

// The arithmetic the hot side adds, in isolation (two of these per signature).
void BM_scalar_mul_mod_n(benchmark::State& st) {
  U256 a = *U256::parse("98765432109876543210987654321098765432109876543210987654321");
  const U256 b = scalar::kOrder - U256(12345);
  for (auto _ : st) {
    a = scalar::mul(a, b);
    benchmark::DoNotOptimize(a);
  }
}
BENCHMARK(BM_scalar_mul_mod_n);

void BM_sign_plain_libsecp256k1(benchmark::State& st) {
  secp256k1_context* ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
  unsigned char seed[32] = {1};
  if (secp256k1_context_randomize(ctx, seed) != 1) st.SkipWithError("randomize failed");
  unsigned char sk[32];
  for (int i = 0; i < 32; ++i) sk[i] = static_cast<unsigned char>(i + 1);
  Hash256 digest = keccak256(std::string_view("digest"));
  secp256k1_ecdsa_signature sig;
  for (auto _ : st) {
    digest[0]++;
    if (secp256k1_ecdsa_sign(ctx, &sig, digest.data(), sk, nullptr, nullptr) != 1) st.SkipWithError("sign failed");
    benchmark::DoNotOptimize(sig);
  }
  secp256k1_context_destroy(ctx);
}
BENCHMARK(BM_sign_plain_libsecp256k1);

void BM_build_and_sign_arb_tx(benchmark::State& st) {
  ArbFixture f;
  Signer signer;
  const PrivateKey key = PrivateKey::from_hex(kKey);
  SignedTx s;
  std::uint64_t nonce = 0;
  const U256 amount_in = *U256::parse("3000000000000000007");
  for (auto _ : st) {
    // ABI calldata + RLP + keccak(signing hash) + sign + RLP + keccak(tx hash).
    (void)encode_execute_call(f.calldata, f.path, amount_in, U256::from_limbs(nonce, 0, 0, 0));
    f.tx.nonce = nonce++;
    if (sign_tx(signer, key, f.tx, f.out, s) != TxError::Ok) st.SkipWithError("sign_tx failed");
    benchmark::DoNotOptimize(s);
  }
}
BENCHMARK(BM_build_and_sign_arb_tx);

void BM_build_and_sign_arb_tx_precomputed(benchmark::State& st) {
  ArbFixture f;
  Signer signer(fast_options());
  const PrivateKey key = PrivateKey::from_hex(kKey);
  SignedTx s;
  std::uint64_t nonce = 0;
  const U256 amount_in = *U256::parse("3000000000000000007");
  for (auto _ : st) {
    (void)encode_execute_call(f.calldata, f.path, amount_in, U256::from_limbs(nonce, 0, 0, 0));
    f.tx.nonce = nonce++;
    if (sign_tx(signer, key, f.tx, f.out, s) != TxError::Ok) st.SkipWithError("sign_tx failed");
    benchmark::DoNotOptimize(s);
  }
  const SignerStats ss = signer.stats();
  st.counters["fallbacks"] = static_cast<double>(ss.fallback_empty + ss.fallback_busy + ss.fallback_degenerate);
}
BENCHMARK(BM_build_and_sign_arb_tx_precomputed)->Iterations(kFastPool);

void BM_recover_sender(benchmark::State& st) {
  ArbFixture f;
  Signer signer;
  const PrivateKey key = PrivateKey::from_hex(kKey);
  SignedTx s;
  (void)sign_tx(signer, key, f.tx, f.out, s);
  torq::protocol::Address a{};
  for (auto _ : st) {
    if (signer.recover(s.signing_hash, s.signature, a) != SignError::Ok) st.SkipWithError("recover failed");
    benchmark::DoNotOptimize(a);
  }
}
BENCHMARK(BM_recover_sender);

}  // namespace

BENCHMARK_MAIN();
