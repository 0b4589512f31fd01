// ChainClient: synchronous JSON-RPC over HTTP(S) to one of several node endpoints, with
// failover (endpoints ordered by priority; a failed endpoint is skipped for a backoff period and
// the preferred one is retried first once that expires) and a per-endpoint request budget
// (TokenBucket, requests/s; a batch of n costs n tokens; the caller's thread sleeps when the
// budget is spent, counted in rate_limited_waits()).
//
// It is both the NodeSession's HTTP path (backfill, snapshots, canonical hashes) and the
// executor's SUBMIT PATH: send_raw_transaction, get_transaction_receipt, get_transaction_count,
// eth_call batches, eth_feeHistory and the base fee. Create one ChainClient per thread that needs
// one (torqd's executor gets its own; it never shares the session's).
//
// CONTROL PLANE: every call allocates (request text, response text, DOM parse), may block up to
// the configured timeout per endpoint tried, and is never to be called from a hot core.
// Not thread-safe. Errors are values (RpcError with kind, JSON-RPC code and a message naming the
// endpoint); only the constructor throws (bad URL, no endpoints).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "torq/control/rate_limit.hpp"
#include "torq/control/rpc_client.hpp"
#include "torq/num/uint256.hpp"
#include "torq/protocol/instrument_id.hpp"
#include "torq/protocol/tlv_types.hpp"

namespace torq::control {

// One node. Lower priority value = preferred. `ws` may be empty for an HTTP-only endpoint
// (usable for the submit path and backfill, not for subscriptions).
struct EndpointConfig {
  std::string http;
  std::string ws;
  int priority = 0;
  double requests_per_s = 0;  // 0 = unlimited
  double burst = 20;
};

struct RpcError {
  enum class Kind : std::uint8_t { None = 0, Transport, Rpc, Parse, NoEndpoint };
  Kind kind = Kind::None;
  std::int64_t code = 0;  // JSON-RPC error code when kind == Rpc
  std::string message;
  // Some attempt of the call failed after its request may have been sent (a timeout, a closed
  // connection, a malformed answer), so the node may have acted on it; set on the Transport error
  // and on an Rpc error answered to a later attempt (failover or retry).
  bool maybe_delivered = false;
  [[nodiscard]] explicit operator bool() const noexcept { return kind != Kind::None; }
  // Whether the call may have taken effect although it failed: a Transport or Rpc error with
  // maybe_delivered, any Parse error (the node answered, unreadably), or an Rpc error whose message
  // says a proxy or node timed out ("timeout", "timed out", "deadline exceeded"). A write call
  // (eth_sendRawTransaction) with this outcome must be treated as possibly done, not refused.
  [[nodiscard]] bool outcome_unknown() const noexcept;
  // "range too large" / "limit exceeded" / -32005 / "query returned more than" / "block range":
  // the provider refused an eth_getLogs range; retry with a smaller range.
  // A rate-limit error message is NOT a range limit (some providers use -32005 for both).
  [[nodiscard]] bool is_range_limit() const noexcept;
  // The provider refused for its request budget ("rate limit", "too many requests", code 429,
  // -32005 with "rate"/"capacity"): the ChainClient marks that endpoint down (backoff) and
  // retries the call on the next endpoint.
  [[nodiscard]] bool is_rate_limit() const noexcept;
};

template <class T>
struct RpcResult {
  T value{};
  RpcError error;
  [[nodiscard]] bool ok() const noexcept { return !error; }
};

// Raw result of one call in a batch: the JSON text of "result" (e.g. "\"0x12\"", "{...}").
struct RawResult {
  std::string json;
  RpcError error;
};

struct EthCall {
  protocol::Address to;
  std::string data;  // 0x-prefixed calldata
};

struct Receipt {
  std::array<std::uint8_t, 32> tx_hash{};
  std::uint64_t block_number = 0;
  std::array<std::uint8_t, 32> block_hash{};
  bool status = false;  // true = success
  std::uint64_t gas_used = 0;
  num::U256 effective_gas_price{};
};

struct FeeHistory {
  std::uint64_t oldest_block = 0;
  std::vector<num::U256> base_fee_per_gas;           // blocks + 1 entries (last = next block)
  std::vector<double> gas_used_ratio;
  std::vector<std::vector<num::U256>> reward;        // per block, per requested percentile
};

struct ChainClientStats {
  std::atomic<std::uint64_t> requests{0};            // JSON-RPC elements sent
  std::atomic<std::uint64_t> transport_errors{0};
  std::atomic<std::uint64_t> rpc_errors{0};
  std::atomic<std::uint64_t> failovers{0};           // switches to another endpoint
  std::atomic<std::uint64_t> rate_limited_waits{0};  // sleeps for the request budget
  std::atomic<std::int32_t> active_endpoint{-1};     // index into the priority-sorted list
  std::atomic<std::uint64_t> timeouts{0};            // requests past RpcOptions::timeout (also in transport_errors)
  std::atomic<std::uint64_t> rate_limited{0};        // HTTP 429 or JSON-RPC rate-limit answers (endpoint marked down)
  std::atomic<std::uint64_t> parse_errors{0};        // responses that are not valid JSON-RPC
};

class ChainClient {
 public:
  // Throws std::invalid_argument on no endpoints or an unparsable URL.
  explicit ChainClient(std::vector<EndpointConfig> endpoints, RpcOptions options = {},
                       BackoffPolicy endpoint_backoff = {});
  ~ChainClient();
  ChainClient(const ChainClient&) = delete;
  ChainClient& operator=(const ChainClient&) = delete;

  // Generic: one call (params = JSON array text); the raw "result" JSON.
  [[nodiscard]] RawResult call(std::string_view method, std::string_view params);
  // A batch of {method, params}; results in request order (per-element errors in each entry).
  // The whole batch fails over together on a transport error.
  [[nodiscard]] RpcResult<std::vector<RawResult>> batch(std::span<const std::pair<std::string, std::string>> calls);

  // ---- submit path (executor) ----
  [[nodiscard]] RpcResult<std::array<std::uint8_t, 32>> send_raw_transaction(std::span<const std::uint8_t> signed_tx);
  // value == nullopt: not mined (yet).
  [[nodiscard]] RpcResult<std::optional<Receipt>> get_transaction_receipt(const std::array<std::uint8_t, 32>& hash);
  [[nodiscard]] RpcResult<std::uint64_t> get_transaction_count(const protocol::Address& addr, std::string_view tag = "pending");
  // Batched eth_call at `block_tag` ("latest", "0x1f", ...): per call the return bytes (hex text
  // without 0x) or an error (reverts are per-element Rpc errors).
  [[nodiscard]] RpcResult<std::vector<RawResult>> eth_call_batch(std::span<const EthCall> calls, std::string_view block_tag);
  [[nodiscard]] RpcResult<FeeHistory> fee_history(std::uint32_t blocks, std::string_view newest,
                                                  std::span<const double> percentiles);
  // baseFeePerGas of the latest block.
  [[nodiscard]] RpcResult<num::U256> base_fee();
  [[nodiscard]] RpcResult<std::uint64_t> block_number();
  [[nodiscard]] RpcResult<protocol::BlockHeader> block_by_number(std::string_view tag);  // "latest", "finalized", "0x.."

  [[nodiscard]] const ChainClientStats& stats() const noexcept { return stats_; }
  [[nodiscard]] std::size_t endpoint_count() const noexcept;
  [[nodiscard]] const EndpointConfig& endpoint(std::size_t i) const noexcept;  // priority order

  struct Impl;

 private:
  [[nodiscard]] RpcResult<std::vector<RawResult>> batch_once(std::span<const std::pair<std::string, std::string>> calls,
                                                             std::size_t* used);
  std::unique_ptr<Impl> impl_;
  ChainClientStats stats_;
};

// Hex helpers shared by the session and tests (allocating, control plane).
[[nodiscard]] std::string to_hex_quantity(std::uint64_t v);
[[nodiscard]] std::string to_hex_bytes(std::span<const std::uint8_t> bytes);  // 0x-prefixed
// ABI return data (hex text, with or without 0x) → 32-byte words; nullopt on bad hex/length.
[[nodiscard]] std::optional<std::vector<num::U256>> abi_words(std::string_view hex);
// Parses a JSON header object (eth_getBlockByNumber result / newHeads) into a BlockHeader.
[[nodiscard]] std::optional<protocol::BlockHeader> parse_block_header(std::string_view json);
// Parses an eth_getTransactionReceipt result object (not null): nullopt unless it has a block
// number and hash, gasUsed and a status of 0 or 1 (effectiveGasPrice absent: 0).
[[nodiscard]] std::optional<Receipt> parse_receipt(std::string_view json, const std::array<std::uint8_t, 32>& tx_hash);
// Parses an eth_feeHistory result; nullopt when oldestBlock or any listed entry is unreadable.
[[nodiscard]] std::optional<FeeHistory> parse_fee_history(std::string_view json);

}  // namespace torq::control
