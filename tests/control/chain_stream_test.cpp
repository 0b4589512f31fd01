// Integration (label `chain`): the real anvil fixture (chain/fixture.mjs) and driver. The event
// stream (eth_getLogs backfill + eth_subscribe "logs" over WebSocket, decoded by LogDecoder) is
// folded into pool state, which must equal getReserves / slot0 / liquidity read from the chain
// at the same block for every pool; then the WebSocket is dropped mid-stream, activity goes on,
// and after reconnect + backfill from the last processed block the state equals the chain again
// with no event applied twice. Skips when chain/node_modules is absent.
#include <gtest/gtest.h>

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <thread>

#include "torq/control/hex.hpp"
#include "torq/control/log_decoder.hpp"
#include "torq/control/pool_list.hpp"
#include "torq/control/rpc_client.hpp"

extern char** environ;
using namespace torq;
using namespace torq::control;
namespace fs = std::filesystem;

namespace {

const std::string kSrc = std::getenv("TORQ_SOURCE_DIR") ? std::getenv("TORQ_SOURCE_DIR") : ".";

struct PoolState {
  num::U256 r0{}, r1{}, sqrt{};
  unsigned __int128 liq = 0;
  std::int32_t tick = 0;
};

class ChainStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(kSrc + "/chain/node_modules")) GTEST_SKIP() << "chain/node_modules absent (npm ci --prefix chain)";
    dir_ = fs::temp_directory_path() / ("torq-control-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    manifest_ = (dir_ / "manifest.json").string();
    const std::string script = kSrc + "/chain/fixture.mjs";
    const char* argv[] = {"node", script.c_str(), "--out", manifest_.c_str(), nullptr};
    ASSERT_EQ(posix_spawnp(&fixture_pid_, "node", nullptr, nullptr, const_cast<char**>(argv), environ), 0);
    for (int i = 0; i < 1200 && !fs::exists(manifest_); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    ASSERT_TRUE(fs::exists(manifest_)) << "fixture did not write its manifest";
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    list_ = load_pool_list(manifest_);
    ids_ = register_pools(list_, registry_, protocol::Chain::Polygon);
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
  std::string call(RpcClient& http, const std::string& method, const std::string& params) {
    std::string out;
    const std::string body = "{\"jsonrpc\":\"2.0\",\"id\":" + std::to_string(http.next_id()) + ",\"method\":\"" + method +
                             "\",\"params\":" + params + "}";
    EXPECT_EQ(http.post(body, out), RpcStatus::Ok) << http.last_error();
    return out;
  }
  std::string result_string(const std::string& response) {
    simdjson::dom::parser p;
    std::string_view s;
    if (p.parse(response)["result"].get(s)) ADD_FAILURE() << response;
    return std::string(s);
  }
  std::uint64_t block_number(RpcClient& http) { return *hex::parse_quantity(result_string(call(http, "eth_blockNumber", "[]"))); }
  std::string address_list() const {
    std::string a = "[";
    for (const auto& p : list_.pools) a += (a.size() > 1 ? ",\"" : "\"") + protocol::format_address(p.address) + "\"";
    return a + "]";
  }
  // Applies one decoded event unless its (block, log index) was already applied.
  void apply(const LogEvent& e) {
    const auto c = e.ctx();
    const auto key = std::make_pair(c.block_number, c.log_index);
    if (cursor_ && key <= *cursor_) {
      ++duplicates_skipped_;
      return;
    }
    ASSERT_TRUE(applied_.insert(key).second) << "event applied twice";
    cursor_ = key;
    PoolState& s = state_[c.pool];
    switch (e.type) {
      case protocol::TlvType::V2Sync: {
        const auto v = e.as<protocol::V2Sync>();
        s.r0 = v.reserve0, s.r1 = v.reserve1;
        break;
      }
      case protocol::TlvType::V3Initialize: {
        const auto v = e.as<protocol::V3Initialize>();
        s.sqrt = v.sqrt_price_x96, s.tick = v.tick;
        break;
      }
      case protocol::TlvType::V3Swap: {
        const auto v = e.as<protocol::V3Swap>();
        s.sqrt = v.sqrt_price_x96, s.tick = v.tick, s.liq = v.liquidity.value();
        break;
      }
      case protocol::TlvType::V3Mint: {
        const auto v = e.as<protocol::V3Mint>();
        if (v.tick_lower <= s.tick && s.tick < v.tick_upper) s.liq += v.liquidity.value();
        break;
      }
      case protocol::TlvType::V3Burn: {
        const auto v = e.as<protocol::V3Burn>();
        if (v.tick_lower <= s.tick && s.tick < v.tick_upper) s.liq -= v.liquidity.value();
        break;
      }
      default: break;
    }
  }
  // eth_getLogs from..to in chunks (halved when the node refuses a range), applied in order.
  void backfill(RpcClient& http, LogDecoder& dec, std::uint64_t from, std::uint64_t to, std::uint64_t chunk) {
    while (from <= to) {
      const std::uint64_t end = std::min(to, from + chunk - 1);
      char range[96];
      std::snprintf(range, sizeof range, "\"fromBlock\":\"0x%lx\",\"toBlock\":\"0x%lx\"", from, end);
      const std::string resp = call(http, "eth_getLogs", std::string("[{") + range + ",\"address\":" + address_list() + "}]");
      const DecodeError e = dec.decode_log_array(resp, [&](const LogEvent& ev) { apply(ev); });
      if (e == DecodeError::RpcError && chunk > 1) {
        chunk /= 2;
        continue;
      }
      ASSERT_EQ(e, DecodeError::Ok) << to_string(e) << " " << dec.rpc_error_message();
      from = end + 1;
    }
  }
  void subscribe(RpcClient& ws) {
    ASSERT_EQ(ws.ws_connect(), RpcStatus::Ok) << ws.last_error();
    ASSERT_EQ(ws.ws_send("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eth_subscribe\",\"params\":[\"logs\",{\"address\":" +
                         address_list() + "}]}"),
              RpcStatus::Ok);
  }
  // Reads WebSocket messages until `quiet` passes without one; applies decoded logs.
  std::size_t drain(RpcClient& ws, LogDecoder& dec, std::chrono::milliseconds quiet) {
    std::size_t logs = 0;
    std::string msg;
    while (ws.ws_read(msg, quiet) == RpcStatus::Ok) {
      MessageKind kind;
      if (dec.decode_message(msg, kind) == DecodeError::Ok && kind == MessageKind::Log) {
        apply(dec.log());
        ++logs;
      }
    }
    return logs;
  }
  // Every pool's derived state equals the chain at `block`.
  void expect_state_equals_chain(RpcClient& http, std::uint64_t block) {
    char tag[32];
    std::snprintf(tag, sizeof tag, "\"0x%lx\"", block);
    auto words = [&](const protocol::Address& a, const char* selector) {
      const std::string r = result_string(call(http, "eth_call", "[{\"to\":\"" + protocol::format_address(a) +
                                                                    "\",\"data\":\"" + selector + "\"}," + tag + "]"));
      std::vector<num::U256> w((r.size() - 2) / 64);
      for (std::size_t i = 0; i < w.size(); ++i) EXPECT_TRUE(hex::parse_word(r.data() + 2 + 64 * i, w[i]));
      return w;
    };
    for (std::size_t i = 0; i < list_.pools.size(); ++i) {
      const auto& p = list_.pools[i];
      const PoolState& s = state_[ids_[i].raw()];
      const std::string name = protocol::format_address(p.address);
      if (p.tick_spacing == 0) {
        const auto r = words(p.address, "0x0902f1ac");  // getReserves()
        EXPECT_EQ(s.r0, r.at(0)) << name;
        EXPECT_EQ(s.r1, r.at(1)) << name;
      } else {
        const auto slot0 = words(p.address, "0x3850c7bd");  // slot0()
        const auto liq = words(p.address, "0x1a686502");    // liquidity()
        EXPECT_EQ(s.sqrt, slot0.at(0)) << name;
        EXPECT_EQ(num::I256(s.tick).bits(), slot0.at(1)) << name;
        EXPECT_EQ(num::U256::from_u128(s.liq), liq.at(0)) << name;
      }
    }
  }

  fs::path dir_;
  std::string manifest_;
  pid_t fixture_pid_ = -1;
  PoolList list_;
  protocol::InstrumentRegistry registry_;
  std::vector<protocol::InstrumentId> ids_;
  std::map<std::uint64_t, PoolState> state_;
  std::optional<std::pair<std::uint64_t, std::uint32_t>> cursor_;
  std::set<std::pair<std::uint64_t, std::uint32_t>> applied_;
  std::size_t duplicates_skipped_ = 0;
};

TEST_F(ChainStreamTest, ShouldMatchChainStateAfterStreamAndAfterWebSocketDropWithBackfill) {
  auto http_ep = parse_endpoint(list_.rpc_http);
  auto ws_ep = parse_endpoint(list_.rpc_ws);
  ASSERT_TRUE(http_ep && ws_ep);
  RpcClient http(*http_ep), ws(*ws_ep);
  LogDecoder dec(registry_, protocol::Chain::Polygon);

  // Live subscription first, then backfill from the deployment (chunked), then the live stream.
  subscribe(ws);
  backfill(http, dec, list_.deploy_block, block_number(http), 16);
  drive(3, 11);
  EXPECT_GT(drain(ws, dec, std::chrono::milliseconds(700)), 50u);
  expect_state_equals_chain(http, block_number(http));

  // Drop the WebSocket mid-stream; activity continues while we are blind.
  ws.close();
  drive(2, 12);
  // Reconnect: subscribe, backfill from the last processed block (overlap on purpose), stream.
  subscribe(ws);
  const std::uint64_t resume = cursor_->first;
  const std::size_t before = duplicates_skipped_;
  backfill(http, dec, resume, block_number(http), 1000);
  EXPECT_GT(duplicates_skipped_, before);  // the overlapping block was seen and not re-applied
  drive(2, 13);
  EXPECT_GT(drain(ws, dec, std::chrono::milliseconds(700)), 20u);
  expect_state_equals_chain(http, block_number(http));
  EXPECT_EQ(dec.errors(DecodeError::BadJson), 0u);
}

}  // namespace
