// torq/executor/signer.hpp — secp256k1 ECDSA signing and sender recovery (libsecp256k1).
//
// Owns `Signer`: one libsecp256k1 context, created and randomized (blinding seed from
// getrandom) once at start-up — the constructor throws if that fails. After construction the
// context is only read, so `sign`, `recover` and `address_of` may be called from several
// threads at once; they are noexcept, allocate nothing and report failure as return values.
//
// Signatures are recoverable ECDSA over a 32-byte digest with low s (s <= n/2, EIP-2).
// `y_parity` is the recovery id (0 or 1), the value an EIP-1559 transaction carries. An address
// is the last 20 bytes of keccak256(uncompressed public key without its 0x04 prefix).
//
// Two nonce modes, chosen once at construction (SignerOptions::nonces):
//   - Rfc6979 (the default): libsecp256k1's deterministic nonces — the same r, s as ethers/geth
//     for the same key and digest, so a replay signs byte-identical transactions. ~28 µs.
//   - Precomputed: nonces k uniform in [1, n-1] from getrandom, with R = k·G (libsecp256k1),
//     r = R.x and k^-1 mod n computed off the hot path and kept in a NoncePool
//     (nonce_pool.hpp). `sign` takes one, computes s = k^-1 (z + r d) mod n with our own
//     constant-structure arithmetic (scalar.hpp), normalises to low s, and wipes the nonce:
//     each nonce signs exactly one digest. ~0.2 µs. When the pool is empty (or another thread
//     is taking a nonce at that instant) `sign` falls back to the RFC 6979 path and counts it
//     (stats()). The pool is refilled by `refill()` or by the background thread of
//     `start_refill()` (a control thread: getrandom + one EC multiplication + one inversion per
//     nonce, ~45 µs each, at nice +10). docs/transactions.md gives the security argument.
// In both modes `sign` is noexcept, lock-free (one atomic exchange takes the pool's consumer
// side), allocation-free and makes no syscall.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <type_traits>

#include "torq/executor/key.hpp"
#include "torq/executor/keccak.hpp"
#include "torq/protocol/instrument_id.hpp"

struct secp256k1_context_struct;

namespace torq::executor {

struct Signature {
  std::array<std::uint8_t, 32> r{};
  std::array<std::uint8_t, 32> s{};
  std::uint8_t y_parity = 0;  // recovery id, 0 or 1
};
static_assert(sizeof(Signature) == 65);
static_assert(std::is_trivially_copyable_v<Signature>);

enum class SignError : std::uint8_t {
  Ok = 0,
  SignFailed,  // libsecp256k1 refused (cannot happen for a key that passed PrivateKey's check)
  BadSignature,  // recover: r/s out of range, recovery id > 1, or no point recovers
};

enum class NonceMode : std::uint8_t {
  Rfc6979 = 0,  // deterministic (RFC 6979), replay-identical signatures
  Precomputed,  // random nonces precomputed off the hot path (NoncePool)
};

struct SignerOptions {
  NonceMode nonces = NonceMode::Rfc6979;
  std::size_t pool_capacity = 1024;  // Precomputed: pool slots, a power of two in [2, 2^20]
  std::size_t low_water = 0;         // Precomputed: the refill thread tops up below this (0: capacity / 2)
  bool prefill = true;               // Precomputed: fill the pool in the constructor (~45 µs a nonce)
};

struct SignerStats {
  std::uint64_t precomputed = 0;          // signatures made with a pool nonce
  std::uint64_t fallback_empty = 0;       // RFC 6979 because the pool was empty
  std::uint64_t fallback_busy = 0;        // RFC 6979 because another thread was taking a nonce
  std::uint64_t fallback_degenerate = 0;  // RFC 6979 because s came out 0 (probability ~2^-256)
  std::uint64_t generated = 0;            // nonces added to the pool
  std::uint64_t discarded = 0;            // candidates dropped: R.x >= n, failed inverse check, getrandom error
};

struct PrecomputedNonce;  // nonce_pool.hpp

class Signer {
 public:
  Signer();  // RFC 6979 nonces; throws std::runtime_error when the context cannot be created or randomized
  // Throws std::runtime_error (context, pool mapping, getrandom during the prefill) and
  // std::invalid_argument (pool_capacity not a power of two in range, low_water > capacity).
  explicit Signer(const SignerOptions& options);
  ~Signer();  // stops the refill thread; the pool is wiped
  Signer(const Signer&) = delete;
  Signer& operator=(const Signer&) = delete;

  // Signs `digest`. Precomputed mode consumes one pool nonce (or falls back to RFC 6979, counted).
  [[nodiscard]] SignError sign(const Hash256& digest, const PrivateKey& key, Signature& out) const noexcept;
  // Always the RFC 6979 path, whatever the mode (replays, cross-checks).
  [[nodiscard]] SignError sign_rfc6979(const Hash256& digest, const PrivateKey& key, Signature& out) const noexcept;
  [[nodiscard]] SignError recover(const Hash256& digest, const Signature& sig,
                                  protocol::Address& out) const noexcept;
  // The address of `key` (the transaction sender it signs for).
  [[nodiscard]] protocol::Address address_of(const PrivateKey& key) const noexcept;

  [[nodiscard]] NonceMode mode() const noexcept { return pre_ ? NonceMode::Precomputed : NonceMode::Rfc6979; }

  // Precomputed mode, control plane (never on the hot thread): generate nonces until the pool
  // is full; returns how many were added (0 in RFC 6979 mode). Safe while other threads sign,
  // and against concurrent refills (producers are serialised).
  std::size_t refill();
  // Starts the refill thread ("torq-nonces"): every `period` it tops the pool up when fewer than
  // low_water nonces remain. Idempotent. Throws std::logic_error in RFC 6979 mode and
  // std::system_error when the thread cannot start.
  void start_refill(std::chrono::microseconds period = std::chrono::milliseconds(10));
  void stop_refill() noexcept;  // joins the thread (also done by the destructor)
  [[nodiscard]] std::size_t nonces_available() const noexcept;  // 0 in RFC 6979 mode
  [[nodiscard]] SignerStats stats() const noexcept;

 private:
  struct Precompute;
  [[nodiscard]] bool generate_nonce(PrecomputedNonce& out) const noexcept;

  secp256k1_context_struct* ctx_ = nullptr;
  std::unique_ptr<Precompute> pre_;  // null in RFC 6979 mode
};

}  // namespace torq::executor
