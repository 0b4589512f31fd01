// torq/executor/signer.hpp — secp256k1 ECDSA signing and sender recovery (libsecp256k1).
//
// Owns `Signer`: one libsecp256k1 context, created and randomized (blinding seed from
// getrandom) once at start-up — the constructor throws if that fails. After construction the
// context is only read, so `sign`, `recover` and `address_of` may be called from several
// threads at once; they are noexcept, allocate nothing and report failure as return values.
//
// Signatures are recoverable ECDSA over a 32-byte digest with RFC 6979 deterministic nonces
// (the same r, s as ethers/geth for the same key and digest) and low s (s <= n/2, EIP-2:
// libsecp256k1 always produces the normalized form). `y_parity` is the recovery id (0 or 1),
// the value an EIP-1559 transaction carries. An address is the last 20 bytes of
// keccak256(uncompressed public key without its 0x04 prefix).
#pragma once

#include <array>
#include <cstdint>

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

class Signer {
 public:
  Signer();  // throws std::runtime_error when the context cannot be created or randomized
  ~Signer();
  Signer(const Signer&) = delete;
  Signer& operator=(const Signer&) = delete;

  [[nodiscard]] SignError sign(const Hash256& digest, const PrivateKey& key, Signature& out) const noexcept;
  [[nodiscard]] SignError recover(const Hash256& digest, const Signature& sig,
                                  protocol::Address& out) const noexcept;
  // The address of `key` (the transaction sender it signs for).
  [[nodiscard]] protocol::Address address_of(const PrivateKey& key) const noexcept;

 private:
  secp256k1_context_struct* ctx_ = nullptr;
};

}  // namespace torq::executor
