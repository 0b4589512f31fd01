#include "torq/torqd/options.hpp"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <optional>
#include <sstream>
#include <stdexcept>

#include "torq/ops/cli.hpp"
#include "torq/ops/config.hpp"

namespace torq::torqd {

namespace {

num::UsdFixedPoint8 usd_or_throw(const std::string& text, const char* flag) {
  const auto v = num::parse_usd(text);
  if (!v) throw std::invalid_argument(std::string(flag) + ": '" + text + "' is not a USD amount like 12.5");
  // A negative minimum profit would sign trades that lose money; a negative limit means nothing.
  if (v->raw < 0) throw std::invalid_argument(std::string(flag) + ": '" + text + "' is negative");
  return *v;
}

Reloadable reloadable_of(const ops::TorqConfig& c) {
  Reloadable r;
  if (c.strategy.min_profit_usd.raw != 0) r.min_profit_usd = c.strategy.min_profit_usd;
  r.priority_fee_gwei = c.strategy.priority_fee_gwei;
  r.max_notional_usd = c.risk.max_notional_usd;
  r.daily_loss_usd = c.risk.daily_loss_usd;
  r.max_drawdown_usd = c.risk.max_drawdown_usd;
  r.max_in_flight = c.risk.max_in_flight;
  r.stale_blocks = c.risk.stale_blocks;
  r.max_gas_price_gwei = c.risk.max_gas_price_gwei;
  r.breaker_reverts = c.risk.breaker_reverts;
  r.breaker_cooldown_s = c.risk.breaker_cooldown_s;
  r.kill_switch = c.risk.kill_switch;
  r.token_exposure_usd = c.risk.per_token_exposure_usd;
  return r;
}

void apply_config(const ops::TorqConfig& c, Options& o) {
  o.manifest = c.manifest;
  o.api_serve_own = c.api.serve_own;
  o.native_token = c.chain.native_token;
  if (c.chain.chain_id != 0) o.chain_id = c.chain.chain_id;
  // Endpoints, best (lowest priority value) first.
  std::vector<ops::EndpointConfig> eps = c.endpoints;
  std::stable_sort(eps.begin(), eps.end(), [](const auto& a, const auto& b) { return a.priority < b.priority; });
  // The first ws and the first http URL are the primary endpoint; every other one is a backup,
  // paired with the other kind of the same priority (one BackupEndpoint per priority level).
  // A level's budget is the lower of its entries' requests_per_second (one node behind both).
  const auto lower = [](std::uint32_t have, std::uint32_t rps) { return have == 0 ? rps : std::min(have, rps); };
  o.backup_endpoints.clear();
  for (const auto& e : eps) {
    const bool ws = e.scheme == ops::EndpointScheme::ws || e.scheme == ops::EndpointScheme::wss;
    std::string& primary = ws ? o.rpc_ws : o.rpc_http;
    if (primary.empty()) {
      primary = e.url;
      o.rpc_requests_per_second = lower(o.rpc_requests_per_second, e.requests_per_second);
      continue;
    }
    if (o.backup_endpoints.empty() || o.backup_endpoints.back().priority != e.priority ||
        !(ws ? o.backup_endpoints.back().ws : o.backup_endpoints.back().http).empty()) {
      o.backup_endpoints.push_back(BackupEndpoint{{}, {}, e.priority, 0});
    }
    (ws ? o.backup_endpoints.back().ws : o.backup_endpoints.back().http) = e.url;
    o.backup_endpoints.back().requests_per_second = lower(o.backup_endpoints.back().requests_per_second, e.requests_per_second);
  }
  if (!c.executor.contract.empty()) o.contract = c.executor.contract;
  if (!c.executor.audit_file.empty()) o.audit_file = c.executor.audit_file;
  o.key_file = c.key.file;
  o.key_env = c.key.env;
  o.core_collector = c.cores.collector;
  o.core_strategy = c.cores.strategy;
  o.core_executor = c.cores.executor;
  if (c.strategy.gas_units_2hop != 0) o.gas_units_2hop = c.strategy.gas_units_2hop;
  if (c.strategy.gas_units_3hop != 0) o.gas_units_3hop = c.strategy.gas_units_3hop;
  o.gas_limit_headroom_pct = c.strategy.gas_limit_headroom_pct;
  o.resend = c.mode.resend;
  for (const auto& [name, link] : c.mode.links) {
    if (name == "market_data") o.md_link = link;
    if (name == "market_data_b") o.md_link_b = link;
    if (name == "market_data_requests") o.md_request_link = link;
    if (name == "signals") o.signal_link = link;
  }
  if (c.mode.mode == ops::DeployMode::distributed) {
    for (const ops::Role r : c.mode.roles) {
      switch (r) {
        case ops::Role::collector: o.roles.add(Role::collector); break;
        case ops::Role::strategy: o.roles.add(Role::strategy); break;
        case ops::Role::executor: o.roles.add(Role::executor); break;
        case ops::Role::dashboard: o.roles.add(Role::dashboard); break;
      }
    }
  }
  o.nic = c.nic;
  if (c.manifest.empty()) {  // pools from the file itself (with a manifest these mirror it)
    o.config_tokens = c.tokens;
    o.config_venues = c.venues;
    o.config_pools = c.pools;
  }
  for (const auto& t : c.tokens) {
    TokenPrice p;
    p.symbol = t.symbol;
    p.address = t.address;
    p.usd = t.usd_reference;
    const auto it = c.risk.per_token_exposure_usd.find(t.symbol);
    if (it != c.risk.per_token_exposure_usd.end()) p.max_exposure_usd = it->second;
    o.prices.push_back(p);
  }
  o.reload = reloadable_of(c);
}

}  // namespace

const char* to_string(Role r) noexcept {
  switch (r) {
    case Role::monolith: return "monolith";
    case Role::collector: return "collector";
    case Role::strategy: return "strategy";
    case Role::executor: return "executor";
    case Role::dashboard: return "dashboard";
  }
  return "?";
}

std::string to_string(RoleSet roles) {
  if (roles.monolith()) return "monolith";
  std::string out;
  for (Role r : {Role::collector, Role::strategy, Role::executor, Role::dashboard}) {
    if ((roles.bits & RoleSet::bit(r)) == 0) continue;
    if (!out.empty()) out += '+';
    out += to_string(r);
  }
  return out;
}

RoleSet parse_roles(const std::string& text) {
  RoleSet out;
  if (text == "monolith") return out;
  std::size_t i = 0;
  while (i <= text.size()) {
    const std::size_t j = std::min(text.find_first_of(",+", i), text.size());
    const std::string name = text.substr(i, j - i);
    Role r{};
    if (name == "collector") r = Role::collector;
    else if (name == "strategy") r = Role::strategy;
    else if (name == "executor") r = Role::executor;
    else if (name == "dashboard") r = Role::dashboard;
    else throw std::invalid_argument("--role: '" + name + "' is not monolith, collector, strategy, executor or dashboard");
    if ((out.bits & RoleSet::bit(r)) != 0) throw std::invalid_argument("--role: '" + name + "' given twice");
    out.add(r);
    i = j + 1;
  }
  return out;
}


ParsedArgs parse_args(int argc, const char* const* argv) {
  ParsedArgs out;
  Options& o = out.options;
  CLI::App app{"torqd — Torq DEX-arbitrage daemon (collector, strategy, executor, submitter)"};
  std::string manifest, rpc, rpc_http, key_file, key_env, contract, audit, stats, role, idle, md_link, sig_link;
  std::string min_profit, max_notional, collector, md_link_b, md_request_link;
  int core_c = -2, core_s = -2, core_e = -2, api_port = -1;
  std::optional<std::uint32_t> share_bps, max_in_flight, receipt_timeout, receipt_confirmations;
  std::optional<std::uint32_t> replace_blocks, replace_ms, replace_pct;
  std::optional<std::uint64_t> priority;
  bool kill = false;
  app.add_option("--config", o.config_file, "TOML configuration file (docs/operator.md)");
  app.add_option("--manifest", manifest, "local-chain manifest (chain/fixture.mjs --out)");
  app.add_option("--rpc", rpc, "node WebSocket URL (ws:// or wss://)");
  app.add_option("--rpc-http", rpc_http, "node HTTP URL (default: derived from --rpc)");
  app.add_option("--key-file", key_file, "signing key file (64 hex digits, mode 0600)");
  app.add_option("--key-env", key_env, "environment variable holding the signing key");
  app.add_option("--contract", contract, "TorqArbitrage contract address");
  app.add_option("--audit", audit, "audit log file (append-only, checksummed)");
  app.add_option("--stats-file", stats, "write the run summary (JSON) here at exit");
  app.add_option("--role", role, "monolith, or roles joined by ',': collector, strategy, executor, dashboard (default: [mode] roles)");
  // Integer flags: plain decimals in the ranges of their [config] keys (torq/ops/cli.hpp).
  using ops::cli::integer_in;
  integer_in(app.add_option("--api-port", api_port, "serve this process's own operator API on this port (0: ephemeral) whatever its roles"),
             0, 65535);
  app.add_option("--md-link", md_link, "distributed: market-data link (mycelium shm:/ or udp:// string)");
  app.add_option("--md-link-b", md_link_b, "distributed: line B of a udp:// market-data link (sent on both, merged A/B)");
  app.add_option("--md-request-link", md_request_link, "distributed: udp:// address where the collector takes snapshot requests");
  app.add_option("--signal-link", sig_link, "distributed: signal link (mycelium shm:/ or udp:// string)");
  app.add_option("--collector", collector, "session (control::NodeSession, default) | builtin (torqd's adapter)");
  app.add_option("--idle", idle, "spin | backoff | yield (strategy and executor loops)");
  integer_in(app.add_option("--core-collector", core_c, "CPU for the collector thread (-1: not pinned)"), -1, 4095);
  integer_in(app.add_option("--core-strategy", core_s, "CPU for the strategy thread (-1: not pinned)"), -1, 4095);
  integer_in(app.add_option("--core-executor", core_e, "CPU for the executor thread (-1: not pinned)"), -1, 4095);
  app.add_option("--min-profit-usd", min_profit, "smallest net profit (after gas) worth a transaction");
  integer_in(app.add_option("--min-profit-share-bps", share_bps,
                            "on-chain minProfit as a share of the expected profit (bps; > 10000: every trade reverts)"),
             std::uint32_t{1}, std::uint32_t{100000});
  app.add_option("--max-notional-usd", max_notional, "largest trade input, USD");
  integer_in(app.add_option("--max-in-flight", max_in_flight, "transactions awaiting a receipt at once"), std::uint32_t{1},
             std::uint32_t{64});  // the executor's order slots (pipeline.cpp kMaxOrders)
  integer_in(app.add_option("--priority-fee-gwei", priority, "priority fee (25 gwei floor on chain 137)"), std::uint64_t{0},
             std::uint64_t{100'000});
  integer_in(app.add_option("--receipt-timeout-ms", receipt_timeout, "give up waiting for a receipt after this"),
             std::uint32_t{1}, std::uint32_t{3'600'000});
  integer_in(app.add_option("--receipt-confirmations", receipt_confirmations,
                            "book a trade once this many blocks are on top of its receipt's block (default 0)"),
             std::uint32_t{0}, std::uint32_t{256});
  integer_in(app.add_option("--replace-after-blocks", replace_blocks,
                            "replace a transaction without a receipt after this many blocks (default 5)"),
             std::uint32_t{1}, std::uint32_t{1'000'000});
  integer_in(app.add_option("--replace-after-ms", replace_ms, "... or after this many ms (default 20000; 0: blocks only)"),
             std::uint32_t{0}, std::uint32_t{3'600'000});
  integer_in(app.add_option("--replace-bump-pct", replace_pct, "fee bump of a replacement, both fees (>= 10, default 12)"),
             std::uint32_t{10}, std::uint32_t{1000});
  app.add_flag("--kill-switch", kill, "start with the kill switch engaged (no transactions)");
  // Record and replay (docs/record-replay.md).
  std::string replay_speed;
  app.add_option("--record", o.record_file, "record the node session's transport and md frames to FILE");
  app.add_option("--replay", o.replay_file, "replay FILE (no node, no key; dry-run executor) and exit");
  app.add_option("--replay-speed", replay_speed, "replay pace: max (default) | recorded");
  app.add_option("--replay-out", o.replay_out, "replay: write the frames, signals and decisions to FILE");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    out.help_requested = true;
    out.help_text = app.help();
    return out;
  } catch (const CLI::ParseError& e) {
    throw std::invalid_argument(std::string("command line: ") + e.what());
  }
  if (!o.config_file.empty()) apply_config(ops::load_config_file(o.config_file), o);
  if (!manifest.empty()) o.manifest = manifest;
  if (!rpc.empty()) o.rpc_ws = rpc;
  if (!rpc_http.empty()) o.rpc_http = rpc_http;
  if (!key_file.empty()) o.key_file = key_file, o.key_env.clear();
  if (!key_env.empty()) o.key_env = key_env, o.key_file.clear();
  if (!contract.empty()) o.contract = contract;
  if (!audit.empty()) o.audit_file = audit;
  if (!stats.empty()) o.stats_file = stats;
  if (!md_link.empty()) o.md_link = md_link;
  if (!md_link_b.empty()) o.md_link_b = md_link_b;
  if (!md_request_link.empty()) o.md_request_link = md_request_link;
  if (!sig_link.empty()) o.signal_link = sig_link;
  if (core_c != -2) o.core_collector = core_c;
  if (core_s != -2) o.core_strategy = core_s;
  if (core_e != -2) o.core_executor = core_e;
  if (!min_profit.empty()) o.reload.min_profit_usd = usd_or_throw(min_profit, "--min-profit-usd");
  if (!max_notional.empty()) o.reload.max_notional_usd = usd_or_throw(max_notional, "--max-notional-usd");
  // Above 10000 bps the contract must make more than the expected profit: every trade reverts
  // with "Too little profit" (how the breaker is exercised on the local chain). At most 10x.
  if (share_bps) o.reload.min_profit_share_bps = *share_bps;
  if (max_in_flight) o.reload.max_in_flight = *max_in_flight;
  if (priority) o.reload.priority_fee_gwei = *priority;
  if (o.reload.priority_fee_gwei > o.reload.max_gas_price_gwei)
    throw std::invalid_argument("priority fee " + std::to_string(o.reload.priority_fee_gwei) + " gwei is above [risk] max_gas_price_gwei " +
                                std::to_string(o.reload.max_gas_price_gwei) + ": every transaction would exceed the gas-price cap");
  if (receipt_timeout) o.receipt_timeout_ms = *receipt_timeout;
  if (receipt_confirmations) o.receipt_confirmations = *receipt_confirmations;
  if (replace_blocks) o.replace_after_blocks = *replace_blocks;
  if (o.receipt_confirmations >= o.replace_after_blocks)
    throw std::invalid_argument("--receipt-confirmations " + std::to_string(o.receipt_confirmations) + " must be below --replace-after-blocks " +
                                std::to_string(o.replace_after_blocks) + " (a transaction waiting for confirmations would be replaced as stuck)");
  if (replace_ms) o.replace_after_ms = *replace_ms;
  if (replace_pct) o.replace_bump_pct = *replace_pct;  // >= 10: nodes refuse a replacement below +10%
  if (kill) o.reload.kill_switch = o.kill_switch_flag = true;
  if (!role.empty()) o.roles = parse_roles(role);
  o.api_port = api_port;
  if (dashboard_only(o.roles)) {
    // A standalone dashboard: no stage, no node, no key; everything comes from its upstreams.
    if (o.config_file.empty()) throw std::invalid_argument("role dashboard alone needs --config (its [api] and [dashboard] sections)");
    const ops::TorqConfig cfg = ops::load_config_file(o.config_file);
    if (cfg.dashboard.upstreams.empty())
      throw std::invalid_argument("role dashboard alone aggregates the role processes' operator APIs: list them in [dashboard] upstreams "
                                  "(or give dashboard together with collector, strategy or executor)");
    return out;
  }
  if (!o.md_link_b.empty() && (o.md_link_b.rfind("udp://", 0) != 0 || o.md_link.rfind("udp://", 0) != 0))
    throw std::invalid_argument("--md-link-b: line B needs udp:// links on both lines");
  if (!o.md_request_link.empty() && (o.md_request_link.rfind("udp://", 0) != 0 || o.md_link.rfind("udp://", 0) != 0))
    throw std::invalid_argument("--md-request-link: the back channel of a udp:// market-data link must be udp:// too");
  if (!collector.empty()) {
    if (collector == "session") o.builtin_collector = false;
    else if (collector == "builtin") o.builtin_collector = true;
    else throw std::invalid_argument("--collector: '" + collector + "' is not session or builtin");
  }
  if (!idle.empty()) {
    if (idle == "spin") o.idle = IdleKind::spin;
    else if (idle == "backoff") o.idle = IdleKind::backoff;
    else if (idle == "yield") o.idle = IdleKind::yield;
    else throw std::invalid_argument("--idle: '" + idle + "' is not spin, backoff or yield");
  }
  if (!replay_speed.empty()) {
    if (replay_speed == "recorded") o.replay_recorded_speed = true;
    else if (replay_speed != "max") throw std::invalid_argument("--replay-speed: '" + replay_speed + "' is not max or recorded");
  }
  if (o.replay_file.empty() && (!replay_speed.empty() || !o.replay_out.empty()))
    throw std::invalid_argument("--replay-speed / --replay-out: only with --replay FILE");
  if (!o.replay_file.empty()) return out;  // a replay takes everything from the recording
  if (o.builtin_collector && !o.md_request_link.empty() && o.roles.has(Role::collector))
    throw std::invalid_argument("--md-request-link: snapshot requests are served by the node-session collector only (--collector session)");
  if (!o.record_file.empty() && (o.builtin_collector || !o.roles.has(Role::collector)))
    throw std::invalid_argument("--record: needs the node-session collector (--collector session; role monolith or collector)");
  // Required settings.
  if (o.manifest.empty() && o.config_pools.empty())
    throw std::invalid_argument("no pool list: give --manifest, include_manifest or [[pools]] in --config");
  const bool needs_node = o.roles.has(Role::collector) || o.roles.has(Role::executor);
  const bool needs_key = o.roles.has(Role::executor);
  if (needs_key && o.key_file.empty() && o.key_env.empty()) throw std::invalid_argument("no signing key: give --key-file (or [key] in --config)");
  if (needs_key && o.contract.empty()) throw std::invalid_argument("no contract: give --contract or [executor] contract (the deployed TorqArbitrage address)");
  if (needs_node && o.rpc_ws.empty() && o.rpc_http.empty()) {
    // The manifest names the node; filled by the pipeline from it.
  }
  return out;
}

}  // namespace torq::torqd
