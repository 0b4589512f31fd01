// torq/ops/config.hpp — the torqd configuration: one TOML file parsed into a typed TorqConfig.
//
// Owns TorqConfig (every section of the file, see docs/operator.md for each key), the loader
// (toml++), validation, `${VAR}` environment expansion, the local-chain manifest include, and the
// split between structural settings (need a restart) and reloadable ones (strategy thresholds, risk
// limits, alert thresholds) with diff_reloadable() for SIGHUP / `torqctl reload`.
//
// Errors: every problem found is collected into one ConfigError; each ConfigIssue names the dotted
// key (e.g. "risk.max_notional_usd", "endpoints[1].url"), the 1-based line in the file (0 when the
// problem has no single line, e.g. a missing section) and what is wrong. Unknown keys are errors.
// USD amounts are decimal strings (or integers) parsed exactly into UsdFixedPoint8; TOML floats
// are refused for money. The file never holds the signing key: [key] names a file or an env var.
//
// Start-up / control-plane code: allocates, throws ConfigError (and only that) from the loaders.
// Thread-safety: plain value types; the loader has no shared state (environment access goes through
// LoadOptions::getenv, default ::getenv).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "torq/num/usd_fixed.hpp"

namespace torq::ops {

using num::UsdFixedPoint8;

enum class EndpointScheme : std::uint8_t { ws, wss, http, https };
enum class VenueKind : std::uint8_t { v2, v3, algebra };
enum class DeployMode : std::uint8_t { monolith, distributed };
enum class Role : std::uint8_t { collector, strategy, executor, dashboard };
enum class NicBackend : std::uint8_t { kernel, dpdk };

[[nodiscard]] std::string_view to_string(EndpointScheme s) noexcept;
[[nodiscard]] std::string_view to_string(VenueKind k) noexcept;
[[nodiscard]] std::string_view to_string(DeployMode m) noexcept;
[[nodiscard]] std::string_view to_string(Role r) noexcept;
[[nodiscard]] std::optional<Role> parse_role(std::string_view s) noexcept;
[[nodiscard]] std::string_view to_string(NicBackend b) noexcept;

struct ChainConfig {
  std::string name;
  std::uint64_t chain_id = 0;
  // Symbol of the wrapped native token (gas is valued in it), one of [[tokens]]; empty: WMATIC,
  // WPOL or POL (Polygon). Other chains name theirs, e.g. "WETH" on Ethereum, Base or Arbitrum.
  std::string native_token;
  bool operator==(const ChainConfig&) const = default;
};

struct EndpointConfig {
  std::string url;                        // after ${VAR} expansion
  EndpointScheme scheme = EndpointScheme::wss;
  std::uint32_t requests_per_second = 25; // request budget
  std::uint32_t priority = 0;             // lower is preferred
  bool operator==(const EndpointConfig&) const = default;
};

struct TokenConfig {
  std::string symbol;
  std::string address;                    // 0x + 40 hex, checksum case kept as written
  std::uint8_t decimals = 18;
  UsdFixedPoint8 usd_reference{0};        // reference price per whole token
  bool operator==(const TokenConfig&) const = default;
};

struct VenueConfig {
  std::string name;
  VenueKind kind = VenueKind::v2;
  std::string factory;
  std::uint32_t fee_ppm = 0;              // v2: constant fee (3000 = 0.3%); v3: 0 = per-pool tier; algebra: 0 = dynamic
  bool operator==(const VenueConfig&) const = default;
};

struct PoolConfig {
  std::string venue;
  std::string address;
  bool operator==(const PoolConfig&) const = default;
};

struct StrategyConfig {  // reloadable
  UsdFixedPoint8 min_profit_usd{0};
  std::uint64_t gas_units_2hop = 250'000;   // cross-DEX cycle of 2 pools
  std::uint64_t gas_units_3hop = 350'000;   // triangular cycle of 3 pools
  // Transaction gas limit = gas units x (100 + this) / 100: the units are the expected use (the
  // cost estimate); the limit leaves room for state-dependent costs (first oracle/cumulative-price
  // writes of a block, cold storage) so a trade never reverts out of gas.
  std::uint32_t gas_limit_headroom_pct = 50;
  std::uint64_t priority_fee_gwei = 30;
  std::vector<std::string> reference_pools; // pool addresses used to value tokens in USD
  bool operator==(const StrategyConfig&) const = default;
};

struct RiskConfig {  // reloadable (also settable one key at a time through the API)
  UsdFixedPoint8 max_notional_usd{0};
  std::map<std::string, UsdFixedPoint8> per_token_exposure_usd;  // symbol -> max exposure
  std::uint32_t max_in_flight = 1;
  UsdFixedPoint8 daily_loss_usd{0};
  UsdFixedPoint8 max_drawdown_usd{0};
  std::uint32_t breaker_reverts = 3;        // consecutive reverts that trip the breaker
  std::uint32_t breaker_cooldown_s = 300;
  std::uint32_t stale_blocks = 2;           // refuse when pool state is older than this
  std::uint64_t max_gas_price_gwei = 1000;
  bool kill_switch = false;                 // true: start (or stay) killed
  bool operator==(const RiskConfig&) const = default;
};

struct KeyConfig {  // exactly one of file / env
  std::string file;
  std::string env;
  bool operator==(const KeyConfig&) const = default;
};

struct ExecutorConfig {  // structural
  std::string contract;     // the deployed TorqArbitrage (owner = the signing key's address)
  std::string audit_file;   // trade audit log (append-only, checksummed); empty: torqd's default
  bool operator==(const ExecutorConfig&) const = default;
};

struct CoresConfig {  // -1: not pinned
  int collector = -1;
  int strategy = -1;
  int executor = -1;
  bool operator==(const CoresConfig&) const = default;
};

// [mode.resend]: resends on the market-data back channel (mode.links.market_data_requests). The
// collector keeps its last history_frames frames and serves resends within a budget of burst
// frames refilled at per_second; a receiver asks again for a hole still open after retry_us.
struct ResendConfig {
  bool present = false;                 // the file has a [mode.resend] table
  std::uint32_t history_frames = 8192;  // a power of two up to 65536 (1.5 KiB each); 0: no resends
  std::uint32_t burst = 4096;           // frames served at once, 1 .. 1 000 000
  std::uint32_t per_second = 100'000;   // budget refill, 1 .. 100 000 000 frames a second
  std::uint32_t retry_us = 500;         // receiver: ask again after this long, 50 .. 1 000 000 µs
  bool operator==(const ResendConfig&) const = default;
};

struct ModeConfig {
  DeployMode mode = DeployMode::monolith;
  std::vector<Role> roles;                        // distributed: roles this host runs
  std::map<std::string, std::string> links;       // link name -> transport ("shm:/torq-md", "udp://…")
  ResendConfig resend;                            // [mode.resend]
  bool operator==(const ModeConfig&) const = default;
};

// [nic]: how this process receives (lines) or sends (tx_device) the market-data link when it
// travels over UDP: kernel sockets or DPDK (docs/dpdk.md, docs/operator.md). Absent: a udp://
// market_data link (and its optional market_data_b line) uses kernel sockets built from the links.
struct NicLineConfig {
  std::string name;            // "A", "B", ...
  std::string address;         // "a.b.c.d:port": multicast group or unicast destination of the line
  std::string interface_ip;    // kernel multicast: join on the interface with this address ("" default)
  std::string dpdk_device;     // dpdk: the port's device (PCI address or a --vdev name such as net_tap0)
  std::uint16_t queue = 0;     // dpdk: rx queue
  bool operator==(const NicLineConfig&) const = default;
};
struct NicConfig {
  bool present = false;                  // the file has a [nic] section
  NicBackend backend = NicBackend::kernel;
  int poll_core = -1;                    // the receive poll loop's CPU (-1: not pinned)
  std::uint32_t burst = 32;              // packets per rx burst / datagrams per recvmmsg
  bool arbitrate = false;                // merge the lines A/B by sequence (needs >= 2 lines)
  std::uint32_t arbiter_window = 256;    // sequences buffered ahead of a hole (power of two)
  std::uint32_t arbiter_timeout_us = 2000;  // a hole older than this is declared lost
  bool verify_udp_checksum = false;      // dpdk: check UDP checksums in software
  std::uint32_t mbufs = 8191;            // dpdk: mbufs per NUMA pool
  // [nic.eal] (dpdk only)
  std::string eal_cores;                 // -l (default: poll_core, else "0")
  std::uint32_t eal_memory_mb = 0;       // -m (0: DPDK default; 256 without hugepages)
  std::string hugepages = "auto";        // auto | require | none
  std::vector<std::string> allow_pci;    // -a per device; empty: --no-pci
  std::vector<std::string> vdevs;        // --vdev per virtual device
  std::vector<std::string> driver_paths; // -d per extra PMD
  std::string file_prefix;               // --file-prefix (default torqd-<pid>)
  std::string log_level;                 // --log-level
  std::vector<NicLineConfig> lines;      // [[nic.lines]], 1..4: receiving
  // Sending (a collector; backend dpdk): frames leave through this port instead of kernel sockets.
  std::string tx_device;                 // the port (PCI address or virtual device)
  std::uint16_t tx_queue = 0;
  std::string tx_src_ip;                 // IPv4 source address written into the packets
  std::uint16_t tx_src_port = 40000;
  std::string tx_dst_mac;                // next hop for unicast destinations ("aa:bb:cc:dd:ee:ff"); multicast: derived
  bool operator==(const NicConfig&) const = default;
};

struct ApiConfig {
  std::string bind = "127.0.0.1";
  std::uint16_t port = 8787;
  std::string token_file;     // bearer token, file must be mode 0600 (no group/other access)
  std::string audit_file;     // operator audit trail (JSON lines); empty: <token_file dir>/operator-audit.jsonl
  std::string web_root;       // dashboard files; empty: the compiled-in default
  // A distributed process without the dashboard role serves its own operator API too (for a
  // standalone dashboard to aggregate; torqd --api-port does the same from the command line).
  bool serve_own = false;
  std::uint32_t max_connections = 64;  // concurrent API connections (HTTP and WebSocket); more are closed at once
  bool operator==(const ApiConfig&) const = default;
};

// [dashboard]: a standalone dashboard process (torqd --role dashboard) aggregates the operator
// surfaces of the role processes listed here (each run with --api-port; docs/operator.md).
struct DashboardConfig {
  std::vector<std::string> upstreams;        // "http://host:port" of each role process's operator API
  std::uint32_t poll_ms = 250;               // how often each upstream's /api/snapshot is read
  std::string upstream_token_file;           // bearer token for the upstreams; empty: [api] token_file
  bool operator==(const DashboardConfig&) const = default;
};

struct MetricsConfig {  // reloadable
  bool require_token = false;            // /metrics behind the bearer token
  std::uint32_t snapshot_interval_ms = 250;  // dashboard push period
  std::uint32_t opportunities_kept = 200;
  std::uint32_t trades_kept = 200;
  bool operator==(const MetricsConfig&) const = default;
};

struct AlertsConfig {  // reloadable
  std::uint64_t block_lag_blocks = 5;
  std::uint32_t no_events_s = 30;
  bool breaker_tripped = true;
  UsdFixedPoint8 drawdown_usd{0};        // 0: off
  std::uint32_t ring_fill_pct = 80;
  std::string webhook_url;               // optional http:// URL; empty: log only
  bool operator==(const AlertsConfig&) const = default;
};

struct TorqConfig {
  std::string source;                    // file name (for messages)
  std::string manifest;                  // resolved include_manifest path, if any
  ChainConfig chain;
  std::vector<EndpointConfig> endpoints;
  std::vector<TokenConfig> tokens;
  std::vector<VenueConfig> venues;
  std::vector<PoolConfig> pools;
  StrategyConfig strategy;
  RiskConfig risk;
  KeyConfig key;
  ExecutorConfig executor;
  CoresConfig cores;
  ModeConfig mode;
  NicConfig nic;
  ApiConfig api;
  DashboardConfig dashboard;
  MetricsConfig metrics;
  AlertsConfig alerts;
  bool operator==(const TorqConfig&) const = default;
};

struct ConfigIssue {
  std::string key;       // dotted path, e.g. "endpoints[0].url"
  std::uint32_t line = 0;
  std::string message;
};

class ConfigError : public std::runtime_error {
 public:
  ConfigError(std::string source, std::vector<ConfigIssue> issues);
  [[nodiscard]] const std::vector<ConfigIssue>& issues() const noexcept { return issues_; }
  [[nodiscard]] const std::string& source() const noexcept { return source_; }

 private:
  std::string source_;
  std::vector<ConfigIssue> issues_;
};

struct LoadOptions {
  // Environment lookup for ${VAR}; default reads the process environment.
  std::function<std::optional<std::string>(const std::string&)> getenv;
  // Directory that relative paths (include_manifest) are resolved against; default: the
  // config file's directory (load_config_file) or the current directory (parse_config).
  std::filesystem::path base_dir;
};

// Parses TOML text. `source_name` appears in messages. Throws ConfigError.
[[nodiscard]] TorqConfig parse_config(std::string_view toml_text, std::string_view source_name,
                                      const LoadOptions& options = {});
// Reads and parses a file. Throws ConfigError (also when the file cannot be read).
[[nodiscard]] TorqConfig load_config_file(const std::filesystem::path& path, const LoadOptions& options = {});

// "file:12: key: message" lines, one per issue.
[[nodiscard]] std::string format_issues(const ConfigError& e);

// Reload: which settings changed, and whether any of them needs a restart.
struct ReloadDiff {
  std::vector<std::string> structural;   // sections that changed but cannot be reloaded
  std::vector<std::string> reloadable;   // reloadable keys that changed
  [[nodiscard]] bool allowed() const noexcept { return structural.empty(); }
};
[[nodiscard]] ReloadDiff diff_reloadable(const TorqConfig& old_config, const TorqConfig& new_config);

// One risk limit by key (the names of [risk], plus "per_token_exposure_usd.<SYMBOL>"), as used by
// POST /api/risk and `torqctl risk set`. Returns an error message, or nullopt after applying it.
[[nodiscard]] std::optional<std::string> apply_risk_setting(RiskConfig& risk, std::string_view key,
                                                            std::string_view value);
// Keys accepted by apply_risk_setting (without the per-token form).
[[nodiscard]] const std::vector<std::string_view>& risk_setting_keys();

}  // namespace torq::ops
