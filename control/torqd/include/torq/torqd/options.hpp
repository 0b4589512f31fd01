// torq/torqd/options.hpp — everything torqd is told at start-up: from the TOML configuration
// (torq::ops::load_config_file) and/or the command line, merged into one Options value.
//
// Command line (always accepted; flags override the file):
//   --config FILE          TOML configuration (docs/operator.md)
//   --manifest FILE        local-chain manifest (tokens, pools, RPC URLs; docs/local-chain.md)
//   --rpc URL              WebSocket node URL (ws:// or wss://); the HTTP URL is derived
//                          (same host/port, http/https) unless --rpc-http is given
//   --key-file FILE        signing key, 64 hex digits, mode 0600 (never printed)
//   --contract ADDRESS     deployed TorqArbitrage (owner = the key's address)
//   --audit FILE, --stats-file FILE, --role ROLES, --idle spin|backoff|yield, ...
// Reloadable settings (SIGHUP) are grouped in Reloadable.
// Start-up code: allocates, throws std::invalid_argument / ops::ConfigError with the key named.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "torq/mycelium/idle.hpp"
#include "torq/num/usd_fixed.hpp"
#include "torq/ops/config.hpp"
#include "torq/risk/risk_gates.hpp"

namespace torq::torqd {

enum class Role : std::uint8_t { monolith, collector, strategy, executor, dashboard };

// The roles this process runs: one bit per role; no bit = monolith (every role, in-process links).
// dashboard = this process serves the operator surface (API, dashboard, metrics). Together with
// other roles it serves theirs; alone it is a standalone dashboard that aggregates the operator
// APIs of the role processes in [dashboard] upstreams (torq/ops/aggregate.hpp) and runs no stage.
struct RoleSet {
  std::uint8_t bits = 0;
  [[nodiscard]] static constexpr std::uint8_t bit(Role r) noexcept {
    return r == Role::monolith ? 0 : static_cast<std::uint8_t>(1u << (static_cast<unsigned>(r) - 1));
  }
  [[nodiscard]] constexpr bool monolith() const noexcept { return bits == 0; }
  [[nodiscard]] constexpr bool has(Role r) const noexcept { return bits == 0 || (bits & bit(r)) != 0; }
  constexpr void add(Role r) noexcept { bits = static_cast<std::uint8_t>(bits | bit(r)); }
  constexpr bool operator==(const RoleSet&) const = default;
};
// "monolith", or the roles joined by '+' ("strategy+executor").
[[nodiscard]] std::string to_string(RoleSet roles);
// "collector,strategy" (',' or '+' between names; "monolith" alone). Throws std::invalid_argument.
[[nodiscard]] RoleSet parse_roles(const std::string& text);
// The standalone dashboard: the dashboard role alone, in a distributed deployment.
[[nodiscard]] constexpr bool dashboard_only(RoleSet r) noexcept { return r.bits == RoleSet::bit(Role::dashboard); }
enum class IdleKind : std::uint8_t { spin, backoff, yield };

// Runs f(idle) with the idle strategy `kind` names: chosen once per loop, so the loop calls
// idle.idle() without a branch or virtual call per poll.
template <class F>
void with_idle(IdleKind kind, F&& f) noexcept {
  switch (kind) {
    case IdleKind::spin: {
      mycelium::BusySpinIdle i;
      f(i);
      return;
    }
    case IdleKind::yield: {
      mycelium::YieldIdle i;
      f(i);
      return;
    }
    case IdleKind::backoff: {
      mycelium::BackoffIdle i;
      f(i);
      return;
    }
  }
}

// Settings SIGHUP may change while running.
struct Reloadable {
  num::UsdFixedPoint8 min_profit_usd{num::UsdFixedPoint8::kScale / 100};  // executor threshold (net, after gas)
  std::uint32_t min_profit_share_bps = 5000;   // on-chain minProfit = expected profit * bps / 10000 (>= 1 unit)
  std::uint64_t priority_fee_gwei = 30;        // raised to 25 gwei on chain 137
  // Risk limits (UsdFixedPoint8 where USD).
  num::UsdFixedPoint8 max_notional_usd{20000 * num::UsdFixedPoint8::kScale};
  num::UsdFixedPoint8 daily_loss_usd{1000 * num::UsdFixedPoint8::kScale};
  num::UsdFixedPoint8 max_drawdown_usd{2000 * num::UsdFixedPoint8::kScale};
  std::uint32_t max_in_flight = 1;
  std::uint32_t stale_blocks = 2;
  std::uint64_t max_gas_price_gwei = 1000;
  std::uint32_t breaker_reverts = 3;
  std::uint32_t breaker_cooldown_s = 300;
  bool kill_switch = false;
  // [risk] per_token_exposure_usd: symbol -> limit. Applied by Pipeline::reload (every token not
  // named has no per-token limit beyond max_notional); at start-up Options::prices carry them.
  std::map<std::string, num::UsdFixedPoint8> token_exposure_usd;
};

// The risk gates' limits for these settings (USD as UsdFixedPoint8 raw, gwei as wei, s as ns).
[[nodiscard]] inline risk::RiskLimits risk_limits_of(const Reloadable& r) noexcept {
  risk::RiskLimits l;
  l.max_notional_usd = r.max_notional_usd.raw;
  l.max_daily_loss_usd = r.daily_loss_usd.raw;
  l.max_drawdown_usd = r.max_drawdown_usd.raw;
  l.max_in_flight = r.max_in_flight;
  l.max_state_age_blocks = r.stale_blocks;
  l.max_fee_per_gas_wei = r.max_gas_price_gwei * 1'000'000'000ULL;
  l.min_priority_fee_wei = r.priority_fee_gwei * 1'000'000'000ULL;
  l.breaker_threshold = r.breaker_reverts;
  l.breaker_cooldown_ns = std::uint64_t{r.breaker_cooldown_s} * 1'000'000'000ULL;
  return l;
}

struct TokenPrice {
  std::string symbol;
  std::string address;  // 0x…
  num::UsdFixedPoint8 usd{0};
  num::UsdFixedPoint8 max_exposure_usd{0};  // 0: no per-token limit beyond max_notional
};

// A node endpoint after the primary one (the config's [[endpoints]] beyond the best priority):
// the ws and http URLs of one priority level (either may be empty) and its request budget.
struct BackupEndpoint {
  std::string http;
  std::string ws;
  std::uint32_t priority = 0;
  std::uint32_t requests_per_second = 0;  // the lower budget of the level's entries; 0 = unlimited
  bool operator==(const BackupEndpoint&) const = default;
};

struct Options {
  std::string config_file;
  std::string manifest;
  std::string rpc_ws;
  std::string rpc_http;
  // Failover endpoints, best first: the node session and every ChainClient move to the next one
  // when the one in use fails (control::ChainClient / NodeSession). --rpc / --rpc-http replace
  // the primary only.
  std::vector<BackupEndpoint> backup_endpoints;
  // Request budget of the primary endpoint ([[endpoints]] requests_per_second, the lower of its
  // ws and http entries); 0 = unlimited (a manifest's or the command line's URLs). Each client
  // (node session, start-up, submitter, builtin collector) paces its own requests to it.
  std::uint32_t rpc_requests_per_second = 0;
  // --kill-switch: sticky like an operator's kill (only `resume` releases it; a reload of a file
  // saying kill_switch = false does not).
  bool kill_switch_flag = false;
  std::string key_file;
  std::string key_env;
  std::string contract;
  std::string audit_file = "torq-audit.log";
  std::string stats_file;  // JSON summary written at exit (also printed on stdout)
  std::string native_token;  // [chain] native_token: symbol of the wrapped native token; empty: WMATIC/WPOL/POL
  RoleSet roles;                                 // from --role, else [mode] roles; none: monolith
  // --api-port: this process serves its own operator API on this port (0: ephemeral) whatever its
  // roles, e.g. a role process a standalone dashboard aggregates. -1: [api] port, served only by a
  // monolith or a process with the dashboard role.
  int api_port = -1;
  bool api_serve_own = false;  // [api] serve_own: serve this process's own API whatever its roles
  std::string md_link = "shm:/torq-md";         // distributed: collector → strategy
  std::string md_link_b;                        // distributed, udp:// only: line B (sent on both, merged A/B)
  std::string md_request_link;                  // udp:// back channel: receivers ask the collector for snapshots and resends
  ops::ResendConfig resend;                     // [mode.resend]: the back channel's history, budget and retry
  // Largest market-data frame the collector builds (0: the protocol's 65000). Set to 1472 (an
  // Ethernet MTU's UDP payload) when the market-data link is udp://, so no frame is IP-fragmented
  // and every frame fits one DPDK mbuf; snapshots are split into more frames instead.
  std::uint32_t md_max_frame_bytes = 0;
  std::string signal_link = "shm:/torq-signals";  // distributed: strategy → executor
  IdleKind idle = IdleKind::backoff;
  // How a udp:// market-data link is received (the [nic] section; without it, kernel sockets
  // built from md_link / md_link_b). See torq/torqd/links.hpp.
  ops::NicConfig nic;
  // Collector implementation: the control library's NodeSession (failover, rate budgets,
  // adaptive backfill, reorg resnapshots) or torqd's built-in adapter (full tick-bitmap snapshot).
  bool builtin_collector = false;
  int core_collector = -1;
  int core_strategy = -1;
  int core_executor = -1;
  std::uint64_t chain_id = 137;
  std::uint64_t gas_units_2hop = 260000;
  std::uint64_t gas_units_3hop = 380000;
  // Gas limit of a trade: the path kind's gas units (expected use) plus this share of headroom.
  std::uint32_t gas_limit_headroom_pct = 50;
  [[nodiscard]] std::uint64_t gas_limit_for(std::uint8_t hops) const noexcept {
    const std::uint64_t units = hops == 2 ? gas_units_2hop : gas_units_3hop;
    return units * (100 + gas_limit_headroom_pct) / 100;
  }
  std::uint32_t receipt_timeout_ms = 30000;
  // Blocks on top of a receipt's block before the trade is booked (P&L, risk outcome, nonce
  // settled); 0 books at the first receipt. A receipt whose block is reorged away is waited for
  // again. Keep it below replace_after_blocks (a confirming tx would otherwise look stuck).
  std::uint32_t receipt_confirmations = 0;
  // Stuck transactions (risk::NonceManager): replaced at the same nonce with both fees raised by
  // replace_bump_pct (>= 10) when still without a receipt replace_after_blocks blocks or
  // replace_after_ms after sending (0: blocks only), never above [risk] max_gas_price_gwei.
  std::uint32_t replace_after_blocks = 5;
  std::uint32_t replace_after_ms = 20000;
  std::uint32_t replace_bump_pct = 12;
  std::vector<TokenPrice> prices;  // from the config file's [[tokens]] (the manifest's usdPrice otherwise)
  // Without a manifest: the config's [[tokens]], [[venues]] and [[pools]], resolved on chain at
  // start-up into a pool list file (torq/torqd/pool_resolve.hpp).
  std::vector<ops::TokenConfig> config_tokens;
  std::vector<ops::VenueConfig> config_venues;
  std::vector<ops::PoolConfig> config_pools;
  Reloadable reload;
  // Record and replay (docs/record-replay.md).
  std::string record_file;             // --record: node transport + md frames of the node session
  std::string replay_file;             // --replay: replay a recording instead of running
  std::string replay_out;              // --replay-out: the replay's frames, signals and decisions
  bool replay_recorded_speed = false;  // --replay-speed recorded (default max)
};

// Parses argv (CLI11) and, when --config is given, the TOML file under the flags.
// Throws std::invalid_argument (bad flag or value, missing required setting) or ops::ConfigError.
// `--help` prints usage and returns nullopt-like: help_requested set.
struct ParsedArgs {
  Options options;
  bool help_requested = false;
  std::string help_text;
};
[[nodiscard]] ParsedArgs parse_args(int argc, const char* const* argv);

[[nodiscard]] const char* to_string(Role r) noexcept;

}  // namespace torq::torqd
