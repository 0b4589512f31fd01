// The standalone dashboard: merge of the role processes' snapshots and the aggregator that polls
// them and forwards operator commands (see torq/ops/aggregate.hpp).
#include "torq/ops/aggregate.hpp"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <thread>

#include "torq/ops/api_server.hpp"
#include "torq/ops/client.hpp"
#include "torq/ops/json.hpp"
#include "torq/ops/render.hpp"
#include "torq/ops/snapshot_codec.hpp"

namespace torq::ops {

namespace {

bool runs_executor(const std::string& roles) {
  return roles.find("executor") != std::string::npos || roles == "monolith";
}

int breaker_rank(BreakerState b) {
  return b == BreakerState::open ? 2 : b == BreakerState::half_open ? 1 : 0;
}

}  // namespace

Snapshot merge_snapshots(const std::vector<UpstreamView>& ups, std::int64_t started_unix_ns) {
  Snapshot m;
  StatusSnapshot& st = m.status;
  st.mode = "distributed";
  st.roles = "dashboard";
  st.started_unix_ns = started_unix_ns;
  st.ready = !ups.empty();
  const Snapshot* exec = nullptr;  // P&L, risk and the P&L series come from the executor
  std::map<std::string, std::size_t> pool_at;
  std::map<std::string, std::size_t> trade_at;
  for (const UpstreamView& u : ups) {
    UpstreamStatus row = u.status;
    if (u.snapshot) row.roles = u.snapshot->status.roles.empty() ? u.snapshot->status.mode : u.snapshot->status.roles;
    st.upstreams.push_back(row);
    if (!u.status.up || !u.snapshot || !u.snapshot->status.ready) st.ready = false;
    if (!u.snapshot) continue;
    const Snapshot& s = *u.snapshot;
    const StatusSnapshot& us = s.status;
    if (st.chain.empty()) st.chain = us.chain;
    if (st.chain_id == 0) st.chain_id = us.chain_id;
    for (const EndpointStatus& e : us.endpoints) {
      auto it = std::find_if(st.endpoints.begin(), st.endpoints.end(), [&](const EndpointStatus& x) { return x.url == e.url; });
      if (it == st.endpoints.end()) {
        st.endpoints.push_back(e);
      } else {
        it->connected = it->connected || e.connected;
        it->reconnects = std::max(it->reconnects, e.reconnects);
        it->last_block = std::max(it->last_block, e.last_block);
      }
    }
    st.head_block = std::max(st.head_block, us.head_block);
    st.local_block = std::max(st.local_block, us.local_block);
    for (RingStatus r : us.rings) {
      r.name = row.roles + ":" + r.name;
      st.rings.push_back(std::move(r));
    }
    for (LinkStatus l : us.links) {
      l.name = row.roles + ":" + l.name;
      st.links.push_back(std::move(l));
    }
    if (breaker_rank(us.breaker) > breaker_rank(st.breaker)) st.breaker = us.breaker;
    st.breaker_until_unix_ns = std::max(st.breaker_until_unix_ns, us.breaker_until_unix_ns);
    if (us.kill_switch) {
      if (!st.kill_switch) st.kill_reason = us.kill_reason;
      st.kill_switch = true;
    }
    st.last_event_unix_ns = std::max(st.last_event_unix_ns, us.last_event_unix_ns);

    for (const PoolRow& p : s.pools) {
      auto [it, fresh] = pool_at.emplace(p.address, m.pools.size());
      if (fresh) {
        m.pools.push_back(p);
        continue;
      }
      PoolRow& have = m.pools[it->second];
      have.last_update_block = std::max(have.last_update_block, p.last_update_block);
      if (p.quarantined && !have.quarantined) {
        have.quarantined = true;
        have.quarantine_reason = p.quarantine_reason;
      }
    }
    m.opportunities.insert(m.opportunities.end(), s.opportunities.begin(), s.opportunities.end());
    for (const TradeRow& t : s.trades) {
      auto [it, fresh] = trade_at.emplace(t.hash, m.trades.size());
      if (fresh) m.trades.push_back(t);
      else if (t.t_unix_ns >= m.trades[it->second].t_unix_ns) m.trades[it->second] = t;
    }
    if (exec == nullptr && runs_executor(row.roles)) exec = &s;

    const Counters& c = s.counters;
    Counters& mc = m.counters;
    for (const auto& [k, v] : c.events_by_type) mc.events_by_type[k] = std::max(mc.events_by_type[k], v);
    mc.sequence_gaps += c.sequence_gaps;  // each process counts the gaps on the links it receives
    mc.reorgs = std::max(mc.reorgs, c.reorgs);
    mc.opportunities_found = std::max(mc.opportunities_found, c.opportunities_found);
    mc.opportunities_taken = std::max(mc.opportunities_taken, c.opportunities_taken);
    mc.tx_sent = std::max(mc.tx_sent, c.tx_sent);
    mc.tx_mined = std::max(mc.tx_mined, c.tx_mined);
    mc.tx_reverted = std::max(mc.tx_reverted, c.tx_reverted);
    mc.tx_replaced = std::max(mc.tx_replaced, c.tx_replaced);
    mc.nonce_resyncs = std::max(mc.nonce_resyncs, c.nonce_resyncs);

    for (const StageLatency& l : s.latency) {
      auto it = std::find_if(m.latency.begin(), m.latency.end(), [&](const StageLatency& x) { return x.stage == l.stage; });
      if (it == m.latency.end()) m.latency.push_back(l);
      else it->histogram.merge(l.histogram);
    }
  }
  std::stable_sort(m.opportunities.begin(), m.opportunities.end(),
                   [](const OpportunityRow& a, const OpportunityRow& b) { return a.t_unix_ns < b.t_unix_ns; });
  std::stable_sort(m.trades.begin(), m.trades.end(), [](const TradeRow& a, const TradeRow& b) { return a.t_unix_ns < b.t_unix_ns; });
  if (exec != nullptr) {
    m.pnl = exec->pnl;
    m.pnl_series = exec->pnl_series;
    m.risk = exec->risk;
  }
  return m;
}

// ---------------------------------------------------------------------------------------------

namespace {

struct Poller {
  std::string url;
  std::mutex mu;
  UpstreamView view;  // under mu
  std::thread thread;
};

}  // namespace

struct DashboardAggregator::Impl {
  std::shared_ptr<const TorqConfig> config;  // the owner thread's (reload replaces it)
  std::string config_path;
  std::uint32_t poll_ms = 250;  // [dashboard] is structural: fixed for the pollers' lifetime
  std::string upstream_token;
  OperatorState state;
  CommandQueue commands;
  std::unique_ptr<JsonLinesAuditFile> audit;
  std::unique_ptr<ApiServer> server;
  std::vector<std::unique_ptr<Poller>> pollers;
  std::mutex stop_mu;
  std::condition_variable stop_cv;
  bool stopping = false;  // under stop_mu
  std::int64_t started = unix_now_ns();
  // Upstreams (by index) a kill has not reached yet, with the reason; retried once a second.
  std::map<std::size_t, std::string> pending_kill;
  std::chrono::steady_clock::time_point next_kill_retry{};
  std::map<std::size_t, std::pair<std::uint64_t, std::uint64_t>> forwarded;  // index -> (ok, failed)

  std::chrono::milliseconds timeout() const {
    return std::chrono::milliseconds(std::clamp<std::uint32_t>(poll_ms * 4, 500, 3000));
  }

  void poll_loop(Poller& p) {
    for (;;) {
      const ClientResponse r = http_request(p.url, "GET", "/api/snapshot", upstream_token, {}, timeout());
      std::string err;
      std::optional<Snapshot> snap;
      if (r.error != ClientError::none) err = r.message;
      else if (r.status != 200) err = "HTTP " + std::to_string(r.status) + ": " + r.body.substr(0, json::utf8_prefix_length(r.body, 200));
      else snap = decode_snapshot(r.body, &err);
      {
        std::lock_guard lk(p.mu);
        p.view.status.up = snap.has_value();
        if (snap) {
          p.view.status.error.clear();
          p.view.status.last_ok_unix_ns = unix_now_ns();
          p.view.snapshot = std::move(snap);
        } else {
          if (p.view.status.error != err) std::fprintf(stderr, "torqd: dashboard: upstream %s: %s\n", redact_url(p.url).c_str(), err.c_str());
          p.view.status.error = err;
          ++p.view.status.polls_failed;
        }
      }
      std::unique_lock lk(stop_mu);
      if (stop_cv.wait_for(lk, std::chrono::milliseconds(poll_ms), [&] { return stopping; })) return;
    }
  }

  // POSTs `target` with `body` to upstream i; true when it accepted (2xx).
  bool forward(std::size_t i, std::string_view target, const std::string& body) {
    const Poller& p = *pollers[i];
    const ClientResponse r = http_request(p.url, "POST", target, upstream_token, body, timeout());
    const bool ok = r.error == ClientError::none && r.status >= 200 && r.status < 300;
    auto& f = forwarded[i];
    if (ok) {
      ++f.first;
    } else {
      ++f.second;
      std::fprintf(stderr, "torqd: dashboard: %.*s to %s failed: %s\n", static_cast<int>(target.size()), target.data(),
                   redact_url(p.url).c_str(),
                   r.error != ClientError::none ? r.message.c_str()
                                                : ("HTTP " + std::to_string(r.status) + " " + r.body.substr(0, json::utf8_prefix_length(r.body, 200))).c_str());
    }
    return ok;
  }

  static std::string body_of(std::initializer_list<std::pair<const char*, std::string>> kv) {
    json::Writer w;
    w.begin_object();
    for (const auto& [k, v] : kv) w.key(k).str(v);
    w.end_object();
    return w.take();
  }

  void apply(const Command& c) {
    for (std::size_t i = 0; i < pollers.size(); ++i) {
      switch (c.kind) {
        case CommandKind::kill:
          if (forward(i, "/api/kill", body_of({{"reason", c.reason}}))) {
            pending_kill.erase(i);
          } else {
            pending_kill[i] = c.reason;
            next_kill_retry = std::chrono::steady_clock::now() + std::chrono::seconds(1);
          }
          break;
        case CommandKind::resume:
          pending_kill.erase(i);
          (void)forward(i, "/api/resume", "");
          break;
        case CommandKind::risk_set: (void)forward(i, "/api/risk", body_of({{"key", c.key}, {"value", c.value}})); break;
        case CommandKind::reload: (void)forward(i, "/api/reload", ""); break;
      }
    }
    if (c.kind == CommandKind::reload && c.config) {
      config = c.config;
      state.set_limits(config->metrics.opportunities_kept, config->metrics.trades_kept);
      if (server) server->set_current_config(c.config);
    }
  }
};

DashboardAggregator::DashboardAggregator(std::shared_ptr<const TorqConfig> config, std::string config_path, int api_port)
    : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.config = std::move(config);
  m.config_path = std::move(config_path);
  const TorqConfig& cfg = *m.config;
  m.poll_ms = cfg.dashboard.poll_ms;
  if (cfg.dashboard.upstreams.empty())
    throw std::invalid_argument("role dashboard alone aggregates other processes: [dashboard] upstreams lists their operator APIs");
  m.upstream_token = load_token_file(cfg.dashboard.upstream_token_file.empty() ? cfg.api.token_file : cfg.dashboard.upstream_token_file);
  m.state.set_limits(cfg.metrics.opportunities_kept, cfg.metrics.trades_kept);
  ApiServerOptions o = api_options_from_config(cfg, m.config_path);
  if (api_port >= 0) o.port = static_cast<std::uint16_t>(api_port);
  o.current_config = m.config;
  if (!cfg.api.audit_file.empty()) {
    m.audit = std::make_unique<JsonLinesAuditFile>(cfg.api.audit_file);
    JsonLinesAuditFile* f = m.audit.get();
    o.audit = [f](const AuditRecord& r) { f->append(r); };
  }
  m.server = std::make_unique<ApiServer>(m.state, m.commands, std::move(o));
  m.server->start();
  for (const std::string& url : cfg.dashboard.upstreams) {
    auto p = std::make_unique<Poller>();
    p->url = url;
    p->view.status.url = redact_url(url);
    p->view.status.error = "not polled yet";
    m.pollers.push_back(std::move(p));
  }
  for (auto& p : m.pollers) {
    Poller* raw = p.get();
    raw->thread = std::thread([&m, raw] { m.poll_loop(*raw); });
  }
  tick();
}

DashboardAggregator::~DashboardAggregator() { stop(); }

void DashboardAggregator::stop() {
  if (!impl_) return;
  {
    std::lock_guard lk(impl_->stop_mu);
    impl_->stopping = true;
  }
  impl_->stop_cv.notify_all();
  for (auto& p : impl_->pollers)
    if (p->thread.joinable()) p->thread.join();
  if (impl_->server) {
    impl_->server->stop();
    impl_->server.reset();
  }
}

std::uint16_t DashboardAggregator::port() const noexcept { return impl_->server ? impl_->server->port() : 0; }
const OperatorState& DashboardAggregator::state() const noexcept { return impl_->state; }

void DashboardAggregator::tick() {
  Impl& m = *impl_;
  for (Command& c : m.commands.drain()) m.apply(c);
  if (!m.pending_kill.empty() && std::chrono::steady_clock::now() >= m.next_kill_retry) {
    for (auto it = m.pending_kill.begin(); it != m.pending_kill.end();) {
      if (m.forward(it->first, "/api/kill", Impl::body_of({{"reason", it->second}}))) it = m.pending_kill.erase(it);
      else ++it;
    }
    m.next_kill_retry = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  }
  std::vector<UpstreamView> views;
  views.reserve(m.pollers.size());
  for (std::size_t i = 0; i < m.pollers.size(); ++i) {
    Poller& p = *m.pollers[i];
    {
      std::lock_guard lk(p.mu);
      views.push_back(p.view);
    }
    views.back().status.commands_forwarded = m.forwarded[i].first;
    views.back().status.commands_failed = m.forwarded[i].second;
  }
  Snapshot merged = merge_snapshots(views, m.started);
  if (!m.pending_kill.empty()) {  // a kill the operator gave is shown engaged until every upstream has it
    merged.status.kill_switch = true;
    if (merged.status.kill_reason.empty()) merged.status.kill_reason = m.pending_kill.begin()->second;
  }
  m.state.replace(std::move(merged));
}

std::string DashboardAggregator::reload_from_file() {
  Impl& m = *impl_;
  auto next = std::make_shared<const TorqConfig>(load_config_file(m.config_path));  // throws ConfigError
  const ReloadDiff d = diff_reloadable(*m.config, *next);
  if (!d.allowed()) {
    std::string msg = "reload refused, structural settings changed (restart needed): ";
    for (std::size_t i = 0; i < d.structural.size(); ++i) msg += (i ? ", " : "") + d.structural[i];
    throw std::runtime_error(msg);
  }
  Command c;
  c.kind = CommandKind::reload;
  c.config = std::move(next);
  (void)m.commands.push(c);
  tick();
  return "reloaded " + m.config_path + " and asked " + std::to_string(m.pollers.size()) + " upstream(s) to reload theirs";
}

}  // namespace torq::ops
