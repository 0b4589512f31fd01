#include "torq/torqd/execution.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace torq::torqd {

PathTable::PathTable(const protocol::InstrumentRegistry& registry) {
  pools_.resize(registry.pool_count());
  ids_.resize(registry.pool_count());
  for (std::size_t i = 0; i < registry.pool_count(); ++i) {
    const protocol::InstrumentId id = registry.pool_id(i);
    if (id.index() != i) throw std::invalid_argument("path table: pool ids are not dense");
    const protocol::PoolInfo* p = registry.pool(id);
    PathPool& pp = pools_[i];
    ids_[i] = id.raw();
    pp.address = p->address;
    pp.token0 = p->token0.raw();
    pp.token1 = p->token1.raw();
    switch (protocol::venue_protocol(p->venue)) {
      case protocol::PoolProtocol::UniswapV2:
        if (p->fee_ppm == 0 || p->fee_ppm % 1000 != 0 || p->fee_ppm >= 1'000'000) {
          throw std::invalid_argument("path table: V2 pool " + protocol::format_address(p->address) +
                                      " has a fee the contract cannot express (" + std::to_string(p->fee_ppm) + " ppm)");
        }
        pp.kind = 0;
        pp.v2_fee = static_cast<std::uint16_t>(1000 - p->fee_ppm / 1000);
        break;
      case protocol::PoolProtocol::UniswapV3:
        pp.kind = 1;
        break;
      default:
        pp.kind = 0xFF;  // Algebra etc.: not supported by TorqArbitrage
        break;
    }
  }
}

const PathPool* PathTable::find(std::uint64_t pool_raw) const noexcept {
  const protocol::InstrumentId id(pool_raw);
  const std::uint64_t i = id.index();
  if (i >= ids_.size() || ids_[i] != pool_raw || pools_[i].kind == 0xFF) return nullptr;
  return &pools_[i];
}

const char* to_string(PathError e) noexcept {
  switch (e) {
    case PathError::Ok: return "ok";
    case PathError::BadHopCount: return "bad hop count";
    case PathError::UnknownPool: return "unknown or unsupported pool";
    case PathError::TokenMismatch: return "hop input token not in its pool";
    case PathError::OpenCycle: return "cycle does not return to the start token";
  }
  return "?";
}

PathError encode_path(const protocol::ArbitrageSignal& s, const PathTable& table,
                      std::span<std::uint8_t, kMaxPathBytes> out, std::size_t& size) noexcept {
  size = 0;
  if (s.hop_count < 2 || s.hop_count > protocol::kMaxHops) return PathError::BadHopCount;
  if (s.tokens[s.hop_count] != s.tokens[0]) return PathError::OpenCycle;
  for (unsigned h = 0; h < s.hop_count; ++h) {
    const PathPool* p = table.find(s.pools[h]);
    if (p == nullptr) return PathError::UnknownPool;
    const std::uint64_t in = s.tokens[h];
    const std::uint64_t outt = s.tokens[h + 1];
    bool zero_for_one = false;
    if (in == p->token0 && outt == p->token1) {
      zero_for_one = true;
    } else if (!(in == p->token1 && outt == p->token0)) {
      return PathError::TokenMismatch;
    }
    std::uint8_t* w = out.data() + kHopBytes * h;
    std::memcpy(w, p->address.data(), 20);
    w[20] = p->kind;
    w[21] = zero_for_one ? 1 : 0;
    const std::uint16_t fee = p->kind == 0 ? p->v2_fee : 0;
    w[22] = static_cast<std::uint8_t>(fee >> 8);
    w[23] = static_cast<std::uint8_t>(fee & 0xFF);
  }
  size = kHopBytes * s.hop_count;
  return PathError::Ok;
}

FeeQuote fees_for(const num::U256& base_fee_wei, std::uint64_t priority_gwei, std::uint64_t chain_id) noexcept {
  constexpr std::uint64_t kGwei = 1'000'000'000ULL;
  const std::uint64_t floor_gwei = chain_id == 137 ? 25 : 0;
  const std::uint64_t p = std::max(priority_gwei, floor_gwei);
  FeeQuote q;
  q.max_priority_fee_per_gas = num::U256(p) * num::U256(kGwei);
  q.max_fee_per_gas = base_fee_wei + base_fee_wei + q.max_priority_fee_per_gas;
  return q;
}

num::U256 min_profit_for(const num::U256& expected_profit, std::uint32_t share_bps) noexcept {
  // 512-bit product: never wraps (a wrapped guard would let the contract accept almost no
  // profit); a quotient above 2^256 - 1 saturates (the guard can only get stricter).
  num::U256 v = num::mul_div(expected_profit, num::U256(share_bps), num::U256(10000)).value_or(num::U256::max());
  if (v == num::U256::zero()) v = num::U256::one();
  return v;
}

}  // namespace torq::torqd
