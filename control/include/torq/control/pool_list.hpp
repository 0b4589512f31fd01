// Explicit pool lists: loads the pools and tokens of a local-chain manifest
// (schema "torq-local-chain/1", written by chain/fixture.mjs) or any file of the same shape, and
// registers them in an InstrumentRegistry. Also the venue-name mapping used by configuration.
//
// Start-up code: allocates, throws std::runtime_error with the file and the offending entry on
// bad input. Not thread-safe (it mutates the registry).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "torq/protocol/instrument_id.hpp"

namespace torq::control {

struct ListedToken {
  protocol::Address address{};
  std::uint8_t decimals = 0;
  std::string symbol;
};

struct ListedPool {
  protocol::Address address{};
  protocol::Venue venue = protocol::Venue::None;
  protocol::Address token0{};
  protocol::Address token1{};
  std::uint32_t fee_ppm = 0;
  std::int32_t tick_spacing = 0;  // 0 for V2
};

struct PoolList {
  std::uint64_t chain_id = 0;
  std::string rpc_http;
  std::string rpc_ws;
  std::uint64_t deploy_block = 0;
  std::vector<ListedToken> tokens;
  std::vector<ListedPool> pools;
};

// Venue names as the fixture and the configuration spell them ("quickswap", "sushiswap",
// "uniswap-v3", ...) → Venue; Venue::None when unknown.
[[nodiscard]] protocol::Venue venue_from_config_name(std::string_view name) noexcept;

// Parses a manifest file. Throws std::runtime_error naming the file and entry on bad input,
// and for an Algebra pool (venue quickswap-v3): snapshot_pools cannot read its state.
[[nodiscard]] PoolList load_pool_list(const std::string& path);

// Registers every token and pool; returns the pool ids in list order. Throws on a pool whose
// tokens are not listed or whose venue is unknown.
std::vector<protocol::InstrumentId> register_pools(const PoolList& list, protocol::InstrumentRegistry& registry,
                                                   protocol::Chain chain);

}  // namespace torq::control
