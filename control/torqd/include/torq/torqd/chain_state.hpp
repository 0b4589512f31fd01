// torq/torqd/chain_state.hpp — initial pool state read from the chain at one pinned block.
//
// Owns load_pool_state(): for every registered pool, batched eth_calls at block B — V2
// getReserves(); V3 slot0() + liquidity(), then the initialized ticks found by scanning the
// pool's whole tickBitmap (every word from MIN_TICK to MAX_TICK) and reading ticks(t) for each
// set bit — turned into Protocol V2 market-data frames (one PoolStateSnapshot per pool, one
// V3TicksSnapshot per V3 pool) that the strategy's pool book loads before any live event.
// Events of blocks <= B are then skipped by the collector, events of blocks > B applied.
//
// Start-up code: allocates, throws std::runtime_error naming the pool and the call that failed.
// Not thread-safe (uses the caller's JsonRpc).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "torq/protocol/instrument_id.hpp"
#include "torq/torqd/json_rpc.hpp"

namespace torq::torqd {

struct ChainSnapshot {
  std::uint64_t block = 0;
  std::vector<std::vector<std::byte>> frames;  // finished market-data frames, in load order
  std::size_t v2_pools = 0;
  std::size_t v3_pools = 0;
  std::size_t v3_ticks = 0;  // initialized ticks found across all V3 pools
  std::size_t calls = 0;     // eth_calls made
};

// Selectors used (keccak of the signatures; checked by the unit test).
inline constexpr std::uint32_t kGetReserves = 0x0902f1ac;  // getReserves()
inline constexpr std::uint32_t kSlot0 = 0x3850c7bd;        // slot0()
inline constexpr std::uint32_t kLiquidity = 0x1a686502;    // liquidity()
inline constexpr std::uint32_t kTickBitmap = 0x5339c296;   // tickBitmap(int16)
inline constexpr std::uint32_t kTicks = 0xf30dba93;        // ticks(int24)

// eth_call data: selector + optional one signed argument word.
[[nodiscard]] std::string call_data(std::uint32_t selector);
[[nodiscard]] std::string call_data(std::uint32_t selector, std::int64_t signed_arg);

// Initialized ticks of one tickBitmap word (bit b set → tick ((word << 8) + b) * spacing).
[[nodiscard]] std::vector<std::int32_t> ticks_of_word(std::int32_t word, const num::U256& bits, std::int32_t spacing);

[[nodiscard]] ChainSnapshot load_pool_state(JsonRpc& rpc, const protocol::InstrumentRegistry& registry,
                                            std::uint64_t block, std::uint8_t source);

}  // namespace torq::torqd
