// ChainClient: JSON-RPC over HTTP with endpoint failover and request budgets (control plane).
#include "torq/control/chain_client.hpp"

#include <simdjson.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <stdexcept>
#include <thread>

#include "torq/control/hex.hpp"

namespace torq::control {

namespace {
std::uint64_t mono_ns() noexcept {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count());
}
bool icontains(std::string_view hay, std::string_view needle) {
  if (needle.size() > hay.size()) return false;
  for (std::size_t i = 0; i + needle.size() <= hay.size(); ++i) {
    bool ok = true;
    for (std::size_t j = 0; j < needle.size() && ok; ++j)
      ok = std::tolower(static_cast<unsigned char>(hay[i + j])) == std::tolower(static_cast<unsigned char>(needle[j]));
    if (ok) return true;
  }
  return false;
}
// Extracts "result"/"error" of one response object.
RawResult read_response(simdjson::dom::element obj) {
  RawResult r;
  simdjson::dom::element err;
  if (obj["error"].get(err) == simdjson::SUCCESS && !err.is_null()) {
    r.error.kind = RpcError::Kind::Rpc;
    std::int64_t code = 0;
    if (err["code"].get(code) == simdjson::SUCCESS) r.error.code = code;
    std::string_view msg;
    if (err["message"].get(msg) == simdjson::SUCCESS) r.error.message = std::string(msg);
    return r;
  }
  simdjson::dom::element res;
  if (obj["result"].get(res) != simdjson::SUCCESS) {
    r.error = {RpcError::Kind::Parse, 0, "response without result"};
    return r;
  }
  r.json = simdjson::minify(res);
  return r;
}
std::string request(std::uint64_t id, std::string_view method, std::string_view params) {
  std::string s;
  s.reserve(64 + method.size() + params.size());
  s += "{\"jsonrpc\":\"2.0\",\"id\":";
  s += std::to_string(id);
  s += ",\"method\":\"";
  s += method;
  s += "\",\"params\":";
  s += params.empty() ? std::string_view("[]") : params;
  s += '}';
  return s;
}
std::optional<std::string_view> json_string(const std::string& json) {
  if (json.size() < 2 || json.front() != '"' || json.back() != '"') return std::nullopt;
  return std::string_view(json).substr(1, json.size() - 2);
}
// A hex quantity ("0x1b4") at `e`, or at `o[key]`; nullopt when it is absent, not a string or
// not a quantity that fits 64 bits.
std::optional<std::uint64_t> quantity(simdjson::dom::element e) {
  std::string_view s;
  if (e.get(s) != simdjson::SUCCESS) return std::nullopt;
  return hex::parse_quantity(s);
}

std::optional<std::uint64_t> quantity_field(simdjson::dom::element o, const char* key) {
  simdjson::dom::element e;
  if (o[key].get(e) != simdjson::SUCCESS) return std::nullopt;
  return quantity(e);
}
}  // namespace

bool RpcError::is_rate_limit() const noexcept {
  if (kind != Kind::Rpc) return false;
  if (code == 429) return true;
  return icontains(message, "rate limit") || icontains(message, "too many requests") ||
         icontains(message, "rate-limit") || icontains(message, "exceeded the rate") ||
         (code == -32005 && icontains(message, "capacity"));
}

bool RpcError::outcome_unknown() const noexcept {
  switch (kind) {
    case Kind::Transport: return maybe_delivered;
    case Kind::Parse: return true;
    case Kind::Rpc:
      return maybe_delivered || icontains(message, "timeout") || icontains(message, "timed out") || icontains(message, "deadline exceeded");
    case Kind::None:
    case Kind::NoEndpoint: return false;
  }
  return true;
}

bool RpcError::is_range_limit() const noexcept {
  if (kind != Kind::Rpc || is_rate_limit()) return false;
  if (code == -32005) return true;
  return icontains(message, "range") || icontains(message, "limit exceeded") || icontains(message, "too many") ||
         icontains(message, "more than") || icontains(message, "too large");
}

struct ChainClient::Impl {
  struct Ep {
    EndpointConfig cfg;
    std::unique_ptr<RpcClient> rpc;
    TokenBucket bucket;
    Backoff backoff;
    std::uint64_t down_until_ns = 0;
  };
  std::vector<Ep> eps;
  simdjson::dom::parser parser;
  std::uint64_t id = 0;
  std::int32_t last_used = -1;
};

ChainClient::ChainClient(std::vector<EndpointConfig> endpoints, RpcOptions options, BackoffPolicy endpoint_backoff)
    : impl_(std::make_unique<Impl>()) {
  if (endpoints.empty()) throw std::invalid_argument("ChainClient: no endpoints");
  std::stable_sort(endpoints.begin(), endpoints.end(),
                   [](const EndpointConfig& a, const EndpointConfig& b) { return a.priority < b.priority; });
  std::uint64_t seed = 1;
  for (auto& e : endpoints) {
    auto ep = parse_endpoint(e.http);
    if (!ep || ep->websocket) throw std::invalid_argument("ChainClient: bad http endpoint URL '" + e.http + "'");
    Impl::Ep x;
    x.rpc = std::make_unique<RpcClient>(*ep, options);
    x.bucket = TokenBucket(e.requests_per_s, e.burst, mono_ns());
    x.backoff = Backoff(endpoint_backoff, seed++);
    x.cfg = std::move(e);
    impl_->eps.push_back(std::move(x));
  }
}
ChainClient::~ChainClient() = default;

std::size_t ChainClient::endpoint_count() const noexcept { return impl_->eps.size(); }
const EndpointConfig& ChainClient::endpoint(std::size_t i) const noexcept { return impl_->eps[i].cfg; }

// Sends `body` (n elements) to the first endpoint that is up, in priority order; fails over on
// transport errors. On success `out` holds the response body.
// `maybe_delivered` is set when an attempt failed after its request may have been sent (the
// call may have taken effect even if a later attempt succeeds or fails otherwise).
static RpcError send_failover(ChainClient::Impl& im, ChainClientStats& st, const std::string& body, double n,
                              std::string& out, std::size_t* used, bool& maybe_delivered) {
  RpcError last{RpcError::Kind::NoEndpoint, 0, "no endpoint available"};
  for (int pass = 0; pass < 2; ++pass) {  // pass 1 ignores down_until (all were down)
    for (std::size_t i = 0; i < im.eps.size(); ++i) {
      auto& ep = im.eps[i];
      const std::uint64_t now = mono_ns();
      if (pass == 0 && ep.down_until_ns > now) continue;
      const std::uint64_t wait = ep.bucket.reserve(now, n);
      if (wait > 0) {
        st.rate_limited_waits.fetch_add(1, std::memory_order_relaxed);
        std::this_thread::sleep_for(std::chrono::nanoseconds(wait));
      }
      st.requests.fetch_add(static_cast<std::uint64_t>(n), std::memory_order_relaxed);
      const RpcStatus s = ep.rpc->post(body, out);
      maybe_delivered = maybe_delivered || ep.rpc->last_maybe_delivered();
      if (s == RpcStatus::Ok) {
        if (used) *used = i;
        ep.backoff.reset();
        ep.down_until_ns = 0;
        if (im.last_used != static_cast<std::int32_t>(i)) {
          if (im.last_used >= 0) st.failovers.fetch_add(1, std::memory_order_relaxed);
          im.last_used = static_cast<std::int32_t>(i);
          st.active_endpoint.store(im.last_used, std::memory_order_relaxed);
        }
        return {};
      }
      st.transport_errors.fetch_add(1, std::memory_order_relaxed);
      if (s == RpcStatus::Timeout) st.timeouts.fetch_add(1, std::memory_order_relaxed);
      if (s == RpcStatus::Refused) st.rate_limited.fetch_add(1, std::memory_order_relaxed);
      ep.down_until_ns = mono_ns() + ep.backoff.next_ms() * 1'000'000ull;
      maybe_delivered = maybe_delivered || s == RpcStatus::Timeout || s == RpcStatus::ProtocolError;
      last = {RpcError::Kind::Transport, 0, std::string(to_string(s)) + ": " + ep.rpc->last_error(), maybe_delivered};
    }
  }
  return last;
}

// A JSON-RPC rate-limit answer from endpoint `i`: count it, mark the endpoint down for its
// backoff period; true when another endpoint is worth trying.
static bool rate_limited(ChainClient::Impl& im, ChainClientStats& st, std::size_t i) {
  st.rate_limited.fetch_add(1, std::memory_order_relaxed);
  auto& ep = im.eps[i];
  ep.down_until_ns = mono_ns() + ep.backoff.next_ms() * 1'000'000ull;
  return im.eps.size() > 1;
}

RawResult ChainClient::call(std::string_view method, std::string_view params) {
  std::string out;
  RawResult r;
  bool maybe_delivered = false;  // over every attempt (rate-limit retries included)
  for (std::size_t attempt = 0; attempt < impl_->eps.size(); ++attempt) {
    std::size_t used = 0;
    r = RawResult{};
    r.error = send_failover(*impl_, stats_, request(++impl_->id, method, params), 1, out, &used, maybe_delivered);
    if (r.error) return r;
    simdjson::dom::element doc;
    if (impl_->parser.parse(out).get(doc) != simdjson::SUCCESS) {
      stats_.parse_errors.fetch_add(1, std::memory_order_relaxed);
      r.error = {RpcError::Kind::Parse, 0, "bad JSON response to " + std::string(method)};
      return r;
    }
    r = read_response(doc);
    // An error answer to a retry says nothing about an earlier attempt that may have arrived (a
    // resent transaction is then "already known" or "nonce too low" because of itself).
    r.error.maybe_delivered = maybe_delivered;
    if (r.error.kind == RpcError::Kind::Rpc) stats_.rpc_errors.fetch_add(1, std::memory_order_relaxed);
    if (!r.error.is_rate_limit() || !rate_limited(*impl_, stats_, used)) return r;
  }
  return r;
}

RpcResult<std::vector<RawResult>> ChainClient::batch(std::span<const std::pair<std::string, std::string>> calls) {
  RpcResult<std::vector<RawResult>> res;
  for (std::size_t attempt = 0; attempt < impl_->eps.size(); ++attempt) {
    std::size_t used = 0;
    res = batch_once(calls, &used);
    if (!res.error.is_rate_limit() || !rate_limited(*impl_, stats_, used)) return res;
  }
  return res;
}

RpcResult<std::vector<RawResult>> ChainClient::batch_once(std::span<const std::pair<std::string, std::string>> calls,
                                                          std::size_t* used) {
  RpcResult<std::vector<RawResult>> res;
  if (calls.empty()) return res;
  std::string body = "[";
  const std::uint64_t first = impl_->id + 1;
  for (const auto& [m, p] : calls) {
    if (body.size() > 1) body += ',';
    body += request(++impl_->id, m, p);
  }
  body += ']';
  std::string out;
  bool maybe_delivered = false;
  res.error = send_failover(*impl_, stats_, body, static_cast<double>(calls.size()), out, used, maybe_delivered);
  if (res.error) return res;
  simdjson::dom::element doc;
  if (impl_->parser.parse(out).get(doc) != simdjson::SUCCESS) {
    stats_.parse_errors.fetch_add(1, std::memory_order_relaxed);
    res.error = {RpcError::Kind::Parse, 0, "bad JSON batch response"};
    return res;
  }
  simdjson::dom::array arr;
  if (doc.get(arr) != simdjson::SUCCESS) {
    RawResult one = read_response(doc);  // a whole-batch error object
    res.error = one.error ? one.error : RpcError{RpcError::Kind::Parse, 0, "batch response is not an array"};
    if (res.error.kind == RpcError::Kind::Rpc) stats_.rpc_errors.fetch_add(1, std::memory_order_relaxed);
    return res;
  }
  res.value.resize(calls.size());
  std::vector<bool> seen(calls.size(), false);
  for (simdjson::dom::element el : arr) {
    std::uint64_t id = 0;
    if (el["id"].get(id) != simdjson::SUCCESS || id < first || id - first >= calls.size()) continue;
    res.value[id - first] = read_response(el);
    seen[id - first] = true;
    if (res.value[id - first].error.kind == RpcError::Kind::Rpc) stats_.rpc_errors.fetch_add(1, std::memory_order_relaxed);
  }
  for (std::size_t i = 0; i < seen.size(); ++i)
    if (!seen[i]) res.value[i].error = {RpcError::Kind::Parse, 0, "missing batch element"};
  return res;
}

std::string to_hex_quantity(std::uint64_t v) {
  char b[24];
  std::snprintf(b, sizeof b, "0x%lx", static_cast<unsigned long>(v));
  return b;
}
std::string to_hex_bytes(std::span<const std::uint8_t> bytes) {
  static constexpr char d[] = "0123456789abcdef";
  std::string s = "0x";
  s.reserve(2 + 2 * bytes.size());
  for (auto b : bytes) {
    s += d[b >> 4];
    s += d[b & 15];
  }
  return s;
}
std::optional<std::vector<num::U256>> abi_words(std::string_view h) {
  if (hex::has_prefix(h)) h.remove_prefix(2);
  if (h.size() % 64 != 0) return std::nullopt;
  std::vector<num::U256> w(h.size() / 64);
  for (std::size_t i = 0; i < w.size(); ++i)
    if (!hex::parse_word(h.data() + 64 * i, w[i])) return std::nullopt;
  return w;
}

std::optional<protocol::BlockHeader> parse_block_header(std::string_view json) {
  simdjson::dom::parser p;
  simdjson::dom::element o;
  if (p.parse(json.data(), json.size()).get(o) != simdjson::SUCCESS) return std::nullopt;
  protocol::BlockHeader h{};
  const auto number = quantity_field(o, "number");
  if (!number) return std::nullopt;
  h.number = *number;
  h.timestamp_s = quantity_field(o, "timestamp").value_or(0);
  h.gas_used = quantity_field(o, "gasUsed").value_or(0);
  h.gas_limit = quantity_field(o, "gasLimit").value_or(0);
  std::string_view s;
  if (o["hash"].get(s) != simdjson::SUCCESS || !hex::parse_fixed(s, h.hash)) return std::nullopt;
  if (o["parentHash"].get(s) != simdjson::SUCCESS || !hex::parse_fixed(s, h.parent_hash)) return std::nullopt;
  if (const auto base = quantity_field(o, "baseFeePerGas")) h.base_fee_per_gas = num::U256::from_u128(*base);
  return h;
}

std::optional<Receipt> parse_receipt(std::string_view json, const std::array<std::uint8_t, 32>& tx_hash) {
  simdjson::dom::parser p;
  simdjson::dom::element o;
  if (p.parse(json.data(), json.size()).get(o) != simdjson::SUCCESS) return std::nullopt;
  Receipt rc;
  rc.tx_hash = tx_hash;
  const auto bn = quantity_field(o, "blockNumber");
  const auto st = quantity_field(o, "status");
  const auto gu = quantity_field(o, "gasUsed");
  const auto gp = quantity_field(o, "effectiveGasPrice");
  // A mined receipt names its block (number and hash: the reorg check compares the hash) and
  // has status 0 or 1 (EIP-658).
  if (!bn || !st || *st > 1 || !gu) return std::nullopt;
  std::string_view s;
  if (o["blockHash"].get(s) != simdjson::SUCCESS || !hex::parse_fixed(s, rc.block_hash)) return std::nullopt;
  rc.block_number = *bn;
  rc.status = *st == 1;
  rc.gas_used = *gu;
  rc.effective_gas_price = num::U256::from_u128(gp.value_or(0));
  return rc;
}

std::optional<FeeHistory> parse_fee_history(std::string_view json) {
  simdjson::dom::parser p;
  simdjson::dom::element o;
  if (p.parse(json.data(), json.size()).get(o) != simdjson::SUCCESS) return std::nullopt;
  FeeHistory h;
  const auto oldest = quantity_field(o, "oldestBlock");
  if (!oldest) return std::nullopt;
  h.oldest_block = *oldest;
  simdjson::dom::array a;
  if (o["baseFeePerGas"].get(a) == simdjson::SUCCESS)
    for (auto e : a) {
      const auto v = quantity(e);
      if (!v) return std::nullopt;
      h.base_fee_per_gas.push_back(num::U256::from_u128(*v));
    }
  if (o["gasUsedRatio"].get(a) == simdjson::SUCCESS)
    for (auto e : a) {
      double d = 0;
      if (e.get(d) != simdjson::SUCCESS) {
        std::int64_t i = 0;
        if (e.get(i) != simdjson::SUCCESS) return std::nullopt;
        d = static_cast<double>(i);
      }
      h.gas_used_ratio.push_back(d);
    }
  // Every reward row has one entry per requested percentile: a row with an unreadable entry is
  // refused rather than shortened (a shorter row would shift the percentiles).
  if (o["reward"].get(a) == simdjson::SUCCESS)
    for (auto row : a) {
      std::vector<num::U256> v;
      simdjson::dom::array ra;
      if (row.get(ra) != simdjson::SUCCESS) return std::nullopt;
      for (auto e : ra) {
        const auto q = quantity(e);
        if (!q) return std::nullopt;
        v.push_back(num::U256::from_u128(*q));
      }
      h.reward.push_back(std::move(v));
    }
  return h;
}

RpcResult<std::array<std::uint8_t, 32>> ChainClient::send_raw_transaction(std::span<const std::uint8_t> tx) {
  RpcResult<std::array<std::uint8_t, 32>> r;
  const RawResult x = call("eth_sendRawTransaction", "[\"" + to_hex_bytes(tx) + "\"]");
  r.error = x.error;
  if (r.ok()) {
    auto s = json_string(x.json);
    if (!s || !hex::parse_fixed(*s, r.value)) r.error = {RpcError::Kind::Parse, 0, "bad tx hash " + x.json};
  }
  return r;
}

RpcResult<std::optional<Receipt>> ChainClient::get_transaction_receipt(const std::array<std::uint8_t, 32>& hash) {
  RpcResult<std::optional<Receipt>> r;
  const RawResult x = call("eth_getTransactionReceipt", "[\"" + to_hex_bytes(hash) + "\"]");
  r.error = x.error;
  if (!r.ok() || x.json == "null") return r;
  auto rc = parse_receipt(x.json, hash);
  if (!rc) r.error = {RpcError::Kind::Parse, 0, "bad receipt: " + x.json.substr(0, 200)};
  else r.value = *rc;
  return r;
}

RpcResult<std::uint64_t> ChainClient::get_transaction_count(const protocol::Address& addr, std::string_view tag) {
  RpcResult<std::uint64_t> r;
  const RawResult x = call("eth_getTransactionCount", "[\"" + protocol::format_address(addr) + "\",\"" + std::string(tag) + "\"]");
  r.error = x.error;
  if (r.ok()) {
    auto s = json_string(x.json);
    auto v = s ? hex::parse_quantity(*s) : std::nullopt;
    if (!v) r.error = {RpcError::Kind::Parse, 0, "bad nonce " + x.json};
    else r.value = *v;
  }
  return r;
}

RpcResult<std::vector<RawResult>> ChainClient::eth_call_batch(std::span<const EthCall> calls, std::string_view tag) {
  std::vector<std::pair<std::string, std::string>> v;
  v.reserve(calls.size());
  for (const auto& c : calls)
    v.emplace_back("eth_call", "[{\"to\":\"" + protocol::format_address(c.to) + "\",\"data\":\"" + c.data + "\"},\"" +
                                   std::string(tag) + "\"]");
  auto r = batch(v);
  for (auto& e : r.value) {
    if (e.error) continue;
    auto s = json_string(e.json);
    if (!s) {
      e.error = {RpcError::Kind::Parse, 0, "eth_call result is not a string"};
      continue;
    }
    std::string_view h = *s;
    if (hex::has_prefix(h)) h.remove_prefix(2);
    e.json = std::string(h);
  }
  return r;
}

RpcResult<FeeHistory> ChainClient::fee_history(std::uint32_t blocks, std::string_view newest,
                                               std::span<const double> percentiles) {
  RpcResult<FeeHistory> r;
  std::string params = "[\"" + to_hex_quantity(blocks) + "\",\"" + std::string(newest) + "\",[";
  for (std::size_t i = 0; i < percentiles.size(); ++i) {
    if (i) params += ',';
    char b[32];
    std::snprintf(b, sizeof b, "%g", percentiles[i]);
    params += b;
  }
  params += "]]";
  const RawResult x = call("eth_feeHistory", params);
  r.error = x.error;
  if (!r.ok()) return r;
  auto h = parse_fee_history(x.json);
  if (!h) r.error = {RpcError::Kind::Parse, 0, "bad eth_feeHistory result: " + x.json.substr(0, 200)};
  else r.value = std::move(*h);
  return r;
}

RpcResult<protocol::BlockHeader> ChainClient::block_by_number(std::string_view tag) {
  RpcResult<protocol::BlockHeader> r;
  const RawResult x = call("eth_getBlockByNumber", "[\"" + std::string(tag) + "\",false]");
  r.error = x.error;
  if (!r.ok()) return r;
  auto h = x.json == "null" ? std::nullopt : parse_block_header(x.json);
  if (!h) r.error = {RpcError::Kind::Parse, 0, "no block " + std::string(tag)};
  else r.value = *h;
  return r;
}

RpcResult<num::U256> ChainClient::base_fee() {
  RpcResult<num::U256> r;
  auto b = block_by_number("latest");
  r.error = b.error;
  r.value = b.value.base_fee_per_gas;
  return r;
}

RpcResult<std::uint64_t> ChainClient::block_number() {
  RpcResult<std::uint64_t> r;
  const RawResult x = call("eth_blockNumber", "[]");
  r.error = x.error;
  if (r.ok()) {
    auto s = json_string(x.json);
    auto v = s ? hex::parse_quantity(*s) : std::nullopt;
    if (!v) r.error = {RpcError::Kind::Parse, 0, "bad block number"};
    else r.value = *v;
  }
  return r;
}

}  // namespace torq::control
