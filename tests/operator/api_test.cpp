// Tests for the operator API server (real server on an ephemeral port), the torqctl binary against
// it, the Prometheus exposition, the state model and the latency histogram.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <utility>  // std::exchange, used by Boost 1.74 asio headers

#include <algorithm>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <thread>
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

// A blocking TCP connection to 127.0.0.1:port; -1 on failure.
int connect_to(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || ::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) {
    if (fd >= 0) ::close(fd);
    return -1;
  }
  return fd;
}

void send_all(int fd, const std::string& bytes) {
  for (std::size_t off = 0; off < bytes.size();) {
    const ssize_t n = ::send(fd, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return;
    off += static_cast<std::size_t>(n);
  }
}

// Everything the peer sends until it closes (or resets) the connection, stops after `until` shows
// up, or nothing arrives for timeout_ms.
std::string read_from(int fd, int timeout_ms = 3000, const std::string& until = "") {
  std::string out;
  char buf[4096];
  while (until.empty() || out.find(until) == std::string::npos) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0) break;
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

// Sends `request` as is on a new connection and returns all that comes back.
std::string raw_exchange(std::uint16_t port, const std::string& request) {
  const int fd = connect_to(port);
  if (fd < 0) return "(connect failed)";
  send_all(fd, request);
  std::string out = read_from(fd);
  ::close(fd);
  return out;
}

// Well-formed UTF-8 (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF).
bool valid_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = 1;
    std::uint32_t cp = c;
    if (c >= 0xF0) n = 4, cp = c & 0x07;
    else if (c >= 0xE0) n = 3, cp = c & 0x0F;
    else if (c >= 0xC0) n = 2, cp = c & 0x1F;
    else if (c >= 0x80) return false;
    if (n > 1) {
      if (c > 0xF4 || s.size() - i < n) return false;
      for (std::size_t k = 1; k < n; ++k) {
        const auto d = static_cast<unsigned char>(s[i + k]);
        if ((d & 0xC0) != 0x80) return false;
        cp = (cp << 6) | (d & 0x3F);
      }
      const std::uint32_t min = n == 2 ? 0x80 : n == 3 ? 0x800 : 0x10000;
      if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    }
    i += n;
  }
  return true;
}

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

  // A second server on an ephemeral port with the fixture's token, auditing into audit_.
  ApiServerOptions second_server_options() {
    ApiServerOptions o;
    o.bind = "127.0.0.1";
    o.port = 0;
    o.token = "s3cret-token";
    o.audit = [this](const AuditRecord& r) {
      std::lock_guard lk(mu_);
      audit_.push_back(r);
    };
    return o;
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
  ApiServerOptions o = second_server_options();
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
  // Unauthorized POSTs: the first in full; the second too when it came a second later, else it is
  // counted in one summary line at the end of that second.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < deadline) {
    { std::lock_guard lk(mu_); if (audit_.size() >= 3) break; }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  {
    std::lock_guard lk(mu_);
    ASSERT_EQ(audit_.size(), 3u);
    EXPECT_EQ(audit_[1].target, "/api/resume");
    EXPECT_EQ(audit_[1].status, 401u);
    EXPECT_EQ(audit_[1].outcome, "unauthorized");
    EXPECT_EQ(audit_[2].status, 401u);
    if (audit_[2].unrecorded == 0) {
      EXPECT_EQ(audit_[2].target, "/api/reload");
      EXPECT_EQ(audit_[2].outcome, "unauthorized");
    } else {
      EXPECT_EQ(audit_[2].unrecorded, 1u);
      EXPECT_EQ(audit_[2].outcome.rfind("unauthorized: 1 more refused", 0), 0u) << audit_[2].outcome;
    }
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

// --- hardening: audit flood, connection limit, reload, HEAD, malformed requests ---------------

TEST_F(ApiTest, ShouldSummarizeUnauthorizedPostsInsteadOfAuditingEachOne) {
  // The first refused POST is recorded in full: target cut to 512 bytes without splitting the
  // two-byte "é", invalid UTF-8 in the body written as U+FFFD.
  std::string target = "/api/kill?xy=";  // 13 bytes: byte 512 falls inside an "é"
  for (int i = 0; i < 4000; ++i) target += "\xC3\xA9";
  const std::string body = "{\"reason\":\"\xFF\xFE\"}";
  const std::string first = raw_exchange(server_->port(), "POST " + target + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer wrong\r\n"
                                         "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body);
  ASSERT_EQ(first.rfind("HTTP/1.1 401", 0), 0u) << first.substr(0, 200);
  // A flood: counted, not written one by one.
  constexpr int kFlood = 199;
  for (int i = 0; i < kFlood; ++i) ASSERT_EQ(post("/api/kill", "{}", "wrong").status, 401u);
  std::uint64_t represented = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (represented < 1 + kFlood && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    std::lock_guard lk(mu_);
    represented = 0;
    for (const auto& a : audit_) represented += (a.target.empty() ? 0 : 1) + a.unrecorded;
  }
  EXPECT_EQ(represented, 1u + kFlood);
  std::vector<AuditRecord> records;
  {
    std::lock_guard lk(mu_);
    records = audit_;
  }
  ASSERT_GE(records.size(), 2u);
  EXPECT_LE(records.size(), 7u) << "about one line per second, not one per request";
  EXPECT_EQ(records[0].outcome, "unauthorized");
  EXPECT_EQ(records[0].unrecorded, 0u);
  EXPECT_EQ(records[0].target, target.substr(0, 511));
  EXPECT_EQ(records.back().target, "");
  EXPECT_EQ(records.back().status, 401u);
  EXPECT_NE(records.back().outcome.find("not recorded one by one"), std::string::npos) << records.back().outcome;
  // The file: strict JSON lines in valid UTF-8, small.
  std::ifstream in(dir_ / "audit.jsonl");
  std::string line;
  std::vector<json::Value> lines;
  while (std::getline(in, line)) {
    EXPECT_TRUE(valid_utf8(line)) << line;
    EXPECT_LT(line.size(), 1024u);
    auto v = json::parse(line);
    ASSERT_TRUE(v.has_value()) << line;
    lines.push_back(*v);
  }
  ASSERT_EQ(lines.size(), records.size());
  EXPECT_EQ(lines[0].find("target")->text(), target.substr(0, 511));
  EXPECT_EQ(lines[0].find("body")->text(), "{\"reason\":\"\xEF\xBF\xBD\xEF\xBF\xBD\"}");
  EXPECT_EQ(lines[0].find("unrecorded"), nullptr);
  ASSERT_NE(lines.back().find("unrecorded"), nullptr);
  EXPECT_EQ(server_->stats().unauthorized, 1u + kFlood);
  std::uint64_t unrecorded = 0;
  for (const auto& a : records) unrecorded += a.unrecorded;
  EXPECT_EQ(server_->stats().unauthorized_unrecorded, unrecorded);
  const auto m = get("/metrics", "");
  EXPECT_NE(m.body.find("torq_api_unauthorized_total 200\n"), std::string::npos);
}

TEST_F(ApiTest, ShouldCapAuditedTargetAndBodyOfAuthorizedPosts) {
  std::string reason(10000, 'a');
  reason[4095 - 11] = '\xE2';  // a three-byte character across the 4 096-byte cut
  reason[4096 - 11] = '\x82';
  reason[4097 - 11] = '\xAC';
  const auto r = post("/api/kill?pad=" + std::string(2000, 'p'), "{\"reason\":\"" + reason + "\"}");
  ASSERT_EQ(r.status, 202u) << r.body;
  std::lock_guard lk(mu_);
  ASSERT_EQ(audit_.size(), 1u);
  EXPECT_EQ(audit_[0].target.size(), kAuditTargetMax);
  EXPECT_EQ(audit_[0].body.size(), 4095u);  // stops before the character that would cross 4 096 bytes
  EXPECT_TRUE(valid_utf8(audit_[0].body));
}

TEST_F(ApiTest, ShouldApplyReloadedMetricsTokenAndStaleBoundWhenThePipelineInstallsTheConfig) {
  EXPECT_EQ(get("/metrics", "").status, 200u);
  EXPECT_EQ(parse_ok(get("/api/pools?stale=1")).items().size(), 2u);
  std::string text = config_text("1000") + "[metrics]\nrequire_token = true\nsnapshot_interval_ms = 100\n";
  text.replace(text.find("max_in_flight = 1\n"), 18, "max_in_flight = 1\nstale_blocks = 500\n");
  write_file(dir_ / "torq.toml", text, 0600);
  const auto r = post("/api/reload", "");
  ASSERT_EQ(r.status, 202u) << r.body;
  EXPECT_NE(r.body.find("metrics.require_token"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("risk.stale_blocks"), std::string::npos) << r.body;
  auto c = commands_.try_pop();
  ASSERT_TRUE(c.has_value() && c->config);
  server_->set_current_config(c->config);  // what torqd's control thread does once it applied the reload
  EXPECT_EQ(get("/metrics", "").status, 401u);
  EXPECT_EQ(get("/metrics").status, 200u);
  const auto stale = parse_ok(get("/api/pools?stale=1"));
  ASSERT_EQ(stale.items().size(), 1u);  // only the quarantined pool: 100 blocks is within 500
  EXPECT_TRUE(stale.items()[0].find("quarantined")->as_bool());
}

TEST_F(ApiTest, ShouldAnswerHeadWithTheHeadersOnlySoThatKeepAliveStaysInStep) {
  const std::string out = raw_exchange(server_->port(),
                                       "HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                                       "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  ASSERT_EQ(out.rfind("HTTP/1.1 200", 0), 0u) << out;
  const auto end = out.find("\r\n\r\n");
  ASSERT_NE(end, std::string::npos) << out;
  EXPECT_NE(out.substr(0, end).find("Content-Length: 3"), std::string::npos) << out;
  const std::string rest = out.substr(end + 4);
  EXPECT_EQ(rest.rfind("HTTP/1.1 200", 0), 0u) << "the HEAD answer carried a body: " << rest;
  EXPECT_EQ(rest.substr(rest.size() - 3), "ok\n");
}

TEST_F(ApiTest, ShouldAnswerMalformedRequestsBeforeClosing) {
  EXPECT_EQ(raw_exchange(server_->port(), "NOT AN HTTP REQUEST\r\n\r\n").rfind("HTTP/1.1 400", 0), 0u);
  EXPECT_EQ(raw_exchange(server_->port(), "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: -4\r\n\r\n").rfind("HTTP/1.1 400", 0), 0u);
  const std::string big = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: " + std::string(20000, 'a') + "\r\n\r\n";
  const std::string out = raw_exchange(server_->port(), big);
  EXPECT_EQ(out.rfind("HTTP/1.1 431", 0), 0u) << out.substr(0, 200);
  EXPECT_EQ(raw_exchange(server_->port(), "POST /api/kill HTTP/1.1\r\nHost: x\r\nContent-Length: 70000\r\n\r\n" + std::string(70000, '{'))
                .rfind("HTTP/1.1 413", 0),
            0u);
  EXPECT_EQ(get("/healthz", "").status, 200u);
}

TEST_F(ApiTest, ShouldAcceptTheBearerSchemeInAnyCase) {
  for (const char* scheme : {"bearer", "BEARER", "Bearer"}) {
    const std::string out = raw_exchange(server_->port(), std::string("GET /api/status HTTP/1.1\r\nHost: x\r\nAuthorization: ") + scheme +
                                                              " s3cret-token\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(out.rfind("HTTP/1.1 200", 0), 0u) << scheme << ": " << out.substr(0, 100);
  }
  EXPECT_EQ(raw_exchange(server_->port(), "GET /api/status HTTP/1.1\r\nHost: x\r\nAuthorization: Basic s3cret-token\r\nConnection: close\r\n\r\n")
                .rfind("HTTP/1.1 401", 0),
            0u);
}

TEST_F(ApiTest, ShouldNotExposeEndpointCredentialsInTheSnapshot) {
  const auto r = get("/api/snapshot");
  ASSERT_EQ(r.status, 200u);
  EXPECT_EQ(r.body.find("secret"), std::string::npos) << r.body.substr(0, 400);
  EXPECT_EQ(r.body.find("APIKEY123"), std::string::npos);
  EXPECT_NE(r.body.find("\"wss://node.example\""), std::string::npos);
}

TEST_F(ApiTest, ShouldKeepUrlCredentialsOutOfClientAndTorqctlMessages) {
  // Nothing listens on port 1: the failure names the host, never the user:password.
  const auto r = http_request("http://ops:pw-in-url@127.0.0.1:1", "GET", "/healthz", "");
  EXPECT_NE(r.error, ClientError::none);
  EXPECT_EQ(r.message.find("pw-in-url"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("127.0.0.1:1"), std::string::npos) << r.message;
  const auto ctl = torqctl("status", "http://ops:pw-in-url@127.0.0.1:1/path-KEY");
  EXPECT_EQ(ctl.rc, 3) << ctl.out;
  EXPECT_EQ(ctl.out.find("pw-in-url"), std::string::npos) << ctl.out;
  EXPECT_EQ(ctl.out.find("KEY"), std::string::npos) << ctl.out;
  // user:password@ is Basic authorization, not part of the host name.
  EXPECT_EQ(http_request("http://ops:pw@127.0.0.1:" + std::to_string(server_->port()), "GET", "/healthz", "").status, 200u);
  // --help shows TORQ_URL as the --url default: redacted too.
  const std::string help_cmd = "TORQ_URL=http://ops:pw-in-env@127.0.0.1:1/KEY-in-env " + std::string(TORQCTL_PATH) + " --help 2>&1";
  FILE* p = ::popen(help_cmd.c_str(), "r");
  std::string help;
  char buf[4096];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, p)) help.append(buf, n);
  ::pclose(p);
  EXPECT_NE(help.find("--url"), std::string::npos) << help;
  EXPECT_NE(help.find("127.0.0.1:1"), std::string::npos) << "the default is not shown at all: " << help;
  EXPECT_EQ(help.find("pw-in-env"), std::string::npos) << help;
  EXPECT_EQ(help.find("KEY-in-env"), std::string::npos) << help;
}

TEST_F(ApiTest, ShouldCloseWebSocketWhoseClientSendsAnOversizedMessage) {
  namespace asio = boost::asio;
  namespace websocket = boost::beast::websocket;
  asio::io_context ioc;
  websocket::stream<asio::ip::tcp::socket> ws(ioc);
  ws.next_layer().connect({asio::ip::make_address("127.0.0.1"), server_->port()});
  const timeval tv{1, 0};
  ::setsockopt(ws.next_layer().native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(ws.next_layer().native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  ws.handshake("127.0.0.1", "/ws?token=s3cret-token");
  boost::beast::error_code ec;
  ws.text(true);
  ws.write(asio::buffer(std::string(100 * 1024, 'x')), ec);  // may fail once the server closed
  boost::beast::flat_buffer buf;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(6);
  ec = {};
  while (!ec && std::chrono::steady_clock::now() < deadline) {
    buf.clear();
    ws.read(buf, ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) ec = {};  // SO_RCVTIMEO: read again
  }
  // Closed by the server (not still open at the deadline). Usually with a close frame saying 1009;
  // when the server's close races our write, the connection is reset instead and the frame lost.
  ASSERT_TRUE(ec) << "the server kept the connection open";
  if (ec == websocket::error::closed) EXPECT_EQ(ws.reason().code, websocket::close_code::too_big);
  else EXPECT_TRUE(ec == asio::error::broken_pipe || ec == asio::error::connection_reset || ec == asio::error::not_connected ||
                   ec == asio::error::eof) << ec.message();
}

// The dashboard passes the token to /ws as encodeURIComponent(token): a base64 token ('+', '/',
// '=') arrives %-escaped and must still open the WebSocket; a wrong token still does not.
TEST_F(ApiTest, ShouldAcceptAPercentEncodedTokenOnTheWebSocket) {
  namespace asio = boost::asio;
  namespace websocket = boost::beast::websocket;
  ApiServerOptions o = second_server_options();
  o.token = "q+Zk/9w=";
  ApiServer srv(state_, commands_, std::move(o));
  srv.start();
  auto handshake = [&](const std::string& target) {
    asio::io_context ioc;
    websocket::stream<asio::ip::tcp::socket> ws(ioc);
    ws.next_layer().connect({asio::ip::make_address("127.0.0.1"), srv.port()});
    boost::beast::error_code ec;
    ws.handshake("127.0.0.1", target, ec);
    return ec;
  };
  EXPECT_FALSE(handshake("/ws?token=q+Zk/9w="));  // unescaped, as before
  EXPECT_FALSE(handshake("/ws?token=q%2BZk%2F9w%3D")) << "encodeURIComponent(token) refused";
  EXPECT_FALSE(handshake("/ws?token=q%2bZk%2f9w%3d"));
  EXPECT_TRUE(handshake("/ws?token=q%2BZk%2F9w%3E"));
  EXPECT_TRUE(handshake("/ws?token=q%20Zk%2F9w%3D"));
}

TEST_F(ApiTest, ShouldAnswer503WhenTheCommandQueueIsFullButStillTakeAKill) {
  CommandQueue small(2);
  ApiServerOptions o = second_server_options();
  ApiServer srv(state_, small, std::move(o));
  srv.start();
  const std::string url = "http://127.0.0.1:" + std::to_string(srv.port());
  EXPECT_EQ(http_request(url, "POST", "/api/resume", "s3cret-token").status, 202u);
  EXPECT_EQ(http_request(url, "POST", "/api/risk", "s3cret-token", R"({"key":"max_in_flight","value":"3"})").status, 202u);
  const auto full = http_request(url, "POST", "/api/resume", "s3cret-token");
  EXPECT_EQ(full.status, 503u);
  EXPECT_NE(full.body.find("command queue full"), std::string::npos) << full.body;
  EXPECT_EQ(http_request(url, "POST", "/api/kill", "s3cret-token").status, 202u);  // never refused
  EXPECT_TRUE(small.kill_flag().load());
  EXPECT_EQ(small.size(), 3u);
  EXPECT_EQ(srv.stats().commands_refused, 1u);
  std::lock_guard lk(mu_);
  ASSERT_EQ(audit_.size(), 4u);
  EXPECT_EQ(audit_[2].status, 503u);
  EXPECT_EQ(audit_[2].outcome, "rejected: command queue full");
}

TEST_F(ApiTest, ShouldCloseConnectionsOverTheLimitAndAcceptAgainOnceOneCloses) {
  ApiServerOptions o = second_server_options();
  o.max_connections = 4;
  ApiServer srv(state_, commands_, std::move(o));
  srv.start();
  const std::string keep_alive = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  std::vector<int> held;
  for (int i = 0; i < 4; ++i) {
    const int fd = connect_to(srv.port());
    ASSERT_GE(fd, 0);
    send_all(fd, keep_alive);
    ASSERT_NE(read_from(fd, 3000, "ok\n").find("200 OK"), std::string::npos) << "connection " << i;
    held.push_back(fd);
  }
  EXPECT_EQ(srv.stats().connections, 4u);
  const int extra = connect_to(srv.port());  // the kernel completes it; the server closes it at once
  ASSERT_GE(extra, 0);
  send_all(extra, keep_alive);
  EXPECT_EQ(read_from(extra, 3000), "");
  ::close(extra);
  EXPECT_GE(srv.stats().connections_refused, 1u);
  ::close(held.back());
  held.pop_back();
  const std::string url = "http://127.0.0.1:" + std::to_string(srv.port());
  ClientResponse again;
  for (int i = 0; i < 100 && again.status != 200; ++i) {
    again = http_request(url, "GET", "/metrics", "");
    if (again.status != 200) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(again.status, 200u) << again.message;
  EXPECT_NE(again.body.find("torq_api_connections_refused_total "), std::string::npos);
  EXPECT_EQ(again.body.find("torq_api_connections_refused_total 0\n"), std::string::npos);
  for (int fd : held) ::close(fd);
}

// Out of file descriptors, accept fails at once every time: the server must wait between tries
// instead of spinning a core, and accept again once descriptors are free. In a child process,
// because RLIMIT_NOFILE is per process.
TEST(ApiServerAccept, ShouldBackOffWhileOutOfDescriptorsAndRecover) {
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    int rc = 0;
    {
      OperatorState st;
      CommandQueue q;
      ApiServerOptions o;
      o.bind = "127.0.0.1";
      o.port = 0;
      o.token = "t";
      ApiServer srv(st, q, std::move(o));
      srv.start();
      const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      const int lowest_free = ::dup(fd);
      ::close(lowest_free);
      rlimit old{};
      ::getrlimit(RLIMIT_NOFILE, &old);
      rlimit tight = old;
      tight.rlim_cur = static_cast<rlim_t>(lowest_free);  // no new descriptor from here on
      ::setrlimit(RLIMIT_NOFILE, &tight);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_port = htons(srv.port());
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      if (::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) ::_exit(10);
      auto cpu_ms = [] {
        rusage u{};
        ::getrusage(RUSAGE_SELF, &u);
        return (u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1000L + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1000L;
      };
      const long before = cpu_ms();
      std::this_thread::sleep_for(std::chrono::seconds(1));
      const long used = cpu_ms() - before;
      if (used > 300) rc = 1;                         // spinning on accept
      else if (srv.stats().accept_errors == 0) rc = 2;
      ::setrlimit(RLIMIT_NOFILE, &old);
      send_all(fd, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
      if (rc == 0 && read_from(fd, 3000).rfind("HTTP/1.1 200", 0) != 0) rc = 3;
      ::close(fd);
    }
    ::_exit(rc);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  const int rc = WEXITSTATUS(status);
  EXPECT_NE(rc, 1) << "the server thread used more than 300 ms of CPU in 1 s while accept failed";
  EXPECT_NE(rc, 2) << "no accept error counted";
  EXPECT_NE(rc, 3) << "no answer once descriptors were free again";
  EXPECT_EQ(rc, 0);
}

TEST(CommandQueue, ShouldRefuseTryPushWhenFullButNeverRefusePush) {
  CommandQueue q(1);
  Command c;
  c.kind = CommandKind::resume;
  EXPECT_EQ(q.try_push(c), 1u);
  EXPECT_EQ(q.try_push(c), 0u);
  c.kind = CommandKind::kill;
  EXPECT_EQ(q.push(c), 2u);
  EXPECT_TRUE(q.kill_flag().load());
  c.kind = CommandKind::resume;
  EXPECT_EQ(q.try_push(c), 0u);
  EXPECT_TRUE(q.kill_flag().load()) << "a refused resume changes nothing";
  EXPECT_EQ(q.size(), 2u);
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

TEST(Json, ShouldWriteInvalidUtf8AsReplacementCharacterAndCutOnCharacterBoundaries) {
  json::Writer w;
  w.str("ok \xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 bad: \xFF \xC3 \xC0\xAF \xED\xA0\x80 \xF4\x90\x80\x80 \x80");
  const std::string out = w.take();
  EXPECT_TRUE(valid_utf8(out)) << out;
  const std::string r = "\xEF\xBF\xBD";  // U+FFFD as UTF-8
  EXPECT_EQ(out, "\"ok \xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 bad: " + r + " " + r + " " + r + r + " " + r + r + r + " " + r + r + r + r +
                     " " + r + "\"");
  EXPECT_TRUE(json::parse(out).has_value());
  // Idempotent: the text read back and written again is the same bytes (fuzz_snapshot's check).
  json::Writer w2;
  w2.str(json::parse(out)->text());
  EXPECT_EQ(w2.take(), out);
  const std::string s = "ab\xE2\x82\xAC";
  EXPECT_EQ(json::utf8_prefix_length(s, 2), 2u);
  EXPECT_EQ(json::utf8_prefix_length(s, 3), 2u);
  EXPECT_EQ(json::utf8_prefix_length(s, 4), 2u);
  EXPECT_EQ(json::utf8_prefix_length(s, 5), 5u);
  EXPECT_EQ(json::utf8_prefix_length(s, 99), 5u);
  EXPECT_EQ(json::utf8_prefix_length("a\xFF\xFF" "b", 3), 3u);  // invalid bytes count one each
}

}  // namespace
