// torq/arb/engine.hpp — the strategy loop: market-data ring -> pool book -> cycle search -> signal ring.
//
// Owns: ArbEngine, which holds the PoolBook, the CycleIndex, the USD pricer and the gas model, and
// processes Protocol V2 frames in ring order. Per frame: every TLV is applied to the book (V2 Sync,
// V3 Swap/Mint/Burn/Initialize; BlockHeader sets the block and base fee; ReorgNotice unwinds the
// book to the common ancestor; PoolStateSnapshot / V3TicksSnapshot load state; V2 Swap/Mint/Burn
// are ignored because the Sync that the pair emits with them carries the reserves); then every
// cycle touching a changed pool is evaluated, in the cycle index's order (a pool's 2-pool cycles
// first), each signal published as soon as its cycle is found profitable (before the next cycle is
// looked at): an exact, conservative prefilter on the product
// of the hops' marginal-rate bounds (integer arithmetic: a product <= 1 means no input profits), the exact optimal-input search, the profit valued in USD, minus gas
// (units of the path kind x (base fee + priority fee), valued through the reference pools). An
// opportunity whose net profit is >= min_net_profit and whose cycle has not been signalled in this
// block (per reorg generation) goes out as one frame (domain Signal, one ArbitrageSignal TLV) into
// the output ring, stamped with the timestamp of the frame that last changed the pool whose cycle
// list it came from (so downstream stages measure tick-to-X from the market-data stamp). A full
// output ring drops the signal and counts it.
//
// Newest data first (poll/run): the changed pools wait on a stack of pending evaluations (a pool at
// most once, with its position in its cycle list). poll() checks the input ring after every cycle
// it evaluates (once the current pool has signalled or evaluated kCyclesBeforeYield cycles); when a
// newer frame is waiting it stops there, applies that frame and evaluates the newer frame's pools
// first; the older pools' remaining cycles follow when the input is idle. A
// pool that changes again while pending moves to the top and starts its cycle list over (the older
// state is not searched: the newer one supersedes it). A cycle is skipped when it was evaluated
// after its pool's latest change, so no cycle is searched twice on the same state and none is left
// out. So a tick that follows a pool with many signalling cycles (a hub) does not queue behind
// them. on_frame() (tests, replay, in-thread benchmarks) evaluates everything before it returns,
// so its results depend only on the frame sequence.
// Implausible input is refused and counted, never applied: a frame of another domain than
// MarketData or System (bad_frames); a BlockHeader, event or snapshot whose block number lies more
// than max_block_lead blocks above the current block (future_blocks: it would freeze the pool's
// duplicate check, the per-block signal suppression and the journal floor); a ReorgNotice whose
// ancestor is above the current block (reorgs_refused). The first BlockHeader or applied event sets
// the base (a first header replaces an event-set base implausibly far above it; the very first
// number an engine sees cannot be checked). A reorg deeper than the journal quarantines every pool changed
// above the ancestor until a snapshot arrives (PoolBook::abandon_above).
// Thread-safety: one thread drives an engine (the pinned strategy core); stats() may be read by
// the same thread only, first_signal_stamp() by any. Allocation: the constructor allocates
// everything (start-up, may throw); on_frame/poll/run never allocate, lock, make a syscall or throw.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "torq/arb/cycle_index.hpp"
#include "torq/arb/pool_book.hpp"
#include "torq/arb/pricing.hpp"
#include "torq/arb/search.hpp"
#include "torq/protocol/frame.hpp"
#include "torq/ring/spsc_ring.hpp"

namespace torq::arb {

// Cache hints in ingest (software prefetches of the lines a changed pool's first cycles read;
// no effect on results): automatic = on for books of 4 096 pools and more (measured: at 1k pools
// the book stays in the cache and the hints are pure overhead; docs/strategy.md).
enum class CacheHints : std::uint8_t { automatic = 0, on, off };

struct EngineConfig {
  BookConfig book;
  CycleConfig cycles;
  PricingConfig pricing;
  GasConfig gas;
  SearchConfig search;
  UsdFixedPoint8 min_net_profit{UsdFixedPoint8::kScale};  // 1 USD
  std::uint8_t source = 20;                 // Protocol V2 source id of the signal frames
  bool verify_checksum = true;              // on market-data frames that carry one
  bool signal_checksum = false;             // false: signal frames carry kNoChecksum (in-process link)
  // Unused since the prefilter became exact (RateBound products in integer arithmetic); kept so
  // existing configurations still compile.
  double prefilter_min_product = 1.0 - 1e-12;
  std::uint64_t finality_depth = 0;         // > 0: journal entries older than tip - depth are dropped
  // A header, event or snapshot more than this many blocks above the current block is refused
  // (EngineStats::future_blocks). 0: no limit.
  std::uint64_t max_block_lead = 1024;
  // poll(): a waiting frame pauses the current evaluation (newest data first, see above). false:
  // every frame's cycles are evaluated before the next frame is read (the order on_frame keeps).
  bool newest_first = true;
  CacheHints cache_hints = CacheHints::automatic;
  // Latency telemetry (off by default): the TSC of each frame's first signal, read on the engine's
  // cpu right after the signal is committed to the output ring (ArbEngine::first_signal_stamp).
  // Costs one rdtscp and four stores per frame that signals, after its first signal is out;
  // nothing per frame otherwise.
  bool stamp_first_signal = false;
};

// The latest first-signal stamp: the timestamp of the frame a signal answered (the frame
// header's, as the signal frame carries it) and the TSC when that frame's first signal was
// committed. {0, 0} before any. One stamp per run of signals with the same frame timestamp (so a
// frame stamped 0, or one that repeats the previous frame's timestamp, is not stamped again).
struct SignalStamp {
  std::uint64_t frame_timestamp = 0;
  std::uint64_t tsc = 0;
};

struct EngineStats {
  std::uint64_t frames = 0;
  std::uint64_t bad_frames = 0;
  std::uint64_t tlvs = 0;
  std::uint64_t ignored_tlvs = 0;
  std::uint64_t rejected_events = 0;  // the book refused (unknown pool, duplicate, quarantined, ...)
  std::uint64_t block_headers = 0;
  std::uint64_t reorgs = 0;
  std::uint64_t reorgs_too_deep = 0;
  std::uint64_t reorgs_refused = 0;   // ancestor above the current block: ignored
  std::uint64_t future_blocks = 0;    // header / event / snapshot too far above the current block: refused
  std::uint64_t cycles_evaluated = 0;
  std::uint64_t stale_cycles = 0;      // a pool without state or quarantined
  std::uint64_t prefilter_rejected = 0;
  std::uint64_t searches = 0;
  std::uint64_t probes = 0;
  std::uint64_t closed_form_sized = 0;  // searches answered by the closed form (no search)
  std::uint64_t golden_searches = 0;    // searches that ran the bounded golden-section search
  std::uint64_t unprofitable = 0;
  std::uint64_t unpriced = 0;          // profit or gas could not be valued in USD
  std::uint64_t below_min = 0;
  std::uint64_t suppressed_same_block = 0;
  std::uint64_t signals = 0;
  std::uint64_t signals_dropped_full = 0;  // output ring full
  std::uint64_t no_output = 0;             // no output ring attached
  std::uint64_t preempted = 0;   // poll() paused an evaluation because a newer frame was waiting
  std::uint64_t superseded = 0;  // a pending pool changed again: its cycle list started over
  friend bool operator==(const EngineStats&, const EngineStats&) = default;
};

inline constexpr std::size_t kSignalFrameSize = protocol::kHeaderSize + protocol::kStandardTlvHeader +
                                                sizeof(protocol::ArbitrageSignal);

class ArbEngine {
 public:
  ArbEngine(std::span<const PoolSpec> pools, EngineConfig cfg);

  // The output ring's producer (not owned; must outlive the engine's use of it). nullptr: none.
  void attach_output(ring::SpscProducer* out) noexcept { out_ = out; }

  // Applies one frame and evaluates every pending pool (this frame's first) before returning; returns
  // the number of signals published.
  std::size_t on_frame(std::span<const std::byte> frame) noexcept;
  // Consumes up to max_frames frames from the market-data ring, one at a time, each followed by the
  // pending evaluations, newest first, until they are done or another frame is waiting; with no
  // frame waiting it resumes pending evaluations. Returns frames handled.
  std::size_t poll(ring::SpscConsumer& in, std::size_t max_frames = 32) noexcept;
  // Switches newest-first evaluation in poll() (EngineConfig::newest_first) between frames.
  void set_newest_first(bool on) noexcept { cfg_.newest_first = on; }
  // Reloaded settings, applied between frames by the engine's own thread: the signal threshold
  // (EngineConfig::min_net_profit) and the tip the gas cost assumes (GasConfig::priority_fee_wei).
  void set_min_net_profit(UsdFixedPoint8 v) noexcept { cfg_.min_net_profit = v; }
  void set_priority_fee(const U256& wei) noexcept {
    cfg_.gas.priority_fee_wei = wei;
    gas_.set_priority_fee(wei);
  }
  // Switches EngineConfig::stamp_first_signal between frames.
  void set_stamp_first_signal(bool on) noexcept { cfg_.stamp_first_signal = on; }
  // The latest first-signal stamp (EngineConfig::stamp_first_signal). Any thread; it is written
  // just after the signal is committed, so a thread that has read the signal may still see the
  // previous frame's stamp for a moment: compare frame_timestamp. A stamp being replaced reads as
  // {0, 0}.
  [[nodiscard]] SignalStamp first_signal_stamp() const noexcept;
  // True while changed pools wait for (some of) their cycles to be evaluated (poll() was preempted).
  [[nodiscard]] bool pending() const noexcept { return !work_.empty(); }
  // Busy-spin loop until `stop`: pins the calling thread to `cpu` first when cpu >= 0 (start-up
  // syscall). Returns false if pinning was requested and failed (the loop does not run then).
  bool run(ring::SpscConsumer& in, const std::atomic<bool>& stop, int cpu = -1) noexcept;

  // Evaluates one cycle on the current book without emitting (tests, tools): the signal it would
  // send if net profit passed (fields filled, signal_id 0), or nullopt when no profitable input.
  [[nodiscard]] std::optional<protocol::ArbitrageSignal> evaluate(std::uint32_t cycle_id) noexcept;

  [[nodiscard]] const PoolBook& book() const noexcept { return book_; }
  [[nodiscard]] PoolBook& book() noexcept { return book_; }
  [[nodiscard]] const CycleIndex& cycles() const noexcept { return cycles_; }
  [[nodiscard]] const UsdPricer& pricer() const noexcept { return pricer_; }
  [[nodiscard]] const GasModel& gas() const noexcept { return gas_; }
  [[nodiscard]] const EngineStats& stats() const noexcept { return stats_; }
  [[nodiscard]] std::uint64_t current_block() const noexcept { return block_; }
  [[nodiscard]] const EngineConfig& config() const noexcept { return cfg_; }
  // Whether ingest issues cache hints (EngineConfig::cache_hints, resolved at construction).
  [[nodiscard]] bool cache_hints_active() const noexcept { return cache_hints_; }

 private:
  void mark_dirty(std::uint32_t pool) noexcept;
  void refresh_rates(std::uint32_t pool) noexcept;
  void apply_tlv(const protocol::TlvView& tlv) noexcept;
  // False (counted: future_blocks, rejected_events) for a block number implausibly far above block_.
  [[nodiscard]] bool plausible_block(std::uint64_t block) noexcept {
    if (!have_base_ || cfg_.max_block_lead == 0 || block <= block_ || block - block_ <= cfg_.max_block_lead) [[likely]]
      return true;
    ++stats_.future_blocks;
    return false;
  }
  // Parses and applies one frame, refreshes its changed pools' rate bounds and pushes them on the
  // pending stack (its first changed pool on top). False for a frame that fails to parse.
  bool ingest(std::span<const std::byte> frame) noexcept;
  void push_pending(std::uint32_t pool, std::uint64_t timestamp_ns) noexcept;
  // Evaluates pending pools' cycles, top of the stack first; after each evaluated cycle, stops if
  // preempt() is true (the current pool keeps its place). Returns the signals published.
  template <class Preempt>
  std::size_t drain(Preempt&& preempt) noexcept;
  // Cache hints (ingest; no effect on results) cover the first kHintedCycles
  // cycles of each dirty pool. Only for books of kCacheHintMinPools pools and more: measured
  // -0.15 us in-thread at 10k pools, pure overhead (+3 % instructions) at 1k, where the book's
  // lines stay in the cache (docs/strategy.md).
  static constexpr std::size_t kHintedCycles = 12;
  // Of those, the cycles whose other pools' search lines are requested too (the first signal is
  // usually one of a pool's first two cycles), and the lines of a V3 pool's ticks requested.
  static constexpr std::size_t kSearchHintedCycles = 2;
  static constexpr std::size_t kHintedTickLines = 12;
  static constexpr std::size_t kCacheHintMinPools = 4096;
  bool cache_hints_ = false;
  // The exact prefilter of one cycle from the cached rate bounds (counts stale / rejected cycles).
  [[nodiscard]] bool passes_prefilter(const Cycle& c) noexcept;
  // Search, USD valuation and gas of a cycle that passed the prefilter: fills `sig` (signal_id 0);
  // false when no input profits or it cannot be valued.
  [[nodiscard]] bool search_cycle(const Cycle& c, protocol::ArbitrageSignal& sig) noexcept;
  [[nodiscard]] bool publish(protocol::ArbitrageSignal& sig, std::uint64_t timestamp_ns) noexcept;
  void next_epoch() noexcept;

  EngineConfig cfg_;
  PoolBook book_;
  CycleIndex cycles_;
  UsdPricer pricer_;
  GasModel gas_;
  ring::SpscProducer* out_ = nullptr;
  // Per pool, what a tick reads and writes of a pool before its search, in one 64-byte line (one
  // miss where four separate arrays cost up to five): the two directions' marginal-rate bounds,
  // whether the pool is usable, its dirty stamp and its place on the pending stack.
  struct alignas(64) PoolHot {
    std::uint64_t rate_m[4];  // num, den mantissas: [0], [1] token0->token1; [2], [3] token1->token0
    std::int32_t rate_e[4];   // their exponents
    std::uint32_t stamp;      // epoch (frame number) of the last mark_dirty
    std::uint32_t work_pos;   // index in work_ + 1, 0 when not pending
    // Refreshed with the rates (every book change made by on_frame marks the pool dirty,
    // quarantine included; like the rates, it assumes the book is changed only through on_frame):
    // has state and is not quarantined. The prefilter reads only this line, not the state lines.
    std::uint8_t usable;
    std::uint8_t reserved[7];
    [[nodiscard]] RateBound rate(bool zero_for_one) const noexcept {
      const unsigned i = zero_for_one ? 0 : 2;
      return RateBound{BoundFloat{rate_m[i], rate_e[i]}, BoundFloat{rate_m[i + 1], rate_e[i + 1]}};
    }
    void set_rate(bool zero_for_one, const RateBound& r) noexcept {
      const unsigned i = zero_for_one ? 0 : 2;
      rate_m[i] = r.num.m;
      rate_e[i] = r.num.e;
      rate_m[i + 1] = r.den.m;
      rate_e[i + 1] = r.den.e;
    }
  };
  static_assert(sizeof(PoolHot) == 64);
  std::vector<PoolHot> hot_;  // per pool
  // Per pool: index of its V3 step caches (~0: not V3). Apart from hot_: the cache hints read it for
  // the partner pools of a changed pool's first cycles, and 16 pools share a line here.
  std::vector<std::uint32_t> v3_slot_;
  std::unique_ptr<V3SegmentCache[]> v3_steps_;  // 2 per V3 pool: [0] zero_for_one, [1] one_for_zero
  // Per cycle, both in one 16-byte entry (one line where two arrays cost two).
  struct CycleMark {
    std::uint64_t signal_key;  // (reorg generation << 48) | block of its last signal
    std::uint32_t stamp;       // epoch in which the cycle was last evaluated
    std::uint32_t reserved;
  };
  std::vector<CycleMark> marks_;
  // A changed pool waiting for its cycles: the next index into its touching list, the epoch of its
  // latest change (a cycle evaluated in that epoch or later saw it) and that frame's timestamp.
  struct Pending {
    std::uint32_t pool;
    std::uint32_t cursor;
    std::uint32_t since;
    std::uint16_t evaluated;  // cycles evaluated since the pool was pushed (saturating)
    std::uint8_t signalled;   // 1 once one of them was published
    std::uint64_t timestamp_ns;
  };
  // A pool yields to a waiting frame only once it has signalled or evaluated this many cycles, so
  // that each frame of a burst gets its first signal out (usually one of its first 2-pool cycles)
  // before newer frames are read.
  static constexpr std::uint16_t kCyclesBeforeYield = 4;
  std::vector<Pending> work_;             // stack, top = back(); a pool at most once (capacity: pools)
  protocol::ArbitrageSignal sig_scratch_{};  // the signal being built (no copy per cycle)
  std::vector<std::uint32_t> dirty_;
  std::size_t dirty_count_ = 0;
  std::uint32_t epoch_ = 0;
  std::uint64_t block_ = 0;
  bool have_base_ = false;    // block_ was set (by a header or an applied event)
  bool have_header_ = false;  // a BlockHeader was accepted (the first one sets the base)
  std::uint64_t reorg_gen_ = 0;
  std::uint64_t out_sequence_ = 0;
  std::uint64_t signal_seq_ = 0;
  // first_signal_stamp(): a sequence lock, odd while the engine's thread writes (read by others).
  std::atomic<std::uint64_t> stamp_seq_{0}, stamp_frame_ts_{0}, stamp_tsc_{0};
  EngineStats stats_{};
};

}  // namespace torq::arb
