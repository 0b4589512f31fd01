#include "torq/executor/tx.hpp"

#include <cstring>

namespace torq::executor {

const char* to_string(TxError e) noexcept {
  switch (e) {
    case TxError::Ok: return "ok";
    case TxError::BufferTooSmall: return "buffer too small";
    case TxError::BadChainId: return "chain id 0";
    case TxError::SignFailed: return "signing failed";
    case TxError::NotEip1559: return "not an EIP-1559 (type 2) transaction";
    case TxError::Malformed: return "malformed transaction";
    case TxError::WrongFieldCount: return "wrong number of transaction fields";
    case TxError::BadSignature: return "bad signature";
  }
  return "unknown";
}

namespace {

constexpr std::uint8_t kEmptyList[] = {0xc0};

// secp256k1 group order n and n / 2 (big-endian).
constexpr num::U256 kOrder = num::U256::from_limbs(0xBFD25E8CD0364141ULL, 0xBAAEDCE6AF48A03BULL,
                                                   0xFFFFFFFFFFFFFFFEULL, 0xFFFFFFFFFFFFFFFFULL);
constexpr num::U256 kHalfOrder = num::U256::from_limbs(0xDFE92F46681B20A0ULL, 0x5D576E7357A4501DULL,
                                                       0xFFFFFFFFFFFFFFFFULL, 0x7FFFFFFFFFFFFFFFULL);

void write_fields(RlpWriter& w, const Eip1559Tx& tx, std::span<const std::uint8_t> access_list) noexcept {
  w.uint(tx.chain_id);
  w.uint(tx.nonce);
  w.uint(tx.max_priority_fee_per_gas);
  w.uint(tx.max_fee_per_gas);
  w.uint(tx.gas_limit);
  if (tx.create) {
    w.bytes({});
  } else {
    w.address(tx.to);
  }
  w.uint(tx.value);
  w.bytes(tx.data);
  w.raw(access_list);
}

std::size_t encode(const Eip1559Tx& tx, const Signature* sig, std::span<const std::uint8_t> access_list,
                   std::span<std::uint8_t> out) noexcept {
  if (out.empty()) return 0;
  out[0] = kEip1559TxType;
  RlpWriter w(out.subspan(1));
  w.begin_list();
  write_fields(w, tx, access_list);
  if (sig != nullptr) {
    w.uint(std::uint64_t{sig->y_parity});
    w.uint(num::from_be_bytes(sig->r));
    w.uint(num::from_be_bytes(sig->s));
  }
  w.end_list();
  return w.ok() ? 1 + w.size() : 0;
}

}  // namespace

std::size_t encode_unsigned_tx(const Eip1559Tx& tx, std::span<std::uint8_t> out) noexcept {
  return encode(tx, nullptr, kEmptyList, out);
}

std::size_t encode_signed_tx(const Eip1559Tx& tx, const Signature& sig, std::span<std::uint8_t> out) noexcept {
  return encode(tx, &sig, kEmptyList, out);
}

TxError signing_hash(const Eip1559Tx& tx, std::span<std::uint8_t> scratch, Hash256& out) noexcept {
  const std::size_t n = encode_unsigned_tx(tx, scratch);
  if (n == 0) return TxError::BufferTooSmall;
  out = keccak256(scratch.first(n));
  return TxError::Ok;
}

TxError sign_tx(const Signer& signer, const PrivateKey& key, const Eip1559Tx& tx, std::span<std::uint8_t> out,
                SignedTx& result) noexcept {
  if (tx.chain_id == 0) return TxError::BadChainId;
  if (const TxError e = signing_hash(tx, out, result.signing_hash); e != TxError::Ok) return e;
  if (signer.sign(result.signing_hash, key, result.signature) != SignError::Ok) return TxError::SignFailed;
  const std::size_t n = encode_signed_tx(tx, result.signature, out);
  if (n == 0) return TxError::BufferTooSmall;
  result.size = n;
  result.hash = keccak256(out.first(n));
  return TxError::Ok;
}

TxError decode_signed_tx(std::span<const std::uint8_t> raw, std::span<std::uint8_t> scratch,
                         DecodedTx& out) noexcept {
  if (raw.empty() || raw[0] != kEip1559TxType) return TxError::NotEip1559;
  RlpItem list;
  if (rlp_decode_exact(raw.subspan(1), list) != RlpError::Ok || !list.is_list) return TxError::Malformed;
  RlpItem f[12];
  std::size_t count = 0;
  RlpListReader rd(list.payload);
  while (!rd.done()) {
    if (count == 12) return TxError::WrongFieldCount;
    if (rd.next(f[count]) != RlpError::Ok) return TxError::Malformed;
    ++count;
  }
  if (count != 12) return TxError::WrongFieldCount;
  Eip1559Tx& tx = out.tx;
  tx = Eip1559Tx{};
  if (rlp_decode_uint(f[0], tx.chain_id) != RlpError::Ok) return TxError::Malformed;
  if (rlp_decode_uint(f[1], tx.nonce) != RlpError::Ok) return TxError::Malformed;
  if (rlp_decode_uint(f[2], tx.max_priority_fee_per_gas) != RlpError::Ok) return TxError::Malformed;
  if (rlp_decode_uint(f[3], tx.max_fee_per_gas) != RlpError::Ok) return TxError::Malformed;
  if (rlp_decode_uint(f[4], tx.gas_limit) != RlpError::Ok) return TxError::Malformed;
  if (f[5].is_list) return TxError::Malformed;
  if (f[5].payload.empty()) {
    tx.create = true;
  } else if (f[5].payload.size() == 20) {
    std::memcpy(tx.to.data(), f[5].payload.data(), 20);
  } else {
    return TxError::Malformed;
  }
  if (rlp_decode_uint(f[6], tx.value) != RlpError::Ok) return TxError::Malformed;
  if (f[7].is_list) return TxError::Malformed;
  tx.data = f[7].payload;
  if (!f[8].is_list) return TxError::Malformed;
  // The access list item as encoded: it sits right before field 9 in the list payload.
  out.access_list = std::span<const std::uint8_t>(f[8].payload.data() - (f[8].encoded_size - f[8].payload.size()),
                                                   f[8].encoded_size);
  std::uint64_t parity = 0;
  num::U256 r = num::U256::zero();
  num::U256 s = num::U256::zero();
  if (rlp_decode_uint(f[9], parity) != RlpError::Ok || rlp_decode_uint(f[10], r) != RlpError::Ok ||
      rlp_decode_uint(f[11], s) != RlpError::Ok) {
    return TxError::Malformed;
  }
  if (parity > 1 || r == num::U256::zero() || s == num::U256::zero() || r >= kOrder || s > kHalfOrder) {
    return TxError::BadSignature;
  }
  out.signature.y_parity = static_cast<std::uint8_t>(parity);
  out.signature.r = num::to_be_bytes(r);
  out.signature.s = num::to_be_bytes(s);
  const std::size_t n = encode(tx, nullptr, out.access_list, scratch);
  if (n == 0) return TxError::BufferTooSmall;
  out.signing_hash = keccak256(scratch.first(n));
  out.hash = keccak256(raw);
  return TxError::Ok;
}

}  // namespace torq::executor
