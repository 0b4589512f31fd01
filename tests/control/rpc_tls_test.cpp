// RpcClient transport security: a remote endpoint over plain HTTP/WS is refused before any
// connection is made, and TLS verifies the server's certificate (a self-signed certificate that
// no system CA vouches for fails the handshake, over HTTPS and over WSS). The server is a real
// TLS server (`openssl s_server`, skipped when the openssl tool is absent) on a loopback port.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "torq/control/rpc_client.hpp"

extern char** environ;

namespace {

namespace fs = std::filesystem;
using torq::control::parse_endpoint;
using torq::control::RpcClient;
using torq::control::RpcStatus;

int free_port() {
  const int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ::close(s);
    return -1;
  }
  ::close(s);
  return ntohs(a.sin_port);
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

// A self-signed certificate for 127.0.0.1 and `openssl s_server` serving it.
class SelfSignedServer {
 public:
  SelfSignedServer() {
    if (std::system("command -v openssl >/dev/null 2>&1") != 0) return;
    dir_ = fs::temp_directory_path() / ("torq-tls-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    const std::string key = (dir_ / "key.pem").string(), cert = (dir_ / "cert.pem").string();
    const std::string gen = "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 -keyout " + key + " -out " +
                            cert + " >/dev/null 2>&1";
    if (std::system(gen.c_str()) != 0) return;
    port_ = free_port();
    if (port_ <= 0) return;
    std::vector<std::string> args = {"openssl", "s_server", "-quiet", "-www", "-accept", std::to_string(port_), "-cert", cert, "-key", key};
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
  ~SelfSignedServer() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int st = 0;
      (void)::waitpid(pid_, &st, 0);
    }
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }
  [[nodiscard]] bool ready() const { return ready_; }
  [[nodiscard]] int port() const { return port_; }

 private:
  fs::path dir_;
  int port_ = -1;
  pid_t pid_ = -1;
  bool ready_ = false;
};

constexpr const char* kBody = R"({"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]})";

}  // namespace

TEST(RpcTransportSecurity, ShouldRefusePlainHttpAndWsToARemoteHostWithoutConnecting) {
  for (const char* url : {"http://192.0.2.10:8545", "ws://192.0.2.10:8546"}) {
    const auto ep = parse_endpoint(url);
    ASSERT_TRUE(ep.has_value()) << url;
    RpcClient c(*ep);
    std::string out;
    const RpcStatus st = std::string(url).starts_with("ws") ? c.ws_connect() : c.post(kBody, out);
    EXPECT_EQ(st, RpcStatus::Refused) << url << ": " << c.last_error();
    EXPECT_NE(c.last_error().find("not allowed"), std::string::npos) << c.last_error();
  }
}

TEST(RpcTransportSecurity, ShouldFailTheTlsHandshakeWhenTheCertificateIsNotTrusted) {
  SelfSignedServer server;
  if (!server.ready()) GTEST_SKIP() << "openssl tool or loopback TLS server unavailable";
  for (const std::string scheme : {"https", "wss"}) {
    const auto ep = parse_endpoint(scheme + "://127.0.0.1:" + std::to_string(server.port()));
    ASSERT_TRUE(ep.has_value());
    RpcClient c(*ep);
    std::string out;
    const RpcStatus st = scheme == "wss" ? c.ws_connect() : c.post(kBody, out);
    EXPECT_EQ(st, RpcStatus::TlsFailed) << scheme << ": " << to_string(st) << " " << c.last_error();
    EXPECT_NE(c.last_error().find("certificate verify failed"), std::string::npos) << c.last_error();
    EXPECT_TRUE(out.empty());
  }
}
