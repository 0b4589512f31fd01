// ArbEngine: frame dispatch, dirty-pool tracking, cycle evaluation and signal publication.
#include "torq/arb/engine.hpp"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <immintrin.h>

#include "torq/hw/affinity.hpp"
#include "torq/hw/tsc.hpp"

namespace torq::arb {

namespace {
using protocol::TlvType;
}

ArbEngine::ArbEngine(std::span<const PoolSpec> pools, EngineConfig cfg)
    : cfg_(std::move(cfg)),
      book_(pools, cfg_.book),
      cycles_(book_, cfg_.cycles),
      pricer_(book_, cfg_.pricing),
      gas_(cfg_.gas, pricer_) {
  hot_.assign(book_.pool_count(), PoolHot{});  // rate bounds 0 / 0, not usable, not pending
  v3_slot_.assign(book_.pool_count(), ~std::uint32_t{0});
  std::uint32_t n_v3 = 0;
  for (std::uint32_t p = 0; p < book_.pool_count(); ++p)
    if (book_.meta(p).type == PoolType::V3) v3_slot_[p] = n_v3++;
  v3_steps_ = std::make_unique<V3SegmentCache[]>(2 * std::size_t{n_v3} + 1);
  marks_.assign(cycles_.size(), CycleMark{~std::uint64_t{0}, 0, 0});
  dirty_.assign(book_.pool_count(), 0);
  work_.reserve(book_.pool_count());
  cache_hints_ = cfg_.cache_hints == CacheHints::on ||
                 (cfg_.cache_hints == CacheHints::automatic && book_.pool_count() >= kCacheHintMinPools);
  epoch_ = 1;
}

void ArbEngine::next_epoch() noexcept {
  if (++epoch_ == 0) {  // wrapped after 2^32 frames: clear the stamps once
    for (PoolHot& h : hot_) h.stamp = 0;
    for (CycleMark& m : marks_) m.stamp = 0;
    // Pending pools start their cycle lists over (since 1 > every cleared cycle stamp); this frame
    // is epoch 2.
    for (Pending& w : work_) {
      w.cursor = 0;
      w.since = 1;
    }
    epoch_ = 2;
  }
  dirty_count_ = 0;
}

void ArbEngine::mark_dirty(std::uint32_t pool) noexcept {
  if (hot_[pool].stamp == epoch_) return;
  hot_[pool].stamp = epoch_;
  dirty_[dirty_count_++] = pool;
}

void ArbEngine::refresh_rates(std::uint32_t pool) noexcept {
  const PoolState& s = book_.state(pool);
  const PoolMeta& m = book_.meta(pool);
  PoolHot& h = hot_[pool];
  h.set_rate(true, marginal_rate_bound(s, m, true));
  h.set_rate(false, marginal_rate_bound(s, m, false));
  // A V2 pair with an empty reserve (all liquidity burned) has no price: unusable.
  const bool empty_v2 = m.type == PoolType::V2 && (s.reserve0().is_zero() || s.reserve1().is_zero());
  h.usable = s.has_state() && !s.quarantined() && !empty_v2 ? 1 : 0;
}

void ArbEngine::apply_tlv(const protocol::TlvView& tlv) noexcept {
  ++stats_.tlvs;
  std::uint32_t pool = 0;
  ApplyResult r = ApplyResult::ignored;
  std::uint64_t ev_block = 0;
  // An event or snapshot whose block is implausibly far ahead is refused before the book sees it
  // (it would make every later event of the pool a duplicate and move block_ out of reach).
#define TORQ_ARB_APPLY(BLOCK, CALL)          \
  do {                                       \
    ev_block = (BLOCK);                      \
    if (!plausible_block(ev_block)) {       \
      ++stats_.rejected_events;              \
      return;                                \
    }                                        \
    r = (CALL);                              \
  } while (0)
  switch (static_cast<TlvType>(tlv.type)) {
    case TlvType::V2Sync:
      if (const auto ev = protocol::tlv_as<protocol::V2Sync>(tlv)) TORQ_ARB_APPLY(ev->ctx.block_number, book_.apply(*ev, pool));
      break;
    case TlvType::V3Swap:
      if (const auto ev = protocol::tlv_as<protocol::V3Swap>(tlv)) TORQ_ARB_APPLY(ev->ctx.block_number, book_.apply(*ev, pool));
      break;
    case TlvType::V3Mint:
      if (const auto ev = protocol::tlv_as<protocol::V3Mint>(tlv)) TORQ_ARB_APPLY(ev->ctx.block_number, book_.apply(*ev, pool));
      break;
    case TlvType::V3Burn:
      if (const auto ev = protocol::tlv_as<protocol::V3Burn>(tlv)) TORQ_ARB_APPLY(ev->ctx.block_number, book_.apply(*ev, pool));
      break;
    case TlvType::V3Initialize:
      if (const auto ev = protocol::tlv_as<protocol::V3Initialize>(tlv)) TORQ_ARB_APPLY(ev->ctx.block_number, book_.apply(*ev, pool));
      break;
    case TlvType::PoolStateSnapshot:
      if (const auto ev = protocol::tlv_as<protocol::PoolStateSnapshot>(tlv)) TORQ_ARB_APPLY(ev->block_number, book_.load(*ev, pool));
      break;
    case TlvType::V3TicksSnapshot:
      if (const auto head = protocol::tlv_head_as<protocol::V3TicksSnapshotHead>(tlv))
        TORQ_ARB_APPLY(head->block_number,
                       book_.load_ticks(*head, tlv.value.subspan(sizeof(protocol::V3TicksSnapshotHead)), pool));
      break;
    case TlvType::BlockHeader:
      if (const auto h = protocol::tlv_as<protocol::BlockHeader>(tlv)) {
        ++stats_.block_headers;
        // Never moves block_ nor finalizes on an implausible number. The first header sets the base:
        // it replaces a base that events set implausibly far above it.
        if (!plausible_block(h->number)) return;
        if (!have_header_ && have_base_ && cfg_.max_block_lead != 0 && block_ > h->number &&
            block_ - h->number > cfg_.max_block_lead)
          block_ = h->number;
        block_ = std::max(block_, h->number);
        have_header_ = have_base_ = true;
        gas_.set_base_fee(h->base_fee_per_gas);
        if (cfg_.finality_depth != 0 && h->number > cfg_.finality_depth) book_.finalize(h->number - cfg_.finality_depth);
      }
      return;
    case TlvType::ReorgNotice:
      if (const auto n = protocol::tlv_as<protocol::ReorgNotice>(tlv)) {
        const std::uint64_t ancestor = n->common_ancestor_number;
        if (ancestor > block_) {  // nothing above the tip to unwind: a bogus notice
          ++stats_.reorgs_refused;
          return;
        }
        ++stats_.reorgs;
        const auto touched = [this](std::uint32_t p) { mark_dirty(p); };
        if (book_.unwind_to(ancestor, touched) != UnwindResult::ok) {
          // The journal cannot restore the ancestor's state: every pool changed above it is
          // quarantined until a snapshot arrives, and the journal starts over.
          ++stats_.reorgs_too_deep;
          book_.abandon_above(ancestor, touched);
        }
        block_ = ancestor;
        ++reorg_gen_;  // blocks above the ancestor are new blocks: they may be signalled again
      }
      return;
    default:
      ++stats_.ignored_tlvs;
      return;
  }
#undef TORQ_ARB_APPLY
  if (r == ApplyResult::applied) {
    mark_dirty(pool);
    block_ = std::max(block_, ev_block);
    have_base_ = true;
  } else if (r == ApplyResult::ignored) {
    ++stats_.ignored_tlvs;
  } else {
    ++stats_.rejected_events;
    if (r == ApplyResult::tick_overflow || r == ApplyResult::inconsistent) mark_dirty(pool);  // now quarantined
  }
}

std::size_t ArbEngine::on_frame(std::span<const std::byte> frame) noexcept {
  (void)ingest(frame);
  return drain([]() noexcept { return false; });
}

bool ArbEngine::ingest(std::span<const std::byte> frame) noexcept {
  // Cache hints before the frame is parsed: a market-data event's first TLV (standard form,
  // [type][length][EventContext: pool id first]) names its pool; the lines its apply, rate
  // refresh and search read first are requested now so that the misses overlap with the parse.
  // Unverified bytes only choose which lines to prefetch (the index is bounds-checked).
  if (cache_hints_ && frame.size() >= protocol::kHeaderSize + 2 + 8) {
    const auto type = static_cast<TlvType>(frame[protocol::kHeaderSize]);
    if (type == TlvType::V2Sync || type == TlvType::V3Swap) {
      std::uint64_t raw = 0;
      std::memcpy(&raw, frame.data() + protocol::kHeaderSize + 2, sizeof raw);
      const std::uint64_t p = protocol::InstrumentId(raw).index();
      if (p < book_.pool_count()) {
        const auto pool = static_cast<std::uint32_t>(p);
        book_.prefetch(pool);
        cycles_.prefetch_touching(pool);
        cycles_.prefetch_touching_cycles(pool, kHintedCycles);
        __builtin_prefetch(&hot_[p], 1);
        if (const std::uint32_t slot = v3_slot_[p]; slot != ~std::uint32_t{0}) {
          __builtin_prefetch(&v3_steps_[2 * std::size_t{slot}]);
          __builtin_prefetch(&v3_steps_[2 * std::size_t{slot} + 1]);
        }
      }
    }
  }
  const protocol::ParseResult pr = protocol::parse_frame(frame, protocol::ParseOptions{cfg_.verify_checksum});
  // Market data and the control plane's snapshots (System) only: a signal or execution frame fed
  // to the engine by mistake is not market data.
  if (!pr.ok() || (pr.view.domain() != protocol::RelayDomain::MarketData && pr.view.domain() != protocol::RelayDomain::System))
      [[unlikely]] {
    ++stats_.bad_frames;
    return false;
  }
  ++stats_.frames;
  next_epoch();
  for (const protocol::TlvView& tlv : pr.view.tlvs()) apply_tlv(tlv);
  // Cache hints (no effect on results) for the first kHintedCycles cycles of each dirty pool,
  // where the first signal comes from: their stamps and the prefilter's lines of their pools
  // (the cycles' copies in the touching list name those pools: requested at the frame's start,
  // they have usually arrived by now), and for the first kSearchHintedCycles the lines the search
  // reads of their other pools; the dirty V3 pool's ticks too (its step cache is rebuilt for the
  // new state). Requested before the rate refresh, so that these misses overlap with each other
  // and with the refresh instead of coming one after the other in the loop below.
  const std::size_t hinted = cache_hints_ ? kHintedCycles : 0;
  for (std::size_t i = 0; i < dirty_count_ && hinted != 0; ++i) {
    const std::uint32_t d = dirty_[i];
    book_.prefetch_ticks(d, kHintedTickLines);
    const std::span<const Cycle> t = cycles_.touching(d);
    for (std::size_t k = 0; k < t.size() && k < hinted; ++k) {
      const Cycle& n = t[k];
      __builtin_prefetch(&marks_[n.id], 1);
      for (unsigned h = 0; h < n.hops; ++h) {
        const std::uint32_t q = n.pool[h];
        __builtin_prefetch(&hot_[q]);
        if (k < kSearchHintedCycles && q != d) {
          book_.prefetch_for_search(q, kHintedTickLines);
          if (const std::uint32_t slot = v3_slot_[q]; slot != ~std::uint32_t{0}) {
            const V3SegmentCache* sc = &v3_steps_[2 * std::size_t{slot} + (n.z41(h) ? 0 : 1)];
            __builtin_prefetch(sc);
            __builtin_prefetch(&sc->seg[0]);
            __builtin_prefetch(reinterpret_cast<const char*>(&sc->seg[0]) + 64);
          }
        }
      }
    }
  }
  for (std::size_t i = 0; i < dirty_count_; ++i) refresh_rates(dirty_[i]);
  // Pushed in reverse, so that the frame's first changed pool is on top: within a frame, pools are
  // evaluated in the order its TLVs changed them.
  for (std::size_t i = dirty_count_; i-- > 0;) push_pending(dirty_[i], pr.view.header.timestamp_ns);
  return true;
}

void ArbEngine::push_pending(std::uint32_t pool, std::uint64_t timestamp_ns) noexcept {
  if (const std::uint32_t pos = hot_[pool].work_pos; pos != 0) {
    // Changed again while pending: out of its place (the entries above it move down one).
    ++stats_.superseded;
    for (std::size_t j = pos; j < work_.size(); ++j) {
      work_[j - 1] = work_[j];
      hot_[work_[j - 1].pool].work_pos = static_cast<std::uint32_t>(j);
    }
    work_.pop_back();
  }
  work_.push_back(Pending{pool, 0, epoch_, 0, 0, timestamp_ns});  // capacity: one entry per pool
  hot_[pool].work_pos = static_cast<std::uint32_t>(work_.size());
}

template <class Preempt>
std::size_t ArbEngine::drain(Preempt&& preempt) noexcept {
  std::size_t emitted = 0;
  const std::uint64_t key = (reorg_gen_ << 48) | (block_ & ((std::uint64_t{1} << 48) - 1));
  // Cycles in CSR order (a pool's 2-pool cycles first), each published as soon as it is found
  // profitable. Searching in descending order of the rate-bound product instead (best cycle first)
  // was measured and rejected: it prefilters every touching cycle before the first search and
  // often starts with a triangle, +0.3-0.4 us to the first signal at p50 (docs/strategy.md).
  while (!work_.empty()) {
    Pending& w = work_.back();
    const std::span<const Cycle> touching = cycles_.touching(w.pool);
    while (w.cursor < touching.size()) {
      const Cycle& cycle = touching[w.cursor++];
      const std::uint32_t c = cycle.id;
      CycleMark& mark = marks_[c];
      if (mark.stamp >= w.since) continue;  // evaluated since this pool's latest change
      mark.stamp = epoch_;
      if (mark.signal_key == key) {
        ++stats_.suppressed_same_block;
      } else {
        ++stats_.cycles_evaluated;
        protocol::ArbitrageSignal& sig = sig_scratch_;
        if (passes_prefilter(cycle) && search_cycle(cycle, sig)) {
          if (sig.net_profit_usd < cfg_.min_net_profit.raw) {
            ++stats_.below_min;
          } else if (publish(sig, w.timestamp_ns)) {
            mark.signal_key = key;
            ++emitted;
            w.signalled = 1;
          }
        }
      }
      if (w.evaluated < kCyclesBeforeYield) ++w.evaluated;
      if ((w.signalled != 0 || w.evaluated >= kCyclesBeforeYield) && preempt()) [[unlikely]] {
        if (w.cursor < touching.size()) {
          ++stats_.preempted;
        } else {
          hot_[w.pool].work_pos = 0;
          work_.pop_back();
        }
        return emitted;
      }
    }
    hot_[w.pool].work_pos = 0;
    work_.pop_back();
  }
  return emitted;
}

bool ArbEngine::passes_prefilter(const Cycle& c) noexcept {
  RateBound rates[3];
  for (unsigned h = 0; h < c.hops; ++h) {
    const std::uint32_t p = c.pool[h];
    const PoolHot& hp = hot_[p];
    if (hp.usable == 0) {
      ++stats_.stale_cycles;
      return false;
    }
    rates[h] = hp.rate(c.z41(h));
  }
  if (cannot_profit(std::span<const RateBound>(rates, c.hops))) {
    ++stats_.prefilter_rejected;
    return false;
  }
  return true;
}

std::optional<protocol::ArbitrageSignal> ArbEngine::evaluate(std::uint32_t cycle_id) noexcept {
  ++stats_.cycles_evaluated;
  const Cycle& c = cycles_.cycle(cycle_id);
  if (!passes_prefilter(c)) return std::nullopt;
  protocol::ArbitrageSignal sig{};
  if (!search_cycle(c, sig)) return std::nullopt;
  return sig;
}

bool ArbEngine::search_cycle(const Cycle& c, protocol::ArbitrageSignal& sig) noexcept {
  Hop hops[3];
  for (unsigned h = 0; h < c.hops; ++h) {
    const std::uint32_t p = c.pool[h];
    const bool z = c.z41(h);
    const std::uint32_t slot = v3_slot_[p];
    V3SegmentCache* steps = slot != ~std::uint32_t{0} ? &v3_steps_[2 * std::size_t{slot} + (z ? 0 : 1)] : nullptr;
    hops[h] = Hop{&book_.state(p), &book_.meta(p), book_.ticks(p), z, book_.edge_sqrt_prices(p), steps};
  }
  ++stats_.searches;
  const SearchResult sr = optimize(std::span<const Hop>(hops, c.hops), cfg_.search);
  stats_.probes += sr.probes;
  if (sr.closed_form) ++stats_.closed_form_sized;
  if (sr.searched) ++stats_.golden_searches;
  if (!sr.found) {
    ++stats_.unprofitable;
    return false;
  }
  const U256 profit = sr.amount_out - sr.amount_in;
  const auto profit_usd = pricer_.value(c.token[0], profit);
  const auto gas_usd = gas_.cost_usd(c.hops);
  if (!profit_usd || !gas_usd) {
    ++stats_.unpriced;
    return false;
  }
  const auto net = num::checked_sub(*profit_usd, *gas_usd);
  if (!net) {
    ++stats_.unpriced;
    return false;
  }
  sig = protocol::ArbitrageSignal{};
  sig.block_number = block_;
  sig.hop_count = c.hops;
  sig.path_kind = c.kind;
  for (unsigned h = 0; h < c.hops; ++h) {
    sig.pools[h] = book_.meta(c.pool[h]).id_raw;
    sig.tokens[h] = book_.token_id(c.token[h]);
    sig.pool_state_versions[h] = book_.state(c.pool[h]).version;
  }
  sig.tokens[c.hops] = book_.token_id(c.token[0]);
  sig.amount_in = sr.amount_in;
  sig.expected_amount_out = sr.amount_out;
  sig.expected_profit = profit;
  sig.expected_profit_usd = profit_usd->raw;
  sig.gas_cost_usd = gas_usd->raw;
  sig.net_profit_usd = net->raw;
  sig.gas_units = gas_.gas_units(c.hops);
  return true;
}

bool ArbEngine::publish(protocol::ArbitrageSignal& sig, std::uint64_t timestamp_ns) noexcept {
  if (out_ == nullptr) {
    ++stats_.no_output;
    return false;
  }
  const std::span<std::byte> buf = out_->try_claim(static_cast<std::uint32_t>(kSignalFrameSize));
  if (buf.empty()) {
    ++stats_.signals_dropped_full;
    return false;
  }
  sig.signal_id = (std::uint64_t{cfg_.source} << 56) | ++signal_seq_;
  protocol::FrameBuilder b(buf, protocol::RelayDomain::Signal, cfg_.source,
                           cfg_.signal_checksum ? 0 : protocol::frame_flags::kNoChecksum);
  if (!b.add(sig)) return false;  // cannot happen: the claim is sized for the frame
  const std::span<const std::byte> f = b.finish(++out_sequence_, timestamp_ns);
  if (f.empty() || !out_->commit(static_cast<std::uint32_t>(f.size()))) return false;
  ++stats_.signals;
  // Only this thread writes the stamp, so its own relaxed read of the stamped timestamp is exact.
  if (cfg_.stamp_first_signal && timestamp_ns != stamp_frame_ts_.load(std::memory_order_relaxed)) [[unlikely]] {
    // After the commit: the signal is in the ring when the TSC is read, and waits for no stamp.
    const std::uint64_t seq = stamp_seq_.load(std::memory_order_relaxed);
    stamp_seq_.store(seq + 1, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_release);
    stamp_frame_ts_.store(timestamp_ns, std::memory_order_relaxed);
    stamp_tsc_.store(hw::rdtscp(), std::memory_order_relaxed);
    stamp_seq_.store(seq + 2, std::memory_order_release);
  }
  return true;
}

SignalStamp ArbEngine::first_signal_stamp() const noexcept {
  const std::uint64_t seq0 = stamp_seq_.load(std::memory_order_acquire);
  const SignalStamp s{stamp_frame_ts_.load(std::memory_order_relaxed), stamp_tsc_.load(std::memory_order_relaxed)};
  std::atomic_thread_fence(std::memory_order_acquire);
  if ((seq0 & 1) != 0 || stamp_seq_.load(std::memory_order_relaxed) != seq0) return SignalStamp{};
  return s;
}

std::size_t ArbEngine::poll(ring::SpscConsumer& in, std::size_t max_frames) noexcept {
  // One frame at a time, so that a waiting frame is applied before older pools' remaining cycles.
  const bool newest_first = cfg_.newest_first;
  const auto newer_frame_waiting = [&in, newest_first]() noexcept { return newest_first && in.has_published(); };
  std::size_t n = 0;
  while (n < max_frames && in.consume_burst([this](std::span<const std::byte> f) { (void)ingest(f); }, 1) != 0) {
    ++n;
    (void)drain(newer_frame_waiting);
  }
  if (n == 0 && !work_.empty()) (void)drain(newer_frame_waiting);
  return n;
}

bool ArbEngine::run(ring::SpscConsumer& in, const std::atomic<bool>& stop, int cpu) noexcept {
  if (cpu >= 0 && !hw::pin_current_thread(cpu)) return false;
  while (!stop.load(std::memory_order_relaxed)) {
    if (poll(in) == 0 && work_.empty()) _mm_pause();
  }
  return true;
}

}  // namespace torq::arb
