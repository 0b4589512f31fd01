// torq/executor/abi.hpp — Solidity contract ABI encoding and decoding (calls, return data,
// revert reasons).
//
// Owns `AbiWriter`/`AbiTuple` (encoder into a caller buffer) and `AbiReader` plus
// `decode_revert` (bounds-checked decoder over caller bytes). Nothing here allocates, throws or
// touches shared state; an object is used by one thread at a time. Errors are `AbiError`
// values, sticky in the writer (after the first failure every call is a no-op).
//
// Encoding model (Solidity ABI spec, "head/tail"): a tuple is a head of 32-byte words, one per
// static member (a static struct occupies its words inline) or one offset word per dynamic member
// (bytes, string, T[], structs with a dynamic member); the dynamic data goes to the tail, and
// an offset is counted from the start of the tuple's own head. `AbiTuple` is a view of one
// tuple's head: the caller says how many head words it has, writes static slots in place and
// appends dynamic members with `bytes()`, `tuple()` or `array()`, which allocate their space at
// the current end of the buffer and store the offset. Written in slot order (and each nested
// tail finished before the next sibling's tail starts) the output is byte-identical to
// Solidity's and ethers' canonical encoding; other orders are valid ABI too.
//
//   AbiWriter w(buf);
//   AbiTuple args = w.call(selector("execute(bytes,uint256,uint256)"), 3);
//   args.bytes(0, path); args.uint(1, amount_in); args.uint(2, min_profit);
//   if (!w.ok()) ...; send(w.encoded());
//
// The decoder follows offsets with overflow-safe bounds checks, verifies the zero padding of
// address/bool/intN words, and never reads outside its input (fuzzed by
// tests/fuzz/rlp_abi_fuzz.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "torq/executor/keccak.hpp"
#include "torq/num/uint256.hpp"
#include "torq/protocol/instrument_id.hpp"

namespace torq::executor {

enum class AbiError : std::uint8_t {
  Ok = 0,
  BufferTooSmall,  // writer: the caller buffer is full
  BadSlot,         // writer/reader: slot index outside the tuple's head
  OutOfBounds,     // reader: a word, offset or length points past the data
  BadPadding,      // reader: non-zero bits where address/bool/intN/bytes need zeros
  ValueTooLarge,   // reader: value does not fit the requested type
};

[[nodiscard]] const char* to_string(AbiError e) noexcept;

class AbiWriter;

class AbiTuple {
 public:
  AbiTuple() noexcept = default;

  void uint(std::size_t slot, const num::U256& v) noexcept;
  void uint(std::size_t slot, std::uint64_t v) noexcept;
  // intN (int24 ticks, int256...): two's-complement, sign-extended to 256 bits.
  void sint(std::size_t slot, std::int64_t v) noexcept;
  void sint(std::size_t slot, const num::I256& v) noexcept;
  void address(std::size_t slot, const protocol::Address& a) noexcept;
  void boolean(std::size_t slot, bool b) noexcept;
  void bytes32(std::size_t slot, std::span<const std::uint8_t, 32> b) noexcept;
  // Dynamic members: data appended at the end of the buffer, offset stored in `slot`.
  void bytes(std::size_t slot, std::span<const std::uint8_t> b) noexcept;
  void string(std::size_t slot, std::string_view s) noexcept;
  // A struct with a dynamic member (`head_words` words of its own head), appended to the tail.
  [[nodiscard]] AbiTuple tuple(std::size_t slot, std::size_t head_words) noexcept;
  // A static struct stored inline from `first_slot` (occupies its words of this head).
  [[nodiscard]] AbiTuple inline_tuple(std::size_t first_slot) noexcept;
  // T[]: length word then `count * elem_words` head words (static T: elem_words = its size in
  // words, element i from slot i * elem_words; dynamic T: elem_words = 1, one offset each).
  [[nodiscard]] AbiTuple array(std::size_t slot, std::size_t count, std::size_t elem_words) noexcept;

  [[nodiscard]] std::size_t head_words() const noexcept { return words_; }

 private:
  friend class AbiWriter;
  AbiTuple(AbiWriter* w, std::size_t base, std::size_t words) noexcept : w_(w), base_(base), words_(words) {}
  [[nodiscard]] std::uint8_t* word(std::size_t slot) noexcept;
  void offset_to(std::size_t slot, std::size_t target) noexcept;

  AbiWriter* w_ = nullptr;
  std::size_t base_ = 0;   // buffer position of head word 0
  std::size_t words_ = 0;  // head size in words
};

class AbiWriter {
 public:
  explicit AbiWriter(std::span<std::uint8_t> buf) noexcept : buf_(buf) {}

  // A function call: the 4-byte selector then the argument tuple (head_words words).
  [[nodiscard]] AbiTuple call(const Selector& sel, std::size_t head_words) noexcept;
  // Plain `abi.encode(...)` of a tuple, no selector.
  [[nodiscard]] AbiTuple encode(std::size_t head_words) noexcept;

  [[nodiscard]] AbiError error() const noexcept { return err_; }
  [[nodiscard]] bool ok() const noexcept { return err_ == AbiError::Ok; }
  [[nodiscard]] std::size_t size() const noexcept { return end_; }
  [[nodiscard]] std::span<const std::uint8_t> encoded() const noexcept { return buf_.first(end_); }

 private:
  friend class AbiTuple;
  static constexpr std::size_t kFail = ~std::size_t{0};
  // Appends `bytes` zeroed bytes; returns their position or kFail.
  [[nodiscard]] std::size_t alloc(std::size_t bytes) noexcept;
  void fail(AbiError e) noexcept {
    if (err_ == AbiError::Ok) err_ = e;
  }

  std::span<std::uint8_t> buf_;
  std::size_t end_ = 0;
  AbiError err_ = AbiError::Ok;
};

// Read-only view of one ABI tuple inside `data` (e.g. return data, or calldata after the
// selector). Dynamic members are followed with bounds checks.
class AbiReader {
 public:
  AbiReader() noexcept = default;
  explicit AbiReader(std::span<const std::uint8_t> data) noexcept : data_(data) {}

  [[nodiscard]] AbiError uint(std::size_t slot, num::U256& out) const noexcept;
  [[nodiscard]] AbiError uint(std::size_t slot, std::uint64_t& out) const noexcept;
  // intN for N in 8..64: the word must be the sign extension of an N-bit value.
  [[nodiscard]] AbiError sint(std::size_t slot, unsigned bits, std::int64_t& out) const noexcept;
  [[nodiscard]] AbiError address(std::size_t slot, protocol::Address& out) const noexcept;
  [[nodiscard]] AbiError boolean(std::size_t slot, bool& out) const noexcept;
  [[nodiscard]] AbiError bytes(std::size_t slot, std::span<const std::uint8_t>& out) const noexcept;
  [[nodiscard]] AbiError string(std::size_t slot, std::string_view& out) const noexcept;
  [[nodiscard]] AbiError tuple(std::size_t slot, AbiReader& out) const noexcept;
  [[nodiscard]] AbiReader inline_tuple(std::size_t first_slot) const noexcept {
    AbiReader r = *this;
    r.base_ = (first_slot <= (data_.size() - base_) / 32) ? base_ + 32 * first_slot : data_.size();
    return r;
  }
  // T[]: `count` and a reader over the elements' head (element i as described in AbiTuple).
  [[nodiscard]] AbiError array(std::size_t slot, std::size_t elem_words, std::size_t& count,
                               AbiReader& elems) const noexcept;

 private:
  [[nodiscard]] const std::uint8_t* word(std::size_t slot) const noexcept;
  [[nodiscard]] AbiError follow(std::size_t slot, std::size_t& pos) const noexcept;

  std::span<const std::uint8_t> data_;  // the whole encoding offsets may point into
  std::size_t base_ = 0;                // start of this tuple's head within data_
};

// Revert data of a failed call or transaction.
enum class RevertKind : std::uint8_t {
  Empty,        // no data (plain revert(), out of gas, invalid opcode before 0.8)
  ErrorString,  // Error(string): `message`
  Panic,        // Panic(uint256): `panic_code` (0x01 assert, 0x11 overflow, 0x12 div by 0, ...)
  Custom,       // custom error: `selector`, arguments in `args`
  Malformed,    // Error/Panic selector with an undecodable body, or 1-3 bytes
};

struct RevertReason {
  RevertKind kind = RevertKind::Empty;
  std::string_view message;  // ErrorString: points into the input
  num::U256 panic_code = num::U256::zero();
  Selector selector{};
  std::span<const std::uint8_t> args;  // bytes after the selector
};

inline constexpr Selector kErrorStringSelector = selector("Error(string)");  // 0x08c379a0
inline constexpr Selector kPanicSelector = selector("Panic(uint256)");       // 0x4e487b71

[[nodiscard]] RevertReason decode_revert(std::span<const std::uint8_t> data) noexcept;

// The arbitrage entry point of Torq's contract: `execute(bytes path, uint256 amountIn,
// uint256 minProfit)`, the path being the packed hop list the contract walks.
inline constexpr Selector kExecuteSelector = selector("execute(bytes,uint256,uint256)");
// Encoded calldata size for a path of `path_len` bytes: 4 + 32 * (3 + 1 + ceil(path_len / 32)).
[[nodiscard]] constexpr std::size_t execute_call_size(std::size_t path_len) noexcept {
  return 4 + 32 * (4 + (path_len + 31) / 32);
}
// Writes the call into `out`; returns the size, or 0 when `out` is too small.
[[nodiscard]] std::size_t encode_execute_call(std::span<std::uint8_t> out, std::span<const std::uint8_t> path,
                                              const num::U256& amount_in, const num::U256& min_profit) noexcept;

}  // namespace torq::executor
