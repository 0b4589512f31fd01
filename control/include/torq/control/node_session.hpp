// NodeSession<Sink>: the control-plane thread that turns one or more Ethereum nodes into a
// Protocol V2 event stream for the dataplane.
//
// Loop (own std::thread, never a hot core): pick the best reachable endpoint (priority order,
// failover, per-endpoint request budget: see ChainClient) → WebSocket connect →
// eth_subscribe("newHeads") + eth_subscribe("logs", {address: [pools], topics: [[V2/V3 topic0s]]})
// (+ a logs subscription on the configured factories for live discovery) → on the first start,
// snapshot every pool at a pinned block B (PoolStateSnapshot + V3TicksSnapshot, system domain)
// and set each pool's cursor to B; backfill with eth_getLogs from each pool's cursor block to the
// head in adaptive chunks (halved on range-limit errors such as -32005 / "range too large" /
// "limit exceeded", doubled again after `grow_after` successes, within [min_chunk, max_chunk]) →
// stream. Dedup: per pool the last (block, log index) published; anything at or below it is
// skipped (counted in duplicates_skipped), so the overlap of backfill and stream never publishes
// an event twice. On any transport error: close, exponential backoff + jitter, reconnect (same or
// next endpoint), re-subscribe, backfill from the cursors.
//
// Reorgs: newHeads feed a ReorgTracker; a parent-hash mismatch (anvil_reorg sends new heads for
// replaced numbers and no removed logs), a removed log of a block we hold, a head that skips
// numbers while our tip is no longer canonical, or (after a reconnect) a canonical hash at our
// tip that is not ours triggers resolve() against canonical hashes from eth_getBlockByNumber.
// The session then publishes a ReorgNotice (market data), a PoolStateSnapshot (+ticks) at the
// common ancestor for every pool that had events above it, rewinds those pools' cursors to the
// ancestor, and re-backfills ancestor+1 .. head. Consumers: on ReorgNotice drop state above the
// ancestor; the following snapshot resets the pool. A reorg deeper than the tracker can resolve
// (counted in deep_reorgs) resnapshots every pool at the head.
// Streamed logs wait for their block: a log of a block above the tracker's tip, or of a block we
// hold with another hash, is held (not published, cursor not moved) until the tracker holds that
// number; then it is published if its block hash is the tracker's and dropped otherwise (counted
// in orphan_logs). So every published streamed event belongs to a block on the tracker's chain,
// and a later reorg of that block is seen by the tracker. Held logs are dropped on a reconnect
// (the backfill from the cursors fetches them again). Backfilled logs come from the node's
// canonical chain; one whose block we hold with another hash makes the session check its tip.
// Liveness: no newHeads for head_timeout (counted in head_timeouts), or an error answer to an
// eth_subscribe request (rpc_errors, subscribe_errors) → reconnect and catch up.
// Snapshots: a pool whose snapshot fails (snapshot_pool_failures) is left out: none of its state
// or events are published, it is quarantined (quarantined()), and it is snapshotted again at a
// later head (after 1, 2, 4 ... up to 256 blocks) while the other pools stream. Algebra pools
// (QuickSwap V3: globalState(), dynamic fee) are not followed (unsupported_pools).
// Block numbers above kMaxBlockNumber (2^63 - 1) from the node are refused (bad_answers; the
// session reconnects).
// Finality: the node's `finalized` tag when use_finalized_tag (polled with heads), otherwise
// tip - finality_depth; exposed in counters().finalized_block.
//
// Every head is published as a BlockHeader TLV (base fee for the strategy's gas model).
// Publishing goes through EventPublisher<Sink>; `false` from the sink is back pressure: counted
// in counters().sink_drops, never retried, visible to the consumer as a sequence gap.
//
// Threading: start()/stop()/destructor from the owning thread; counters(), quarantined(),
// take_discovered() from any thread (relaxed atomics / a mutex on the discovered list). The
// sink is called ONLY on the session thread. The registry passed in is copied; discovered
// pools are added to the session's copy and reported through take_discovered().
// Allocation: the session thread allocates (JSON text, RPC); this is a control-plane component.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "torq/control/chain_client.hpp"
#include "torq/control/event_publisher.hpp"
#include "torq/control/pool_sync.hpp"
#include "torq/control/rate_limit.hpp"
#include "torq/protocol/instrument_id.hpp"

namespace torq::control {

struct NodeSessionConfig {
  protocol::Chain chain = protocol::Chain::Polygon;
  std::vector<EndpointConfig> endpoints;  // at least one with a ws URL
  std::uint8_t source_id = 1;             // Protocol V2 source of the published frames
  bool checksum = true;                   // CRC32C on published frames
  // Largest frame published (V3 tick snapshots are split into as many frames as needed). A link
  // that carries one frame per datagram over Ethernet sets its MTU payload (1472).
  std::size_t max_frame_bytes = protocol::kMaxFrameSize;

  // Start: snapshot at the head and stream from there (default), or, when start_block is set,
  // no snapshot and backfill logs from start_block (consumers fold from an empty state).
  std::optional<std::uint64_t> start_block;
  std::int32_t tick_scan_words = 16;  // V3 snapshot: bitmap words each side of the current tick

  // Adaptive eth_getLogs chunking.
  std::uint64_t initial_chunk = 2000, min_chunk = 1, max_chunk = 50'000;
  std::uint32_t grow_after = 4;  // successes before doubling again

  // Reorgs and finality.
  std::uint32_t reorg_window = 256;
  std::uint32_t finality_depth = 64;
  bool use_finalized_tag = true;

  // Discovery: factories followed live (and backfilled from max(their from_block, cache)).
  std::vector<FactoryConfig> factories;
  std::string pool_cache_path;  // "" = no cache; else loaded at start (skips discovery) and saved

  // Reconciliation against the chain at a pinned block; 0 = off.
  std::chrono::milliseconds reconcile_interval{0};
  std::uint32_t max_pools = 65536;  // size of the quarantine flag array (pool index < max_pools)
  // false: a drifting pool is quarantined from detection until its resync snapshot is handed to
  // the sink. true: it stays quarantined after that until the owner calls acknowledge_resync(id)
  // (the consumer has applied the snapshot), so quarantined(id) covers the whole window in which
  // a consumer may still hold the drifted state.
  bool quarantine_until_ack = false;

  BackoffPolicy reconnect_backoff{};
  std::uint64_t jitter_seed = 0x70C;
  RpcOptions rpc{};
  std::chrono::milliseconds read_wait{100};  // WebSocket read slice (stop() latency)
  // No newHeads notification for this long while streaming: the subscription is presumed dead
  // (counted in head_timeouts), the session reconnects and catches up. 0 = no watchdog.
  std::chrono::milliseconds head_timeout{30'000};
  // Streamed logs held while waiting for their block's header (see above); more → reconnect.
  std::size_t max_held_logs = 65536;
  // Frame timestamps (default CLOCK_REALTIME); replay sets the recorded stamps. Record/replay of
  // the transport itself: rpc.tap (docs/record-replay.md).
  FrameClock clock{};
};

enum class SessionState : std::uint8_t { Stopped = 0, Connecting, Backfilling, Streaming, Backoff };

// Counters, relaxed atomics: written by the session thread, read anywhere.
struct SessionCounters {
  std::atomic<std::uint64_t> logs_published{0};
  std::atomic<std::uint64_t> heads_published{0};
  std::atomic<std::uint64_t> snapshots_published{0};    // PoolStateSnapshot frames
  std::atomic<std::uint64_t> tick_frames_published{0};  // V3TicksSnapshot frames
  std::atomic<std::uint64_t> reorg_notices{0};
  std::atomic<std::uint64_t> deep_reorgs{0};
  std::atomic<std::uint64_t> sink_drops{0};              // back pressure from the sink
  std::atomic<std::uint64_t> duplicates_skipped{0};
  std::atomic<std::uint64_t> reconnects{0};
  std::atomic<std::uint64_t> connect_failures{0};
  std::atomic<std::uint64_t> backfill_chunks{0};
  std::atomic<std::uint64_t> backfill_logs{0};
  std::atomic<std::uint64_t> chunk_shrinks{0};
  std::atomic<std::uint64_t> chunk_grows{0};
  std::atomic<std::uint64_t> decode_errors{0};     // LogDecoder errors other than UnknownTopic/UnknownPool
  std::atomic<std::uint64_t> ignored_logs{0};      // UnknownTopic/UnknownPool (LP Transfer etc.)
  std::atomic<std::uint64_t> rpc_errors{0};        // JSON-RPC error responses on the session path
  std::atomic<std::uint64_t> transport_errors{0};  // WebSocket/HTTP failures on the session path
  std::atomic<std::uint64_t> pools_discovered{0};
  std::atomic<std::uint64_t> reconciliations{0};
  std::atomic<std::uint64_t> drift_detected{0};
  std::atomic<std::uint64_t> resyncs{0};
  std::atomic<std::uint64_t> resnapshots_requested{0};  // request_resnapshot() calls acted on (all pools re-snapshotted)
  std::atomic<std::uint64_t> last_block{0};       // highest head seen
  std::atomic<std::uint64_t> finalized_block{0};
  std::atomic<std::uint64_t> chunk_size{0};       // current adaptive chunk
  std::atomic<std::int32_t> endpoint{-1};         // active endpoint index (priority order)
  std::atomic<std::uint8_t> state{0};             // SessionState
  std::atomic<std::uint64_t> backfills_completed{0};  // full backfill passes (start, reconnects, reorgs)
  // Added with the fault tests (mirrors of the session's ChainClient stats, updated on the
  // session thread after HTTP calls):
  std::atomic<std::uint64_t> timeouts{0};            // HTTP requests past RpcOptions::timeout
  std::atomic<std::uint64_t> rate_limited{0};        // HTTP 429 / JSON-RPC rate-limit answers
  std::atomic<std::uint64_t> rate_limited_waits{0};  // sleeps for the per-endpoint request budget
  std::atomic<std::uint64_t> failovers{0};           // HTTP endpoint switches
  std::atomic<std::uint64_t> parse_errors{0};        // HTTP responses that are not JSON-RPC
  std::atomic<std::uint64_t> http_requests{0};       // JSON-RPC elements sent over HTTP
  std::atomic<std::uint64_t> pools_from_cache{0};    // pools registered from the pool cache file
  std::atomic<std::uint64_t> pool_cache_refused{0};  // a cache file there but not used (damaged, other chain)
  std::atomic<std::uint64_t> snapshot_pool_failures{0};  // pools whose snapshot answers were missing or refused (pool_sync.hpp)
  std::atomic<std::uint64_t> discovery_scans{0};     // factory eth_getLogs scans (start/reconnect)
  std::atomic<std::uint64_t> discovery_blocks_scanned{0};
  std::atomic<std::uint64_t> quarantined_now{0};     // pools flagged at this moment
  std::atomic<std::uint64_t> events_dropped_on_request{0};  // debug_drop_next_event() fired
  // Added with the reorg/liveness fixes:
  std::atomic<std::uint64_t> orphan_logs{0};        // held streamed logs whose block left the chain (never published)
  std::atomic<std::uint64_t> stale_backfill_logs{0};  // backfilled logs of a block we hold with another hash (skipped)
  std::atomic<std::uint64_t> head_timeouts{0};      // watchdog: no newHeads for head_timeout
  std::atomic<std::uint64_t> subscribe_errors{0};   // error answers to eth_subscribe (also in rpc_errors)
  std::atomic<std::uint64_t> bad_answers{0};        // node answers refused (block number above kMaxBlockNumber)
  std::atomic<std::uint64_t> held_log_overflows{0};  // more than max_held_logs waiting for headers
  std::atomic<std::uint64_t> pools_awaiting_snapshot{0};  // pools left out after a failed snapshot (now)
  std::atomic<std::uint64_t> logs_withheld{0};       // events of pools awaiting a snapshot (not published)
  std::atomic<std::uint64_t> unsupported_pools{0};   // registry pools not followed (Algebra)
};

// What the engine emits; NodeSession<Sink> binds it to an EventPublisher<Sink>. Function
// pointers (not virtual, not std::function); called on the session thread only.
struct SessionOutput {
  void* ctx = nullptr;
  bool (*log)(void*, const LogEvent&) noexcept = nullptr;
  bool (*head)(void*, const protocol::BlockHeader&) noexcept = nullptr;
  bool (*reorg)(void*, const protocol::ReorgNotice&) noexcept = nullptr;
  // One pool snapshot: PoolStateSnapshot frame, then (V3) V3TicksSnapshot frame(s).
  bool (*snapshot)(void*, const PoolSnapshot&) noexcept = nullptr;
};

namespace detail {
class SessionEngine;  // the loop, in node_session.cpp
}

// Non-template core: owns the thread and all logic. Use NodeSession<Sink> instead.
class NodeSessionBase {
 public:
  NodeSessionBase(NodeSessionConfig config, const protocol::InstrumentRegistry& registry, SessionOutput out);
  ~NodeSessionBase();
  NodeSessionBase(const NodeSessionBase&) = delete;
  NodeSessionBase& operator=(const NodeSessionBase&) = delete;

  // Starts the session thread. Throws std::invalid_argument on a bad config (no endpoint with
  // a WebSocket URL, unparsable URL). Calling start() twice is a no-op.
  void start();
  // Asks the thread to stop and joins it (returns within ~read_wait + one RPC timeout).
  void stop() noexcept;

  [[nodiscard]] const SessionCounters& counters() const noexcept { return counters_; }
  [[nodiscard]] SessionState state() const noexcept {
    return static_cast<SessionState>(counters_.state.load(std::memory_order_relaxed));
  }
  // Reconciliation found drift for this pool and it has not been resynced yet.
  [[nodiscard]] bool quarantined(protocol::InstrumentId pool) const noexcept;
  // Pools discovered since the last call (registered in the session's registry copy, already
  // snapshotted and subscribed): from factory logs, and pools loaded from the cache file that
  // the registry given to the constructor did not have.
  [[nodiscard]] std::vector<std::pair<protocol::InstrumentId, PoolMeta>> take_discovered();
  // quarantine_until_ack: the consumer has applied the pool's resync snapshot. Returns false if
  // the pool was not waiting for an acknowledgement (not quarantined, or resync not published).
  bool acknowledge_resync(protocol::InstrumentId pool) noexcept;
  // TEST HOOK (fault injection): the session thread silently skips the next price-moving event
  // (V2 Sync, V3 Swap) of `pool`: neither applied to its shadow state nor published,
  // as if the node had lost it. Reconciliation must then find the drift.
  void debug_drop_next_event(protocol::InstrumentId pool) noexcept;
  // Any thread: snapshot every pool again at the head and publish the snapshots (a consumer
  // behind a lossy link joined late or lost frames). Acted on by the session thread while
  // streaming, once however many requests arrived meanwhile.
  void request_resnapshot() noexcept { resnapshot_request_.store(true, std::memory_order_release); }

 private:
  friend class detail::SessionEngine;
  SessionCounters counters_;
  std::unique_ptr<std::atomic<std::uint8_t>[]> quarantine_;
  std::uint32_t max_pools_;
  std::mutex discovered_mu_;
  std::vector<std::pair<protocol::InstrumentId, PoolMeta>> discovered_;
  std::unique_ptr<detail::SessionEngine> engine_;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> drop_request_{0};  // raw pool id, 0 = none
  std::atomic<bool> resnapshot_request_{false};
  std::thread thread_;
};

template <FrameSink Sink>
class NodeSession {
 public:
  // `sink` must outlive the session; it is called on the session thread only.
  NodeSession(NodeSessionConfig config, const protocol::InstrumentRegistry& registry, Sink& sink)
      : publisher_(sink, config.source_id, config.checksum),
        scratch_(std::clamp<std::size_t>(config.max_frame_bytes, 512, protocol::kMaxFrameSize)),
        base_((publisher_.set_clock(config.clock), std::move(config)), registry, output()) {}

  void start() { base_.start(); }
  void stop() noexcept { base_.stop(); }
  [[nodiscard]] const SessionCounters& counters() const noexcept { return base_.counters(); }
  [[nodiscard]] SessionState state() const noexcept { return base_.state(); }
  [[nodiscard]] bool quarantined(protocol::InstrumentId pool) const noexcept { return base_.quarantined(pool); }
  bool acknowledge_resync(protocol::InstrumentId pool) noexcept { return base_.acknowledge_resync(pool); }
  void debug_drop_next_event(protocol::InstrumentId pool) noexcept { base_.debug_drop_next_event(pool); }
  void request_resnapshot() noexcept { base_.request_resnapshot(); }
  [[nodiscard]] std::vector<std::pair<protocol::InstrumentId, PoolMeta>> take_discovered() {
    return base_.take_discovered();
  }
  // Session-thread only (or after stop()): the publisher's own counts.
  [[nodiscard]] const EventPublisher<Sink>& publisher() const noexcept { return publisher_; }
  // Initialized V3 ticks in the snapshots published so far (any thread).
  [[nodiscard]] std::uint64_t snapshot_ticks() const noexcept { return snapshot_ticks_.load(std::memory_order_relaxed); }

 private:
  SessionOutput output() noexcept {
    SessionOutput o;
    o.ctx = this;
    o.log = [](void* c, const LogEvent& e) noexcept { return static_cast<NodeSession*>(c)->publisher_.publish(e); };
    o.head = [](void* c, const protocol::BlockHeader& h) noexcept {
      return static_cast<NodeSession*>(c)->publisher_.publish(h);
    };
    o.reorg = [](void* c, const protocol::ReorgNotice& r) noexcept {
      return static_cast<NodeSession*>(c)->publisher_.publish(r);
    };
    o.snapshot = [](void* c, const PoolSnapshot& s) noexcept {
      auto* self = static_cast<NodeSession*>(c);
      self->snapshot_ticks_.fetch_add(s.ticks.size(), std::memory_order_relaxed);
      return self->publisher_.publish_snapshot(s.state, std::span<const protocol::V3TickEntry>(s.ticks),
                                               std::span<std::byte>(self->scratch_));
    };
    return o;
  }

  EventPublisher<Sink> publisher_;
  std::vector<std::byte> scratch_;  // system-domain frames (V3 ticks may be large)
  std::atomic<std::uint64_t> snapshot_ticks_{0};
  NodeSessionBase base_;            // last: its thread stops before the publisher goes away
};

}  // namespace torq::control
