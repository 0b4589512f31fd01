// Pool state from the chain itself (not from the event stream): snapshots at a pinned block,
// pool discovery from factories, token metadata, the persisted pool cache, and the shadow state
// that reconciliation compares against the chain.
//
// Snapshot method (documented choice): V2 = getReserves(); V3 = slot0(), liquidity(),
// tickSpacing(), fee(), then the tick bitmap words around the current tick (tickBitmap(int16)
// for words w0-R .. w0+R, R = tick_scan_words) and ticks(int24) for every set bit → liquidityNet.
// All reads are batched eth_call at the SAME pinned block number, and every answer is decoded
// strictly (abi_word.hpp: uint112 reserves, uint160 price, int24 tick within TickMath's range,
// uint128 liquidity, int24 spacing 1..16383, uint24 fee, bitmap ticks in range): a pool with any
// other answer is reported failed instead of snapshotted. Ticks outside the scanned
// words are not loaded (V3TicksSnapshot covers [word(w0-R) .. word(w0+R)]; consumers must treat
// price moves beyond it as "needs resnapshot"). Reconstruction from Mint/Burn since deployment
// was not chosen: it needs full history (archive ranges) and is slower on real chains.
//
// Discovery: PairCreated (V2 factories) / PoolCreated (V3 factories) logs via eth_getLogs in
// chunks from the factory's start block, and live through the session's logs subscription;
// token decimals()/symbol() via one batched eth_call.
//
// Control plane: everything here allocates and blocks on RPC; one thread at a time (the session
// thread, or start-up code). Errors are values; load_pool_cache returns nullopt on a missing or
// malformed file.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "torq/control/chain_client.hpp"
#include "torq/protocol/instrument_id.hpp"
#include "torq/protocol/tlv_types.hpp"

namespace torq::control {

// topic0 of the factories' creation events.
namespace topics {
extern const std::array<std::uint8_t, 32> kV2PairCreated, kV3PoolCreated;
}

struct FactoryConfig {
  protocol::Venue venue = protocol::Venue::None;  // the pools' venue (its protocol says V2/V3)
  protocol::Address address{};
  std::uint64_t from_block = 0;  // deployment block (discovery backfill starts here)
  std::uint32_t v2_fee_ppm = 3000;
};

// A pool with its tokens, as found (discovery) or cached.
struct PoolMeta {
  protocol::Venue venue = protocol::Venue::None;
  protocol::Address address{};
  protocol::Address token0{}, token1{};
  std::uint8_t decimals0 = 0, decimals1 = 0;
  std::string symbol0, symbol1;
  std::uint32_t fee_ppm = 0;
  std::int32_t tick_spacing = 0;  // 0 for V2
  std::uint64_t created_block = 0;
};

// One pool's state at one block, as PoolStateSnapshot + V3 ticks (sorted by tick).
struct PoolSnapshot {
  protocol::PoolStateSnapshot state{};
  std::vector<protocol::V3TickEntry> ticks;
};

// Snapshots `pools` (registered in `registry`) at `block` with batched eth_call. A pool whose
// calls fail is left out and reported in `failed` (if given).
[[nodiscard]] RpcResult<std::vector<PoolSnapshot>> snapshot_pools(ChainClient& client,
                                                                  const protocol::InstrumentRegistry& registry,
                                                                  std::span<const protocol::InstrumentId> pools,
                                                                  std::uint64_t block, std::int32_t tick_scan_words,
                                                                  std::vector<protocol::InstrumentId>* failed = nullptr);

// Creation logs of `factories` in [from, to] (per factory from max(from, factory.from_block)),
// eth_getLogs in chunks (halved on range-limit errors) + token metadata batched. Pools whose
// tokens do not answer decimals() are skipped.
[[nodiscard]] RpcResult<std::vector<PoolMeta>> discover_pools(ChainClient& client,
                                                              std::span<const FactoryConfig> factories,
                                                              std::uint64_t from, std::uint64_t to,
                                                              std::uint64_t chunk = 5000);
// Parses one PairCreated/PoolCreated log object (JSON text) emitted by one of `factories`; nullopt
// if it is neither, or if a topic or data word is not the ABI encoding of the event's field
// (addresses zero-extended, uint24 fee below 100 %, int24 tickSpacing 1..16383).
[[nodiscard]] std::optional<PoolMeta> parse_creation_log(std::string_view log_json,
                                                         std::span<const FactoryConfig> factories);
// Fills decimals/symbol of the pools' tokens (one batch for all distinct tokens).
[[nodiscard]] RpcError fetch_token_metadata(ChainClient& client, std::vector<PoolMeta>& pools);

// Registers tokens and pools; returns the ids (invalid id for a pool that could not be added,
// and for an Algebra pool: snapshot_pools cannot read its state). parse_creation_log likewise
// returns nullopt for a log of an Algebra factory.
std::vector<protocol::InstrumentId> register_discovered(const std::vector<PoolMeta>& pools,
                                                        protocol::InstrumentRegistry& registry, protocol::Chain chain);

// Pool cache (JSON, schema "torq-pool-cache/1"): chain id, the last block discovery covered,
// the pools with token metadata. Written atomically (temp file + rename).
struct PoolCache {
  std::uint64_t chain_id = 0;
  std::uint64_t discovered_through = 0;
  std::vector<PoolMeta> pools;
};
[[nodiscard]] bool save_pool_cache(const std::string& path, const PoolCache& cache);
// nullopt for a missing or unreadable file, or for text parse_pool_cache refuses.
[[nodiscard]] std::optional<PoolCache> load_pool_cache(const std::string& path);
// The file's text. A symbol is stored without '"', '\\', control characters, and bytes >= 0x80
// unless it is valid UTF-8.
[[nodiscard]] std::string format_pool_cache(const PoolCache& cache);
// Parses the file's text; nullopt unless every pool is one a registry accepts: a known pool venue,
// decimals 0..255, fee below 1 000 000 ppm, tick spacing 0 for V2 and 1..16383 for V3.
[[nodiscard]] std::optional<PoolCache> parse_pool_cache(std::string_view json);

// The session's own view of each pool's state, folded from the events it publishes (V2 Sync;
// V3 Initialize/Swap/Mint/Burn with liquidity for in-range positions) and reset by snapshots.
// Used for reconciliation; the same rules a consumer's pool book applies.
struct ShadowPool {
  num::U256 reserve0{}, reserve1{}, sqrt_price_x96{};
  unsigned __int128 liquidity = 0;
  std::int32_t tick = 0;
  bool v3 = false;
  bool known = false;  // a snapshot or a state-setting event was applied
};
void apply_snapshot(ShadowPool& s, const protocol::PoolStateSnapshot& snap) noexcept;
// Applies one market-data event value (type + bytes as in LogEvent); false for other types.
bool apply_event(ShadowPool& s, protocol::TlvType type, std::span<const std::byte> value) noexcept;
// Same state as the chain snapshot? (V2: reserves; V3: sqrtPrice, tick, liquidity.)
[[nodiscard]] bool matches(const ShadowPool& s, const protocol::PoolStateSnapshot& chain) noexcept;

}  // namespace torq::control
