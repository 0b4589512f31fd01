// torq/torqd/alerts.hpp — torqd's own alert rules (issue 7 "Metrics and alerts"): thresholds from
// the configuration's [alerts] section (ops::AlertsConfig), evaluated periodically by the control
// thread over a few numbers the pipeline already keeps, written to the log and POSTed to an
// optional webhook.
//
// Rules (each fires once when its condition becomes true and resolves once when it clears):
//   block_lag    node head - block the pipeline has published  >  block_lag_blocks
//   no_events    no market-data frame for more than no_events_s seconds (since start when none yet)
//   breaker      the risk circuit breaker is open (when breaker_tripped = true)
//   drawdown     realized drawdown >= drawdown_usd (when drawdown_usd > 0)
//
// AlertChecker: a pure evaluator (no I/O, no clock of its own); not thread-safe (one owner).
// AlertNotifier: writes one JSON line per transition to a log stream and POSTs the same JSON to
// the webhook from its own thread (bounded queue, 2 s per request), so a slow receiver never
// stalls the control thread. Both allocate; control plane only, never a hot core.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "torq/num/usd_fixed.hpp"
#include "torq/ops/config.hpp"

namespace torq::torqd {

struct AlertInputs {
  std::int64_t now_unix_ns = 0;
  std::int64_t started_unix_ns = 0;
  std::uint64_t head_block = 0;          // the node's latest block
  std::uint64_t local_block = 0;         // highest block the pipeline has published
  std::int64_t last_event_unix_ns = 0;   // last market-data frame, 0 = none yet
  bool breaker_open = false;
  num::UsdFixedPoint8 drawdown{0};
  std::uint64_t ring_fill_pct = 0;  // fill of the fullest ring, percent of its capacity
  std::string fullest_ring;         // its name
};

struct Alert {
  std::string rule;     // "block_lag", "no_events", "breaker", "drawdown", "ring_fill"
  bool firing = false;  // false: resolved
  std::int64_t t_unix_ns = 0;
  std::string message;
};

// {"event":"alert","rule":…,"state":"firing"|"resolved","t_unix_ns":…,"message":…}
[[nodiscard]] std::string alert_json(const Alert& a);

class AlertChecker {
 public:
  explicit AlertChecker(ops::AlertsConfig cfg = {}) : cfg_(std::move(cfg)) {}
  void set_config(const ops::AlertsConfig& cfg) { cfg_ = cfg; }
  [[nodiscard]] const ops::AlertsConfig& config() const noexcept { return cfg_; }
  // Evaluates every rule; returns the transitions since the previous call (fired or resolved).
  [[nodiscard]] std::vector<Alert> evaluate(const AlertInputs& in);
  [[nodiscard]] bool firing(const std::string& rule) const;

 private:
  ops::AlertsConfig cfg_;
  std::map<std::string, bool> state_;
};

struct NotifierStats {
  std::uint64_t logged = 0;
  std::uint64_t posted = 0;        // webhook answered 2xx
  std::uint64_t post_failed = 0;   // unreachable, timeout or non-2xx
  std::uint64_t dropped = 0;       // queue full
};

class AlertNotifier {
 public:
  // `log`: where the JSON lines go (stderr in torqd). Starts the webhook thread.
  explicit AlertNotifier(std::FILE* log);
  ~AlertNotifier();
  AlertNotifier(const AlertNotifier&) = delete;
  AlertNotifier& operator=(const AlertNotifier&) = delete;

  // Logs now; queues a POST when `webhook_url` (http://host:port/path) is set.
  void notify(const Alert& a, const std::string& webhook_url);
  // Waits until the queue is empty (tests, shutdown); false on timeout.
  bool flush(std::chrono::milliseconds limit);
  [[nodiscard]] NotifierStats stats() const;

 private:
  void run();
  std::FILE* log_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<std::string, std::string>> q_;  // url, body
  bool busy_ = false;
  bool stop_ = false;
  NotifierStats stats_;
  std::thread thread_;
};

}  // namespace torq::torqd
