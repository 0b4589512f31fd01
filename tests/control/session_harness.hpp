// Shared harness of the NodeSession integration tests (label `chain`): the anvil fixture
// (chain/fixture.mjs) per test, the market-activity driver, a recording sink, a consumer that
// folds the published frames into pool state (and must equal the chain), and RpcProxy, an
// HTTP/WebSocket-aware loopback proxy in front of anvil that injects provider faults:
// eth_getLogs range caps (-32005), rate limiting (HTTP 429 or JSON-RPC "rate limit"), delayed
// responses (past the client's deadline), garbage bodies, WebSocket garbage frames, refused
// WebSocket upgrades, and cut connections. A fixture started with `--state-file` (set
// `fixture_args_` in the derived fixture's constructor) can restart the node process itself
// (stop_node / start_node). Test-only code: threads, allocation, blocking I/O.
#pragma once

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "torq/control/node_session.hpp"
#include "torq/control/pool_list.hpp"
#include "torq/protocol/frame.hpp"

#include <simdjson.h>

extern char** environ;

namespace torq::control::testing {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

inline const std::string kSrc = std::getenv("TORQ_SOURCE_DIR") ? std::getenv("TORQ_SOURCE_DIR") : ".";

// What RpcProxy does with one HTTP JSON-RPC request.
struct ProxyReply {
  // ForwardThenDrop: the request reaches the node, its answer is discarded and the client's
  // connection closed (a node or load balancer that fails after acting on the call).
  enum class Kind { Forward, Respond, DelayThenForward, ForwardThenDrop } kind = Kind::Forward;
  int status = 200;
  std::string body;  // Respond: the body sent (any bytes)
  int delay_ms = 0;
};

// One HTTP JSON-RPC request as the proxy saw it.
struct ProxyRequest {
  std::chrono::steady_clock::time_point at;
  std::string body;
  std::size_t elements = 0;  // JSON-RPC calls in the body (a batch counts each)
};

// HTTP/1.1 + WebSocket proxy to 127.0.0.1:upstream. One thread per client connection.
class RpcProxy {
 public:
  using Policy = std::function<ProxyReply(const ProxyRequest&)>;

  explicit RpcProxy(int upstream) : upstream_(upstream) {
    lfd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a = loopback(0);
    int one = 1;
    ::setsockopt(lfd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(lfd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(lfd_, 64) != 0) std::abort();
    socklen_t len = sizeof a;
    ::getsockname(lfd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    accept_thread_ = std::thread([this] { accept_loop(); });
  }
  ~RpcProxy() {
    stop_ = true;
    accept_thread_.join();
    cut();
    std::vector<std::thread> ts;
    {
      std::lock_guard l(mu_);
      ts.swap(threads_);
    }
    for (auto& t : ts) t.join();
    ::close(lfd_);
  }
  int port() const { return port_; }
  std::string http_url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::string ws_url() const { return "ws://127.0.0.1:" + std::to_string(port_); }

  void set_policy(Policy p) {
    std::lock_guard l(mu_);
    policy_ = std::move(p);
  }
  // WebSocket upgrades answered with HTTP 429 (a rate-limited provider).
  std::atomic<bool> refuse_ws{false};
  // Number of garbage text frames to inject into open WebSocket streams (server → client).
  std::atomic<int> ws_garbage{0};
  std::atomic<int> ws_garbage_sent{0};
  std::atomic<int> ws_upgrades{0};

  // Closes every open connection (both sides).
  void cut() {
    std::lock_guard l(mu_);
    for (int fd : open_) ::shutdown(fd, SHUT_RDWR);
  }
  std::vector<ProxyRequest> requests() {
    std::lock_guard l(mu_);
    return log_;
  }

  // Helpers for policies.
  static std::string method_of(const std::string& body) {
    const auto p = body.find("\"method\":\"");
    if (p == std::string::npos) return {};
    const auto e = body.find('"', p + 10);
    return body.substr(p + 10, e - p - 10);
  }
  static std::string id_of(const std::string& body) {
    const auto p = body.find("\"id\":");
    if (p == std::string::npos) return "1";
    std::size_t e = p + 5;
    while (e < body.size() && body[e] != ',' && body[e] != '}') ++e;
    return body.substr(p + 5, e - p - 5);
  }
  static std::uint64_t hex_field(const std::string& body, const char* key) {
    const std::string k = std::string("\"") + key + "\":\"0x";
    const auto p = body.find(k);
    if (p == std::string::npos) return 0;
    return std::stoull(body.substr(p + k.size(), body.find('"', p + k.size()) - p - k.size()), nullptr, 16);
  }
  static ProxyReply rpc_error(const ProxyRequest& r, int code, const std::string& msg) {
    return {ProxyReply::Kind::Respond, 200,
            "{\"jsonrpc\":\"2.0\",\"id\":" + id_of(r.body) + ",\"error\":{\"code\":" + std::to_string(code) +
                ",\"message\":\"" + msg + "\"}}",
            0};
  }

 private:
  static sockaddr_in loopback(int port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    return a;
  }
  void track(int fd, bool add) {
    std::lock_guard l(mu_);
    if (add) open_.insert(fd);
    else open_.erase(fd);
  }
  void accept_loop() {
    while (!stop_) {
      pollfd p{lfd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      const int c = ::accept(lfd_, nullptr, nullptr);
      if (c < 0) continue;
      track(c, true);
      std::lock_guard l(mu_);
      threads_.emplace_back([this, c] { serve(c); });
    }
  }
  // Reads until `pred(buf)` or EOF/stop; false on EOF/error.
  bool read_more(int fd, std::string& buf) {
    char tmp[65536];
    while (!stop_) {
      pollfd p{fd, POLLIN, 0};
      const int r = ::poll(&p, 1, 20);
      if (r < 0) return false;
      if (r == 0) continue;
      const ssize_t n = ::recv(fd, tmp, sizeof tmp, 0);
      if (n <= 0) return false;
      buf.append(tmp, static_cast<std::size_t>(n));
      return true;
    }
    return false;
  }
  static bool send_all(int fd, const char* p, std::size_t n) {
    while (n > 0) {
      const ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
      if (w <= 0) return false;
      p += w, n -= static_cast<std::size_t>(w);
    }
    return true;
  }
  static bool send_all(int fd, const std::string& s) { return send_all(fd, s.data(), s.size()); }
  static std::string lower(std::string s) {
    for (auto& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return s;
  }
  static std::size_t content_length(const std::string& head) {
    const auto l = lower(head);
    const auto p = l.find("content-length:");
    return p == std::string::npos ? 0 : std::stoul(l.substr(p + 15));
  }
  // One HTTP message (head + Content-Length body) from fd; buf keeps what follows.
  bool read_message(int fd, std::string& buf, std::string& head, std::string& body) {
    std::size_t e;
    while ((e = buf.find("\r\n\r\n")) == std::string::npos)
      if (!read_more(fd, buf)) return false;
    head = buf.substr(0, e + 4);
    const std::size_t n = content_length(head);
    while (buf.size() < e + 4 + n)
      if (!read_more(fd, buf)) return false;
    body = buf.substr(e + 4, n);
    buf.erase(0, e + 4 + n);
    return true;
  }
  int connect_upstream() {
    const int u = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a = loopback(upstream_);
    if (::connect(u, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ::close(u);
      return -1;
    }
    track(u, true);
    return u;
  }
  void serve(int c) {
    std::string buf, head, body;
    int u = -1;
    std::string ubuf;
    while (!stop_ && read_message(c, buf, head, body)) {
      if (lower(head).find("upgrade: websocket") != std::string::npos) {
        if (refuse_ws) {
          send_all(c, std::string("HTTP/1.1 429 Too Many Requests\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"));
          break;
        }
        if (u < 0 && (u = connect_upstream()) < 0) break;
        ws_upgrades++;
        if (send_all(u, head + body + buf)) pump_ws(c, u);
        break;
      }
      ProxyRequest req{std::chrono::steady_clock::now(), body, 0};
      for (std::size_t p = 0; (p = body.find("\"method\"", p)) != std::string::npos; ++p) ++req.elements;
      Policy policy;
      {
        std::lock_guard l(mu_);
        log_.push_back(req);
        policy = policy_;
      }
      const ProxyReply r = policy ? policy(req) : ProxyReply{};
      if (r.kind == ProxyReply::Kind::Respond) {
        const char* reason = r.status == 200 ? "OK" : r.status == 429 ? "Too Many Requests" : "Error";
        if (!send_all(c, "HTTP/1.1 " + std::to_string(r.status) + " " + reason +
                             "\r\ncontent-type: application/json\r\ncontent-length: " + std::to_string(r.body.size()) +
                             "\r\n\r\n" + r.body))
          break;
        continue;
      }
      if (r.kind == ProxyReply::Kind::DelayThenForward) {
        const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(r.delay_ms);
        while (!stop_ && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(5ms);
      }
      if (u < 0 && (u = connect_upstream()) < 0) break;
      std::string rh, rb;
      if (!send_all(u, head + body) || !read_message(u, ubuf, rh, rb)) break;
      if (r.kind == ProxyReply::Kind::ForwardThenDrop) break;
      if (!send_all(c, rh + rb)) break;
    }
    if (u >= 0) track(u, false), ::close(u);
    track(c, false);
    ::close(c);
  }
  // After the upgrade request: client → upstream raw; upstream → client the 101 head, then
  // whole frames, with garbage text frames injected between frames on request.
  void pump_ws(int c, int u) {
    std::string down;  // upstream bytes not yet forwarded
    bool head_done = false;
    char tmp[65536];
    while (!stop_) {
      pollfd p[2] = {{c, POLLIN, 0}, {u, POLLIN, 0}};
      if (::poll(p, 2, 20) < 0) return;
      if (p[0].revents) {
        const ssize_t n = ::recv(c, tmp, sizeof tmp, 0);
        if (n <= 0 || !send_all(u, tmp, static_cast<std::size_t>(n))) return;
      }
      if (p[1].revents) {
        const ssize_t n = ::recv(u, tmp, sizeof tmp, 0);
        if (n <= 0) return;
        down.append(tmp, static_cast<std::size_t>(n));
      }
      if (!head_done) {
        const auto e = down.find("\r\n\r\n");
        if (e == std::string::npos) continue;
        if (!send_all(c, down.substr(0, e + 4))) return;
        down.erase(0, e + 4);
        head_done = true;
      }
      for (;;) {  // forward complete frames
        if (down.size() < 2) break;
        const auto b1 = static_cast<unsigned char>(down[1]);
        std::size_t hdr = 2, len = b1 & 0x7f;
        if (len == 126) {
          if (down.size() < 4) break;
          len = (static_cast<std::size_t>(static_cast<unsigned char>(down[2])) << 8) | static_cast<unsigned char>(down[3]);
          hdr = 4;
        } else if (len == 127) {
          if (down.size() < 10) break;
          len = 0;
          for (int i = 0; i < 8; ++i) len = (len << 8) | static_cast<unsigned char>(down[2 + static_cast<std::size_t>(i)]);
          hdr = 10;
        }
        if (b1 & 0x80) hdr += 4;
        if (down.size() < hdr + len) break;
        if (!send_all(c, down.data(), hdr + len)) return;
        down.erase(0, hdr + len);
      }
      while (down.empty() && ws_garbage.load() > 0) {  // at a frame boundary
        ws_garbage--;
        static const std::string kGarbage[] = {"{\"jsonrpc\":\"2.0\",\"method\":\"eth_subscription\",\"params\":{\"result\":{\"address\":",
                                               "<html>502 Bad Gateway</html>", "[1,2,{\"x\":}]"};
        const std::string& g = kGarbage[ws_garbage_sent % 3];
        std::string f;
        f += static_cast<char>(0x81);
        f += static_cast<char>(g.size());
        f += g;
        if (!send_all(c, f)) return;
        ws_garbage_sent++;
      }
    }
  }

  int upstream_;
  int lfd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  Policy policy_;
  std::set<int> open_;
  std::vector<ProxyRequest> log_;
  std::vector<std::thread> threads_;
  std::thread accept_thread_;
};

// Records every frame the session publishes (called on the session thread).
struct RecordingSink {
  std::mutex mu;
  std::vector<std::vector<std::byte>> frames;
  bool operator()(std::span<const std::byte> f) {
    std::lock_guard l(mu);
    frames.emplace_back(f.begin(), f.end());
    return true;
  }
};

// A consumer's pool book: snapshots reset a pool, events fold in (a (block, log index) key seen
// twice for a pool without a reset in between is counted in `twice`), ReorgNotices recorded.
struct Consumer {
  std::map<std::uint64_t, ShadowPool> pools;
  std::map<std::uint64_t, std::set<std::pair<std::uint64_t, std::uint32_t>>> applied;
  std::map<std::uint64_t, std::size_t> snapshots_of, events_of;
  std::vector<protocol::ReorgNotice> reorgs;
  std::size_t events = 0, snapshots = 0, heads = 0, twice = 0, bad_frames = 0;
  std::size_t next = 0;
  void fold(RecordingSink& sink) {
    std::lock_guard l(sink.mu);
    for (; next < sink.frames.size(); ++next) {
      const auto r = protocol::parse_frame(sink.frames[next]);
      if (!r.ok()) {
        ++bad_frames;
        continue;
      }
      for (const auto& t : r.view.tlvs()) {
        const auto type = static_cast<protocol::TlvType>(t.type);
        if (auto s = protocol::tlv_as<protocol::PoolStateSnapshot>(t)) {
          apply_snapshot(pools[s->pool], *s);
          applied[s->pool].clear();
          ++snapshots, ++snapshots_of[s->pool];
        } else if (auto n = protocol::tlv_as<protocol::ReorgNotice>(t)) {
          reorgs.push_back(*n);
        } else if (type == protocol::TlvType::BlockHeader) {
          ++heads;
        } else if (t.type >= 1 && t.type <= 19 && t.value.size() >= sizeof(protocol::EventContext)) {
          protocol::EventContext c;
          std::memcpy(&c, t.value.data(), sizeof c);
          if (!applied[c.pool].insert({c.block_number, c.log_index}).second) ++twice;
          apply_event(pools[c.pool], type, t.value);
          ++events, ++events_of[c.pool];
        }
      }
    }
  }
};

// Starts chain/fixture.mjs per test; skips when chain/node_modules is absent.
class ChainFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(kSrc + "/chain/node_modules")) GTEST_SKIP() << "chain/node_modules absent";
    dir_ = fs::temp_directory_path() /
           ("torq-ctl-" + std::to_string(::getpid()) + "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    manifest_ = (dir_ / "manifest.json").string();
    const std::string script = kSrc + "/chain/fixture.mjs";
    // --exit-with-parent: a crashed test leaves no fixture (and anvil) behind.
    std::vector<const char*> argv = {"node", script.c_str(), "--out", manifest_.c_str(), "--exit-with-parent"};
    for (const auto& a : fixture_args_) argv.push_back(a.c_str());
    argv.push_back(nullptr);
    ASSERT_EQ(posix_spawnp(&fixture_pid_, "node", nullptr, nullptr, const_cast<char**>(argv.data()), environ), 0);
    for (int i = 0; i < 1200 && !fs::exists(manifest_); ++i) std::this_thread::sleep_for(100ms);
    ASSERT_TRUE(fs::exists(manifest_));
    std::this_thread::sleep_for(200ms);
    list_ = load_pool_list(manifest_);
    ids_ = register_pools(list_, registry_, protocol::Chain::Polygon);
    port_ = std::stoi(list_.rpc_http.substr(list_.rpc_http.rfind(':') + 1));
  }
  void TearDown() override {
    if (fixture_pid_ > 0) {
      ::kill(fixture_pid_, SIGTERM);
      int st = 0;
      ::waitpid(fixture_pid_, &st, 0);
    }
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }
  void drive(int seconds, int seed, int rate = 25) {
    const std::string cmd = "node " + kSrc + "/chain/driver.mjs --manifest " + manifest_ + " --rate " +
                            std::to_string(rate) + " --duration-s " + std::to_string(seconds) + " --seed " +
                            std::to_string(seed) + " > /dev/null";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
  }
  // Batch mode of the driver: `batch` actions per block (automine off, evm_mine), `actions` in
  // all. Returns the driver's summary line.
  std::string drive_batch(int actions, int batch, int seed) {
    const std::string out = node(kSrc + "/chain/driver.mjs --manifest " + manifest_ + " --batch " + std::to_string(batch) +
                                 " --max-actions " + std::to_string(actions) + " --seed " + std::to_string(seed));
    const auto p = out.rfind("{\"event\":\"summary\"");
    return p == std::string::npos ? std::string{} : out.substr(p, out.find('\n', p) - p);
  }
  // A number field of a one-line JSON object ("key":N), -1 when absent.
  static long long json_number(const std::string& line, const std::string& key) {
    const auto p = line.find("\"" + key + "\":");
    return p == std::string::npos ? -1 : std::atoll(line.c_str() + p + key.size() + 3);
  }
  // anvil's pid as the manifest states it (rewritten by the fixture after a node restart).
  long long anvil_pid() const {
    simdjson::dom::parser p;
    simdjson::dom::element doc;
    std::int64_t pid = -1;
    if (p.load(manifest_).get(doc) || doc["anvil"]["pid"].get(pid)) return -1;
    return pid;
  }
  bool port_open() const {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<std::uint16_t>(port_));
    const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(fd);
    return ok;
  }
  // Node restart (fixture started with --state-file): SIGUSR1 makes the fixture stop anvil with
  // SIGTERM (anvil dumps its chain to the state file); true once the port refuses connections.
  bool stop_node(int max_ms = 10000) {
    ::kill(fixture_pid_, SIGUSR1);
    for (int i = 0; i < max_ms / 20; ++i) {
      if (!port_open()) return true;
      std::this_thread::sleep_for(20ms);
    }
    return false;
  }
  // SIGUSR2: the fixture starts anvil again on the same port with --load-state; true once it
  // answers eth_blockNumber and the manifest names the new process.
  bool start_node(long long old_pid, int max_ms = 30000) {
    ::kill(fixture_pid_, SIGUSR2);
    for (int i = 0; i < max_ms / 50; ++i) {
      if (port_open()) {
        ChainClient c({direct()});
        if (c.block_number().ok() && anvil_pid() > 0 && anvil_pid() != old_pid) return true;
      }
      std::this_thread::sleep_for(50ms);
    }
    return false;
  }
  // Runs a node script and returns its stdout.
  std::string node(const std::string& args) {
    const std::string cmd = "node " + args;
    std::string out;
    if (FILE* f = ::popen(cmd.c_str(), "r")) {
      char b[4096];
      std::size_t n;
      while ((n = std::fread(b, 1, sizeof b, f)) > 0) out.append(b, n);
      EXPECT_EQ(::pclose(f), 0) << cmd;
    }
    return out;
  }
  static EndpointConfig endpoint(const std::string& http, const std::string& ws, int priority = 0) {
    EndpointConfig e;
    e.http = http;
    e.ws = ws;
    e.priority = priority;
    return e;
  }
  EndpointConfig direct(int priority = 0) const {
    return endpoint("http://127.0.0.1:" + std::to_string(port_), "ws://127.0.0.1:" + std::to_string(port_), priority);
  }
  static NodeSessionConfig config(std::vector<EndpointConfig> eps) {
    NodeSessionConfig c;
    c.endpoints = std::move(eps);
    c.use_finalized_tag = false;
    c.reconnect_backoff = {50, 500, 2.0, 0.5};
    c.rpc.timeout = 2000ms;
    return c;
  }
  // The manifest's factories (venues[].factory).
  std::vector<FactoryConfig> factories() const {
    std::vector<FactoryConfig> out;
    simdjson::dom::parser p;
    simdjson::dom::element doc;
    EXPECT_EQ(p.load(manifest_).get(doc), simdjson::SUCCESS);
    simdjson::dom::array venues;
    EXPECT_EQ(doc["venues"].get(venues), simdjson::SUCCESS);
    for (simdjson::dom::element v : venues) {
      std::string_view name, factory;
      if (v["name"].get(name) || v["factory"].get(factory)) continue;
      FactoryConfig f;
      f.venue = venue_from_config_name(name);
      f.address = protocol::parse_address(factory).value_or(protocol::Address{});
      f.from_block = list_.deploy_block;
      out.push_back(f);
    }
    return out;
  }
  template <class Session>
  bool wait_caught_up(Session& s, ChainClient& chain, int max_ms = 15000) {
    const std::uint64_t h = chain.block_number().value;
    bool ok = false;
    for (int i = 0; i < max_ms / 50; ++i) {
      if (s.counters().last_block.load() >= h && s.state() == SessionState::Streaming) {
        ok = true;
        break;
      }
      std::this_thread::sleep_for(50ms);
    }
    std::this_thread::sleep_for(600ms);  // trailing logs of the last block
    if (!ok) {
      const auto& c = s.counters();
      std::printf("not caught up: head=%lu last_block=%lu state=%d reconnects=%lu connect_failures=%lu transport=%lu "
                  "rpc=%lu timeouts=%lu parse=%lu decode=%lu backfills=%lu\n",
                  h, c.last_block.load(), static_cast<int>(s.state()), c.reconnects.load(), c.connect_failures.load(),
                  c.transport_errors.load(), c.rpc_errors.load(), c.timeouts.load(), c.parse_errors.load(),
                  c.decode_errors.load(), c.backfills_completed.load());
    }
    return ok;
  }
  // The consumer's state equals the chain at the head for every pool in `ids` (registered in `reg`).
  void expect_equals_chain(Consumer& c, ChainClient& chain, const protocol::InstrumentRegistry& reg,
                           const std::vector<protocol::InstrumentId>& ids) {
    const std::uint64_t h = chain.block_number().value;
    auto snaps = snapshot_pools(chain, reg, ids, h, 0);
    ASSERT_TRUE(snaps.ok()) << snaps.error.message;
    ASSERT_EQ(snaps.value.size(), ids.size());
    for (const auto& s : snaps.value)
      EXPECT_TRUE(matches(c.pools[s.state.pool], s.state))
          << "pool " << std::hex << s.state.pool << " at block " << std::dec << h;
  }
  void expect_equals_chain(Consumer& c, ChainClient& chain) { expect_equals_chain(c, chain, registry_, ids_); }

  fs::path dir_;
  std::string manifest_;
  std::vector<std::string> fixture_args_;  // extra chain/fixture.mjs arguments
  pid_t fixture_pid_ = -1;
  PoolList list_;
  protocol::InstrumentRegistry registry_;
  std::vector<protocol::InstrumentId> ids_;
  int port_ = 0;
};

}  // namespace torq::control::testing
