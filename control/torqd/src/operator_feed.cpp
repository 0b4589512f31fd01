// torqd → operator surface (torq/torqd/operator_feed.hpp).
#include "torq/torqd/operator_feed.hpp"

#include <chrono>
#include <cstdio>
#include <filesystem>

#include "torq/ops/api_server.hpp"
#include "torq/ops/config.hpp"
#include "torq/ops/state.hpp"
#include "torq/risk/risk_gates.hpp"
#include "torq/torqd/alerts.hpp"
#include "torq/torqd/telemetry.hpp"

namespace torq::torqd {

namespace {

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

num::U256 pow10(unsigned n) {
  num::U256 v = num::U256::one();
  for (unsigned i = 0; i < n; ++i) v = v * num::U256(10);
  return v;
}

}  // namespace

std::string format_units(const num::U256& raw, unsigned decimals) {
  std::string digits = raw.to_string();
  if (decimals == 0) return digits;
  if (digits.size() <= decimals) digits.insert(0, decimals + 1 - digits.size(), '0');
  std::string out = digits.substr(0, digits.size() - decimals) + "." + digits.substr(digits.size() - decimals);
  while (out.back() == '0') out.pop_back();
  if (out.back() == '.') out.pop_back();
  return out;
}

struct OperatorFeed::Impl {
  Pipeline& pipeline;
  std::shared_ptr<const ops::TorqConfig> config;
  ops::OperatorState state;
  ops::CommandQueue commands;
  std::unique_ptr<ops::JsonLinesAuditFile> audit;
  std::unique_ptr<ops::ApiServer> server;
  std::int64_t started = now_ns();
  std::string config_file;
  // The kill switch has two sources: the operator (kill / resume / risk set kill_switch, sticky
  // until the operator resumes) and the config file's [risk] kill_switch (follows the file on
  // every reload, SIGHUP or API). Engaged when either is; `resume` releases both.
  bool operator_killed = false;
  bool config_killed = false;
  [[nodiscard]] bool killed() const noexcept { return operator_killed || config_killed; }
  std::int64_t last_pnl = -1;
  std::uint64_t last_trades = ~0ULL;
  std::uint64_t opportunity_id = 0;
  std::array<ops::LatencyHistogram, kStageCount> latency{};
  std::array<std::uint64_t, kStageCount> latency_published{};
  AlertChecker alerts;
  AlertNotifier notifier{stderr};
  explicit Impl(Pipeline& p) : pipeline(p) {}

  // "USDC >quickswap> WETH >sushiswap> USDC"
  std::string path_of(const TelemetryRecord& r) const {
    const auto& reg = pipeline.registry();
    std::string out;
    const unsigned hops = std::min<unsigned>(r.hop_count, 3);
    for (unsigned h = 0; h <= hops; ++h) {
      const protocol::TokenInfo* t = reg.token(protocol::InstrumentId(r.tokens[h]));
      out += t != nullptr ? t->symbol : "?";
      if (h == hops) break;
      const protocol::PoolInfo* p = reg.pool(protocol::InstrumentId(r.pools[h]));
      out += " >" + std::string(p != nullptr ? protocol::venue_name(p->venue) : "?") + "> ";
    }
    return out;
  }

  void on_record(const TelemetryRecord& r) {
    switch (r.kind) {
      case TelemetryKind::Stage:
        if (r.stage < kStageCount) latency[r.stage].record(r.value_ns);
        break;
      case TelemetryKind::Opportunity: {
        ops::OpportunityRow o;
        o.id = ++opportunity_id;
        o.t_unix_ns = static_cast<std::int64_t>(r.t_unix_ns);
        o.path = path_of(r);
        const protocol::InstrumentId tin(r.tokens[0]);
        const protocol::TokenInfo* t = pipeline.registry().token(tin);
        const auto& prices = pipeline.token_prices();
        if (t != nullptr) {
          o.size = format_units(r.amount_in, t->decimals);
          o.size_token = t->symbol;
          const std::size_t ti = tin.index();
          if (ti < prices.size() && prices[ti].usd.raw > 0) {
            const num::U256 usd = r.amount_in * num::U256(static_cast<std::uint64_t>(prices[ti].usd.raw)) / pow10(t->decimals);
            if ((usd.limb[1] | usd.limb[2] | usd.limb[3]) == 0 && usd.limb[0] <= static_cast<std::uint64_t>(INT64_MAX))
              o.size_usd = num::UsdFixedPoint8{static_cast<std::int64_t>(usd.limb[0])};
          }
        }
        o.expected_profit_usd = num::UsdFixedPoint8{r.expected_usd};
        o.decision = decision_name(r.decision);
        state.add_opportunity(std::move(o));
        break;
      }
      case TelemetryKind::Trade: {
        ops::TradeRow t;
        t.hash = "0x";
        static const char* hex = "0123456789abcdef";
        for (std::uint8_t b : r.tx_hash) {
          t.hash += hex[b >> 4];
          t.hash += hex[b & 15];
        }
        t.nonce = r.nonce;
        t.status = to_string(static_cast<TradeState>(r.trade_state));
        t.path = path_of(r);
        t.t_unix_ns = static_cast<std::int64_t>(r.t_unix_ns);
        t.block = r.block;
        t.gas_used = r.gas_used;
        t.expected_pnl_usd = num::UsdFixedPoint8{r.expected_usd};
        if (r.realized_known) t.realized_pnl_usd = num::UsdFixedPoint8{r.realized_usd};
        state.upsert_trade(std::move(t));
        break;
      }
    }
  }
};

OperatorFeed::OperatorFeed(Pipeline& pipeline, const std::string& config_file, bool serve_api, int api_port) {
  if (config_file.empty()) {
    why_ = "no --config: operator API and alerts not started";
    return;
  }
  auto cfg = std::make_shared<const ops::TorqConfig>(ops::load_config_file(config_file));
  impl_ = std::make_unique<Impl>(pipeline);
  impl_->config = cfg;
  impl_->alerts.set_config(cfg->alerts);
  // --kill-switch counts as the operator's (sticky); otherwise the file's switch.
  impl_->operator_killed = pipeline.options().kill_switch_flag;
  impl_->config_killed = pipeline.options().reload.kill_switch && !pipeline.options().kill_switch_flag;
  impl_->config_file = config_file;
  impl_->state.set_limits(cfg->metrics.opportunities_kept, cfg->metrics.trades_kept);
  if (!serve_api) {
    why_ = "operator API not started: this process does not run the dashboard role ([mode] roles) and has no --api-port";
    return;
  }
  if (cfg->api.token_file.empty() || !std::filesystem::exists(cfg->api.token_file)) {
    why_ = "operator API not started: [api] token_file '" + cfg->api.token_file + "' does not exist";
    return;
  }
  ops::ApiServerOptions o = ops::api_options_from_config(*cfg, config_file);
  if (api_port >= 0) o.port = static_cast<std::uint16_t>(api_port);
  o.current_config = cfg;
  if (!cfg->api.audit_file.empty()) {
    impl_->audit = std::make_unique<ops::JsonLinesAuditFile>(cfg->api.audit_file);
    ops::JsonLinesAuditFile* f = impl_->audit.get();
    o.audit = [f](const ops::AuditRecord& r) { f->append(r); };
  }
  impl_->server = std::make_unique<ops::ApiServer>(impl_->state, impl_->commands, std::move(o));
  impl_->server->start();
}

OperatorFeed::~OperatorFeed() { stop(); }

bool OperatorFeed::active() const noexcept { return impl_ != nullptr && impl_->server != nullptr; }
std::uint16_t OperatorFeed::port() const noexcept { return impl_ && impl_->server ? impl_->server->port() : 0; }

void OperatorFeed::stop() {
  if (impl_ && impl_->server) {
    tick();  // the last trades and P&L reach the state before the server goes
    impl_->server->stop();
    impl_->server.reset();
  }
  if (impl_) (void)impl_->notifier.flush(std::chrono::milliseconds(3000));
}

const ops::OperatorState* OperatorFeed::state() const noexcept { return impl_ ? &impl_->state : nullptr; }

std::string OperatorFeed::reload_from_file() {
  if (!impl_) return "no --config file, nothing to reload";
  auto next = std::make_shared<const ops::TorqConfig>(ops::load_config_file(impl_->config_file));  // throws ConfigError
  const ops::ReloadDiff d = ops::diff_reloadable(*impl_->config, *next);
  if (!d.allowed()) {
    std::string msg = "reload refused, structural settings changed (restart needed): ";
    for (std::size_t i = 0; i < d.structural.size(); ++i) msg += (i ? ", " : "") + d.structural[i];
    throw std::runtime_error(msg);
  }
  ops::Command c;
  c.kind = ops::CommandKind::reload;
  c.config = std::move(next);
  (void)impl_->commands.push(c);
  tick();  // applied now, the same way as POST /api/reload
  return "reloaded thresholds and risk limits from " + impl_->config_file;
}

void OperatorFeed::tick() {
  if (!impl_) return;
  Impl& m = *impl_;
  // Commands first, so the snapshot below shows their effect.
  for (ops::Command& c : m.commands.drain()) {
    Options cur = m.pipeline.options();
    Reloadable r = cur.reload;
    switch (c.kind) {
      case ops::CommandKind::kill: m.operator_killed = true; break;
      case ops::CommandKind::resume: m.operator_killed = m.config_killed = false; break;
      case ops::CommandKind::reload:
        if (c.config) {
          r.min_profit_usd = c.config->strategy.min_profit_usd.raw != 0 ? c.config->strategy.min_profit_usd : r.min_profit_usd;
          r.priority_fee_gwei = c.config->strategy.priority_fee_gwei;
          r.max_notional_usd = c.config->risk.max_notional_usd;
          r.daily_loss_usd = c.config->risk.daily_loss_usd;
          r.max_drawdown_usd = c.config->risk.max_drawdown_usd;
          r.max_in_flight = c.config->risk.max_in_flight;
          r.stale_blocks = c.config->risk.stale_blocks;
          r.max_gas_price_gwei = c.config->risk.max_gas_price_gwei;
          r.breaker_reverts = c.config->risk.breaker_reverts;
          r.breaker_cooldown_s = c.config->risk.breaker_cooldown_s;
          r.token_exposure_usd = c.config->risk.per_token_exposure_usd;
          m.config_killed = c.config->risk.kill_switch;
          m.alerts.set_config(c.config->alerts);
          m.config = c.config;
          if (m.server) m.server->set_current_config(c.config);
        }
        break;
      case ops::CommandKind::risk_set: {
        ops::RiskConfig rc = m.config->risk;
        rc.max_notional_usd = r.max_notional_usd;
        rc.daily_loss_usd = r.daily_loss_usd;
        rc.max_drawdown_usd = r.max_drawdown_usd;
        rc.max_in_flight = r.max_in_flight;
        rc.stale_blocks = r.stale_blocks;
        rc.max_gas_price_gwei = r.max_gas_price_gwei;
        rc.breaker_reverts = r.breaker_reverts;
        rc.breaker_cooldown_s = r.breaker_cooldown_s;
        rc.per_token_exposure_usd = r.token_exposure_usd;
        if (!ops::apply_risk_setting(rc, c.key, c.value)) {
          r.token_exposure_usd = rc.per_token_exposure_usd;
          r.max_notional_usd = rc.max_notional_usd;
          r.daily_loss_usd = rc.daily_loss_usd;
          r.max_drawdown_usd = rc.max_drawdown_usd;
          r.max_in_flight = rc.max_in_flight;
          r.stale_blocks = rc.stale_blocks;
          r.max_gas_price_gwei = rc.max_gas_price_gwei;
          r.breaker_reverts = rc.breaker_reverts;
          r.breaker_cooldown_s = rc.breaker_cooldown_s;
          if (c.key == "stale_blocks" && m.server) m.server->set_stale_blocks(rc.stale_blocks);
        }
        break;
      }
    }
    if (c.kind == ops::CommandKind::risk_set && c.key == "kill_switch") {
      m.operator_killed = c.value == "true";
      if (!m.operator_killed) m.config_killed = false;  // an explicit operator release
    }
    r.kill_switch = m.killed();
    m.pipeline.reload(r);
  }

  // Telemetry: opportunities, trades, latency samples (oldest first per producing thread).
  (void)m.pipeline.drain_telemetry([&](const TelemetryRecord& r) { m.on_record(r); });
  for (std::size_t i = 0; i < kStageCount; ++i) {
    if (m.latency[i].count() == m.latency_published[i]) continue;
    m.latency_published[i] = m.latency[i].count();
    m.state.set_latency(to_string(static_cast<Stage>(i)), m.latency[i]);
  }

  const Counters& k = m.pipeline.counters();
  const Options opt = m.pipeline.options();
  auto ld = [](const std::atomic<std::uint64_t>& a) { return a.load(std::memory_order_relaxed); };
  const RiskView rv = m.pipeline.risk_view();
  const auto& reg = m.pipeline.registry();
  const auto& prices = m.pipeline.token_prices();

  ops::StatusSnapshot st;
  st.mode = opt.roles.monolith() ? "monolith" : "distributed";
  st.roles = to_string(opt.roles);
  st.chain_id = opt.chain_id;
  st.chain = m.config->chain.name;
  st.started_unix_ns = m.started;
  const std::uint64_t local = ld(k.md_last_block);
  const std::uint64_t head = std::max(ld(k.latest_block), local);
  st.endpoints.push_back(ops::EndpointStatus{opt.rpc_ws, ld(k.node_connected) != 0, ld(k.reconnects), head});
  st.head_block = head;
  st.local_block = local != 0 ? local : head;
  // Fill levels straight from the rings' shared control blocks; drops = claims refused because
  // the ring was full (the ring's own count, or the publishing stage's where that is larger).
  for (const Pipeline::RingFill& r : m.pipeline.ring_fill()) {
    std::uint64_t drops = r.rejected_full;
    if (std::string_view(r.name) == "market_data") drops = std::max(drops, ld(k.md_dropped));
    if (std::string_view(r.name) == "signals") drops = std::max(drops, ld(k.signals_dropped));
    st.rings.push_back(ops::RingStatus{r.name, r.capacity_bytes, r.used_bytes, drops});
  }
  st.rings.push_back(ops::RingStatus{"telemetry", kTelemetryQueueSize * sizeof(TelemetryRecord), 0, m.pipeline.telemetry_dropped()});
  for (const Pipeline::LinkRow& l : m.pipeline.links()) {
    // LinkRow's `resent` is per direction: frames that filled a hole (in), frames sent again (out).
    st.links.push_back(ops::LinkStatus{l.name, l.ingress, l.frames, l.gaps, l.missing, l.duplicates, l.ingress ? l.resent : 0,
                                       l.snapshot_requests, l.resend_requests, l.ingress ? 0 : l.resent, l.resend_unavailable});
  }
  st.breaker = rv.breaker == static_cast<std::uint8_t>(risk::BreakerState::Open)       ? ops::BreakerState::open
               : rv.breaker == static_cast<std::uint8_t>(risk::BreakerState::HalfOpen) ? ops::BreakerState::half_open
                                                                                        : ops::BreakerState::closed;
  st.kill_switch = m.killed();
  st.last_event_unix_ns = static_cast<std::int64_t>(ld(k.last_event_unix_ns));
  st.ready = ld(k.snapshot_block) != 0 || !opt.roles.has(Role::collector);
  m.state.set_status(st);

  // Pools: freshness from the collector's per-pool last block; quarantine from the session.
  std::vector<ops::PoolRow> pools;
  pools.reserve(reg.pool_count());
  for (std::size_t i = 0; i < reg.pool_count(); ++i) {
    const protocol::PoolInfo* p = reg.pool(reg.pool_id(i));
    if (p == nullptr) continue;
    ops::PoolRow row;
    row.address = protocol::format_address(p->address);
    row.venue = std::string(protocol::venue_name(p->venue));
    const protocol::TokenInfo* t0 = reg.token(p->token0);
    const protocol::TokenInfo* t1 = reg.token(p->token1);
    row.token0 = t0 != nullptr ? t0->symbol : "?";
    row.token1 = t1 != nullptr ? t1->symbol : "?";
    row.fee_ppm = p->fee_ppm;
    row.last_update_block = m.pipeline.pool_last_block(i);
    row.quarantined = m.pipeline.pool_quarantined(i);
    if (row.quarantined) row.quarantine_reason = "reconciliation drift (resnapshot pending)";
    pools.push_back(std::move(row));
  }
  m.state.set_pools(std::move(pools));

  ops::Counters c;
  static constexpr std::pair<std::uint8_t, const char*> kTypes[] = {
      {1, "v2_sync"}, {2, "v2_swap"}, {3, "v2_mint"}, {4, "v2_burn"}, {5, "v3_swap"}, {6, "v3_mint"}, {7, "v3_burn"},
      {8, "v3_initialize"}, {9, "block_header"}, {10, "reorg_notice"}, {101, "pool_snapshot"}, {102, "v3_ticks_snapshot"}};
  for (const auto& [type, name] : kTypes) c.events_by_type[name] = m.pipeline.events_of_type(type);
  c.reorgs = ld(k.reorgs);
  for (const Pipeline::LinkRow& l : m.pipeline.links()) c.sequence_gaps += l.gaps;
  c.opportunities_found = ld(k.signals_received);
  c.opportunities_taken = ld(k.risk_accepted);
  c.tx_sent = ld(k.sent);
  c.tx_mined = ld(k.included);
  c.tx_reverted = ld(k.reverted);
  c.tx_replaced = ld(k.replacements);
  c.nonce_resyncs = ld(k.nonce_resyncs);
  m.state.set_counters(std::move(c));

  if (m.pipeline.has_executor()) {
    ops::RiskSnapshot rs;
    rs.limits = m.config->risk;
    rs.limits.max_notional_usd = rv.limits.max_notional_usd;
    rs.limits.daily_loss_usd = rv.limits.daily_loss_usd;
    rs.limits.max_drawdown_usd = rv.limits.max_drawdown_usd;
    rs.limits.max_in_flight = rv.limits.max_in_flight;
    rs.limits.stale_blocks = rv.limits.stale_blocks;
    rs.limits.max_gas_price_gwei = rv.limits.max_gas_price_gwei;
    rs.limits.breaker_reverts = rv.limits.breaker_reverts;
    rs.limits.breaker_cooldown_s = rv.limits.breaker_cooldown_s;
    rs.limits.kill_switch = rv.kill_switch;
    for (std::size_t i = 1; i < rv.rejects.size(); ++i)
      if (rv.rejects[i] != 0) rs.rejects_by_reason[risk::to_string(static_cast<risk::RejectReason>(i))] = rv.rejects[i];
    if (ld(k.below_threshold) != 0) rs.rejects_by_reason["below_threshold"] = ld(k.below_threshold);
    if (ld(k.stale_signals) != 0) rs.rejects_by_reason["stale"] = ld(k.stale_signals);
    for (std::size_t i = 0; i < rv.exposure_usd.size() && i < prices.size(); ++i)
      if (prices[i].usd.raw > 0) rs.exposure_usd[prices[i].symbol] = num::UsdFixedPoint8{rv.exposure_usd[i]};
    rs.in_flight = rv.in_flight;
    rs.consecutive_reverts = rv.consecutive_reverts;
    m.state.set_risk(std::move(rs));
  }

  // Alerts (log + webhook) on the same numbers.
  AlertInputs in;
  in.now_unix_ns = now_ns();
  in.started_unix_ns = m.started;
  in.head_block = head;
  in.local_block = local;
  in.last_event_unix_ns = st.last_event_unix_ns;
  in.breaker_open = st.breaker == ops::BreakerState::open;
  in.drawdown = num::UsdFixedPoint8{k.pnl_drawdown_usd.load(std::memory_order_relaxed)};
  for (const ops::RingStatus& r : st.rings) {
    if (r.capacity_bytes == 0) continue;
    const std::uint64_t pct = r.used_bytes * 100 / r.capacity_bytes;
    if (pct >= in.ring_fill_pct) {
      in.ring_fill_pct = pct;
      in.fullest_ring = r.name;
    }
  }
  if (!opt.roles.has(Role::collector)) {  // no node session here: lag and silence are the collector's
    in.last_event_unix_ns = in.now_unix_ns;
    in.local_block = 0;
  }
  // Every role that runs rings evaluates (a strategy-only process holds the market-data and
  // signal rings whose fill the ring_fill alert watches); a standalone dashboard does not.
  if (opt.roles.has(Role::collector) || opt.roles.has(Role::executor) || opt.roles.has(Role::strategy)) {
    for (const Alert& a : m.alerts.evaluate(in)) m.notifier.notify(a, m.alerts.config().webhook_url);
  }

  const std::int64_t pnl_now = k.realized_pnl_usd.load(std::memory_order_relaxed);
  const std::uint64_t trades_now = ld(k.included) + ld(k.reverted);
  if (pnl_now == m.last_pnl && trades_now == m.last_trades) return;  // the series gets a point per change
  m.last_pnl = pnl_now;
  m.last_trades = trades_now;
  ops::PnlSnapshot p;
  p.cumulative = num::UsdFixedPoint8{pnl_now};
  p.daily = num::UsdFixedPoint8{k.pnl_daily_usd.load(std::memory_order_relaxed)};
  p.peak = num::UsdFixedPoint8{k.pnl_peak_usd.load(std::memory_order_relaxed)};
  p.drawdown = num::UsdFixedPoint8{k.pnl_drawdown_usd.load(std::memory_order_relaxed)};
  p.trades_won = ld(k.included);
  p.trades_lost = ld(k.reverted);
  m.state.set_pnl(p);
}

}  // namespace torq::torqd
