// torq/bench/universe.hpp — the synthetic Polygon-like pool universe shared by the strategy-loop
// benchmarks (bench_tick_to_signal, bench_tick_to_tx); header-only.
//
// Owns: Universe (hub tokens WMATIC/USDC/WETH/USDT/DAI plus long-tail tokens, each paired with
// hubs on QuickSwap/SushiSwap V2 (fee 3000) and Uniswap V3 (fee 500, spacing 10), registered in a
// protocol::InstrumentRegistry exactly as torqd's pool list does, specs from
// arb::pool_specs_from_registry; every pool priced consistently with per-token USD prices),
// make_universe (deterministic for a seed), event_frame (one V2 Sync / V3 Swap frame moving one
// pool off its baseline), universe_engine_config (the strategy settings the benchmarks use with
// it) and load_baseline (snapshot frames: V2 reserves, V3 state + 4 ticks,
// then a BlockHeader with the base fee). The frame checksum is the caller's choice (flags 0:
// CRC32C, as a collector publishes; protocol::frame_flags::kNoChecksum: none).
// Thread-safety: a Universe is immutable after make_universe; event_frame only reads it and may
// run on any thread; load_baseline drives the engine, so it runs on the engine's thread.
// Allocation: make_universe and load_baseline (one 8 KiB scratch buffer) allocate and may throw
// (set-up only); event_frame writes into the caller's buffer and never allocates.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "torq/arb/engine.hpp"
#include "torq/arb/pool_book.hpp"
#include "torq/arb/wide_math.hpp"
#include "torq/num/uint256.hpp"
#include "torq/protocol/frame.hpp"
#include "torq/protocol/instrument_id.hpp"
#include "torq/protocol/tlv_types.hpp"
#include "torq/strategy/tick_math.hpp"

namespace torq::bench {

// Token indices of the hubs (the first kHubs tokens of every universe).
inline constexpr std::uint32_t kWmatic = 0, kUsdc = 1, kWeth = 2, kUsdt = 3, kDai = 4, kHubs = 5;

// Nearest-below U256 of a double >= 1 (53-bit mantissa); 1 for anything smaller (or NaN).
[[nodiscard]] inline num::U256 u256_from_double(double v) noexcept {
  if (!(v >= 1.0)) return num::U256::one();
  int e = 0;
  const double m = std::frexp(v, &e);  // v = m * 2^e, m in [0.5, 1)
  const auto mant = static_cast<std::uint64_t>(std::ldexp(m, 53));
  return e >= 53 ? num::U256(mant) << static_cast<unsigned>(e - 53)
                 : num::U256(mant) >> static_cast<unsigned>(53 - e);
}

// A synthetic address: `tag` in the first byte, `i` big-endian in the last 8.
[[nodiscard]] inline protocol::Address address_of_index(std::uint8_t tag, std::uint64_t i) {
  protocol::Address a{};
  a[0] = tag;
  for (int b = 0; b < 8; ++b) a[19 - b] = static_cast<std::uint8_t>(i >> (8 * b));
  return a;
}

struct Universe {
  protocol::InstrumentRegistry registry;  // tokens (index = token index), pools (index = pool index)
  std::vector<arb::PoolSpec> specs;       // arb::pool_specs_from_registry(registry)
  std::vector<double> token_usd;
  std::vector<int> token_dec;
  // Baseline state per pool.
  std::vector<num::U256> r0, r1, sqrtp;
  std::vector<num::u128> liq;
  std::vector<std::int32_t> tick;
};

// n_pools pools over kHubs + n_pools / 4 tokens: 3 pools per hub pair (2 V2, 1 V3), then
// long-tail token / hub pools (30% V3) until n_pools; depth 0.2-5 M USD per side.
[[nodiscard]] inline Universe make_universe(std::size_t n_pools, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  Universe u;
  const std::size_t n_tokens = kHubs + n_pools / 4;
  u.token_usd = {0.5, 1.0, 2000.0, 1.0, 1.0};
  u.token_dec = {18, 6, 18, 6, 18};
  const char* const hub_sym[] = {"WMATIC", "USDC", "WETH", "USDT", "DAI"};
  std::uniform_real_distribution<double> logp(-4.0, 3.0);
  for (std::size_t t = kHubs; t < n_tokens; ++t) {
    u.token_usd.push_back(std::pow(10.0, logp(rng)));
    u.token_dec.push_back(18);
  }
  std::vector<protocol::InstrumentId> tok;
  for (std::size_t t = 0; t < n_tokens; ++t) {
    const std::string sym = t < kHubs ? hub_sym[t] : "T" + std::to_string(t);
    const auto id = u.registry.add_token(protocol::Chain::Polygon, address_of_index(0x70, t),
                                         static_cast<std::uint8_t>(u.token_dec[t]), sym);
    if (!id || id->index() != t) throw std::runtime_error("bench universe: token registration " + std::to_string(t));
    tok.push_back(*id);
  }
  std::uint64_t pool_no = 0;
  auto add_pool = [&](std::uint32_t a, std::uint32_t b, bool v3) {
    const auto venue = v3 ? protocol::Venue::UniswapV3
                          : (rng() % 2 ? protocol::Venue::QuickSwapV2 : protocol::Venue::SushiSwapV2);
    const auto id = u.registry.add_pool(venue, address_of_index(0x90, pool_no), tok[a], tok[b], v3 ? 500u : 3000u,
                                        v3 ? 10 : 0);
    if (!id) throw std::runtime_error("bench universe: pool registration " + std::to_string(pool_no));
    ++pool_no;
  };
  for (std::uint32_t a = 0; a < kHubs; ++a)
    for (std::uint32_t b = a + 1; b < kHubs; ++b) {
      add_pool(a, b, false);
      add_pool(a, b, false);
      add_pool(a, b, true);
    }
  const std::uint32_t hub_pick[] = {kWmatic, kWmatic, kWmatic, kUsdc, kUsdc, kWeth, kUsdt, kDai};
  while (u.registry.pool_count() < n_pools) {
    const auto t = static_cast<std::uint32_t>(kHubs + rng() % (n_tokens - kHubs));
    const std::uint32_t h = hub_pick[rng() % 8];
    add_pool(h, t, rng() % 10 < 3);
  }
  u.specs = arb::pool_specs_from_registry(u.registry);
  const std::size_t n = u.specs.size();
  u.r0.resize(n);
  u.r1.resize(n);
  u.sqrtp.resize(n);
  u.liq.resize(n);
  u.tick.resize(n);
  std::uniform_real_distribution<double> depth(2e5, 5e6);  // USD per side
  for (std::size_t i = 0; i < n; ++i) {
    const auto t0 = static_cast<std::uint32_t>(u.specs[i].token0.index());
    const auto t1 = static_cast<std::uint32_t>(u.specs[i].token1.index());
    const double d = depth(rng);
    const double x = d / u.token_usd[t0] * std::pow(10.0, u.token_dec[t0]);
    const double y = d / u.token_usd[t1] * std::pow(10.0, u.token_dec[t1]);
    u.r0[i] = u256_from_double(x);
    u.r1[i] = u256_from_double(y);
    u.sqrtp[i] = u256_from_double(std::sqrt(y / x) * 0x1p96);
    u.liq[i] = static_cast<num::u128>(std::sqrt(x * y));
    u.tick[i] = *strategy::get_tick_at_sqrt_ratio(u.sqrtp[i]);
  }
  return u;
}

// One market-data frame with one TLV moving pool p to `move` (sqrt-price factor) off its
// baseline (move 1.0: the baseline itself, a restore). `flags`: 0 (CRC32C) or
// protocol::frame_flags::kNoChecksum. Returns the frame's size in `buf`.
inline std::size_t event_frame(std::span<std::byte> buf, const Universe& u, std::size_t p, double move,
                               std::uint64_t block, std::uint32_t log, std::uint64_t seq, std::uint64_t ts,
                               std::uint8_t flags) noexcept {
  protocol::FrameBuilder b(buf, protocol::RelayDomain::MarketData, 1, flags);
  const protocol::EventContext c{u.specs[p].id.raw(), block, block * 31, 0, log};
  if (u.specs[p].type == arb::PoolType::V2) {
    protocol::V2Sync s{c, u.r0[p], u.r1[p]};
    if (move != 1.0) {
      s.reserve0 = u256_from_double(arb::to_double(u.r0[p]) / move);
      s.reserve1 = u256_from_double(arb::to_double(u.r1[p]) * move);
    }
    (void)b.add(s);
  } else {
    protocol::V3Swap s{c, num::I256::zero(), num::I256::zero(), u.sqrtp[p], protocol::Uint128Le::from(u.liq[p]), u.tick[p], 0};
    if (move != 1.0) {
      s.sqrt_price_x96 = u256_from_double(arb::to_double(u.sqrtp[p]) * move);
      s.tick = *strategy::get_tick_at_sqrt_ratio(s.sqrt_price_x96);
    }
    (void)b.add(s);
  }
  return b.finish(seq, ts).size();
}

// The strategy settings the tick-to-signal benchmark and the engine's cache-hint test run a
// universe with: the hubs as start tokens (USDC first), USDC/USDT/DAI as stables, WMATIC as the
// native token, 16 tick slots per V3 pool, a 10 USD minimum net profit, frames without CRC32C.
[[nodiscard]] inline arb::EngineConfig universe_engine_config() {
  arb::EngineConfig cfg;
  cfg.book.v3_tick_capacity = 16;
  cfg.cycles.base_tokens = {kUsdc, kWmatic, kWeth, kUsdt, kDai};
  cfg.cycles.max_cycles_per_pool = 64;
  cfg.pricing.stables = {{kUsdc, 6}, {kUsdt, 6}, {kDai, 18}};
  cfg.gas.native_token = kWmatic;
  cfg.min_net_profit = num::UsdFixedPoint8{10 * num::UsdFixedPoint8::kScale};
  cfg.verify_checksum = false;
  return cfg;
}

// Loads the baseline into `eng`: one snapshot frame per pool (V2: reserves; V3: state + two
// nested positions of L/2, [t-2000, t+2000) and [t-20000, t+20000), as 4 initialized ticks),
// then a BlockHeader (block 2, `base_fee_wei`). `flags` as for event_frame.
inline void load_baseline(arb::ArbEngine& eng, const Universe& u, const num::U256& base_fee_wei, std::uint8_t flags) {
  std::vector<std::byte> buf(8192);
  for (std::size_t p = 0; p < u.specs.size(); ++p) {
    protocol::FrameBuilder b(buf, protocol::RelayDomain::System, 1, flags);
    protocol::PoolStateSnapshot s{};
    s.pool = u.specs[p].id.raw();
    s.block_number = 1;
    s.fee_ppm = u.specs[p].fee_ppm;
    if (u.specs[p].type == arb::PoolType::V2) {
      s.kind = static_cast<std::uint8_t>(protocol::PoolKind::V2);
      s.reserve0 = u.r0[p];
      s.reserve1 = u.r1[p];
      (void)b.add(s);
    } else {
      s.kind = static_cast<std::uint8_t>(protocol::PoolKind::V3);
      s.tick = u.tick[p];
      s.tick_spacing = 10;
      s.sqrt_price_x96 = u.sqrtp[p];
      s.liquidity = protocol::Uint128Le::from(u.liq[p]);
      (void)b.add(s);
      const std::int32_t c = u.tick[p] / 10 * 10;
      const auto half = static_cast<__int128>(u.liq[p] / 2);
      const auto g = protocol::Uint128Le::from(static_cast<num::u128>(half));
      protocol::V3TickEntry e[4] = {{c - 20000, 0, protocol::Int128Le::from(half), g},
                                    {c - 2000, 0, protocol::Int128Le::from(half), g},
                                    {c + 2000, 0, protocol::Int128Le::from(-half), g},
                                    {c + 20000, 0, protocol::Int128Le::from(-half), g}};
      protocol::V3TicksSnapshotHead h{u.specs[p].id.raw(), 1, 4, 0};
      (void)b.add_raw(static_cast<std::uint8_t>(protocol::TlvType::V3TicksSnapshot), std::as_bytes(std::span(&h, 1)),
                      std::as_bytes(std::span(e)));
    }
    (void)eng.on_frame(b.finish(p, 0));
  }
  protocol::FrameBuilder b(buf, protocol::RelayDomain::MarketData, 1, flags);
  protocol::BlockHeader h{};
  h.number = 2;
  h.base_fee_per_gas = base_fee_wei;
  (void)b.add(h);
  (void)eng.on_frame(b.finish(0, 0));
}

}  // namespace torq::bench
