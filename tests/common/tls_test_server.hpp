// tests/common/tls_test_server.hpp — a real TLS server for the TLS client tests: certificates made
// with the `openssl` tool and `openssl s_server -www` on a free loopback port (ready() false when
// the tool is absent: the tests skip). Two certificate kinds: self-signed for CN=127.0.0.1 (no
// authority vouches for it), or a test CA plus a server certificate for DNS:localhost signed by it
// (trusted once ca() is given to the client, e.g. through SSL_CERT_FILE).
// Header-only test code; not thread-safe; spawns a process and writes a temporary directory.
#pragma once

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
#include <fstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace torq::testing {

// A TCP port on loopback that was free a moment ago (bound and released), -1 on failure.
inline int free_tcp_port() {
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

// True when something accepts TCP connections on loopback:port.
inline bool tcp_accepts(int port) {
  const int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = ::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(s);
  return ok;
}

inline bool quiet_shell(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()) == 0; }

enum class TlsCert {
  self_signed_ip,       // self-signed, CN=127.0.0.1
  ca_signed_localhost,  // test CA (ca()) + server certificate for DNS:localhost
};

class OpenSslServer {
 public:
  explicit OpenSslServer(TlsCert kind) {
    if (!quiet_shell("command -v openssl")) return;
    dir_ = std::filesystem::temp_directory_path() /
           ("torq-tls-" + std::to_string(::getpid()) + "-" + std::to_string(static_cast<int>(kind)));
    std::filesystem::create_directories(dir_);
    const std::string d = dir_.string();
    bool made = false;
    if (kind == TlsCert::self_signed_ip) {
      made = quiet_shell("openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 -keyout " + d + "/srv.key -out " + d +
                         "/srv.pem");
    } else {
      std::ofstream(dir_ / "san.ext") << "subjectAltName=DNS:localhost\n";
      made = quiet_shell("openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=torq-test-ca -keyout " + d + "/ca.key -out " + d +
                         "/ca.pem") &&
             quiet_shell("openssl req -newkey rsa:2048 -nodes -subj /CN=localhost -keyout " + d + "/srv.key -out " + d + "/srv.csr") &&
             quiet_shell("openssl x509 -req -in " + d + "/srv.csr -CA " + d + "/ca.pem -CAkey " + d +
                         "/ca.key -CAcreateserial -days 1 -out " + d + "/srv.pem -extfile " + d + "/san.ext");
    }
    if (!made) return;
    port_ = free_tcp_port();
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
    for (int i = 0; i < 100 && !tcp_accepts(port_); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ready_ = tcp_accepts(port_);
  }
  ~OpenSslServer() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int st = 0;
      (void)::waitpid(pid_, &st, 0);
    }
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  }
  OpenSslServer(const OpenSslServer&) = delete;
  OpenSslServer& operator=(const OpenSslServer&) = delete;

  [[nodiscard]] bool ready() const { return ready_; }
  [[nodiscard]] int port() const { return port_; }
  [[nodiscard]] std::string ca() const { return (dir_ / "ca.pem").string(); }  // ca_signed_localhost only
  [[nodiscard]] std::string dir() const { return dir_.string(); }              // srv.pem, srv.key (+ ca.*)

 private:
  std::filesystem::path dir_;
  int port_ = -1;
  pid_t pid_ = -1;
  bool ready_ = false;
};

}  // namespace torq::testing
