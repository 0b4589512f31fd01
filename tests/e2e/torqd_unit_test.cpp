// Unit tests of torqd's wiring library: path encoding (docs/arb-contract.md), fee policy (Polygon
// 25 gwei floor), on-chain minProfit, the telemetry queue and its names, token unit formatting,
// hex helpers, option parsing. No chain needed. (Alert rules: torqd_alerts_test.cpp.)
#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "torq/torqd/execution.hpp"
#include "torq/torqd/hex.hpp"
#include "torq/torqd/operator_feed.hpp"
#include "torq/torqd/options.hpp"
#include "torq/torqd/replay.hpp"
#include "torq/torqd/telemetry.hpp"

using namespace torq;
using namespace torq::torqd;

namespace {

protocol::Address addr(std::uint8_t fill) {
  protocol::Address a{};
  a.fill(fill);
  return a;
}

struct Book {
  protocol::InstrumentRegistry reg;
  protocol::InstrumentId usdc, weth, v2, v3;
  Book() {
    usdc = *reg.add_token(protocol::Chain::Polygon, addr(0x11), 6, "USDC");
    weth = *reg.add_token(protocol::Chain::Polygon, addr(0x22), 18, "WETH");
    v2 = *reg.add_pool(protocol::Venue::QuickSwapV2, addr(0xAA), usdc, weth, 3000, 0);
    v3 = *reg.add_pool(protocol::Venue::UniswapV3, addr(0xBB), usdc, weth, 500, 10);
  }
  protocol::ArbitrageSignal signal() const {
    protocol::ArbitrageSignal s{};
    s.hop_count = 2;
    s.pools = {v2.raw(), v3.raw(), 0};
    s.tokens = {usdc.raw(), weth.raw(), usdc.raw(), 0};
    return s;
  }
};


}  // namespace

TEST(TorqdPath, ShouldEncodeTwoHopPathAsInTheContractDocs) {
  const Book b;
  PathTable table(b.reg);
  std::array<std::uint8_t, kMaxPathBytes> out{};
  std::size_t n = 0;
  ASSERT_EQ(encode_path(b.signal(), table, out, n), PathError::Ok);
  ASSERT_EQ(n, 48U);
  // hop 0: V2 pair, USDC (token0) → WETH: zeroForOne, fee 997 = 0x03e5
  EXPECT_EQ(out[0], 0xAA);
  EXPECT_EQ(out[19], 0xAA);
  EXPECT_EQ(out[20], 0);
  EXPECT_EQ(out[21], 1);
  EXPECT_EQ(out[22], 0x03);
  EXPECT_EQ(out[23], 0xE5);
  // hop 1: V3 pool, WETH (token1) → USDC: oneForZero, fee field 0
  EXPECT_EQ(out[24], 0xBB);
  EXPECT_EQ(out[44], 1);
  EXPECT_EQ(out[45], 0);
  EXPECT_EQ(out[46], 0);
  EXPECT_EQ(out[47], 0);
}

TEST(TorqdPath, ShouldRejectPathWhenCycleDoesNotClose) {
  const Book b;
  PathTable table(b.reg);
  auto s = b.signal();
  s.tokens[2] = b.weth.raw();
  std::array<std::uint8_t, kMaxPathBytes> out{};
  std::size_t n = 0;
  EXPECT_EQ(encode_path(s, table, out, n), PathError::OpenCycle);
  EXPECT_EQ(n, 0U);
}

TEST(TorqdPath, ShouldRejectPathWhenHopTokenIsNotInItsPool) {
  Book b;
  const auto wbtc = *b.reg.add_token(protocol::Chain::Polygon, addr(0x33), 8, "WBTC");
  PathTable table(b.reg);
  auto s = b.signal();
  s.tokens[1] = wbtc.raw();
  std::array<std::uint8_t, kMaxPathBytes> out{};
  std::size_t n = 0;
  EXPECT_EQ(encode_path(s, table, out, n), PathError::TokenMismatch);
  s = b.signal();
  s.hop_count = 1;
  EXPECT_EQ(encode_path(s, table, out, n), PathError::BadHopCount);
  s = b.signal();
  s.pools[1] = 12345;
  EXPECT_EQ(encode_path(s, table, out, n), PathError::UnknownPool);
}

TEST(TorqdPath, ShouldRefuseV2FeeTheContractCannotExpress) {
  protocol::InstrumentRegistry reg;
  const auto a = *reg.add_token(protocol::Chain::Polygon, addr(1), 6, "A");
  const auto c = *reg.add_token(protocol::Chain::Polygon, addr(2), 6, "B");
  (void)reg.add_pool(protocol::Venue::SushiSwapV2, addr(3), a, c, 2500, 0);  // 0.25%: 997.5/1000
  EXPECT_THROW(PathTable{reg}, std::invalid_argument);
}

TEST(TorqdFees, ShouldRaisePriorityFeeToPolygonFloorOnChain137) {
  const num::U256 base(100'000'000'000ULL);  // 100 gwei
  const auto q = fees_for(base, 1, 137);
  EXPECT_EQ(q.max_priority_fee_per_gas, num::U256(25'000'000'000ULL));
  EXPECT_EQ(q.max_fee_per_gas, num::U256(225'000'000'000ULL));
  const auto e = fees_for(base, 1, 1);  // Ethereum: no floor
  EXPECT_EQ(e.max_priority_fee_per_gas, num::U256(1'000'000'000ULL));
  const auto hi = fees_for(base, 40, 137);
  EXPECT_EQ(hi.max_priority_fee_per_gas, num::U256(40'000'000'000ULL));
}

TEST(TorqdFees, ShouldRequireAShareOfExpectedProfitAndAtLeastOneUnit) {
  EXPECT_EQ(min_profit_for(num::U256(1000), 5000), num::U256(500));
  EXPECT_EQ(min_profit_for(num::U256(1), 5000), num::U256(1));
  EXPECT_EQ(min_profit_for(num::U256(0), 10000), num::U256(1));
  // No wrap: 2^255 x 5000 / 10000 = 2^254 (the 256-bit product used to wrap to almost nothing);
  // a share above 100 % of a huge profit saturates instead of wrapping.
  EXPECT_EQ(min_profit_for(num::U256::one() << 255, 5000), num::U256::one() << 254);
  EXPECT_EQ(min_profit_for(num::U256::max(), 20000), num::U256::max());
}

TEST(TorqdTelemetry, ShouldDeliverRecordsInOrderAndCountThemWhenTheQueueIsFull) {
  auto q = std::make_unique<TelemetryQueue<4>>();
  for (std::uint64_t i = 1; i <= 4; ++i) {
    TelemetryRecord r;
    r.signal_id = i;
    EXPECT_TRUE(q->try_push(r));
  }
  TelemetryRecord extra;
  extra.signal_id = 99;
  EXPECT_FALSE(q->try_push(extra));  // full: refused, never blocks
  EXPECT_EQ(q->dropped(), 1U);
  TelemetryRecord out;
  for (std::uint64_t i = 1; i <= 4; ++i) {
    ASSERT_TRUE(q->pop(out));
    EXPECT_EQ(out.signal_id, i);
  }
  EXPECT_FALSE(q->pop(out));
  EXPECT_TRUE(q->try_push(extra));  // room again after the consumer caught up
  ASSERT_TRUE(q->pop(out));
  EXPECT_EQ(out.signal_id, 99U);
}

TEST(TorqdTelemetry, ShouldNameDecisionsAfterRiskReasonsAndExecutorOutcomes) {
  EXPECT_STREQ(decision_name(kDecisionTaken), "taken");
  EXPECT_STREQ(decision_name(7), "max_in_flight");  // risk::RejectReason::MaxInFlight
  EXPECT_STREQ(decision_name(kDecisionStale), "stale");
  EXPECT_STREQ(decision_name(kDecisionBelowThreshold), "below_threshold");
  EXPECT_STREQ(to_string(Stage::SubmitToMined), "submit_to_mined");
  EXPECT_STREQ(to_string(TradeState::Mined), "mined");
}

TEST(TorqdFeed, ShouldFormatRawTokenUnitsExactly) {
  EXPECT_EQ(format_units(num::U256(1500000), 6), "1.5");
  EXPECT_EQ(format_units(num::U256(1), 18), "0.000000000000000001");
  EXPECT_EQ(format_units(num::U256(0), 6), "0");
  EXPECT_EQ(format_units(num::U256(42), 0), "42");
  EXPECT_EQ(format_units(*num::U256::parse("15000000000000000000"), 18), "15");
}

TEST(TorqdJson, ShouldParseHexQuantitiesAndRejectGarbage) {
  EXPECT_EQ(parse_hex_u64("0x1a"), 26U);
  EXPECT_FALSE(parse_hex_u64("1a").has_value());
  EXPECT_FALSE(parse_hex_u64("0xzz").has_value());
  EXPECT_EQ(to_hex(std::vector<std::uint8_t>{0x00, 0xab}.data(), 2), "0x00ab");
  const auto b = parse_hex_bytes("0x00ff");
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ((*b)[1], 0xff);
  EXPECT_FALSE(parse_hex_bytes("0x0").has_value());
  EXPECT_EQ(unquote("\"0x1\""), "0x1");
}

TEST(TorqdOptions, ShouldRequireKeyAndContractForAMonolith) {
  const char* no_key[] = {"torqd", "--manifest", "m.json", "--contract", "0x0000000000000000000000000000000000000001"};
  EXPECT_THROW((void)parse_args(5, no_key), std::invalid_argument);
  const char* no_contract[] = {"torqd", "--manifest", "m.json", "--key-file", "k"};
  EXPECT_THROW((void)parse_args(5, no_contract), std::invalid_argument);
  const char* bad_role[] = {"torqd", "--manifest", "m.json", "--role", "router"};
  EXPECT_THROW((void)parse_args(5, bad_role), std::invalid_argument);
}

TEST(TorqdOptions, ShouldTakeStrategyRoleWithoutKeyAndParseThresholds) {
  const char* argv[] = {"torqd", "--manifest", "m.json", "--role", "strategy", "--min-profit-usd", "2.5", "--idle", "spin"};
  const auto p = parse_args(9, argv);
  EXPECT_TRUE(p.options.roles.has(Role::strategy));
  EXPECT_FALSE(p.options.roles.has(Role::executor));
  EXPECT_EQ(to_string(p.options.roles), "strategy");
  EXPECT_EQ(p.options.idle, IdleKind::spin);
  EXPECT_EQ(p.options.reload.min_profit_usd.raw, 250'000'000);
  const char* bad_usd[] = {"torqd", "--manifest", "m.json", "--role", "strategy", "--min-profit-usd", "1e3"};
  EXPECT_THROW((void)parse_args(7, bad_usd), std::invalid_argument);
  // A negative minimum profit would have the engine signal (and the executor sign) losing trades.
  const auto refusal = [](const char* flag) {
    const char* argv[] = {"torqd", "--manifest", "m.json", "--role", "strategy", flag};
    try {
      (void)parse_args(6, argv);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_NE(refusal("--min-profit-usd=-1").find("negative"), std::string::npos) << refusal("--min-profit-usd=-1");
  EXPECT_NE(refusal("--max-notional-usd=-5").find("negative"), std::string::npos) << refusal("--max-notional-usd=-5");
  const char* zero[] = {"torqd", "--manifest", "m.json", "--role", "strategy", "--min-profit-usd", "0"};
  EXPECT_EQ(parse_args(7, zero).options.reload.min_profit_usd.raw, 0);
}

TEST(TorqdOptions, ShouldRunSeveralRolesInOneProcessAndADashboardAloneOnlyOverUpstreams) {
  const char* two[] = {"torqd", "--manifest", "m.json", "--role", "strategy,executor", "--key-file", "k", "--contract",
                       "0x0000000000000000000000000000000000000001"};
  const auto p = parse_args(9, two);
  EXPECT_TRUE(p.options.roles.has(Role::strategy));
  EXPECT_TRUE(p.options.roles.has(Role::executor));
  EXPECT_FALSE(p.options.roles.has(Role::collector));
  EXPECT_FALSE(p.options.roles.monolith());
  EXPECT_EQ(to_string(p.options.roles), "strategy+executor");
  const char* no_key[] = {"torqd", "--manifest", "m.json", "--role", "strategy+executor"};
  EXPECT_THROW((void)parse_args(5, no_key), std::invalid_argument) << "an executor needs its key";
  const char* alone[] = {"torqd", "--manifest", "m.json", "--role", "dashboard"};
  EXPECT_THROW((void)parse_args(5, alone), std::invalid_argument) << "a standalone dashboard needs its config";
  {
    // With [dashboard] upstreams the dashboard runs alone: no pools, node or key of its own.
    const std::string dir = ::testing::TempDir();
    const std::string without = dir + "/torqd-dash-none.toml", with = dir + "/torqd-dash.toml";
    const std::string base =
        "[chain]\nname = \"polygon\"\nchain_id = 137\n[[endpoints]]\nurl = \"wss://node.example/ws\"\n"
        "[[tokens]]\nsymbol = \"WETH\"\naddress = \"0x7ceB23fD6bC0adD59E62ac25578270cFf1b9f619\"\ndecimals = 18\n"
        "[[venues]]\nname = \"q\"\nkind = \"v2\"\nfactory = \"0x5757371414417b8C6CAad45bAeF941aBc7d3Ab32\"\nfee = 3000\n"
        "[strategy]\nmin_profit_usd = \"1\"\n[risk]\nmax_notional_usd = \"1000\"\nmax_in_flight = 1\ndaily_loss_usd = \"1\"\n"
        "max_drawdown_usd = \"1\"\nbreaker_reverts = 1\nmax_gas_price_gwei = 100\n[key]\nenv = \"K\"\n[api]\ntoken_file = \"t\"\n";
    std::ofstream(without) << base;
    std::ofstream(with) << base << "[dashboard]\nupstreams = [\"http://127.0.0.1:8788\"]\n";
    const std::string w = "--config=" + with, wo = "--config=" + without;
    const char* ok[] = {"torqd", w.c_str(), "--role", "dashboard"};
    EXPECT_TRUE(dashboard_only(parse_args(4, ok).options.roles));
    const char* none[] = {"torqd", wo.c_str(), "--role", "dashboard"};
    try {
      (void)parse_args(4, none);
      ADD_FAILURE() << "a dashboard alone without upstreams started";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("[dashboard] upstreams"), std::string::npos) << e.what();
    }
  }
  const char* api[] = {"torqd", "--manifest", "m.json", "--role", "collector", "--api-port", "0"};
  EXPECT_EQ(parse_args(7, api).options.api_port, 0);
  EXPECT_EQ(parse_args(9, two).options.api_port, -1);
  const char* bad_port[] = {"torqd", "--manifest", "m.json", "--role", "collector", "--api-port", "70000"};
  EXPECT_THROW((void)parse_args(7, bad_port), std::invalid_argument);
  // Flags that would be accepted and then ignored are refused.
  const char* speed_alone[] = {"torqd", "--manifest", "m.json", "--role", "collector", "--replay-speed", "recorded"};
  EXPECT_THROW((void)parse_args(7, speed_alone), std::invalid_argument) << "--replay-speed without --replay";
  const char* out_alone[] = {"torqd", "--manifest", "m.json", "--role", "collector", "--replay-out", "x"};
  EXPECT_THROW((void)parse_args(7, out_alone), std::invalid_argument) << "--replay-out without --replay";
  const char* builtin_requests[] = {"torqd",          "--manifest",   "m.json", "--role", "collector", "--collector", "builtin",
                                    "--md-link",      "udp://127.0.0.1:5001", "--md-request-link", "udp://127.0.0.1:5009"};
  EXPECT_THROW((void)parse_args(11, builtin_requests), std::invalid_argument) << "the builtin collector serves no snapshot requests";
  const char* twice[] = {"torqd", "--manifest", "m.json", "--role", "strategy,strategy"};
  EXPECT_THROW((void)parse_args(5, twice), std::invalid_argument);
  EXPECT_TRUE(parse_roles("monolith").monolith());
  EXPECT_TRUE(parse_roles("monolith").has(Role::dashboard)) << "a monolith serves the operator surface";
  const char* line_b[] = {"torqd", "--manifest", "m.json", "--role", "strategy", "--md-link", "shm:/torq-md", "--md-link-b",
                          "udp://127.0.0.1:5002"};
  EXPECT_THROW((void)parse_args(9, line_b), std::invalid_argument) << "line B needs udp:// on both lines";
}

TEST(TorqdOptions, ShouldKeepEveryConfiguredEndpointForFailover) {
  // Every [[endpoints]] entry is used: the best ws and http URLs are the primary, the others
  // become backups paired by priority, in order (before 2026-11-27 all but the first two were
  // dropped, so a configured backup never took over).
  const std::string dir = ::testing::TempDir();
  const std::string cfg = dir + "/torqd-endpoints.toml";
  std::ofstream(cfg) << "[chain]\nname = \"polygon\"\nchain_id = 137\n"
                        "[[endpoints]]\nurl = \"wss://c.example/ws\"\npriority = 2\n"
                        "[[endpoints]]\nurl = \"wss://a.example/ws\"\npriority = 0\nrequests_per_second = 40\n"
                        "[[endpoints]]\nurl = \"https://a.example/rpc\"\npriority = 0\nrequests_per_second = 30\n"
                        "[[endpoints]]\nurl = \"https://b.example/rpc\"\npriority = 1\nrequests_per_second = 10\n"
                        "[[endpoints]]\nurl = \"wss://b.example/ws\"\npriority = 1\n"
                        "[[tokens]]\nsymbol = \"WETH\"\naddress = \"0x7ceB23fD6bC0adD59E62ac25578270cFf1b9f619\"\ndecimals = 18\n"
                        "[[venues]]\nname = \"q\"\nkind = \"v2\"\nfactory = \"0x5757371414417b8C6CAad45bAeF941aBc7d3Ab32\"\nfee = 3000\n"
                        "[strategy]\nmin_profit_usd = \"1\"\n[risk]\nmax_notional_usd = \"1000\"\nmax_in_flight = 1\ndaily_loss_usd = \"1\"\n"
                        "max_drawdown_usd = \"1\"\nbreaker_reverts = 1\nmax_gas_price_gwei = 100\n[key]\nenv = \"K\"\n[api]\ntoken_file = \"t\"\n";
  const std::string arg = "--config=" + cfg;
  const char* argv[] = {"torqd", arg.c_str(), "--manifest", "m.json", "--role", "collector"};
  const Options o = parse_args(6, argv).options;
  EXPECT_EQ(o.rpc_ws, "wss://a.example/ws");
  EXPECT_EQ(o.rpc_http, "https://a.example/rpc");
  ASSERT_EQ(o.backup_endpoints.size(), 2u);
  // Request budgets: the lower of a level's entries (an entry without one has the default 25).
  EXPECT_EQ(o.rpc_requests_per_second, 30u);
  EXPECT_EQ(o.backup_endpoints[0], (BackupEndpoint{"https://b.example/rpc", "wss://b.example/ws", 1, 10}));
  EXPECT_EQ(o.backup_endpoints[1], (BackupEndpoint{"", "wss://c.example/ws", 2, 25}));
  // The session and the clients get all of them, primary first.
  const auto sc = session_config(protocol::Chain::Polygon, o.rpc_http, o.rpc_ws, o.backup_endpoints, o.rpc_requests_per_second);
  ASSERT_EQ(sc.endpoints.size(), 3u);
  // Each client paces its requests to its endpoint's budget (before 2026-11-27 they ran unlimited).
  EXPECT_EQ(sc.endpoints[0].requests_per_s, 30.0);
  EXPECT_EQ(sc.endpoints[1].requests_per_s, 10.0);
  EXPECT_EQ(sc.endpoints[2].requests_per_s, 25.0);
  EXPECT_EQ(sc.endpoints[1].burst, 10.0);
  const auto ce = client_endpoints(o.rpc_http, o.rpc_ws, o.backup_endpoints, o.rpc_requests_per_second);
  ASSERT_EQ(ce.size(), 3u);
  EXPECT_EQ(ce[0].requests_per_s, 30.0);
  EXPECT_EQ(ce[2].requests_per_s, 25.0);
  // URLs from a manifest or the command line only: unlimited, as before.
  EXPECT_EQ(client_endpoints("http://127.0.0.1:8545", "ws://127.0.0.1:8545", {})[0].requests_per_s, 0.0);
  EXPECT_EQ(sc.endpoints[0].ws, "wss://a.example/ws");
  EXPECT_EQ(sc.endpoints[1].http, "https://b.example/rpc");
  EXPECT_EQ(sc.endpoints[2].ws, "wss://c.example/ws");
  EXPECT_LT(sc.endpoints[0].priority, sc.endpoints[1].priority);
  EXPECT_LT(sc.endpoints[1].priority, sc.endpoints[2].priority);
}

TEST(TorqdOptions, ShouldTakeTheBackChannelsResendLimitsFromTheConfig) {
  // [mode.resend] reaches the options the collector's LinkEgress and the receiver's LinkIngress
  // are built from; without it both use the defaults.
  const std::string dir = ::testing::TempDir();
  const std::string base =
      "[chain]\nname = \"polygon\"\nchain_id = 137\n[[endpoints]]\nurl = \"wss://node.example/ws\"\n"
      "[[tokens]]\nsymbol = \"WETH\"\naddress = \"0x7ceB23fD6bC0adD59E62ac25578270cFf1b9f619\"\ndecimals = 18\n"
      "[[venues]]\nname = \"q\"\nkind = \"v2\"\nfactory = \"0x5757371414417b8C6CAad45bAeF941aBc7d3Ab32\"\nfee = 3000\n"
      "[strategy]\nmin_profit_usd = \"1\"\n[risk]\nmax_notional_usd = \"1000\"\nmax_in_flight = 1\ndaily_loss_usd = \"1\"\n"
      "max_drawdown_usd = \"1\"\nbreaker_reverts = 1\nmax_gas_price_gwei = 100\n[key]\nenv = \"K\"\n[api]\ntoken_file = \"t\"\n"
      "[mode]\nmode = \"distributed\"\nroles = [\"strategy\"]\n[mode.links]\nmarket_data = \"udp://127.0.0.1:5001\"\n"
      "market_data_requests = \"udp://127.0.0.1:5009\"\nsignals = \"shm:/torq-sig\"\n";
  const std::string plain = dir + "/torqd-resend-default.toml", tuned = dir + "/torqd-resend.toml";
  std::ofstream(plain) << base;
  std::ofstream(tuned) << base << "[mode.resend]\nhistory_frames = 16384\nburst = 1000\nper_second = 20000\nretry_us = 250\n";
  const std::string a = "--config=" + plain, b = "--config=" + tuned;
  const char* argv_a[] = {"torqd", a.c_str(), "--manifest", "m.json"};
  const char* argv_b[] = {"torqd", b.c_str(), "--manifest", "m.json"};
  const Options d = parse_args(4, argv_a).options;
  const Options o = parse_args(4, argv_b).options;
  EXPECT_EQ(d.md_request_link, "udp://127.0.0.1:5009");
  EXPECT_EQ(d.resend.history_frames, 8192u);
  EXPECT_EQ(d.resend.retry_us, 500u);
  EXPECT_EQ(o.resend.history_frames, 16384u);
  EXPECT_EQ(o.resend.burst, 1000u);
  EXPECT_EQ(o.resend.per_second, 20000u);
  EXPECT_EQ(o.resend.retry_us, 250u);
}

TEST(TorqdNativeToken, ShouldFindTheWrappedNativeTokenByConfiguredSymbolOrPolygonsNames) {
  Book b;  // USDC, WETH: no Polygon native token
  EXPECT_FALSE(native_token_index(b.reg).has_value()) << "no WMATIC/WPOL/POL: not silently token 0";
  ASSERT_TRUE(native_token_index(b.reg, "WETH").has_value()) << "Ethereum, Base, Arbitrum: [chain] native_token = \"WETH\"";
  EXPECT_EQ(*native_token_index(b.reg, "WETH"), b.weth.index());
  EXPECT_FALSE(native_token_index(b.reg, "WBNB").has_value());
  const auto wpol = *b.reg.add_token(protocol::Chain::Polygon, addr(0x44), 18, "WPOL");
  ASSERT_TRUE(native_token_index(b.reg).has_value());
  EXPECT_EQ(*native_token_index(b.reg), wpol.index());
  EXPECT_EQ(*native_token_index(b.reg, "WETH"), b.weth.index()) << "a configured symbol wins";
}

TEST(TorqdOptions, ShouldSignWithAGasLimitAboveTheExpectedGasUnits) {
  Options o;
  o.gas_units_2hop = 250'000;
  o.gas_units_3hop = 350'000;
  EXPECT_EQ(o.gas_limit_for(2), 375'000u);  // default headroom 50 %
  EXPECT_EQ(o.gas_limit_for(3), 525'000u);
  o.gas_limit_headroom_pct = 0;
  EXPECT_EQ(o.gas_limit_for(2), 250'000u);
}

TEST(TorqdOptions, ShouldParseReplacementSettingsAndRefuseABumpBelowTenPercent) {
  const char* base[] = {"torqd", "--manifest", "m.json", "--role", "strategy"};
  const auto d = parse_args(5, base);
  EXPECT_EQ(d.options.replace_after_blocks, 5u);
  EXPECT_EQ(d.options.replace_after_ms, 20000u);
  EXPECT_EQ(d.options.replace_bump_pct, 12u);
  const char* set[] = {"torqd", "--manifest", "m.json", "--role", "strategy", "--replace-after-blocks", "3",
                       "--replace-after-ms", "0", "--replace-bump-pct", "10"};
  const auto p = parse_args(11, set);
  EXPECT_EQ(p.options.replace_after_blocks, 3u);
  EXPECT_EQ(p.options.replace_after_ms, 0u);
  EXPECT_EQ(p.options.replace_bump_pct, 10u);
  const char* low[] = {"torqd", "--manifest", "m.json", "--role", "strategy", "--replace-bump-pct", "9"};
  EXPECT_THROW((void)parse_args(7, low), std::invalid_argument);
  const char* zero[] = {"torqd", "--manifest", "m.json", "--role", "strategy", "--replace-after-blocks", "0"};
  EXPECT_THROW((void)parse_args(7, zero), std::invalid_argument);
  const char* share[] = {"torqd", "--manifest", "m.json", "--role", "strategy", "--min-profit-share-bps", "100001"};
  EXPECT_THROW((void)parse_args(7, share), std::invalid_argument);
}

// An integer flag means what the same key in the TOML config means: plain decimal digits in the
// key's range. CLI11 alone reads "030" as 24 (octal), "0x10" as 16 and "-1" into an unsigned as
// 2^64-1, so `--priority-fee-gwei -1` became a tip of 1.8e19 gwei.
TEST(TorqdOptions, ShouldReadIntegerFlagsAsPlainDecimalsInTheirConfigRanges) {
  const auto parse_with = [](const char* flag, const char* value) {
    const char* argv[] = {"torqd", "--manifest", "m.json", "--role", "strategy", flag, value};
    return parse_args(7, argv).options;
  };
  EXPECT_EQ(parse_with("--priority-fee-gwei", "40").reload.priority_fee_gwei, 40u);
  EXPECT_EQ(parse_with("--priority-fee-gwei", "0").reload.priority_fee_gwei, 0u) << "0 is a value, not 'unset' (137 raises it to 25)";
  EXPECT_EQ(parse_with("--max-in-flight", "64").reload.max_in_flight, 64u);
  EXPECT_EQ(parse_with("--core-strategy", "-1").core_strategy, -1);
  EXPECT_EQ(parse_with("--core-strategy", "10").core_strategy, 10);
  EXPECT_EQ(parse_with("--min-profit-share-bps", "20000").reload.min_profit_share_bps, 20000u);
  EXPECT_EQ(parse_with("--receipt-timeout-ms", "45000").receipt_timeout_ms, 45000u);
  EXPECT_EQ(parse_with("--receipt-confirmations", "3").receipt_confirmations, 3u);
  EXPECT_EQ(parse_with("--priority-fee-gwei", "40").receipt_confirmations, 0u) << "default: booked at the first receipt";
  const std::pair<const char*, const char*> bad[] = {
      {"--receipt-confirmations", "5"} /* not below --replace-after-blocks (5) */, {"--receipt-confirmations", "257"},
      {"--priority-fee-gwei", "-1"},     {"--priority-fee-gwei", "030"},  {"--priority-fee-gwei", "0x10"},
      {"--priority-fee-gwei", "+40"},    {"--priority-fee-gwei", " 40"},  {"--priority-fee-gwei", "100001"},
      {"--priority-fee-gwei", "1e3"},    {"--max-in-flight", "0"},        {"--max-in-flight", "65"},
      {"--max-in-flight", "4294967297"}, {"--core-strategy", "08"},       {"--core-strategy", "-2"},
      {"--core-strategy", "4096"},       {"--core-executor", "-01"},      {"--min-profit-share-bps", "0"},
      {"--min-profit-share-bps", "100001"}, {"--receipt-timeout-ms", "0"}, {"--replace-after-ms", "3600001"},
      {"--replace-after-blocks", "0x5"}, {"--api-port", "-1"},            {"--api-port", "65536"},
      {"--api-port", "080"},
  };
  for (const auto& [flag, value] : bad) EXPECT_THROW((void)parse_with(flag, value), std::invalid_argument) << flag << " " << value;
  // A flag cannot set a tip above the fee cap the risk gates enforce (default 1000 gwei).
  EXPECT_THROW((void)parse_with("--priority-fee-gwei", "1001"), std::invalid_argument);
}

// ---- crash recovery (torq/torqd/recovery.hpp) ----
#include <cstdio>
#include <unistd.h>

#include "torq/torqd/recovery.hpp"

namespace {

std::string temp_audit_path(const char* name) {
  return std::string(::testing::TempDir()) + "/torqd_" + name + "_" + std::to_string(::getpid()) + ".log";
}

TEST(TorqdRecovery, ShouldFindUnsettledTransactionAndLastPnlWhenLogHasTornTail) {
  const std::string path = temp_audit_path("recovery");
  std::remove(path.c_str());
  {
    auto log = risk::AuditLog::open(path, risk::AuditOptions{});
    auto& ch = log->channel(0);
    protocol::ArbitrageSignal sig{};
    sig.signal_id = 7;
    sig.hop_count = 2;
    sig.pools[0] = 0x1111;
    sig.pools[1] = 0x2222;
    sig.net_profit_usd = 12345;
    ASSERT_TRUE(ch.push(sig));
    risk::AuditTransaction done{};
    done.order_id = 2;
    done.signal_id = 6;
    done.nonce = 4;
    ASSERT_TRUE(ch.push(done));
    protocol::ExecutionReport rep{};
    rep.order_id = 2;
    rep.nonce = 4;
    rep.status = static_cast<std::uint8_t>(protocol::ExecutionStatus::Included);
    ASSERT_TRUE(ch.push(rep));
    risk::AuditPnl p{};
    p.order_id = 2;
    p.cumulative_usd = 100;
    p.peak_usd = 150;
    p.drawdown_usd = 50;
    p.daily_usd = 20;
    p.day = 9;
    ASSERT_TRUE(ch.push(p));
    risk::AuditTransaction open_tx{};
    open_tx.order_id = 3;
    open_tx.signal_id = 7;
    open_tx.nonce = 5;
    open_tx.gas_limit = 260000;
    open_tx.tx_hash[0] = 0xAB;
    ASSERT_TRUE(ch.push(open_tx));
    rep.order_id = 3;
    rep.nonce = 5;
    rep.status = static_cast<std::uint8_t>(protocol::ExecutionStatus::Submitted);  // acknowledged, no outcome
    ASSERT_TRUE(ch.push(rep));
    ASSERT_TRUE(log->flush());
    log->close();
  }
  {  // a torn tail: the start of a record the crash cut off
    std::FILE* f = std::fopen(path.c_str(), "ab");
    ASSERT_NE(f, nullptr);
    const unsigned char torn[9] = {200, 0, 0, 0, 4, 1, 0, 0, 9};
    ASSERT_EQ(std::fwrite(torn, 1, sizeof torn, f), sizeof torn);
    std::fclose(f);
  }
  const AuditRecovery rec = read_audit_recovery(path);
  EXPECT_TRUE(rec.found);
  EXPECT_EQ(rec.stop, risk::ReadStatus::Torn);
  EXPECT_EQ(rec.max_order_id, 3u);
  ASSERT_TRUE(rec.last_pnl.has_value());
  EXPECT_EQ(rec.last_pnl->cumulative_usd, 100);
  EXPECT_EQ(rec.last_pnl->peak_usd, 150);
  ASSERT_EQ(rec.unsettled.size(), 1u);
  EXPECT_EQ(rec.unsettled[0].tx.nonce, 5u);
  EXPECT_EQ(rec.unsettled[0].tx.order_id, 3u);
  EXPECT_EQ(rec.unsettled[0].tx.hash[0], 0xAB);
  EXPECT_EQ(rec.unsettled[0].gas_limit, 260000u);
  ASSERT_TRUE(rec.unsettled[0].have_signal);
  EXPECT_EQ(rec.unsettled[0].signal.net_profit_usd, 12345);
  // Every logged nonce, settled or not, for NonceManager::recover (reuse above the node's count).
  ASSERT_EQ(rec.txs.size(), 2u);
  EXPECT_EQ(rec.txs[0].nonce, 4u);
  EXPECT_TRUE(rec.txs[0].settled);
  EXPECT_EQ(rec.txs[1].nonce, 5u);
  EXPECT_FALSE(rec.txs[1].settled);
  // The log reopens after the crash (AuditLog::open cuts the torn tail) and still recovers the same.
  { auto log = risk::AuditLog::open(path, risk::AuditOptions{}); log->close(); }
  const AuditRecovery again = read_audit_recovery(path);
  EXPECT_EQ(again.stop, risk::ReadStatus::End);
  EXPECT_EQ(again.unsettled.size(), 1u);
  std::remove(path.c_str());
}

// Every attempt of an unsettled order is recovered (a replacement's record is written before it
// is sent, so the original may be the one mined), and only a report of the same order settles a
// nonce (a refused order's Failed report may be logged after the next order's Transaction at
// the nonce it released).
TEST(TorqdRecovery, ShouldKeepEveryAttemptOfAnOrderAndSettleOnlyByItsOwnReport) {
  const std::string path = temp_audit_path("recovery-attempts");
  std::remove(path.c_str());
  {
    auto log = risk::AuditLog::open(path, risk::AuditOptions{});
    auto& ch = log->channel(0);
    risk::AuditTransaction tx{};
    tx.order_id = 1;
    tx.signal_id = 1;
    tx.nonce = 5;
    tx.tx_hash[0] = 0x01;  // H1: the original
    ASSERT_TRUE(ch.push(tx));
    tx.attempt = 1;
    tx.kind = static_cast<std::uint8_t>(risk::TxKind::Replacement);
    tx.tx_hash[0] = 0x02;  // H2: its replacement, logged, then refused or never sent
    ASSERT_TRUE(ch.push(tx));
    risk::AuditTransaction b{};
    b.order_id = 3;  // order 3 takes nonce 6, which order 2 released ...
    b.signal_id = 3;
    b.nonce = 6;
    b.tx_hash[0] = 0x06;
    ASSERT_TRUE(ch.push(b));
    protocol::ExecutionReport rep{};
    rep.order_id = 2;  // ... and order 2's Failed report is written after it
    rep.nonce = 6;
    rep.status = static_cast<std::uint8_t>(protocol::ExecutionStatus::Failed);
    ASSERT_TRUE(ch.push(rep));
    ASSERT_TRUE(log->flush());
    log->close();
  }
  const AuditRecovery rec = read_audit_recovery(path);
  ASSERT_EQ(rec.unsettled.size(), 2u) << "order 3 was taken as settled by order 2's report";
  const RecoveredOrder& a = rec.unsettled[0];
  EXPECT_EQ(a.tx.order_id, 1u);
  EXPECT_EQ(a.tx.hash[0], 0x02);
  ASSERT_EQ(a.tx.earlier_hashes.size(), 1u) << "the original attempt was lost";
  EXPECT_EQ(a.tx.earlier_hashes[0][0], 0x01);
  EXPECT_EQ(rec.unsettled[1].tx.order_id, 3u);
  EXPECT_TRUE(rec.unsettled[1].tx.earlier_hashes.empty());
  std::remove(path.c_str());
}

TEST(TorqdRecovery, ShouldReportNothingWhenLogIsMissing) {
  const AuditRecovery rec = read_audit_recovery(temp_audit_path("missing"));
  EXPECT_FALSE(rec.found);
  EXPECT_FALSE(rec.last_pnl.has_value());
  EXPECT_TRUE(rec.unsettled.empty());
}

TEST(TorqdRecovery, ShouldContinueRestoredPnlWhenRunBooksTrades) {
  const risk::PnlSnapshot base{risk::UsdFixedPoint8{100}, risk::UsdFixedPoint8{150}, risk::UsdFixedPoint8{50}, risk::UsdFixedPoint8{20}, 9};
  // This run: +80 then -30 (peak 80 in the run), booked on day 9.
  const risk::PnlSnapshot run{risk::UsdFixedPoint8{50}, risk::UsdFixedPoint8{80}, risk::UsdFixedPoint8{30}, risk::UsdFixedPoint8{50}, 9};
  const risk::PnlSnapshot s = combine_pnl(base, run, 9);
  EXPECT_EQ(s.cumulative.raw, 150);
  EXPECT_EQ(s.peak.raw, 180);
  EXPECT_EQ(s.drawdown.raw, 30);
  EXPECT_EQ(s.daily.raw, 70);
  // Nothing booked yet: the base itself; a new day drops the old day's daily figure.
  const risk::PnlSnapshot idle = combine_pnl(base, risk::PnlSnapshot{}, 9);
  EXPECT_EQ(idle.cumulative.raw, 100);
  EXPECT_EQ(idle.peak.raw, 150);
  EXPECT_EQ(idle.drawdown.raw, 50);
  EXPECT_EQ(idle.daily.raw, 20);
  EXPECT_EQ(combine_pnl(base, risk::PnlSnapshot{}, 10).daily.raw, 0);
}

TEST(TorqdRecovery, ShouldDetectSharedPoolOnlyWithinHopCounts) {
  const std::array<std::uint64_t, 3> a{1, 2, 3};
  const std::array<std::uint64_t, 3> b{9, 3, 0};
  EXPECT_TRUE(shares_pool(a, 3, b, 2));
  EXPECT_FALSE(shares_pool(a, 2, b, 2));
  EXPECT_FALSE(shares_pool(a, 3, b, 0));
}

}  // namespace
