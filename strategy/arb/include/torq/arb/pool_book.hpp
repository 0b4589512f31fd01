// torq/arb/pool_book.hpp — the pool book: exact state of thousands of V2/V3 pools, flat arrays.
//
// Owns: PoolSpec (start-up description of one pool), PoolMeta (immutable per-pool facts),
// PoolState (the mutable state in one 64-byte cache line: V2 reserves or V3 sqrtPriceX96,
// in-range liquidity, tick; flags; a per-pool version counter), the V3 initialized ticks of every
// pool (one preallocated arena, a sorted fixed-capacity slice per pool, liquidityNet/Gross kept by
// Mint/Burn), and a bounded undo journal that makes ReorgNotice unwinds exact.
// Pools and tokens are dense indices (InstrumentId::index()), so every lookup is an array index.
// Events are applied in stream order; an event at or before the pool's last applied
// (block, tx, log) position is a duplicate and ignored. Every change first journals the prior
// pool state (and, for Mint/Burn, the prior two tick entries), so `unwind_to(ancestor)` restores
// the exact state from before every event of the removed blocks (versions keep increasing: the
// state is restored, the version is a new one). Events of different pools may arrive out of block
// order: the unwind undoes every entry above the ancestor and keeps the others. A snapshot is a new
// base for its pool: it raises the journal floor to its block and to the pool's last applied
// block, so no older change of that pool is ever undone on top of it. Values a real pool cannot
// hold (V2 reserves >= 2^112; V3 sqrtPriceX96 outside [MIN_SQRT_RATIO, MAX_SQRT_RATIO), tick
// outside [MIN_TICK, MAX_TICK]) are refused and quarantine the pool. A V3 pool whose tick slice is
// full is quarantined (counted, excluded from the search) instead of allocating. A quarantine is
// not journaled and an unwind never lifts it: only a snapshot does.
// Thread-safety: one writer thread (the strategy loop); no internal locking. Allocation: only the
// constructor (start-up; may throw); every apply/unwind/query call is noexcept and allocation-free.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <type_traits>
#include <vector>

#include "torq/num/uint256.hpp"
#include "torq/protocol/instrument_id.hpp"
#include "torq/protocol/tlv_types.hpp"
#include "torq/strategy/amm_v2.hpp"
#include "torq/strategy/v3_pool_sim.hpp"

namespace torq::arb {

using num::I256;
using num::i128;
using num::U256;
using num::u128;
using strategy::V3Tick;

enum class PoolType : std::uint8_t { None = 0, V2 = 1, V3 = 2 };

// Start-up description of one pool. Pool and token ids are dense per registry (index()).
struct PoolSpec {
  protocol::InstrumentId id;
  protocol::InstrumentId token0;
  protocol::InstrumentId token1;
  PoolType type = PoolType::None;
  std::uint32_t fee_ppm = 3000;   // V3 fee pips; V2: fee in millionths (3000 -> 997/1000)
  std::int32_t tick_spacing = 0;  // V3 only
};

// Builds specs for every pool of a registry (V2 fee from fee_ppm, reduced fraction). Start-up.
[[nodiscard]] std::vector<PoolSpec> pool_specs_from_registry(const protocol::InstrumentRegistry& reg);

// Immutable facts of one pool (read by the search next to PoolState).
struct PoolMeta {
  std::uint64_t id_raw;
  std::uint32_t token0;  // dense token index
  std::uint32_t token1;
  strategy::V2Fee v2_fee;
  std::uint32_t fee_pips;
  std::int32_t tick_spacing;
  std::uint32_t tick_base;      // first slot of this pool in the tick arena
  std::uint32_t tick_capacity;  // slots reserved (0 for V2)
  PoolType type;
  std::uint8_t reserved[7];
};
static_assert(sizeof(PoolMeta) == 48 && std::is_trivially_copyable_v<PoolMeta>);

namespace pool_flags {
inline constexpr std::uint32_t kHasState = 1;     // reserves / slot0 known (snapshot or event)
inline constexpr std::uint32_t kQuarantined = 2;  // state known to be incomplete: excluded from search
}  // namespace pool_flags

// One cache line per pool. A pool has one type, so V2 and V3 share the price words: a V3 pool keeps
// slot0.sqrtPriceX96 (< 2^160) in them, a V2 pool reserve0 in limbs 0-1 and reserve1 in limbs 2-3
// (each < 2^112: the book refuses larger reserves, as the pair contract does).
struct alignas(64) PoolState {
  U256 price_words;       // see above: read through the accessors
  u128 liquidity;         // V3 in-range liquidity
  std::int32_t tick;      // V3 slot0.tick
  std::uint32_t flags;    // pool_flags
  std::uint64_t version;  // +1 on every change (events, snapshots, unwinds)

  [[nodiscard]] bool has_state() const noexcept { return (flags & pool_flags::kHasState) != 0; }
  [[nodiscard]] bool quarantined() const noexcept { return (flags & pool_flags::kQuarantined) != 0; }
  // V2 reserves (as U256, for the exact math) and V3 sqrtPriceX96.
  [[nodiscard]] U256 reserve0() const noexcept { return U256::from_limbs(price_words.limb[0], price_words.limb[1], 0, 0); }
  [[nodiscard]] U256 reserve1() const noexcept { return U256::from_limbs(price_words.limb[2], price_words.limb[3], 0, 0); }
  [[nodiscard]] const U256& sqrt_price_x96() const noexcept { return price_words; }
  // Precondition: both below 2^128 (the book admits only reserves below 2^112).
  void set_reserves(const U256& r0, const U256& r1) noexcept {
    price_words = U256::from_limbs(r0.limb[0], r0.limb[1], r1.limb[0], r1.limb[1]);
  }
  void set_sqrt_price_x96(const U256& p) noexcept { price_words = p; }
  // Equality of everything that prices a swap (not the version).
  [[nodiscard]] bool same_market(const PoolState& o) const noexcept {
    return price_words == o.price_words && liquidity == o.liquidity && tick == o.tick && flags == o.flags;
  }
};
static_assert(sizeof(PoolState) == 64 && std::is_trivially_copyable_v<PoolState>);
static_assert(offsetof(PoolState, liquidity) == 32 && offsetof(PoolState, version) == 56);

// Where the last applied event of a pool sits in the chain.
struct EventPos {
  std::uint64_t block;
  std::uint32_t tx;
  std::uint32_t log;
  [[nodiscard]] constexpr bool before_or_at(const EventPos& o) const noexcept {
    if (block != o.block) return block < o.block;
    if (tx != o.tx) return tx < o.tx;
    return log <= o.log;
  }
  friend constexpr bool operator==(const EventPos&, const EventPos&) = default;
};
static_assert(sizeof(EventPos) == 16);

enum class ApplyResult : std::uint8_t {
  applied = 0,
  duplicate,      // at or before the pool's last applied event position: ignored
  unknown_pool,   // id not in the book
  wrong_type,     // a V2 event for a V3 pool or the other way round
  quarantined,    // the pool is quarantined: ignored
  tick_overflow,  // the pool's tick slice is full: pool quarantined
  inconsistent,   // the event contradicts the book (burn of absent liquidity, bad ticks) or carries a
                  // value no pool can hold (BookStats::out_of_range): quarantined
  ignored,        // valid but changes nothing the book keeps (V2 Swap/Mint/Burn: Sync follows)
};

struct BookConfig {
  std::uint32_t v3_tick_capacity = 256;    // initialized ticks per V3 pool (preallocated)
  std::uint32_t journal_capacity = 1 << 15;  // undo entries kept (power of two; 256 B each)
};

struct BookStats {
  std::uint64_t applied = 0;
  std::uint64_t duplicates = 0;
  std::uint64_t unknown_pool = 0;
  std::uint64_t wrong_type = 0;
  std::uint64_t quarantined_events = 0;
  std::uint64_t tick_overflows = 0;
  std::uint64_t inconsistent = 0;
  std::uint64_t out_of_range = 0;  // of inconsistent: reserves / sqrtPrice / tick outside their ranges
  std::uint64_t unwound_entries = 0;
  std::uint64_t reorgs = 0;
  std::uint64_t reorgs_too_deep = 0;
  std::uint64_t journal_overwritten = 0;
  std::uint64_t unwind_tick_overflows = 0;  // an unwind found no free tick slot: pool quarantined
  std::uint64_t abandoned_pools = 0;        // quarantined by abandon_above (a too-deep reorg)
};

enum class UnwindResult : std::uint8_t {
  ok = 0,
  too_deep,  // the journal no longer holds every change above the ancestor: re-snapshot needed
};

class PoolBook {
 public:
  // Start-up: `specs[i]` must have id.index() == i (dense). Throws std::invalid_argument otherwise.
  PoolBook(std::span<const PoolSpec> specs, const BookConfig& cfg);

  [[nodiscard]] std::size_t pool_count() const noexcept { return lines_.size(); }
  [[nodiscard]] std::size_t token_count() const noexcept { return token_count_; }
  // InstrumentId raw of a dense token index (0 for an index no pool uses).
  [[nodiscard]] std::uint64_t token_id(std::uint32_t token) const noexcept {
    return token < token_raw_.size() ? token_raw_[token] : 0;
  }
  [[nodiscard]] const PoolMeta& meta(std::uint32_t pool) const noexcept { return lines_[pool].meta; }
  [[nodiscard]] const PoolState& state(std::uint32_t pool) const noexcept { return state_[pool]; }
  [[nodiscard]] std::span<const V3Tick> ticks(std::uint32_t pool) const noexcept {
    return {ticks_.get() + lines_[pool].meta.tick_base, tick_count_[pool]};
  }
  // V3: sqrt prices of the lowest and highest initialized tick ([0], [1]; zero when none), kept
  // current on every tick change so that a simulation's price limit costs no TickMath call.
  [[nodiscard]] const U256* edge_sqrt_prices(std::uint32_t pool) const noexcept { return edge_[pool].price; }
  [[nodiscard]] strategy::V3PoolState v3_state(std::uint32_t pool) const noexcept {
    const PoolState& s = state_[pool];
    const PoolMeta& m = lines_[pool].meta;
    return strategy::V3PoolState{s.sqrt_price_x96(), s.liquidity, s.tick, m.tick_spacing, m.fee_pips, 0};
  }
  // Dense pool index of an InstrumentId raw value, or nullopt if not in the book.
  [[nodiscard]] std::optional<std::uint32_t> pool_index(std::uint64_t id_raw) const noexcept {
    const protocol::InstrumentId id(id_raw);
    const std::uint64_t i = id.index();
    if (id.kind() != protocol::InstrumentKind::Pool || i >= lines_.size() || lines_[i].meta.id_raw != id_raw) return std::nullopt;
    return static_cast<std::uint32_t>(i);
  }
  [[nodiscard]] const BookStats& stats() const noexcept { return stats_; }
  [[nodiscard]] std::uint64_t journal_floor_block() const noexcept { return journal_floor_; }
  // Cache hints (no effect on results): the lines an event on `pool` and its search read first.
  void prefetch(std::uint32_t pool) const noexcept {
    if (pool >= lines_.size()) return;
    __builtin_prefetch(&state_[pool], 1);
    __builtin_prefetch(&lines_[pool], 1);  // meta and last applied position
  }
  // Cache hints (no effect on results): what a search reads of a pool that did not change (its
  // state, meta and V3 edge prices) and, for a V3 pool, up to max_tick_lines lines of its
  // initialized ticks (the step walk's binary searches).
  void prefetch_for_search(std::uint32_t pool, std::size_t max_tick_lines) const noexcept {
    if (pool >= lines_.size()) return;
    __builtin_prefetch(&state_[pool]);
    __builtin_prefetch(&lines_[pool].meta);
    prefetch_ticks(pool, max_tick_lines);
  }
  // A V3 pool's edge prices and up to max_lines lines of its initialized ticks (nothing for V2).
  void prefetch_ticks(std::uint32_t pool, std::size_t max_lines) const noexcept {
    if (pool >= lines_.size() || lines_[pool].meta.type != PoolType::V3) return;
    __builtin_prefetch(edge_[pool].price);
    const char* b = reinterpret_cast<const char*>(ticks_.get() + lines_[pool].meta.tick_base);
    const std::size_t bytes = std::size_t{tick_count_[pool]} * sizeof(V3Tick);
    for (std::size_t off = 0; off < bytes && off < max_lines * 64; off += 64) __builtin_prefetch(b + off);
  }

  // Market data (the pool index comes from ev.ctx.pool; `out_pool` receives it when known).
  [[nodiscard]] ApplyResult apply(const protocol::V2Sync& ev, std::uint32_t& out_pool) noexcept;
  [[nodiscard]] ApplyResult apply(const protocol::V3Swap& ev, std::uint32_t& out_pool) noexcept;
  [[nodiscard]] ApplyResult apply(const protocol::V3Mint& ev, std::uint32_t& out_pool) noexcept;
  [[nodiscard]] ApplyResult apply(const protocol::V3Burn& ev, std::uint32_t& out_pool) noexcept;
  [[nodiscard]] ApplyResult apply(const protocol::V3Initialize& ev, std::uint32_t& out_pool) noexcept;
  // Snapshots (not journaled: a snapshot is a new base; changes before it can no longer unwind).
  [[nodiscard]] ApplyResult load(const protocol::PoolStateSnapshot& snap, std::uint32_t& out_pool) noexcept;
  // Replaces the pool's initialized ticks with the snapshot's (tick, liquidityNet,
  // liquidityGross), so later Burns apply exactly: a tick is removed only when its gross reaches
  // 0. An entry with gross 0 or |net| > gross is inconsistent (the pool is quarantined).
  // A snapshot split over several V3TicksSnapshot records (EventPublisher splits a long tick list,
  // and a udp:// link limits frames to one MTU) arrives as chunks of the same block in ascending
  // tick order: a chunk whose block equals the loaded ticks' block and whose first tick is above
  // the last loaded one is appended; any other chunk starts a new tick set.
  [[nodiscard]] ApplyResult load_ticks(const protocol::V3TicksSnapshotHead& head,
                                       std::span<const std::byte> entries, std::uint32_t& out_pool) noexcept;

  // Reverts every journaled change from blocks > ancestor, newest first, wherever it sits in the
  // journal (entries of blocks <= ancestor stay, in order). `touched(pool)` is called for each
  // reverted pool (may repeat). too_deep when the journal lost needed entries (the book is then
  // left unchanged: see abandon_above).
  template <class Touched>
  [[nodiscard]] UnwindResult unwind_to(std::uint64_t ancestor, Touched&& touched) noexcept;
  // After a too_deep unwind: quarantines every pool whose state or ticks came from a block above
  // `ancestor` (it may hold orphaned state; a snapshot clears it), moves its last applied position
  // back to the ancestor (so the new branch's events are not duplicates once a snapshot clears the
  // quarantine), and drops the whole journal. `touched(pool)` is called for each such pool.
  // O(pools): reorgs that deep are rare.
  template <class Touched>
  void abandon_above(std::uint64_t ancestor, Touched&& touched) noexcept;
  // Drops journal entries of blocks <= final_block (they can no longer be reorged).
  void finalize(std::uint64_t final_block) noexcept;
  [[nodiscard]] std::size_t journal_size() const noexcept { return static_cast<std::size_t>(j_head_ - j_tail_); }

  void quarantine(std::uint32_t pool) noexcept;
  void clear_quarantine(std::uint32_t pool) noexcept;

 private:
  struct TickSave {
    V3Tick tick;  // prior contents (tick field always valid)
    std::uint32_t existed;
    std::uint32_t reserved;
  };
  enum class JournalKind : std::uint8_t { state = 1, position = 2 };
  struct alignas(64) JournalEntry {
    std::uint64_t block;
    std::uint32_t pool;
    JournalKind kind;
    std::uint8_t reserved[3];
    EventPos prev_pos;
    std::uint64_t max_block;  // max block of this entry and every older one (blocks are not ordered)
    PoolState prev;
    TickSave ticks[2];  // position: lower, upper
  };
  static_assert(sizeof(JournalEntry) == 256);

  template <class Ev>
  [[nodiscard]] ApplyResult begin_event(const Ev& ev, PoolType want, std::uint32_t& out_pool) noexcept;
  JournalEntry& journal_push(std::uint64_t block, std::uint32_t pool, JournalKind kind) noexcept;
  // An event that sets a pool's price state (V2Sync, V3Swap, V3Initialize): begin_event, refuse it
  // unless `valid` (its values are in range), journal the state, write(state), mark it set, commit.
  template <class Ev, class Write>
  [[nodiscard]] ApplyResult apply_state(const Ev& ev, PoolType want, bool valid, std::uint32_t& out_pool,
                                        Write&& write) noexcept;
  // A V3Mint (burn false) or V3Burn (burn true): begin_event, check the amount, position_delta.
  template <class Ev>
  [[nodiscard]] ApplyResult apply_position(const Ev& ev, bool burn, std::uint32_t& out_pool) noexcept;
  [[nodiscard]] ApplyResult position_delta(std::uint32_t pool, const protocol::EventContext& ctx, std::int32_t lower,
                                           std::int32_t upper, i128 delta) noexcept;
  [[nodiscard]] std::size_t find_tick(std::uint32_t pool, std::int32_t t) const noexcept;
  // False (nothing written) when the tick must be inserted and the pool's slice is full.
  [[nodiscard]] bool restore_tick(std::uint32_t pool, const TickSave& s) noexcept;
  // A snapshot of `pool` stamped `block` replaces its state: no journaled change of the pool from
  // before it may be undone on top of it, so the floor rises to the snapshot's block and to the
  // pool's last applied block (a snapshot stamped older than the journal makes deeper reorgs
  // too_deep instead of unwinding through it).
  void rebase(std::uint32_t pool, std::uint64_t block) noexcept {
    journal_floor_ = std::max({journal_floor_, block, lines_[pool].last_pos.block});
  }
  // Refuses a value outside its range: counts it (inconsistent, out_of_range), quarantines the pool.
  ApplyResult out_of_range(std::uint32_t pool) noexcept;
  void commit_event(std::uint32_t pool, const protocol::EventContext& ctx) noexcept;
  void undo(const JournalEntry& e) noexcept;
  void refresh_edges(std::uint32_t pool) noexcept;

  // A pool's immutable facts and its last applied event position, in one 64-byte line: an event
  // reads both, a search reads the facts of each pool of the cycle.
  struct alignas(64) PoolLine {
    PoolMeta meta;
    EventPos last_pos;
  };
  static_assert(sizeof(PoolLine) == 64);
  std::vector<PoolLine> lines_;
  std::unique_ptr<PoolState[]> state_;
  std::vector<std::uint64_t> token_raw_;
  std::vector<std::uint32_t> tick_count_;
  std::vector<std::uint64_t> ticks_block_;  // block of the snapshot the loaded ticks came from
  std::unique_ptr<V3Tick[]> ticks_;
  struct alignas(64) EdgePrices {
    U256 price[2];  // see edge_sqrt_prices
  };
  std::unique_ptr<EdgePrices[]> edge_;  // per pool, one line each
  std::unique_ptr<JournalEntry[]> journal_;
  std::uint64_t j_mask_ = 0;
  std::uint64_t j_head_ = 0;  // next write
  std::uint64_t j_tail_ = 0;  // oldest kept
  std::uint64_t journal_floor_ = 0;  // blocks <= this may have lost entries
  std::size_t token_count_ = 0;
  BookStats stats_{};
};

template <class Touched>
UnwindResult PoolBook::unwind_to(std::uint64_t ancestor, Touched&& touched) noexcept {
  ++stats_.reorgs;
  if (ancestor < journal_floor_) {  // an entry above the ancestor was overwritten or finalized
    ++stats_.reorgs_too_deep;
    return UnwindResult::too_deep;
  }
  // The oldest entry that may lie above the ancestor: every older one has max_block <= ancestor.
  std::uint64_t lo = j_head_;
  while (lo > j_tail_ && journal_[(lo - 1) & j_mask_].max_block > ancestor) --lo;
  if (lo == j_head_) return UnwindResult::ok;
  // Newest first, every entry above the ancestor. An entry of a pool never sits below a kept entry
  // of the same pool: a pool's events apply in block order, and a snapshot that moves a pool back
  // raised the floor over its older entries (rebase).
  for (std::uint64_t i = j_head_; i-- > lo;) {
    const JournalEntry& e = journal_[i & j_mask_];
    if (e.block <= ancestor) continue;
    undo(e);
    touched(e.pool);
    ++stats_.unwound_entries;
  }
  // Keep the others (other pools' entries at or below the ancestor) in stream order.
  std::uint64_t run = lo > j_tail_ ? journal_[(lo - 1) & j_mask_].max_block : 0;
  std::uint64_t w = lo;
  for (std::uint64_t i = lo; i < j_head_; ++i) {
    const JournalEntry& e = journal_[i & j_mask_];
    if (e.block > ancestor) continue;
    run = std::max(run, e.block);
    if (w != i) journal_[w & j_mask_] = e;
    journal_[w & j_mask_].max_block = run;
    ++w;
  }
  j_head_ = w;
  return UnwindResult::ok;
}

template <class Touched>
void PoolBook::abandon_above(std::uint64_t ancestor, Touched&& touched) noexcept {
  for (std::uint32_t p = 0; p < lines_.size(); ++p) {
    if (lines_[p].last_pos.block <= ancestor && ticks_block_[p] <= ancestor) continue;
    if (!state_[p].quarantined()) ++stats_.abandoned_pools;
    quarantine(p);
    if (lines_[p].last_pos.block > ancestor) lines_[p].last_pos = EventPos{ancestor, UINT32_MAX, UINT32_MAX};
    ticks_block_[p] = 0;  // a tick snapshot of the new branch never continues the old one's
    touched(p);
  }
  j_tail_ = j_head_;
  journal_floor_ = std::max(journal_floor_, ancestor);
}

}  // namespace torq::arb
