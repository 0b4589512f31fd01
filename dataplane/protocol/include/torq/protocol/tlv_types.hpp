// Protocol V2 TLV type registry and the fixed byte layout of every TLV value.
//
// Type numbers are grouped by relay domain: market data 1-19, signals 20-39, execution 40-79,
// system 100-119. Each value type below is a trivially copyable struct with no padding bytes
// (static_asserts on size and on unique object representations), whose in-memory layout IS the
// little-endian wire layout. Values are copied in and out of frames with memcpy (see frame.hpp),
// so frames never need to be aligned. Amounts are raw token units (num::U256 / num::I256,
// 32 bytes little-endian limbs); V3 liquidity is a 128-bit value (Uint128Le); USD values are
// UsdFixedPoint8 raw int64. Variable-length types (Error, V3TicksSnapshot) are a fixed head
// followed by repeated elements; `tlv_size_rule` states the allowed lengths per type.
// Pure data: no allocation, thread-safe by copy. docs/protocol.md is the normative description.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "torq/num/uint256.hpp"
#include "torq/protocol/header.hpp"

namespace torq::protocol {

using num::I256;
using num::U256;

enum class TlvType : std::uint8_t {
  // market data 1-19
  V2Sync = 1,
  V2Swap = 2,
  V2Mint = 3,
  V2Burn = 4,
  V3Swap = 5,
  V3Mint = 6,
  V3Burn = 7,
  V3Initialize = 8,
  BlockHeader = 9,
  ReorgNotice = 10,
  // signals 20-39
  ArbitrageSignal = 20,
  // execution 40-79
  OrderRequest = 40,
  ExecutionReport = 41,
  // system 100-119
  Heartbeat = 100,
  PoolStateSnapshot = 101,
  V3TicksSnapshot = 102,
  Error = 103,
  SnapshotRequest = 104,
  ResendRequest = 105,
};

// Marker byte that introduces the extended TLV form: [0xFF][type u8][length u16 LE][value].
inline constexpr std::uint8_t kExtendedTlvMarker = 0xFF;
inline constexpr std::size_t kStandardTlvHeader = 2;
inline constexpr std::size_t kExtendedTlvHeader = 4;
inline constexpr std::size_t kMaxStandardTlvValue = 255;
inline constexpr std::size_t kMaxExtendedTlvValue = 65535;

// The domain a type number belongs to, or nullopt-like 0 for numbers outside every group.
[[nodiscard]] constexpr std::uint8_t domain_of_type(std::uint8_t t) noexcept {
  if (t >= 1 && t <= 19) return static_cast<std::uint8_t>(RelayDomain::MarketData);
  if (t >= 20 && t <= 39) return static_cast<std::uint8_t>(RelayDomain::Signal);
  if (t >= 40 && t <= 79) return static_cast<std::uint8_t>(RelayDomain::Execution);
  if (t >= 100 && t <= 119) return static_cast<std::uint8_t>(RelayDomain::System);
  return 0;
}

struct Uint128Le {
  std::uint64_t lo;
  std::uint64_t hi;
  [[nodiscard]] constexpr unsigned __int128 value() const noexcept {
    return (static_cast<unsigned __int128>(hi) << 64) | lo;
  }
  [[nodiscard]] static constexpr Uint128Le from(unsigned __int128 v) noexcept {
    return Uint128Le{static_cast<std::uint64_t>(v), static_cast<std::uint64_t>(v >> 64)};
  }
  friend constexpr bool operator==(const Uint128Le&, const Uint128Le&) = default;
};
struct Int128Le {
  std::uint64_t lo;
  std::uint64_t hi;  // two's complement
  [[nodiscard]] constexpr __int128 value() const noexcept {
    return static_cast<__int128>((static_cast<unsigned __int128>(hi) << 64) | lo);
  }
  [[nodiscard]] static constexpr Int128Le from(__int128 v) noexcept {
    const auto u = static_cast<unsigned __int128>(v);
    return Int128Le{static_cast<std::uint64_t>(u), static_cast<std::uint64_t>(u >> 64)};
  }
  friend constexpr bool operator==(const Int128Le&, const Int128Le&) = default;
};

// Every market-data event names where it happened so that duplicates and reorgs are detectable:
// (block_number, tx_index, log_index) orders events; block_hash_prefix = first 8 bytes of the
// block hash (big-endian bytes read as a little-endian u64, i.e. a raw copy of hash[0..8]).
struct EventContext {
  std::uint64_t pool;  // InstrumentId raw
  std::uint64_t block_number;
  std::uint64_t block_hash_prefix;
  std::uint32_t tx_index;
  std::uint32_t log_index;
  friend constexpr bool operator==(const EventContext&, const EventContext&) = default;
};

#define TORQ_TLV(Name, Size)                                                   \
  static_assert(sizeof(Name) == (Size), #Name " wire size changed");           \
  static_assert(std::is_trivially_copyable_v<Name>, #Name " must be trivial"); \
  static_assert(std::has_unique_object_representations_v<Name>, #Name " has padding")

// ---- market data -------------------------------------------------------------------------
struct V2Sync {  // UniswapV2Pair.Sync(uint112 reserve0, uint112 reserve1)
  static constexpr TlvType kType = TlvType::V2Sync;
  EventContext ctx;
  U256 reserve0;
  U256 reserve1;
  friend constexpr bool operator==(const V2Sync&, const V2Sync&) = default;
};
TORQ_TLV(V2Sync, 96);

struct V2Swap {  // Swap(sender, amount0In, amount1In, amount0Out, amount1Out, to)
  static constexpr TlvType kType = TlvType::V2Swap;
  EventContext ctx;
  U256 amount0_in;
  U256 amount1_in;
  U256 amount0_out;
  U256 amount1_out;
  friend constexpr bool operator==(const V2Swap&, const V2Swap&) = default;
};
TORQ_TLV(V2Swap, 160);

struct V2Mint {  // Mint(sender, amount0, amount1)
  static constexpr TlvType kType = TlvType::V2Mint;
  EventContext ctx;
  U256 amount0;
  U256 amount1;
  friend constexpr bool operator==(const V2Mint&, const V2Mint&) = default;
};
TORQ_TLV(V2Mint, 96);

struct V2Burn {  // Burn(sender, amount0, amount1, to)
  static constexpr TlvType kType = TlvType::V2Burn;
  EventContext ctx;
  U256 amount0;
  U256 amount1;
  friend constexpr bool operator==(const V2Burn&, const V2Burn&) = default;
};
TORQ_TLV(V2Burn, 96);

struct V3Swap {  // Swap(sender, recipient, int256 amount0, int256 amount1, uint160 sqrtPriceX96, uint128 liquidity, int24 tick)
  static constexpr TlvType kType = TlvType::V3Swap;
  EventContext ctx;
  I256 amount0;
  I256 amount1;
  U256 sqrt_price_x96;
  Uint128Le liquidity;
  std::int32_t tick;
  std::uint32_t reserved;
  friend constexpr bool operator==(const V3Swap&, const V3Swap&) = default;
};
TORQ_TLV(V3Swap, 152);

struct V3Mint {  // Mint(sender, owner, int24 tickLower, int24 tickUpper, uint128 amount, uint256 amount0, uint256 amount1)
  static constexpr TlvType kType = TlvType::V3Mint;
  EventContext ctx;
  std::int32_t tick_lower;
  std::int32_t tick_upper;
  Uint128Le liquidity;
  U256 amount0;
  U256 amount1;
  friend constexpr bool operator==(const V3Mint&, const V3Mint&) = default;
};
TORQ_TLV(V3Mint, 120);

struct V3Burn {  // Burn(owner, int24 tickLower, int24 tickUpper, uint128 amount, uint256 amount0, uint256 amount1)
  static constexpr TlvType kType = TlvType::V3Burn;
  EventContext ctx;
  std::int32_t tick_lower;
  std::int32_t tick_upper;
  Uint128Le liquidity;
  U256 amount0;
  U256 amount1;
  friend constexpr bool operator==(const V3Burn&, const V3Burn&) = default;
};
TORQ_TLV(V3Burn, 120);

struct V3Initialize {  // Initialize(uint160 sqrtPriceX96, int24 tick)
  static constexpr TlvType kType = TlvType::V3Initialize;
  EventContext ctx;
  U256 sqrt_price_x96;
  std::int32_t tick;
  std::uint32_t reserved;
  friend constexpr bool operator==(const V3Initialize&, const V3Initialize&) = default;
};
TORQ_TLV(V3Initialize, 72);

struct BlockHeader {
  static constexpr TlvType kType = TlvType::BlockHeader;
  std::uint64_t number;
  std::uint64_t timestamp_s;  // block timestamp, seconds
  std::array<std::uint8_t, 32> hash;
  std::array<std::uint8_t, 32> parent_hash;
  U256 base_fee_per_gas;  // wei
  std::uint64_t gas_used;
  std::uint64_t gas_limit;
  friend constexpr bool operator==(const BlockHeader&, const BlockHeader&) = default;
};
TORQ_TLV(BlockHeader, 128);

// The chain switched branches: every event from blocks above common_ancestor_number on the old
// branch is void. Consumers unwind to the ancestor (by block number and hash prefix).
struct ReorgNotice {
  static constexpr TlvType kType = TlvType::ReorgNotice;
  std::uint64_t common_ancestor_number;
  std::array<std::uint8_t, 32> common_ancestor_hash;
  std::uint64_t old_tip_number;
  std::uint64_t new_tip_number;
  std::uint32_t depth;  // blocks removed from the old branch
  std::uint32_t reserved;
  friend constexpr bool operator==(const ReorgNotice&, const ReorgNotice&) = default;
};
TORQ_TLV(ReorgNotice, 64);

// ---- signals -------------------------------------------------------------------------------
inline constexpr std::size_t kMaxHops = 3;

enum class PathKind : std::uint8_t { TwoPoolCross = 1, Triangular = 2 };

struct ArbitrageSignal {
  static constexpr TlvType kType = TlvType::ArbitrageSignal;
  std::uint64_t signal_id;
  std::uint64_t block_number;
  std::uint8_t hop_count;  // 2 or 3
  std::uint8_t path_kind;  // PathKind
  std::array<std::uint8_t, 6> reserved;
  std::array<std::uint64_t, kMaxHops> pools;               // InstrumentId raw per hop
  std::array<std::uint64_t, kMaxHops + 1> tokens;          // token in, after hop 1, ..., token out
  std::array<std::uint64_t, kMaxHops> pool_state_versions;  // book versions the search used
  U256 amount_in;
  U256 expected_amount_out;
  U256 expected_profit;            // raw units of tokens[0]
  std::int64_t expected_profit_usd;  // UsdFixedPoint8 raw
  std::int64_t gas_cost_usd;         // UsdFixedPoint8 raw
  std::int64_t net_profit_usd;       // UsdFixedPoint8 raw
  std::uint64_t gas_units;
  friend constexpr bool operator==(const ArbitrageSignal&, const ArbitrageSignal&) = default;
};
TORQ_TLV(ArbitrageSignal, 232);

// ---- execution -----------------------------------------------------------------------------
struct OrderRequest {
  static constexpr TlvType kType = TlvType::OrderRequest;
  std::uint64_t order_id;
  std::uint64_t signal_id;
  std::uint64_t nonce;
  std::uint64_t gas_limit;
  U256 max_fee_per_gas;
  U256 max_priority_fee_per_gas;
  U256 amount_in;
  U256 min_profit;
  std::array<std::uint64_t, kMaxHops> pools;
  std::uint8_t hop_count;
  std::array<std::uint8_t, 7> reserved;
  friend constexpr bool operator==(const OrderRequest&, const OrderRequest&) = default;
};
TORQ_TLV(OrderRequest, 192);

enum class ExecutionStatus : std::uint8_t {
  Rejected = 1,   // refused by a risk gate (reject_reason says which)
  Submitted = 2,  // accepted by the node
  Included = 3,   // mined, succeeded
  Reverted = 4,   // mined, reverted
  Failed = 5,     // node refused or transport error
  Replaced = 6,   // superseded by a same-nonce replacement
};

struct ExecutionReport {
  static constexpr TlvType kType = TlvType::ExecutionReport;
  std::uint64_t order_id;
  std::uint64_t signal_id;
  std::uint64_t nonce;
  std::uint64_t block_number;
  std::uint8_t status;         // ExecutionStatus
  std::uint8_t reject_reason;  // risk reason code, 0 when not rejected
  std::array<std::uint8_t, 6> reserved;
  std::array<std::uint8_t, 32> tx_hash;
  std::uint64_t gas_used;
  U256 effective_gas_price;
  I256 realized_profit;  // raw units of the input token
  std::int64_t realized_pnl_usd;  // UsdFixedPoint8 raw
  std::int64_t expected_pnl_usd;  // UsdFixedPoint8 raw
  friend constexpr bool operator==(const ExecutionReport&, const ExecutionReport&) = default;
};
TORQ_TLV(ExecutionReport, 160);

// ---- system --------------------------------------------------------------------------------
struct Heartbeat {
  static constexpr TlvType kType = TlvType::Heartbeat;
  std::uint64_t timestamp_ns;
  std::uint64_t last_sequence;  // last data sequence the source sent before this heartbeat
  std::uint32_t epoch;          // incremented on every restart of the source
  std::uint32_t reserved;
  friend constexpr bool operator==(const Heartbeat&, const Heartbeat&) = default;
};
TORQ_TLV(Heartbeat, 24);

// A receiver of a lossy link (udp://) asks the link's source to publish fresh pool snapshots:
// it joined after the source's start-up snapshots, or it lost frames (a sequence gap). Sent
// back to the source on its request address; the source rate-limits what it acts on.
enum class SnapshotRequestReason : std::uint8_t { Join = 1, Gap = 2 };
struct SnapshotRequest {
  static constexpr TlvType kType = TlvType::SnapshotRequest;
  std::uint64_t timestamp_ns;   // requester's clock
  std::uint64_t gaps;           // sequence gaps the requester has counted on the link so far
  std::uint8_t source;          // the link source the request is about
  std::uint8_t reason;          // SnapshotRequestReason
  std::array<std::uint8_t, 6> reserved;
  friend constexpr bool operator==(const SnapshotRequest&, const SnapshotRequest&) = default;
};
TORQ_TLV(SnapshotRequest, 24);

// A receiver of a lossy link (udp://) asks the link's source to send frames again: a hole in the
// source's sequence that its reorder buffer holds open. The source resends what its history still
// holds, byte for byte (same sequence, same checksum); what it no longer holds stays a hole, and
// the receiver falls back to a SnapshotRequest once the hole times out.
struct ResendRequest {
  static constexpr TlvType kType = TlvType::ResendRequest;
  std::uint64_t timestamp_ns;   // requester's clock
  std::uint64_t from_sequence;  // first missing sequence
  std::uint32_t count;          // missing sequences from from_sequence (the source caps it)
  std::uint8_t source;          // the link source the request is about
  std::array<std::uint8_t, 3> reserved;
  friend constexpr bool operator==(const ResendRequest&, const ResendRequest&) = default;
};
TORQ_TLV(ResendRequest, 24);

enum class PoolKind : std::uint8_t { V2 = 1, V3 = 2 };

struct PoolStateSnapshot {
  static constexpr TlvType kType = TlvType::PoolStateSnapshot;
  std::uint64_t pool;  // InstrumentId raw
  std::uint64_t block_number;
  std::uint64_t state_version;
  std::uint32_t fee_ppm;
  std::int32_t tick;          // V3
  std::int32_t tick_spacing;  // V3
  std::uint8_t kind;          // PoolKind
  std::array<std::uint8_t, 3> reserved;
  U256 reserve0;        // V2
  U256 reserve1;        // V2
  U256 sqrt_price_x96;  // V3
  Uint128Le liquidity;  // V3
  friend constexpr bool operator==(const PoolStateSnapshot&, const PoolStateSnapshot&) = default;
};
TORQ_TLV(PoolStateSnapshot, 152);

// Variable length: this head, then `count` V3TickEntry elements.
struct V3TicksSnapshotHead {
  static constexpr TlvType kType = TlvType::V3TicksSnapshot;
  std::uint64_t pool;  // InstrumentId raw
  std::uint64_t block_number;
  std::uint32_t count;
  std::uint32_t reserved;
  friend constexpr bool operator==(const V3TicksSnapshotHead&, const V3TicksSnapshotHead&) = default;
};
TORQ_TLV(V3TicksSnapshotHead, 24);
// One initialized tick as the pool's ticks(int24) getter reports it. liquidity_gross is needed
// to apply later Burns exactly (a tick is uninitialized only when its gross reaches zero).
struct V3TickEntry {
  std::int32_t tick;
  std::uint32_t reserved;
  Int128Le liquidity_net;
  Uint128Le liquidity_gross;
  friend constexpr bool operator==(const V3TickEntry&, const V3TickEntry&) = default;
};
TORQ_TLV(V3TickEntry, 40);

// Variable length: this head, then `message_length` bytes of UTF-8 text (no terminator).
struct ErrorHead {
  static constexpr TlvType kType = TlvType::Error;
  std::uint32_t code;
  std::uint16_t component;
  std::uint16_t message_length;
  std::uint64_t context;  // e.g. the sequence or block the error refers to
  friend constexpr bool operator==(const ErrorHead&, const ErrorHead&) = default;
};
TORQ_TLV(ErrorHead, 16);
inline constexpr std::size_t kMaxErrorMessage = 1024;

#undef TORQ_TLV

// Allowed value lengths of a type: min + k*stride for k >= 0, up to max. stride 0 = fixed size.
// min == 0 means the type number is not defined (unknown type).
struct TlvSizeRule {
  std::uint16_t min;
  std::uint16_t max;
  std::uint16_t stride;
};

namespace detail {
[[nodiscard]] constexpr TlvSizeRule tlv_size_rule_switch(std::uint8_t type) noexcept {
  switch (static_cast<TlvType>(type)) {
    case TlvType::V2Sync: return {sizeof(V2Sync), sizeof(V2Sync), 0};
    case TlvType::V2Swap: return {sizeof(V2Swap), sizeof(V2Swap), 0};
    case TlvType::V2Mint: return {sizeof(V2Mint), sizeof(V2Mint), 0};
    case TlvType::V2Burn: return {sizeof(V2Burn), sizeof(V2Burn), 0};
    case TlvType::V3Swap: return {sizeof(V3Swap), sizeof(V3Swap), 0};
    case TlvType::V3Mint: return {sizeof(V3Mint), sizeof(V3Mint), 0};
    case TlvType::V3Burn: return {sizeof(V3Burn), sizeof(V3Burn), 0};
    case TlvType::V3Initialize: return {sizeof(V3Initialize), sizeof(V3Initialize), 0};
    case TlvType::BlockHeader: return {sizeof(BlockHeader), sizeof(BlockHeader), 0};
    case TlvType::ReorgNotice: return {sizeof(ReorgNotice), sizeof(ReorgNotice), 0};
    case TlvType::ArbitrageSignal: return {sizeof(ArbitrageSignal), sizeof(ArbitrageSignal), 0};
    case TlvType::OrderRequest: return {sizeof(OrderRequest), sizeof(OrderRequest), 0};
    case TlvType::ExecutionReport: return {sizeof(ExecutionReport), sizeof(ExecutionReport), 0};
    case TlvType::Heartbeat: return {sizeof(Heartbeat), sizeof(Heartbeat), 0};
    case TlvType::PoolStateSnapshot: return {sizeof(PoolStateSnapshot), sizeof(PoolStateSnapshot), 0};
    case TlvType::V3TicksSnapshot:
      return {sizeof(V3TicksSnapshotHead),
              static_cast<std::uint16_t>(sizeof(V3TicksSnapshotHead) +
                                         (kMaxExtendedTlvValue - sizeof(V3TicksSnapshotHead)) /
                                             sizeof(V3TickEntry) * sizeof(V3TickEntry)),
              sizeof(V3TickEntry)};
    case TlvType::Error: return {sizeof(ErrorHead), sizeof(ErrorHead) + kMaxErrorMessage, 1};
    case TlvType::SnapshotRequest: return {sizeof(SnapshotRequest), sizeof(SnapshotRequest), 0};
    case TlvType::ResendRequest: return {sizeof(ResendRequest), sizeof(ResendRequest), 0};
  }
  return {0, 0, 0};
}

inline constexpr auto kTlvSizeRules = [] {
  std::array<TlvSizeRule, 256> t{};
  for (std::size_t i = 0; i < t.size(); ++i) t[i] = tlv_size_rule_switch(static_cast<std::uint8_t>(i));
  return t;
}();
// is_valid_length relies on it: a fixed-size type (stride 0) has min == max.
static_assert([] {
  for (const auto& r : kTlvSizeRules) {
    if (r.stride == 0 && r.min != r.max) return false;
  }
  return true;
}());
}  // namespace detail

// The size rule of a type number: one table load (the reader calls this per record).
[[nodiscard]] constexpr TlvSizeRule tlv_size_rule(std::uint8_t type) noexcept { return detail::kTlvSizeRules[type]; }

[[nodiscard]] constexpr bool is_known_type(std::uint8_t type) noexcept { return tlv_size_rule(type).min != 0; }

// One table load and a range check; no division except for a stride other than 0 (fixed size,
// where min == max makes the range check exact) or 1 (any length), and the one such stride in the
// registry (V3TickEntry) divides by a constant.
[[nodiscard]] constexpr bool is_valid_length(std::uint8_t type, std::size_t len) noexcept {
  const TlvSizeRule r = tlv_size_rule(type);
  if (r.min == 0 || len < r.min || len > r.max) return false;
  if (r.stride <= 1) return true;
  if (r.stride == sizeof(V3TickEntry)) return (len - r.min) % sizeof(V3TickEntry) == 0;
  return (len - r.min) % r.stride == 0;
}

[[nodiscard]] const char* tlv_type_name(std::uint8_t type) noexcept;

}  // namespace torq::protocol
