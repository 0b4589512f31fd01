// torq/executor/rlp.hpp — Recursive Length Prefix (Ethereum yellow paper, appendix B).
//
// Owns `RlpWriter`, an encoder into a caller-provided buffer, and a bounds-checked decoder
// (`rlp_decode_item`, `RlpListReader`, `rlp_decode_uint`). Neither allocates; both are noexcept
// and report failures as `RlpError` values. The decoder accepts only canonical encodings (the
// ones every Ethereum client produces and requires): a single byte < 0x80 must be its own
// encoding, long forms only for lengths >= 56, no leading zero bytes in lengths or integers.
// It never reads outside its input and never crashes, for any input (fuzzed by
// tests/fuzz/rlp_abi_fuzz.cpp). A writer or reader object is used by one thread at a time;
// the free functions have no shared state.
//
// Lists are written in place: `begin_list()` remembers where the payload starts, `end_list()`
// moves the payload right by the header size (1-9 bytes) and writes the header. Errors are
// sticky: after the first failure every call is a no-op and `error()` names the failure.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "torq/num/uint256.hpp"
#include "torq/protocol/instrument_id.hpp"

namespace torq::executor {

enum class RlpError : std::uint8_t {
  Ok = 0,
  BufferTooSmall,          // writer: the caller buffer is full
  TooDeep,                 // writer: more than kMaxDepth nested lists
  UnbalancedList,          // writer: end_list without begin_list, or a list left open
  Truncated,               // decoder: the item claims more bytes than the input has
  NonCanonicalSingleByte,  // decoder: 0x81 followed by a byte < 0x80
  NonCanonicalLength,      // decoder: long form for a length < 56, or a length with a leading 0
  TrailingBytes,           // decoder: input left after the one expected item
  NotAList,                // decoder: a string where a list was expected
  NotAString,              // decoder: a list where a string was expected
  IntegerTooLarge,         // decoder: integer wider than the target type
  IntegerLeadingZero,      // decoder: integer with a leading zero byte (0 must be 0x80)
  WrongItemCount,          // decoder: a structure (e.g. a transaction) has the wrong arity
};

[[nodiscard]] const char* to_string(RlpError e) noexcept;

class RlpWriter {
 public:
  static constexpr std::size_t kMaxDepth = 16;

  explicit RlpWriter(std::span<std::uint8_t> buf) noexcept : buf_(buf) {}

  // A byte string (0x80 + len, 0xb7 + lenlen, or the byte itself when it is one byte < 0x80).
  void bytes(std::span<const std::uint8_t> s) noexcept;
  // An unsigned integer: big-endian, no leading zeros, 0 is the empty string 0x80.
  void uint(std::uint64_t v) noexcept;
  void uint(const num::U256& v) noexcept;
  void address(const protocol::Address& a) noexcept { bytes(a); }
  // Already RLP-encoded bytes, copied verbatim.
  void raw(std::span<const std::uint8_t> encoded) noexcept;
  void begin_list() noexcept;
  void end_list() noexcept;

  [[nodiscard]] RlpError error() const noexcept {
    return err_ != RlpError::Ok ? err_ : (depth_ != 0 ? RlpError::UnbalancedList : RlpError::Ok);
  }
  [[nodiscard]] bool ok() const noexcept { return error() == RlpError::Ok; }
  [[nodiscard]] std::size_t size() const noexcept { return pos_; }
  [[nodiscard]] std::span<const std::uint8_t> encoded() const noexcept { return buf_.first(pos_); }

 private:
  void header(std::uint8_t short_base, std::size_t len) noexcept;  // at pos_
  [[nodiscard]] bool reserve(std::size_t n) noexcept;

  std::span<std::uint8_t> buf_;
  std::size_t pos_ = 0;
  std::size_t depth_ = 0;
  std::size_t open_[kMaxDepth] = {};
  RlpError err_ = RlpError::Ok;
};

// Size of the RLP header for a payload of `len` bytes (1 when len < 56, else 1 + bytes of len).
[[nodiscard]] constexpr std::size_t rlp_header_size(std::size_t len) noexcept {
  if (len < 56) return 1;
  std::size_t n = 1;
  while (len != 0) {
    ++n;
    len >>= 8;
  }
  return n;
}

struct RlpItem {
  bool is_list = false;
  std::span<const std::uint8_t> payload;  // string bytes, or the concatenated encoded items
  std::size_t encoded_size = 0;           // header + payload
};

// Decodes the item at the front of `in` (which may continue after it).
[[nodiscard]] RlpError rlp_decode_item(std::span<const std::uint8_t> in, RlpItem& out) noexcept;
// Decodes exactly one item that must span all of `in`.
[[nodiscard]] RlpError rlp_decode_exact(std::span<const std::uint8_t> in, RlpItem& out) noexcept;

// Iterates the items of a list payload.
class RlpListReader {
 public:
  explicit RlpListReader(std::span<const std::uint8_t> list_payload) noexcept : rest_(list_payload) {}
  [[nodiscard]] bool done() const noexcept { return rest_.empty(); }
  [[nodiscard]] RlpError next(RlpItem& out) noexcept;

 private:
  std::span<const std::uint8_t> rest_;
};

// Canonical unsigned integers (string items, no leading zero byte).
[[nodiscard]] RlpError rlp_decode_uint(const RlpItem& item, num::U256& out) noexcept;
[[nodiscard]] RlpError rlp_decode_uint(const RlpItem& item, std::uint64_t& out) noexcept;

}  // namespace torq::executor
