// ops::http_request over https:// (the alert webhook's path to Slack/PagerDuty-style endpoints):
// a real TLS server (`openssl s_server -www`, skipped when the openssl tool is absent) with a
// certificate for "localhost" signed by a test CA. Untrusted: the handshake fails
// (ClientError::tls, "certificate verify failed"); with the CA trusted through SSL_CERT_FILE: the
// request is answered; trusted but addressed by a name the certificate does not carry: refused.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <utility>  // std::exchange, used by Boost 1.74 asio headers

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "torq/ops/client.hpp"

extern char** environ;

namespace {

namespace fs = std::filesystem;
using torq::ops::ClientError;
using torq::ops::http_request;

int free_port() {
  const int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  const bool ok = ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
                  ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len) == 0;
  ::close(s);
  return ok ? ntohs(a.sin_port) : -1;
}

bool accepts(int port) {
  const int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = ::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(s);
  return ok;
}

bool sh(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()) == 0; }

// A test CA, a server certificate for DNS:localhost signed by it, and `openssl s_server` serving it.
class TlsServer {
 public:
  TlsServer() {
    if (!sh("command -v openssl")) return;
    dir_ = fs::temp_directory_path() / ("torq-client-tls-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    const std::string d = dir_.string();
    std::ofstream(dir_ / "san.ext") << "subjectAltName=DNS:localhost\n";
    const bool made =
        sh("openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=torq-test-ca -keyout " + d + "/ca.key -out " + d + "/ca.pem") &&
        sh("openssl req -newkey rsa:2048 -nodes -subj /CN=localhost -keyout " + d + "/srv.key -out " + d + "/srv.csr") &&
        sh("openssl x509 -req -in " + d + "/srv.csr -CA " + d + "/ca.pem -CAkey " + d + "/ca.key -CAcreateserial -days 1 -out " + d +
           "/srv.pem -extfile " + d + "/san.ext");
    if (!made) return;
    port_ = free_port();
    if (port_ <= 0) return;
    std::vector<std::string> args = {"openssl", "s_server", "-quiet", "-www", "-accept", std::to_string(port_),
                                     "-cert", d + "/srv.pem", "-key", d + "/srv.key"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    if (::posix_spawnp(&pid_, "openssl", nullptr, nullptr, argv.data(), environ) != 0) {
      pid_ = -1;
      return;
    }
    for (int i = 0; i < 100 && !accepts(port_); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ready_ = accepts(port_);
  }
  ~TlsServer() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int st = 0;
      (void)::waitpid(pid_, &st, 0);
    }
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }
  TlsServer(const TlsServer&) = delete;
  TlsServer& operator=(const TlsServer&) = delete;
  [[nodiscard]] bool ready() const { return ready_; }
  [[nodiscard]] int port() const { return port_; }
  [[nodiscard]] std::string ca() const { return (dir_ / "ca.pem").string(); }
  [[nodiscard]] std::string dir() const { return dir_.string(); }

 private:
  fs::path dir_;
  int port_ = -1;
  pid_t pid_ = -1;
  bool ready_ = false;
};

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
  TlsServer srv;
  if (!srv.ready()) GTEST_SKIP() << "openssl s_server unavailable";
  const auto r = http_request("https://localhost:" + std::to_string(srv.port()), "GET", "/", "");
  EXPECT_EQ(r.error, ClientError::tls) << r.message;
  EXPECT_NE(r.message.find("certificate verify failed"), std::string::npos) << r.message;
  EXPECT_EQ(r.status, 0u);
}

TEST(HttpsClient, ShouldTalkToAServerWhoseCertificateIsTrustedAndNamesTheHost) {
  TlsServer srv;
  if (!srv.ready()) GTEST_SKIP() << "openssl s_server unavailable";
  TrustOnly trust(srv.ca());
  const auto r = http_request("https://localhost:" + std::to_string(srv.port()) + "/hook", "GET", "/", "");
  ASSERT_EQ(r.error, ClientError::none) << r.message;
  EXPECT_EQ(r.status, 200u);
  EXPECT_NE(r.body.find("s_server"), std::string::npos) << "the -www status page: " << r.body.substr(0, 200);
}

TEST(HttpsClient, ShouldRefuseATrustedCertificateThatDoesNotNameTheHost) {
  TlsServer srv;
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
  TlsServer certs;  // the CA and the localhost certificate (its s_server is not used here)
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
