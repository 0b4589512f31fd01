// torq/torqd/json_rpc.hpp — a small JSON-RPC convenience layer over torq::control::RpcClient
// (HTTP): single calls and batches whose results come back as JSON text, plus helpers for the
// Ethereum encodings torqd needs (hex quantities, eth_call return data).
//
// Adapter owned by torqd: the control library's node session is the long-term home of this
// logic. Control-plane code only (start-up, the submitter thread): allocates, and call()/batch()
// throw RpcCallError with the method and the node's message. Not thread-safe: one JsonRpc per
// thread (it owns its RpcClient and parser).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "torq/num/uint256.hpp"

namespace torq::control {
class RpcClient;
}

namespace torq::torqd {

class RpcCallError : public std::runtime_error {
 public:
  RpcCallError(std::string what, std::int64_t code = 0) : std::runtime_error(std::move(what)), code_(code) {}
  [[nodiscard]] std::int64_t code() const noexcept { return code_; }

 private:
  std::int64_t code_;
};

struct RpcRequest {
  std::string method;
  std::string params;  // JSON array text, e.g. R"(["latest", false])"
};

// One batch element's outcome: the result as JSON text, or the node's error message.
struct RpcResult {
  bool ok = false;
  std::string json;   // result (minified JSON; strings keep their quotes) when ok
  std::string error;  // error message when !ok
};

class JsonRpc {
 public:
  // `url`: http:// or https://. Throws std::invalid_argument on a bad URL.
  explicit JsonRpc(const std::string& url, std::uint32_t timeout_ms = 10000);
  ~JsonRpc();
  JsonRpc(const JsonRpc&) = delete;
  JsonRpc& operator=(const JsonRpc&) = delete;

  // The result as JSON text. Throws RpcCallError (transport failure or JSON-RPC error).
  [[nodiscard]] std::string call(std::string_view method, std::string_view params);
  // The result, which must be a JSON string, without quotes.
  [[nodiscard]] std::string call_string(std::string_view method, std::string_view params);
  // Results in request order. Throws RpcCallError on a transport failure only; per-request
  // errors are reported in RpcResult. Large batches are split into chunks of `chunk` requests.
  [[nodiscard]] std::vector<RpcResult> batch(const std::vector<RpcRequest>& requests, std::size_t chunk = 200);

  [[nodiscard]] const std::string& url() const noexcept { return url_; }

 private:
  std::string url_;
  std::unique_ptr<control::RpcClient> client_;
};

// "0x1a" → 26; nullopt for anything else.
[[nodiscard]] std::optional<std::uint64_t> parse_hex_u64(std::string_view s) noexcept;
// "0x…" → bytes; nullopt on odd length or a non-hex digit.
[[nodiscard]] std::optional<std::vector<std::uint8_t>> parse_hex_bytes(std::string_view s);
// 32-byte big-endian word `i` of ABI data; nullopt when out of range.
[[nodiscard]] std::optional<num::U256> abi_word(const std::vector<std::uint8_t>& data, std::size_t i) noexcept;
// Strips the quotes of a JSON string result ("\"0x12\"" → "0x12"); the text itself otherwise.
[[nodiscard]] std::string_view unquote(std::string_view json) noexcept;
// "0x" + lowercase hex.
[[nodiscard]] std::string to_hex(const std::uint8_t* data, std::size_t size);
[[nodiscard]] std::string quantity(std::uint64_t v);  // "0x1a"

}  // namespace torq::torqd
