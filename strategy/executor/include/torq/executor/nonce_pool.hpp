// torq/executor/nonce_pool.hpp — a fixed-size single-producer / single-consumer pool of
// precomputed ECDSA nonces (k^-1 mod n, r = (k·G).x, recovery id) for Signer's precomputed mode.
//
// Owns `NoncePool`: `capacity` slots (a power of two) plus the producer and consumer indices on
// separate cache lines, all in one anonymous mapping made at construction (start-up: allocates,
// throws std::runtime_error with the reason). The mapping is
//   - MADV_WIPEONFORK (required): a forked child sees an all-zero mapping, i.e. an empty pool,
//     so a child process can never sign with a nonce its parent also holds;
//   - MADV_DONTDUMP and mlock'ed (best effort): nonces stay out of core dumps and swap — a
//     nonce plus the signature made with it reveals the private key.
//
// Threads: `try_push` is the producer side (one thread at a time; Signer serialises producers
// with a mutex), `try_pop` the consumer side. `try_pop` may be called from any number of threads:
// it takes the consumer side with one atomic exchange and answers `Busy` instead of waiting when
// another thread holds it, so it never blocks. `try_pop` copies the slot out, wipes it
// (explicit_bzero) and only then releases it to the producer: each pushed nonce is returned at
// most once. No allocation, lock, syscall or exception after construction.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "torq/num/uint256.hpp"

namespace torq::executor {

struct PrecomputedNonce {
  num::U256 k_inv;         // k^-1 mod n
  num::U256 r;             // (k·G).x, known to be < n (k with x >= n are discarded)
  std::uint8_t recid = 0;  // parity of (k·G).y
};
static_assert(std::is_trivially_copyable_v<PrecomputedNonce>);

enum class PopResult : std::uint8_t { Ok = 0, Empty, Busy };

class NoncePool {
 public:
  // capacity: a power of two in [2, 2^20]; throws std::invalid_argument otherwise, and
  // std::runtime_error when the mapping or MADV_WIPEONFORK fails.
  explicit NoncePool(std::size_t capacity);
  ~NoncePool();  // wipes every slot, then unmaps
  NoncePool(const NoncePool&) = delete;
  NoncePool& operator=(const NoncePool&) = delete;

  // Producer: false when the pool is full (nothing written).
  [[nodiscard]] bool try_push(const PrecomputedNonce& n) noexcept;
  // Consumer: Ok with `out` filled (the slot is wiped), Empty, or Busy (another consumer is
  // inside try_pop right now; `out` untouched).
  [[nodiscard]] PopResult try_pop(PrecomputedNonce& out) noexcept;

  [[nodiscard]] std::size_t capacity() const noexcept { return mask_ + 1; }
  // Nonces ready (a snapshot; exact when neither side is running).
  [[nodiscard]] std::size_t size() const noexcept;
  // Whether the kernel honoured MADV_DONTDUMP / mlock (informational).
  [[nodiscard]] bool dump_excluded() const noexcept { return dontdump_; }
  [[nodiscard]] bool locked() const noexcept { return locked_; }

 private:
  struct Shared;  // indices and slots, inside the mapping
  Shared* sh_ = nullptr;
  PrecomputedNonce* slots_ = nullptr;
  std::size_t mask_ = 0;
  std::size_t map_bytes_ = 0;
  bool dontdump_ = false;
  bool locked_ = false;
};

}  // namespace torq::executor
