// Integration (label `chain`): NodeSession against the real anvil fixture + driver. The frames
// the session publishes (snapshots, events, reorg notices) are folded into pool state by a test
// consumer, which must equal getReserves/slot0/liquidity read at the same block; a loopback TCP
// proxy between session and anvil cuts the WebSocket (reconnect + backfill, no event twice);
// anvil_reorg produces a ReorgNotice with the right ancestor; the first endpoint is a closed
// port (failover). Skips when chain/node_modules is absent.
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
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "torq/control/node_session.hpp"
#include "torq/control/pool_list.hpp"
#include "torq/protocol/frame.hpp"

extern char** environ;
using namespace torq;
using namespace torq::control;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

const std::string kSrc = std::getenv("TORQ_SOURCE_DIR") ? std::getenv("TORQ_SOURCE_DIR") : ".";

// Loopback TCP proxy: forwards to 127.0.0.1:upstream; cut() closes every open connection.
class TcpProxy {
 public:
  explicit TcpProxy(int upstream) : upstream_(upstream) {
    lfd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    ::setsockopt(lfd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    ::bind(lfd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(lfd_, 16);
    socklen_t len = sizeof a;
    ::getsockname(lfd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { loop(); });
  }
  ~TcpProxy() {
    stop_ = true;
    thread_.join();
    cut();
    ::close(lfd_);
  }
  int port() const { return port_; }
  void cut() {
    std::lock_guard l(mu_);
    for (auto [a, b] : pairs_) ::shutdown(a, SHUT_RDWR), ::shutdown(b, SHUT_RDWR);
    cuts_++;
  }
  int cuts_ = 0;

 private:
  void loop() {
    std::vector<pollfd> fds;
    std::map<int, int> peer;
    std::vector<char> buf(65536);
    while (!stop_) {
      fds.clear();
      fds.push_back({lfd_, POLLIN, 0});
      for (auto [fd, p] : peer) fds.push_back({fd, POLLIN, 0});
      if (::poll(fds.data(), fds.size(), 20) <= 0) continue;
      for (const auto& f : fds) {
        if (!(f.revents & (POLLIN | POLLHUP | POLLERR))) continue;
        if (f.fd == lfd_) {
          const int c = ::accept(lfd_, nullptr, nullptr);
          const int u = ::socket(AF_INET, SOCK_STREAM, 0);
          sockaddr_in a{};
          a.sin_family = AF_INET;
          a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
          a.sin_port = htons(static_cast<std::uint16_t>(upstream_));
          if (::connect(u, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
            ::close(c), ::close(u);
            continue;
          }
          peer[c] = u, peer[u] = c;
          std::lock_guard l(mu_);
          pairs_.emplace_back(c, u);
          continue;
        }
        if (!peer.contains(f.fd)) continue;
        const ssize_t n = ::read(f.fd, buf.data(), buf.size());
        const int o = peer[f.fd];
        if (n <= 0 || ::send(o, buf.data(), static_cast<std::size_t>(n), MSG_NOSIGNAL) != n) {
          std::lock_guard l(mu_);
          std::erase_if(pairs_, [&](auto& p) { return p.first == f.fd || p.second == f.fd; });
          ::close(f.fd), ::close(o);
          peer.erase(f.fd), peer.erase(o);
        }
      }
    }
  }
  int upstream_;
  int lfd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::vector<std::pair<int, int>> pairs_;
  std::thread thread_;
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

// A consumer's pool book: snapshots reset a pool, events fold in (deduped per pool by
// (block, log index); a key seen twice without a reset between is a failure), ReorgNotice
// drops everything above the ancestor (the following snapshots reset the pools).
struct Consumer {
  std::map<std::uint64_t, ShadowPool> pools;
  std::map<std::uint64_t, std::set<std::pair<std::uint64_t, std::uint32_t>>> applied;
  std::vector<protocol::ReorgNotice> reorgs;
  std::size_t events = 0, snapshots = 0, heads = 0, twice = 0;
  std::size_t next = 0;
  void fold(RecordingSink& sink) {
    std::lock_guard l(sink.mu);
    for (; next < sink.frames.size(); ++next) {
      const auto r = protocol::parse_frame(sink.frames[next]);
      ASSERT_TRUE(r.ok());
      for (const auto& t : r.view.tlvs()) {
        const auto type = static_cast<protocol::TlvType>(t.type);
        if (auto s = protocol::tlv_as<protocol::PoolStateSnapshot>(t)) {
          apply_snapshot(pools[s->pool], *s);
          applied[s->pool].clear();
          ++snapshots;
        } else if (auto n = protocol::tlv_as<protocol::ReorgNotice>(t)) {
          reorgs.push_back(*n);
        } else if (type == protocol::TlvType::BlockHeader) {
          ++heads;
        } else if (t.type >= 1 && t.type <= 19 && t.value.size() >= sizeof(protocol::EventContext)) {
          protocol::EventContext c;
          std::memcpy(&c, t.value.data(), sizeof c);
          if (!applied[c.pool].insert({c.block_number, c.log_index}).second) ++twice;
          apply_event(pools[c.pool], type, t.value);
          ++events;
        }
      }
    }
  }
};

class NodeSessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(kSrc + "/chain/node_modules")) GTEST_SKIP() << "chain/node_modules absent";
    dir_ = fs::temp_directory_path() / ("torq-session-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    manifest_ = (dir_ / "manifest.json").string();
    const std::string script = kSrc + "/chain/fixture.mjs";
    const char* argv[] = {"node", script.c_str(), "--out", manifest_.c_str(), nullptr};
    ASSERT_EQ(posix_spawnp(&fixture_pid_, "node", nullptr, nullptr, const_cast<char**>(argv), environ), 0);
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
  void drive(int seconds, int seed) {
    const std::string cmd = "node " + kSrc + "/chain/driver.mjs --manifest " + manifest_ + " --rate 25 --duration-s " +
                            std::to_string(seconds) + " --seed " + std::to_string(seed) + " > /dev/null";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
  }
  EndpointConfig endpoint(int port, int priority = 0) {
    EndpointConfig e;
    e.http = "http://127.0.0.1:" + std::to_string(port);
    e.ws = "ws://127.0.0.1:" + std::to_string(port);
    e.priority = priority;
    return e;
  }
  NodeSessionConfig config(std::vector<EndpointConfig> eps) {
    NodeSessionConfig c;
    c.endpoints = std::move(eps);
    c.use_finalized_tag = false;
    c.reconnect_backoff = {50, 500, 2.0, 0.5};
    c.rpc.timeout = 2000ms;
    return c;
  }
  template <class Session>
  void wait_caught_up(Session& s, ChainClient& chain) {
    const std::uint64_t h = chain.block_number().value;
    for (int i = 0; i < 200 && (s.counters().last_block.load() < h || s.state() != SessionState::Streaming); ++i)
      std::this_thread::sleep_for(50ms);
    std::this_thread::sleep_for(600ms);  // trailing logs of the last block
  }
  // The consumer's state equals the chain at the head for every pool.
  void expect_equals_chain(Consumer& c, ChainClient& chain) {
    const std::uint64_t h = chain.block_number().value;
    auto snaps = snapshot_pools(chain, registry_, ids_, h, 0);
    ASSERT_TRUE(snaps.ok()) << snaps.error.message;
    ASSERT_EQ(snaps.value.size(), ids_.size());
    for (const auto& s : snaps.value)
      EXPECT_TRUE(matches(c.pools[s.state.pool], s.state)) << "pool " << std::hex << s.state.pool << " at block " << std::dec << h;
  }

  fs::path dir_;
  std::string manifest_;
  pid_t fixture_pid_ = -1;
  PoolList list_;
  protocol::InstrumentRegistry registry_;
  std::vector<protocol::InstrumentId> ids_;
  int port_ = 0;
};

TEST_F(NodeSessionTest, ShouldMatchChainAcrossStreamWebSocketCutAndReorgWithFailover) {
  TcpProxy proxy(port_);
  // Endpoint 0: a closed port (bind, read the port, close) → failover to the proxy.
  const int dead = [] {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(fd);
    return ntohs(a.sin_port);
  }();
  RecordingSink sink;
  auto cfg = config({endpoint(dead, 0), endpoint(proxy.port(), 1)});
  cfg.reconcile_interval = 1500ms;
  NodeSession<RecordingSink> session(cfg, registry_, sink);
  ChainClient chain({endpoint(port_)});
  Consumer consumer;

  session.start();
  drive(3, 21);
  wait_caught_up(session, chain);
  consumer.fold(sink);
  EXPECT_EQ(session.counters().endpoint.load(), 1);  // the dead one was skipped
  EXPECT_GE(session.counters().snapshots_published.load(), ids_.size());
  EXPECT_GT(consumer.events, 50u);
  expect_equals_chain(consumer, chain);

  // Cut the WebSocket (and HTTP) mid-stream; activity continues while the session is blind.
  proxy.cut();
  drive(2, 22);
  wait_caught_up(session, chain);
  consumer.fold(sink);
  EXPECT_GE(session.counters().reconnects.load(), 1u);
  EXPECT_GE(session.counters().backfills_completed.load(), 2u);
  expect_equals_chain(consumer, chain);
  EXPECT_EQ(consumer.twice, 0u);

  // Reorgs of depth 1..5 (anvil_reorg replaces the top blocks with empty ones).
  for (std::uint64_t depth : {1u, 3u, 5u}) {
    drive(1, 30 + static_cast<int>(depth));
    wait_caught_up(session, chain);
    const std::uint64_t h = chain.block_number().value;
    const auto ancestor = chain.block_by_number(to_hex_quantity(h - depth));
    ASSERT_TRUE(ancestor.ok());
    const std::size_t before = consumer.reorgs.size();
    ASSERT_FALSE(chain.call("anvil_reorg", "[" + std::to_string(depth) + ",[]]").error);
    for (int i = 0; i < 100 && session.counters().reorg_notices.load() < before + 1; ++i) std::this_thread::sleep_for(50ms);
    wait_caught_up(session, chain);
    consumer.fold(sink);
    ASSERT_EQ(consumer.reorgs.size(), before + 1) << "depth " << depth;
    const auto& n = consumer.reorgs.back();
    EXPECT_EQ(n.common_ancestor_number, h - depth);
    EXPECT_EQ(n.common_ancestor_hash, ancestor.value.hash);
    EXPECT_EQ(n.depth, depth);
    expect_equals_chain(consumer, chain);
  }
  // Reconciliation ran against the chain and found no drift.
  for (int i = 0; i < 60 && session.counters().reconciliations.load() == 0; ++i) std::this_thread::sleep_for(100ms);
  session.stop();
  EXPECT_GE(session.counters().reconciliations.load(), 1u);
  EXPECT_EQ(session.counters().drift_detected.load(), 0u);
  EXPECT_EQ(session.counters().sink_drops.load(), 0u);
  EXPECT_EQ(session.counters().decode_errors.load(), 0u);
  std::printf("counters: logs=%lu heads=%lu snapshots=%lu reconnects=%lu backfill_chunks=%lu dup_skipped=%lu reorgs=%lu reconciliations=%lu\n",
              session.counters().logs_published.load(), session.counters().heads_published.load(),
              session.counters().snapshots_published.load(), session.counters().reconnects.load(),
              session.counters().backfill_chunks.load(), session.counters().duplicates_skipped.load(),
              session.counters().reorg_notices.load(), session.counters().reconciliations.load());
}

}  // namespace
