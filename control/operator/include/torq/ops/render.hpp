// torq/ops/render.hpp — JSON views of an operator Snapshot (the /api/* bodies and the dashboard
// WebSocket message) and the Prometheus text exposition (/metrics).
//
// Money is rendered as exact decimal strings ("12.34000000"), block numbers and nanoseconds as
// integers. Node URLs are redacted to scheme://host[:port] (provider URLs often embed API keys).
// Pure functions of their arguments: thread-safe, allocate their result.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "torq/ops/state.hpp"

namespace torq::ops {

[[nodiscard]] std::string redact_url(std::string_view url);

[[nodiscard]] std::string render_status(const Snapshot& s);
// stale_only: only pools older than stale_blocks behind the head block, or quarantined.
[[nodiscard]] std::string render_pools(const Snapshot& s, bool stale_only, std::uint64_t stale_blocks);
[[nodiscard]] std::string render_opportunities(const Snapshot& s);
[[nodiscard]] std::string render_trades(const Snapshot& s);
[[nodiscard]] std::string render_pnl(const Snapshot& s);
[[nodiscard]] std::string render_risk(const Snapshot& s);
[[nodiscard]] std::string render_latency(const Snapshot& s);
// {"type":"snapshot","version":N,"status":…,"pools":…,"opportunities":…,"trades":…,"pnl":…,
//  "risk":…,"latency":…}: the dashboard's WebSocket message.
[[nodiscard]] std::string render_dashboard(const Snapshot& s, std::uint64_t stale_blocks);

// Prometheus text exposition format 0.0.4.
[[nodiscard]] std::string render_prometheus(const Snapshot& s);

// Nanoseconds as an exact decimal number of seconds ("0.000001023").
[[nodiscard]] std::string ns_to_seconds_text(std::uint64_t ns);

}  // namespace torq::ops
