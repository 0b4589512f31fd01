#include "torq/executor/signer.hpp"

#include <sys/random.h>

#include <cerrno>
#include <cstring>
#include <secp256k1.h>
#include <secp256k1_recovery.h>
#include <stdexcept>

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

}  // namespace

Signer::Signer() {
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
}

Signer::~Signer() { secp256k1_context_destroy(ctx_); }

SignError Signer::sign(const Hash256& digest, const PrivateKey& key, Signature& out) const noexcept {
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

}  // namespace torq::executor
