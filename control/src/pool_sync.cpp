// Pool snapshots, discovery, token metadata, pool cache and shadow state (control plane).
#include "torq/control/pool_sync.hpp"

#include <simdjson.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>

#include "torq/control/abi_word.hpp"
#include "torq/control/log_decoder.hpp"
#include "torq/control/hex.hpp"

namespace torq::control {

namespace topics {
namespace {
constexpr std::array<std::uint8_t, 32> word(const char* h) {
  std::array<std::uint8_t, 32> a{};
  for (int i = 0; i < 32; ++i) a[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>((hex::nibble(h[2 * i]) << 4) | hex::nibble(h[2 * i + 1]));
  return a;
}
}  // namespace
const std::array<std::uint8_t, 32> kV2PairCreated = word("0d3648bd0f6ba80134a33ba9275ac585d9d315f0ad8355cddefde31afa28d0e9");
const std::array<std::uint8_t, 32> kV3PoolCreated = word("783cca1c0412dd0d695e784568c96da2e9c22ff989357a2e8b1d9b2b4e6b7118");
}  // namespace topics

namespace {
std::string abi_int(std::int64_t v) {
  char b[80];
  const auto u = static_cast<std::uint64_t>(v);
  const char* fill = v < 0 ? "ffffffffffffffffffffffffffffffffffffffffffffffff" : "000000000000000000000000000000000000000000000000";
  std::snprintf(b, sizeof b, "%s%016lx", fill, static_cast<unsigned long>(u));
  return b;
}
std::int32_t floor_div(std::int32_t a, std::int32_t b) noexcept {
  std::int32_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}
}  // namespace

RpcResult<std::vector<PoolSnapshot>> snapshot_pools(ChainClient& client, const protocol::InstrumentRegistry& registry,
                                                    std::span<const protocol::InstrumentId> pools, std::uint64_t block,
                                                    std::int32_t tick_scan_words,
                                                    std::vector<protocol::InstrumentId>* failed) {
  RpcResult<std::vector<PoolSnapshot>> res;
  const std::string tag = to_hex_quantity(block);
  // Phase 1: state calls for every pool in one batch.
  std::vector<EthCall> calls;
  std::vector<std::pair<std::size_t, int>> owner;  // (pool index, call kind)
  for (std::size_t i = 0; i < pools.size(); ++i) {
    const protocol::PoolInfo* p = registry.pool(pools[i]);
    if (!p) continue;
    if (protocol::venue_protocol(p->venue) == protocol::PoolProtocol::UniswapV2) {
      calls.push_back({p->address, "0x0902f1ac"}), owner.emplace_back(i, 0);
    } else {
      calls.push_back({p->address, "0x3850c7bd"}), owner.emplace_back(i, 1);
      calls.push_back({p->address, "0x1a686502"}), owner.emplace_back(i, 2);
      calls.push_back({p->address, "0xd0c93a7c"}), owner.emplace_back(i, 3);
      calls.push_back({p->address, "0xddca3f43"}), owner.emplace_back(i, 4);
    }
  }
  auto r1 = client.eth_call_batch(calls, tag);
  if (!r1.ok()) {
    res.error = r1.error;
    return res;
  }
  std::vector<PoolSnapshot> snaps(pools.size());
  std::vector<bool> ok(pools.size(), true), seen(pools.size(), false);
  for (std::size_t k = 0; k < calls.size(); ++k) {
    const auto [i, kind] = owner[k];
    seen[i] = true;
    const auto w = r1.value[k].error ? std::nullopt : abi_words(r1.value[k].json);
    if (!w || w->empty() || (kind == 0 && w->size() < 2)) {
      ok[i] = false;
      continue;
    }
    auto& s = snaps[i].state;
    const protocol::PoolInfo* p = registry.pool(pools[i]);
    s.pool = pools[i].raw();
    s.block_number = block;
    s.fee_ppm = p->fee_ppm;
    // Each answer must be the ABI encoding of the type the pool returns (abi_word.hpp): a
    // truncated or out-of-range value would give the book a state no pool can be in.
    switch (kind) {
      case 0:  // getReserves(): (uint112, uint112, uint32)
        s.kind = static_cast<std::uint8_t>(protocol::PoolKind::V2);
        s.reserve0 = (*w)[0], s.reserve1 = (*w)[1];
        ok[i] = ok[i] && abi::fits_unsigned(s.reserve0, 112) && abi::fits_unsigned(s.reserve1, 112);
        break;
      case 1: {  // slot0(): (uint160 sqrtPriceX96, int24 tick, ...)
        s.kind = static_cast<std::uint8_t>(protocol::PoolKind::V3);
        s.sqrt_price_x96 = (*w)[0];
        const auto tick = w->size() > 1 ? abi::as_tick((*w)[1]) : std::nullopt;
        s.tick = tick.value_or(0);
        // An initialized pool's tick is the one its price lies in (0 / 0: not initialized yet).
        ok[i] = ok[i] && tick && abi::fits_unsigned(s.sqrt_price_x96, 160) &&
                (s.sqrt_price_x96.is_zero() || v3_tick_matches_price(s.sqrt_price_x96, *tick));
        break;
      }
      case 2: {  // liquidity(): uint128
        const auto l = abi::as_uint128((*w)[0]);
        if (l) s.liquidity = protocol::Uint128Le::from(*l);
        ok[i] = ok[i] && l;
        break;
      }
      case 3: {  // tickSpacing(): int24, 0 < spacing < 16384
        const auto sp = abi::as_tick_spacing((*w)[0]);
        s.tick_spacing = sp.value_or(0);
        ok[i] = ok[i] && sp;
        break;
      }
      case 4: {  // fee(): uint24, below 100 %
        const auto f = abi::as_fee_ppm((*w)[0]);
        if (f) s.fee_ppm = *f;
        ok[i] = ok[i] && f;
        break;
      }
    }
  }
  // Phase 2: bitmap words around the current tick (V3).
  calls.clear();
  owner.clear();
  std::vector<std::int32_t> word_of;
  for (std::size_t i = 0; i < pools.size(); ++i) {
    auto& s = snaps[i].state;
    if (!ok[i] || !seen[i] || s.kind != static_cast<std::uint8_t>(protocol::PoolKind::V3) || s.tick_spacing <= 0) continue;
    const std::int32_t w0 = floor_div(floor_div(s.tick, s.tick_spacing), 256);
    for (std::int32_t w = std::max(w0 - tick_scan_words, -32768); w <= std::min(w0 + tick_scan_words, 32767); ++w) {
      calls.push_back({registry.pool(pools[i])->address, "0x5339c296" + abi_int(w)});
      owner.emplace_back(i, 0);
      word_of.push_back(w);
    }
  }
  auto r2 = client.eth_call_batch(calls, tag);
  if (!r2.ok()) {
    res.error = r2.error;
    return res;
  }
  std::vector<EthCall> tick_calls;
  std::vector<std::pair<std::size_t, std::int32_t>> tick_owner;
  for (std::size_t k = 0; k < calls.size(); ++k) {
    const std::size_t i = owner[k].first;
    const auto w = r2.value[k].error ? std::nullopt : abi_words(r2.value[k].json);
    if (!w || w->empty()) {
      ok[i] = false;
      continue;
    }
    const num::U256& bits = (*w)[0];
    for (int b = 0; b < 256 && ok[i]; ++b) {
      if (((bits.limb[b / 64] >> (b % 64)) & 1) == 0) continue;
      // 64-bit: word * 256 * spacing leaves int32 for words that no valid tick maps to.
      const std::int64_t tick = (std::int64_t{word_of[k]} * 256 + b) * snaps[i].state.tick_spacing;
      if (tick < -protocol::kV3MaxTick || tick > protocol::kV3MaxTick) {
        ok[i] = false;  // an initialized tick outside TickMath's range: not a pool's bitmap
        break;
      }
      tick_calls.push_back({registry.pool(pools[i])->address, "0xf30dba93" + abi_int(tick)});
      tick_owner.emplace_back(i, static_cast<std::int32_t>(tick));
    }
  }
  // Phase 3: ticks(int24) → (liquidityGross, liquidityNet, ...).
  auto r3 = client.eth_call_batch(tick_calls, tag);
  if (!r3.ok()) {
    res.error = r3.error;
    return res;
  }
  for (std::size_t k = 0; k < tick_calls.size(); ++k) {
    const auto [i, tick] = tick_owner[k];
    const auto w = r3.value[k].error ? std::nullopt : abi_words(r3.value[k].json);
    if (!w || w->size() < 2) {
      ok[i] = false;
      continue;
    }
    // ticks(int24): (uint128 liquidityGross, int128 liquidityNet, ...)
    const auto gross = abi::as_uint128((*w)[0]);
    const auto net = abi::as_int128((*w)[1]);
    if (!gross || !net) {
      ok[i] = false;
      continue;
    }
    protocol::V3TickEntry e{};
    e.tick = tick;
    e.liquidity_gross = protocol::Uint128Le::from(*gross);
    e.liquidity_net = protocol::Int128Le::from(*net);
    snaps[i].ticks.push_back(e);
  }
  for (std::size_t i = 0; i < pools.size(); ++i) {
    if (ok[i] && seen[i]) {
      std::sort(snaps[i].ticks.begin(), snaps[i].ticks.end(), [](const auto& a, const auto& b) { return a.tick < b.tick; });
      res.value.push_back(std::move(snaps[i]));
    } else if (failed) {
      failed->push_back(pools[i]);
    }
  }
  return res;
}

std::optional<PoolMeta> parse_creation_log(std::string_view json, std::span<const FactoryConfig> factories) {
  simdjson::dom::parser p;
  simdjson::dom::element o;
  if (p.parse(json.data(), json.size()).get(o) != simdjson::SUCCESS) return std::nullopt;
  std::string_view s;
  protocol::Address addr{};
  if (o["address"].get(s) != simdjson::SUCCESS || !hex::parse_fixed(s, addr)) return std::nullopt;
  const FactoryConfig* f = nullptr;
  for (const auto& x : factories)
    if (x.address == addr) f = &x;
  if (!f || protocol::venue_protocol(f->venue) == protocol::PoolProtocol::AlgebraV3) return std::nullopt;  // see register_discovered
  simdjson::dom::array t;
  if (o["topics"].get(t) != simdjson::SUCCESS) return std::nullopt;
  std::vector<std::array<std::uint8_t, 32>> tp;
  for (auto e : t) {
    std::array<std::uint8_t, 32> w{};
    if (e.get(s) != simdjson::SUCCESS || !hex::parse_fixed(s, w)) return std::nullopt;
    tp.push_back(w);
  }
  if (o["data"].get(s) != simdjson::SUCCESS) return std::nullopt;
  const auto data = abi_words(s);
  if (!data || tp.size() < 3) return std::nullopt;
  // Indexed token topics and the data words must be ABI encodings of the event's types
  // (address, uint24 fee, int24 tickSpacing within the factory's bounds): anything else is not
  // a log the factory can have emitted.
  const auto token0 = abi::as_address(abi::from_be_bytes(tp[1]));
  const auto token1 = abi::as_address(abi::from_be_bytes(tp[2]));
  if (!token0 || !token1) return std::nullopt;
  PoolMeta m;
  m.venue = f->venue;
  m.token0 = *token0;
  m.token1 = *token1;
  if (o["blockNumber"].get(s) == simdjson::SUCCESS) m.created_block = hex::parse_quantity(s).value_or(0);
  const bool v3 = protocol::venue_protocol(f->venue) != protocol::PoolProtocol::UniswapV2;
  if (!v3 && tp[0] == topics::kV2PairCreated && tp.size() == 3 && data->size() >= 1) {
    // PairCreated(address indexed token0, address indexed token1, address pair, uint)
    const auto pair = abi::as_address((*data)[0]);
    if (!pair) return std::nullopt;
    m.address = *pair;
    m.fee_ppm = f->v2_fee_ppm;
    return m;
  }
  if (v3 && tp[0] == topics::kV3PoolCreated && tp.size() == 4 && data->size() >= 2) {
    // PoolCreated(address indexed token0, address indexed token1, uint24 indexed fee, int24 tickSpacing, address pool)
    const auto fee = abi::as_fee_ppm(abi::from_be_bytes(tp[3]));
    const auto spacing = abi::as_tick_spacing((*data)[0]);
    const auto pool = abi::as_address((*data)[1]);
    if (!fee || !spacing || !pool) return std::nullopt;
    m.fee_ppm = *fee;
    m.tick_spacing = *spacing;
    m.address = *pool;
    return m;
  }
  return std::nullopt;
}

RpcError fetch_token_metadata(ChainClient& client, std::vector<PoolMeta>& pools) {
  std::set<protocol::Address> tokens;
  for (const auto& p : pools) tokens.insert(p.token0), tokens.insert(p.token1);
  std::vector<EthCall> calls;
  std::vector<protocol::Address> order(tokens.begin(), tokens.end());
  for (const auto& t : order) calls.push_back({t, "0x313ce567"}), calls.push_back({t, "0x95d89b41"});
  auto r = client.eth_call_batch(calls, "latest");
  if (!r.ok()) return r.error;
  std::map<protocol::Address, std::pair<int, std::string>> meta;
  for (std::size_t i = 0; i < order.size(); ++i) {
    int dec = -1;
    std::string sym;
    // decimals(): uint8 (a word with any higher bit set is not one; 2^64 + 6 is not 6).
    if (auto w = r.value[2 * i].error ? std::nullopt : abi_words(r.value[2 * i].json); w && !w->empty())
      if (const auto d = abi::as_uint((*w)[0], 8)) dec = static_cast<int>(*d);
    const std::string& h = r.value[2 * i + 1].json;
    if (!r.value[2 * i + 1].error && h.size() >= 192) {  // string: offset, length, bytes
      const auto w = abi_words(std::string_view(h).substr(0, 128));
      const std::uint64_t len = w ? (*w)[1].limb[0] : 0;
      for (std::uint64_t k = 0; k < len && 128 + 2 * k + 1 < h.size() && k < 64; ++k)
        sym += static_cast<char>((hex::nibble(h[128 + 2 * k]) << 4) | hex::nibble(h[129 + 2 * k]));
    } else if (!r.value[2 * i + 1].error && h.size() == 64) {  // bytes32
      for (std::size_t k = 0; k < 32; ++k) {
        const char c = static_cast<char>((hex::nibble(h[2 * k]) << 4) | hex::nibble(h[2 * k + 1]));
        if (c == 0) break;
        sym += c;
      }
    }
    meta[order[i]] = {dec, sym};
  }
  std::vector<PoolMeta> kept;
  for (auto& p : pools) {
    const auto& a = meta[p.token0];
    const auto& b = meta[p.token1];
    if (a.first < 0 || b.first < 0) continue;
    p.decimals0 = static_cast<std::uint8_t>(a.first), p.symbol0 = a.second;
    p.decimals1 = static_cast<std::uint8_t>(b.first), p.symbol1 = b.second;
    kept.push_back(std::move(p));
  }
  pools = std::move(kept);
  return {};
}

RpcResult<std::vector<PoolMeta>> discover_pools(ChainClient& client, std::span<const FactoryConfig> factories,
                                                std::uint64_t from, std::uint64_t to, std::uint64_t chunk) {
  RpcResult<std::vector<PoolMeta>> res;
  const std::string topic_filter = "[[\"" + to_hex_bytes(topics::kV2PairCreated) + "\",\"" + to_hex_bytes(topics::kV3PoolCreated) + "\"]]";
  simdjson::dom::parser parser;
  for (const auto& f : factories) {
    std::uint64_t a = std::max(from, f.from_block);
    std::uint64_t c = std::max<std::uint64_t>(chunk, 1);
    while (a <= to) {
      const std::uint64_t b = std::min(to, a + c - 1);
      const RawResult r = client.call("eth_getLogs", "[{\"fromBlock\":\"" + to_hex_quantity(a) + "\",\"toBlock\":\"" +
                                                         to_hex_quantity(b) + "\",\"address\":\"" +
                                                         protocol::format_address(f.address) + "\",\"topics\":" + topic_filter + "}]");
      if (r.error) {
        if (r.error.is_range_limit() && c > 1) {
          c /= 2;
          continue;
        }
        res.error = r.error;
        return res;
      }
      simdjson::dom::element doc;
      simdjson::dom::array arr;
      if (parser.parse(r.json).get(doc) != simdjson::SUCCESS || doc.get(arr) != simdjson::SUCCESS) {
        res.error = {RpcError::Kind::Parse, 0, "bad eth_getLogs result"};
        return res;
      }
      for (auto e : arr) {
        const std::string text = simdjson::minify(e);
        if (auto m = parse_creation_log(text, std::span<const FactoryConfig>(&f, 1))) res.value.push_back(*m);
      }
      a = b + 1;
    }
  }
  if (auto e = fetch_token_metadata(client, res.value)) res.error = e;
  return res;
}

std::vector<protocol::InstrumentId> register_discovered(const std::vector<PoolMeta>& pools,
                                                        protocol::InstrumentRegistry& registry, protocol::Chain chain) {
  std::vector<protocol::InstrumentId> ids;
  for (const auto& p : pools) {
    // Algebra pools (QuickSwap V3: globalState(), tickTable(), dynamic fee) cannot be
    // snapshotted by snapshot_pools (Uniswap V2/V3 calls only): never registered.
    if (protocol::venue_protocol(p.venue) == protocol::PoolProtocol::AlgebraV3) {
      ids.push_back(protocol::InstrumentId{});
      continue;
    }
    auto t0 = registry.add_token(chain, p.token0, p.decimals0, p.symbol0);
    auto t1 = registry.add_token(chain, p.token1, p.decimals1, p.symbol1);
    std::optional<protocol::InstrumentId> id;
    if (t0 && t1) id = registry.add_pool(p.venue, p.address, *t0, *t1, p.fee_ppm, p.tick_spacing);
    ids.push_back(id.value_or(protocol::InstrumentId{}));
  }
  return ids;
}

namespace {
// A symbol as the cache stores it: without '"', '\\' and control characters (the file is
// written without escapes), and without bytes >= 0x80 unless the symbol is valid UTF-8 (a
// token's symbol() is arbitrary bytes; the JSON reader refuses invalid UTF-8).
std::string cache_symbol(const std::string& s) {
  const bool utf8 = simdjson::validate_utf8(s.data(), s.size());
  std::string r;
  for (char ch : s) {
    const auto u = static_cast<unsigned char>(ch);
    if (ch != '"' && ch != '\\' && u >= 0x20 && u != 0x7f && (utf8 || u < 0x80)) r += ch;
  }
  return r;
}
}  // namespace

std::string format_pool_cache(const PoolCache& c) {
  std::string o = "{\"schema\":\"torq-pool-cache/1\",\"chainId\":" + std::to_string(c.chain_id) +
                  ",\"discoveredThrough\":" + std::to_string(c.discovered_through) + ",\"pools\":[";
  for (std::size_t i = 0; i < c.pools.size(); ++i) {
    const auto& p = c.pools[i];
    o += std::string(i ? "," : "") + "\n{\"venue\":\"" + std::string(protocol::venue_name(p.venue)) + "\",\"address\":\"" +
         protocol::format_address(p.address) + "\",\"token0\":\"" + protocol::format_address(p.token0) +
         "\",\"token1\":\"" + protocol::format_address(p.token1) + "\",\"decimals0\":" + std::to_string(p.decimals0) +
         ",\"decimals1\":" + std::to_string(p.decimals1) + ",\"symbol0\":\"" + cache_symbol(p.symbol0) +
         "\",\"symbol1\":\"" + cache_symbol(p.symbol1) + "\",\"fee\":" + std::to_string(p.fee_ppm) +
         ",\"tickSpacing\":" + std::to_string(p.tick_spacing) + ",\"createdBlock\":" + std::to_string(p.created_block) + "}";
  }
  o += "]}\n";
  return o;
}

bool save_pool_cache(const std::string& path, const PoolCache& c) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream o(tmp, std::ios::trunc);
    if (!o) return false;
    o << format_pool_cache(c);
    if (!o.flush()) return false;
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  return !ec;
}

std::optional<PoolCache> parse_pool_cache(std::string_view json) {
  simdjson::dom::parser p;
  simdjson::dom::element o;
  if (p.parse(json.data(), json.size()).get(o) != simdjson::SUCCESS) return std::nullopt;
  std::string_view s;
  if (o["schema"].get(s) != simdjson::SUCCESS || s != "torq-pool-cache/1") return std::nullopt;
  PoolCache c;
  if (o["chainId"].get(c.chain_id) || o["discoveredThrough"].get(c.discovered_through)) return std::nullopt;
  simdjson::dom::array arr;
  if (o["pools"].get(arr)) return std::nullopt;
  for (auto e : arr) {
    PoolMeta m;
    std::uint64_t u = 0;
    std::int64_t i = 0;
    if (e["venue"].get(s)) return std::nullopt;
    auto v = protocol::venue_from_name(s);
    if (!v) return std::nullopt;
    m.venue = *v;
    auto addr = [&](const char* k, protocol::Address& a) {
      std::string_view t;
      return e[k].get(t) == simdjson::SUCCESS && hex::parse_fixed(t, a);
    };
    if (!addr("address", m.address) || !addr("token0", m.token0) || !addr("token1", m.token1)) return std::nullopt;
    // Every number in the range of the field it fills (and of what a pool can have): a damaged
    // or hand-edited cache is refused as a whole (discovery then runs from the factories).
    if (e["decimals0"].get(u) || u > 255) return std::nullopt;
    m.decimals0 = static_cast<std::uint8_t>(u);
    if (e["decimals1"].get(u) || u > 255) return std::nullopt;
    m.decimals1 = static_cast<std::uint8_t>(u);
    if (e["symbol0"].get(s) == simdjson::SUCCESS) m.symbol0 = std::string(s);
    if (e["symbol1"].get(s) == simdjson::SUCCESS) m.symbol1 = std::string(s);
    if (e["fee"].get(u) || e["tickSpacing"].get(i) || !protocol::valid_pool_params(m.venue, u, i)) return std::nullopt;
    m.fee_ppm = static_cast<std::uint32_t>(u);
    m.tick_spacing = static_cast<std::int32_t>(i);
    if (e["createdBlock"].get(u) == simdjson::SUCCESS) m.created_block = u;
    c.pools.push_back(std::move(m));
  }
  return c;
}

std::optional<PoolCache> load_pool_cache(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return std::nullopt;
  return parse_pool_cache(text);
}

void apply_snapshot(ShadowPool& s, const protocol::PoolStateSnapshot& snap) noexcept {
  s.v3 = snap.kind == static_cast<std::uint8_t>(protocol::PoolKind::V3);
  s.reserve0 = snap.reserve0, s.reserve1 = snap.reserve1, s.sqrt_price_x96 = snap.sqrt_price_x96;
  s.liquidity = snap.liquidity.value();
  s.tick = snap.tick;
  s.known = true;
}

bool apply_event(ShadowPool& s, protocol::TlvType type, std::span<const std::byte> value) noexcept {
  auto get = [&](auto& v) {
    if (value.size() != sizeof v) return false;
    std::memcpy(&v, value.data(), sizeof v);
    return true;
  };
  switch (type) {
    case protocol::TlvType::V2Sync: {
      protocol::V2Sync v;
      if (!get(v)) return false;
      s.reserve0 = v.reserve0, s.reserve1 = v.reserve1, s.known = true;
      return true;
    }
    case protocol::TlvType::V3Initialize: {
      protocol::V3Initialize v;
      if (!get(v)) return false;
      s.sqrt_price_x96 = v.sqrt_price_x96, s.tick = v.tick, s.v3 = true, s.known = true;
      return true;
    }
    case protocol::TlvType::V3Swap: {
      protocol::V3Swap v;
      if (!get(v)) return false;
      s.sqrt_price_x96 = v.sqrt_price_x96, s.tick = v.tick, s.liquidity = v.liquidity.value(), s.v3 = true;
      return true;
    }
    case protocol::TlvType::V3Mint: {
      protocol::V3Mint v;
      if (!get(v)) return false;
      if (v.tick_lower <= s.tick && s.tick < v.tick_upper) s.liquidity += v.liquidity.value();
      return true;
    }
    case protocol::TlvType::V3Burn: {
      protocol::V3Burn v;
      if (!get(v)) return false;
      if (v.tick_lower <= s.tick && s.tick < v.tick_upper) s.liquidity -= v.liquidity.value();
      return true;
    }
    default: return false;
  }
}

bool matches(const ShadowPool& s, const protocol::PoolStateSnapshot& c) noexcept {
  if (c.kind == static_cast<std::uint8_t>(protocol::PoolKind::V2)) return s.reserve0 == c.reserve0 && s.reserve1 == c.reserve1;
  return s.sqrt_price_x96 == c.sqrt_price_x96 && s.tick == c.tick && s.liquidity == c.liquidity.value();
}

}  // namespace torq::control
