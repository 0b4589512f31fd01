// Integration (label `chain`): NodeSession against the real anvil fixture + driver. The frames
// the session publishes (snapshots, events, reorg notices) are folded into pool state by a test
// consumer, which must equal getReserves/slot0/liquidity read at the same block; a loopback
// proxy between session and anvil cuts the WebSocket (reconnect + backfill, no event twice);
// anvil_reorg produces a ReorgNotice with the right ancestor; the first endpoint is a closed
// port (failover). Skips when chain/node_modules is absent. Fixture, proxy, sink and consumer
// come from session_harness.hpp, shared with the other session tests.
#include "session_harness.hpp"

using namespace torq;
using namespace torq::control;
using namespace torq::control::testing;
using namespace std::chrono_literals;

namespace {

using NodeSessionTest = ChainFixture;

TEST_F(NodeSessionTest, ShouldMatchChainAcrossStreamWebSocketCutAndReorgWithFailover) {
  RpcProxy proxy(port_);
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
  const std::string dead_port = std::to_string(dead);
  auto cfg = config({endpoint("http://127.0.0.1:" + dead_port, "ws://127.0.0.1:" + dead_port, 0),
                     endpoint(proxy.http_url(), proxy.ws_url(), 1)});
  cfg.reconcile_interval = 1500ms;
  NodeSession<RecordingSink> session(cfg, registry_, sink);
  ChainClient chain({direct()});
  Consumer consumer;

  session.start();
  drive(3, 21);
  EXPECT_TRUE(wait_caught_up(session, chain));
  consumer.fold(sink);
  EXPECT_EQ(session.counters().endpoint.load(), 1);  // the dead one was skipped
  EXPECT_GE(session.counters().snapshots_published.load(), ids_.size());
  EXPECT_GT(consumer.events, 50u);
  expect_equals_chain(consumer, chain);

  // Cut the WebSocket (and HTTP) mid-stream; activity continues while the session is blind.
  proxy.cut();
  drive(2, 22);
  EXPECT_TRUE(wait_caught_up(session, chain));
  consumer.fold(sink);
  EXPECT_GE(session.counters().reconnects.load(), 1u);
  EXPECT_GE(session.counters().backfills_completed.load(), 2u);
  expect_equals_chain(consumer, chain);
  EXPECT_EQ(consumer.twice, 0u);

  // Reorgs of depth 1..5 (anvil_reorg replaces the top blocks with empty ones).
  for (std::uint64_t depth : {1u, 3u, 5u}) {
    drive(1, 30 + static_cast<int>(depth));
    EXPECT_TRUE(wait_caught_up(session, chain));
    const std::uint64_t h = chain.block_number().value;
    const auto ancestor = chain.block_by_number(to_hex_quantity(h - depth));
    ASSERT_TRUE(ancestor.ok());
    const std::size_t before = consumer.reorgs.size();
    ASSERT_FALSE(chain.call("anvil_reorg", "[" + std::to_string(depth) + ",[]]").error);
    for (int i = 0; i < 100 && session.counters().reorg_notices.load() < before + 1; ++i) std::this_thread::sleep_for(50ms);
    EXPECT_TRUE(wait_caught_up(session, chain));
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
  EXPECT_EQ(consumer.bad_frames, 0u);
  std::printf("counters: logs=%lu heads=%lu snapshots=%lu reconnects=%lu backfill_chunks=%lu dup_skipped=%lu reorgs=%lu reconciliations=%lu\n",
              session.counters().logs_published.load(), session.counters().heads_published.load(),
              session.counters().snapshots_published.load(), session.counters().reconnects.load(),
              session.counters().backfill_chunks.load(), session.counters().duplicates_skipped.load(),
              session.counters().reorg_notices.load(), session.counters().reconciliations.load());
}

}  // namespace
