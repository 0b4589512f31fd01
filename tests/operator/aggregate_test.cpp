// The standalone dashboard's parts: the lossless snapshot codec (GET /api/snapshot), the merge of
// role processes' snapshots, and DashboardAggregator against real ApiServers on loopback (polling,
// merged views, commands forwarded, a kill retried until an upstream that was down has it).
// The end-to-end form with real torqd role processes on the local chain is in torqd_e2e_test.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "../common/tls_test_server.hpp"  // free_tcp_port
#include "torq/ops/aggregate.hpp"
#include "torq/ops/api_server.hpp"
#include "torq/ops/client.hpp"
#include "torq/ops/json.hpp"
#include "torq/ops/render.hpp"
#include "torq/ops/snapshot_codec.hpp"

namespace {

using namespace torq::ops;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

UsdFixedPoint8 usd(const char* s) { return *torq::num::parse_usd(s); }

LatencyHistogram hist(std::initializer_list<std::uint64_t> values) {
  LatencyHistogram h;
  for (std::uint64_t v : values) h.record(v);
  return h;
}

// What a collector process's OperatorFeed publishes: node, pools with their blocks, events.
Snapshot collector_snapshot() {
  Snapshot s;
  s.status.mode = "distributed";
  s.status.roles = "collector";
  s.status.chain = "polygon";
  s.status.chain_id = 137;
  s.status.started_unix_ns = 1'700'000'000'000'000'000;
  s.status.endpoints.push_back({"wss://node.example/v2/KEY", true, 3, 1005});
  s.status.head_block = 1005;
  s.status.local_block = 1005;
  s.status.rings.push_back({"market_data", 1 << 20, 4096, 0});
  s.status.last_event_unix_ns = 1'700'000'000'500'000'000;
  s.status.ready = true;
  s.pools.push_back({"0xaaa", "quickswap", "WETH", "USDC", 3000, 1005, false, ""});
  s.pools.push_back({"0xbbb", "uniswap-v3", "WETH", "USDC", 500, 990, true, "reconciliation drift (resnapshot pending)"});
  s.counters.events_by_type["v2_sync"] = 40;
  s.counters.events_by_type["v3_swap"] = 7;
  s.counters.reorgs = 1;
  s.latency.push_back({"decode", hist({900, 1100, 5000})});
  return s;
}

// A strategy process: the same pools from its own registry (no freshness of its own), link gaps.
Snapshot strategy_snapshot() {
  Snapshot s;
  s.status.mode = "distributed";
  s.status.roles = "strategy";
  s.status.chain = "polygon";
  s.status.chain_id = 137;
  s.status.rings.push_back({"market_data", 1 << 20, 0, 0});
  s.status.rings.push_back({"signals", 1 << 18, 128, 2});
  s.status.links.push_back({"market_data", true, 900, 2, 5, 1, 7, 2, 3, 0, 0});
  s.status.ready = true;
  s.pools.push_back({"0xaaa", "quickswap", "WETH", "USDC", 3000, 0, false, ""});
  s.pools.push_back({"0xbbb", "uniswap-v3", "WETH", "USDC", 500, 0, false, ""});
  s.counters.events_by_type["v2_sync"] = 38;  // received so far: fewer than the collector sent
  s.counters.sequence_gaps = 2;
  s.latency.push_back({"search", hist({300, 400, 700})});
  return s;
}

// The executor: opportunities, trades, P&L, risk, breaker.
Snapshot executor_snapshot() {
  Snapshot s;
  s.status.mode = "distributed";
  s.status.roles = "executor";
  s.status.chain = "polygon";
  s.status.chain_id = 137;
  s.status.endpoints.push_back({"wss://node.example/v2/KEY", true, 1, 1006});
  s.status.head_block = 1006;
  s.status.breaker = BreakerState::open;
  s.status.breaker_until_unix_ns = 1'700'000'100'000'000'000;
  s.status.ready = true;
  s.opportunities.push_back({7, 200, "USDC >quickswap> WETH >uniswap-v3> USDC", "1500", "USDC", usd("1500"), usd("3.25"), "taken"});
  s.opportunities.push_back({8, 100, "USDC >quickswap> WETH >uniswap-v3> USDC", "10", "USDC", usd("10"), usd("0.01"), "below_threshold"});
  TradeRow t;
  t.hash = "0x01";
  t.nonce = 4;
  t.status = "mined";
  t.path = "USDC >quickswap> WETH >uniswap-v3> USDC";
  t.t_unix_ns = 250;
  t.block = 1006;
  t.gas_used = 210'000;
  t.expected_pnl_usd = usd("3.25");
  t.realized_pnl_usd = usd("-0.5");
  s.trades.push_back(t);
  s.pnl.cumulative = usd("-0.5");
  s.pnl.daily = usd("-0.5");
  s.pnl.drawdown = usd("0.5");
  s.pnl.trades_won = 1;
  s.pnl_series.push_back({250, usd("-0.5")});
  s.risk.limits.max_notional_usd = usd("20000");
  s.risk.limits.per_token_exposure_usd["WETH"] = usd("5000");
  s.risk.limits.max_in_flight = 2;
  s.risk.rejects_by_reason["MaxInFlight"] = 3;
  s.risk.exposure_usd["USDC"] = usd("1500.12345678");
  s.risk.in_flight = 1;
  s.counters.events_by_type["v2_sync"] = 0;
  s.counters.opportunities_found = 2;
  s.counters.opportunities_taken = 1;
  s.counters.tx_sent = 1;
  s.counters.tx_mined = 1;
  s.latency.push_back({"tick_to_signal", hist({2000, 3000})});
  s.latency.push_back({"search", hist({9000})});  // a stage two processes record: merged
  return s;
}

TEST(SnapshotCodec, ShouldRoundTripEveryFieldExactly) {
  Snapshot s = executor_snapshot();
  const Snapshot c = collector_snapshot();
  s.pools = c.pools;
  s.status.endpoints = c.status.endpoints;
  s.status.rings = c.status.rings;
  s.status.links = strategy_snapshot().status.links;
  s.status.links.push_back({"market_data", false, 905, 0, 0, 0, 0, 2, 3, 6, 1});
  s.status.kill_switch = true;
  s.status.kill_reason = "operator: \"maintenance\"\n";
  s.status.upstreams.push_back({"http://127.0.0.1:1", "strategy", false, "connection refused", 5, 6, 7, 8});
  s.counters.reorgs = 3;
  s.counters.nonce_resyncs = 2;
  s.version = 99;
  s.taken_unix_ns = 1234;
  const std::string text = encode_snapshot(s);
  std::string err;
  const auto back = decode_snapshot(text, &err);
  ASSERT_TRUE(back.has_value()) << err;
  EXPECT_EQ(encode_snapshot(*back), text) << "the encoding is not lossless";
  EXPECT_EQ(back->risk.exposure_usd.at("USDC").raw, usd("1500.12345678").raw);
  ASSERT_TRUE(back->trades.at(0).realized_pnl_usd.has_value());
  EXPECT_EQ(back->trades[0].realized_pnl_usd->raw, usd("-0.5").raw);
  EXPECT_EQ(back->status.breaker, BreakerState::open);
  EXPECT_EQ(back->status.kill_reason, s.status.kill_reason);
  EXPECT_EQ(back->status.upstreams.at(0).error, "connection refused");
  EXPECT_EQ(back->status.links, s.status.links);
  // A role process of an older build sends no "links": still a valid snapshot, with none.
  std::string old = text;
  const auto at = old.find(",\"links\":[");
  ASSERT_NE(at, std::string::npos);
  old.erase(at, old.find(']', at) + 1 - at);
  const auto without = decode_snapshot(old, &err);
  ASSERT_TRUE(without.has_value()) << err;
  EXPECT_TRUE(without->status.links.empty());
  ASSERT_EQ(back->latency.size(), 2U);
  const LatencyHistogram& h = back->latency[0].histogram;
  const LatencyHistogram& o = s.latency[0].histogram;
  EXPECT_EQ(h.count(), o.count());
  EXPECT_EQ(h.sum(), o.sum());
  EXPECT_EQ(h.min(), 2000U);
  EXPECT_EQ(h.max(), 3000U);
  EXPECT_EQ(h.value_at(50, 100), o.value_at(50, 100));
  EXPECT_EQ(render_prometheus(*back).size() > 0, true);
}

TEST(SnapshotCodec, ShouldRefuseMalformedOrInconsistentSnapshotsWithTheField) {
  const std::string good = encode_snapshot(executor_snapshot());
  std::string err;
  EXPECT_FALSE(decode_snapshot("", &err).has_value());
  EXPECT_NE(err.find("not JSON"), std::string::npos) << err;
  EXPECT_FALSE(decode_snapshot(good.substr(0, good.size() / 2), &err).has_value());
  EXPECT_FALSE(decode_snapshot("[]", &err).has_value());
  EXPECT_NE(err.find("not an object"), std::string::npos) << err;

  auto edited = [&](const std::string& from, const std::string& to) {
    std::string t = good;
    const auto at = t.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos) t.replace(at, from.size(), to);
    return t;
  };
  EXPECT_FALSE(decode_snapshot(edited("\"format\":1", "\"format\":2"), &err).has_value());
  EXPECT_NE(err.find("format 2"), std::string::npos) << err;
  EXPECT_FALSE(decode_snapshot(edited("\"nonce\":4", "\"nonce\":-4"), &err).has_value());
  EXPECT_NE(err.find("trades[0].nonce"), std::string::npos) << err;
  EXPECT_FALSE(decode_snapshot(edited("\"in_flight\":1", "\"in_flight\":\"1\""), &err).has_value());
  EXPECT_NE(err.find("risk.in_flight"), std::string::npos) << err;
  EXPECT_FALSE(decode_snapshot(edited("\"breaker\":1", "\"breaker\":9"), &err).has_value());
  EXPECT_NE(err.find("breaker"), std::string::npos) << err;
  EXPECT_FALSE(decode_snapshot(edited(",\"chain_id\":137", ""), &err).has_value());
  EXPECT_NE(err.find("status.chain_id: missing"), std::string::npos) << err;
  // A histogram whose buckets do not add up to its count, or with a bucket past the last.
  EXPECT_FALSE(decode_snapshot(edited("\"count\":2", "\"count\":3"), &err).has_value());
  EXPECT_NE(err.find("inconsistent histogram"), std::string::npos) << err;
  EXPECT_FALSE(decode_snapshot(edited("\"buckets\":[[", "\"buckets\":[[5000,1],["), &err).has_value());
  // Money never passes through a double: a fraction is refused, not rounded.
  EXPECT_FALSE(decode_snapshot(edited("\"cumulative\":-50000000", "\"cumulative\":-0.5"), &err).has_value());
  EXPECT_NE(err.find("pnl.cumulative"), std::string::npos) << err;
  EXPECT_TRUE(decode_snapshot(good, &err).has_value()) << err;
}

TEST(MergeSnapshots, ShouldCombineTheRoleProcessesIntoOneOperatorView) {
  std::vector<UpstreamView> ups(4);
  ups[0].status.url = "http://127.0.0.1:9001";
  ups[0].status.up = true;
  ups[0].snapshot = collector_snapshot();
  ups[1].status.url = "http://127.0.0.1:9002";
  ups[1].status.up = true;
  ups[1].snapshot = strategy_snapshot();
  ups[2].status.url = "http://127.0.0.1:9003";
  ups[2].status.up = true;
  ups[2].snapshot = executor_snapshot();
  ups[3].status.url = "http://127.0.0.1:9004";  // never answered
  ups[3].status.error = "connection refused";
  const Snapshot m = merge_snapshots(ups, 42);

  EXPECT_EQ(m.status.roles, "dashboard");
  EXPECT_EQ(m.status.mode, "distributed");
  EXPECT_EQ(m.status.started_unix_ns, 42);
  EXPECT_EQ(m.status.chain_id, 137U);
  EXPECT_FALSE(m.status.ready) << "one upstream is down";
  ASSERT_EQ(m.status.upstreams.size(), 4U);
  EXPECT_EQ(m.status.upstreams[0].roles, "collector");
  EXPECT_EQ(m.status.upstreams[2].roles, "executor");
  EXPECT_FALSE(m.status.upstreams[3].up);
  EXPECT_EQ(m.status.upstreams[3].error, "connection refused");
  // Node: one endpoint seen by two processes, merged.
  ASSERT_EQ(m.status.endpoints.size(), 1U);
  EXPECT_EQ(m.status.endpoints[0].reconnects, 3U);
  EXPECT_EQ(m.status.endpoints[0].last_block, 1006U);
  EXPECT_EQ(m.status.head_block, 1006U);
  EXPECT_EQ(m.status.local_block, 1005U);
  // Rings of every process, named by the process's roles.
  ASSERT_EQ(m.status.rings.size(), 3U);
  EXPECT_EQ(m.status.rings[0].name, "collector:market_data");
  EXPECT_EQ(m.status.rings[2].name, "strategy:signals");
  EXPECT_EQ(m.status.rings[2].drops, 2U);
  // Link bridges too.
  ASSERT_EQ(m.status.links.size(), 1U);
  EXPECT_EQ(m.status.links[0].name, "strategy:market_data");
  EXPECT_EQ(m.status.links[0].late, 7U);
  EXPECT_EQ(m.status.breaker, BreakerState::open);
  EXPECT_EQ(m.status.last_event_unix_ns, 1'700'000'000'500'000'000);
  // Pools: freshness and quarantine from the collector although the strategy lists them too.
  ASSERT_EQ(m.pools.size(), 2U);
  EXPECT_EQ(m.pools[0].last_update_block, 1005U);
  EXPECT_TRUE(m.pools[1].quarantined);
  EXPECT_EQ(m.pools[1].last_update_block, 990U);
  // Opportunities by time; trades, P&L and risk from the executor.
  ASSERT_EQ(m.opportunities.size(), 2U);
  EXPECT_EQ(m.opportunities[0].id, 8U);
  ASSERT_EQ(m.trades.size(), 1U);
  EXPECT_EQ(m.pnl.cumulative.raw, usd("-0.5").raw);
  EXPECT_EQ(m.pnl_series.size(), 1U);
  EXPECT_EQ(m.risk.limits.max_in_flight, 2U);
  EXPECT_EQ(m.risk.rejects_by_reason.at("MaxInFlight"), 3U);
  // Counters: the largest observation of each stream; gaps are per receiver, summed.
  EXPECT_EQ(m.counters.events_by_type.at("v2_sync"), 40U);
  EXPECT_EQ(m.counters.events_by_type.at("v3_swap"), 7U);
  EXPECT_EQ(m.counters.sequence_gaps, 2U);
  EXPECT_EQ(m.counters.tx_mined, 1U);
  EXPECT_EQ(m.counters.reorgs, 1U);
  // Latency: each stage once; "search" recorded by two processes is merged.
  ASSERT_EQ(m.latency.size(), 3U);
  for (const StageLatency& l : m.latency)
    if (l.stage == "search") {
      EXPECT_EQ(l.histogram.count(), 4U);
      EXPECT_EQ(l.histogram.max(), 9000U);
    }

  // Every upstream up and ready: the dashboard is ready.
  ups.pop_back();
  EXPECT_TRUE(merge_snapshots(ups, 42).status.ready);
  // An upstream that stops answering keeps its last snapshot's rows but is shown down.
  ups[2].status.up = false;
  const Snapshot stale = merge_snapshots(ups, 42);
  EXPECT_FALSE(stale.status.ready);
  EXPECT_EQ(stale.trades.size(), 1U);
}

// ---- the aggregator against real ApiServers ------------------------------------------------------

struct Upstream {
  OperatorState state;
  CommandQueue commands;
  std::unique_ptr<ApiServer> server;
  std::vector<AuditRecord> audit;
  std::mutex mu;
  void start(const std::string& token, std::uint16_t port = 0) {
    ApiServerOptions o;
    o.bind = "127.0.0.1";
    o.port = port;
    o.token = token;
    o.audit = [this](const AuditRecord& r) {
      std::lock_guard lk(mu);
      audit.push_back(r);
    };
    server = std::make_unique<ApiServer>(state, commands, std::move(o));
    server->start();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(server->port()); }
};

class DashboardTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("torq-dash-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    { std::ofstream(dir_ / "api.token") << "dash-token-123\n"; }
    ::chmod((dir_ / "api.token").c_str(), 0600);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::shared_ptr<const TorqConfig> config(const std::vector<std::string>& upstreams) {
    std::ofstream f(dir_ / "dash.toml");
    f << "[chain]\nname = \"polygon\"\nchain_id = 137\n[[endpoints]]\nurl = \"wss://node.example/ws\"\n"
         "[[tokens]]\nsymbol = \"WETH\"\naddress = \"0x7ceB23fD6bC0adD59E62ac25578270cFf1b9f619\"\ndecimals = 18\n"
         "[[venues]]\nname = \"q\"\nkind = \"v2\"\nfactory = \"0x5757371414417b8C6CAad45bAeF941aBc7d3Ab32\"\nfee = 3000\n"
         "[strategy]\nmin_profit_usd = \"1\"\n[risk]\nmax_notional_usd = \"1000\"\nmax_in_flight = 1\n"
         "daily_loss_usd = \"1\"\nmax_drawdown_usd = \"1\"\nbreaker_reverts = 1\nmax_gas_price_gwei = 100\n[key]\nenv = \"K\"\n"
         "[api]\nport = 0\ntoken_file = \"api.token\"\naudit_file = \"dash-audit.jsonl\"\n[dashboard]\npoll_ms = 50\nupstreams = [";
    for (std::size_t i = 0; i < upstreams.size(); ++i) f << (i ? ", " : "") << '"' << upstreams[i] << '"';
    f << "]\n";
    f.close();
    return std::make_shared<const TorqConfig>(load_config_file(dir_ / "dash.toml"));
  }
  // Ticks the aggregator until `pred(snapshot)` holds (at most ~5 s).
  template <class P>
  bool tick_until(DashboardAggregator& d, P pred) {
    for (int i = 0; i < 100; ++i) {
      d.tick();
      if (pred(d.state().snapshot())) return true;
      std::this_thread::sleep_for(50ms);
    }
    return false;
  }

  fs::path dir_;
};

TEST_F(DashboardTest, ShouldServeTheMergedStateAndForwardCommandsToEveryUpstream) {
  Upstream collector, executor;
  collector.state.replace(collector_snapshot());
  executor.state.replace(executor_snapshot());
  collector.start("dash-token-123");
  executor.start("dash-token-123");
  DashboardAggregator dash(config({collector.url(), executor.url()}), (dir_ / "dash.toml").string());
  ASSERT_TRUE(tick_until(dash, [](const Snapshot& s) { return s.status.ready; }));
  const std::string url = "http://127.0.0.1:" + std::to_string(dash.port());

  // The operator reads the whole deployment from the one process.
  const ClientResponse trades = http_request(url, "GET", "/api/trades", "dash-token-123");
  ASSERT_EQ(trades.status, 200U) << trades.body;
  EXPECT_NE(trades.body.find("\"hash\":\"0x01\""), std::string::npos) << trades.body;
  const ClientResponse pools = http_request(url, "GET", "/api/pools", "dash-token-123");
  EXPECT_NE(pools.body.find("\"last_update_block\":1005"), std::string::npos) << pools.body;
  const ClientResponse status = http_request(url, "GET", "/api/status", "dash-token-123");
  EXPECT_NE(status.body.find("\"roles\":\"dashboard\""), std::string::npos) << status.body;
  EXPECT_NE(status.body.find("\"upstreams\":[{\"url\":\"http://127.0.0.1:"), std::string::npos) << status.body;
  EXPECT_EQ(http_request(url, "GET", "/readyz", "").status, 200U);
  const ClientResponse metrics = http_request(url, "GET", "/metrics", "");
  EXPECT_NE(metrics.body.find("torq_upstream_up{upstream=\"" + executor.url() + "\",roles=\"executor\"} 1"), std::string::npos)
      << metrics.body.substr(0, 3000);
  EXPECT_NE(metrics.body.find("torq_tx_mined_total 1"), std::string::npos);
  // A wrong token is refused by the dashboard itself, and an upstream's snapshot needs the token.
  EXPECT_EQ(http_request(url, "GET", "/api/trades", "wrong").status, 401U);
  EXPECT_EQ(http_request(executor.url(), "GET", "/api/snapshot", "").status, 401U);

  // Commands reach every upstream, through their own (audited) API.
  EXPECT_EQ(http_request(url, "POST", "/api/kill", "dash-token-123", "{\"reason\":\"drill\"}").status, 202U);
  EXPECT_EQ(http_request(url, "POST", "/api/risk", "dash-token-123", "{\"key\":\"max_in_flight\",\"value\":\"3\"}").status, 202U);
  dash.tick();
  for (Upstream* u : {&collector, &executor}) {
    const auto cmds = u->commands.drain();
    ASSERT_EQ(cmds.size(), 2U);
    EXPECT_EQ(cmds[0].kind, CommandKind::kill);
    EXPECT_EQ(cmds[0].reason, "drill");
    EXPECT_EQ(cmds[1].kind, CommandKind::risk_set);
    EXPECT_EQ(cmds[1].key, "max_in_flight");
    EXPECT_EQ(cmds[1].value, "3");
    std::lock_guard lk(u->mu);
    ASSERT_EQ(u->audit.size(), 2U);
    EXPECT_EQ(u->audit[0].target, "/api/kill");
    EXPECT_EQ(u->audit[0].outcome, "accepted");
  }
  // The executor now reports the kill; the dashboard shows it engaged.
  executor.state.update([](Snapshot& s) { s.status.kill_switch = true; s.status.kill_reason = "drill"; });
  ASSERT_TRUE(tick_until(dash, [](const Snapshot& s) { return s.status.kill_switch; }));
  const auto snap = dash.state().snapshot();
  EXPECT_EQ(snap.status.upstreams.at(1).commands_forwarded, 2U);
  EXPECT_EQ(snap.status.upstreams.at(1).commands_failed, 0U);
  EXPECT_TRUE(fs::exists(dir_ / "dash-audit.jsonl")) << "the operator's own calls are audited by the dashboard";
}

TEST_F(DashboardTest, ShouldSendAKillAgainUntilAnUpstreamThatWasDownHasIt) {
  Upstream executor;
  executor.state.replace(executor_snapshot());
  executor.start("dash-token-123");
  const std::uint16_t port = executor.server->port();
  DashboardAggregator dash(config({executor.url()}), (dir_ / "dash.toml").string());
  ASSERT_TRUE(tick_until(dash, [](const Snapshot& s) { return s.status.ready; }));
  executor.server->stop();  // the executor's API goes away
  ASSERT_TRUE(tick_until(dash, [](const Snapshot& s) { return !s.status.upstreams.at(0).up; }));
  EXPECT_FALSE(dash.state().snapshot().status.ready);
  EXPECT_EQ(dash.state().snapshot().trades.size(), 1U) << "the last snapshot's rows stay while the upstream is down";

  const std::string url = "http://127.0.0.1:" + std::to_string(dash.port());
  EXPECT_EQ(http_request(url, "POST", "/api/kill", "dash-token-123", "{\"reason\":\"halt\"}").status, 202U);
  dash.tick();
  Snapshot s = dash.state().snapshot();
  EXPECT_TRUE(s.status.kill_switch) << "a kill not yet delivered is shown engaged";
  EXPECT_GE(s.status.upstreams.at(0).commands_failed, 1U);
  EXPECT_TRUE(executor.commands.drain().empty());

  // The executor's API comes back on the same port: the kill is delivered by a retry (once a second).
  executor.server.reset();
  executor.start("dash-token-123", port);
  std::vector<Command> cmds;
  for (int i = 0; i < 60 && cmds.empty(); ++i) {
    dash.tick();
    cmds = executor.commands.drain();
    if (cmds.empty()) std::this_thread::sleep_for(50ms);
  }
  ASSERT_EQ(cmds.size(), 1U) << "the kill never reached the executor";
  EXPECT_EQ(cmds[0].kind, CommandKind::kill);
  EXPECT_EQ(cmds[0].reason, "halt");
  for (int i = 0; i < 15; ++i) {  // past the next retry time
    dash.tick();
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_TRUE(executor.commands.drain().empty()) << "delivered once, not again";
}

TEST_F(DashboardTest, ShouldListenOnThePortGivenOnTheCommandLine) {
  Upstream executor;
  executor.start("dash-token-123");
  const int port = torq::testing::free_tcp_port();
  ASSERT_GT(port, 0);
  DashboardAggregator dash(config({executor.url()}), (dir_ / "dash.toml").string(), port);  // torqd --api-port
  EXPECT_EQ(dash.port(), port);
  EXPECT_EQ(http_request("http://127.0.0.1:" + std::to_string(port), "GET", "/healthz", "").status, 200U);
}

TEST_F(DashboardTest, ShouldRefuseToStartWithoutUpstreams) {
  EXPECT_THROW(DashboardAggregator(config({}), (dir_ / "dash.toml").string()), std::invalid_argument);
}

}  // namespace
