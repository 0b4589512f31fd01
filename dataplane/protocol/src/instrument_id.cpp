// InstrumentId helpers and InstrumentRegistry. See instrument_id.hpp.
#include "torq/protocol/instrument_id.hpp"

#include <cstring>

namespace torq::protocol {

std::optional<std::uint64_t> chain_id(Chain c) noexcept {
  switch (c) {
    case Chain::Ethereum: return 1;
    case Chain::Polygon: return 137;
    case Chain::Base: return 8453;
    case Chain::Arbitrum: return 42161;
    case Chain::Invalid: break;
  }
  return std::nullopt;
}

std::optional<Chain> chain_from_id(std::uint64_t id) noexcept {
  switch (id) {
    case 1: return Chain::Ethereum;
    case 137: return Chain::Polygon;
    case 8453: return Chain::Base;
    case 42161: return Chain::Arbitrum;
    default: return std::nullopt;
  }
}

PoolProtocol venue_protocol(Venue v) noexcept {
  switch (v) {
    case Venue::UniswapV2:
    case Venue::QuickSwapV2:
    case Venue::SushiSwapV2: return PoolProtocol::UniswapV2;
    case Venue::UniswapV3:
    case Venue::SushiSwapV3: return PoolProtocol::UniswapV3;
    case Venue::QuickSwapV3: return PoolProtocol::AlgebraV3;
    case Venue::None: break;
  }
  return PoolProtocol::None;
}

namespace {
struct VenueName {
  Venue venue;
  std::string_view name;
};
constexpr VenueName kVenueNames[] = {
    {Venue::UniswapV2, "uniswap_v2"},   {Venue::QuickSwapV2, "quickswap_v2"},
    {Venue::SushiSwapV2, "sushiswap_v2"}, {Venue::UniswapV3, "uniswap_v3"},
    {Venue::QuickSwapV3, "quickswap_v3"}, {Venue::SushiSwapV3, "sushiswap_v3"},
};

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

std::string_view venue_name(Venue v) noexcept {
  for (const auto& e : kVenueNames) {
    if (e.venue == v) return e.name;
  }
  return "none";
}

std::optional<Venue> venue_from_name(std::string_view name) noexcept {
  for (const auto& e : kVenueNames) {
    if (e.name == name) return e.venue;
  }
  return std::nullopt;
}

std::optional<Address> parse_address(std::string_view text) noexcept {
  if (text.size() != 42 || text[0] != '0' || (text[1] != 'x' && text[1] != 'X')) return std::nullopt;
  Address a{};
  for (std::size_t i = 0; i < 20; ++i) {
    const int hi = hex_value(text[2 + 2 * i]);
    const int lo = hex_value(text[3 + 2 * i]);
    if (hi < 0 || lo < 0) return std::nullopt;
    a[i] = static_cast<std::uint8_t>((hi << 4) | lo);
  }
  return a;
}

std::string format_address(const Address& a) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s = "0x";
  s.reserve(42);
  for (auto b : a) {
    s.push_back(kDigits[b >> 4]);
    s.push_back(kDigits[b & 0xF]);
  }
  return s;
}

std::size_t InstrumentRegistry::KeyHash::operator()(const Key& k) const noexcept {
  // Addresses are already uniformly distributed; mix the chain into the first 8 bytes.
  std::uint64_t h;
  std::memcpy(&h, k.address.data(), sizeof h);
  return static_cast<std::size_t>(h ^ (std::uint64_t{static_cast<std::uint8_t>(k.chain)} * 0x9E3779B97F4A7C15ull));
}

std::optional<InstrumentId> InstrumentRegistry::add_token(Chain chain, const Address& address,
                                                          std::uint8_t decimals, std::string symbol) {
  if (auto existing = find(chain, address)) {
    if (existing->kind() != InstrumentKind::Token) return std::nullopt;
    return existing;
  }
  const InstrumentId id = InstrumentId::make(InstrumentKind::Token, chain, Venue::None, tokens_.size());
  if (!id.valid()) return std::nullopt;
  tokens_.push_back(TokenInfo{chain, address, decimals, std::move(symbol)});
  token_ids_.push_back(id);
  by_address_.emplace(Key{chain, address}, id);
  return id;
}

bool valid_pool_params(Venue venue, std::uint64_t fee_ppm, std::int64_t tick_spacing) noexcept {
  const PoolProtocol proto = venue_protocol(venue);
  if (proto == PoolProtocol::None || fee_ppm >= kFeeDenominatorPpm) return false;
  return proto == PoolProtocol::UniswapV2 ? tick_spacing == 0 : tick_spacing >= 1 && tick_spacing <= kV3MaxTickSpacing;
}

std::optional<InstrumentId> InstrumentRegistry::add_pool(Venue venue, const Address& address,
                                                         InstrumentId token0, InstrumentId token1,
                                                         std::uint32_t fee_ppm, std::int32_t tick_spacing) {
  const TokenInfo* t0 = token(token0);
  const TokenInfo* t1 = token(token1);
  if (t0 == nullptr || t1 == nullptr || t0->chain != t1->chain || token0 == token1) return std::nullopt;
  if (!valid_pool_params(venue, fee_ppm, tick_spacing)) return std::nullopt;
  const Chain chain = t0->chain;
  if (auto existing = find(chain, address)) {
    if (existing->kind() != InstrumentKind::Pool) return std::nullopt;
    return existing;
  }
  const InstrumentId id = InstrumentId::make(InstrumentKind::Pool, chain, venue, pools_.size());
  if (!id.valid()) return std::nullopt;
  pools_.push_back(PoolInfo{chain, venue, address, token0, token1, fee_ppm, tick_spacing});
  pool_ids_.push_back(id);
  by_address_.emplace(Key{chain, address}, id);
  return id;
}

std::optional<InstrumentId> InstrumentRegistry::find(Chain chain, const Address& address) const noexcept {
  const auto it = by_address_.find(Key{chain, address});
  if (it == by_address_.end()) return std::nullopt;
  return it->second;
}

const TokenInfo* InstrumentRegistry::token(InstrumentId id) const noexcept {
  if (id.kind() != InstrumentKind::Token || id.index() >= tokens_.size()) return nullptr;
  return token_ids_[id.index()] == id ? &tokens_[id.index()] : nullptr;
}

const PoolInfo* InstrumentRegistry::pool(InstrumentId id) const noexcept {
  if (id.kind() != InstrumentKind::Pool || id.index() >= pools_.size()) return nullptr;
  return pool_ids_[id.index()] == id ? &pools_[id.index()] : nullptr;
}

InstrumentId InstrumentRegistry::token_id(std::size_t index) const noexcept {
  return index < token_ids_.size() ? token_ids_[index] : InstrumentId{};
}

InstrumentId InstrumentRegistry::pool_id(std::size_t index) const noexcept {
  return index < pool_ids_.size() ? pool_ids_[index] : InstrumentId{};
}

}  // namespace torq::protocol
