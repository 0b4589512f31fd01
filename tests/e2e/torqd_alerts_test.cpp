// torqd's alert rules (torq/torqd/alerts.hpp): each rule fires once when its threshold is crossed
// and resolves once when it clears; disabled rules never fire; the notifier logs one JSON line per
// transition and POSTs the same JSON to the webhook (a loopback HTTP server in this test), and
// counts a webhook that is down as a failed post instead of blocking.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <thread>

#include "../common/tls_test_server.hpp"
#include "torq/torqd/alerts.hpp"

using namespace torq;
using namespace torq::torqd;

namespace {

constexpr std::int64_t kS = 1'000'000'000;

AlertInputs healthy() {
  AlertInputs in;
  in.started_unix_ns = 1000 * kS;
  in.now_unix_ns = 1010 * kS;
  in.last_event_unix_ns = 1009 * kS;
  in.head_block = 100;
  in.local_block = 100;
  return in;
}

// A one-shot HTTP server on 127.0.0.1: accepts `n` requests, answers 200, keeps the bodies.
class WebhookServer {
 public:
  explicit WebhookServer(int n) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(::listen(fd_, 8), 0);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this, n] {
      for (int i = 0; i < n; ++i) {
        const int c = ::accept(fd_, nullptr, nullptr);
        if (c < 0) return;
        std::string req;
        char buf[4096];
        for (;;) {
          const auto hdr_end = req.find("\r\n\r\n");
          if (hdr_end != std::string::npos) {
            const auto cl = req.find("Content-Length: ");
            const std::size_t want = cl == std::string::npos ? 0 : std::stoul(req.substr(cl + 16));
            if (req.size() >= hdr_end + 4 + want) break;
          }
          const ssize_t r = ::recv(c, buf, sizeof buf, 0);
          if (r <= 0) break;
          req.append(buf, static_cast<std::size_t>(r));
        }
        requests.push_back(req);
        const std::string ok = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
        (void)::send(c, ok.data(), ok.size(), 0);
        ::close(c);
      }
    });
  }
  ~WebhookServer() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    if (thread_.joinable()) thread_.join();
  }
  [[nodiscard]] int port() const { return port_; }
  std::vector<std::string> requests;

 private:
  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
};

}  // namespace

TEST(TorqdAlerts, ShouldFireOnceAndResolveOnceWhenBlockLagCrossesTheThreshold) {
  ops::AlertsConfig cfg;
  cfg.block_lag_blocks = 5;
  AlertChecker c(cfg);
  AlertInputs in = healthy();
  EXPECT_TRUE(c.evaluate(in).empty());
  in.head_block = 105;  // lag 5: not above the threshold
  EXPECT_TRUE(c.evaluate(in).empty());
  in.head_block = 106;  // lag 6
  auto a = c.evaluate(in);
  ASSERT_EQ(a.size(), 1U);
  EXPECT_EQ(a[0].rule, "block_lag");
  EXPECT_TRUE(a[0].firing);
  EXPECT_NE(a[0].message.find("lag 6"), std::string::npos) << a[0].message;
  EXPECT_TRUE(c.evaluate(in).empty()) << "a firing alert is reported once, not every evaluation";
  EXPECT_TRUE(c.firing("block_lag"));
  in.local_block = 106;
  a = c.evaluate(in);
  ASSERT_EQ(a.size(), 1U);
  EXPECT_FALSE(a[0].firing);
  EXPECT_FALSE(c.firing("block_lag"));
}

TEST(TorqdAlerts, ShouldFireNoEventsAfterASilenceLongerThanTheThreshold) {
  ops::AlertsConfig cfg;
  cfg.no_events_s = 30;
  AlertChecker c(cfg);
  AlertInputs in = healthy();
  in.now_unix_ns = in.last_event_unix_ns + 30 * kS;  // exactly 30 s: not yet
  EXPECT_TRUE(c.evaluate(in).empty());
  in.now_unix_ns = in.last_event_unix_ns + 31 * kS;
  auto a = c.evaluate(in);
  ASSERT_EQ(a.size(), 1U);
  EXPECT_EQ(a[0].rule, "no_events");
  // No event at all yet: measured from the start.
  AlertChecker fresh(cfg);
  AlertInputs none = healthy();
  none.last_event_unix_ns = 0;
  none.now_unix_ns = none.started_unix_ns + 31 * kS;
  a = fresh.evaluate(none);
  ASSERT_EQ(a.size(), 1U);
  EXPECT_EQ(a[0].rule, "no_events");
}

TEST(TorqdAlerts, ShouldFireBreakerAndDrawdownOnlyWhenEnabled) {
  ops::AlertsConfig off;
  off.breaker_tripped = false;
  off.drawdown_usd = num::UsdFixedPoint8{0};
  AlertChecker c_off(off);
  AlertInputs in = healthy();
  in.breaker_open = true;
  in.drawdown = num::UsdFixedPoint8{500 * num::UsdFixedPoint8::kScale};
  EXPECT_TRUE(c_off.evaluate(in).empty());

  ops::AlertsConfig on;
  on.breaker_tripped = true;
  on.drawdown_usd = num::UsdFixedPoint8{500 * num::UsdFixedPoint8::kScale};
  AlertChecker c_on(on);
  const auto a = c_on.evaluate(in);
  ASSERT_EQ(a.size(), 2U);
  EXPECT_TRUE(c_on.firing("breaker"));
  EXPECT_TRUE(c_on.firing("drawdown"));
  in.drawdown = num::UsdFixedPoint8{499 * num::UsdFixedPoint8::kScale};
  in.breaker_open = false;
  EXPECT_EQ(c_on.evaluate(in).size(), 2U);  // both resolved
  EXPECT_FALSE(c_on.firing("drawdown"));
}

TEST(TorqdAlerts, ShouldFireRingFillAtTheThresholdNamingTheRingAndResolveBelowIt) {
  ops::AlertsConfig cfg;
  cfg.ring_fill_pct = 80;
  AlertChecker c(cfg);
  AlertInputs in = healthy();
  in.ring_fill_pct = 79;
  in.fullest_ring = "signals";
  EXPECT_TRUE(c.evaluate(in).empty());
  in.ring_fill_pct = 80;
  const auto fired = c.evaluate(in);
  ASSERT_EQ(fired.size(), 1U);
  EXPECT_EQ(fired[0].rule, "ring_fill");
  EXPECT_TRUE(fired[0].firing);
  EXPECT_NE(fired[0].message.find("signals"), std::string::npos) << fired[0].message;
  EXPECT_TRUE(c.evaluate(in).empty());  // still firing: no new transition
  in.ring_fill_pct = 10;
  const auto resolved = c.evaluate(in);
  ASSERT_EQ(resolved.size(), 1U);
  EXPECT_FALSE(resolved[0].firing);

  cfg.ring_fill_pct = 0;  // disabled
  AlertChecker off(cfg);
  in.ring_fill_pct = 100;
  EXPECT_TRUE(off.evaluate(in).empty());
}

TEST(TorqdAlerts, ShouldLogAndPostTheAlertJsonToTheWebhook) {
  WebhookServer server(2);
  std::FILE* log = std::tmpfile();
  ASSERT_NE(log, nullptr);
  {
    AlertNotifier n(log);
    const std::string url = "http://127.0.0.1:" + std::to_string(server.port()) + "/hooks/torq";
    n.notify(Alert{"drawdown", true, 42, "drawdown 600 USD >= 500 USD"}, url);
    n.notify(Alert{"drawdown", false, 43, "drawdown cleared"}, url);
    ASSERT_TRUE(n.flush(std::chrono::milliseconds(5000)));
    const NotifierStats st = n.stats();
    EXPECT_EQ(st.logged, 2U);
    EXPECT_EQ(st.posted, 2U);
    EXPECT_EQ(st.post_failed, 0U);
  }
  ASSERT_EQ(server.requests.size(), 2U);
  EXPECT_EQ(server.requests[0].rfind("POST /hooks/torq HTTP/1.1", 0), 0U) << server.requests[0];
  EXPECT_NE(server.requests[0].find(R"({"event":"alert","rule":"drawdown","state":"firing","t_unix_ns":42)"), std::string::npos)
      << server.requests[0];
  EXPECT_NE(server.requests[1].find(R"("state":"resolved")"), std::string::npos);
  std::rewind(log);
  char buf[1024] = {};
  const std::size_t n = std::fread(buf, 1, sizeof buf - 1, log);
  const std::string text(buf, n);
  EXPECT_NE(text.find(R"("rule":"drawdown","state":"firing")"), std::string::npos) << text;
  std::fclose(log);
}

TEST(TorqdAlerts, ShouldCountAFailedPostWhenTheWebhookIsDown) {
  // A port with nothing listening.
  const int port = torq::testing::free_tcp_port();
  ASSERT_GT(port, 0);
  AlertNotifier n(nullptr);
  n.notify(Alert{"breaker", true, 1, "open"}, "http://127.0.0.1:" + std::to_string(port) + "/x");
  ASSERT_TRUE(n.flush(std::chrono::milliseconds(5000)));
  EXPECT_EQ(n.stats().post_failed, 1U);
  EXPECT_EQ(n.stats().posted, 0U);
}

// docs/operator.md: of the webhook URL only scheme://host:port is ever logged — user:password@
// and the path (Slack-style hooks keep their secret there) stay out of the journal.
TEST(TorqdAlerts, ShouldLogOnlySchemeHostAndPortOfAFailedWebhook) {
  const int port = torq::testing::free_tcp_port();  // nothing listening
  ASSERT_GT(port, 0);
  const std::string hostport = "127.0.0.1:" + std::to_string(port);
  std::FILE* log = std::tmpfile();
  ASSERT_NE(log, nullptr);
  {
    AlertNotifier n(log);
    n.notify(Alert{"breaker", true, 1, "open"}, "http://hookuser:UserInfoSecret@" + hostport + "/services/PathSecret");
    n.notify(Alert{"breaker", false, 2, "closed"}, "http://" + hostport + "?key=QuerySecret");
    ASSERT_TRUE(n.flush(std::chrono::milliseconds(5000)));
    EXPECT_EQ(n.stats().post_failed, 2U);
  }
  std::rewind(log);
  char buf[4096] = {};
  const std::string text(buf, std::fread(buf, 1, sizeof buf - 1, log));
  std::fclose(log);
  EXPECT_NE(text.find("alert webhook http://" + hostport + " failed"), std::string::npos) << text;
  for (const char* secret : {"hookuser", "UserInfoSecret", "PathSecret", "QuerySecret"})
    EXPECT_EQ(text.find(secret), std::string::npos) << secret << " in: " << text;
}

// A webhook URL with a query and no path ("https://host?key=…") is posted with that query.
TEST(TorqdAlerts, ShouldPostTheQueryOfAWebhookUrlWithoutAPath) {
  WebhookServer server(1);
  {
    AlertNotifier n(nullptr);
    n.notify(Alert{"breaker", true, 1, "open"}, "http://127.0.0.1:" + std::to_string(server.port()) + "?key=k1");
    ASSERT_TRUE(n.flush(std::chrono::milliseconds(5000)));
    EXPECT_EQ(n.stats().posted, 1U);
  }
  ASSERT_EQ(server.requests.size(), 1U);
  EXPECT_EQ(server.requests[0].rfind("POST /?key=k1 HTTP/1.1", 0), 0U) << server.requests[0];
}
