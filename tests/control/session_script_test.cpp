// NodeSession against a scripted node: every transport step (WebSocket connect/send/read, HTTP
// JSON-RPC post) is answered in order from a script through the record/replay tap
// (NodeTap::replayer, docs/record-replay.md), so reorg, reconnect and fault sequences that a
// real node produces only by chance run deterministically and without a network. The published
// frames are folded by the harness's Consumer and compared with the scripted chain.
//
// Requests are not compared with the script (its HttpPost records carry no request text): each
// scenario lists the node's answers in the order the session asks for them, with a comment
// naming the request. Test-only code: threads, allocation.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <deque>
#include <string>
#include <thread>
#include <vector>

#include "session_harness.hpp"
#include "torq/control/hex.hpp"
#include "torq/control/node_session.hpp"
#include "torq/control/recording.hpp"

using namespace torq;
using namespace torq::control;
using torq::control::testing::Consumer;
using torq::control::testing::RecordingSink;
using namespace std::chrono_literals;

namespace {

constexpr const char* kPool = "0x1111111111111111111111111111111111111111";
constexpr const char* kPool2 = "0x2222222222222222222222222222222222222222";

std::string q(std::uint64_t n) {
  char b[32];
  std::snprintf(b, sizeof b, "0x%lx", static_cast<unsigned long>(n));
  return b;
}
// Block hash of number n on fork f (0 = the main branch).
std::string hx(std::uint64_t n, int fork) {
  char b[80];
  std::snprintf(b, sizeof b, "0x%02x%062lx", fork, static_cast<unsigned long>(n));
  return b;
}
std::string word(std::uint64_t v) {
  char b[80];
  std::snprintf(b, sizeof b, "%064lx", static_cast<unsigned long>(v));
  return b;
}
std::string block(std::uint64_t n, int fork, int parent_fork) {
  return "{\"number\":\"" + q(n) + "\",\"hash\":\"" + hx(n, fork) + "\",\"parentHash\":\"" + hx(n - 1, parent_fork) +
         "\",\"timestamp\":\"0x1\",\"gasUsed\":\"0x0\",\"gasLimit\":\"0x1\",\"baseFeePerGas\":\"0x1\"}";
}
std::string resp(const std::string& r) { return "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":" + r + "}"; }
// A V2 Sync log of `pool` with reserves (r, r) in block n of fork f.
std::string sync_log(std::uint64_t n, int fork, int idx, std::uint64_t r, bool removed = false,
                     const char* pool = kPool) {
  return std::string("{\"address\":\"") + pool +
         "\",\"topics\":[\"0x1c411e9a96e071241c2f21f7726b17ae89e3cab4c78be50e062b03a9fffbbad1\"],\"data\":\"0x" +
         word(r) + word(r) + "\",\"blockNumber\":\"" + q(n) + "\",\"blockHash\":\"" + hx(n, fork) +
         "\",\"transactionIndex\":\"0x0\",\"logIndex\":\"" + q(idx) + "\",\"removed\":" + (removed ? "true" : "false") + "}";
}
std::string note(const std::string& r) {
  return "{\"jsonrpc\":\"2.0\",\"method\":\"eth_subscription\",\"params\":{\"subscription\":\"0x1\",\"result\":" + r + "}}";
}
std::string head_note(std::uint64_t n, int fork, int parent_fork) { return note(block(n, fork, parent_fork)); }
// A batch answer to getReserves() calls: the same reserves for every id in [first, last]
// (batch ids depend on how many requests came before; unmatched ids are ignored).
std::string reserves_batch(std::uint64_t r, std::uint64_t first = 1, std::uint64_t last = 400) {
  std::string s = "[";
  for (std::uint64_t id = first; id <= last; ++id) {
    if (id != first) s += ',';
    s += "{\"jsonrpc\":\"2.0\",\"id\":" + std::to_string(id) + ",\"result\":\"0x" + word(r) + word(r) + word(1) + "\"}";
  }
  return s + "]";
}

// The node's side of the conversation, in order.
class Script {
 public:
  void connect(RpcStatus st = RpcStatus::Ok) { add(RecordKind::WsConnect, st, ""); }
  void send() { add(RecordKind::WsSend, RpcStatus::Ok, ""); }
  void read(const std::string& msg, RpcStatus st = RpcStatus::Ok) { add(RecordKind::WsRead, st, msg); }
  void post(const std::string& answer) { add(RecordKind::HttpPost, RpcStatus::Ok, answer); }
  // connect + eth_subscribe newHeads + eth_subscribe logs.
  void subscribe() {
    connect();
    send();
    send();
  }
  [[nodiscard]] const std::vector<RecordView>& records() const { return recs_; }

 private:
  std::span<const std::byte> keep(const std::string& s) {
    store_.push_back(s);
    const auto& x = store_.back();
    return std::as_bytes(std::span<const char>(x.data(), x.size()));
  }
  void add(RecordKind k, RpcStatus st, const std::string& body) {
    RecordView r;
    r.kind = k;
    r.status = static_cast<std::uint8_t>(st);
    r.aux = keep("");
    r.body = keep(body);
    recs_.push_back(r);
  }
  std::deque<std::string> store_;  // stable addresses
  std::vector<RecordView> recs_;
};

class SessionScriptTest : public ::testing::Test {
 protected:
  void SetUp() override {
    protocol::Address a0{}, a1{};
    a0[19] = 1;
    a1[19] = 2;
    t0_ = *reg_.add_token(protocol::Chain::Polygon, a0, 18, "A");
    t1_ = *reg_.add_token(protocol::Chain::Polygon, a1, 18, "B");
    pool_ = add_pool(kPool);
  }
  protocol::InstrumentId add_pool(const char* address) {
    protocol::Address pa{};
    EXPECT_TRUE(hex::parse_fixed(address, pa));
    return *reg_.add_pool(protocol::Venue::QuickSwapV2, pa, t0_, t1_, 3000, 0);
  }
  // start_block mode (no snapshot at start): consumers fold from an empty state.
  NodeSessionConfig config(NodeTap& tap, bool from_block_100 = true) {
    NodeSessionConfig c;
    c.chain = protocol::Chain::Polygon;
    c.endpoints.push_back(EndpointConfig{"http://127.0.0.1:9", "ws://127.0.0.1:9", 0, 0, 20});
    if (from_block_100) c.start_block = 100;
    c.use_finalized_tag = false;
    c.rpc.tap = &tap;
    c.reconnect_backoff.initial_ms = 1;
    c.reconnect_backoff.max_ms = 5;
    c.read_wait = 5ms;
    c.head_timeout = 0ms;
    return c;
  }
  // Start at head 100 in start_block mode: initialize (latest), catch_up (latest, getLogs 100..100).
  static void start_at_100(Script& s) {
    s.subscribe();
    s.post(resp(block(100, 0, 0)));  // initialize: eth_getBlockByNumber latest
    s.post(resp(block(100, 0, 0)));  // catch_up: eth_getBlockByNumber latest
    s.post(resp("[]"));              // catch_up: eth_getLogs 100..100
  }
  // Runs the session until the script is used up (plus a settle time), or until `until` holds.
  template <class Until>
  void run(NodeSession<RecordingSink>& s, NodeTap& tap, Until until, std::chrono::milliseconds max = 5000ms) {
    s.start();
    const auto deadline = std::chrono::steady_clock::now() + max;
    while (std::chrono::steady_clock::now() < deadline && !until()) std::this_thread::sleep_for(1ms);
    std::this_thread::sleep_for(50ms);
    s.stop();
    (void)tap;
  }
  void run(NodeSession<RecordingSink>& s, NodeTap& tap) {
    run(s, tap, [&] { return tap.exhausted(); });
  }
  std::uint64_t reserve0(Consumer& c, protocol::InstrumentId id) {
    c.fold(sink_);
    return c.pools[id.raw()].reserve0.limb[0];
  }

  protocol::InstrumentRegistry reg_;
  protocol::InstrumentId t0_, t1_, pool_;
  RecordingSink sink_;
};

// Audit #1: head 101(A) and a Sync of 101(A) published, the socket drops, the node reorgs to a
// branch B (101B .. 103). After the reconnect the session used to skip the new branch's logs
// (same (block, log index) as published; hash mismatch taken for a late old-branch log) and
// never sent a ReorgNotice: the consumer kept 101(A)'s reserves.
TEST_F(SessionScriptTest, ShouldUnwindAReorgThatHappenedWhileDisconnected) {
  Script s;
  start_at_100(s);
  s.read(head_note(101, 0xA, 0));
  s.read(note(sync_log(101, 0xA, 0, 1)));
  s.read("", RpcStatus::Closed);  // socket drops
  s.subscribe();
  s.post(resp(block(103, 0xB, 0xB)));        // catch_up: latest = 103 on branch B
  s.post(resp(block(101, 0xB, 0)));          // canonical(101): not ours
  s.post(resp(block(101, 0xB, 0)));          // resolve: canonical(101)
  s.post(resp(block(100, 0, 0)));            // resolve: canonical(100) = ours: ancestor 100
  s.post(resp(block(102, 0xB, 0xB)));        // resolve: canonical(102), between ancestor and new head
  s.post(reserves_batch(7));                 // after_reorg: snapshot of the pool at 100
  s.post(resp("\"0x67\""));                  // after_reorg: eth_blockNumber = 103
  s.post(resp("[" + sync_log(101, 0xB, 0, 5) + "," + sync_log(101, 0xB, 2, 6) + "]"));  // eth_getLogs 101..103
  s.post(resp("[]"));                        // catch_up: eth_getLogs 103..103
  auto tap = NodeTap::replayer(s.records(), NodeTap::Pace::Max);
  NodeSession<RecordingSink> session(config(*tap), reg_, sink_);
  run(session, *tap);
  const auto& k = session.counters();
  EXPECT_EQ(k.reorg_notices.load(), 1u);
  EXPECT_EQ(k.logs_published.load(), 3u);  // 101(A) idx0, then 101(B) idx0 and idx2
  EXPECT_EQ(k.snapshots_published.load(), 1u);
  Consumer c;
  EXPECT_EQ(reserve0(c, pool_), 6u) << "the consumer's pool must equal branch B";
  ASSERT_EQ(c.reorgs.size(), 1u);
  EXPECT_EQ(c.reorgs[0].common_ancestor_number, 100u);
  EXPECT_EQ(c.twice, 0u);
  EXPECT_EQ(tap->served(), s.records().size()) << "the session asked for what the script answers";
}

// Audit #2: a log arrives before its block's header, then the node announces another block at
// that number, removes the log and sends the replacement. The session used to publish the first
// log at once, ignore the removal (it never held that block) and skip the canonical log as a
// duplicate. Logs now wait for their block's header.
TEST_F(SessionScriptTest, ShouldDropAnEarlyLogWhoseBlockIsReplacedAndPublishTheCanonicalOne) {
  Script s;
  start_at_100(s);
  s.read(note(sync_log(101, 0xA, 0, 1)));        // log of 101(A), header not seen yet
  s.read(head_note(101, 0xB, 0));                // header of 101(B)
  s.read(note(sync_log(101, 0xA, 0, 1, true)));  // removed: 101(A)
  s.read(note(sync_log(101, 0xB, 0, 2)));        // canonical log of 101(B)
  auto tap = NodeTap::replayer(s.records(), NodeTap::Pace::Max);
  NodeSession<RecordingSink> session(config(*tap), reg_, sink_);
  run(session, *tap);
  const auto& k = session.counters();
  EXPECT_EQ(k.logs_published.load(), 1u);
  EXPECT_EQ(k.orphan_logs.load(), 1u);
  EXPECT_EQ(k.duplicates_skipped.load(), 0u);
  Consumer c;
  EXPECT_EQ(reserve0(c, pool_), 2u) << "the consumer's pool must equal 101(B)";
  EXPECT_EQ(c.events, 1u);
}

// The usual order on geth-like nodes (logs, then the header): nothing is lost, the log is
// published right after its header arrives, before the BlockHeader frame.
TEST_F(SessionScriptTest, ShouldPublishAnEarlyLogOnceItsHeaderArrives) {
  Script s;
  start_at_100(s);
  s.read(note(sync_log(101, 0xA, 0, 1)));
  s.read(note(sync_log(102, 0xA, 0, 3)));  // two blocks ahead of the heads
  s.read(head_note(101, 0xA, 0));
  s.read(head_note(102, 0xA, 0xA));
  auto tap = NodeTap::replayer(s.records(), NodeTap::Pace::Max);
  NodeSession<RecordingSink> session(config(*tap), reg_, sink_);
  run(session, *tap);
  EXPECT_EQ(session.counters().logs_published.load(), 2u);
  EXPECT_EQ(session.counters().orphan_logs.load(), 0u);
  Consumer c;
  EXPECT_EQ(reserve0(c, pool_), 3u);
  EXPECT_EQ(c.heads, 3u);  // 100, 101, 102
}

// Audit #5: an error answer to eth_subscribe("logs") was dropped like any response: the session
// streamed heads without its logs subscription.
TEST_F(SessionScriptTest, ShouldReconnectWhenTheNodeRefusesASubscription) {
  Script s;
  start_at_100(s);
  s.read(R"({"jsonrpc":"2.0","id":1,"result":"0xabc"})");
  s.read(R"({"jsonrpc":"2.0","id":2,"error":{"code":-32005,"message":"filter too large"}})");
  s.read(head_note(101, 0, 0));
  auto tap = NodeTap::replayer(s.records(), NodeTap::Pace::Max);
  NodeSession<RecordingSink> session(config(*tap), reg_, sink_);
  run(session, *tap, [&] { return session.counters().subscribe_errors.load() > 0 && session.counters().reconnects.load() > 0; });
  const auto& k = session.counters();
  EXPECT_EQ(k.subscribe_errors.load(), 1u);
  EXPECT_GE(k.rpc_errors.load(), 1u);
  EXPECT_GE(k.reconnects.load(), 1u);
  EXPECT_EQ(tap->served(), s.records().size() - 1) << "the head after the refusal is not read on that socket";
}

// Audit #6: a subscription that stops silently (socket open, nothing sent) went unnoticed.
TEST_F(SessionScriptTest, ShouldReconnectWhenNoHeadArrivesForHeadTimeout) {
  Script s;
  start_at_100(s);
  auto tap = NodeTap::replayer(s.records(), NodeTap::Pace::Max);  // then silence
  auto cfg = config(*tap);
  cfg.head_timeout = 200ms;
  NodeSession<RecordingSink> session(cfg, reg_, sink_);
  const auto t0 = std::chrono::steady_clock::now();
  run(session, *tap, [&] { return session.counters().reconnects.load() > 0; }, 5000ms);
  EXPECT_EQ(session.counters().head_timeouts.load(), 1u);
  EXPECT_GE(session.counters().reconnects.load(), 1u);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 200ms);
}

// Audit #4: one pool whose snapshot answers are refused blocked the whole session (initialize
// failed and reconnected forever). Now the other pool streams, the refused one is quarantined,
// its events withheld, and it is snapshotted again at the next head.
TEST_F(SessionScriptTest, ShouldStreamTheOtherPoolsAndRetryAPoolWhoseSnapshotFailed) {
  const auto pool2 = add_pool(kPool2);
  Script s;
  s.subscribe();
  s.post(resp(block(100, 0, 0)));  // initialize: latest (request id 1)
  // Snapshot batch: ids 2 and 3, one getReserves each; id 3 reverts.
  s.post("[{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":\"0x" + word(7) + word(7) + word(1) +
         "\"},{\"jsonrpc\":\"2.0\",\"id\":3,\"error\":{\"code\":3,\"message\":\"execution reverted\"}}]");
  s.post(resp(block(100, 0, 0)));  // catch_up: latest
  s.post(resp("[]"));              // catch_up: eth_getLogs 100..100
  s.read(note(sync_log(101, 0xA, 0, 8, false, kPool)));
  s.read(note(sync_log(101, 0xA, 1, 9, false, kPool2)));
  s.read(head_note(101, 0xA, 0));
  s.post(reserves_batch(11));      // retry at 101: snapshot of the failed pool
  auto tap = NodeTap::replayer(s.records(), NodeTap::Pace::Max);
  NodeSession<RecordingSink> session(config(*tap, /*from_block_100=*/false), reg_, sink_);
  // Which pool got id 2 depends on the session's pool order: find out from the first snapshot.
  bool quarantined_seen = false;
  run(session, *tap, [&] {
    quarantined_seen = quarantined_seen || session.quarantined(pool_) || session.quarantined(pool2);
    return tap->exhausted();
  });
  const auto& k = session.counters();
  EXPECT_EQ(k.snapshot_pool_failures.load(), 1u);
  EXPECT_EQ(k.snapshots_published.load(), 2u);  // the good pool at 100, the retried one at 101
  EXPECT_EQ(k.pools_awaiting_snapshot.load(), 0u);
  EXPECT_EQ(k.logs_published.load(), 1u);
  EXPECT_EQ(k.logs_withheld.load(), 1u);
  EXPECT_EQ(k.heads_published.load(), 2u);
  EXPECT_FALSE(session.quarantined(pool_));
  EXPECT_FALSE(session.quarantined(pool2));
  Consumer c;
  c.fold(sink_);
  // The good pool: snapshot 7 then its Sync (8 for kPool, 9 for kPool2); the retried one: 11.
  const std::uint64_t r1 = c.pools[pool_.raw()].reserve0.limb[0], r2 = c.pools[pool2.raw()].reserve0.limb[0];
  EXPECT_TRUE((r1 == 8 && r2 == 11) || (r1 == 11 && r2 == 9)) << r1 << " " << r2;
  EXPECT_EQ(c.snapshots, 2u);
}

// Audit #7: a node answering block numbers near 2^64 made loops over numbers wrap or hang.
TEST_F(SessionScriptTest, ShouldRefuseBlockNumbersAbove2To63) {
  Script s;
  s.subscribe();
  s.post(resp(block(100, 0, 0)));                      // initialize
  s.post(resp(block(0xffffffffffffffffull, 0, 0)));   // catch_up: latest = 2^64 - 1
  s.read(head_note(0xfffffffffffffffeull, 0, 0));
  auto tap = NodeTap::replayer(s.records(), NodeTap::Pace::Max);
  NodeSession<RecordingSink> session(config(*tap), reg_, sink_);
  run(session, *tap, [&] { return session.counters().bad_answers.load() > 0 && session.counters().reconnects.load() > 0; });
  EXPECT_GE(session.counters().bad_answers.load(), 1u);
  EXPECT_EQ(session.counters().backfill_chunks.load(), 0u);
}

// Audit #8: a removed log of a block we hold whose resolve failed (node did not answer) was
// ignored: the session kept streaming on a branch it knew was gone.
TEST_F(SessionScriptTest, ShouldReconnectWhenResolvingARemovedLogFails) {
  Script s;
  start_at_100(s);
  s.read(head_note(101, 0xA, 0));
  s.read(note(sync_log(101, 0xA, 0, 1)));
  s.read(note(sync_log(101, 0xA, 0, 1, true)));  // removed: resolve asks canonical(101): no answer
  auto tap = NodeTap::replayer(s.records(), NodeTap::Pace::Max);
  NodeSession<RecordingSink> session(config(*tap), reg_, sink_);
  run(session, *tap, [&] { return session.counters().reconnects.load() > 0; });
  EXPECT_GE(session.counters().reconnects.load(), 1u);
  EXPECT_GE(session.counters().transport_errors.load(), 1u);
}

}  // namespace
