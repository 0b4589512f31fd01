// LogDecoder: Ethereum JSON-RPC log and head messages (exactly as a node sends them) → Protocol
// V2 market-data values (V2 Sync/Swap/Mint/Burn, V3 Swap/Mint/Burn/Initialize, BlockHeader).
//
// Inputs: one WebSocket text message (an `eth_subscription` notification carrying a log or a
// newHeads header, or a JSON-RPC response), one bare log object, or a whole `eth_getLogs`
// response. The pool is looked up by (chain, address) in the InstrumentRegistry; the event kind
// by topic0; the ABI `data` words are range-checked against the Solidity types (uint112, int24,
// uint128, uint160), and a V3 Swap's or Initialize's tick must be the one its sqrtPrice lies in
// (v3_tick_matches_price): a node's inconsistent pair is a BadAbiData error, not a book state. Every decoded event carries an EventContext (pool, block number, tx index,
// log index, first 8 bytes of the block hash) and the `removed` flag of reorged logs.
//
// Cost and allocation: one simdjson On-Demand parser and one padded input buffer, both sized in
// the constructor and reused for every message; decoding a message allocates nothing and throws
// nothing. Only decode_log_array() may grow the buffer, when a backfill response is larger than
// any seen before (control-plane path, never per notification). Errors are return values
// (DecodeError) and are counted per kind; bad JSON never crashes.
//
// Thread-safety: one LogDecoder per thread (it owns mutable parser state). The registry is only
// read (const lookups) and must not be modified while a decoder uses it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>
#include <type_traits>

#include <simdjson.h>

#include "torq/protocol/instrument_id.hpp"
#include "torq/protocol/tlv_types.hpp"

namespace torq::control {

enum class DecodeError : std::uint8_t {
  Ok = 0,
  TooLarge,          // message above the decoder's maximum size
  BadJson,           // not well-formed JSON, or a value of the wrong JSON type
  NotANotification,  // valid JSON but neither a subscription notification nor a response
  MissingField,      // a required field (topics, data, blockHash, logIndex, ...) is absent
  BadHex,            // a hex field with a wrong length or a non-hex character
  UnknownTopic,      // topic0 is not one of the decoded pool events
  UnknownPool,       // the log's address is not a registered pool
  PoolKindMismatch,  // e.g. a V3 event from a pool registered as V2
  BadAbiData,        // data/topics of the wrong size, or a value outside its Solidity type
  PendingLog,        // blockNumber/blockHash/logIndex is null (pending block)
  RpcError,          // a JSON-RPC error response (see rpc_error_code / rpc_error_message)
  kCount,
};
inline constexpr std::size_t kDecodeErrorCount = static_cast<std::size_t>(DecodeError::kCount);
[[nodiscard]] const char* to_string(DecodeError e) noexcept;

// Whether `tick` is a tick a Uniswap V3 pool can report with `sqrt_price_x96` (slot0, Swap,
// Initialize): MIN_TICK <= tick < MAX_TICK and getSqrtRatioAtTick(tick) <= price <=
// getSqrtRatioAtTick(tick + 1). The upper bound is inclusive: a swap towards token1 that ends
// exactly on an initialized tick t leaves the price at t and the tick at t - 1.
[[nodiscard]] bool v3_tick_matches_price(const protocol::U256& sqrt_price_x96, std::int32_t tick) noexcept;

enum class MessageKind : std::uint8_t { None = 0, Log = 1, NewHead = 2, Response = 3 };

// Event topic0 values (keccak-256 of the Solidity event signature).
namespace topics {
using Bytes32 = std::array<std::uint8_t, 32>;
extern const Bytes32 kV2Sync, kV2Swap, kV2Mint, kV2Burn, kV3Swap, kV3Mint, kV3Burn, kV3Initialize;
}  // namespace topics

// One decoded log: the TLV value bytes (whose first 32 bytes are the EventContext) plus what the
// reorg tracker and the dedup cursor need. Trivially copyable, 232 bytes.
struct LogEvent {
  static constexpr std::size_t kMaxValue = 160;
  alignas(8) std::array<std::byte, kMaxValue> value;
  std::array<std::uint8_t, 32> block_hash;
  protocol::Address address;
  protocol::TlvType type;
  std::uint8_t value_size;
  bool removed;
  std::uint8_t reserved[17];

  [[nodiscard]] protocol::EventContext ctx() const noexcept {
    protocol::EventContext c;
    std::memcpy(&c, value.data(), sizeof c);
    return c;
  }
  [[nodiscard]] std::span<const std::byte> bytes() const noexcept { return {value.data(), value_size}; }
  // Copies the value out as T (T::kType must equal type; the caller checks).
  template <class T>
  [[nodiscard]] T as() const noexcept {
    static_assert(std::is_trivially_copyable_v<T> && sizeof(T) <= kMaxValue);
    T out;
    std::memcpy(&out, value.data(), sizeof(T));
    return out;
  }
};
static_assert(std::is_trivially_copyable_v<LogEvent>);
static_assert(sizeof(LogEvent) == 232);
static_assert(offsetof(LogEvent, value) == 0);

class LogDecoder {
 public:
  static constexpr std::size_t kDefaultMaxMessage = 64 * 1024;

  // Allocates the parser and buffer for messages up to max_message bytes (start-up; may throw).
  LogDecoder(const protocol::InstrumentRegistry& registry, protocol::Chain chain,
             std::size_t max_message = kDefaultMaxMessage);

  // One WebSocket text message. On Ok, `kind` says what it was: Log (see log()), NewHead (see
  // head()), Response (anything with an "id" and no "error": the caller parses it on its own
  // path). A response with an "error" member returns RpcError (rpc_error_code()/message()).
  // Block numbers above kMaxBlockNumber (reorg_tracker.hpp) are refused (BadAbiData).
  [[nodiscard]] DecodeError decode_message(std::string_view json, MessageKind& kind) noexcept;
  // One bare log object (an eth_getLogs element). On Ok see log().
  [[nodiscard]] DecodeError decode_log(std::string_view json) noexcept;

  // A whole eth_getLogs response: calls on_log(const LogEvent&) for every element that decodes;
  // elements that do not (unknown pool, bad data) are counted and skipped. Returns the first
  // document-level error (BadJson, RpcError, ...) or Ok. May grow the input buffer.
  template <class F>
  [[nodiscard]] DecodeError decode_log_array(std::string_view json, F&& on_log) noexcept {
    auto thunk = [](void* ctx, const LogEvent& e) noexcept { (*static_cast<std::remove_reference_t<F>*>(ctx))(e); };
    return decode_log_array_impl(json, thunk, &on_log);
  }

  [[nodiscard]] const LogEvent& log() const noexcept { return log_; }
  [[nodiscard]] const protocol::BlockHeader& head() const noexcept { return head_; }
  [[nodiscard]] std::int64_t rpc_error_code() const noexcept { return rpc_error_code_; }
  [[nodiscard]] std::string_view rpc_error_message() const noexcept { return {rpc_error_message_.data(), rpc_error_len_}; }

  [[nodiscard]] std::uint64_t errors(DecodeError e) const noexcept { return errors_[static_cast<std::size_t>(e)]; }
  [[nodiscard]] std::uint64_t total_errors() const noexcept;
  [[nodiscard]] std::uint64_t logs_decoded() const noexcept { return logs_decoded_; }
  [[nodiscard]] std::uint64_t heads_decoded() const noexcept { return heads_decoded_; }

 private:
  using Callback = void (*)(void*, const LogEvent&) noexcept;
  struct Fields;  // string views of one result object, filled in one pass

  [[nodiscard]] DecodeError decode_log_array_impl(std::string_view json, Callback cb, void* ctx) noexcept;
  [[nodiscard]] bool load(std::string_view json) noexcept;
  [[nodiscard]] DecodeError scan_object(simdjson::ondemand::object obj, Fields& f) noexcept;
  [[nodiscard]] DecodeError finish_log(const Fields& f) noexcept;
  [[nodiscard]] DecodeError finish_head(const Fields& f) noexcept;
  [[nodiscard]] DecodeError read_rpc_error(simdjson::ondemand::value v) noexcept;
  DecodeError count(DecodeError e) noexcept {
    ++errors_[static_cast<std::size_t>(e)];
    return e;
  }

  const protocol::InstrumentRegistry& registry_;
  protocol::Chain chain_;
  simdjson::ondemand::parser parser_;
  std::unique_ptr<char[]> buf_;
  std::size_t capacity_ = 0;  // bytes usable, SIMDJSON_PADDING more are allocated
  LogEvent log_{};
  protocol::BlockHeader head_{};
  std::array<std::uint64_t, kDecodeErrorCount> errors_{};
  std::uint64_t logs_decoded_ = 0;
  std::uint64_t heads_decoded_ = 0;
  std::int64_t rpc_error_code_ = 0;
  std::array<char, 256> rpc_error_message_{};
  std::size_t rpc_error_len_ = 0;
};

}  // namespace torq::control
