// Pool list loading (see pool_list.hpp). Start-up path: simdjson DOM, exceptions allowed.
#include "torq/control/pool_list.hpp"

#include <simdjson.h>

#include <stdexcept>

namespace torq::control {

protocol::Venue venue_from_config_name(std::string_view name) noexcept {
  if (name == "quickswap" || name == "quickswap-v2") return protocol::Venue::QuickSwapV2;
  if (name == "sushiswap" || name == "sushiswap-v2") return protocol::Venue::SushiSwapV2;
  if (name == "uniswap-v2") return protocol::Venue::UniswapV2;
  if (name == "uniswap-v3") return protocol::Venue::UniswapV3;
  if (name == "quickswap-v3") return protocol::Venue::QuickSwapV3;
  if (name == "sushiswap-v3") return protocol::Venue::SushiSwapV3;
  return protocol::Venue::None;
}

namespace {
[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw std::runtime_error("pool list " + path + ": " + what);
}
protocol::Address address_of(const std::string& path, std::string_view text, const char* what) {
  const auto a = protocol::parse_address(text);
  if (!a) fail(path, std::string("bad address in ") + what + ": " + std::string(text));
  return *a;
}
}  // namespace

PoolList load_pool_list(const std::string& path) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (auto err = parser.load(path).get(root); err) fail(path, simdjson::error_message(err));
  PoolList out;
  try {
    out.chain_id = root["chainId"].get_uint64().value();
    if (auto rpc = root["rpc"]; !rpc.error()) {
      out.rpc_http = std::string(rpc["http"].get_string().value());
      out.rpc_ws = std::string(rpc["ws"].get_string().value());
    }
    if (auto d = root["deployBlock"].get_uint64(); !d.error()) out.deploy_block = d.value();
    for (simdjson::dom::element t : root["tokens"].get_array()) {
      ListedToken tok;
      tok.address = address_of(path, t["address"].get_string().value(), "tokens[].address");
      const std::uint64_t decimals = t["decimals"].get_uint64().value();
      if (decimals > 255) fail(path, "token " + protocol::format_address(tok.address) + ": decimals " + std::to_string(decimals) + " is not 0..255");
      tok.decimals = static_cast<std::uint8_t>(decimals);
      tok.symbol = std::string(t["symbol"].get_string().value());
      out.tokens.push_back(std::move(tok));
    }
    for (simdjson::dom::element p : root["pools"].get_array()) {
      ListedPool pool;
      const std::string_view addr = p["address"].get_string().value();
      pool.address = address_of(path, addr, "pools[].address");
      const std::string_view venue = p["venue"].get_string().value();
      pool.venue = venue_from_config_name(venue);
      if (pool.venue == protocol::Venue::None) fail(path, "pool " + std::string(addr) + ": unknown venue " + std::string(venue));
      if (protocol::venue_protocol(pool.venue) == protocol::PoolProtocol::AlgebraV3)
        fail(path, "pool " + std::string(addr) + ": venue " + std::string(venue) +
                       " is an Algebra pool (globalState(), dynamic fee); the control plane snapshots Uniswap V2/V3 pools only");
      pool.token0 = address_of(path, p["token0"].get_string().value(), "pools[].token0");
      pool.token1 = address_of(path, p["token1"].get_string().value(), "pools[].token1");
      const std::uint64_t fee = p["fee"].get_uint64().value();
      if (fee >= protocol::kFeeDenominatorPpm)
        fail(path, "pool " + std::string(addr) + ": fee " + std::to_string(fee) + " ppm is not below 1000000");
      pool.fee_ppm = static_cast<std::uint32_t>(fee);
      // V3 pools need the spacing their factory gave them; V2 pools have none (absent or null).
      auto ts = p["tickSpacing"];
      const bool has_spacing = !ts.error() && !ts.is_null();
      const bool v2 = protocol::venue_protocol(pool.venue) == protocol::PoolProtocol::UniswapV2;
      if (v2 && has_spacing) fail(path, "pool " + std::string(addr) + ": a V2 pool has no tickSpacing");
      if (!v2) {
        if (!has_spacing) fail(path, "pool " + std::string(addr) + ": tickSpacing missing");
        const std::int64_t spacing = ts.get_int64().value();
        if (spacing < 1 || spacing > protocol::kV3MaxTickSpacing)
          fail(path, "pool " + std::string(addr) + ": tickSpacing " + std::to_string(spacing) + " is not 1..16383");
        pool.tick_spacing = static_cast<std::int32_t>(spacing);
      }
      out.pools.push_back(pool);
    }
  } catch (const simdjson::simdjson_error& e) {
    fail(path, e.what());
  }
  return out;
}

std::vector<protocol::InstrumentId> register_pools(const PoolList& list, protocol::InstrumentRegistry& registry,
                                                   protocol::Chain chain) {
  for (const auto& t : list.tokens)
    if (!registry.add_token(chain, t.address, t.decimals, t.symbol))
      throw std::runtime_error("cannot register token " + t.symbol);
  std::vector<protocol::InstrumentId> ids;
  for (const auto& p : list.pools) {
    const auto t0 = registry.find(chain, p.token0);
    const auto t1 = registry.find(chain, p.token1);
    if (!t0 || !t1) throw std::runtime_error("pool " + protocol::format_address(p.address) + ": token not listed");
    const auto id = registry.add_pool(p.venue, p.address, *t0, *t1, p.fee_ppm, p.tick_spacing);
    if (!id) throw std::runtime_error("cannot register pool " + protocol::format_address(p.address));
    ids.push_back(*id);
  }
  return ids;
}

}  // namespace torq::control
