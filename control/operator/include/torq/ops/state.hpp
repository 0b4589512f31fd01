// torq/ops/state.hpp — the operator state model and the operator command queue.
//
// Owns OperatorState: a mutex-protected snapshot store that the pipeline's control thread writes
// into (off the hot path: it copies counters, rows and histograms it already keeps) and that the
// API server, the dashboard WebSocket and /metrics read as whole-value copies (Snapshot). Recent
// opportunities and trades are bounded (oldest dropped); the P&L series is bounded too.
// Owns CommandQueue: operator commands (kill, resume, reload, risk set) that the API enqueues and
// the pipeline drains from its control thread; kill_flag() is an atomic the hot path may poll with
// a relaxed load (set by kill immediately, cleared by resume). The queue is bounded for API callers
// (try_push, CommandQueue::kDefaultCapacity); kill is never refused.
//
// Thread-safety: every member function of OperatorState and CommandQueue is safe to call from any
// thread. Allocation: yes (strings, vectors), never meant for pinned cores.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "torq/num/usd_fixed.hpp"
#include "torq/ops/config.hpp"
#include "torq/ops/histogram.hpp"

namespace torq::ops {

struct EndpointStatus {
  std::string url;              // shown redacted (scheme://host[:port]) by the API
  bool connected = false;
  std::uint64_t reconnects = 0;
  std::uint64_t last_block = 0;
};

struct RingStatus {
  std::string name;             // e.g. "market_data"
  std::uint64_t capacity_bytes = 0;
  std::uint64_t used_bytes = 0;
  std::uint64_t drops = 0;      // frames refused because the ring was full (explicit back pressure)
};

// A udp:// link bridge of a distributed deployment (docs/torqd.md), one row per direction. "in":
// frames delivered in order, sequence gaps and the frames lost in them, duplicates dropped, frames
// that filled a hole late (a resend or line B), snapshot and resend requests sent to the source.
// "out": frames sent, snapshot requests acted on, resend requests received, frames resent, frames
// asked for that were no longer held or over the resend budget.
struct LinkStatus {
  std::string name;             // "market_data", "signals"
  bool ingress = false;         // "in" (received) or "out" (sent)
  std::uint64_t frames = 0;
  std::uint64_t gaps = 0;
  std::uint64_t missing = 0;
  std::uint64_t duplicates = 0;
  std::uint64_t late = 0;
  std::uint64_t snapshot_requests = 0;
  std::uint64_t resend_requests = 0;
  std::uint64_t resent = 0;
  std::uint64_t resend_unavailable = 0;
  bool operator==(const LinkStatus&) const = default;
};

// A standalone dashboard process (torqd --role dashboard, [dashboard] upstreams): one row per
// role process whose operator surface it aggregates.
struct UpstreamStatus {
  std::string url;              // the upstream's operator API, e.g. "http://127.0.0.1:8788"
  std::string roles;            // what the upstream reported ("collector", "strategy+executor", ...)
  bool up = false;              // the last poll succeeded
  std::string error;            // why the last poll failed
  std::int64_t last_ok_unix_ns = 0;
  std::uint64_t polls_failed = 0;
  std::uint64_t commands_forwarded = 0;
  std::uint64_t commands_failed = 0;
};

enum class BreakerState : std::uint8_t { closed, open, half_open };
[[nodiscard]] std::string_view to_string(BreakerState b) noexcept;

struct StatusSnapshot {
  std::string mode = "monolith";
  std::string roles;                       // distributed: comma-separated roles of this process
  std::string chain;
  std::uint64_t chain_id = 0;
  std::int64_t started_unix_ns = 0;
  std::vector<EndpointStatus> endpoints;
  std::uint64_t head_block = 0;            // highest block seen from any node
  std::uint64_t local_block = 0;           // block the pool book is at
  std::vector<RingStatus> rings;
  std::vector<LinkStatus> links;           // distributed over udp://: this process's link bridges
  BreakerState breaker = BreakerState::closed;
  std::int64_t breaker_until_unix_ns = 0;
  bool kill_switch = false;
  std::string kill_reason;
  std::int64_t last_event_unix_ns = 0;     // last market event received
  bool ready = false;                      // backfill done, pools loaded: /readyz
  std::vector<UpstreamStatus> upstreams;   // standalone dashboard only
};

struct PoolRow {
  std::string address;
  std::string venue;
  std::string token0;                      // symbols when known
  std::string token1;
  std::uint32_t fee_ppm = 0;
  std::uint64_t last_update_block = 0;
  bool quarantined = false;
  std::string quarantine_reason;
};

struct OpportunityRow {
  std::uint64_t id = 0;
  std::int64_t t_unix_ns = 0;
  std::string path;                        // e.g. "USDC >quickswap> WETH >sushiswap> USDC"
  std::string size;                        // input amount, decimal token units
  std::string size_token;
  UsdFixedPoint8 size_usd{0};
  UsdFixedPoint8 expected_profit_usd{0};
  std::string decision;                    // "taken", or the risk reject reason
};

struct TradeRow {
  std::string hash;
  std::uint64_t nonce = 0;
  std::string status;                      // pending | mined | reverted | replaced | dropped
  std::string path;
  std::int64_t t_unix_ns = 0;
  std::uint64_t block = 0;
  std::uint64_t gas_used = 0;
  UsdFixedPoint8 expected_pnl_usd{0};
  std::optional<UsdFixedPoint8> realized_pnl_usd;  // known once the receipt is in
};

struct PnlPoint {
  std::int64_t t_unix_ns = 0;
  UsdFixedPoint8 cumulative{0};
};

struct PnlSnapshot {
  UsdFixedPoint8 cumulative{0};   // realized, all time
  UsdFixedPoint8 daily{0};        // realized since 00:00 UTC
  UsdFixedPoint8 peak{0};
  UsdFixedPoint8 drawdown{0};     // peak - cumulative
  std::uint64_t trades_won = 0;
  std::uint64_t trades_lost = 0;
};

struct RiskSnapshot {
  RiskConfig limits;
  std::map<std::string, std::uint64_t> rejects_by_reason;
  std::map<std::string, UsdFixedPoint8> exposure_usd;    // per token
  std::uint32_t in_flight = 0;
  std::uint32_t consecutive_reverts = 0;
};

struct Counters {
  std::map<std::string, std::uint64_t> events_by_type;   // "v2_sync", "v3_swap", ...
  std::uint64_t sequence_gaps = 0;
  std::uint64_t reorgs = 0;
  std::uint64_t opportunities_found = 0;
  std::uint64_t opportunities_taken = 0;                 // rejected: RiskSnapshot::rejects_by_reason
  std::uint64_t tx_sent = 0;
  std::uint64_t tx_mined = 0;
  std::uint64_t tx_reverted = 0;
  std::uint64_t tx_replaced = 0;    // same-nonce replacements/resends of stuck transactions the node accepted
  std::uint64_t nonce_resyncs = 0;  // local nonce re-read from the node after a nonce error or a timeout
};

struct StageLatency {
  std::string stage;                                     // "decode", "book", "search", "sign", ...
  LatencyHistogram histogram;
};

struct Snapshot {
  std::uint64_t version = 0;
  std::int64_t taken_unix_ns = 0;
  StatusSnapshot status;
  std::vector<PoolRow> pools;
  std::vector<OpportunityRow> opportunities;             // oldest first
  std::vector<TradeRow> trades;                          // oldest first
  PnlSnapshot pnl;
  std::vector<PnlPoint> pnl_series;                      // oldest first
  RiskSnapshot risk;
  Counters counters;
  std::vector<StageLatency> latency;
};

[[nodiscard]] std::int64_t unix_now_ns() noexcept;

class OperatorState {
 public:
  explicit OperatorState(std::size_t opportunities_kept = 200, std::size_t trades_kept = 200,
                         std::size_t pnl_points_kept = 2000);

  void set_status(StatusSnapshot s);
  void set_pools(std::vector<PoolRow> pools);
  void add_opportunity(OpportunityRow o);
  void upsert_trade(TradeRow t);                         // by hash: a later status replaces the row
  void set_pnl(PnlSnapshot p);                           // also appends a point to the series
  void set_risk(RiskSnapshot r);
  void set_counters(Counters c);
  void set_latency(const std::string& stage, const LatencyHistogram& h);
  // Any other change, done under the lock (e.g. flip one flag); bumps the version.
  void update(const std::function<void(Snapshot&)>& f);
  void set_limits(std::size_t opportunities_kept, std::size_t trades_kept);
  // Replaces the whole state (opportunities, trades and the P&L series included, trimmed to the
  // limits): how a standalone dashboard installs the snapshot it merged from its upstreams.
  void replace(Snapshot s);

  [[nodiscard]] Snapshot snapshot() const;
  [[nodiscard]] std::uint64_t version() const noexcept { return version_.load(std::memory_order_acquire); }

 private:
  void bump() noexcept;
  mutable std::mutex mu_;
  Snapshot s_;
  std::deque<OpportunityRow> opps_;
  std::deque<TradeRow> trades_;
  std::deque<PnlPoint> series_;
  std::size_t opps_kept_, trades_kept_, points_kept_;
  std::atomic<std::uint64_t> version_{0};
};

enum class CommandKind : std::uint8_t { kill, resume, reload, risk_set };
[[nodiscard]] std::string_view to_string(CommandKind k) noexcept;

struct Command {
  std::uint64_t id = 0;
  CommandKind kind = CommandKind::kill;
  std::int64_t issued_unix_ns = 0;
  std::string actor;                                     // remote address of the operator
  std::string reason;                                    // kill: free text
  std::string key;                                       // risk_set
  std::string value;                                     // risk_set
  std::shared_ptr<const TorqConfig> config;              // reload: the validated new config
};

class CommandQueue {
 public:
  static constexpr std::size_t kDefaultCapacity = 1024;
  explicit CommandQueue(std::size_t capacity = kDefaultCapacity) noexcept : capacity_(capacity) {}

  // Enqueues; returns the command id (1, 2, ...). kill/resume also set/clear kill_flag() now.
  // Never refuses (a kill must always get through; SIGHUP reloads).
  std::uint64_t push(Command c);
  // Like push, but while size() >= capacity it refuses: returns 0 and changes nothing (kill_flag()
  // included). What the API uses for everything but kill, so that a client posting commands
  // faster than the control thread drains them cannot grow the queue without bound.
  [[nodiscard]] std::uint64_t try_push(Command c);
  [[nodiscard]] std::optional<Command> try_pop();
  [[nodiscard]] std::vector<Command> drain();
  [[nodiscard]] std::size_t size() const;
  [[nodiscard]] const std::atomic<bool>& kill_flag() const noexcept { return kill_; }

 private:
  std::uint64_t push_locked(Command c);
  mutable std::mutex mu_;
  std::deque<Command> q_;
  std::size_t capacity_;
  std::uint64_t next_id_ = 1;
  std::atomic<bool> kill_{false};
};

}  // namespace torq::ops
