// Tests for the operator API server (real server on an ephemeral port), the torqctl binary against
// it, the Prometheus exposition, the state model and the latency histogram.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "torq/ops/api_server.hpp"
#include "torq/ops/client.hpp"
#include "torq/ops/json.hpp"
#include "torq/ops/render.hpp"
#include "torq/ops/state.hpp"

namespace {

using namespace torq::ops;
namespace fs = std::filesystem;

UsdFixedPoint8 usd(const char* s) { return *torq::num::parse_usd(s); }

void fill(OperatorState& st) {
  StatusSnapshot s;
  s.mode = "monolith";
  s.chain = "polygon";
  s.chain_id = 137;
  s.head_block = 1000;
  s.local_block = 998;
  s.ready = true;
  s.last_event_unix_ns = unix_now_ns();
  s.endpoints.push_back({"wss://user:secret@node.example/v2/APIKEY123", true, 2, 1000});
  s.rings.push_back({"market_data", 1 << 20, 1 << 18, 7});
  s.links.push_back({"market_data", true, 5000, 1, 2, 3, 4, 1, 6, 0, 0});
  s.links.push_back({"market_data", false, 5003, 0, 0, 0, 0, 1, 6, 9, 2});
  st.set_status(s);
  st.set_pools({{"0x853Ee4b2A13f8a742d64C8F088bE7bA2131f670d", "quickswap", "WETH", "USDC.e", 3000, 999, false, ""},
                {"0x6e7a5FAFcec6BB1e78bAE2A1F0B612012BF14827", "quickswap", "WMATIC", "USDC.e", 3000, 900, false, ""},
                {"0x45dDa9cb7c25131DF268515131f647d726f50608", "uniswap-v3", "USDC.e", "WETH", 500, 1000, true, "drift"}});
  st.add_opportunity({1, unix_now_ns(), "USDC >quickswap> WETH >sushiswap> USDC", "1500", "USDC", usd("1500"), usd("3.25"), "taken"});
  TradeRow t;
  t.hash = "0xabc123";
  t.nonce = 42;
  t.status = "mined";
  t.path = "USDC >quickswap> WETH >sushiswap> USDC";
  t.block = 999;
  t.expected_pnl_usd = usd("3.25");
  t.realized_pnl_usd = usd("3.10");
  st.upsert_trade(t);
  PnlSnapshot p;
  p.cumulative = usd("3.10");
  p.daily = usd("3.10");
  p.peak = usd("3.10");
  p.trades_won = 1;
  st.set_pnl(p);
  RiskSnapshot r;
  r.limits.max_notional_usd = usd("1000");
  r.limits.max_in_flight = 2;
  r.limits.per_token_exposure_usd["WETH"] = usd("5000");
  r.rejects_by_reason["stale_state"] = 4;
  r.rejects_by_reason["max_notional"] = 1;
  st.set_risk(r);
  Counters c;
  c.events_by_type["v2_sync"] = 10;
  c.events_by_type["v3_swap"] = 5;
  c.opportunities_found = 6;
  c.opportunities_taken = 1;
  c.tx_sent = 1;
  c.tx_mined = 1;
  st.set_counters(c);
  LatencyHistogram h;
  for (std::uint64_t v : {200u, 300u, 400u, 5000u, 90000u}) h.record(v);
  st.set_latency("search", h);
}

class ApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("torq-api-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    fs::create_directories(dir_);
    token_file_ = dir_ / "api.token";
    write_file(token_file_, "s3cret-token\n", 0600);
    fill(state_);
    ApiServerOptions o;
    o.bind = "127.0.0.1";
    o.port = 0;
    o.token = load_token_file(token_file_);
    o.audit = [this](const AuditRecord& r) {
      std::lock_guard lk(mu_);
      audit_.push_back(r);
      file_audit_->append(r);
    };
    file_audit_ = std::make_unique<JsonLinesAuditFile>(dir_ / "audit.jsonl");
    o.config_path = (dir_ / "torq.toml").string();
    write_file(dir_ / "torq.toml", config_text("1000"), 0600);
    o.current_config = std::make_shared<const TorqConfig>(load_config_file(dir_ / "torq.toml"));
    server_ = std::make_unique<ApiServer>(state_, commands_, std::move(o));
    server_->start();
    url_ = "http://127.0.0.1:" + std::to_string(server_->port());
  }
  void TearDown() override {
    server_.reset();
    fs::remove_all(dir_);
  }

  static void write_file(const fs::path& p, const std::string& text, mode_t mode) {
    { std::ofstream f(p); f << text; }
    ::chmod(p.c_str(), mode);
  }
  static std::string config_text(const std::string& notional, const std::string& url = "wss://node.example/ws") {
    return "[chain]\nname = \"polygon\"\nchain_id = 137\n[[endpoints]]\nurl = \"" + url + "\"\n"
           "[[tokens]]\nsymbol = \"WETH\"\naddress = \"0x7ceB23fD6bC0adD59E62ac25578270cFf1b9f619\"\ndecimals = 18\n"
           "[[venues]]\nname = \"q\"\nkind = \"v2\"\nfactory = \"0x5757371414417b8C6CAad45bAeF941aBc7d3Ab32\"\nfee = 3000\n"
           "[strategy]\nmin_profit_usd = \"1\"\n[risk]\nmax_notional_usd = \"" + notional + "\"\nmax_in_flight = 1\n"
           "daily_loss_usd = \"1\"\nmax_drawdown_usd = \"1\"\nbreaker_reverts = 1\nmax_gas_price_gwei = 100\n"
           "[key]\nenv = \"K\"\n[api]\ntoken_file = \"api.token\"\n";
  }

  ClientResponse get(const std::string& target, const std::string& token = "s3cret-token") {
    return http_request(url_, "GET", target, token);
  }
  ClientResponse post(const std::string& target, const std::string& body, const std::string& token = "s3cret-token") {
    return http_request(url_, "POST", target, token, body);
  }
  json::Value parse_ok(const ClientResponse& r) {
    EXPECT_EQ(r.error, ClientError::none) << r.message;
    auto v = json::parse(r.body);
    EXPECT_TRUE(v.has_value()) << r.body;
    return v ? *v : json::Value{};
  }

  struct Run { int rc; std::string out; };
  Run torqctl(const std::string& args, const std::string& url = "") {
    const std::string cmd = std::string(TORQCTL_PATH) + " --url " + (url.empty() ? url_ : url) + " --token-file " +
                            token_file_.string() + " " + args + " 2>&1";
    FILE* p = ::popen(cmd.c_str(), "r");
    std::string out;
    char buf[4096];
    while (std::size_t n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
    const int st = ::pclose(p);
    return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
  }

  static inline int counter_ = 0;
  fs::path dir_, token_file_;
  OperatorState state_;
  CommandQueue commands_;
  std::unique_ptr<ApiServer> server_;
  std::unique_ptr<JsonLinesAuditFile> file_audit_;
  std::string url_;
  std::mutex mu_;
  std::vector<AuditRecord> audit_;
};

TEST_F(ApiTest, ShouldServeStatusWithRedactedEndpointUrl) {
  const auto r = get("/api/status");
  EXPECT_EQ(r.status, 200u);
  const auto v = parse_ok(r);
  EXPECT_EQ(v.find("block_lag")->as_uint(), 2u);
  EXPECT_EQ(v.find("endpoints")->items().at(0).find("url")->text(), "wss://node.example");
  EXPECT_EQ(r.body.find("APIKEY123"), std::string::npos);
  EXPECT_EQ(r.body.find("secret"), std::string::npos);
  // The udp:// link bridges, one row per direction.
  const auto& links = v.find("links")->items();
  ASSERT_EQ(links.size(), 2u);
  EXPECT_EQ(links[0].find("direction")->text(), "in");
  EXPECT_EQ(links[0].find("gaps")->as_uint(), 1u);
  EXPECT_EQ(links[0].find("late")->as_uint(), 4u);
  EXPECT_EQ(links[1].find("direction")->text(), "out");
  EXPECT_EQ(links[1].find("resent")->as_uint(), 9u);
  EXPECT_EQ(links[1].find("resend_unavailable")->as_uint(), 2u);
}

TEST_F(ApiTest, ShouldRefuseRequestWithoutOrWithWrongToken) {
  EXPECT_EQ(get("/api/status", "").status, 401u);
  EXPECT_EQ(get("/api/status", "s3cret-tokeN").status, 401u);
  EXPECT_EQ(get("/api/status", "s3cret-token-longer").status, 401u);
  EXPECT_EQ(post("/api/kill", "{}", "wrong").status, 401u);
  EXPECT_FALSE(commands_.kill_flag().load());
  EXPECT_EQ(commands_.size(), 0u);
  std::lock_guard lk(mu_);
  ASSERT_EQ(audit_.size(), 1u);  // the refused mutation is audited too
  EXPECT_EQ(audit_[0].status, 401u);
  EXPECT_EQ(audit_[0].outcome, "unauthorized");
}

TEST_F(ApiTest, ShouldFilterStalePools) {
  const auto all = parse_ok(get("/api/pools"));
  EXPECT_EQ(all.items().size(), 3u);
  const auto stale = parse_ok(get("/api/pools?stale=1"));
  ASSERT_EQ(stale.items().size(), 2u);  // 100 blocks old, and the quarantined one
  EXPECT_EQ(stale.items()[0].find("age_blocks")->as_uint(), 100u);
  EXPECT_TRUE(stale.items()[1].find("quarantined")->as_bool());
}

TEST_F(ApiTest, ShouldServeTradesPnlRiskLatencyAsExactJson) {
  const auto t = parse_ok(get("/api/trades"));
  EXPECT_EQ(t.items().at(0).find("realized_pnl_usd")->text(), "3.10000000");
  const auto p = parse_ok(get("/api/pnl"));
  EXPECT_EQ(p.find("cumulative_usd")->text(), "3.10000000");
  EXPECT_EQ(p.find("series")->items().size(), 1u);
  const auto r = parse_ok(get("/api/risk"));
  EXPECT_EQ(r.find("rejects_by_reason")->find("stale_state")->as_uint(), 4u);
  const auto l = parse_ok(get("/api/latency"));
  EXPECT_EQ(l.items().at(0).find("max_ns")->as_uint(), 90000u);
  EXPECT_EQ(l.items().at(0).find("min_ns")->as_uint(), 200u);
}

TEST_F(ApiTest, ShouldQueueKillAndSetFlagAndAuditIt) {
  const auto r = post("/api/kill", R"({"reason":"manual test"})");
  EXPECT_EQ(r.status, 202u);
  EXPECT_TRUE(commands_.kill_flag().load());
  auto c = commands_.try_pop();
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->kind, CommandKind::kill);
  EXPECT_EQ(c->reason, "manual test");
  EXPECT_TRUE(parse_ok(get("/api/status")).find("kill_switch")->as_bool());
  EXPECT_EQ(post("/api/resume", "").status, 202u);
  EXPECT_FALSE(commands_.kill_flag().load());
  // JSON-lines audit file: two records, each a JSON object naming the target.
  std::ifstream in(dir_ / "audit.jsonl");
  std::string line;
  std::vector<json::Value> lines;
  while (std::getline(in, line)) lines.push_back(*json::parse(line));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].find("target")->text(), "/api/kill");
  EXPECT_EQ(lines[0].find("status")->as_uint(), 202u);
  EXPECT_EQ(lines[1].find("target")->text(), "/api/resume");
}

TEST_F(ApiTest, ShouldRejectBadJsonWith400) {
  const auto r = post("/api/risk", "{\"key\": ");
  EXPECT_EQ(r.status, 400u);
  EXPECT_EQ(commands_.size(), 0u);
  std::lock_guard lk(mu_);
  ASSERT_EQ(audit_.size(), 1u);
  EXPECT_EQ(audit_[0].outcome, "rejected: bad JSON");
}

TEST_F(ApiTest, ShouldValidateRiskSetBeforeQueueing) {
  EXPECT_EQ(post("/api/risk", R"({"key":"max_notional_usd","value":"abc"})").status, 422u);
  EXPECT_EQ(post("/api/risk", R"({"key":"no_such","value":"1"})").status, 422u);
  EXPECT_EQ(commands_.size(), 0u);
  EXPECT_EQ(post("/api/risk", R"({"key":"max_notional_usd","value":"2500.5"})").status, 202u);
  auto c = commands_.try_pop();
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->kind, CommandKind::risk_set);
  EXPECT_EQ(c->key, "max_notional_usd");
  EXPECT_EQ(c->value, "2500.5");
}

TEST_F(ApiTest, ShouldReloadThresholdsButRefuseStructuralChange) {
  write_file(dir_ / "torq.toml", config_text("900"), 0600);
  const auto ok = post("/api/reload", "");
  EXPECT_EQ(ok.status, 202u) << ok.body;
  auto c = commands_.try_pop();
  ASSERT_TRUE(c.has_value());
  ASSERT_TRUE(c->config);
  EXPECT_EQ(c->config->risk.max_notional_usd.raw, 90'000'000'000);
  write_file(dir_ / "torq.toml", config_text("900", "wss://other.example/ws"), 0600);
  const auto refused = post("/api/reload", "");
  EXPECT_EQ(refused.status, 409u);
  EXPECT_NE(refused.body.find("endpoints"), std::string::npos);
  write_file(dir_ / "torq.toml", config_text("-5"), 0600);
  EXPECT_EQ(post("/api/reload", "").status, 422u);
  EXPECT_EQ(commands_.size(), 0u);
}

TEST_F(ApiTest, ShouldServeHealthReadinessAndDashboard) {
  EXPECT_EQ(get("/healthz", "").status, 200u);
  EXPECT_EQ(get("/readyz", "").status, 200u);
  state_.update([](Snapshot& s) { s.status.ready = false; });
  EXPECT_EQ(get("/readyz", "").status, 503u);
  const auto page = get("/", "");
  EXPECT_EQ(page.status, 200u);
  EXPECT_NE(page.body.find("<canvas"), std::string::npos);
  EXPECT_EQ(get("/app.js", "").status, 200u);
  EXPECT_EQ(get("/../../etc/passwd", "").status, 404u);
}

// --- Prometheus text format -------------------------------------------------------------------

TEST_F(ApiTest, ShouldExposeWellFormedPrometheusTextWithMonotonicHistogramBuckets) {
  const auto r = get("/metrics", "");
  ASSERT_EQ(r.status, 200u);
  EXPECT_NE(r.content_type.find("version=0.0.4"), std::string::npos);
  std::istringstream in(r.body);
  std::string line;
  std::map<std::string, std::string> types;
  std::vector<std::pair<std::string, double>> buckets;
  double inf_count = -1, count = -2;
  int samples = 0;
  while (std::getline(in, line)) {
    ASSERT_FALSE(line.empty());
    if (line.rfind("# HELP ", 0) == 0) continue;
    if (line.rfind("# TYPE ", 0) == 0) {
      std::istringstream t(line.substr(7));
      std::string name, type;
      t >> name >> type;
      ASSERT_TRUE(type == "counter" || type == "gauge" || type == "histogram") << line;
      types[name] = type;
      continue;
    }
    // name{labels} value
    const auto sp = line.rfind(' ');
    ASSERT_NE(sp, std::string::npos) << line;
    std::string series = line.substr(0, sp);
    const std::string value = line.substr(sp + 1);
    char* end = nullptr;
    const double v = std::strtod(value.c_str(), &end);
    ASSERT_EQ(*end, '\0') << "value not a number: " << line;
    std::string name = series.substr(0, series.find('{'));
    for (char ch : name) ASSERT_TRUE(std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == ':') << line;
    if (series.find('{') != std::string::npos) {
      ASSERT_EQ(series.back(), '}') << line;
    }
    std::string family = name;
    for (const char* suf : {"_bucket", "_sum", "_count"})
      if (!types.count(family) && family.size() > std::strlen(suf) && family.ends_with(suf)) family.resize(family.size() - std::strlen(suf));
    ASSERT_TRUE(types.count(family)) << "sample without # TYPE: " << line;
    if (name == "torq_stage_latency_seconds_bucket") {
      if (series.find("le=\"+Inf\"") != std::string::npos) inf_count = v;
      else buckets.emplace_back(series, v);
    }
    if (name == "torq_stage_latency_seconds_count") count = v;
    ++samples;
  }
  EXPECT_GT(samples, 30);
  ASSERT_FALSE(buckets.empty());
  for (std::size_t i = 1; i < buckets.size(); ++i) EXPECT_LE(buckets[i - 1].second, buckets[i].second) << buckets[i].first;
  EXPECT_EQ(inf_count, 5);
  EXPECT_EQ(count, 5);
  EXPECT_NE(r.body.find("torq_opportunities_rejected_total{reason=\"stale_state\"} 4"), std::string::npos);
  EXPECT_NE(r.body.find("torq_ring_drops_total{ring=\"market_data\"} 7"), std::string::npos);
  // Link bridges: each family only for the direction where it means something.
  EXPECT_NE(r.body.find("torq_link_frames_total{link=\"market_data\",direction=\"in\"} 5000"), std::string::npos);
  EXPECT_NE(r.body.find("torq_link_frames_total{link=\"market_data\",direction=\"out\"} 5003"), std::string::npos);
  EXPECT_NE(r.body.find("torq_link_gaps_total{link=\"market_data\",direction=\"in\"} 1"), std::string::npos);
  EXPECT_NE(r.body.find("torq_link_missing_frames_total{link=\"market_data\",direction=\"in\"} 2"), std::string::npos);
  EXPECT_NE(r.body.find("torq_link_late_total{link=\"market_data\",direction=\"in\"} 4"), std::string::npos);
  EXPECT_NE(r.body.find("torq_link_resend_requests_total{link=\"market_data\",direction=\"out\"} 6"), std::string::npos);
  EXPECT_NE(r.body.find("torq_link_frames_resent_total{link=\"market_data\",direction=\"out\"} 9"), std::string::npos);
  EXPECT_NE(r.body.find("torq_link_resend_unavailable_total{link=\"market_data\",direction=\"out\"} 2"), std::string::npos);
  EXPECT_EQ(r.body.find("torq_link_gaps_total{link=\"market_data\",direction=\"out\"}"), std::string::npos) << "a sender has no gaps";
  EXPECT_EQ(r.body.find("torq_link_frames_resent_total{link=\"market_data\",direction=\"in\"}"), std::string::npos);
  EXPECT_NE(r.body.find("torq_events_total{type=\"v2_sync\"} 10"), std::string::npos);
  EXPECT_NE(r.body.find("torq_realized_pnl_usd 3.10000000"), std::string::npos);
  // 200, 300, 400 ns are <= 511 ns; 5000 is not.
  EXPECT_NE(r.body.find("torq_stage_latency_seconds_bucket{stage=\"search\",le=\"0.000000511\"} 3"), std::string::npos);
}

// --- torqctl against the running server --------------------------------------------------------

TEST_F(ApiTest, TorqctlShouldPrintTablesWithRows) {
  auto r = torqctl("trades");
  EXPECT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("0xabc123"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("3.10000000"), std::string::npos);
  r = torqctl("pools --stale");
  EXPECT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("0x45dDa9cb7c25131DF268515131f647d726f50608"), std::string::npos);
  EXPECT_EQ(r.out.find("0x853Ee4b2A13f8a742d64C8F088bE7bA2131f670d"), std::string::npos);  // fresh pool filtered
  r = torqctl("status");
  EXPECT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("block_lag"), std::string::npos);
  EXPECT_NE(r.out.find("market_data"), std::string::npos);
  r = torqctl("latency");
  EXPECT_EQ(r.rc, 0);
  EXPECT_NE(r.out.find("search"), std::string::npos);
  r = torqctl("risk show");
  EXPECT_EQ(r.rc, 0);
  EXPECT_NE(r.out.find("stale_state"), std::string::npos);
}

TEST_F(ApiTest, TorqctlJsonOutputShouldParse) {
  for (const char* cmd : {"status", "pools", "opportunities", "trades", "pnl", "risk show", "latency"}) {
    const auto r = torqctl(std::string("--json ") + cmd);
    EXPECT_EQ(r.rc, 0) << cmd << ": " << r.out;
    EXPECT_TRUE(json::parse(r.out).has_value()) << cmd << ": " << r.out;
  }
}

TEST_F(ApiTest, TorqctlShouldExitWithDocumentedCodes) {
  EXPECT_EQ(torqctl("kill --reason ctl-test").rc, 0);
  EXPECT_TRUE(commands_.kill_flag().load());
  EXPECT_EQ(torqctl("risk set max_notional_usd nonsense").rc, 5);
  EXPECT_EQ(torqctl("risk set max_notional_usd 10").rc, 0);
  EXPECT_EQ(torqctl("no-such-command").rc, 2);
  EXPECT_EQ(torqctl("risk set onlykey").rc, 2);
  // Integers are plain decimals in range (CLI11 alone reads 010 as 8 and 0x10 as 16).
  EXPECT_EQ(torqctl("--timeout-ms 010 status").rc, 2);
  EXPECT_EQ(torqctl("--timeout-ms 0x10 status").rc, 2);
  EXPECT_EQ(torqctl("--timeout-ms 0 status").rc, 2);
  EXPECT_EQ(torqctl("trades --limit -1").rc, 2);
  EXPECT_EQ(torqctl("trades --limit 05").rc, 2);
  EXPECT_EQ(torqctl("trades --limit 5").rc, 0);
  // wrong token → 4
  write_file(token_file_, "wrong", 0600);
  EXPECT_EQ(torqctl("status").rc, 4);
  // world-readable token file → 4, and nothing sent
  write_file(token_file_, "s3cret-token", 0644);
  const auto loose = torqctl("status");
  EXPECT_EQ(loose.rc, 4);
  EXPECT_NE(loose.out.find("group or others"), std::string::npos);
  write_file(token_file_, "s3cret-token", 0600);
  // torqd down → 3
  const auto port = server_->port();
  server_->stop();
  const auto down = torqctl("status", "http://127.0.0.1:" + std::to_string(port));
  EXPECT_EQ(down.rc, 3);
  EXPECT_NE(down.out.find("not reachable"), std::string::npos);
}

TEST_F(ApiTest, TorqctlResumeShouldQueueResumeReleaseKillFlagAndAuditIt) {
  ASSERT_EQ(torqctl("kill --reason before-resume").rc, 0);
  ASSERT_TRUE(commands_.kill_flag().load());
  const auto kill = commands_.try_pop();
  ASSERT_TRUE(kill.has_value());
  ASSERT_EQ(kill->kind, CommandKind::kill);

  const auto r = torqctl("resume");
  EXPECT_EQ(r.rc, 0) << r.out;
  EXPECT_EQ(r.out, "resume accepted (command " + std::to_string(kill->id + 1) + ")\n");
  EXPECT_FALSE(commands_.kill_flag().load());  // released at once, before the control thread drains
  const auto c = commands_.try_pop();
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->kind, CommandKind::resume);
  EXPECT_EQ(c->id, kill->id + 1);
  EXPECT_EQ(c->actor.rfind("127.0.0.1:", 0), 0u) << c->actor;
  EXPECT_EQ(commands_.size(), 0u);
  {
    std::lock_guard lk(mu_);
    ASSERT_EQ(audit_.size(), 2u);
    const auto& a = audit_.back();
    EXPECT_EQ(a.method, "POST");
    EXPECT_EQ(a.target, "/api/resume");
    EXPECT_EQ(a.status, 202u);
    EXPECT_EQ(a.outcome, "accepted");
    EXPECT_EQ(a.command_id, c->id);
    EXPECT_EQ(a.actor, c->actor);
  }
  // --json prints the API's answer.
  const auto j = torqctl("--json resume");
  EXPECT_EQ(j.rc, 0) << j.out;
  const auto v = json::parse(j.out);
  ASSERT_TRUE(v.has_value()) << j.out;
  EXPECT_TRUE(v->find("accepted")->as_bool());
  EXPECT_EQ(v->find("command_id")->as_uint(), c->id + 1);
}

TEST_F(ApiTest, TorqctlReloadShouldQueueTheValidatedConfigAndNameTheChangedKeys) {
  write_file(dir_ / "torq.toml", config_text("900"), 0600);
  const auto r = torqctl("reload");
  EXPECT_EQ(r.rc, 0) << r.out;
  EXPECT_EQ(r.out, "reload accepted (command 1); changed: risk.max_notional_usd\n");
  auto c = commands_.try_pop();
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->kind, CommandKind::reload);
  ASSERT_TRUE(c->config);
  EXPECT_EQ(c->config->risk.max_notional_usd.raw, 90'000'000'000);
  EXPECT_FALSE(commands_.kill_flag().load());
  {
    std::lock_guard lk(mu_);
    ASSERT_EQ(audit_.size(), 1u);
    EXPECT_EQ(audit_[0].method, "POST");
    EXPECT_EQ(audit_[0].target, "/api/reload");
    EXPECT_EQ(audit_[0].status, 202u);
    EXPECT_EQ(audit_[0].outcome, "accepted");
    EXPECT_EQ(audit_[0].command_id, c->id);
  }
  // Unchanged file: accepted, nothing to list.
  write_file(dir_ / "torq.toml", config_text("1000"), 0600);
  const auto same = torqctl("reload");
  EXPECT_EQ(same.rc, 0) << same.out;
  EXPECT_EQ(same.out, "reload accepted (command 2)\n");
  ASSERT_TRUE(commands_.try_pop().has_value());

  // Structural change: 409 → exit 5 with torqd's message; nothing queued.
  write_file(dir_ / "torq.toml", config_text("900", "wss://other.example/ws"), 0600);
  const auto structural = torqctl("reload");
  EXPECT_EQ(structural.rc, 5) << structural.out;
  EXPECT_NE(structural.out.find("rejected by torqd (HTTP 409)"), std::string::npos) << structural.out;
  EXPECT_NE(structural.out.find("restart needed): endpoints"), std::string::npos) << structural.out;
  // A file with errors: 422 → exit 5 naming the key; nothing queued.
  write_file(dir_ / "torq.toml", config_text("-5"), 0600);
  const auto invalid = torqctl("reload");
  EXPECT_EQ(invalid.rc, 5) << invalid.out;
  EXPECT_NE(invalid.out.find("rejected by torqd (HTTP 422)"), std::string::npos) << invalid.out;
  EXPECT_NE(invalid.out.find("max_notional_usd"), std::string::npos) << invalid.out;
  EXPECT_EQ(commands_.size(), 0u);
  std::lock_guard lk(mu_);
  ASSERT_EQ(audit_.size(), 4u);
  EXPECT_EQ(audit_[2].status, 409u);
  EXPECT_EQ(audit_[2].outcome.rfind("rejected: structural settings changed", 0), 0u) << audit_[2].outcome;
  EXPECT_EQ(audit_[3].status, 422u);
}

TEST_F(ApiTest, TorqctlReloadShouldReportATorqdWithoutConfigFile) {
  ApiServerOptions o;
  o.bind = "127.0.0.1";
  o.port = 0;
  o.token = "s3cret-token";
  o.audit = [this](const AuditRecord& r) {
    std::lock_guard lk(mu_);
    audit_.push_back(r);
  };
  ApiServer no_file(state_, commands_, std::move(o));  // no config_path: POST /api/reload is 501
  no_file.start();
  const auto r = torqctl("reload", "http://127.0.0.1:" + std::to_string(no_file.port()));
  EXPECT_EQ(r.rc, 6) << r.out;
  EXPECT_NE(r.out.find("unexpected response from torqd (HTTP 501)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("reload is not configured (no config file)"), std::string::npos) << r.out;
  EXPECT_EQ(commands_.size(), 0u);
  std::lock_guard lk(mu_);
  ASSERT_EQ(audit_.size(), 1u);
  EXPECT_EQ(audit_[0].status, 501u);
}

TEST_F(ApiTest, TorqctlResumeAndReloadShouldFailWithDocumentedCodesAndMessages) {
  ASSERT_EQ(post("/api/kill", R"({"reason":"stay killed"})").status, 202u);
  ASSERT_TRUE(commands_.try_pop().has_value());
  write_file(dir_ / "torq.toml", config_text("900"), 0600);  // a reload would be accepted
  // Wrong token → 4, nothing queued, the kill stays engaged, both refusals audited.
  write_file(token_file_, "wrong-token", 0600);
  for (const char* cmd : {"resume", "reload"}) {
    const auto r = torqctl(cmd);
    EXPECT_EQ(r.rc, 4) << cmd << ": " << r.out;
    EXPECT_EQ(r.out, "torqctl: unauthorized: torqd refused the token from " + token_file_.string() + "\n") << cmd;
  }
  EXPECT_TRUE(commands_.kill_flag().load());
  EXPECT_EQ(commands_.size(), 0u);
  {
    std::lock_guard lk(mu_);
    ASSERT_EQ(audit_.size(), 3u);
    EXPECT_EQ(audit_[1].target, "/api/resume");
    EXPECT_EQ(audit_[1].status, 401u);
    EXPECT_EQ(audit_[1].outcome, "unauthorized");
    EXPECT_EQ(audit_[2].target, "/api/reload");
    EXPECT_EQ(audit_[2].status, 401u);
    EXPECT_EQ(audit_[2].outcome, "unauthorized");
  }
  // Missing token file → 4 before anything is sent.
  fs::remove(token_file_);
  const auto missing = torqctl("reload");
  EXPECT_EQ(missing.rc, 4) << missing.out;
  EXPECT_NE(missing.out.find("--token-file or TORQ_API_TOKEN_FILE"), std::string::npos) << missing.out;
  write_file(token_file_, "s3cret-token", 0600);
  // Nothing listens → 3 with the URL and the hint.
  const std::string url = "http://127.0.0.1:" + std::to_string(server_->port());
  server_->stop();
  for (const char* cmd : {"resume", "reload"}) {
    const auto r = torqctl(cmd, url);
    EXPECT_EQ(r.rc, 3) << cmd << ": " << r.out;
    EXPECT_EQ(r.out.rfind("torqctl: torqd is not reachable at " + url + " (", 0), 0u) << cmd << ": " << r.out;
    EXPECT_NE(r.out.find("is torqd running?"), std::string::npos) << cmd << ": " << r.out;
  }
  EXPECT_TRUE(commands_.kill_flag().load());
  EXPECT_EQ(commands_.size(), 0u);
}

// --- pieces ------------------------------------------------------------------------------------

TEST(TokenFile, ShouldRefuseWorldReadableTokenFile) {
  const fs::path p = fs::temp_directory_path() / ("torq-token-" + std::to_string(::getpid()));
  { std::ofstream f(p); f << "tok"; }
  ::chmod(p.c_str(), 0644);
  EXPECT_THROW((void)load_token_file(p), std::runtime_error);
  ::chmod(p.c_str(), 0600);
  EXPECT_EQ(load_token_file(p), "tok");
  fs::remove(p);
}

TEST(ConstantTimeEqual, ShouldCompareWholeStrings) {
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("abc", "abcd"));
  EXPECT_FALSE(constant_time_equal("", "a"));
}

TEST(LatencyHistogram, ShouldPlaceEveryValueInsideItsBucketBounds) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 100000; ++i) {
    const std::uint64_t v = rng() >> (rng() % 64);
    const auto b = LatencyHistogram::bucket_of(v);
    ASSERT_LT(b, LatencyHistogram::kBuckets);
    ASSERT_LE(LatencyHistogram::bucket_lower(b), v);
    ASSERT_GE(LatencyHistogram::bucket_upper(b), v);
    if (b + 1 < LatencyHistogram::kBuckets) {
      ASSERT_EQ(LatencyHistogram::bucket_upper(b) + 1, LatencyHistogram::bucket_lower(b + 1));
    }
  }
}

TEST(LatencyHistogram, ShouldReportPercentilesWithinBucketWidth) {
  LatencyHistogram h;
  for (std::uint64_t v = 1; v <= 10000; ++v) h.record(v);
  EXPECT_EQ(h.count(), 10000u);
  EXPECT_EQ(h.min(), 1u);
  EXPECT_EQ(h.max(), 10000u);
  EXPECT_EQ(h.value_at(1, 1), 10000u);  // p100 is the exact max
  const auto p50 = h.value_at(50, 100);
  EXPECT_GE(p50, 5000u);
  EXPECT_LE(p50, 5000u + 5000u / 16);  // bucket width <= 1/16 of the value
  const auto p99 = h.value_at(99, 100);
  EXPECT_GE(p99, 9900u);
  EXPECT_LE(p99, 9900u + 9900u / 16);
  EXPECT_EQ(h.count_at_or_below(1023), 1023u);
  EXPECT_EQ(h.sum(), 10000u * 10001u / 2);
}

TEST(OperatorState, ShouldKeepOnlyRecentRowsAndUpsertTradesByHash) {
  OperatorState st(3, 2);
  for (std::uint64_t i = 0; i < 5; ++i) st.add_opportunity(OpportunityRow{i, 0, "p", "1", "USDC", {}, {}, "taken"});
  TradeRow a;
  a.hash = "0x1";
  a.status = "pending";
  st.upsert_trade(a);
  a.status = "mined";
  st.upsert_trade(a);
  const auto s = st.snapshot();
  ASSERT_EQ(s.opportunities.size(), 3u);
  EXPECT_EQ(s.opportunities.front().id, 2u);
  ASSERT_EQ(s.trades.size(), 1u);
  EXPECT_EQ(s.trades[0].status, "mined");
  EXPECT_GT(st.version(), 0u);
}

TEST(Json, ShouldRoundTripExactNumbersAndRejectMalformedInput) {
  const auto v = json::parse(R"({"a":123456789012345678901234567890,"b":[true,null,"x\u00e9\n"],"c":-0.5e3})");
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(json::dump(*v), "{\"a\":123456789012345678901234567890,\"b\":[true,null,\"xé\\n\"],\"c\":-0.5e3}");
  for (const char* bad : {"", "{", "[1,]", "{\"a\":1,\"a\":2}", "01", "\"\\ud800\"", "[1] x", "nul"})
    EXPECT_FALSE(json::parse(bad).has_value()) << bad;
  std::string deep(100, '[');
  EXPECT_FALSE(json::parse(deep + std::string(100, ']')).has_value());
}

}  // namespace
