// operator_demo_server — serves the real dashboard, API and /metrics from an ApiServer whose state
// model it fills every 100 ms with synthetic but changing values. For the headless-browser UI test
// only (tests/operator/web/dashboard.test.mjs); the real torqd feeds the same state from the
// pipeline.
// Usage: operator_demo_server --token-file FILE [--port N]   (prints "listening <port>" when ready;
// exits on SIGTERM/SIGINT or when stdin closes).
#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>

#include "torq/ops/api_server.hpp"
#include "torq/ops/state.hpp"

namespace {
std::atomic<bool> g_stop{false};
void on_signal(int) { g_stop.store(true); }
}  // namespace

int main(int argc, char** argv) {
  using namespace torq::ops;
  std::string token_file;
  int port = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--token-file") == 0) token_file = argv[i + 1];
    else if (std::strcmp(argv[i], "--port") == 0) port = std::atoi(argv[i + 1]);
  }
  if (token_file.empty()) {
    std::fprintf(stderr, "usage: operator_demo_server --token-file FILE [--port N]\n");
    return 2;
  }
  std::signal(SIGTERM, on_signal);
  std::signal(SIGINT, on_signal);

  OperatorState state;
  CommandQueue commands;
  ApiServerOptions o;
  o.port = static_cast<std::uint16_t>(port);
  o.token = load_token_file(token_file);
  o.snapshot_interval_ms = 250;
  ApiServer server(state, commands, o);
  server.start();
  std::printf("listening %u\n", server.port());
  std::fflush(stdout);

  const char* venues[] = {"quickswap", "sushiswap", "uniswap-v3"};
  const char* pairs[][2] = {{"WETH", "USDC"}, {"WMATIC", "USDC"}, {"WETH", "WMATIC"}, {"WBTC", "WETH"}, {"USDT", "USDC"}};
  LatencyHistogram decode, search, sign;
  std::uint64_t block = 1000, opp_id = 0, nonce = 0;
  std::int64_t cumulative = 0, peak = 0;
  std::uint32_t rng = 12345;
  auto rnd = [&rng]() { rng = rng * 1664525u + 1013904223u; return rng >> 8; };

  for (std::uint64_t tick = 0; !g_stop.load(); ++tick) {
    pollfd pfd{0, POLLIN, 0};
    if (::poll(&pfd, 1, 0) > 0 && (pfd.revents & (POLLHUP | POLLIN))) {
      char b;
      if (::read(0, &b, 1) <= 0) break;  // stdin closed: the test runner went away
    }
    if (tick % 5 == 0) ++block;
    for (auto& c : commands.drain()) {
      if (c.kind == CommandKind::resume) state.update([](Snapshot& s) { s.status.kill_switch = false; s.status.kill_reason.clear(); });
    }
    StatusSnapshot st;
    st.mode = "monolith";
    st.chain = "local";
    st.chain_id = 137;
    st.head_block = block;
    st.local_block = block - (tick % 7 == 0 ? 1 : 0);
    st.ready = true;
    st.last_event_unix_ns = unix_now_ns() - static_cast<std::int64_t>(rnd() % 50) * 1'000'000;
    st.kill_switch = commands.kill_flag().load();
    st.endpoints = {{"ws://127.0.0.1:8545", true, 0, block}, {"http://127.0.0.1:8545", tick % 40 < 35, tick / 40, block}};
    st.rings = {{"market_data", 1 << 20, (rnd() % 400) * 1024, 0}, {"signals", 1 << 16, (rnd() % 20) * 512, 0}};
    // A udp:// market-data link in both directions, as a collector and a strategy would report it:
    // 3 frames repaired by resends, one hole that could not be (1 frame lost, 2 unavailable).
    st.links = {{"market_data", true, 4000 + tick * 10, 1, 1, 0, 3, 2, 4, 0, 0}, {"market_data", false, 4001 + tick * 10, 0, 0, 0, 0, 2, 4, 3, 2}};
    st.breaker = BreakerState::closed;
    // As a standalone dashboard would show them: its role processes, the strategy's API down.
    st.upstreams = {{"http://127.0.0.1:8788", "collector", true, "", unix_now_ns() - 120'000'000, 0, 0, 0},
                    {"http://127.0.0.1:8789", "strategy", false, "connection refused", unix_now_ns() - 9'000'000'000, 3, 0, 0},
                    {"http://127.0.0.1:8790", "executor", true, "", unix_now_ns() - 80'000'000, 0, 1, 0}};
    state.set_status(st);

    std::vector<PoolRow> pools;
    for (int v = 0; v < 3; ++v)
      for (int p = 0; p < 5; ++p) {
        char addr[43];
        std::snprintf(addr, sizeof addr, "0x%040x", v * 16 + p + 0xa0);
        const std::uint64_t age = (rnd() % 10 == 0) ? 5 : rnd() % 2;
        pools.push_back({addr, venues[v], pairs[p][0], pairs[p][1], v == 2 ? 500u : 3000u, block - age,
                         v == 2 && p == 4, v == 2 && p == 4 ? "reserve drift" : ""});
      }
    state.set_pools(std::move(pools));

    for (int i = 0; i < 100; ++i) {
      decode.record(300 + rnd() % 500);
      search.record(600 + rnd() % 3000 + (rnd() % 100 == 0 ? 20000 : 0));
    }
    state.set_latency("decode", decode);
    state.set_latency("search", search);

    const int v0 = static_cast<int>(rnd() % 2);
    const auto expected = static_cast<std::int64_t>(rnd() % 500) * 1'000'000;  // up to $5
    const bool taken = rnd() % 3 == 0;
    state.add_opportunity({++opp_id, unix_now_ns(),
                           std::string("USDC >") + venues[v0] + "> WETH >" + venues[1 - v0] + "> USDC",
                           std::to_string(500 + rnd() % 5000), "USDC", UsdFixedPoint8{static_cast<std::int64_t>(rnd() % 5000) * 100'000'000},
                           UsdFixedPoint8{expected}, taken ? "taken" : "min_profit"});
    if (taken) {
      TradeRow t;
      char hash[67];
      std::snprintf(hash, sizeof hash, "0x%016llx%016llx%016llx%016llx", static_cast<unsigned long long>(opp_id * 0x9E3779B97F4A7C15ull), static_cast<unsigned long long>(rnd()), static_cast<unsigned long long>(rnd()), static_cast<unsigned long long>(opp_id));
      t.hash = hash;
      t.nonce = nonce++;
      t.status = "mined";
      t.path = std::string("USDC >") + venues[v0] + "> WETH >" + venues[1 - v0] + "> USDC";
      t.t_unix_ns = unix_now_ns();
      t.block = block;
      t.gas_used = 180000 + rnd() % 40000;
      t.expected_pnl_usd = UsdFixedPoint8{expected};
      const std::int64_t realized = expected - static_cast<std::int64_t>(rnd() % 150) * 1'000'000;
      if (rnd() % 10 == 0) t.status = "reverted";
      t.realized_pnl_usd = UsdFixedPoint8{t.status == "reverted" ? -20'000'000 : realized};
      state.upsert_trade(t);
      sign.record(20000 + rnd() % 10000);
      state.set_latency("sign", sign);
      cumulative += t.realized_pnl_usd->raw;
      peak = std::max(peak, cumulative);
      PnlSnapshot p;
      p.cumulative = UsdFixedPoint8{cumulative};
      p.daily = p.cumulative;
      p.peak = UsdFixedPoint8{peak};
      p.drawdown = UsdFixedPoint8{peak - cumulative};
      state.set_pnl(p);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  server.stop();
  return 0;
}
