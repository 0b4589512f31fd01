// Integration (label `chain`): snapshot_pools against the anvil fixture through an RpcProxy that
// rewrites one V3 pool's answers into values no pool can return (the node is buggy, or a proxy
// in front of it is hostile): a tick spacing of 0 or 2^32 + 60, a tick beyond int24, a liquidity
// of 2^128, a fee of 2^24 + 500, and ticks(int24) with a liquidityNet that is not a
// sign-extended int128. Each time only that pool
// is reported failed (no truncated value reaches a snapshot: the old decoder read 2^32 + 60 as
// 60, and multiplied hostile words into int32 overflow), and every other pool's snapshot is the
// one taken directly from the node.
#include <algorithm>
#include <atomic>
#include <cstring>

#include "session_harness.hpp"

using namespace torq;
using namespace torq::control;
using namespace torq::control::testing;

namespace {

class SnapshotAnswersTest : public ChainFixture {};

std::string h64(std::uint64_t hi_limb, std::uint64_t lo_limb, bool ones_above = false) {
  char b[80];
  const char* fill = ones_above ? "ffffffffffffffffffffffffffffffff" : "00000000000000000000000000000000";
  std::snprintf(b, sizeof b, "%s%016lx%016lx", fill, static_cast<unsigned long>(hi_limb), static_cast<unsigned long>(lo_limb));
  return b;
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool same(const PoolSnapshot& a, const PoolSnapshot& b) {
  if (std::memcmp(&a.state, &b.state, sizeof a.state) != 0 || a.ticks.size() != b.ticks.size()) return false;
  for (std::size_t i = 0; i < a.ticks.size(); ++i)
    if (std::memcmp(&a.ticks[i], &b.ticks[i], sizeof a.ticks[i]) != 0) return false;
  return true;
}

TEST_F(SnapshotAnswersTest, ShouldFailOnlyThePoolWhoseAnswersNoPoolGives) {
  ChainClient direct({EndpointConfig{list_.rpc_http, "", 0, 0, 20}}, RpcOptions{});
  const auto head = direct.block_number();
  ASSERT_TRUE(head.ok()) << head.error.message;
  std::vector<protocol::InstrumentId> failed;
  const auto truth = snapshot_pools(direct, registry_, ids_, head.value, 2, &failed);
  ASSERT_TRUE(truth.ok()) << truth.error.message;
  ASSERT_TRUE(failed.empty());
  ASSERT_EQ(truth.value.size(), ids_.size());

  // The victim: the first V3 pool that has initialized ticks in the scanned words.
  std::size_t victim = ids_.size();
  for (std::size_t i = 0; i < ids_.size(); ++i)
    if (truth.value[i].state.kind == static_cast<std::uint8_t>(protocol::PoolKind::V3) && !truth.value[i].ticks.empty()) {
      victim = i;
      break;
    }
  ASSERT_LT(victim, ids_.size()) << "the fixture has no V3 pool with ticks";
  const std::string victim_addr = lower(protocol::format_address(registry_.pool(ids_[victim])->address));

  // Rewrites: selector of the call -> the hostile result word(s).
  struct Variant {
    const char* what;
    std::string selector;
    std::string result;
  };
  const std::vector<Variant> variants = {
      {"tickSpacing 0", "0xd0c93a7c", h64(0, 0)},
      {"tickSpacing 2^32 + 60", "0xd0c93a7c", h64(0, (std::uint64_t{1} << 32) + 60)},
      {"tickSpacing -60", "0xd0c93a7c", h64(~std::uint64_t{0}, static_cast<std::uint64_t>(-60), true)},
      {"slot0 tick 2^31", "0x3850c7bd", h64(std::uint64_t{1} << 32, 0) + h64(0, std::uint64_t{1} << 31)},
      {"liquidity 2^128", "0x1a686502", "0000000000000000000000000000000100000000000000000000000000000000"},
      {"fee 2^24 + 500", "0xddca3f43", h64(0, (std::uint64_t{1} << 24) + 500)},
      {"liquidityNet not an int128", "0xf30dba93", h64(0, 5) + "00000000000000000000000000000001" + h64(0, 7).substr(32)},
  };
  std::atomic<std::size_t> current{0};
  std::atomic<int> rewritten{0};
  RpcProxy proxy(port_);
  proxy.set_policy([&](const ProxyRequest& r) -> ProxyReply {
    if (r.body.find("eth_call") == std::string::npos || r.body.front() != '[') return {};
    simdjson::dom::parser p;
    simdjson::dom::array arr;
    if (p.parse(r.body).get(arr)) return {};
    std::vector<std::pair<std::string, std::string>> calls;
    std::vector<std::uint64_t> ids;
    for (auto el : arr) {
      std::string_view m;
      std::uint64_t id = 0;
      if (el["method"].get(m) || el["id"].get(id)) return {};
      calls.emplace_back(std::string(m), simdjson::minify(el["params"]));
      ids.push_back(id);
    }
    const auto answers = direct.batch(calls);
    if (!answers.ok()) return {};
    const Variant& v = variants[current.load()];
    std::string body = "[";
    for (std::size_t i = 0; i < calls.size(); ++i) {
      std::string result = answers.value[i].json;
      const std::string params = lower(calls[i].second);
      if (params.find(victim_addr) != std::string::npos && params.find("\"data\":\"" + v.selector) != std::string::npos) {
        result = "\"0x" + v.result + "\"";
        ++rewritten;
      }
      body += std::string(i ? "," : "") + "{\"jsonrpc\":\"2.0\",\"id\":" + std::to_string(ids[i]) + ",\"result\":" + result + "}";
    }
    body += "]";
    return {ProxyReply::Kind::Respond, 200, body, 0};
  });

  ChainClient via({EndpointConfig{proxy.http_url(), "", 0, 0, 20}}, RpcOptions{});
  for (std::size_t k = 0; k < variants.size(); ++k) {
    current = k;
    rewritten = 0;
    failed.clear();
    const auto got = snapshot_pools(via, registry_, ids_, head.value, 2, &failed);
    ASSERT_TRUE(got.ok()) << variants[k].what << ": " << got.error.message;
    EXPECT_GT(rewritten.load(), 0) << variants[k].what;
    ASSERT_EQ(failed.size(), 1u) << variants[k].what;
    EXPECT_EQ(failed[0], ids_[victim]) << variants[k].what;
    ASSERT_EQ(got.value.size(), ids_.size() - 1) << variants[k].what;
    for (const auto& s : got.value) {
      const auto at = std::find(ids_.begin(), ids_.end(), protocol::InstrumentId(s.state.pool));
      ASSERT_NE(at, ids_.end());
      EXPECT_TRUE(same(s, truth.value[static_cast<std::size_t>(at - ids_.begin())])) << variants[k].what;
    }
  }
}

}  // namespace
