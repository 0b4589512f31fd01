// torq/torqd/pipeline.hpp — torqd's components wired together (monolith mode) or one of them
// alone (distributed roles), plus the ordered start-up and shutdown.
//
// Threads (monolith):
//   collector  (control side, not pinned by default) node WebSocket: newHeads + logs
//              subscription, snapshot of every pool at a pinned block, backfill after a
//              reconnect, reorg tracking; publishes market-data frames into the md ring.
//   strategy   (pinned when configured; idle strategy from the options) ArbEngine: md ring →
//              pool book → cycle search → ArbitrageSignal frames into the signal ring.
//   executor   (pinned when configured) signal ring → threshold → path encoding → risk gates →
//              EIP-1559 tx signed with libsecp256k1 → tx ring; report ring → risk outcome,
//              realized P&L, audit records.
//   submitter  (control side) tx ring → eth_sendRawTransaction → receipt polling →
//              ExecutionReport frames into the report ring; nonce resync on refusal.
//   audit      (risk library's writer thread) appends the audit log.
// Rings are torq::ring SPSC rings in NUMA-local memory (LocalRing) in monolith mode, and
// shared-memory rings (mycelium "shm:/…" strings) between the distributed roles.
//
// Start-up (constructor + start()) allocates and throws with context; request_stop() is
// async-signal-safe; shutdown() stops intake, drains every ring in pipeline order, waits for the
// receipts of sent transactions (bounded by the receipt timeout), flushes the audit log and joins
// every thread. Counters are atomics readable from any thread (the operator surface reads them).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "torq/protocol/instrument_id.hpp"
#include "torq/torqd/options.hpp"
#include "torq/torqd/telemetry.hpp"

namespace torq::torqd {

struct Counters {
  // collector
  std::atomic<std::uint64_t> heads{0};
  std::atomic<std::uint64_t> logs{0};
  std::atomic<std::uint64_t> md_frames{0};
  std::atomic<std::uint64_t> md_dropped{0};
  std::atomic<std::uint64_t> decode_errors{0};
  std::atomic<std::uint64_t> reconnects{0};
  std::atomic<std::uint64_t> node_connected{1};  // collector: 1 while its node session is up (streaming or backfilling)
  std::atomic<std::uint64_t> backfilled_logs{0};
  std::atomic<std::uint64_t> reorgs{0};
  std::atomic<std::uint64_t> latest_block{0};
  std::atomic<std::uint64_t> base_fee_wei{0};
  std::atomic<std::uint64_t> snapshot_block{0};
  // strategy
  std::atomic<std::uint64_t> strategy_frames{0};
  std::atomic<std::uint64_t> signals{0};
  std::atomic<std::uint64_t> signals_dropped{0};
  // executor
  std::atomic<std::uint64_t> signals_received{0};
  std::atomic<std::uint64_t> below_threshold{0};
  std::atomic<std::uint64_t> stale_signals{0};  // computed at or before the block of our last mined trade
  std::atomic<std::uint64_t> path_errors{0};
  std::atomic<std::uint64_t> risk_accepted{0};
  std::atomic<std::uint64_t> risk_rejected{0};
  std::atomic<std::uint64_t> signed_txs{0};
  std::atomic<std::uint64_t> sign_errors{0};
  std::atomic<std::uint64_t> tx_ring_full{0};
  // submitter
  std::atomic<std::uint64_t> sent{0};
  std::atomic<std::uint64_t> send_failed{0};
  std::atomic<std::uint64_t> send_unknown{0};  // sends whose outcome was unknown, followed as sent
  std::atomic<std::uint64_t> included{0};
  std::atomic<std::uint64_t> reverted{0};
  std::atomic<std::uint64_t> receipt_timeouts{0};
  std::atomic<std::uint64_t> receipts_confirming{0};  // receipts held for receipt_confirmations blocks
  std::atomic<std::uint64_t> receipts_unmined{0};     // ... whose block was then reorged away
  std::atomic<std::uint64_t> nonce_resyncs{0};
  std::atomic<std::uint64_t> nonce_retries{0};         // re-signed with a fresh nonce after a nonce error
  std::atomic<std::uint64_t> replacements{0};          // same-nonce replacements/resends the node accepted
  std::atomic<std::uint64_t> replacements_refused{0};  // ... that it refused
  std::atomic<std::uint64_t> replacement_capped{0};    // stuck-checks whose bump would pass the gas ceiling
  // P&L (executor thread writes)
  std::atomic<std::int64_t> realized_pnl_usd{0};    // UsdFixedPoint8 raw, net of gas
  std::atomic<std::int64_t> realized_profit_usd{0};  // before gas
  std::atomic<std::int64_t> gas_usd{0};
  std::atomic<std::int64_t> pnl_daily_usd{0};     // PnlTracker snapshot after each booked trade
  std::atomic<std::int64_t> pnl_peak_usd{0};
  std::atomic<std::int64_t> pnl_drawdown_usd{0};
  // Risk state published by the executor thread after each decision / outcome.
  std::atomic<std::uint32_t> in_flight{0};
  std::atomic<std::uint32_t> consecutive_reverts{0};
  // Market data seen by the collector of this process (operator feed, alerts).
  std::atomic<std::uint64_t> last_event_unix_ns{0};  // last market-data frame published
  std::atomic<std::uint64_t> md_last_block{0};       // highest block of a published pool event/snapshot
};

// Risk state for the operator surface (read from any thread).
struct RiskView {
  Reloadable limits;
  std::array<std::uint64_t, 12> rejects{};       // by risk::RejectReason
  std::uint8_t breaker = 0;                       // risk::BreakerState
  std::uint64_t breaker_trips = 0;
  bool kill_switch = false;
  std::uint32_t in_flight = 0;
  std::uint32_t consecutive_reverts = 0;
  std::vector<std::int64_t> exposure_usd;         // per token index, UsdFixedPoint8 raw
};

class Pipeline {
 public:
  // Loads the pool list, registers instruments, loads the key and checks the contract owner
  // (roles that need them). Throws std::runtime_error / std::invalid_argument with context.
  explicit Pipeline(Options options);
  ~Pipeline();
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  // Starts the threads of the configured role; returns once the collector has loaded the
  // snapshot and subscribed (or throws what went wrong).
  void start();
  // Async-signal-safe: asks for a shutdown (performed by shutdown()).
  void request_stop() noexcept { stop_requested_.store(true, std::memory_order_release); }
  [[nodiscard]] bool stop_requested() const noexcept { return stop_requested_.load(std::memory_order_acquire); }
  // Ordered stop: intake, drain, receipts, audit flush, join. Idempotent.
  void shutdown();
  // Applies reloadable settings (thresholds, risk limits) while running. Any thread.
  void reload(const Reloadable& r);

  [[nodiscard]] const Counters& counters() const noexcept;
  // The options the pipeline runs with (the reloadable part as last applied).
  [[nodiscard]] Options options() const;
  // One-line JSON summary of the run (counters, P&L, latency percentiles).
  [[nodiscard]] std::string summary_json() const;
  // The signer's public address (0x…), empty for roles without a key.
  [[nodiscard]] std::string sender_address() const;

  // ---- operator surface (control thread; see telemetry.hpp) ----
  // Hands every queued telemetry record to `f` (one consumer thread); returns how many.
  std::size_t drain_telemetry(const std::function<void(const TelemetryRecord&)>& f);
  [[nodiscard]] std::uint64_t telemetry_dropped() const noexcept;
  [[nodiscard]] const protocol::InstrumentRegistry& registry() const noexcept;
  // Per token index: symbol, address, USD reference price (0 when unknown).
  [[nodiscard]] const std::vector<TokenPrice>& token_prices() const noexcept;
  // Per pool index: block of the last event or snapshot published for it (0: none yet).
  [[nodiscard]] std::uint64_t pool_last_block(std::size_t pool_index) const noexcept;
  // The node session's reconciliation quarantine (false with the builtin collector).
  [[nodiscard]] bool pool_quarantined(std::size_t pool_index) const noexcept;
  // Market-data frames published by type (protocol::TlvType value).
  [[nodiscard]] std::uint64_t events_of_type(std::uint8_t type) const noexcept;
  [[nodiscard]] RiskView risk_view() const;
  [[nodiscard]] bool has_executor() const noexcept;
  // Fill level of each ring this process holds a side of ("market_data", "signals", "tx",
  // "reports"), read from the rings' shared control blocks (relaxed loads: a monitoring view).
  // Any thread after start(); allocates the result.
  struct RingFill {
    const char* name = "";
    std::uint64_t used_bytes = 0;
    std::uint64_t capacity_bytes = 0;
    std::uint64_t rejected_full = 0;
  };
  [[nodiscard]] std::vector<RingFill> ring_fill() const;
  // The udp:// link bridges of this process (torq/torqd/links.hpp), one row per direction:
  // frames moved, sequence gaps and the frames lost in them, duplicates dropped, frames dropped
  // because the local ring was full, invalid packets/frames, publisher restarts. Any thread.
  struct LinkRow {
    std::string name;      // "market_data", "signals"
    bool ingress = false;  // received (true) or sent (false)
    std::uint64_t frames = 0;
    std::uint64_t gaps = 0;
    std::uint64_t missing = 0;
    std::uint64_t duplicates = 0;
    std::uint64_t ring_full = 0;  // receiving: dropped at a full local ring; sending: abandoned at a full
                                  // transmit queue after the stop request
    std::uint64_t bad = 0;
    std::uint64_t restarts = 0;
    std::uint64_t heartbeats = 0;
    std::uint64_t largest = 0;  // largest frame sent (sending side)
    std::uint64_t snapshot_requests = 0;  // receiving side: sent to the source; sending side: acted on
    std::uint64_t resend_requests = 0;    // receiving side: sent to the source; sending side: received
    std::uint64_t resent = 0;             // receiving side: frames that filled a hole late; sending side: frames resent
    std::uint64_t resend_unavailable = 0;  // sending side: asked for but no longer held (or over the budget)
  };
  [[nodiscard]] std::vector<LinkRow> links() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
  std::atomic<bool> stop_requested_{false};
};

}  // namespace torq::torqd
