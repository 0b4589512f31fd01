#include "torq/executor/signer.hpp"

#include <pthread.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <secp256k1.h>
#include <secp256k1_recovery.h>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>

#include "torq/executor/nonce_pool.hpp"
#include "torq/executor/scalar.hpp"

namespace torq::executor {
namespace {

protocol::Address address_of_pubkey(const secp256k1_context* ctx, const secp256k1_pubkey& pk) noexcept {
  std::uint8_t ser[65];
  std::size_t len = sizeof ser;
  (void)secp256k1_ec_pubkey_serialize(ctx, ser, &len, &pk, SECP256K1_EC_UNCOMPRESSED);
  const Hash256 h = keccak256(std::span<const std::uint8_t>(ser + 1, 64));
  protocol::Address a{};
  std::memcpy(a.data(), h.data() + 12, 20);
  return a;
}

// Fills `buf` from getrandom (blocking only until the kernel's pool is initialised at boot).
bool random_bytes(std::uint8_t* buf, std::size_t n) noexcept {
  std::size_t got = 0;
  while (got < n) {
    const ssize_t r = ::getrandom(buf + got, n - got, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    got += static_cast<std::size_t>(r);
  }
  return true;
}

// s = k^-1 (z + r d) mod n, then low s. False for a degenerate result (s == 0, or a zeroed
// nonce), in which case nothing is written. Every secret intermediate is wiped.
bool sign_with_nonce(const PrecomputedNonce& nonce, const Hash256& digest, const std::array<std::uint8_t, 32>& key,
                     Signature& out) noexcept {
  using num::U256;
  U256 d = num::from_be_bytes(std::span<const std::uint8_t, 32>(key));
  const U256 z = scalar::reduce(num::from_be_bytes(std::span<const std::uint8_t, 32>(digest)));
  U256 rd = scalar::mul(nonce.r, d);
  U256 sum = scalar::add(z, rd);
  U256 s = scalar::mul(nonce.k_inv, sum);
  const std::uint64_t high = scalar::is_high(s);
  s = scalar::select(std::uint64_t{0} - high, scalar::neg(s), s);  // EIP-2: s <= n/2
  const bool ok = !s.is_zero() && !nonce.r.is_zero() && !nonce.k_inv.is_zero();
  if (ok) {
    out.r = num::to_be_bytes(nonce.r);
    out.s = num::to_be_bytes(s);
    out.y_parity = static_cast<std::uint8_t>((nonce.recid ^ high) & 1U);  // s -> n - s negates R
  }
  explicit_bzero(&d, sizeof d);
  explicit_bzero(&rd, sizeof rd);
  explicit_bzero(&sum, sizeof sum);
  explicit_bzero(&s, sizeof s);
  return ok;
}

}  // namespace

struct Signer::Precompute {
  explicit Precompute(const SignerOptions& o)
      : pool(o.pool_capacity), low_water(o.low_water == 0 ? o.pool_capacity / 2 : o.low_water) {
    if (o.low_water > o.pool_capacity) {
      throw std::invalid_argument("signer: low_water " + std::to_string(o.low_water) + " exceeds pool_capacity " +
                                  std::to_string(o.pool_capacity));
    }
  }
  NoncePool pool;
  std::size_t low_water;
  // Written by signing threads.
  alignas(64) std::atomic<std::uint64_t> precomputed{0};
  std::atomic<std::uint64_t> fallback_empty{0};
  std::atomic<std::uint64_t> fallback_busy{0};
  std::atomic<std::uint64_t> fallback_degenerate{0};
  // Written by producers.
  alignas(64) std::atomic<std::uint64_t> generated{0};
  std::atomic<std::uint64_t> discarded{0};
  std::mutex producer_mu;  // one producer at a time (refill() callers and the thread)
  std::atomic<bool> stop{false};
  std::mutex run_mu;
  std::condition_variable run_cv;
  std::thread thread;
};

Signer::Signer() : Signer(SignerOptions{}) {}

Signer::Signer(const SignerOptions& options) {
  ctx_ = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
  if (ctx_ == nullptr) throw std::runtime_error("secp256k1: cannot create context");
  unsigned char seed[32];
  std::size_t got = 0;
  while (got < sizeof seed) {
    const ssize_t r = ::getrandom(seed + got, sizeof seed - got, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      secp256k1_context_destroy(ctx_);
      throw std::runtime_error(std::string("secp256k1: getrandom failed: ") + std::strerror(errno));
    }
    got += static_cast<std::size_t>(r);
  }
  const int ok = secp256k1_context_randomize(ctx_, seed);
  explicit_bzero(seed, sizeof seed);
  if (ok != 1) {
    secp256k1_context_destroy(ctx_);
    throw std::runtime_error("secp256k1: context randomization failed");
  }
  if (options.nonces == NonceMode::Precomputed) {
    try {
      pre_ = std::make_unique<Precompute>(options);
      if (options.prefill && refill() < pre_->pool.capacity()) {
        throw std::runtime_error("signer: could not prefill the nonce pool (getrandom failed)");
      }
    } catch (...) {
      pre_.reset();
      secp256k1_context_destroy(ctx_);
      throw;
    }
  }
}

Signer::~Signer() {
  stop_refill();
  pre_.reset();  // wipes the pool
  secp256k1_context_destroy(ctx_);
}

SignError Signer::sign(const Hash256& digest, const PrivateKey& key, Signature& out) const noexcept {
  if (!pre_) return sign_rfc6979(digest, key, out);
  PrecomputedNonce nonce;
  switch (pre_->pool.try_pop(nonce)) {
    case PopResult::Ok:
      break;
    case PopResult::Empty:
      pre_->fallback_empty.fetch_add(1, std::memory_order_relaxed);
      return sign_rfc6979(digest, key, out);
    case PopResult::Busy:
      pre_->fallback_busy.fetch_add(1, std::memory_order_relaxed);
      return sign_rfc6979(digest, key, out);
  }
  const bool ok = sign_with_nonce(nonce, digest, key.bytes_, out);
  explicit_bzero(&nonce, sizeof nonce);  // used once, gone
  if (ok) {
    pre_->precomputed.fetch_add(1, std::memory_order_relaxed);
    return SignError::Ok;
  }
  pre_->fallback_degenerate.fetch_add(1, std::memory_order_relaxed);
  return sign_rfc6979(digest, key, out);
}

SignError Signer::sign_rfc6979(const Hash256& digest, const PrivateKey& key, Signature& out) const noexcept {
  secp256k1_ecdsa_recoverable_signature sig;
  if (secp256k1_ecdsa_sign_recoverable(ctx_, &sig, digest.data(), key.bytes_.data(), nullptr, nullptr) != 1) {
    return SignError::SignFailed;
  }
  std::uint8_t rs[64];
  int recid = 0;
  (void)secp256k1_ecdsa_recoverable_signature_serialize_compact(ctx_, rs, &recid, &sig);
  std::memcpy(out.r.data(), rs, 32);
  std::memcpy(out.s.data(), rs + 32, 32);
  out.y_parity = static_cast<std::uint8_t>(recid);
  return SignError::Ok;
}

SignError Signer::recover(const Hash256& digest, const Signature& sig, protocol::Address& out) const noexcept {
  if (sig.y_parity > 1) return SignError::BadSignature;
  std::uint8_t rs[64];
  std::memcpy(rs, sig.r.data(), 32);
  std::memcpy(rs + 32, sig.s.data(), 32);
  secp256k1_ecdsa_recoverable_signature rsig;
  if (secp256k1_ecdsa_recoverable_signature_parse_compact(ctx_, &rsig, rs, sig.y_parity) != 1) {
    return SignError::BadSignature;
  }
  secp256k1_pubkey pk;
  if (secp256k1_ecdsa_recover(ctx_, &pk, &rsig, digest.data()) != 1) return SignError::BadSignature;
  out = address_of_pubkey(ctx_, pk);
  return SignError::Ok;
}

protocol::Address Signer::address_of(const PrivateKey& key) const noexcept {
  secp256k1_pubkey pk;
  if (secp256k1_ec_pubkey_create(ctx_, &pk, key.bytes_.data()) != 1) return protocol::Address{};
  return address_of_pubkey(ctx_, pk);
}

// One nonce: k uniform in [1, n-1] (rejection sampling of 32 getrandom bytes), R = k·G,
// r = R.x (rejected when >= n, probability ~2^-128, so that the recovery id is R.y's parity
// alone), k^-1 by Fermat, checked by k·k^-1 == 1. Wipes k and every copy of it.
bool Signer::generate_nonce(PrecomputedNonce& out) const noexcept {
  std::uint8_t k[32];
  std::uint8_t rser[33];
  secp256k1_pubkey R;
  num::U256 kk = num::U256::zero();
  bool ok = false;
  for (int attempt = 0; attempt < 8 && !ok; ++attempt) {
    if (attempt > 0) pre_->discarded.fetch_add(1, std::memory_order_relaxed);
    if (!random_bytes(k, sizeof k)) break;
    if (secp256k1_ec_seckey_verify(ctx_, k) != 1) continue;  // 0 or >= n: draw again (uniform)
    if (secp256k1_ec_pubkey_create(ctx_, &R, k) != 1) continue;
    std::size_t len = sizeof rser;
    (void)secp256k1_ec_pubkey_serialize(ctx_, rser, &len, &R, SECP256K1_EC_COMPRESSED);
    const num::U256 rx = num::from_be_bytes(std::span<const std::uint8_t, 32>(rser + 1, 32));
    if (rx >= scalar::kOrder || rx.is_zero()) continue;
    kk = num::from_be_bytes(std::span<const std::uint8_t, 32>(k));
    out.k_inv = scalar::inv(kk);
    if (scalar::mul(kk, out.k_inv) != num::U256::one()) continue;  // an arithmetic fault: never use it
    out.r = rx;
    out.recid = rser[0] == 0x03 ? 1 : 0;
    ok = true;
  }
  if (!ok) pre_->discarded.fetch_add(1, std::memory_order_relaxed);
  explicit_bzero(k, sizeof k);
  explicit_bzero(&kk, sizeof kk);
  explicit_bzero(rser, sizeof rser);
  explicit_bzero(&R, sizeof R);
  if (!ok) explicit_bzero(&out, sizeof out);
  return ok;
}

std::size_t Signer::refill() {
  if (!pre_) return 0;
  const std::lock_guard<std::mutex> lock(pre_->producer_mu);
  std::size_t added = 0;
  PrecomputedNonce n;
  while (pre_->pool.size() < pre_->pool.capacity() && !pre_->stop.load(std::memory_order_relaxed)) {
    if (!generate_nonce(n)) break;  // getrandom failing: try again next round
    const bool pushed = pre_->pool.try_push(n);
    explicit_bzero(&n, sizeof n);
    if (!pushed) break;
    ++added;
    pre_->generated.fetch_add(1, std::memory_order_relaxed);
  }
  return added;
}

void Signer::start_refill(std::chrono::microseconds period) {
  if (!pre_) throw std::logic_error("signer: start_refill() needs NonceMode::Precomputed");
  const std::lock_guard<std::mutex> lock(pre_->run_mu);
  if (pre_->thread.joinable()) return;
  pre_->stop.store(false);
  pre_->thread = std::thread([this, period] {
    (void)pthread_setname_np(pthread_self(), "torq-nonces");
    // Below the hot threads: errors here only mean the default priority.
    (void)::setpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)), 10);
    std::unique_lock<std::mutex> lk(pre_->run_mu);
    while (!pre_->stop.load()) {
      if (pre_->pool.size() < pre_->low_water) {
        lk.unlock();
        (void)refill();
        lk.lock();
        continue;
      }
      pre_->run_cv.wait_for(lk, period, [this] { return pre_->stop.load(); });
    }
  });
}

void Signer::stop_refill() noexcept {
  if (!pre_) return;
  {
    const std::lock_guard<std::mutex> lock(pre_->run_mu);
    pre_->stop.store(true);
  }
  pre_->run_cv.notify_all();
  if (pre_->thread.joinable()) pre_->thread.join();
  pre_->stop.store(false);  // refill() works again; start_refill() may start a new thread
}

std::size_t Signer::nonces_available() const noexcept { return pre_ ? pre_->pool.size() : 0; }

SignerStats Signer::stats() const noexcept {
  SignerStats s;
  if (!pre_) return s;
  s.precomputed = pre_->precomputed.load(std::memory_order_relaxed);
  s.fallback_empty = pre_->fallback_empty.load(std::memory_order_relaxed);
  s.fallback_busy = pre_->fallback_busy.load(std::memory_order_relaxed);
  s.fallback_degenerate = pre_->fallback_degenerate.load(std::memory_order_relaxed);
  s.generated = pre_->generated.load(std::memory_order_relaxed);
  s.discarded = pre_->discarded.load(std::memory_order_relaxed);
  return s;
}

}  // namespace torq::executor
