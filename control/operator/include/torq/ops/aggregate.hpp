// torq/ops/aggregate.hpp — the standalone dashboard: one process (torqd --role dashboard) that
// serves the operator API, the dashboard page and /metrics for a distributed deployment whose
// collector, strategy and executor run as separate processes, each with its own operator API
// (torqd --api-port). docs/operator.md, "Standalone dashboard".
//
// merge_snapshots(): the pure merge of the upstreams' snapshots into one (rules in the .cpp and
// the docs: pools by address with the newest block, opportunities and trades by time, P&L and
// risk from the executor, counters by maximum, sequence gaps summed, latency histograms merged,
// rings named "<roles>:<ring>", health the worst of all; not ready while any upstream is down).
//
// DashboardAggregator: one poller thread per upstream reads GET /api/snapshot (snapshot_codec.hpp)
// every [dashboard] poll_ms and keeps the last good snapshot, so an upstream that stops answering
// is shown down (and the dashboard not ready) without its pools and trades vanishing. tick(), on
// the owner's thread, merges the latest snapshots into the OperatorState its ApiServer serves and
// forwards the operator's commands (kill, resume, risk set, reload) to every upstream with the
// upstream token; a kill that did not reach an upstream is sent again once a second until it has.
//
// Control-plane code: allocates, blocks on HTTP (forwarding, in tick()); never on a pinned core.
// tick(), reload_from_file() and stop() belong to one owner thread; the pollers and the API server
// run their own threads. Start-up throws (bind failure, no token, no upstream).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "torq/ops/config.hpp"
#include "torq/ops/state.hpp"

namespace torq::ops {

struct UpstreamView {
  UpstreamStatus status;            // url, up, error, counts (roles filled from the snapshot)
  std::optional<Snapshot> snapshot; // the last good snapshot, if any
};

// started_unix_ns: the dashboard process's own start (its status.started_unix_ns).
[[nodiscard]] Snapshot merge_snapshots(const std::vector<UpstreamView>& upstreams, std::int64_t started_unix_ns);

class DashboardAggregator {
 public:
  // Starts the pollers and the API server (bind, token and audit file from `config`'s [api];
  // api_port >= 0, torqd --api-port, replaces [api] port).
  DashboardAggregator(std::shared_ptr<const TorqConfig> config, std::string config_path, int api_port = -1);
  ~DashboardAggregator();
  DashboardAggregator(const DashboardAggregator&) = delete;
  DashboardAggregator& operator=(const DashboardAggregator&) = delete;

  void tick();  // forward queued commands, merge the latest snapshots into the served state
  // SIGHUP: re-reads the config (reloadable settings only) and forwards a reload to every upstream.
  std::string reload_from_file();
  void stop();
  [[nodiscard]] std::uint16_t port() const noexcept;
  [[nodiscard]] const OperatorState& state() const noexcept;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace torq::ops
