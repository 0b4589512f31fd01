// torq/executor/tx.hpp — EIP-1559 (type 2) transactions: encoding, signing, hashing, decoding.
//
//   signing hash = keccak256(0x02 || rlp([chain_id, nonce, max_priority_fee_per_gas,
//                                         max_fee_per_gas, gas_limit, to, value, data,
//                                         access_list]))
//   raw tx       = 0x02 || rlp([... same nine fields ..., y_parity, r, s])
//   tx hash      = keccak256(raw tx)
//
// Integers are minimal big-endian RLP strings (0 is 0x80), `to` is 20 bytes (empty for a
// contract creation), the access list is always empty (0xc0), r and s are integers (leading
// zeros dropped). The chain id comes from configuration (137 on Polygon) and must not be 0.
//
// Owns `Eip1559Tx` (a trivially copyable description whose `data` is a view of caller bytes),
// `sign_tx` (the hot-path build + sign: caller buffer, noexcept, no allocation, TxError result)
// and `decode_signed_tx` (a bounds-checked, canonical-only decoder for checks and tests).
// Thread-safety: all functions are stateless; `Signer` may be shared (see signer.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <type_traits>

#include "torq/executor/keccak.hpp"
#include "torq/executor/rlp.hpp"
#include "torq/executor/signer.hpp"
#include "torq/num/uint256.hpp"
#include "torq/protocol/instrument_id.hpp"

namespace torq::executor {

inline constexpr std::uint8_t kEip1559TxType = 0x02;

struct Eip1559Tx {
  std::uint64_t chain_id = 0;
  std::uint64_t nonce = 0;
  num::U256 max_priority_fee_per_gas = num::U256::zero();  // wei per gas
  num::U256 max_fee_per_gas = num::U256::zero();           // wei per gas
  std::uint64_t gas_limit = 0;
  protocol::Address to{};
  bool create = false;  // contract creation: `to` is ignored and encoded as the empty string
  num::U256 value = num::U256::zero();  // wei
  std::span<const std::uint8_t> data;   // calldata (or init code); must outlive the call
};
static_assert(std::is_trivially_copyable_v<Eip1559Tx>);

enum class TxError : std::uint8_t {
  Ok = 0,
  BufferTooSmall,   // the caller buffer cannot hold the encoding
  BadChainId,       // chain_id == 0 (replayable on every chain)
  SignFailed,       // libsecp256k1 refused to sign
  NotEip1559,       // decoder: the first byte is not 0x02
  Malformed,        // decoder: RLP error or a field of the wrong kind/size
  WrongFieldCount,  // decoder: not 9 (unsigned) / 12 (signed) fields
  BadSignature,     // decoder/recovery: y_parity > 1, r or s zero or too large, high s
};

[[nodiscard]] const char* to_string(TxError e) noexcept;

// Upper bound of the encoded size of `tx` (signed), for sizing buffers.
[[nodiscard]] constexpr std::size_t max_signed_tx_size(std::size_t data_len) noexcept {
  // type byte + list header (<= 9) + 5 ints <= 33 each + gas <= 9 + to 21 + data header <= 9
  // + access list 1 + y_parity 1 + r, s 33 each
  return 1 + 9 + 5 * 33 + 9 + 21 + 9 + data_len + 1 + 1 + 2 * 33;
}

// 0x02 || rlp(unsigned fields). Returns the size, 0 when `out` is too small.
[[nodiscard]] std::size_t encode_unsigned_tx(const Eip1559Tx& tx, std::span<std::uint8_t> out) noexcept;
// 0x02 || rlp(fields + signature). Returns the size, 0 when `out` is too small.
[[nodiscard]] std::size_t encode_signed_tx(const Eip1559Tx& tx, const Signature& sig,
                                           std::span<std::uint8_t> out) noexcept;
// keccak256 of the unsigned encoding; `scratch` must hold it.
[[nodiscard]] TxError signing_hash(const Eip1559Tx& tx, std::span<std::uint8_t> scratch, Hash256& out) noexcept;

struct SignedTx {
  std::size_t size = 0;  // bytes of the raw transaction at the start of the output buffer
  Hash256 hash{};        // transaction hash: keccak256(raw)
  Hash256 signing_hash{};
  Signature signature{};
};
static_assert(std::is_trivially_copyable_v<SignedTx>);

// Builds, signs and encodes `tx` into `out` (which first serves as scratch for the unsigned
// encoding). On success `out.first(result.size)` is the raw transaction for
// eth_sendRawTransaction. Hot path: no allocation, no exception.
[[nodiscard]] TxError sign_tx(const Signer& signer, const PrivateKey& key, const Eip1559Tx& tx,
                              std::span<std::uint8_t> out, SignedTx& result) noexcept;

struct DecodedTx {
  Eip1559Tx tx;                                // data points into the decoded input
  std::span<const std::uint8_t> access_list;  // the encoded access-list item (0xc0 for ours)
  Signature signature;
  Hash256 signing_hash{};  // recomputed from the decoded fields
  Hash256 hash{};          // keccak256 of the raw input
};

// Decodes a signed type-2 transaction. Canonical RLP only; rejects high s (EIP-2). The signing
// hash is recomputed into `scratch` (needs max_signed_tx_size(data) bytes).
[[nodiscard]] TxError decode_signed_tx(std::span<const std::uint8_t> raw, std::span<std::uint8_t> scratch,
                                       DecodedTx& out) noexcept;

}  // namespace torq::executor
