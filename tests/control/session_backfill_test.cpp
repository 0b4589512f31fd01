// Integration (label `chain`): NodeSession against the anvil fixture behind RpcProxy, a proxy
// that behaves like a public RPC provider: eth_getLogs ranges above 8 blocks refused with
// -32005, a per-endpoint request budget, rate limiting (HTTP 429 and JSON-RPC "rate limit"),
// responses slower than the client's deadline, garbage HTTP bodies and WebSocket frames. In
// every case the state folded from what the session published must equal the chain.
#include "session_harness.hpp"

using namespace torq;
using namespace torq::control;
using namespace torq::control::testing;

namespace {

constexpr std::uint64_t kCap = 8;  // the provider's eth_getLogs range limit

// Provider behaviour shared by the proxies of a test: range cap, counts, optional rate limiting.
struct Provider {
  std::atomic<bool> rate_limited{false};
  std::atomic<bool> json_rate_limit_only{false};
  std::atomic<std::uint64_t> refused_ranges{0}, forwarded_get_logs{0}, max_forwarded_width{0};
  std::atomic<std::uint64_t> rate_limit_answers{0};
  ProxyReply operator()(const ProxyRequest& r) {
    if (rate_limited) {
      // Alternate the two ways providers say it: HTTP 429, and HTTP 200 with a JSON-RPC error.
      if (rate_limit_answers++ % 2 == 0 && !json_rate_limit_only) return {ProxyReply::Kind::Respond, 429, "{\"error\":\"too many requests\"}", 0};
      return RpcProxy::rpc_error(r, -32005, "daily request count exceeded, request rate limited");
    }
    if (RpcProxy::method_of(r.body) == "eth_getLogs") {
      const std::uint64_t from = RpcProxy::hex_field(r.body, "fromBlock"), to = RpcProxy::hex_field(r.body, "toBlock");
      const std::uint64_t width = to >= from ? to - from + 1 : 0;
      if (width > kCap) {
        refused_ranges++;
        return RpcProxy::rpc_error(r, -32005, "query returned more than 10000 results");
      }
      forwarded_get_logs++;
      for (auto m = max_forwarded_width.load(); width > m && !max_forwarded_width.compare_exchange_weak(m, width);) {
      }
    }
    return {};
  }
};

// Largest number of JSON-RPC elements the proxy saw in any window of `w`.
std::size_t max_in_window(const std::vector<ProxyRequest>& log, std::chrono::milliseconds w) {
  std::size_t best = 0;
  for (std::size_t i = 0; i < log.size(); ++i) {
    std::size_t n = 0;
    for (std::size_t j = i; j < log.size() && log[j].at - log[i].at < w; ++j) n += log[j].elements;
    best = std::max(best, n);
  }
  return best;
}

class SessionBackfillTest : public ChainFixture {};

TEST_F(SessionBackfillTest, ShouldShrinkChunksWhenProviderCapsRangeAndFailOverWhenRateLimited) {
  RpcProxy a(port_), b(port_);
  Provider pa, pb;
  a.set_policy([&](const ProxyRequest& r) { return pa(r); });
  b.set_policy([&](const ProxyRequest& r) { return pb(r); });
  auto ea = endpoint(a.http_url(), a.ws_url(), 0);
  ea.requests_per_s = 10;  // per-endpoint budget: 10 requests/s, burst 2
  ea.burst = 2;
  auto cfg = config({ea, endpoint(b.http_url(), b.ws_url(), 1)});
  cfg.start_block = list_.deploy_block;  // backfill the whole history: ~100 blocks
  cfg.initial_chunk = 64;
  cfg.max_chunk = 64;
  RecordingSink sink;
  NodeSession<RecordingSink> session(cfg, registry_, sink);
  ChainClient chain({direct()});
  Consumer consumer;

  session.start();
  ASSERT_TRUE(wait_caught_up(session, chain, 30000));
  consumer.fold(sink);
  const auto& c = session.counters();
  EXPECT_GE(c.chunk_shrinks.load(), 3u);  // 64 → 32 → 16 → 8
  EXPECT_GE(pa.refused_ranges.load(), 3u);
  EXPECT_LE(pa.max_forwarded_width.load(), kCap);
  EXPECT_GE(c.backfill_chunks.load(), (chain.block_number().value - list_.deploy_block) / kCap);
  EXPECT_GT(consumer.events, 50u);
  expect_equals_chain(consumer, chain);  // folded from an empty state: Sync, Initialize, Swap, Mint, Burn
  // The budget of endpoint A held: 10/s with a burst of 2, and the session had to wait for it.
  const auto log_a = a.requests();
  std::size_t total = 0;
  for (const auto& r : log_a) total += r.elements;
  EXPECT_GT(total, 12u) << "too few requests for the budget check to mean anything";
  EXPECT_LE(max_in_window(log_a, 1000ms), 2u + 10u + 1u);
  EXPECT_LE(max_in_window(log_a, 500ms), 2u + 5u + 1u);
  EXPECT_GT(c.rate_limited_waits.load(), 0u);
  EXPECT_EQ(c.endpoint.load(), 0);
  EXPECT_TRUE(b.requests().empty());  // B not needed yet

  // A becomes rate-limited (HTTP 429 / JSON-RPC "rate limit", WebSocket upgrades refused) and
  // drops its connections while the market moves: the session fails over to B.
  pa.rate_limited = true;
  a.refuse_ws = true;
  a.cut();
  drive(2, 41);
  ASSERT_TRUE(wait_caught_up(session, chain, 30000));
  consumer.fold(sink);
  EXPECT_EQ(c.endpoint.load(), 1);  // WebSocket on B
  EXPECT_GE(c.rate_limited.load(), 1u);
  EXPECT_GE(c.failovers.load(), 1u);
  EXPECT_GE(pa.rate_limit_answers.load(), 1u);
  EXPECT_GE(pb.forwarded_get_logs.load(), 1u);  // the catch-up backfill went to B
  EXPECT_LE(pb.max_forwarded_width.load(), kCap);
  EXPECT_GE(c.reconnects.load(), 1u);
  expect_equals_chain(consumer, chain);
  EXPECT_EQ(consumer.twice, 0u);

  // The JSON-RPC form alone (HTTP 200, -32005 "rate limited") also moves a client to B.
  pa.json_rate_limit_only = true;
  ChainClient ab({ea, endpoint(b.http_url(), b.ws_url(), 1)});
  const auto n = ab.block_number();
  ASSERT_TRUE(n.ok()) << n.error.message;
  EXPECT_EQ(n.value, chain.block_number().value);
  EXPECT_EQ(ab.stats().rate_limited.load(), 1u);
  EXPECT_EQ(ab.stats().active_endpoint.load(), 1);
  session.stop();
  EXPECT_EQ(c.sink_drops.load(), 0u);
  EXPECT_EQ(c.decode_errors.load(), 0u);
  std::printf("backfill: chunks=%lu shrinks=%lu grows=%lu refused=%lu budget_waits=%lu rate_limited=%lu failovers=%lu "
              "requests_a=%zu max_a_1s=%zu\n",
              c.backfill_chunks.load(), c.chunk_shrinks.load(), c.chunk_grows.load(), pa.refused_ranges.load(),
              c.rate_limited_waits.load(), c.rate_limited.load(), c.failovers.load(), total,
              max_in_window(log_a, 1000ms));
}

TEST_F(SessionBackfillTest, ShouldCountTimeoutsAndGarbageAndRecoverWhenNodeIsSlowOrBroken) {
  RpcProxy p(port_);
  auto cfg = config({endpoint(p.http_url(), p.ws_url(), 0)});
  cfg.rpc.timeout = 400ms;
  RecordingSink sink;
  NodeSession<RecordingSink> session(cfg, registry_, sink);
  ChainClient chain({direct()});
  Consumer consumer;
  const auto& c = session.counters();

  session.start();
  drive(1, 51);
  ASSERT_TRUE(wait_caught_up(session, chain));
  consumer.fold(sink);
  expect_equals_chain(consumer, chain);
  EXPECT_EQ(c.timeouts.load(), 0u);

  // Slow node: every HTTP answer comes 1.2 s late (deadline 400 ms); the WebSocket is cut, so
  // the session must reconnect and catch up over HTTP while blocks keep coming.
  p.set_policy([](const ProxyRequest&) { return ProxyReply{ProxyReply::Kind::DelayThenForward, 200, {}, 1200}; });
  p.cut();
  drive(1, 52);
  for (int i = 0; i < 200 && c.timeouts.load() < 2; ++i) std::this_thread::sleep_for(50ms);
  EXPECT_GE(c.timeouts.load(), 2u);
  EXPECT_NE(session.state(), SessionState::Streaming);  // cannot catch up through a node this slow
  p.set_policy(nullptr);  // the node recovers
  ASSERT_TRUE(wait_caught_up(session, chain, 20000));
  consumer.fold(sink);
  EXPECT_GE(c.reconnects.load(), 2u);
  expect_equals_chain(consumer, chain);

  // Garbage on the WebSocket (3 frames: truncated JSON, HTML, invalid JSON) between real
  // notifications: counted as decode errors, the stream goes on.
  const auto decode_before = c.decode_errors.load();
  p.ws_garbage = 3;
  for (int i = 0; i < 100 && p.ws_garbage_sent.load() < 3; ++i) std::this_thread::sleep_for(20ms);
  ASSERT_EQ(p.ws_garbage_sent.load(), 3);
  for (int i = 0; i < 100 && c.decode_errors.load() < decode_before + 3; ++i) std::this_thread::sleep_for(20ms);
  EXPECT_EQ(c.decode_errors.load(), decode_before + 3);
  EXPECT_EQ(session.state(), SessionState::Streaming);

  // Garbage HTTP bodies: the next two eth_getLogs answers are truncated JSON; the connection is
  // cut so that the session must backfill through them.
  std::atomic<int> garbage_left{2};
  p.set_policy([&](const ProxyRequest& r) {
    if (RpcProxy::method_of(r.body) == "eth_getLogs" && garbage_left.fetch_sub(1) > 0)
      return ProxyReply{ProxyReply::Kind::Respond, 200, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":[{\"address\":\"0x", 0};
    return ProxyReply{};
  });
  const auto reconnects_before = c.reconnects.load();
  p.cut();
  drive(1, 53);
  ASSERT_TRUE(wait_caught_up(session, chain, 20000));
  consumer.fold(sink);
  EXPECT_LE(garbage_left.load(), 0);
  EXPECT_GE(c.parse_errors.load(), 2u);
  EXPECT_GT(c.reconnects.load(), reconnects_before);
  expect_equals_chain(consumer, chain);
  EXPECT_EQ(consumer.twice, 0u);
  EXPECT_EQ(consumer.bad_frames, 0u);
  session.stop();
  std::printf("faults: timeouts=%lu parse_errors=%lu decode_errors=%lu reconnects=%lu transport_errors=%lu\n",
              c.timeouts.load(), c.parse_errors.load(), c.decode_errors.load(), c.reconnects.load(),
              c.transport_errors.load());
}

}  // namespace
