#include "torq/torqd/json_rpc.hpp"

#include <simdjson.h>

#include <chrono>

#include "torq/control/rpc_client.hpp"

namespace torq::torqd {

namespace {

std::string minify(simdjson::dom::element e) { return simdjson::minify(e); }

RpcResult to_result(simdjson::dom::element obj) {
  RpcResult r;
  simdjson::dom::element err;
  if (obj["error"].get(err) == simdjson::SUCCESS && !err.is_null()) {
    std::string_view msg;
    if (err["message"].get(msg) == simdjson::SUCCESS) {
      r.error = std::string(msg);
    } else {
      r.error = minify(err);
    }
    simdjson::dom::element data;
    if (err["data"].get(data) == simdjson::SUCCESS && !data.is_null()) r.error += " data=" + minify(data);
    return r;
  }
  simdjson::dom::element res;
  if (obj["result"].get(res) != simdjson::SUCCESS) {
    r.error = "response without result";
    return r;
  }
  r.ok = true;
  r.json = minify(res);
  return r;
}

int hexval(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

JsonRpc::JsonRpc(const std::string& url, std::uint32_t timeout_ms) : url_(url) {
  auto ep = control::parse_endpoint(url);
  if (!ep || ep->websocket) throw std::invalid_argument("json-rpc: '" + url + "' is not an http(s) URL");
  control::RpcOptions opts;
  opts.timeout = std::chrono::milliseconds(timeout_ms);
  client_ = std::make_unique<control::RpcClient>(*ep, opts);
}

JsonRpc::~JsonRpc() = default;

std::string JsonRpc::call(std::string_view method, std::string_view params) {
  std::string body = "{\"jsonrpc\":\"2.0\",\"id\":" + std::to_string(client_->next_id()) + ",\"method\":\"";
  body.append(method).append("\",\"params\":").append(params).append("}");
  std::string out;
  const auto st = client_->post(body, out);
  if (st != control::RpcStatus::Ok) {
    throw RpcCallError(std::string(method) + ": " + control::to_string(st) + ": " + client_->last_error());
  }
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(out).get(doc) != simdjson::SUCCESS) throw RpcCallError(std::string(method) + ": bad JSON response");
  RpcResult r = to_result(doc);
  if (!r.ok) throw RpcCallError(std::string(method) + ": " + r.error, -1);
  return r.json;
}

std::string JsonRpc::call_string(std::string_view method, std::string_view params) {
  const std::string r = call(method, params);
  if (r.size() < 2 || r.front() != '"') throw RpcCallError(std::string(method) + ": result is not a string: " + r);
  return std::string(unquote(r));
}

std::vector<RpcResult> JsonRpc::batch(const std::vector<RpcRequest>& requests, std::size_t chunk) {
  std::vector<RpcResult> results(requests.size());
  simdjson::dom::parser parser;
  for (std::size_t begin = 0; begin < requests.size(); begin += chunk) {
    const std::size_t end = std::min(requests.size(), begin + chunk);
    std::string body = "[";
    for (std::size_t i = begin; i < end; ++i) {
      if (i != begin) body += ',';
      body += "{\"jsonrpc\":\"2.0\",\"id\":" + std::to_string(i) + ",\"method\":\"" + requests[i].method +
              "\",\"params\":" + requests[i].params + "}";
    }
    body += "]";
    std::string out;
    const auto st = client_->post(body, out);
    if (st != control::RpcStatus::Ok) {
      throw RpcCallError("batch: " + std::string(control::to_string(st)) + ": " + client_->last_error());
    }
    simdjson::dom::element doc;
    simdjson::dom::array arr;
    if (parser.parse(out).get(doc) != simdjson::SUCCESS || doc.get_array().get(arr) != simdjson::SUCCESS) {
      throw RpcCallError("batch: response is not a JSON array");
    }
    for (simdjson::dom::element e : arr) {
      std::uint64_t id = 0;
      if (e["id"].get(id) != simdjson::SUCCESS || id < begin || id >= end) continue;
      results[id] = to_result(e);
    }
    for (std::size_t i = begin; i < end; ++i) {
      if (!results[i].ok && results[i].error.empty()) results[i].error = "no response for this request";
    }
  }
  return results;
}

std::optional<std::uint64_t> parse_hex_u64(std::string_view s) noexcept {
  if (s.size() < 3 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X') || s.size() > 18) return std::nullopt;
  std::uint64_t v = 0;
  for (std::size_t i = 2; i < s.size(); ++i) {
    const int h = hexval(s[i]);
    if (h < 0) return std::nullopt;
    v = (v << 4) | static_cast<std::uint64_t>(h);
  }
  return v;
}

std::optional<std::vector<std::uint8_t>> parse_hex_bytes(std::string_view s) {
  if (s.size() >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) s.remove_prefix(2);
  if (s.size() % 2 != 0) return std::nullopt;
  std::vector<std::uint8_t> out(s.size() / 2);
  for (std::size_t i = 0; i < out.size(); ++i) {
    const int hi = hexval(s[2 * i]);
    const int lo = hexval(s[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[i] = static_cast<std::uint8_t>((hi << 4) | lo);
  }
  return out;
}

std::optional<num::U256> abi_word(const std::vector<std::uint8_t>& data, std::size_t i) noexcept {
  if (data.size() < 32 * (i + 1)) return std::nullopt;
  return num::from_be_bytes(std::span<const std::uint8_t, 32>(data.data() + 32 * i, 32));
}

std::string_view unquote(std::string_view json) noexcept {
  if (json.size() >= 2 && json.front() == '"' && json.back() == '"') return json.substr(1, json.size() - 2);
  return json;
}

std::string to_hex(const std::uint8_t* data, std::size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s = "0x";
  s.reserve(2 + 2 * size);
  for (std::size_t i = 0; i < size; ++i) {
    s += kDigits[data[i] >> 4];
    s += kDigits[data[i] & 15];
  }
  return s;
}

std::string quantity(std::uint64_t v) {
  static constexpr char kDigits[] = "0123456789abcdef";
  if (v == 0) return "0x0";
  char buf[16];
  int n = 0;
  while (v != 0) {
    buf[n++] = kDigits[v & 15];
    v >>= 4;
  }
  std::string s = "0x";
  while (n > 0) s += buf[--n];
  return s;
}

}  // namespace torq::torqd
