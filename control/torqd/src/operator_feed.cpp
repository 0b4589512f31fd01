#include "torq/torqd/operator_feed.hpp"

#include <chrono>
#include <filesystem>

#include "torq/ops/api_server.hpp"
#include "torq/ops/config.hpp"
#include "torq/ops/state.hpp"

namespace torq::torqd {

namespace {
std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}
}  // namespace

struct OperatorFeed::Impl {
  Pipeline& pipeline;
  std::shared_ptr<const ops::TorqConfig> config;
  ops::OperatorState state;
  ops::CommandQueue commands;
  std::unique_ptr<ops::JsonLinesAuditFile> audit;
  std::unique_ptr<ops::ApiServer> server;
  std::int64_t started = now_ns();
  bool killed = false;
  std::int64_t last_pnl = -1;
  std::uint64_t last_trades = ~0ULL;
  explicit Impl(Pipeline& p) : pipeline(p) {}
};

OperatorFeed::OperatorFeed(Pipeline& pipeline, const std::string& config_file) {
  if (config_file.empty()) {
    why_ = "no --config: operator API not started";
    return;
  }
  auto cfg = std::make_shared<const ops::TorqConfig>(ops::load_config_file(config_file));
  if (cfg->api.token_file.empty() || !std::filesystem::exists(cfg->api.token_file)) {
    why_ = "operator API not started: [api] token_file '" + cfg->api.token_file + "' does not exist";
    return;
  }
  impl_ = std::make_unique<Impl>(pipeline);
  impl_->config = cfg;
  ops::ApiServerOptions o = ops::api_options_from_config(*cfg, config_file);
  o.current_config = cfg;
  if (!cfg->api.audit_file.empty()) {
    impl_->audit = std::make_unique<ops::JsonLinesAuditFile>(cfg->api.audit_file);
    ops::JsonLinesAuditFile* f = impl_->audit.get();
    o.audit = [f](const ops::AuditRecord& r) { f->append(r); };
  }
  impl_->server = std::make_unique<ops::ApiServer>(impl_->state, impl_->commands, std::move(o));
  impl_->server->start();
  impl_->killed = pipeline.options().reload.kill_switch;
}

OperatorFeed::~OperatorFeed() { stop(); }

bool OperatorFeed::active() const noexcept { return impl_ != nullptr; }
std::uint16_t OperatorFeed::port() const noexcept { return impl_ && impl_->server ? impl_->server->port() : 0; }

void OperatorFeed::stop() {
  if (impl_ && impl_->server) {
    impl_->server->stop();
    impl_->server.reset();
  }
}

void OperatorFeed::tick() {
  if (!impl_) return;
  Impl& m = *impl_;
  // Commands first, so the snapshot below shows their effect.
  for (ops::Command& c : m.commands.drain()) {
    Options cur = m.pipeline.options();
    Reloadable r = cur.reload;
    switch (c.kind) {
      case ops::CommandKind::kill: r.kill_switch = true; break;
      case ops::CommandKind::resume: r.kill_switch = false; break;
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
          r.kill_switch = c.config->risk.kill_switch || m.killed;
          m.server->set_current_config(c.config);
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
        if (!ops::apply_risk_setting(rc, c.key, c.value)) {
          r.max_notional_usd = rc.max_notional_usd;
          r.daily_loss_usd = rc.daily_loss_usd;
          r.max_drawdown_usd = rc.max_drawdown_usd;
          r.max_in_flight = rc.max_in_flight;
          r.stale_blocks = rc.stale_blocks;
          r.max_gas_price_gwei = rc.max_gas_price_gwei;
          r.breaker_reverts = rc.breaker_reverts;
          r.breaker_cooldown_s = rc.breaker_cooldown_s;
        }
        break;
      }
    }
    m.killed = r.kill_switch;
    m.pipeline.reload(r);
  }

  const Counters& k = m.pipeline.counters();
  const Options opt = m.pipeline.options();
  auto ld = [](const std::atomic<std::uint64_t>& a) { return a.load(std::memory_order_relaxed); };
  ops::StatusSnapshot st;
  st.mode = opt.role == Role::monolith ? "monolith" : "distributed";
  st.roles = to_string(opt.role);
  st.chain_id = opt.chain_id;
  st.chain = m.config->chain.name;
  st.started_unix_ns = m.started;
  st.endpoints.push_back(ops::EndpointStatus{opt.rpc_ws, true, ld(k.reconnects), ld(k.latest_block)});
  st.head_block = ld(k.latest_block);
  st.local_block = ld(k.latest_block);
  st.rings.push_back(ops::RingStatus{"market_data", 4u << 20, 0, ld(k.md_dropped)});
  st.rings.push_back(ops::RingStatus{"signals", 1u << 20, 0, ld(k.signals_dropped)});
  st.kill_switch = m.killed;
  st.ready = ld(k.snapshot_block) != 0 || opt.role == Role::strategy || opt.role == Role::executor;
  m.state.set_status(std::move(st));
  ops::Counters c;
  c.events_by_type["logs"] = ld(k.logs);
  c.events_by_type["heads"] = ld(k.heads);
  c.reorgs = ld(k.reorgs);
  c.opportunities_found = ld(k.signals_received);
  c.opportunities_taken = ld(k.risk_accepted);
  c.tx_sent = ld(k.sent);
  c.tx_mined = ld(k.included);
  c.tx_reverted = ld(k.reverted);
  m.state.set_counters(std::move(c));
  const std::int64_t pnl_now = k.realized_pnl_usd.load(std::memory_order_relaxed);
  const std::uint64_t trades_now = ld(k.included) + ld(k.reverted);
  if (pnl_now == m.last_pnl && trades_now == m.last_trades) return;  // the series gets a point per change
  m.last_pnl = pnl_now;
  m.last_trades = trades_now;
  ops::PnlSnapshot p;
  p.cumulative = num::UsdFixedPoint8{k.realized_pnl_usd.load(std::memory_order_relaxed)};
  p.trades_won = ld(k.included);
  p.trades_lost = ld(k.reverted);
  m.state.set_pnl(p);
}

}  // namespace torq::torqd
