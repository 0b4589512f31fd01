// torq/torqd/operator_feed.hpp — connects the pipeline to the operator surface (torq::ops):
// starts the HTTP/JSON API + dashboard + /metrics server (ops::ApiServer) when the configuration
// has an [api] section whose token file exists; every tick copies the pipeline's state into the
// OperatorState — status, pools (venue, tokens, last update block, quarantine), opportunities
// and trades (drained from the pipeline's telemetry queues, see telemetry.hpp), per-stage latency
// histograms, P&L, risk exposure and counters — evaluates the [alerts] rules (log + webhook,
// alerts.hpp), and applies the operator's commands (kill, resume, reload, risk set).
//
// Control-plane code: allocates; tick() is called by torqd's main thread (never a hot core).
// Not thread-safe (one owner thread); the ApiServer runs its own thread.
#pragma once

#include <memory>
#include <string>

#include "torq/num/uint256.hpp"
#include "torq/torqd/pipeline.hpp"

namespace torq::ops {
class OperatorState;
}

namespace torq::torqd {

// Raw token units as a decimal string: format_units(1500000, 6) == "1.5".
[[nodiscard]] std::string format_units(const num::U256& raw, unsigned decimals);

class OperatorFeed {
 public:
  // With `config_file`: loads it (alerts run from here on) and starts the API server when its
  // [api] token file exists; otherwise the API is inactive (active() false, `why_inactive()` says
  // why). serve_api false (a distributed process without the dashboard role): the config still
  // drives reloads and alerts, but no server starts. api_port >= 0 (torqd --api-port) replaces
  // [api] port. Throws on a bind failure or a config error.
  OperatorFeed(Pipeline& pipeline, const std::string& config_file, bool serve_api = true, int api_port = -1);
  ~OperatorFeed();
  OperatorFeed(const OperatorFeed&) = delete;
  OperatorFeed& operator=(const OperatorFeed&) = delete;

  void tick();  // apply queued commands, publish state, evaluate alerts
  // SIGHUP: re-reads the config file and applies it exactly as POST /api/reload does (reloadable
  // settings only: structural changes are refused with the keys named; an operator kill stays
  // engaged). Returns what was done; throws ops::ConfigError / std::runtime_error when refused.
  std::string reload_from_file();
  // The state the API serves (tests); nullptr without a config file.
  [[nodiscard]] const ops::OperatorState* state() const noexcept;
  void stop();
  [[nodiscard]] bool active() const noexcept;
  [[nodiscard]] const std::string& why_inactive() const noexcept { return why_; }
  [[nodiscard]] std::uint16_t port() const noexcept;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
  std::string why_;
};

}  // namespace torq::torqd
