// Tests for torq/ops/config.hpp: samples parse, every class of error names key and line, ${VAR}
// expansion, unknown keys, manifest include, reload diff.
#include "torq/ops/config.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <algorithm>
#include <unistd.h>

namespace {

using torq::ops::ConfigError;
using torq::ops::ConfigIssue;
using torq::ops::LoadOptions;
using torq::ops::TorqConfig;

std::filesystem::path source_dir() {
  const char* s = std::getenv("TORQ_SOURCE_DIR");
  return s ? std::filesystem::path(s) : std::filesystem::path(TORQ_TEST_SOURCE_DIR);
}

LoadOptions env(std::map<std::string, std::string> vars) {
  LoadOptions o;
  o.getenv = [vars = std::move(vars)](const std::string& n) -> std::optional<std::string> {
    auto it = vars.find(n);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
  return o;
}

// A small valid file; tests replace one line to inject each error.
const char* kBase = R"(
[chain]
name = "polygon"
chain_id = 137

[[endpoints]]
url = "wss://node.example/ws"
requests_per_second = 20

[[tokens]]
symbol = "WETH"
address = "0x7ceB23fD6bC0adD59E62ac25578270cFf1b9f619"
decimals = 18
usd_reference = "3000.5"

[[venues]]
name = "quickswap"
kind = "v2"
factory = "0x5757371414417b8C6CAad45bAeF941aBc7d3Ab32"
fee = 3000

[[pools]]
venue = "quickswap"
address = "0x853Ee4b2A13f8a742d64C8F088bE7bA2131f670d"

[strategy]
min_profit_usd = "0.12345678"
priority_fee_gwei = 30

[risk]
max_notional_usd = "1000"
max_in_flight = 2
daily_loss_usd = "100"
max_drawdown_usd = "200"
breaker_reverts = 3
max_gas_price_gwei = 500

[key]
env = "TORQ_SIGNER_KEY"

[api]
token_file = "/run/torq/api.token"
)";

std::string replace(std::string text, const std::string& from, const std::string& to) {
  const auto p = text.find(from);
  EXPECT_NE(p, std::string::npos) << from;
  if (p != std::string::npos) text.replace(p, from.size(), to);
  return text;
}

std::vector<ConfigIssue> errors_of(const std::string& text, const LoadOptions& o = {}) {
  try {
    (void)torq::ops::parse_config(text, "test.toml", o);
  } catch (const ConfigError& e) {
    return e.issues();
  }
  ADD_FAILURE() << "expected a ConfigError";
  return {};
}

int line_of(const std::string& text, const std::string& needle) {
  const auto p = text.find(needle);
  return 1 + static_cast<int>(std::count(text.begin(), text.begin() + static_cast<long>(p), '\n'));
}

TEST(Config, ShouldParseBaseFileIntoTypedFields) {
  const TorqConfig c = torq::ops::parse_config(kBase, "base.toml");
  EXPECT_EQ(c.chain.chain_id, 137u);
  ASSERT_EQ(c.endpoints.size(), 1u);
  EXPECT_EQ(c.endpoints[0].scheme, torq::ops::EndpointScheme::wss);
  EXPECT_EQ(c.endpoints[0].requests_per_second, 20u);
  EXPECT_EQ(c.strategy.min_profit_usd.raw, 12'345'678);  // exact, no float
  EXPECT_EQ(c.tokens.at(0).usd_reference.raw, 300'050'000'000);
  EXPECT_EQ(c.risk.max_notional_usd.raw, 100'000'000'000);
  EXPECT_EQ(c.key.env, "TORQ_SIGNER_KEY");
  EXPECT_EQ(c.api.bind, "127.0.0.1");  // default: localhost only
  EXPECT_EQ(c.mode.mode, torq::ops::DeployMode::monolith);
}

TEST(Config, ShouldParsePolygonMainnetSampleWithRealAddresses) {
  const auto c = torq::ops::load_config_file(source_dir() / "config/polygon-mainnet.toml",
                                             env({{"POLYGON_WSS_URL", "wss://polygon.example/ws"},
                                                  {"POLYGON_HTTPS_URL", "https://polygon.example"},
                                                  {"TORQ_CONTRACT", "0x00000000000000000000000000000000000000c0"}}));
  EXPECT_EQ(c.chain.chain_id, 137u);
  EXPECT_EQ(c.endpoints.at(0).url, "wss://polygon.example/ws");
  bool quickswap = false;
  for (const auto& v : c.venues)
    if (v.name == "quickswap") quickswap = v.factory == "0x5757371414417b8C6CAad45bAeF941aBc7d3Ab32";
  EXPECT_TRUE(quickswap);
  EXPECT_EQ(c.api.token_file, "/etc/torq/api.token");  // ${VAR:-default}
  EXPECT_EQ(c.executor.contract, "0x00000000000000000000000000000000000000c0");
  EXPECT_EQ(c.executor.audit_file, "/var/lib/torq/torq-audit.log");
  EXPECT_TRUE(c.manifest.empty()) << "mainnet pools come from [[pools]], resolved on chain";
  EXPECT_GE(c.pools.size(), 5u);
  EXPECT_GE(c.strategy.priority_fee_gwei, 25u);
}

TEST(Config, ShouldTakeTokensVenuesPoolsAndEndpointsFromManifestInLocalSample) {
  const auto dir = std::filesystem::temp_directory_path() / ("torq-cfg-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  {
    std::ofstream m(dir / "manifest.json");
    m << R"({"schema":"torq-local-chain/1","chainId":137,"rpc":{"http":"http://127.0.0.1:4545","ws":"ws://127.0.0.1:4545"},
      "keysFile":"/tmp/k.json",
      "tokens":[{"symbol":"USDC","address":"0x5FbDB2315678afecb367f032d93F642f64180aa3","decimals":6,"usdPrice":1},
                {"symbol":"WETH","address":"0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0","decimals":18,"usdPrice":3000},
                {"symbol":"WMATIC","address":"0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9","decimals":18,"usdPrice":0.5}],
      "venues":[{"name":"quickswap","kind":"v2","factory":"0x0165878A594ca255338adfa4d48449f69242Eb8F","feeRule":{"type":"constant","fee":3000}},
                {"name":"uniswap-v3","kind":"v3","factory":"0x2279B7A0a67DB372996a5FaB50D91eAA73d2eBe6","feeRule":{"type":"per-pool-fee-tier"}}],
      "pools":[{"address":"0xac6616c2bDf40fA6F8A27aD4a9E0B5D5A9F1f8E1","venue":"quickswap","kind":"v2"}]})";
  }
  const auto c = torq::ops::load_config_file(source_dir() / "config/local.toml",
                                             env({{"TORQ_CHAIN_MANIFEST", (dir / "manifest.json").string()}}));
  ASSERT_EQ(c.tokens.size(), 3u);
  EXPECT_EQ(c.tokens[2].usd_reference.raw, 50'000'000);  // 0.5 from JSON text, exact
  ASSERT_EQ(c.venues.size(), 2u);
  EXPECT_EQ(c.venues[0].fee_ppm, 3000u);
  EXPECT_EQ(c.venues[1].kind, torq::ops::VenueKind::v3);
  ASSERT_EQ(c.pools.size(), 1u);
  ASSERT_EQ(c.endpoints.size(), 2u);
  EXPECT_EQ(c.endpoints[0].url, "ws://127.0.0.1:4545");
  EXPECT_EQ(c.key.file, "/tmp/k.json#executor");
  std::filesystem::remove_all(dir);
}

TEST(Config, ShouldNameVariableAndLineWhenEnvironmentVariableIsUnset) {
  const std::string text = replace(kBase, "wss://node.example/ws", "${POLYGON_WSS_URL}");
  const auto issues = errors_of(text, env({}));
  ASSERT_EQ(issues.size(), 1u);
  EXPECT_EQ(issues[0].key, "endpoints[0].url");
  EXPECT_EQ(static_cast<int>(issues[0].line), line_of(text, "${POLYGON_WSS_URL}"));
  EXPECT_NE(issues[0].message.find("POLYGON_WSS_URL"), std::string::npos);
}

TEST(Config, ShouldExpandEnvironmentVariablesInsideValues) {
  const std::string text = replace(kBase, "wss://node.example/ws", "wss://${HOST}/v2/${KEY}");
  const auto c = torq::ops::parse_config(text, "t.toml", env({{"HOST", "rpc.example"}, {"KEY", "abc"}}));
  EXPECT_EQ(c.endpoints[0].url, "wss://rpc.example/v2/abc");
}

TEST(Config, ShouldRejectUnknownKeyWithItsLine) {
  const std::string text = replace(kBase, "max_in_flight = 2", "max_in_fligth = 2");
  const auto issues = errors_of(text);
  bool unknown = false, missing = false;
  for (const auto& i : issues) {
    if (i.key == "risk.max_in_fligth") {
      unknown = true;
      EXPECT_EQ(static_cast<int>(i.line), line_of(text, "max_in_fligth"));
      EXPECT_NE(i.message.find("unknown key"), std::string::npos);
    }
    if (i.key == "risk.max_in_flight") missing = true;
  }
  EXPECT_TRUE(unknown);
  EXPECT_TRUE(missing);  // the real key is required and now absent
}

TEST(Config, ShouldRejectUnknownSection) {
  const auto issues = errors_of(std::string(kBase) + "\n[riks]\nx = 1\n");
  ASSERT_FALSE(issues.empty());
  EXPECT_EQ(issues[0].key, "riks");
}

TEST(Config, ShouldRefuseFloatForUsdAmount) {
  const std::string text = replace(kBase, "min_profit_usd = \"0.12345678\"", "min_profit_usd = 0.1");
  const auto issues = errors_of(text);
  ASSERT_EQ(issues.size(), 1u);
  EXPECT_EQ(issues[0].key, "strategy.min_profit_usd");
  EXPECT_EQ(static_cast<int>(issues[0].line), line_of(text, "min_profit_usd"));
  EXPECT_NE(issues[0].message.find("inexact"), std::string::npos);
}

TEST(Config, ShouldRejectUsdWithTooManyDecimals) {
  const auto issues = errors_of(replace(kBase, "\"0.12345678\"", "\"0.123456789\""));
  ASSERT_EQ(issues.size(), 1u);
  EXPECT_EQ(issues[0].key, "strategy.min_profit_usd");
}

TEST(Config, ShouldRejectWrongTypeAndOutOfRange) {
  const std::string text = replace(replace(kBase, "decimals = 18", "decimals = \"18\""), "max_in_flight = 2", "max_in_flight = 0");
  const auto issues = errors_of(text);
  ASSERT_EQ(issues.size(), 2u);
  EXPECT_EQ(issues[0].key, "tokens[0].decimals");
  EXPECT_EQ(static_cast<int>(issues[0].line), line_of(text, "decimals = \"18\""));
  EXPECT_EQ(issues[1].key, "risk.max_in_flight");
  EXPECT_NE(issues[1].message.find("out of range"), std::string::npos);
}

TEST(Config, ShouldRejectBadAddressAndUnknownVenueKind) {
  const std::string text = replace(replace(kBase, "0x7ceB23fD6bC0adD59E62ac25578270cFf1b9f619", "0x7ceB23"),
                                   "kind = \"v2\"", "kind = \"v4\"");
  const auto issues = errors_of(text);
  ASSERT_EQ(issues.size(), 2u);
  EXPECT_EQ(issues[0].key, "tokens[0].address");
  EXPECT_EQ(issues[1].key, "venues[0].kind");
  EXPECT_EQ(static_cast<int>(issues[1].line), line_of(text, "\"v4\""));
}

TEST(Config, ShouldRejectPoolOfUnknownVenue) {
  const auto issues = errors_of(replace(kBase, "venue = \"quickswap\"", "venue = \"quikswap\""));
  ASSERT_EQ(issues.size(), 1u);
  EXPECT_EQ(issues[0].key, "pools[0].venue");
}

TEST(Config, ShouldRejectPriorityFeeBelowPolygonFloor) {
  const auto issues = errors_of(replace(kBase, "priority_fee_gwei = 30", "priority_fee_gwei = 10"));
  ASSERT_EQ(issues.size(), 1u);
  EXPECT_EQ(issues[0].key, "strategy.priority_fee_gwei");
  EXPECT_NE(issues[0].message.find("25 gwei"), std::string::npos);
}

TEST(Config, ShouldTakeGasLimitHeadroomAndRejectItAboveFourHundredPercent) {
  EXPECT_EQ(torq::ops::parse_config(kBase, "base.toml").strategy.gas_limit_headroom_pct, 50u);  // default
  const std::string with = replace(kBase, "priority_fee_gwei = 30", "priority_fee_gwei = 30\ngas_limit_headroom_pct = 20");
  EXPECT_EQ(torq::ops::parse_config(with, "h.toml").strategy.gas_limit_headroom_pct, 20u);
  const auto issues = errors_of(replace(kBase, "priority_fee_gwei = 30", "priority_fee_gwei = 30\ngas_limit_headroom_pct = 500"));
  ASSERT_EQ(issues.size(), 1u);
  EXPECT_EQ(issues[0].key, "strategy.gas_limit_headroom_pct");
}

TEST(Config, ShouldRejectMissingRequiredSection) {
  const std::string text = replace(kBase, "[key]\nenv = \"TORQ_SIGNER_KEY\"\n", "");
  const auto issues = errors_of(text);
  ASSERT_EQ(issues.size(), 1u);
  EXPECT_EQ(issues[0].key, "key");
}

TEST(Config, ShouldRejectPrivateKeyWrittenIntoConfig) {
  const auto issues = errors_of(replace(kBase, "env = \"TORQ_SIGNER_KEY\"",
      "file = \"0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d\""));
  ASSERT_EQ(issues.size(), 1u);
  EXPECT_EQ(issues[0].key, "key.file");
}

// docs/operator.md: key.env is the NAME of a variable, "a 64-hex value is refused" (else torqd
// would look the key up as a variable name and print it in "environment variable … is not set").
TEST(Config, ShouldRejectPrivateKeyWrittenIntoKeyEnv) {
  const std::string k = "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
  for (const std::string& v : {k, "0x" + k}) {
    const auto issues = errors_of(replace(kBase, "env = \"TORQ_SIGNER_KEY\"", "env = \"" + v + "\""));
    ASSERT_EQ(issues.size(), 1u) << v;
    EXPECT_EQ(issues[0].key, "key.env");
    EXPECT_EQ(issues[0].message.find(k.substr(0, 16)), std::string::npos) << issues[0].message;
  }
}

TEST(Config, ShouldReportSyntaxErrorLine) {
  const std::string text = std::string(kBase) + "\n[metrics\n";
  const auto issues = errors_of(text);
  ASSERT_EQ(issues.size(), 1u);
  EXPECT_EQ(issues[0].key, "(syntax)");
  EXPECT_EQ(static_cast<int>(issues[0].line), line_of(text, "[metrics"));
}

TEST(Config, ShouldRequireLinksAndRolesInDistributedMode) {
  const std::string text = std::string(kBase) +
      "\n[mode]\nmode = \"distributed\"\nroles = [\"strategy\"]\n[mode.links]\nmarket_data = \"shm:/torq-md\"\n"
      "signals = \"inproc:sig\"\n";
  const auto issues = errors_of(text);
  ASSERT_EQ(issues.size(), 2u);
  EXPECT_EQ(issues[0].key, "mode.links.signals");  // inproc cannot cross processes
  EXPECT_EQ(static_cast<int>(issues[0].line), line_of(text, "signals = "));
  EXPECT_EQ(issues[1].key, "mode.links.signals");  // hence missing
}

constexpr const char* kUdpMode =
    "\n[mode]\nmode = \"distributed\"\nroles = [\"strategy\", \"executor\"]\n[mode.links]\n"
    "market_data = \"udp://239.10.0.1:5001\"\nmarket_data_b = \"udp://239.10.0.2:5002\"\nsignals = \"shm:/torq-sig\"\n";

TEST(Config, ShouldParseNicSectionForDpdkWithTwoArbitratedLines) {
  const std::string text = std::string(kBase) + kUdpMode +
      "[nic]\nbackend = \"dpdk\"\npoll_core = 5\narbitrate = true\narbiter_window = 512\narbiter_timeout_us = 800\n"
      "[nic.eal]\ncores = \"5\"\nmemory_mb = 512\nhugepages = \"require\"\nallow_pci = [\"0000:3b:00.0\"]\n"
      "[[nic.lines]]\naddress = \"239.10.0.1:5001\"\ndpdk_device = \"0000:3b:00.0\"\n"
      "[[nic.lines]]\nname = \"feed-b\"\naddress = \"239.10.0.2:5002\"\ndpdk_device = \"0000:3b:00.0\"\nqueue = 1\n";
  const auto c = torq::ops::parse_config(text, "nic.toml");
  EXPECT_TRUE(c.nic.present);
  EXPECT_EQ(c.nic.backend, torq::ops::NicBackend::dpdk);
  EXPECT_EQ(c.nic.poll_core, 5);
  EXPECT_TRUE(c.nic.arbitrate);
  EXPECT_EQ(c.nic.arbiter_window, 512u);
  EXPECT_EQ(c.nic.eal_memory_mb, 512u);
  EXPECT_EQ(c.nic.hugepages, "require");
  EXPECT_EQ(c.nic.allow_pci, std::vector<std::string>{"0000:3b:00.0"});
  ASSERT_EQ(c.nic.lines.size(), 2u);
  EXPECT_EQ(c.nic.lines[0].name, "A");
  EXPECT_EQ(c.nic.lines[1].name, "feed-b");
  EXPECT_EQ(c.nic.lines[1].queue, 1);
  EXPECT_EQ(c.mode.links.at("market_data_b"), "udp://239.10.0.2:5002");
  auto other = c;
  other.nic.poll_core = 6;
  const auto d = torq::ops::diff_reloadable(c, other);
  EXPECT_FALSE(d.allowed()) << "[nic] is structural";
}

TEST(Config, ShouldParseTheResendTableOfTheBackChannel) {
  const std::string back = "market_data_requests = \"udp://10.0.0.7:5009\"\n";
  // Without the table: the defaults the collector and receivers use.
  const auto d = torq::ops::parse_config(std::string(kBase) + kUdpMode + back, "d.toml");
  EXPECT_FALSE(d.mode.resend.present);
  EXPECT_EQ(d.mode.resend.history_frames, 8192u);
  EXPECT_EQ(d.mode.resend.burst, 4096u);
  EXPECT_EQ(d.mode.resend.per_second, 100000u);
  EXPECT_EQ(d.mode.resend.retry_us, 500u);
  const auto c = torq::ops::parse_config(std::string(kBase) + kUdpMode + back +
      "[mode.resend]\nhistory_frames = 32768\nburst = 2000\nper_second = 50000\nretry_us = 300\n", "r.toml");
  EXPECT_TRUE(c.mode.resend.present);
  EXPECT_EQ(c.mode.resend.history_frames, 32768u);
  EXPECT_EQ(c.mode.resend.burst, 2000u);
  EXPECT_EQ(c.mode.resend.per_second, 50000u);
  EXPECT_EQ(c.mode.resend.retry_us, 300u);
  const auto off = torq::ops::parse_config(std::string(kBase) + kUdpMode + back + "[mode.resend]\nhistory_frames = 0\n", "o.toml");
  EXPECT_EQ(off.mode.resend.history_frames, 0u) << "0 keeps no history: every resend is answered unavailable";
  auto other = c;
  other.mode.resend.burst = 1;
  EXPECT_FALSE(torq::ops::diff_reloadable(c, other).allowed()) << "the history is allocated at start-up";
}

TEST(Config, ShouldNameEveryBadResendKey) {
  const std::string text = std::string(kBase) + kUdpMode +
      "[mode.resend]\nhistory_frames = 1000\nburst = 0\nper_second = 200000000\nretry_us = 10\nwindow = 4\n";
  const auto issues = errors_of(text);
  std::set<std::string> keys;
  for (const auto& i : issues) keys.insert(i.key);
  EXPECT_TRUE(keys.count("mode.resend.history_frames"));  // not a power of two
  EXPECT_TRUE(keys.count("mode.resend.burst"));           // below 1
  EXPECT_TRUE(keys.count("mode.resend.per_second"));      // above 1e8
  EXPECT_TRUE(keys.count("mode.resend.retry_us"));        // below 50 µs
  EXPECT_TRUE(keys.count("mode.resend.window"));          // unknown key
  EXPECT_TRUE(keys.count("mode.resend"));                 // no market_data_requests link
  EXPECT_EQ(static_cast<int>(std::find_if(issues.begin(), issues.end(), [](const auto& i) { return i.key == "mode.resend.history_frames"; })->line),
            line_of(text, "history_frames = 1000"));
  const auto big = errors_of(std::string(kBase) + kUdpMode + "market_data_requests = \"udp://10.0.0.7:5009\"\n"
                             "[mode.resend]\nhistory_frames = 131072\n");
  ASSERT_EQ(big.size(), 1u);
  EXPECT_EQ(big[0].key, "mode.resend.history_frames");  // above 65536 frames (96 MiB)
}

TEST(Config, ShouldNameEveryBadNicKey) {
  const std::string text = std::string(kBase) + kUdpMode +
      "[nic]\nbackend = \"rdma\"\narbitrate = true\narbiter_window = 100\n"
      "[[nic.lines]]\naddress = \"239.10.0.1\"\n";
  const auto issues = errors_of(text);
  std::set<std::string> keys;
  for (const auto& i : issues) keys.insert(i.key);
  EXPECT_TRUE(keys.count("nic.backend"));
  EXPECT_TRUE(keys.count("nic.arbiter_window"));        // not a power of two
  EXPECT_TRUE(keys.count("nic.lines[0].address"));      // no port
  EXPECT_TRUE(keys.count("nic.arbitrate"));             // one line
  EXPECT_EQ(static_cast<int>(std::find_if(issues.begin(), issues.end(), [](const auto& i) { return i.key == "nic.backend"; })->line),
            line_of(text, "backend = \"rdma\""));
}

TEST(Config, ShouldTakeADpdkSendingPortWithoutReceiveLinesAndNameItsMissingKeys) {
  const auto c = torq::ops::parse_config(std::string(kBase) + kUdpMode +
      "[nic]\nbackend = \"dpdk\"\ntx_device = \"0000:3b:00.1\"\ntx_src_ip = \"10.0.0.9\"\ntx_dst_mac = \"02:00:5e:00:00:01\"\n", "tx.toml");
  EXPECT_EQ(c.nic.tx_device, "0000:3b:00.1");
  EXPECT_EQ(c.nic.tx_src_ip, "10.0.0.9");
  EXPECT_EQ(c.nic.tx_src_port, 40000);
  EXPECT_TRUE(c.nic.lines.empty());
  const auto kernel = errors_of(std::string(kBase) + kUdpMode + "[nic]\ntx_device = \"eth1\"\ntx_src_ip = \"10.0.0.9\"\n");
  ASSERT_EQ(kernel.size(), 1u);
  EXPECT_EQ(kernel[0].key, "nic.tx_device");
  const auto no_ip = errors_of(std::string(kBase) + kUdpMode + "[nic]\nbackend = \"dpdk\"\ntx_device = \"x\"\ntx_dst_mac = \"02:00\"\n");
  std::set<std::string> keys;
  for (const auto& i : no_ip) keys.insert(i.key);
  EXPECT_TRUE(keys.count("nic.tx_src_ip"));
  EXPECT_TRUE(keys.count("nic.tx_dst_mac"));
  const auto nothing = errors_of(std::string(kBase) + kUdpMode + "[nic]\nbackend = \"dpdk\"\n");
  ASSERT_EQ(nothing.size(), 1u);
  EXPECT_EQ(nothing[0].key, "nic.lines");
}

TEST(Config, ShouldRefuseNicWithoutAUdpMarketDataLinkAndDpdkLineWithoutDevice) {
  const auto monolith = errors_of(std::string(kBase) + "\n[nic]\n[[nic.lines]]\naddress = \"10.0.0.1:5001\"\n");
  ASSERT_EQ(monolith.size(), 1u);
  EXPECT_EQ(monolith[0].key, "nic");
  const auto no_device = errors_of(std::string(kBase) + kUdpMode + "[nic]\nbackend = \"dpdk\"\n[[nic.lines]]\naddress = \"10.0.0.1:5001\"\n");
  ASSERT_EQ(no_device.size(), 1u);
  EXPECT_EQ(no_device[0].key, "nic.lines[0].dpdk_device");
  const auto eal_kernel = errors_of(std::string(kBase) + kUdpMode + "[nic]\n[nic.eal]\ncores = \"2\"\n[[nic.lines]]\naddress = \"10.0.0.1:5001\"\n");
  ASSERT_EQ(eal_kernel.size(), 1u);
  EXPECT_EQ(eal_kernel[0].key, "nic.eal");
  const auto line_b = errors_of(std::string(kBase) +
      "\n[mode]\nmode = \"distributed\"\nroles = [\"collector\"]\n[mode.links]\nmarket_data = \"shm:/torq-md\"\n"
      "market_data_b = \"udp://10.0.0.2:5002\"\nsignals = \"shm:/torq-sig\"\n");
  ASSERT_EQ(line_b.size(), 1u);
  EXPECT_EQ(line_b[0].key, "mode.links.market_data_b");
}

TEST(Config, ShouldAcceptDistributedModeWithAllLinks) {
  const std::string text = std::string(kBase) +
      "\n[mode]\nmode = \"distributed\"\nroles = [\"collector\", \"dashboard\"]\n[mode.links]\n"
      "market_data = \"shm:/torq-md\"\nsignals = \"udp://127.0.0.1:9000\"\nexecution = \"udp://127.0.0.1:9001\"\n";
  const auto c = torq::ops::parse_config(text, "d.toml");
  EXPECT_EQ(c.mode.mode, torq::ops::DeployMode::distributed);
  ASSERT_EQ(c.mode.roles.size(), 2u);
  EXPECT_EQ(c.mode.links.at("market_data"), "shm:/torq-md");
}

TEST(Config, ShouldTakeTheNativeTokenOnlyWhenItIsAConfiguredToken) {
  std::string text = kBase;
  const auto at = text.find("[chain]\n") + 8;
  EXPECT_EQ(torq::ops::parse_config(std::string(text).insert(at, "native_token = \"WETH\"\n"), "n.toml").chain.native_token, "WETH");
  const auto issues = errors_of(std::string(text).insert(at, "native_token = \"WBNB\"\n"));
  ASSERT_EQ(issues.size(), 1u);
  EXPECT_EQ(issues[0].key, "chain.native_token");
  EXPECT_NE(issues[0].message.find("WBNB"), std::string::npos);
}

TEST(Config, ShouldTakeDashboardUpstreamsAndNameEveryBadOne) {
  const auto c = torq::ops::parse_config(std::string(kBase) +
                                             "\n[dashboard]\npoll_ms = 100\nupstreams = [\"http://127.0.0.1:8788\", \"http://10.0.0.2:8788\"]\n",
                                         "d.toml");
  ASSERT_EQ(c.dashboard.upstreams.size(), 2u);
  EXPECT_EQ(c.dashboard.upstreams[1], "http://10.0.0.2:8788");
  EXPECT_EQ(c.dashboard.poll_ms, 100u);
  const auto issues = errors_of(std::string(kBase) +
                                "\n[dashboard]\npoll_ms = 5\nupstreams = [\"udp://127.0.0.1:1\", \"http://a:1\", \"http://a:1\", 7]\n");
  std::set<std::string> keys;
  for (const auto& i : issues) keys.insert(i.key);
  EXPECT_EQ(keys, (std::set<std::string>{"dashboard.poll_ms", "dashboard.upstreams[0]", "dashboard.upstreams[2]", "dashboard.upstreams[3]"}));
  // Which processes a dashboard aggregates is structural: a reload that changes it is refused.
  auto d = c;
  d.dashboard.upstreams.pop_back();
  EXPECT_FALSE(torq::ops::diff_reloadable(c, d).allowed());
}

TEST(Config, ShouldAcceptHttpAndHttpsWebhooksOnly) {
  EXPECT_EQ(torq::ops::parse_config(std::string(kBase) + "\n[alerts]\nwebhook_url = \"https://hooks.example.com/T0/B1/x\"\n", "w.toml")
                .alerts.webhook_url,
            "https://hooks.example.com/T0/B1/x");
  const auto issues = errors_of(std::string(kBase) + "\n[alerts]\nwebhook_url = \"ftp://relay/x\"\n");
  ASSERT_EQ(issues.size(), 1u);
  EXPECT_EQ(issues[0].key, "alerts.webhook_url");
}

TEST(Config, ShouldRejectTwoComponentsOnOneCore) {
  const auto issues = errors_of(std::string(kBase) + "\n[cores]\ncollector = 2\nstrategy = 3\nexecutor = 3\n");
  ASSERT_EQ(issues.size(), 1u);
  EXPECT_EQ(issues[0].key, "cores.executor");
}

TEST(ReloadDiff, ShouldAllowRiskAndThresholdChanges) {
  const auto a = torq::ops::parse_config(kBase, "a.toml");
  const auto b = torq::ops::parse_config(replace(replace(kBase, "max_notional_usd = \"1000\"", "max_notional_usd = \"900\""),
                                                 "\"0.12345678\"", "\"0.2\""), "b.toml");
  const auto d = torq::ops::diff_reloadable(a, b);
  EXPECT_TRUE(d.allowed());
  ASSERT_EQ(d.reloadable.size(), 2u);
  EXPECT_EQ(d.reloadable[0], "strategy.min_profit_usd");
  EXPECT_EQ(d.reloadable[1], "risk.max_notional_usd");
}

TEST(ReloadDiff, ShouldRefuseStructuralChange) {
  const auto a = torq::ops::parse_config(kBase, "a.toml");
  const auto b = torq::ops::parse_config(replace(kBase, "wss://node.example/ws", "wss://other.example/ws"), "b.toml");
  const auto d = torq::ops::diff_reloadable(a, b);
  EXPECT_FALSE(d.allowed());
  ASSERT_EQ(d.structural.size(), 1u);
  EXPECT_EQ(d.structural[0], "endpoints");
}

TEST(RiskSetting, ShouldApplyValidValueAndRefuseInvalidOnes) {
  torq::ops::RiskConfig r;
  r.per_token_exposure_usd["WETH"] = torq::ops::UsdFixedPoint8{1};
  EXPECT_FALSE(torq::ops::apply_risk_setting(r, "max_notional_usd", "250.5").has_value());
  EXPECT_EQ(r.max_notional_usd.raw, 25'050'000'000);
  EXPECT_FALSE(torq::ops::apply_risk_setting(r, "per_token_exposure_usd.WETH", "7").has_value());
  EXPECT_EQ(r.per_token_exposure_usd["WETH"].raw, 700'000'000);
  EXPECT_TRUE(torq::ops::apply_risk_setting(r, "max_notional_usd", "0").has_value());
  EXPECT_TRUE(torq::ops::apply_risk_setting(r, "max_in_flight", "-1").has_value());
  EXPECT_TRUE(torq::ops::apply_risk_setting(r, "max_notional", "1").has_value());
  EXPECT_TRUE(torq::ops::apply_risk_setting(r, "per_token_exposure_usd.DOGE", "1").has_value());
  EXPECT_EQ(r.max_notional_usd.raw, 25'050'000'000);  // refused values left it unchanged
}

}  // namespace

namespace {
// toml++ 3.3 hits __builtin_unreachable() on some non-ASCII code points outside strings (fuzzer
// find): the loader must refuse them with a line number before toml++ sees them, while non-ASCII
// inside comments and strings stays allowed.
TEST(Config, ShouldRefuseNonAsciiOutsideStringsButAllowItInCommentsAndStrings) {
  const std::string bad = std::string(kBase) + "\n[metrics]\nrequire_token = false \xC3\x9F\n";
  const auto issues = errors_of(bad);
  ASSERT_EQ(issues.size(), 1u);
  EXPECT_EQ(issues[0].key, "(syntax)");
  EXPECT_EQ(static_cast<int>(issues[0].line), line_of(bad, "require_token"));
  const std::string ok = std::string("# caf\xC3\xA9 \xE2\x80\x94 comment\n") +
                         replace(kBase, "name = \"polygon\"", "name = \"polyg\xC3\xB6n \\\" '\"");
  EXPECT_EQ(torq::ops::parse_config(ok, "ok.toml").chain.name, "polyg\xC3\xB6n \" '");
}
}  // namespace

namespace {
// toml++ 3.3 asserts (undefined behaviour in a release build) on several malformed inputs found by
// fuzz_config. The loader compiles toml++ with its assertions turned into exceptions, so each of
// these must come back as one "(syntax)" issue, never as an abort.
TEST(Config, ShouldReportParserInternalFailuresAsSyntaxErrors) {
  for (const char* text : {"a = [}[T\n", "a = [}\n", "a = [1,}\n", "[[@okens]]\n", "[ .x]\n"}) {
    const auto issues = errors_of(text);
    ASSERT_EQ(issues.size(), 1u) << text;
    EXPECT_EQ(issues[0].key, "(syntax)") << text;
  }
}

// toml++ 3.3 hits __builtin_unreachable() when it asks whether most code points in U+00A1..U+049A
// are whitespace. fuzz_config found a bare value the loader's quick scan took for a string
// (`0"x…\xC6\x9E…"`), and a multi-line string whose line-ending backslash skips blanks up to a
// non-ASCII character reaches the same code. Both must be refused with their line; the same
// characters inside ordinary strings and comments stay accepted.
TEST(Config, ShouldRefuseNonAsciiWhereTomlppWouldClassifyItAsWhitespace) {
  const std::string bare = std::string(kBase) + "\n[metrics]\nrequire_token =0\"x\xC6\x9E" "9f619\"\n";
  auto issues = errors_of(bare);
  ASSERT_EQ(issues.size(), 1u);
  EXPECT_EQ(issues[0].key, "(syntax)");
  EXPECT_EQ(static_cast<int>(issues[0].line), line_of(bare, "require_token"));

  const std::string skipped = replace(kBase, "name = \"polygon\"", "name = \"\"\"poly\\\n   \xC3\xA9gon\"\"\"");
  issues = errors_of(skipped);
  ASSERT_EQ(issues.size(), 1u);
  EXPECT_EQ(issues[0].key, "(syntax)");
  EXPECT_NE(issues[0].message.find("backslash"), std::string::npos) << issues[0].message;

  const std::string fine = replace(kBase, "name = \"polygon\"", "name = \"\"\"poly\\\n   g\xC3\xA9on\"\"\" # \xC6\x9E");
  EXPECT_EQ(torq::ops::parse_config(fine, "ok.toml").chain.name, "polyg\xC3\xA9on");
}
}  // namespace

namespace {
// fuzz_config: an unknown key that is empty (or needs quotes) must still be named in the issue.
TEST(Config, ShouldNameAnEmptyOrQuotedUnknownKeyAsTomlWritesIt) {
  const auto named = [](const std::vector<ConfigIssue>& issues, const std::string& key) {
    for (const auto& i : issues) {
      EXPECT_FALSE(i.key.empty()) << i.message;
      if (i.key == key) return i.message.find("unknown key") != std::string::npos;
    }
    return false;
  };
  EXPECT_TRUE(named(errors_of("'' = 0\n" + std::string(kBase)), "\"\""));
  EXPECT_TRUE(named(errors_of(std::string(kBase) + "\"a b\" = 0\n"), "api.\"a b\""));
  EXPECT_TRUE(named(errors_of("'' = 0\n"), "\"\""));
}
}  // namespace
