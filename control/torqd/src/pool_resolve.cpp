#include "torq/torqd/pool_resolve.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <stdexcept>
#include <vector>

#include "torq/control/abi_word.hpp"
#include "torq/control/chain_client.hpp"
#include "torq/control/pool_list.hpp"
#include "torq/control/pool_sync.hpp"
#include "torq/torqd/hex.hpp"
#include "torq/torqd/replay.hpp"

namespace torq::torqd {

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// The first 32-byte word of an eth_call answer, or throws naming what was asked.
num::U256 word_of(control::RawResult& r, const std::string& what) {
  if (r.error) throw std::runtime_error(what + ": " + r.error.message);
  const auto bytes = parse_hex_bytes(std::string(unquote(r.json)));
  if (!bytes || bytes->size() < 32) throw std::runtime_error(what + ": no answer (no such contract on this chain, or not a pool of its venue's kind)");
  std::array<std::uint8_t, 32> b{};
  std::copy(bytes->begin(), bytes->begin() + 32, b.begin());
  return control::abi::from_be_bytes(b);
}

// A decoded answer, or throws: the word is not an ABI value of the type the pool returns.
template <class T>
T strict(const std::optional<T>& v, const std::string& what, const char* type) {
  if (!v) throw std::runtime_error(what + ": the answer is not a valid " + type + " (not a pool of its venue's kind?)");
  return *v;
}

std::string json_string(const std::string& s) {
  std::string o = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') o += '\\';
    if (static_cast<unsigned char>(c) < 0x20) continue;
    o += c;
  }
  return o + "\"";
}

}  // namespace

std::string resolved_pool_list_path(const Options& opt) {
  std::filesystem::path dir = std::filesystem::path(opt.audit_file).parent_path();
  if (dir.empty()) dir = ".";
  return (dir / ("torq-pools-" + std::to_string(opt.chain_id) + ".json")).string();
}

std::string resolve_config_pools(const Options& opt, const std::string& out_path) {
  std::string http = opt.rpc_http;
  if (http.empty() && opt.rpc_ws.rfind("wss://", 0) == 0) http = "https://" + opt.rpc_ws.substr(6);
  if (http.empty() && opt.rpc_ws.rfind("ws://", 0) == 0) http = "http://" + opt.rpc_ws.substr(5);
  if (http.empty()) throw std::runtime_error("[[pools]]: resolving the pools needs a node endpoint ([[endpoints]] or --rpc)");
  control::ChainClient client(client_endpoints(http, opt.rpc_ws, opt.backup_endpoints, opt.rpc_requests_per_second), control::RpcOptions{});

  std::map<std::string, ops::VenueConfig> venues;
  for (const auto& v : opt.config_venues) venues[v.name] = v;
  std::vector<control::PoolMeta> metas;
  std::vector<control::EthCall> calls;
  struct Ask {
    std::size_t pool;
    int what;  // 0 token0, 1 token1, 2 fee, 3 tickSpacing
  };
  std::vector<Ask> asks;
  for (const auto& p : opt.config_pools) {
    const auto v = venues.find(p.venue);
    if (v == venues.end()) throw std::runtime_error("pool " + p.address + ": venue '" + p.venue + "' is not in [[venues]]");
    if (v->second.kind == ops::VenueKind::algebra)
      throw std::runtime_error("pool " + p.address + ": venue '" + p.venue + "' is Algebra (dynamic fee), which the strategy does not price");
    control::PoolMeta m;
    m.venue = control::venue_from_config_name(p.venue);
    if (m.venue == protocol::Venue::None)
      throw std::runtime_error("pool " + p.address + ": venue name '" + p.venue + "' is not one torqd knows (quickswap, sushiswap, uniswap-v2, uniswap-v3, sushiswap-v3)");
    const auto a = protocol::parse_address(p.address);
    if (!a) throw std::runtime_error("pool " + p.address + ": not an address");
    m.address = *a;
    m.fee_ppm = v->second.kind == ops::VenueKind::v2 ? (v->second.fee_ppm != 0 ? v->second.fee_ppm : 3000) : 0;
    const std::size_t idx = metas.size();
    metas.push_back(m);
    calls.push_back({*a, "0x0dfe1681"});  // token0()
    asks.push_back({idx, 0});
    calls.push_back({*a, "0xd21220a7"});  // token1()
    asks.push_back({idx, 1});
    if (v->second.kind == ops::VenueKind::v3) {
      calls.push_back({*a, "0xddca3f43"});  // fee()
      asks.push_back({idx, 2});
      calls.push_back({*a, "0xd0c93a7c"});  // tickSpacing()
      asks.push_back({idx, 3});
    }
  }
  if (metas.empty()) throw std::runtime_error("no pools: the config has no [[pools]] and no include_manifest");
  auto answers = client.eth_call_batch(calls, "latest");
  if (!answers.ok()) throw std::runtime_error("[[pools]]: eth_call to " + http + " failed: " + answers.error.message);
  if (answers.value.size() != calls.size()) throw std::runtime_error("[[pools]]: the node answered " + std::to_string(answers.value.size()) + " of " + std::to_string(calls.size()) + " calls");
  for (std::size_t i = 0; i < asks.size(); ++i) {
    control::PoolMeta& m = metas[asks[i].pool];
    static const char* kNames[] = {"token0()", "token1()", "fee()", "tickSpacing()"};
    const std::string what = "pool " + opt.config_pools[asks[i].pool].address + " " + kNames[asks[i].what];
    const num::U256 w = word_of(answers.value[i], what);
    switch (asks[i].what) {
      case 0: m.token0 = strict(control::abi::as_address(w), what, "address"); break;
      case 1: m.token1 = strict(control::abi::as_address(w), what, "address"); break;
      case 2: m.fee_ppm = strict(control::abi::as_fee_ppm(w), what, "uint24 fee below 1000000"); break;
      case 3: m.tick_spacing = strict(control::abi::as_tick_spacing(w), what, "int24 tick spacing 1..16383"); break;
    }
  }
  // Token metadata: the config's [[tokens]] first (their symbols key the risk limits).
  std::map<std::string, ops::TokenConfig> listed;
  for (const auto& t : opt.config_tokens) listed[lower(t.address)] = t;
  std::vector<control::PoolMeta> unknown;
  for (const auto& m : metas) {
    if (!listed.count(lower(protocol::format_address(m.token0))) || !listed.count(lower(protocol::format_address(m.token1)))) unknown.push_back(m);
  }
  if (!unknown.empty()) {
    const control::RpcError e = control::fetch_token_metadata(client, unknown);
    if (e) throw std::runtime_error("token metadata (decimals/symbol) of pools not in [[tokens]]: " + e.message);
  }
  struct Tok {
    std::string symbol;
    unsigned decimals;
  };
  std::map<std::string, Tok> tokens;  // lower-case address -> metadata, in first-seen order below
  std::vector<std::string> order;
  auto add_token = [&](const protocol::Address& a, const std::string& sym, unsigned dec) {
    const std::string k = lower(protocol::format_address(a));
    if (tokens.count(k)) return;
    const auto l = listed.find(k);
    tokens[k] = l != listed.end() ? Tok{l->second.symbol, l->second.decimals} : Tok{sym, dec};
    order.push_back(k);
  };
  for (const auto& m : metas) {
    const auto u = std::find_if(unknown.begin(), unknown.end(), [&](const control::PoolMeta& x) { return x.address == m.address; });
    add_token(m.token0, u != unknown.end() ? u->symbol0 : "", u != unknown.end() ? u->decimals0 : 18);
    add_token(m.token1, u != unknown.end() ? u->symbol1 : "", u != unknown.end() ? u->decimals1 : 18);
  }

  std::string o = "{\"schema\":\"torq-pool-list/1\",\"source\":" + json_string(opt.config_file) +
                  ",\"chainId\":" + std::to_string(opt.chain_id) + ",\"rpc\":{\"http\":" + json_string(http) +
                  ",\"ws\":" + json_string(opt.rpc_ws) + "},\"tokens\":[";
  for (std::size_t i = 0; i < order.size(); ++i) {
    const Tok& t = tokens[order[i]];
    o += std::string(i ? "," : "") + "{\"symbol\":" + json_string(t.symbol) + ",\"address\":" + json_string(order[i]) +
         ",\"decimals\":" + std::to_string(t.decimals) + "}";
  }
  o += "],\"pools\":[";
  for (std::size_t i = 0; i < metas.size(); ++i) {
    const auto& m = metas[i];
    o += std::string(i ? "," : "") + "{\"address\":" + json_string(protocol::format_address(m.address)) +
         ",\"venue\":" + json_string(opt.config_pools[i].venue) + ",\"token0\":" + json_string(protocol::format_address(m.token0)) +
         ",\"token1\":" + json_string(protocol::format_address(m.token1)) + ",\"fee\":" + std::to_string(m.fee_ppm) +
         ",\"tickSpacing\":" + (m.tick_spacing != 0 ? std::to_string(m.tick_spacing) : std::string("null")) + "}";
  }
  o += "]}\n";
  // 0600: the node URLs in it may carry a hosted provider's API key (as the config's endpoints).
  const std::string tmp = out_path + ".tmp-" + std::to_string(::getpid());
  {
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) throw std::runtime_error("cannot create the resolved pool list " + tmp);
    std::size_t done = 0;
    while (done < o.size()) {
      const ssize_t n = ::write(fd, o.data() + done, o.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      done += static_cast<std::size_t>(n);
    }
    const bool ok = done == o.size() && ::fchmod(fd, 0600) == 0;
    ::close(fd);
    if (!ok) {
      std::remove(tmp.c_str());
      throw std::runtime_error("cannot write the resolved pool list " + tmp);
    }
  }
  if (std::rename(tmp.c_str(), out_path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw std::runtime_error("cannot move the resolved pool list to " + out_path);
  }
  return out_path;
}

}  // namespace torq::torqd
