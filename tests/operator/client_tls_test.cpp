// ops::http_request over https:// (the alert webhook's path to Slack/PagerDuty-style endpoints):
// a real TLS server (`openssl s_server -www`, skipped when the openssl tool is absent) with a
// certificate for "localhost" signed by a test CA. Untrusted: the handshake fails
// (ClientError::tls, "certificate verify failed"); with the CA trusted through SSL_CERT_FILE: the
// request is answered; trusted but addressed by a name the certificate does not carry: refused.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <thread>

#include <utility>  // std::exchange, used by Boost 1.74 asio headers

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "../common/tls_test_server.hpp"
#include "torq/ops/client.hpp"

namespace {

using torq::ops::ClientError;
using torq::ops::http_request;

// SSL_CERT_FILE set for the scope (OpenSSL's default verify paths read it), then restored.
struct TrustOnly {
  explicit TrustOnly(const std::string& file) {
    if (const char* v = std::getenv("SSL_CERT_FILE")) saved = v, had = true;
    ::setenv("SSL_CERT_FILE", file.c_str(), 1);
  }
  ~TrustOnly() {
    if (had) ::setenv("SSL_CERT_FILE", saved.c_str(), 1);
    else ::unsetenv("SSL_CERT_FILE");
  }
  std::string saved;
  bool had = false;
};

TEST(HttpsClient, ShouldRefuseACertificateNoTrustedAuthoritySigned) {
  torq::testing::OpenSslServer srv(torq::testing::TlsCert::ca_signed_localhost);
  if (!srv.ready()) GTEST_SKIP() << "openssl s_server unavailable";
  const auto r = http_request("https://localhost:" + std::to_string(srv.port()), "GET", "/", "");
  EXPECT_EQ(r.error, ClientError::tls) << r.message;
  EXPECT_NE(r.message.find("certificate verify failed"), std::string::npos) << r.message;
  EXPECT_EQ(r.status, 0u);
}

TEST(HttpsClient, ShouldTalkToAServerWhoseCertificateIsTrustedAndNamesTheHost) {
  torq::testing::OpenSslServer srv(torq::testing::TlsCert::ca_signed_localhost);
  if (!srv.ready()) GTEST_SKIP() << "openssl s_server unavailable";
  TrustOnly trust(srv.ca());
  const auto r = http_request("https://localhost:" + std::to_string(srv.port()) + "/hook", "GET", "/", "");
  ASSERT_EQ(r.error, ClientError::none) << r.message;
  EXPECT_EQ(r.status, 200u);
  EXPECT_NE(r.body.find("s_server"), std::string::npos) << "the -www status page: " << r.body.substr(0, 200);
}

TEST(HttpsClient, ShouldRefuseATrustedCertificateThatDoesNotNameTheHost) {
  torq::testing::OpenSslServer srv(torq::testing::TlsCert::ca_signed_localhost);
  if (!srv.ready()) GTEST_SKIP() << "openssl s_server unavailable";
  TrustOnly trust(srv.ca());
  const auto r = http_request("https://127.0.0.1:" + std::to_string(srv.port()), "GET", "/", "");
  EXPECT_EQ(r.error, ClientError::tls) << r.message;
}

// A one-request HTTPS server (Beast, TLS with the test certificate) that keeps what it was sent:
// `openssl s_server -www` answers GET only, and a webhook POSTs.
class OneShotHttps {
 public:
  OneShotHttps(const std::string& cert, const std::string& key) {
    namespace asio = boost::asio;
    ctx_.use_certificate_chain_file(cert);
    ctx_.use_private_key_file(key, asio::ssl::context::pem);
    acceptor_.open(asio::ip::tcp::v4());
    acceptor_.bind({asio::ip::make_address("127.0.0.1"), 0});
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this] {
      namespace beast = boost::beast;
      namespace http = beast::http;
      beast::error_code ec;
      asio::ip::tcp::socket sock(ioc_);
      acceptor_.accept(sock, ec);
      if (ec) return;
      beast::ssl_stream<asio::ip::tcp::socket&> s(sock, ctx_);
      s.handshake(asio::ssl::stream_base::server, ec);
      if (ec) return;
      beast::flat_buffer buf;
      http::request<http::string_body> req;
      http::read(s, buf, req, ec);
      if (ec) return;
      method_ = std::string(req.method_string());
      target_ = std::string(req.target());
      body_ = req.body();
      http::response<http::string_body> res{http::status::ok, 11};
      res.set(http::field::content_type, "application/json");
      res.body() = "{\"ok\":true}";
      res.prepare_payload();
      http::write(s, res, ec);
      s.shutdown(ec);
    });
  }
  ~OneShotHttps() {
    boost::system::error_code ec;
    acceptor_.close(ec);
    if (thread_.joinable()) thread_.join();
  }
  OneShotHttps(const OneShotHttps&) = delete;
  OneShotHttps& operator=(const OneShotHttps&) = delete;
  [[nodiscard]] int port() const { return port_; }
  void wait() {
    if (thread_.joinable()) thread_.join();
  }
  std::string method_, target_, body_;

 private:
  boost::asio::io_context ioc_;
  boost::asio::ssl::context ctx_{boost::asio::ssl::context::tls_server};
  boost::asio::ip::tcp::acceptor acceptor_{ioc_};
  int port_ = 0;
  std::thread thread_;
};

TEST(HttpsClient, ShouldPostAWebhookBodyOverVerifiedTls) {
  torq::testing::OpenSslServer certs(torq::testing::TlsCert::ca_signed_localhost);  // the CA and the localhost certificate (its s_server is not used here)
  if (!certs.ready()) GTEST_SKIP() << "openssl unavailable";
  OneShotHttps hook(certs.dir() + "/srv.pem", certs.dir() + "/srv.key");
  TrustOnly trust(certs.ca());
  const auto r = http_request("https://localhost:" + std::to_string(hook.port()), "POST", "/services/T0/B1/secret",
                              "", R"({"alert":"breaker_tripped"})");
  hook.wait();
  ASSERT_EQ(r.error, ClientError::none) << r.message;
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(hook.method_, "POST");
  EXPECT_EQ(hook.target_, "/services/T0/B1/secret");
  EXPECT_EQ(hook.body_, R"({"alert":"breaker_tripped"})");
}

TEST(HttpsClient, ShouldRejectOtherSchemes) {
  const auto r = http_request("ftp://localhost:21", "GET", "/", "");
  EXPECT_EQ(r.error, ClientError::bad_url);
}

}  // namespace
