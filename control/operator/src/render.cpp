// JSON views and Prometheus exposition of the operator snapshot (see torq/ops/render.hpp).
#include "torq/ops/render.hpp"

#include <algorithm>

#include "torq/ops/json.hpp"

namespace torq::ops {

namespace {

std::string usd(UsdFixedPoint8 v) { return num::to_string(v); }

std::uint64_t lag(const StatusSnapshot& st) { return st.head_block > st.local_block ? st.head_block - st.local_block : 0; }

std::uint64_t pool_age(const Snapshot& s, const PoolRow& p) {
  return s.status.head_block > p.last_update_block ? s.status.head_block - p.last_update_block : 0;
}

void write_status(json::Writer& w, const Snapshot& s) {
  const auto& st = s.status;
  w.begin_object();
  w.key("mode").str(st.mode);
  w.key("roles").str(st.roles);
  w.key("chain").str(st.chain);
  w.key("chain_id").num(st.chain_id);
  w.key("uptime_s").num(static_cast<std::int64_t>(std::max<std::int64_t>(0, s.taken_unix_ns - st.started_unix_ns) / 1'000'000'000));
  w.key("head_block").num(st.head_block);
  w.key("local_block").num(st.local_block);
  w.key("block_lag").num(lag(st));
  w.key("breaker").str(to_string(st.breaker));
  w.key("breaker_until_unix_ns").num(st.breaker_until_unix_ns);
  w.key("kill_switch").boolean(st.kill_switch);
  w.key("kill_reason").str(st.kill_reason);
  w.key("ready").boolean(st.ready);
  w.key("last_event_age_ms");
  if (st.last_event_unix_ns > 0) w.num(std::max<std::int64_t>(0, s.taken_unix_ns - st.last_event_unix_ns) / 1'000'000);
  else w.null();
  w.key("endpoints").begin_array();
  for (const auto& e : st.endpoints) {
    w.begin_object();
    w.key("url").str(redact_url(e.url));
    w.key("connected").boolean(e.connected);
    w.key("reconnects").num(e.reconnects);
    w.key("last_block").num(e.last_block);
    w.end_object();
  }
  w.end_array();
  w.key("rings").begin_array();
  for (const auto& r : st.rings) {
    w.begin_object();
    w.key("name").str(r.name);
    w.key("used_bytes").num(r.used_bytes);
    w.key("capacity_bytes").num(r.capacity_bytes);
    w.key("fill_pct").num(r.capacity_bytes ? static_cast<double>(r.used_bytes) * 100.0 / static_cast<double>(r.capacity_bytes) : 0.0);
    w.key("drops").num(r.drops);
    w.end_object();
  }
  w.end_array();
  w.key("links").begin_array();  // distributed over udp://: the link bridges, one row per direction
  for (const auto& l : st.links) {
    w.begin_object();
    w.key("name").str(l.name);
    w.key("direction").str(l.ingress ? "in" : "out");
    w.key("frames").num(l.frames);
    w.key("gaps").num(l.gaps);
    w.key("missing").num(l.missing);
    w.key("duplicates").num(l.duplicates);
    w.key("late").num(l.late);
    w.key("snapshot_requests").num(l.snapshot_requests);
    w.key("resend_requests").num(l.resend_requests);
    w.key("resent").num(l.resent);
    w.key("resend_unavailable").num(l.resend_unavailable);
    w.end_object();
  }
  w.end_array();
  w.key("upstreams").begin_array();  // a standalone dashboard: the role processes it aggregates
  for (const auto& u : st.upstreams) {
    w.begin_object();
    w.key("url").str(redact_url(u.url));
    w.key("roles").str(u.roles);
    w.key("up").boolean(u.up);
    w.key("error").str(u.error);
    w.key("last_ok_age_ms");
    if (u.last_ok_unix_ns > 0) w.num(std::max<std::int64_t>(0, s.taken_unix_ns - u.last_ok_unix_ns) / 1'000'000);
    else w.null();
    w.key("polls_failed").num(u.polls_failed);
    w.key("commands_forwarded").num(u.commands_forwarded);
    w.key("commands_failed").num(u.commands_failed);
    w.end_object();
  }
  w.end_array();
  w.end_object();
}

void write_pools(json::Writer& w, const Snapshot& s, bool stale_only, std::uint64_t stale_blocks) {
  w.begin_array();
  for (const auto& p : s.pools) {
    const std::uint64_t age = pool_age(s, p);
    const bool stale = age > stale_blocks;
    if (stale_only && !stale && !p.quarantined) continue;
    w.begin_object();
    w.key("address").str(p.address);
    w.key("venue").str(p.venue);
    w.key("token0").str(p.token0);
    w.key("token1").str(p.token1);
    w.key("pair").str(p.token0 + "/" + p.token1);
    w.key("fee_ppm").num(p.fee_ppm);
    w.key("last_update_block").num(p.last_update_block);
    w.key("age_blocks").num(age);
    w.key("stale").boolean(stale);
    w.key("quarantined").boolean(p.quarantined);
    w.key("quarantine_reason").str(p.quarantine_reason);
    w.end_object();
  }
  w.end_array();
}

void write_opportunities(json::Writer& w, const Snapshot& s) {
  w.begin_array();
  for (auto it = s.opportunities.rbegin(); it != s.opportunities.rend(); ++it) {  // newest first
    const auto& o = *it;
    w.begin_object();
    w.key("id").num(o.id);
    w.key("t_unix_ns").num(o.t_unix_ns);
    w.key("path").str(o.path);
    w.key("size").str(o.size);
    w.key("size_token").str(o.size_token);
    w.key("size_usd").str(usd(o.size_usd));
    w.key("expected_profit_usd").str(usd(o.expected_profit_usd));
    w.key("decision").str(o.decision);
    w.end_object();
  }
  w.end_array();
}

void write_trades(json::Writer& w, const Snapshot& s) {
  w.begin_array();
  for (auto it = s.trades.rbegin(); it != s.trades.rend(); ++it) {
    const auto& t = *it;
    w.begin_object();
    w.key("hash").str(t.hash);
    w.key("nonce").num(t.nonce);
    w.key("status").str(t.status);
    w.key("path").str(t.path);
    w.key("t_unix_ns").num(t.t_unix_ns);
    w.key("block").num(t.block);
    w.key("gas_used").num(t.gas_used);
    w.key("expected_pnl_usd").str(usd(t.expected_pnl_usd));
    w.key("realized_pnl_usd");
    if (t.realized_pnl_usd) w.str(usd(*t.realized_pnl_usd));
    else w.null();
    w.end_object();
  }
  w.end_array();
}

void write_pnl(json::Writer& w, const Snapshot& s) {
  w.begin_object();
  w.key("cumulative_usd").str(usd(s.pnl.cumulative));
  w.key("daily_usd").str(usd(s.pnl.daily));
  w.key("peak_usd").str(usd(s.pnl.peak));
  w.key("drawdown_usd").str(usd(s.pnl.drawdown));
  w.key("trades_won").num(s.pnl.trades_won);
  w.key("trades_lost").num(s.pnl.trades_lost);
  w.key("series").begin_array();
  for (const auto& p : s.pnl_series) {
    w.begin_array().num(p.t_unix_ns).str(usd(p.cumulative)).end_array();
  }
  w.end_array();
  w.end_object();
}

void write_risk(json::Writer& w, const Snapshot& s) {
  const auto& r = s.risk;
  const auto& l = r.limits;
  w.begin_object();
  w.key("limits").begin_object();
  w.key("max_notional_usd").str(usd(l.max_notional_usd));
  w.key("max_in_flight").num(l.max_in_flight);
  w.key("daily_loss_usd").str(usd(l.daily_loss_usd));
  w.key("max_drawdown_usd").str(usd(l.max_drawdown_usd));
  w.key("breaker_reverts").num(l.breaker_reverts);
  w.key("breaker_cooldown_s").num(l.breaker_cooldown_s);
  w.key("stale_blocks").num(l.stale_blocks);
  w.key("max_gas_price_gwei").num(l.max_gas_price_gwei);
  w.key("kill_switch").boolean(l.kill_switch);
  w.key("per_token_exposure_usd").begin_object();
  for (const auto& [k, v] : l.per_token_exposure_usd) w.key(k).str(usd(v));
  w.end_object();
  w.end_object();
  w.key("in_flight").num(r.in_flight);
  w.key("consecutive_reverts").num(r.consecutive_reverts);
  w.key("exposure_usd").begin_object();
  for (const auto& [k, v] : r.exposure_usd) w.key(k).str(usd(v));
  w.end_object();
  w.key("rejects_by_reason").begin_object();
  for (const auto& [k, v] : r.rejects_by_reason) w.key(k).num(v);
  w.end_object();
  w.end_object();
}

void write_latency(json::Writer& w, const Snapshot& s) {
  w.begin_array();
  for (const auto& l : s.latency) {
    const auto& h = l.histogram;
    w.begin_object();
    w.key("stage").str(l.stage);
    w.key("count").num(h.count());
    w.key("min_ns").num(h.min());
    w.key("p50_ns").num(h.value_at(50, 100));
    w.key("p90_ns").num(h.value_at(90, 100));
    w.key("p99_ns").num(h.value_at(99, 100));
    w.key("p999_ns").num(h.value_at(999, 1000));
    w.key("max_ns").num(h.max());
    w.key("buckets").begin_array();  // [lower_ns, upper_ns, count] for non-empty buckets
    for (std::size_t i = 0; i < LatencyHistogram::kBuckets; ++i) {
      if (h.bucket_count(i) == 0) continue;
      w.begin_array().num(LatencyHistogram::bucket_lower(i)).num(LatencyHistogram::bucket_upper(i)).num(h.bucket_count(i)).end_array();
    }
    w.end_array();
    w.end_object();
  }
  w.end_array();
}

template <class F>
std::string one(F&& f) {
  json::Writer w;
  f(w);
  return w.take();
}

}  // namespace

std::string redact_url(std::string_view url) {
  const auto p = url.find("://");
  if (p == std::string_view::npos) return "(redacted)";
  auto host_start = p + 3;
  auto end = url.find_first_of("/?#", host_start);
  std::string_view host = url.substr(host_start, end == std::string_view::npos ? std::string_view::npos : end - host_start);
  if (auto at = host.rfind('@'); at != std::string_view::npos) host = host.substr(at + 1);  // user:pass@
  std::string out(url.substr(0, p + 3));
  out += host;
  return out;
}

std::string render_status(const Snapshot& s) { return one([&](json::Writer& w) { write_status(w, s); }); }
std::string render_pools(const Snapshot& s, bool stale_only, std::uint64_t stale_blocks) {
  return one([&](json::Writer& w) { write_pools(w, s, stale_only, stale_blocks); });
}
std::string render_opportunities(const Snapshot& s) { return one([&](json::Writer& w) { write_opportunities(w, s); }); }
std::string render_trades(const Snapshot& s) { return one([&](json::Writer& w) { write_trades(w, s); }); }
std::string render_pnl(const Snapshot& s) { return one([&](json::Writer& w) { write_pnl(w, s); }); }
std::string render_risk(const Snapshot& s) { return one([&](json::Writer& w) { write_risk(w, s); }); }
std::string render_latency(const Snapshot& s) { return one([&](json::Writer& w) { write_latency(w, s); }); }

std::string render_dashboard(const Snapshot& s, std::uint64_t stale_blocks) {
  json::Writer w;
  w.begin_object();
  w.key("type").str("snapshot");
  w.key("version").num(s.version);
  w.key("t_unix_ns").num(s.taken_unix_ns);
  w.key("status");
  write_status(w, s);
  w.key("pools");
  write_pools(w, s, false, stale_blocks);
  w.key("opportunities");
  write_opportunities(w, s);
  w.key("trades");
  write_trades(w, s);
  w.key("pnl");
  write_pnl(w, s);
  w.key("risk");
  write_risk(w, s);
  w.key("latency");
  write_latency(w, s);
  w.end_object();
  return w.take();
}

std::string ns_to_seconds_text(std::uint64_t ns) {
  std::string frac = std::to_string(ns % 1'000'000'000ULL);
  frac.insert(0, 9 - frac.size(), '0');
  while (frac.size() > 1 && frac.back() == '0') frac.pop_back();
  return std::to_string(ns / 1'000'000'000ULL) + "." + frac;
}

namespace {

std::string label(std::string_view v) {
  std::string o;
  for (char c : v) {
    if (c == '\\') o += "\\\\";
    else if (c == '"') o += "\\\"";
    else if (c == '\n') o += "\\n";
    else o += c;
  }
  return o;
}

class Prom {
 public:
  void family(std::string_view name, std::string_view type, std::string_view help) {
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    out_ += help;
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
  }
  void sample(std::string_view name, std::string_view labels, std::string_view value) {
    out_ += name;
    if (!labels.empty()) {
      out_ += '{';
      out_ += labels;
      out_ += '}';
    }
    out_ += ' ';
    out_ += value;
    out_ += '\n';
  }
  void sample(std::string_view name, std::string_view labels, std::uint64_t v) { sample(name, labels, std::to_string(v)); }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

}  // namespace

std::string render_prometheus(const Snapshot& s) {
  Prom p;
  const auto& st = s.status;
  const auto& c = s.counters;
  p.family("torq_up", "gauge", "1 while torqd serves metrics.");
  p.sample("torq_up", "", 1);
  p.family("torq_ready", "gauge", "1 once backfill is done and pools are loaded.");
  p.sample("torq_ready", "", st.ready ? 1 : 0);
  p.family("torq_uptime_seconds", "gauge", "Seconds since torqd started.");
  p.sample("torq_uptime_seconds", "", static_cast<std::uint64_t>(std::max<std::int64_t>(0, s.taken_unix_ns - st.started_unix_ns) / 1'000'000'000));
  p.family("torq_events_total", "counter", "Market events received, by type.");
  for (const auto& [k, v] : c.events_by_type) p.sample("torq_events_total", "type=\"" + label(k) + "\"", v);
  p.family("torq_last_event_age_seconds", "gauge", "Seconds since the last market event (-1: none yet).");
  if (st.last_event_unix_ns > 0)
    p.sample("torq_last_event_age_seconds", "",
             ns_to_seconds_text(static_cast<std::uint64_t>(std::max<std::int64_t>(0, s.taken_unix_ns - st.last_event_unix_ns))));
  else
    p.sample("torq_last_event_age_seconds", "", "-1");
  p.family("torq_head_block", "gauge", "Highest block seen from any node.");
  p.sample("torq_head_block", "", st.head_block);
  p.family("torq_local_block", "gauge", "Block the pool book is at.");
  p.sample("torq_local_block", "", st.local_block);
  p.family("torq_block_lag", "gauge", "head_block - local_block.");
  p.sample("torq_block_lag", "", lag(st));
  p.family("torq_endpoint_connected", "gauge", "1 when the node session is connected.");
  for (const auto& e : st.endpoints) p.sample("torq_endpoint_connected", "endpoint=\"" + label(redact_url(e.url)) + "\"", e.connected ? 1 : 0);
  p.family("torq_endpoint_reconnects_total", "counter", "Node session reconnects.");
  for (const auto& e : st.endpoints) p.sample("torq_endpoint_reconnects_total", "endpoint=\"" + label(redact_url(e.url)) + "\"", e.reconnects);
  if (!st.upstreams.empty()) {  // a standalone dashboard: one series per role process it aggregates
    p.family("torq_upstream_up", "gauge", "1 when the dashboard's last poll of this role process's operator API succeeded.");
    for (const auto& u : st.upstreams)
      p.sample("torq_upstream_up", "upstream=\"" + label(redact_url(u.url)) + "\",roles=\"" + label(u.roles) + "\"", u.up ? 1 : 0);
    p.family("torq_upstream_poll_failures_total", "counter", "Failed polls of the role process's operator API.");
    for (const auto& u : st.upstreams)
      p.sample("torq_upstream_poll_failures_total", "upstream=\"" + label(redact_url(u.url)) + "\"", u.polls_failed);
    p.family("torq_upstream_commands_failed_total", "counter", "Operator commands the dashboard could not forward to the role process.");
    for (const auto& u : st.upstreams)
      p.sample("torq_upstream_commands_failed_total", "upstream=\"" + label(redact_url(u.url)) + "\"", u.commands_failed);
  }
  p.family("torq_ring_used_bytes", "gauge", "Bytes queued in the ring.");
  for (const auto& r : st.rings) p.sample("torq_ring_used_bytes", "ring=\"" + label(r.name) + "\"", r.used_bytes);
  p.family("torq_ring_capacity_bytes", "gauge", "Ring data-area bytes.");
  for (const auto& r : st.rings) p.sample("torq_ring_capacity_bytes", "ring=\"" + label(r.name) + "\"", r.capacity_bytes);
  p.family("torq_ring_drops_total", "counter", "Frames refused because the ring was full.");
  for (const auto& r : st.rings) p.sample("torq_ring_drops_total", "ring=\"" + label(r.name) + "\"", r.drops);
  p.family("torq_sequence_gaps_total", "counter", "Protocol V2 sequence gaps detected.");
  p.sample("torq_sequence_gaps_total", "", c.sequence_gaps);
  if (!st.links.empty()) {  // distributed over udp://: per link bridge and direction (in, out)
    const auto link_label = [](const LinkStatus& l) { return "link=\"" + label(l.name) + "\",direction=\"" + (l.ingress ? "in" : "out") + "\""; };
    const auto family = [&](const char* name, const char* help, auto field, bool in, bool out) {
      p.family(name, "counter", help);
      for (const auto& l : st.links)
        if (l.ingress ? in : out) p.sample(name, link_label(l), field(l));
    };
    family("torq_link_frames_total", "Frames through a udp:// link bridge: delivered in order (in), sent (out).",
           [](const LinkStatus& l) { return l.frames; }, true, true);
    family("torq_link_gaps_total", "Sequence holes a link's receiver could not fill (each asks for snapshots).",
           [](const LinkStatus& l) { return l.gaps; }, true, false);
    family("torq_link_missing_frames_total", "Frames lost in those holes.", [](const LinkStatus& l) { return l.missing; }, true, false);
    family("torq_link_duplicates_total", "Frames a link's receiver dropped as already delivered.",
           [](const LinkStatus& l) { return l.duplicates; }, true, false);
    family("torq_link_late_total", "Frames that filled a hole late (a resend or the other line): repaired, not lost.",
           [](const LinkStatus& l) { return l.late; }, true, false);
    family("torq_link_snapshot_requests_total", "Snapshot requests: sent to the source (in), acted on (out).",
           [](const LinkStatus& l) { return l.snapshot_requests; }, true, true);
    family("torq_link_resend_requests_total", "Resend requests: sent to the source (in), received (out).",
           [](const LinkStatus& l) { return l.resend_requests; }, true, true);
    family("torq_link_frames_resent_total", "Frames the source sent again on request.", [](const LinkStatus& l) { return l.resent; },
           false, true);
    family("torq_link_resend_unavailable_total", "Frames asked for that the source no longer held or that were over its resend budget.",
           [](const LinkStatus& l) { return l.resend_unavailable; }, false, true);
  }
  p.family("torq_reorgs_total", "counter", "Chain reorganisations unwound.");
  p.sample("torq_reorgs_total", "", c.reorgs);
  p.family("torq_opportunities_found_total", "counter", "Profitable cycles found.");
  p.sample("torq_opportunities_found_total", "", c.opportunities_found);
  p.family("torq_opportunities_taken_total", "counter", "Opportunities that passed risk and were sent.");
  p.sample("torq_opportunities_taken_total", "", c.opportunities_taken);
  p.family("torq_opportunities_rejected_total", "counter", "Opportunities refused by a risk gate, by reason.");
  for (const auto& [k, v] : s.risk.rejects_by_reason) p.sample("torq_opportunities_rejected_total", "reason=\"" + label(k) + "\"", v);
  p.family("torq_tx_sent_total", "counter", "Transactions sent.");
  p.sample("torq_tx_sent_total", "", c.tx_sent);
  p.family("torq_tx_mined_total", "counter", "Transactions mined successfully.");
  p.sample("torq_tx_mined_total", "", c.tx_mined);
  p.family("torq_tx_reverted_total", "counter", "Transactions mined but reverted.");
  p.sample("torq_tx_reverted_total", "", c.tx_reverted);
  p.family("torq_tx_replaced_total", "counter", "Stuck transactions replaced at the same nonce with higher fees (accepted by the node).");
  p.sample("torq_tx_replaced_total", "", c.tx_replaced);
  p.family("torq_nonce_resyncs_total", "counter", "Local nonce re-read from the node after a nonce error or a receipt timeout.");
  p.sample("torq_nonce_resyncs_total", "", c.nonce_resyncs);
  p.family("torq_in_flight", "gauge", "Transactions sent and not yet final.");
  p.sample("torq_in_flight", "", s.risk.in_flight);
  p.family("torq_realized_pnl_usd", "gauge", "Realized P&L, all time, USD.");
  p.sample("torq_realized_pnl_usd", "", num::to_string(s.pnl.cumulative));
  p.family("torq_daily_pnl_usd", "gauge", "Realized P&L since 00:00 UTC, USD.");
  p.sample("torq_daily_pnl_usd", "", num::to_string(s.pnl.daily));
  p.family("torq_drawdown_usd", "gauge", "Peak minus cumulative realized P&L, USD.");
  p.sample("torq_drawdown_usd", "", num::to_string(s.pnl.drawdown));
  p.family("torq_breaker_open", "gauge", "1 while the revert circuit breaker is open (half-open counts as open).");
  p.sample("torq_breaker_open", "", st.breaker == BreakerState::closed ? 0 : 1);
  p.family("torq_kill_switch", "gauge", "1 while the kill switch is engaged.");
  p.sample("torq_kill_switch", "", st.kill_switch ? 1 : 0);
  p.family("torq_stage_latency_seconds", "histogram", "Per-stage latency (exact integer-ns log-linear buckets, exported at 2^k-1 ns).");
  for (const auto& l : s.latency) {
    const auto& h = l.histogram;
    const std::string st_label = "stage=\"" + label(l.stage) + "\"";
    for (unsigned k = 6; k <= 34; ++k) {  // 63 ns .. ~17 s
      const std::uint64_t le = (std::uint64_t{1} << k) - 1;
      p.sample("torq_stage_latency_seconds_bucket", st_label + ",le=\"" + ns_to_seconds_text(le) + "\"", h.count_at_or_below(le));
    }
    p.sample("torq_stage_latency_seconds_bucket", st_label + ",le=\"+Inf\"", h.count());
    p.sample("torq_stage_latency_seconds_sum", st_label, ns_to_seconds_text(h.sum()));
    p.sample("torq_stage_latency_seconds_count", st_label, h.count());
  }
  return p.take();
}

}  // namespace torq::ops
