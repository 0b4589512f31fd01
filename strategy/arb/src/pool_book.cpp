// PoolBook: apply market-data events, snapshots and reorg unwinds to the flat pool arrays.
#include "torq/arb/pool_book.hpp"
#include "torq/strategy/tick_math.hpp"

#include <algorithm>
#include <cstring>
#include <numeric>
#include <stdexcept>
#include <string>

namespace torq::arb {

// The control plane validates V3 ticks against protocol's copy of TickMath's bounds.
static_assert(protocol::kV3MaxTick == strategy::kMaxTick && -protocol::kV3MaxTick == strategy::kMinTick);

namespace {
constexpr u128 kI128Max = (static_cast<u128>(1) << 127) - 1;
// UniswapV2Pair keeps reserves in uint112 (0 is legal: a pair whose liquidity was all burned).
[[nodiscard]] constexpr bool v2_reserves_ok(const U256& r0, const U256& r1) noexcept {  // one branch
  return ((r0.limb[1] | r1.limb[1]) >> 48 | r0.limb[2] | r0.limb[3] | r1.limb[2] | r1.limb[3]) == 0;
}
// slot0 of a real V3 pool: MIN_SQRT_RATIO <= sqrtPriceX96 < MAX_SQRT_RATIO, MIN_TICK <= tick <=
// MAX_TICK. (tick == getTickAtSqrtRatio(sqrtPrice) is not checked: a TickMath call per event;
// the search prices from sqrtPriceX96 and walks ticks from it, docs/strategy.md.)
[[nodiscard]] constexpr bool v3_slot0_ok(const U256& sqrt_price, std::int32_t tick) noexcept {
  return !(sqrt_price < strategy::kMinSqrtRatio) && sqrt_price < strategy::kMaxSqrtRatio && tick >= strategy::kMinTick &&
         tick <= strategy::kMaxTick;
}
constexpr EventPos pos_of(const protocol::EventContext& c) noexcept { return EventPos{c.block_number, c.tx_index, c.log_index}; }
[[nodiscard]] u128 abs_i128(i128 v) noexcept {
  return v < 0 ? static_cast<u128>(0) - static_cast<u128>(v) : static_cast<u128>(v);
}
}  // namespace

std::vector<PoolSpec> pool_specs_from_registry(const protocol::InstrumentRegistry& reg) {
  std::vector<PoolSpec> out;
  out.reserve(reg.pool_count());
  for (std::size_t i = 0; i < reg.pool_count(); ++i) {
    const protocol::InstrumentId id = reg.pool_id(i);
    const protocol::PoolInfo* p = reg.pool(id);
    if (p == nullptr) throw std::invalid_argument("registry pool " + std::to_string(i) + " missing");
    PoolSpec s;
    s.id = id;
    s.token0 = p->token0;
    s.token1 = p->token1;
    s.type = protocol::venue_protocol(p->venue) == protocol::PoolProtocol::UniswapV2 ? PoolType::V2 : PoolType::V3;
    s.fee_ppm = p->fee_ppm;
    s.tick_spacing = p->tick_spacing;
    out.push_back(s);
  }
  return out;
}

PoolBook::PoolBook(std::span<const PoolSpec> specs, const BookConfig& cfg) {
  if (cfg.journal_capacity == 0 || (cfg.journal_capacity & (cfg.journal_capacity - 1)) != 0)
    throw std::invalid_argument("BookConfig.journal_capacity must be a power of two");
  lines_.assign(specs.size(), PoolLine{});
  std::uint64_t tick_slots = 0;
  std::uint64_t max_token = 0;
  for (std::size_t i = 0; i < specs.size(); ++i) {
    const PoolSpec& s = specs[i];
    if (s.id.kind() != protocol::InstrumentKind::Pool || s.id.index() != i)
      throw std::invalid_argument("pool spec " + std::to_string(i) + ": id index must equal its position");
    if (s.token0.kind() != protocol::InstrumentKind::Token || s.token1.kind() != protocol::InstrumentKind::Token ||
        s.token0 == s.token1)
      throw std::invalid_argument("pool spec " + std::to_string(i) + ": bad tokens");
    if (s.fee_ppm >= 1'000'000) throw std::invalid_argument("pool spec " + std::to_string(i) + ": fee_ppm >= 1e6");
    PoolMeta m{};
    m.id_raw = s.id.raw();
    m.token0 = static_cast<std::uint32_t>(s.token0.index());
    m.token1 = static_cast<std::uint32_t>(s.token1.index());
    m.type = s.type;
    m.fee_pips = s.fee_ppm;
    max_token = std::max<std::uint64_t>(max_token, std::max(m.token0, m.token1));
    if (s.type == PoolType::V2) {
      const std::uint32_t num = 1'000'000 - s.fee_ppm;
      const std::uint32_t g = std::gcd(num, 1'000'000U);
      m.v2_fee = strategy::V2Fee{num / g, 1'000'000U / g};
    } else if (s.type == PoolType::V3) {
      if (s.tick_spacing <= 0) throw std::invalid_argument("pool spec " + std::to_string(i) + ": tick_spacing <= 0");
      m.tick_spacing = s.tick_spacing;
      m.tick_base = static_cast<std::uint32_t>(tick_slots);
      m.tick_capacity = cfg.v3_tick_capacity;
      tick_slots += cfg.v3_tick_capacity;
      if (tick_slots > UINT32_MAX) throw std::invalid_argument("tick arena too large");
    } else {
      throw std::invalid_argument("pool spec " + std::to_string(i) + ": type must be V2 or V3");
    }
    lines_[i].meta = m;
  }
  token_count_ = specs.empty() ? 0 : static_cast<std::size_t>(max_token) + 1;
  token_raw_.assign(token_count_, 0);
  for (const PoolSpec& s : specs) {
    for (const protocol::InstrumentId t : {s.token0, s.token1}) {
      std::uint64_t& slot = token_raw_[t.index()];
      if (slot != 0 && slot != t.raw()) throw std::invalid_argument("two token ids share a dense index");
      slot = t.raw();
    }
  }
  state_ = std::make_unique<PoolState[]>(specs.size());
  std::memset(static_cast<void*>(state_.get()), 0, sizeof(PoolState) * specs.size());
  tick_count_.assign(specs.size(), 0);
  ticks_block_.assign(specs.size(), 0);
  ticks_ = std::make_unique<V3Tick[]>(std::max<std::uint64_t>(tick_slots, 1));
  edge_ = std::make_unique<EdgePrices[]>(std::max<std::size_t>(specs.size(), 1));
  for (std::size_t i = 0; i < std::max<std::size_t>(specs.size(), 1); ++i) edge_[i].price[0] = edge_[i].price[1] = U256::zero();
  journal_ = std::make_unique<JournalEntry[]>(cfg.journal_capacity);
  std::memset(static_cast<void*>(journal_.get()), 0, sizeof(JournalEntry) * cfg.journal_capacity);  // prefault
  j_mask_ = cfg.journal_capacity - 1;
}

template <class Ev>
ApplyResult PoolBook::begin_event(const Ev& ev, PoolType want, std::uint32_t& out_pool) noexcept {
  const auto idx = pool_index(ev.ctx.pool);
  if (!idx) {
    ++stats_.unknown_pool;
    return ApplyResult::unknown_pool;
  }
  out_pool = *idx;
  if (lines_[*idx].meta.type != want) {
    ++stats_.wrong_type;
    return ApplyResult::wrong_type;
  }
  if (pos_of(ev.ctx).before_or_at(lines_[*idx].last_pos)) {
    ++stats_.duplicates;
    return ApplyResult::duplicate;
  }
  if (state_[*idx].quarantined()) {
    ++stats_.quarantined_events;
    return ApplyResult::quarantined;
  }
  return ApplyResult::applied;
}

PoolBook::JournalEntry& PoolBook::journal_push(std::uint64_t block, std::uint32_t pool, JournalKind kind) noexcept {
  if (j_head_ - j_tail_ > j_mask_) {  // full: the oldest entry is lost, its block can no longer unwind
    journal_floor_ = std::max(journal_floor_, journal_[j_tail_ & j_mask_].block);
    ++j_tail_;
    ++stats_.journal_overwritten;
  }
  JournalEntry& e = journal_[j_head_ & j_mask_];
  ++j_head_;
  e.block = block;
  e.pool = pool;
  e.kind = kind;
  e.prev_pos = lines_[pool].last_pos;
  e.max_block = j_head_ - 1 > j_tail_ ? std::max(block, journal_[(j_head_ - 2) & j_mask_].max_block) : block;
  e.prev = state_[pool];
  return e;
}

void PoolBook::commit_event(std::uint32_t pool, const protocol::EventContext& ctx) noexcept {
  lines_[pool].last_pos = pos_of(ctx);
  ++state_[pool].version;
  ++stats_.applied;
}

ApplyResult PoolBook::out_of_range(std::uint32_t pool) noexcept {
  ++stats_.inconsistent;
  ++stats_.out_of_range;
  quarantine(pool);
  return ApplyResult::inconsistent;
}

template <class Ev, class Write>
[[gnu::always_inline]] inline ApplyResult PoolBook::apply_state(const Ev& ev, PoolType want, bool valid,
                                                                std::uint32_t& out_pool, Write&& write) noexcept {
  const ApplyResult r = begin_event(ev, want, out_pool);
  if (r != ApplyResult::applied) return r;
  if (!valid) [[unlikely]] return out_of_range(out_pool);
  (void)journal_push(ev.ctx.block_number, out_pool, JournalKind::state);
  PoolState& s = state_[out_pool];
  write(s);
  s.flags |= pool_flags::kHasState;
  commit_event(out_pool, ev.ctx);
  return ApplyResult::applied;
}

template <class Ev>
[[gnu::always_inline]] inline ApplyResult PoolBook::apply_position(const Ev& ev, bool burn,
                                                                   std::uint32_t& out_pool) noexcept {
  const ApplyResult r = begin_event(ev, PoolType::V3, out_pool);
  if (r != ApplyResult::applied) return r;
  const u128 amount = ev.liquidity.value();
  if (amount > kI128Max) {
    ++stats_.inconsistent;
    quarantine(out_pool);
    return ApplyResult::inconsistent;
  }
  const i128 delta = static_cast<i128>(amount);
  return position_delta(out_pool, ev.ctx, ev.tick_lower, ev.tick_upper, burn ? -delta : delta);
}

ApplyResult PoolBook::apply(const protocol::V2Sync& ev, std::uint32_t& out_pool) noexcept {
  return apply_state(ev, PoolType::V2, v2_reserves_ok(ev.reserve0, ev.reserve1), out_pool, [&](PoolState& s) {
    s.set_reserves(ev.reserve0, ev.reserve1);
  });
}

ApplyResult PoolBook::apply(const protocol::V3Swap& ev, std::uint32_t& out_pool) noexcept {
  return apply_state(ev, PoolType::V3, v3_slot0_ok(ev.sqrt_price_x96, ev.tick), out_pool, [&](PoolState& s) {
    s.set_sqrt_price_x96(ev.sqrt_price_x96);
    s.liquidity = ev.liquidity.value();
    s.tick = ev.tick;
  });
}

ApplyResult PoolBook::apply(const protocol::V3Initialize& ev, std::uint32_t& out_pool) noexcept {
  return apply_state(ev, PoolType::V3, v3_slot0_ok(ev.sqrt_price_x96, ev.tick), out_pool, [&](PoolState& s) {
    s.set_sqrt_price_x96(ev.sqrt_price_x96);
    s.tick = ev.tick;
  });
}

ApplyResult PoolBook::apply(const protocol::V3Mint& ev, std::uint32_t& out_pool) noexcept {
  return apply_position(ev, false, out_pool);
}

ApplyResult PoolBook::apply(const protocol::V3Burn& ev, std::uint32_t& out_pool) noexcept {
  return apply_position(ev, true, out_pool);
}

std::size_t PoolBook::find_tick(std::uint32_t pool, std::int32_t t) const noexcept {
  const std::span<const V3Tick> ts = ticks(pool);
  const std::size_t i = strategy::detail::lower_bound_tick(ts, t);
  return (i < ts.size() && ts[i].tick == t) ? i : SIZE_MAX;
}

// Writes `s` as the tick's contents when s.existed, removes the tick otherwise (sorted order kept).
bool PoolBook::restore_tick(std::uint32_t pool, const TickSave& s) noexcept {
  V3Tick* base = ticks_.get() + lines_[pool].meta.tick_base;
  std::uint32_t& n = tick_count_[pool];
  const std::size_t i = strategy::detail::lower_bound_tick(std::span<const V3Tick>(base, n), s.tick.tick);
  const bool present = i < n && base[i].tick == s.tick.tick;
  if (s.existed != 0) {
    if (!present) {
      if (n >= lines_[pool].meta.tick_capacity) [[unlikely]] return false;  // never past the pool's slots
      for (std::size_t j = n; j > i; --j) base[j] = base[j - 1];
      ++n;
    }
    base[i] = s.tick;
  } else if (present) {
    for (std::size_t j = i; j + 1 < n; ++j) base[j] = base[j + 1];
    --n;
  }
  return true;
}

ApplyResult PoolBook::position_delta(std::uint32_t pool, const protocol::EventContext& ctx, std::int32_t lower,
                                     std::int32_t upper, i128 delta) noexcept {
  const PoolMeta& m = lines_[pool].meta;
  PoolState& s = state_[pool];
  auto fail = [&](ApplyResult r) {
    if (r == ApplyResult::tick_overflow) ++stats_.tick_overflows;
    else ++stats_.inconsistent;
    quarantine(pool);
    return r;
  };
  if (lower >= upper || lower < strategy::kMinTick || upper > strategy::kMaxTick || lower % m.tick_spacing != 0 ||
      upper % m.tick_spacing != 0)
    return fail(ApplyResult::inconsistent);
  if (delta == 0) {  // a Burn of 0 ("poke") changes nothing that prices swaps
    commit_event(pool, ctx);
    return ApplyResult::applied;
  }
  // Compute both new tick entries and the new in-range liquidity before changing anything.
  TickSave before[2]{};
  TickSave after[2]{};
  const std::int32_t which[2] = {lower, upper};
  std::uint32_t inserts = 0;
  for (int k = 0; k < 2; ++k) {
    const std::size_t i = find_tick(pool, which[k]);
    before[k].existed = i != SIZE_MAX ? 1U : 0U;
    before[k].tick = i != SIZE_MAX ? ticks_[m.tick_base + i] : V3Tick{0, 0, which[k], 0, 0};
    V3Tick t = before[k].tick;
    if (i == SIZE_MAX) {
      if (delta < 0) return fail(ApplyResult::inconsistent);  // burning liquidity that is not there
      ++inserts;
    }
    i128 net = 0;
    const bool ovf = k == 0 ? __builtin_add_overflow(t.liquidity_net, delta, &net)
                            : __builtin_sub_overflow(t.liquidity_net, delta, &net);
    if (ovf) return fail(ApplyResult::inconsistent);
    u128 gross = 0;  // exact (snapshots carry liquidityGross): a burn below zero is inconsistent
    if (!strategy::detail::add_delta(t.liquidity_gross, delta, gross)) return fail(ApplyResult::inconsistent);
    t.liquidity_net = net;
    t.liquidity_gross = gross;
    after[k].tick = t;
    after[k].existed = gross != 0 ? 1U : 0U;
  }
  if (tick_count_[pool] + inserts > m.tick_capacity) return fail(ApplyResult::tick_overflow);
  u128 liq = s.liquidity;
  const bool in_range = s.has_state() && s.tick >= lower && s.tick < upper;
  if (in_range && !strategy::detail::add_delta(s.liquidity, delta, liq)) return fail(ApplyResult::inconsistent);

  JournalEntry& e = journal_push(ctx.block_number, pool, JournalKind::position);
  e.ticks[0] = before[0];
  e.ticks[1] = before[1];
  (void)restore_tick(pool, after[0]);  // fits: checked above
  (void)restore_tick(pool, after[1]);
  refresh_edges(pool);
  s.liquidity = liq;
  commit_event(pool, ctx);
  return ApplyResult::applied;
}

void PoolBook::refresh_edges(std::uint32_t pool) noexcept {
  const std::span<const V3Tick> ts = ticks(pool);
  U256* e = edge_[pool].price;
  if (ts.empty()) {
    e[0] = U256::zero();
    e[1] = U256::zero();
    return;
  }
  // Ticks in the book are validated to [kMinTick, kMaxTick], so TickMath cannot fail here.
  e[0] = strategy::get_sqrt_ratio_at_tick(ts.front().tick).value_or(U256::zero());
  e[1] = strategy::get_sqrt_ratio_at_tick(ts.back().tick).value_or(U256::zero());
}

void PoolBook::undo(const JournalEntry& e) noexcept {
  // A quarantine is not journaled (a failed snapshot, an inconsistent event): it survives the
  // unwind, so a pool whose ticks were wiped never becomes usable with a partial tick set.
  std::uint32_t keep = state_[e.pool].flags & pool_flags::kQuarantined;
  if (e.kind == JournalKind::position) {
    // Both ticks fit whenever the journal matches the slice (rebase keeps it so); a full slice
    // means it does not: quarantine instead of writing past the pool's slots.
    if (!restore_tick(e.pool, e.ticks[1]) || !restore_tick(e.pool, e.ticks[0])) [[unlikely]] {
      ++stats_.unwind_tick_overflows;
      keep = pool_flags::kQuarantined;
    }
    refresh_edges(e.pool);
  }
  const std::uint64_t v = state_[e.pool].version + 1;
  state_[e.pool] = e.prev;
  state_[e.pool].flags |= keep;
  state_[e.pool].version = v;
  lines_[e.pool].last_pos = e.prev_pos;
}

void PoolBook::finalize(std::uint64_t final_block) noexcept {
  while (j_tail_ < j_head_ && journal_[j_tail_ & j_mask_].block <= final_block) ++j_tail_;
  journal_floor_ = std::max(journal_floor_, final_block);
}

void PoolBook::quarantine(std::uint32_t pool) noexcept {
  if (!state_[pool].quarantined()) {
    state_[pool].flags |= pool_flags::kQuarantined;
    ++state_[pool].version;
  }
}
void PoolBook::clear_quarantine(std::uint32_t pool) noexcept {
  if (state_[pool].quarantined()) {
    state_[pool].flags &= ~pool_flags::kQuarantined;
    ++state_[pool].version;
  }
}

ApplyResult PoolBook::load(const protocol::PoolStateSnapshot& snap, std::uint32_t& out_pool) noexcept {
  const auto idx = pool_index(snap.pool);
  if (!idx) {
    ++stats_.unknown_pool;
    return ApplyResult::unknown_pool;
  }
  out_pool = *idx;
  PoolMeta& m = lines_[*idx].meta;
  const PoolType kind = snap.kind == static_cast<std::uint8_t>(protocol::PoolKind::V2)   ? PoolType::V2
                        : snap.kind == static_cast<std::uint8_t>(protocol::PoolKind::V3) ? PoolType::V3
                                                                                         : PoolType::None;
  if (kind != m.type) {
    ++stats_.wrong_type;
    return ApplyResult::wrong_type;
  }
  PoolState& s = state_[*idx];
  if (kind == PoolType::V2) {
    if (!v2_reserves_ok(snap.reserve0, snap.reserve1)) return out_of_range(*idx);
    s.set_reserves(snap.reserve0, snap.reserve1);
    s.flags &= ~pool_flags::kQuarantined;  // a V2 snapshot is the whole state
  } else {
    if (snap.tick_spacing != m.tick_spacing || snap.fee_ppm >= 1'000'000) {
      ++stats_.inconsistent;
      return ApplyResult::inconsistent;
    }
    if (!v3_slot0_ok(snap.sqrt_price_x96, snap.tick)) return out_of_range(*idx);
    s.set_sqrt_price_x96(snap.sqrt_price_x96);
    s.liquidity = snap.liquidity.value();
    s.tick = snap.tick;
    m.fee_pips = snap.fee_ppm;  // dynamic-fee forks: the last known fee
  }
  s.flags |= pool_flags::kHasState;
  ++s.version;
  // Changes before the snapshot cannot be unwound through it (nor on top of it).
  rebase(*idx, snap.block_number);
  lines_[*idx].last_pos = EventPos{snap.block_number, UINT32_MAX, UINT32_MAX};
  ++stats_.applied;
  return ApplyResult::applied;
}

ApplyResult PoolBook::load_ticks(const protocol::V3TicksSnapshotHead& head, std::span<const std::byte> entries,
                                 std::uint32_t& out_pool) noexcept {
  const auto idx = pool_index(head.pool);
  if (!idx) {
    ++stats_.unknown_pool;
    return ApplyResult::unknown_pool;
  }
  out_pool = *idx;
  const PoolMeta& m = lines_[*idx].meta;
  if (m.type != PoolType::V3) {
    ++stats_.wrong_type;
    return ApplyResult::wrong_type;
  }
  if (entries.size() != std::size_t{head.count} * sizeof(protocol::V3TickEntry)) {
    ++stats_.inconsistent;
    return ApplyResult::inconsistent;
  }
  // A continuation chunk of the snapshot already being loaded (same block, ticks above ours).
  std::uint32_t first = 0;
  if (head.count > 0 && tick_count_[*idx] > 0 && ticks_block_[*idx] == head.block_number) {
    protocol::V3TickEntry te;
    std::memcpy(&te, entries.data(), sizeof te);
    if (te.tick > ticks_.get()[m.tick_base + tick_count_[*idx] - 1].tick) first = tick_count_[*idx];
  }
  // Whatever the outcome, the pool's ticks are replaced (or wiped, quarantined): no journaled change
  // from before this snapshot may be undone on top of them.
  rebase(*idx, head.block_number);
  if (std::size_t{first} + head.count > m.tick_capacity) {
    ++stats_.tick_overflows;
    tick_count_[*idx] = 0;
    refresh_edges(*idx);
    quarantine(*idx);
    return ApplyResult::tick_overflow;
  }
  V3Tick* base = ticks_.get() + m.tick_base + first;
  std::int64_t prev = first != 0 ? std::int64_t{base[-1].tick} : INT64_MIN;
  for (std::uint32_t i = 0; i < head.count; ++i) {
    protocol::V3TickEntry te;
    std::memcpy(&te, entries.data() + std::size_t{i} * sizeof te, sizeof te);
    if (te.tick <= prev || te.tick < strategy::kMinTick || te.tick > strategy::kMaxTick || te.tick % m.tick_spacing != 0) {
      ++stats_.inconsistent;
      tick_count_[*idx] = 0;
      refresh_edges(*idx);
      quarantine(*idx);
      return ApplyResult::inconsistent;
    }
    const i128 net = te.liquidity_net.value();
    const u128 gross = te.liquidity_gross.value();
    // An initialized tick has gross > 0, and |net| <= gross always holds in the pool.
    if (gross == 0 || abs_i128(net) > gross) {
      ++stats_.inconsistent;
      tick_count_[*idx] = 0;
      refresh_edges(*idx);
      quarantine(*idx);
      return ApplyResult::inconsistent;
    }
    prev = te.tick;
    base[i] = V3Tick{net, gross, te.tick, 0, 0};
  }
  tick_count_[*idx] = first + head.count;
  ticks_block_[*idx] = head.block_number;
  refresh_edges(*idx);
  PoolState& s = state_[*idx];
  s.flags &= ~pool_flags::kQuarantined;
  ++s.version;
  ++stats_.applied;
  return ApplyResult::applied;
}

}  // namespace torq::arb
