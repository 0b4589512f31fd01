// End-to-end (labels integration;chain): the local chain fixture (anvil, chain id 137, Uniswap
// V2/V3 venues), TorqArbitrage deployed from the owner account, the real torqd binary in monolith
// mode against it. A deliberate dislocation (15 WETH sold on quickswap's WETH/USDC) must produce
// signals and at least one signed, sent, mined (status 1) execute() whose realized profit equals
// the contract's start-token balance increase to the unit; the audit log must hold the chain
// signal → risk accept → tx → receipt → P&L for it; torqd must exit 0 on SIGTERM. Without a
// profitable dislocation (a tiny swap), with the kill switch engaged, or with an unreachable
// profit threshold, no transaction may be sent. The signing key must never appear in torqd's
// stdout, stderr or audit log. Also: SIGHUP reload of the kill switch (with the operator API
// up), torqd's built-in collector instead of the control library's node session, a key that does
// not own the contract (refused at start-up), and distributed mode (three processes joined by
// shm rings). Exits 77 (skipped) when chain/node_modules is absent.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <simdjson.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "torq/num/usd_fixed.hpp"
#include "torq/ops/client.hpp"
#include "torq/risk/audit_log.hpp"
#include "torq/risk/risk_gates.hpp"
#include "torq/control/chain_client.hpp"
#include "torq/nic/dpdk.hpp"
#include "torq/torqd/hex.hpp"
#include "e2e_harness.hpp"
#include "net_util.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

const std::string kSrc = std::getenv("TORQ_SOURCE_DIR") ? std::getenv("TORQ_SOURCE_DIR") : TORQ_E2E_SOURCE_DIR;

// Processes, JSON and JSON-RPC helpers shared with the other chain tests of torqd.
using torq::e2e::free_udp_port;
using torq::e2e::json_field;
using torq::e2e::read_file;
using torq::e2e::Rpc;
using torq::e2e::run;
using torq::e2e::spawn;
using torq::e2e::wait_exit;
std::string to_hex(const std::uint8_t* d, std::size_t n) { return torq::e2e::hex_of(d, n); }

using torq::e2e::TorqdRun;

// The chain suite (fixture, deployed contract, per-test EVM snapshot, torqd start/stop) plus the
// executor key's hex, which every test checks never leaks.
class TorqdEndToEnd : public torq::e2e::ChainSuite {
 protected:
  static void SetUpTestSuite() {
    start_chain("e2e");
    key_hex_ = read_file(dir_ / "executor.key");
    while (!key_hex_.empty() && (key_hex_.back() == '\n' || key_hex_.back() == ' ')) key_hex_.pop_back();
  }
  static void TearDownTestSuite() { stop_chain(); }
  void SetUp() override {
    ChainSuite::SetUp();
    ASSERT_EQ(key_hex_.size(), 64U);
  }

  // Sells 15 WETH into QuickSwap's WETH/USDC pair (a dislocation torqd can trade) and waits up to
  // 30 s for the contract's USDC balance to move from `before`; returns the balance then.
  std::string dislocate_and_wait(const std::string& before) {
    EXPECT_EQ(json_field(tool("swap --venue quickswap --pair WETH/USDC --sell WETH --amount 15"), "status"), "1");
    std::string after = before;
    for (int i = 0; i < 300 && after == before; ++i) {
      std::this_thread::sleep_for(100ms);
      after = usdc_balance(contract_);
    }
    return after;
  }
  std::string usdc_balance(const std::string& who) { return json_field(tool("balance --token USDC --who " + who), "balance"); }
  // summary.a.b.c as a number (0 when absent, which the equality checks then catch).
  static std::uint64_t json_path_num(const std::string& summary, const char* a, const char* b, const char* c = nullptr) {
    simdjson::dom::parser p;
    simdjson::dom::element doc;
    std::uint64_t v = 0;
    if (p.parse(summary).get(doc) != simdjson::SUCCESS) return 0;
    if ((c != nullptr ? doc[a][b][c].get(v) : doc[a][b].get(v)) != simdjson::SUCCESS) return 0;
    return v;
  }
  void expect_key_absent(const TorqdRun& r) {
    std::string lower = key_hex_;
    std::string upper = key_hex_;
    std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
    for (const std::string* text : {&r.out, &r.err, &r.audit_bytes}) {
      std::string t = *text;
      std::transform(t.begin(), t.end(), t.begin(), ::tolower);
      EXPECT_EQ(t.find(lower), std::string::npos) << "the private key appears in torqd's output or audit log";
      EXPECT_EQ(text->find(upper), std::string::npos);
    }
    // The raw 32 key bytes must not be in the (binary) audit log either.
    auto bytes = torq::torqd::parse_hex_bytes(key_hex_);
    ASSERT_TRUE(bytes.has_value());
    const std::string raw(bytes->begin(), bytes->end());
    EXPECT_EQ(r.audit_bytes.find(raw), std::string::npos) << "raw key bytes in the audit log";
  }

  // A torqd config over the manifest with the operator API on an ephemeral port.
  fs::path write_config(const std::string& name, bool kill, const std::string& extra = "",
                        const std::string& mode = "[mode]\nmode = \"monolith\"\n") {
    const fs::path cfg = dir_ / (name + ".toml");
    {
      std::ofstream(dir_ / "api.token") << "e2e-operator-token-0123456789\n";
      fs::permissions(dir_ / "api.token", fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::replace);
    }
    std::ofstream f(cfg);
    f << "include_manifest = \"" << manifest_ << "\"\n[chain]\nname = \"local\"\nchain_id = 137\n"
      << "[strategy]\nmin_profit_usd = \"0.01\"\n"
      << "[risk]\nmax_notional_usd = \"20000\"\nmax_in_flight = 1\ndaily_loss_usd = \"1000\"\nmax_drawdown_usd = \"2000\"\n"
      << "breaker_reverts = 3\nmax_gas_price_gwei = 1000\nkill_switch = " << (kill ? "true" : "false") << "\n"
      << "[key]\nfile = \"" << (dir_ / "executor.key").string() << "\"\n" << mode
      << "[api]\nbind = \"127.0.0.1\"\nport = 0\ntoken_file = \"" << (dir_ / "api.token").string() << "\"\n"
      << "audit_file = \"" << (dir_ / (name + "-operator-audit.jsonl")).string() << "\"\n"
      << extra;
    return cfg;
  }
  // The operator API port torqd printed on stderr (0 if none).
  int api_port(const std::string& name) {
    const std::string err = read_file(dir_ / (name + ".err"));
    const auto at = err.find("operator API on port ");
    return at == std::string::npos ? 0 : std::atoi(err.c_str() + at + 21);
  }
  std::string api_get(int port, const std::string& target) {
    const auto r = torq::ops::http_request("http://127.0.0.1:" + std::to_string(port), "GET", target, "e2e-operator-token-0123456789");
    EXPECT_EQ(r.error, torq::ops::ClientError::none) << r.message;
    EXPECT_EQ(r.status, 200U) << target << ": " << r.body;
    return r.body;
  }

  static inline std::string key_hex_;
};

TEST_F(TorqdEndToEnd, ShouldExecuteProfitableArbitrageAndAuditItWhenAPoolIsDislocated) {
  const std::string before = usdc_balance(contract_);
  const pid_t pid = start_torqd("trade", {"--stats-file", (dir_ / "trade.stats.json").string()});
  ASSERT_GT(pid, 0);
  const std::string sw = tool("swap --venue quickswap --pair WETH/USDC --sell WETH --amount 15");
  ASSERT_EQ(json_field(sw, "status"), "1");
  // Wait for the contract's USDC balance to rise (the arbitrage mined), then a little longer
  // for any follow-up trades to settle.
  std::string after = before;
  for (int i = 0; i < 300 && after == before; ++i) {
    std::this_thread::sleep_for(100ms);
    after = usdc_balance(contract_);
  }
  std::this_thread::sleep_for(1500ms);
  const TorqdRun r = stop_torqd("trade", pid);
  after = usdc_balance(contract_);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  ASSERT_FALSE(r.summary.empty()) << r.out << r.err;
  std::printf("%s\n", r.summary.c_str());
  EXPECT_GT(num(r.summary, "signals"), 0U);
  EXPECT_GE(num(r.summary, "signed_txs"), 1U);
  EXPECT_GE(num(r.summary, "sent"), 1U);
  EXPECT_GE(num(r.summary, "included"), 1U);
  EXPECT_EQ(num(r.summary, "reverted"), 0U);
  EXPECT_EQ(num(r.summary, "md_dropped"), 0U);
  EXPECT_EQ(num(r.summary, "decode_errors"), 0U);

  // The contract's USDC rose by exactly the realized profit torqd booked (from Executed events).
  const auto b0 = torq::num::U256::parse(before);
  const auto b1 = torq::num::U256::parse(after);
  ASSERT_TRUE(b0 && b1);
  ASSERT_TRUE(*b0 < *b1) << "contract USDC balance did not rise";
  simdjson::dom::parser p;
  simdjson::dom::element s;
  ASSERT_EQ(p.parse(r.summary).get(s), simdjson::SUCCESS);
  // Every pool's snapshot (V2 reserves, V3 slot0/liquidity/ticks) was accepted by the pool book.
  std::uint64_t inconsistent = 1, overflows = 1, quarantined = 1;
  ASSERT_EQ(s["book"]["inconsistent"].get(inconsistent), simdjson::SUCCESS);
  ASSERT_EQ(s["book"]["tick_overflows"].get(overflows), simdjson::SUCCESS);
  ASSERT_EQ(s["book"]["quarantined_events"].get(quarantined), simdjson::SUCCESS);
  EXPECT_EQ(inconsistent, 0U);
  EXPECT_EQ(overflows, 0U);
  EXPECT_EQ(quarantined, 0U);
  torq::num::U256 booked = torq::num::U256::zero();
  simdjson::dom::object realized;
  ASSERT_EQ(s["realized_profit_raw"].get_object().get(realized), simdjson::SUCCESS);
  for (auto [addr, val] : realized) {
    std::string_view v;
    ASSERT_EQ(val.get(v), simdjson::SUCCESS);
    // Every profit must be in USDC in this scenario (stables are the preferred start tokens).
    booked = booked + torq::num::U256::parse(v).value_or(torq::num::U256::zero());
  }
  EXPECT_EQ((*b1 - *b0).to_string(), booked.to_string()) << "balance increase != booked realized profit";
  EXPECT_GT(std::stoll(json_field(r.summary, "realized_pnl_usd").substr(0, json_field(r.summary, "realized_pnl_usd").find('.'))), 0);

  // Audit log: every record verifies; the chain signal → decision(accept) → tx → receipt → P&L.
  torq::risk::AuditReader reader((dir_ / "trade.audit").string());
  std::map<std::uint64_t, torq::protocol::ArbitrageSignal> signals;
  std::set<std::uint64_t> accepted;
  std::map<std::uint64_t, torq::risk::AuditTransaction> txs;  // by order id
  std::map<std::uint64_t, torq::protocol::ExecutionReport> receipts;
  std::map<std::uint64_t, torq::risk::AuditPnl> pnls;
  torq::risk::AuditRecordView v;
  torq::risk::ReadStatus st;
  while ((st = reader.next(v)) == torq::risk::ReadStatus::Record) {
    torq::protocol::ArbitrageSignal sig;
    torq::risk::AuditDecision d;
    torq::risk::AuditTransaction t;
    torq::protocol::ExecutionReport rep;
    torq::risk::AuditPnl pn;
    if (v.as(sig)) signals[sig.signal_id] = sig;
    if (v.as(d) && d.accepted == 1) accepted.insert(d.signal_id);
    if (v.as(t)) txs[t.order_id] = t;
    if (v.as(rep)) receipts[rep.order_id] = rep;
    if (v.as(pn)) pnls[pn.order_id] = pn;
  }
  EXPECT_EQ(st, torq::risk::ReadStatus::End) << "audit log is torn or corrupt at " << reader.offset();
  ASSERT_FALSE(txs.empty());
  Rpc rpc(http_);
  std::size_t complete_chains = 0;
  for (const auto& [order, t] : txs) {
    EXPECT_TRUE(signals.count(t.signal_id)) << "tx of order " << order << " without its signal record";
    EXPECT_TRUE(accepted.count(t.signal_id)) << "tx of order " << order << " without a risk accept";
    ASSERT_TRUE(receipts.count(order)) << "tx of order " << order << " without a receipt record";
    const auto& rep = receipts[order];
    EXPECT_EQ(rep.tx_hash, t.tx_hash);
    // The transaction is on chain, mined with status 1, sent to the contract from the owner.
    const std::string rc = rpc.call("eth_getTransactionReceipt", "[\"" + to_hex(t.tx_hash.data(), 32) + "\"]");
    EXPECT_EQ(json_field(rc, "status"), "0x1") << rc;
    std::string to = json_field(rc, "to"), from = json_field(rc, "from"), c = contract_, o = owner_;
    for (auto* x : {&to, &from, &c, &o}) std::transform(x->begin(), x->end(), x->begin(), ::tolower);
    EXPECT_EQ(to, c);
    EXPECT_EQ(from, o);
    EXPECT_EQ(rep.status, static_cast<std::uint8_t>(torq::protocol::ExecutionStatus::Included));
    EXPECT_TRUE(pnls.count(order)) << "receipt of order " << order << " without a P&L record";
    if (pnls.count(order)) {
      EXPECT_GT(pnls[order].profit_usd, 0);
      ++complete_chains;
    }
    // Polygon's 25 gwei priority-fee floor (chain id 137) is respected.
    EXPECT_FALSE(t.max_priority_fee_per_gas < torq::num::U256(25'000'000'000ULL));
  }
  EXPECT_GE(complete_chains, 1U);
  expect_key_absent(r);
}

TEST_F(TorqdEndToEnd, ShouldFeedTheOperatorApiWithPoolsOpportunitiesTradesAndLatency) {
  // The operator state model fed from the running pipeline: GET /api/pools, /api/opportunities,
  // /api/trades, /api/latency, /api/risk, /api/pnl on the real torqd after a dislocation is traded.
  const fs::path cfg = write_config("feed", false);
  const std::string before = usdc_balance(contract_);
  const pid_t pid = start_torqd("feed", {"--config", cfg.string()});
  ASSERT_GT(pid, 0);
  const int port = api_port("feed");
  ASSERT_GT(port, 0) << read_file(dir_ / "feed.err");
  const std::string sw = tool("swap --venue quickswap --pair WETH/USDC --sell WETH --amount 15");
  ASSERT_EQ(json_field(sw, "status"), "1");
  const std::string swap_pool = json_field(sw, "pool");
  const std::uint64_t swap_block = std::stoull(json_field(sw, "block"));
  // Wait until the API shows a mined trade (the feed ticks every 200 ms).
  std::string trades;
  for (int i = 0; i < 300; ++i) {
    trades = api_get(port, "/api/trades");
    if (trades.find("\"status\":\"mined\"") != std::string::npos) break;
    std::this_thread::sleep_for(100ms);
  }
  // Follow-up signals and trades settle: two reads 1 s apart that agree.
  std::string opps = api_get(port, "/api/opportunities");
  for (int i = 0; i < 10; ++i) {
    std::this_thread::sleep_for(1000ms);
    const std::string t2 = api_get(port, "/api/trades"), o2 = api_get(port, "/api/opportunities");
    const bool stable = t2 == trades && o2 == opps;
    trades = t2;
    opps = o2;
    if (stable) break;
  }
  const std::string pools = api_get(port, "/api/pools");
  const std::string latency = api_get(port, "/api/latency");
  const std::string risk = api_get(port, "/api/risk");
  const std::string pnl = api_get(port, "/api/pnl");
  const TorqdRun r = stop_torqd("feed", pid);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  ASSERT_FALSE(r.summary.empty());
  std::printf("trades: %s\nlatency (stages): %s\n", trades.c_str(), latency.substr(0, 600).c_str());

  simdjson::dom::parser p;
  // Pools: every manifest pool, with venue/tokens; the swapped pool updated at (or after) the swap's block.
  simdjson::dom::array pa;
  ASSERT_EQ(p.parse(pools).get_array().get(pa), simdjson::SUCCESS) << pools;
  EXPECT_EQ(pa.size(), 17U);
  bool swapped_seen = false;
  for (auto row : pa) {
    std::string_view addr, venue, t0;
    std::uint64_t last = 0;
    ASSERT_EQ(row["address"].get(addr), simdjson::SUCCESS);
    ASSERT_EQ(row["venue"].get(venue), simdjson::SUCCESS);
    ASSERT_EQ(row["token0"].get(t0), simdjson::SUCCESS);
    ASSERT_EQ(row["last_update_block"].get(last), simdjson::SUCCESS);
    EXPECT_FALSE(venue.empty());
    EXPECT_NE(t0, "?");
    EXPECT_GT(last, 0U) << addr << ": no snapshot block";  // every pool was snapshotted
    bool q = true;
    ASSERT_EQ(row["quarantined"].get(q), simdjson::SUCCESS);
    EXPECT_FALSE(q);
    std::string a(addr), b = swap_pool;
    std::transform(b.begin(), b.end(), b.begin(), ::tolower);
    if (a == b) {
      swapped_seen = true;
      EXPECT_GE(last, swap_block);
    }
  }
  EXPECT_TRUE(swapped_seen) << "the dislocated pool is not in /api/pools";

  // Opportunities: the signals with path, size and a decision; at least one taken.
  simdjson::dom::array oa;
  ASSERT_EQ(p.parse(opps).get_array().get(oa), simdjson::SUCCESS) << opps;
  EXPECT_GT(oa.size(), 0U);
  std::size_t taken = 0, on_dislocated_venue = 0;
  for (auto row : oa) {
    std::string_view path, size, decision;
    ASSERT_EQ(row["path"].get(path), simdjson::SUCCESS);
    ASSERT_EQ(row["size"].get(size), simdjson::SUCCESS);
    ASSERT_EQ(row["decision"].get(decision), simdjson::SUCCESS);
    EXPECT_NE(path.find(" >"), std::string_view::npos) << path;
    EXPECT_NE(size, "0");
    if (path.find(">quickswap_v2>") != std::string_view::npos) ++on_dislocated_venue;
    if (decision == "taken") ++taken;
  }
  EXPECT_GE(taken, 1U);
  EXPECT_GE(on_dislocated_venue, 1U);
  EXPECT_EQ(oa.size(), num(r.summary, "signals_received")) << "an opportunity row per signal the executor saw";

  // Trades: the mined hash is the one on chain (status 1) and realized P&L equals the booked value.
  simdjson::dom::array ta;
  ASSERT_EQ(p.parse(trades).get_array().get(ta), simdjson::SUCCESS) << trades;
  ASSERT_GT(ta.size(), 0U);
  EXPECT_EQ(ta.size(), num(r.summary, "sent"));
  torq::num::UsdFixedPoint8 realized_sum{0};
  std::size_t mined = 0;
  Rpc rpc(http_);
  for (auto row : ta) {
    std::string_view hash, status, realized;
    ASSERT_EQ(row["hash"].get(hash), simdjson::SUCCESS);
    ASSERT_EQ(row["status"].get(status), simdjson::SUCCESS);
    EXPECT_EQ(status, "mined");
    ASSERT_EQ(row["realized_pnl_usd"].get(realized), simdjson::SUCCESS) << "realized P&L missing for " << hash;
    const auto v = torq::num::parse_usd(realized);
    ASSERT_TRUE(v.has_value()) << realized;
    realized_sum = torq::num::UsdFixedPoint8{realized_sum.raw + v->raw};
    const std::string rc = rpc.call("eth_getTransactionReceipt", "[\"" + std::string(hash) + "\"]");
    EXPECT_EQ(json_field(rc, "status"), "0x1") << hash;
    std::uint64_t block = 0;
    ASSERT_EQ(row["block"].get(block), simdjson::SUCCESS);
    EXPECT_EQ(torq::torqd::parse_hex_u64(json_field(rc, "blockNumber")).value_or(0), block);
    ++mined;
  }
  EXPECT_GE(mined, 1U);
  EXPECT_EQ(realized_sum.to_string(), json_field(r.summary, "realized_pnl_usd")) << "trade rows vs booked realized P&L";
  simdjson::dom::element pe;
  ASSERT_EQ(p.parse(pnl).get(pe), simdjson::SUCCESS);
  std::string_view cum;
  ASSERT_EQ(pe["cumulative_usd"].get(cum), simdjson::SUCCESS);
  EXPECT_EQ(std::string(cum), json_field(r.summary, "realized_pnl_usd"));

  // Latency: per-stage histograms with samples for risk, sign, tick→signal and submit→mined.
  simdjson::dom::array la;
  ASSERT_EQ(p.parse(latency).get_array().get(la), simdjson::SUCCESS) << latency;
  std::map<std::string, std::uint64_t> counts;
  for (auto row : la) {
    std::string_view stage;
    std::uint64_t count = 0, p50 = 0;
    ASSERT_EQ(row["stage"].get(stage), simdjson::SUCCESS);
    ASSERT_EQ(row["count"].get(count), simdjson::SUCCESS);
    ASSERT_EQ(row["p50_ns"].get(p50), simdjson::SUCCESS);
    EXPECT_GT(p50, 0U) << stage;
    counts[std::string(stage)] = count;
  }
  EXPECT_EQ(counts["tick_to_signal"], num(r.summary, "signals_received"));
  EXPECT_GT(counts["search"], 0U);
  EXPECT_GT(counts["risk"], 0U);
  EXPECT_EQ(counts["sign"], num(r.summary, "signed_txs"));
  EXPECT_EQ(counts["submit_to_mined"], num(r.summary, "included"));

  // Risk: limits and the reject counters (MaxInFlight while our trade was in flight, or none).
  simdjson::dom::element re;
  ASSERT_EQ(p.parse(risk).get(re), simdjson::SUCCESS) << risk;
  simdjson::dom::element limits;
  EXPECT_EQ(re["limits"].get(limits), simdjson::SUCCESS) << risk;
  expect_key_absent(r);
}

TEST_F(TorqdEndToEnd, ShouldSendNoTransactionWhenNoPoolIsDislocated) {
  const std::string before = usdc_balance(contract_);
  // The executor's core is one this machine does not have: torqd says so at start-up (its
  // placement check names the role and the cpu) and runs it unpinned.
  const pid_t pid = start_torqd("quiet", {"--core-executor", "4000"});
  ASSERT_GT(pid, 0);
  // A $3 swap: events flow, nothing is worth trading after gas.
  ASSERT_EQ(json_field(tool("swap --venue quickswap --pair WETH/USDC --sell WETH --amount 0.001"), "status"), "1");
  ASSERT_EQ(json_field(tool("swap --venue sushiswap --pair WETH/USDC --sell USDC --amount 3"), "status"), "1");
  std::this_thread::sleep_for(1500ms);
  const TorqdRun r = stop_torqd("quiet", pid);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  ASSERT_FALSE(r.summary.empty());
  EXPECT_GT(num(r.summary, "logs"), 0U) << "the swaps' events did not reach torqd";
  EXPECT_EQ(num(r.summary, "signed_txs"), 0U) << r.summary;
  EXPECT_EQ(num(r.summary, "sent"), 0U);
  EXPECT_EQ(usdc_balance(contract_), before);
  EXPECT_NE(r.err.find("cores: unknown_cpu: executor (cpu 4000): not a usable cpu of this machine"), std::string::npos) << r.err;
  expect_key_absent(r);
}

TEST_F(TorqdEndToEnd, ShouldSendNoTransactionWhenTheKillSwitchIsEngaged) {
  const pid_t pid = start_torqd("killed", {"--kill-switch"});
  ASSERT_GT(pid, 0);
  ASSERT_EQ(json_field(tool("swap --venue quickswap --pair WETH/USDC --sell WETH --amount 15"), "status"), "1");
  std::this_thread::sleep_for(2000ms);
  const TorqdRun r = stop_torqd("killed", pid);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_GT(num(r.summary, "signals_received"), 0U) << r.summary;
  EXPECT_EQ(num(r.summary, "risk_accepted"), 0U);
  EXPECT_GT(num(r.summary, "risk_rejected"), 0U);
  EXPECT_EQ(num(r.summary, "signed_txs"), 0U);
  EXPECT_EQ(num(r.summary, "sent"), 0U);
  // Every decision in the audit log is a KillSwitch rejection.
  torq::risk::AuditReader reader((dir_ / "killed.audit").string());
  torq::risk::AuditRecordView v;
  std::size_t decisions = 0;
  while (reader.next(v) == torq::risk::ReadStatus::Record) {
    torq::risk::AuditDecision d;
    torq::risk::AuditTransaction t;
    EXPECT_FALSE(v.as(t)) << "a transaction record with the kill switch engaged";
    if (v.as(d)) {
      ++decisions;
      EXPECT_EQ(d.accepted, 0);
      EXPECT_EQ(d.reason, static_cast<std::uint8_t>(torq::risk::RejectReason::KillSwitch));
    }
  }
  EXPECT_GT(decisions, 0U);
  expect_key_absent(r);
}

TEST_F(TorqdEndToEnd, ShouldSendNoTransactionWhenProfitIsBelowTheThreshold) {
  const pid_t pid = start_torqd("threshold", {"--min-profit-usd", "1000000"});
  ASSERT_GT(pid, 0);
  ASSERT_EQ(json_field(tool("swap --venue quickswap --pair WETH/USDC --sell WETH --amount 15"), "status"), "1");
  std::this_thread::sleep_for(1500ms);
  const TorqdRun r = stop_torqd("threshold", pid);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_GT(num(r.summary, "logs"), 0U);
  EXPECT_EQ(num(r.summary, "signed_txs"), 0U) << r.summary;
  EXPECT_EQ(num(r.summary, "sent"), 0U);
  expect_key_absent(r);
}

TEST_F(TorqdEndToEnd, ShouldRefuseToStartWhenTheKeyDoesNotOwnTheContract) {
  // The deployer's key (not the owner): torqd must refuse at start-up, exit non-zero, and still
  // not print the key.
  const std::string keys = read_file(fs::path(manifest_).replace_extension("").string() + ".keys.json");
  simdjson::dom::parser p;
  simdjson::dom::element k;
  ASSERT_EQ(p.parse(keys).get(k), simdjson::SUCCESS);
  std::string other;
  for (auto a : k["accounts"].get_array()) {
    std::string_view role, pk;
    if (a["role"].get(role) == simdjson::SUCCESS && role == "deployer" && a["privateKey"].get(pk) == simdjson::SUCCESS)
      other = std::string(pk.substr(2));
  }
  ASSERT_EQ(other.size(), 64U);
  const fs::path kf = dir_ / "deployer.key";
  { std::ofstream(kf) << other << "\n"; }
  fs::permissions(kf, fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::replace);
  const pid_t pid = spawn({TORQD_PATH, "--manifest", manifest_, "--key-file", kf.string(), "--contract", contract_, "--audit",
                           (dir_ / "wrong.audit").string()},
                          dir_ / "wrong.out", dir_ / "wrong.err");
  const int code = wait_exit(pid, 30s);
  const std::string err = read_file(dir_ / "wrong.err");
  EXPECT_EQ(code, 1) << err;
  EXPECT_NE(err.find("is owned by"), std::string::npos) << err;
  EXPECT_EQ(err.find(other), std::string::npos);
}

TEST_F(TorqdEndToEnd, ShouldApplyReloadedRiskSettingsOnSighup) {
  // Start killed from the config file, then release the kill switch by editing the file and
  // sending SIGHUP: the dislocation that was refused before is traded after the reload.
  const fs::path cfg = dir_ / "reload.toml";
  auto write_config = [&](bool kill) { (void)TorqdEndToEnd::write_config("reload", kill); };
  write_config(true);
  const std::string before = usdc_balance(contract_);
  const pid_t pid = start_torqd("reload", {"--config", cfg.string()});
  ASSERT_GT(pid, 0);
  ASSERT_EQ(json_field(tool("swap --venue quickswap --pair WETH/USDC --sell WETH --amount 15"), "status"), "1");
  std::this_thread::sleep_for(1500ms);
  write_config(false);
  ::kill(pid, SIGHUP);
  std::this_thread::sleep_for(700ms);
  // New market data on the dislocated pool makes the engine re-evaluate its cycles.
  ASSERT_EQ(json_field(tool("swap --venue quickswap --pair WETH/USDC --sell WETH --amount 0.01"), "status"), "1");
  std::string after = before;
  for (int i = 0; i < 100 && after == before; ++i) {
    std::this_thread::sleep_for(100ms);
    after = usdc_balance(contract_);
  }
  const TorqdRun r = stop_torqd("reload", pid);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("SIGHUP: reloaded"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("operator API on port"), std::string::npos) << r.err;
  EXPECT_GT(num(r.summary, "risk_rejected"), 0U) << r.summary;  // while killed
  EXPECT_GE(num(r.summary, "included"), 1U) << r.summary;       // after the reload
  EXPECT_NE(after, before);
  expect_key_absent(r);
}

TEST_F(TorqdEndToEnd, ShouldExecuteProfitableArbitrageWithTheBuiltinCollector) {
  // torqd's own collector (full tick-bitmap snapshot through batched eth_call) instead of the
  // control library's node session: same trade, same profit accounting.
  const std::string before = usdc_balance(contract_);
  const pid_t pid = start_torqd("builtin", {"--collector", "builtin", "--idle", "spin"});
  ASSERT_GT(pid, 0);
  std::string after = dislocate_and_wait(before);
  std::this_thread::sleep_for(500ms);
  const TorqdRun r = stop_torqd("builtin", pid);
  after = usdc_balance(contract_);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::printf("%s\n", r.summary.c_str());
  EXPECT_NE(r.err.find("initialized ticks"), std::string::npos) << r.err;
  EXPECT_GE(num(r.summary, "included"), 1U) << r.summary;
  EXPECT_EQ(num(r.summary, "reverted"), 0U);
  const auto b0 = torq::num::U256::parse(before);
  const auto b1 = torq::num::U256::parse(after);
  ASSERT_TRUE(b0 && b1 && *b0 < *b1);
  simdjson::dom::parser p;
  simdjson::dom::element s;
  ASSERT_EQ(p.parse(r.summary).get(s), simdjson::SUCCESS);
  std::string_view usdc_profit;
  std::string usdc_addr;
  for (auto [k, v] : s["realized_profit_raw"].get_object()) {
    usdc_addr = std::string(k);
    ASSERT_EQ(v.get(usdc_profit), simdjson::SUCCESS);
  }
  EXPECT_EQ((*b1 - *b0).to_string(), std::string(usdc_profit));
  expect_key_absent(r);
}

TEST_F(TorqdEndToEnd, ShouldTradeWhenRolesRunAsSeparateProcessesOverShmRings) {
  // Distributed mode: collector, strategy and executor as three torqd processes joined by
  // shared-memory rings (mycelium "shm:/" links), chosen by configuration only.
  const std::string tag = std::to_string(::getpid());
  const std::string md = "shm:/torqd-e2e-" + tag + "-md?unlink=1";
  const std::string sig = "shm:/torqd-e2e-" + tag + "-sig?unlink=1";
  const std::string before = usdc_balance(contract_);
  const pid_t ex = start_torqd("dist-executor", {"--role", "executor", "--signal-link", sig});
  ASSERT_GT(ex, 0);
  // The other roles get the key in their environment too, as from a shared systemd
  // EnvironmentFile: they must drop it (wiped and unset), and the executor must not be dumpable.
  ::setenv("TORQ_E2E_SHARED_KEY", key_hex_.c_str(), 1);
  const pid_t st = start_torqd("dist-strategy", {"--role", "strategy", "--md-link", md, "--signal-link", sig,
                                                 "--key-env", "TORQ_E2E_SHARED_KEY"});
  const pid_t co = start_torqd("dist-collector", {"--role", "collector", "--md-link", md, "--key-env", "TORQ_E2E_SHARED_KEY"});
  ::unsetenv("TORQ_E2E_SHARED_KEY");
  ASSERT_GT(st, 0);
  ASSERT_GT(co, 0);
  std::string after = dislocate_and_wait(before);
  std::this_thread::sleep_for(500ms);
  for (const pid_t p : {st, co}) {
    const std::string env = read_file("/proc/" + std::to_string(p) + "/environ");
    EXPECT_FALSE(env.empty());
    EXPECT_EQ(env.find(key_hex_), std::string::npos) << "a role that does not sign kept the key in its environment";
  }
  const std::string limits = read_file("/proc/" + std::to_string(ex) + "/limits");
  std::istringstream core(limits.substr(std::min(limits.size(), limits.find("Max core file size"))));
  std::string w1, w2, w3, w4, soft, hard;
  core >> w1 >> w2 >> w3 >> w4 >> soft >> hard;
  EXPECT_EQ(soft + "/" + hard, "0/0") << "the executor may write a core file with its key in it:\n" << limits;
  const TorqdRun rc = stop_torqd("dist-collector", co);
  const TorqdRun rs = stop_torqd("dist-strategy", st);
  const TorqdRun re = stop_torqd("dist-executor", ex);
  EXPECT_EQ(rc.exit_code, 0) << rc.err;
  EXPECT_EQ(rs.exit_code, 0) << rs.err;
  EXPECT_EQ(re.exit_code, 0) << re.err;
  EXPECT_GT(num(rc.summary, "logs"), 0U) << rc.summary;
  EXPECT_GT(num(rs.summary, "signals"), 0U) << rs.summary;
  EXPECT_EQ(num(re.summary, "signals_received"), num(rs.summary, "signals")) << "signals lost between processes";
  EXPECT_GE(num(re.summary, "included"), 1U) << re.summary;
  EXPECT_EQ(num(re.summary, "reverted"), 0U);
  EXPECT_NE(after, before);
  EXPECT_FALSE(fs::exists("/dev/shm/torqd-e2e-" + tag + "-md")) << "shm ring left behind";
  for (const TorqdRun* r : {&rc, &rs, &re}) expect_key_absent(*r);
}

TEST_F(TorqdEndToEnd, ShouldTradeWhenRolesRunAsSeparateProcessesOverUdp) {
  // Distributed over the network: market data collector → strategy and signals strategy →
  // executor both cross udp:// links (kernel sockets on loopback), each bridged to the stage's
  // local ring. The strategy process takes its roles (strategy + dashboard) and links from the
  // config file's [mode]; the others from the command line.
  const std::string md = "udp://127.0.0.1:" + std::to_string(free_udp_port());
  const std::string sig = "udp://127.0.0.1:" + std::to_string(free_udp_port());
  const fs::path cfg = write_config("udp-strategy", false, "",
                                    "[mode]\nmode = \"distributed\"\nroles = [\"strategy\", \"dashboard\"]\n[mode.links]\n"
                                    "market_data = \"" + md + "\"\nsignals = \"" + sig + "\"\n");
  const std::string before = usdc_balance(contract_);
  const pid_t ex = start_torqd("udp-executor", {"--role", "executor", "--signal-link", sig});
  ASSERT_GT(ex, 0);
  const pid_t st = start_torqd("udp-strategy", {"--config", cfg.string()});
  ASSERT_GT(st, 0);
  const pid_t co = start_torqd("udp-collector", {"--role", "collector", "--md-link", md});
  ASSERT_GT(co, 0);
  EXPECT_EQ(api_port("udp-executor"), 0) << "a role without dashboard serves no operator API";
  const int port = api_port("udp-strategy");
  ASSERT_GT(port, 0) << read_file(dir_ / "udp-strategy.err");
  std::string after = dislocate_and_wait(before);
  std::this_thread::sleep_for(500ms);
  EXPECT_NE(api_get(port, "/api/status").find("\"roles\":\"strategy+dashboard\""), std::string::npos);
  const std::string metrics = api_get(port, "/metrics");
  EXPECT_NE(metrics.find("torq_sequence_gaps_total 0"), std::string::npos) << metrics.substr(0, 2000);
  const TorqdRun rc = stop_torqd("udp-collector", co);
  const TorqdRun rs = stop_torqd("udp-strategy", st);
  const TorqdRun re = stop_torqd("udp-executor", ex);
  EXPECT_EQ(rc.exit_code, 0) << rc.err;
  EXPECT_EQ(rs.exit_code, 0) << rs.err;
  EXPECT_EQ(re.exit_code, 0) << re.err;
  EXPECT_NE(rs.err.find("kernel udp, 1 line"), std::string::npos) << rs.err;
  // Every market-data frame the collector sent reached the strategy's ring, without a gap.
  EXPECT_GT(num(rc.summary, "md_frames"), 0U) << rc.summary;
  EXPECT_EQ(json_path_num(rc.summary, "links", "market_data_out", "frames"),
            json_path_num(rs.summary, "links", "market_data_in", "frames")) << rc.summary << "\n" << rs.summary;
  EXPECT_EQ(json_path_num(rs.summary, "links", "market_data_in", "gaps"), 0U) << rs.summary;
  EXPECT_EQ(json_path_num(rs.summary, "links", "market_data_in", "duplicates"), 0U) << rs.summary;
  // Snapshots are split so that no datagram exceeds an Ethernet MTU's payload.
  EXPECT_GT(json_path_num(rc.summary, "links", "market_data_out", "largest"), 0U);
  EXPECT_LE(json_path_num(rc.summary, "links", "market_data_out", "largest"), 1472U) << rc.summary;
  // ... and every initialized tick the collector snapshotted is in the strategy's book (the swap
  // initializes no tick; a snapshot split over several frames: torqd_links_test).
  EXPECT_GT(num(rc.summary, "snapshot_ticks"), 0U) << rc.summary;
  EXPECT_EQ(json_path_num(rs.summary, "book", "ticks"), num(rc.summary, "snapshot_ticks")) << rs.summary;
  EXPECT_EQ(num(rs.summary, "strategy_frames"), json_path_num(rs.summary, "links", "market_data_in", "frames"));
  EXPECT_GT(num(rs.summary, "signals"), 0U) << rs.summary;
  EXPECT_EQ(num(re.summary, "signals_received"), num(rs.summary, "signals")) << "signals lost between processes";
  EXPECT_EQ(json_path_num(re.summary, "links", "signals_in", "gaps"), 0U) << re.summary;
  EXPECT_GE(num(re.summary, "included"), 1U) << re.summary;
  EXPECT_EQ(num(re.summary, "reverted"), 0U);
  EXPECT_NE(after, before);
  for (const TorqdRun* r : {&rc, &rs, &re}) expect_key_absent(*r);
}

TEST_F(TorqdEndToEnd, ShouldShowTheWholeDeploymentInAStandaloneDashboardProcess) {
  // Distributed with the dashboard as its own process: collector, strategy and executor each serve
  // their own operator API (--api-port, or [api] serve_own); a fourth torqd with the dashboard role alone polls them
  // ([dashboard] upstreams), serves the merged view and forwards the operator's commands.
  const std::string tag = std::to_string(::getpid());
  const std::string md = "shm:/torqd-e2e-" + tag + "-agg-md?unlink=1";
  const std::string sig = "shm:/torqd-e2e-" + tag + "-agg-sig?unlink=1";
  const std::string before = usdc_balance(contract_);
  std::vector<pid_t> pids;
  std::vector<std::string> upstreams;
  for (const auto& [name, args] : std::vector<std::pair<std::string, std::vector<std::string>>>{
           {"agg-executor", {"--role", "executor", "--signal-link", sig}},
           {"agg-strategy", {"--role", "strategy", "--md-link", md, "--signal-link", sig}},
           {"agg-collector", {"--role", "collector", "--md-link", md}}}) {
    // The collector serves its API from its config ([api] serve_own, port 0), the others from --api-port.
    const bool by_config = name == "agg-collector";
    std::vector<std::string> a = {"--config", write_config(name, false, by_config ? "serve_own = true\n" : "").string()};
    if (!by_config) a.insert(a.end(), {"--api-port", "0"});
    a.insert(a.end(), args.begin(), args.end());
    pids.push_back(start_torqd(name, a));
    ASSERT_GT(pids.back(), 0);
    const int port = api_port(name);
    ASSERT_GT(port, 0) << name << " serves no API with --api-port: " << read_file(dir_ / (name + ".err"));
    upstreams.push_back("http://127.0.0.1:" + std::to_string(port));
  }
  const fs::path dcfg = write_config("agg-dash", false,
                                     "[dashboard]\npoll_ms = 100\nupstreams = [\"" + upstreams[0] + "\", \"" + upstreams[1] + "\", \"" +
                                         upstreams[2] + "\"]\n");
  const pid_t dash = start_torqd("agg-dash", {"--config", dcfg.string(), "--role", "dashboard"});
  ASSERT_GT(dash, 0);
  const int port = api_port("agg-dash");
  ASSERT_GT(port, 0) << read_file(dir_ / "agg-dash.err");
  const std::string url = "http://127.0.0.1:" + std::to_string(port);
  bool ready = false;
  for (int i = 0; i < 300 && !ready; ++i) {
    ready = torq::ops::http_request(url, "GET", "/readyz", "").status == 200;
    if (!ready) std::this_thread::sleep_for(100ms);
  }
  ASSERT_TRUE(ready) << api_get(port, "/api/status");

  // A dislocation traded by the three processes shows up in the one dashboard.
  EXPECT_NE(dislocate_and_wait(before), before);
  std::string trades;
  for (int i = 0; i < 100; ++i) {
    trades = api_get(port, "/api/trades");
    if (trades.find("\"status\":\"mined\"") != std::string::npos) break;
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_NE(trades.find("\"status\":\"mined\""), std::string::npos) << trades;
  const std::string status = api_get(port, "/api/status");
  EXPECT_NE(status.find("\"roles\":\"dashboard\""), std::string::npos) << status;
  for (const char* r : {"executor", "strategy", "collector"})
    EXPECT_NE(status.find(std::string("\"roles\":\"") + r + "\",\"up\":true"), std::string::npos) << r << ": " << status;
  EXPECT_NE(status.find("\"name\":\"collector:market_data\""), std::string::npos) << status;
  simdjson::dom::parser p;
  simdjson::dom::array pa;
  const std::string pools = api_get(port, "/api/pools");
  ASSERT_EQ(p.parse(pools).get_array().get(pa), simdjson::SUCCESS) << pools;
  EXPECT_EQ(pa.size(), 17U);
  for (auto row : pa) {
    std::uint64_t last = 0;
    ASSERT_EQ(row["last_update_block"].get(last), simdjson::SUCCESS);
    EXPECT_GT(last, 0U) << "pool freshness is the collector's";
  }
  const std::string latency = api_get(port, "/api/latency");
  EXPECT_NE(latency.find("\"stage\":\"search\""), std::string::npos) << "the strategy process's stage: " << latency.substr(0, 400);
  EXPECT_NE(latency.find("\"stage\":\"tick_to_signal\""), std::string::npos) << "the executor process's stage";
  EXPECT_NE(api_get(port, "/api/pnl").find("\"trades_won\":1"), std::string::npos);
  const std::string metrics = api_get(port, "/metrics");
  EXPECT_NE(metrics.find("torq_upstream_up{upstream=\"" + upstreams[0] + "\",roles=\"executor\"} 1"), std::string::npos)
      << metrics.substr(0, 1500);
  EXPECT_NE(metrics.find("torq_tx_mined_total 1"), std::string::npos);

  // The kill switch given to the dashboard reaches the executor process; resume releases it.
  const int exec_port = std::stoi(upstreams[0].substr(upstreams[0].rfind(':') + 1));
  const std::string token = "e2e-operator-token-0123456789";
  EXPECT_EQ(torq::ops::http_request(url, "POST", "/api/kill", token, "{\"reason\":\"e2e drill\"}").status, 202U);
  bool killed = false;
  for (int i = 0; i < 50 && !killed; ++i) {
    killed = api_get(exec_port, "/api/status").find("\"kill_switch\":true") != std::string::npos;
    if (!killed) std::this_thread::sleep_for(100ms);
  }
  EXPECT_TRUE(killed) << "the executor did not get the kill";
  EXPECT_NE(read_file(dir_ / "agg-executor-operator-audit.jsonl").find("/api/kill"), std::string::npos);
  EXPECT_EQ(torq::ops::http_request(url, "POST", "/api/resume", token).status, 202U);
  bool resumed = false;
  for (int i = 0; i < 50 && !resumed; ++i) {
    resumed = api_get(exec_port, "/api/status").find("\"kill_switch\":false") != std::string::npos;
    if (!resumed) std::this_thread::sleep_for(100ms);
  }
  EXPECT_TRUE(resumed);

  // The collector stops: the dashboard shows it down and is no longer ready, keeping its pools.
  const TorqdRun rc = stop_torqd("agg-collector", pids[2]);
  bool down = false;
  for (int i = 0; i < 50 && !down; ++i) {
    down = torq::ops::http_request(url, "GET", "/readyz", "").status == 503;
    if (!down) std::this_thread::sleep_for(100ms);
  }
  EXPECT_TRUE(down);
  EXPECT_NE(api_get(port, "/api/status").find("\"roles\":\"collector\",\"up\":false"), std::string::npos);
  EXPECT_EQ(p.parse(api_get(port, "/api/pools")).get_array().get(pa), simdjson::SUCCESS);
  EXPECT_EQ(pa.size(), 17U);

  const TorqdRun rd = stop_torqd("agg-dash", dash);
  const TorqdRun rs = stop_torqd("agg-strategy", pids[1]);
  const TorqdRun re = stop_torqd("agg-executor", pids[0]);
  for (const TorqdRun* r : {&rc, &rs, &re, &rd}) {
    EXPECT_EQ(r->exit_code, 0) << r->err;
    expect_key_absent(*r);
  }
  EXPECT_GE(num(re.summary, "included"), 1U) << re.summary;
}

TEST_F(TorqdEndToEnd, ShouldResolveConfiguredPoolsOnChainAndTradeWithoutAManifest) {
  // A mainnet-style config: no include_manifest; [[endpoints]], [[tokens]], [[venues]] and
  // [[pools]] only (taken here from the fixture's manifest). torqd resolves the pools' tokens,
  // fees and tick spacings on chain at start-up and trades a dislocation.
  simdjson::dom::parser p;
  simdjson::dom::element m;
  ASSERT_EQ(p.load(manifest_).get(m), simdjson::SUCCESS);
  std::ostringstream toml;
  toml << "[chain]\nname = \"local\"\nchain_id = 137\n";
  toml << "[[endpoints]]\nurl = \"" << std::string_view(m["rpc"]["ws"].get_string().value()) << "\"\n";
  toml << "[[endpoints]]\nurl = \"" << std::string_view(m["rpc"]["http"].get_string().value()) << "\"\npriority = 1\n";
  std::map<std::string, std::string> symbol_of;
  for (simdjson::dom::element t : m["tokens"].get_array()) {
    char usd[64];
    std::snprintf(usd, sizeof usd, "%.8f", t["usdPrice"].get_double().value());
    // Renamed (but not the native token, which torqd finds by its symbol) to show the symbols
    // come from [[tokens]] and not from the token contracts.
    const std::string chain_sym(std::string_view(t["symbol"].get_string().value()));
    const std::string sym = chain_sym == "WMATIC" ? chain_sym : chain_sym + ".cfg";
    symbol_of[std::string(std::string_view(t["address"].get_string().value()))] = sym;
    toml << "[[tokens]]\nsymbol = \"" << sym << "\"\naddress = \"" << std::string_view(t["address"].get_string().value())
         << "\"\ndecimals = " << t["decimals"].get_uint64().value() << "\nusd_reference = \"" << usd << "\"\n";
  }
  for (simdjson::dom::element v : m["venues"].get_array()) {
    const std::string_view kind = v["kind"].get_string().value();
    toml << "[[venues]]\nname = \"" << std::string_view(v["name"].get_string().value()) << "\"\nkind = \"" << kind
         << "\"\nfactory = \"" << std::string_view(v["factory"].get_string().value()) << "\"\n" << (kind == "v2" ? "fee = 3000\n" : "");
  }
  std::vector<std::pair<std::string, std::string>> want;  // address -> "fee/tickSpacing"
  for (simdjson::dom::element pool : m["pools"].get_array()) {
    const std::string addr(std::string_view(pool["address"].get_string().value()));
    toml << "[[pools]]\nvenue = \"" << std::string_view(pool["venue"].get_string().value()) << "\"\naddress = \"" << addr << "\"\n";
    std::int64_t ts = 0;
    if (pool["tickSpacing"].get(ts) != simdjson::SUCCESS) ts = 0;
    want.emplace_back(addr, std::to_string(pool["fee"].get_uint64().value()) + "/" + std::to_string(ts));
  }
  toml << "[strategy]\nmin_profit_usd = \"0.01\"\n[risk]\nmax_notional_usd = \"20000\"\nmax_in_flight = 1\n"
       << "daily_loss_usd = \"1000\"\nmax_drawdown_usd = \"2000\"\nbreaker_reverts = 3\nmax_gas_price_gwei = 1000\n"
       << "[key]\nfile = \"" << (dir_ / "executor.key").string() << "\"\n"
       << "[api]\nbind = \"127.0.0.1\"\nport = 0\ntoken_file = \"" << (dir_ / "api.token").string() << "\"\n";
  (void)write_config("unused", false);  // writes api.token
  const fs::path cfg = dir_ / "nomanifest.toml";
  std::ofstream(cfg) << toml.str();
  const std::string before = usdc_balance(contract_);
  const pid_t pid = start_torqd("nomanifest", {"--config", cfg.string()}, false);
  ASSERT_GT(pid, 0);
  // The resolved list (next to the audit log) matches the fixture's pools.
  const fs::path resolved = dir_ / "torq-pools-137.json";
  ASSERT_TRUE(fs::exists(resolved)) << read_file(dir_ / "nomanifest.err");
  // It names the node URLs (a provider's API key may be in them): owner-only, whatever the umask.
  EXPECT_EQ(fs::status(resolved).permissions() & fs::perms::all, fs::perms::owner_read | fs::perms::owner_write);
  simdjson::dom::parser rp;
  simdjson::dom::element r;
  ASSERT_EQ(rp.load(resolved.string()).get(r), simdjson::SUCCESS);
  std::map<std::string, std::string> got;
  for (simdjson::dom::element pool : r["pools"].get_array()) {
    std::int64_t ts = 0;
    if (pool["tickSpacing"].get(ts) != simdjson::SUCCESS) ts = 0;
    std::string a(std::string_view(pool["address"].get_string().value()));
    std::transform(a.begin(), a.end(), a.begin(), ::tolower);
    got[a] = std::to_string(pool["fee"].get_uint64().value()) + "/" + std::to_string(ts);
  }
  ASSERT_EQ(got.size(), want.size());
  for (auto [addr, fee_ts] : want) {
    std::transform(addr.begin(), addr.end(), addr.begin(), ::tolower);
    EXPECT_EQ(got[addr], fee_ts) << addr;
  }
  for (simdjson::dom::element t : r["tokens"].get_array()) {
    const std::string sym(std::string_view(t["symbol"].get_string().value()));
    EXPECT_TRUE(sym == "WMATIC" || sym.ends_with(".cfg")) << sym << ": symbols come from [[tokens]]";
  }
  std::string after = dislocate_and_wait(before);
  const TorqdRun run = stop_torqd("nomanifest", pid);
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_GE(num(run.summary, "included"), 1U) << run.summary;
  EXPECT_EQ(num(run.summary, "reverted"), 0U);
  EXPECT_NE(after, before);
}

TEST_F(TorqdEndToEnd, ShouldTakeTheShippedMainnetConfigUpToResolvingItsPoolsOnChain) {
  // config/polygon-mainnet.toml as an operator runs it (secrets and URLs from the environment),
  // pointed at the local node: every setting is accepted and torqd goes on to resolve the real
  // mainnet pools on chain, which do not exist here: it stops there, naming the pool.
  simdjson::dom::parser p;
  simdjson::dom::element m;
  ASSERT_EQ(p.load(manifest_).get(m), simdjson::SUCCESS);
  (void)write_config("unused", false);  // writes api.token
  const std::string ws(std::string_view(m["rpc"]["ws"].get_string().value()));
  ::setenv("POLYGON_WSS_URL", ws.c_str(), 1);
  ::setenv("POLYGON_HTTPS_URL", http_.c_str(), 1);
  ::setenv("TORQ_SIGNER_KEY", key_hex_.c_str(), 1);
  ::setenv("TORQ_CONTRACT", contract_.c_str(), 1);
  ::setenv("TORQ_API_TOKEN_FILE", (dir_ / "api.token").c_str(), 1);
  ::setenv("TORQ_STATE_DIR", dir_.c_str(), 1);
  const pid_t pid = spawn({TORQD_PATH, "--config", kSrc + "/config/polygon-mainnet.toml"}, dir_ / "mainnet.out", dir_ / "mainnet.err");
  const int rc = wait_exit(pid, 60s);
  for (const char* v : {"POLYGON_WSS_URL", "POLYGON_HTTPS_URL", "TORQ_SIGNER_KEY", "TORQ_CONTRACT", "TORQ_API_TOKEN_FILE", "TORQ_STATE_DIR"})
    ::unsetenv(v);
  const std::string err = read_file(dir_ / "mainnet.err");
  EXPECT_EQ(rc, 1) << err;
  EXPECT_NE(err.find("start-up failed: pool 0x853Ee4b2A13f8a742d64C8F088bE7bA2131f670d token0(): no answer"), std::string::npos) << err;
  EXPECT_EQ(err.find(key_hex_), std::string::npos) << "the key leaked";
}

TEST_F(TorqdEndToEnd, ShouldSnapshotAgainForAStrategyThatJoinsAUdpLinkLate) {
  // Over UDP a receiver that starts after the collector has missed the start-up snapshots. With
  // a request link it asks for them (SnapshotRequest back to the collector, which snapshots every
  // pool again at the head) and then trades like one that was there from the start. Without
  // them its book would hold only the dislocated pool (from its Sync) and find no cycle. The
  // collector takes its links and [mode.resend] limits from a config file.
  const std::string md = "udp://127.0.0.1:" + std::to_string(free_udp_port());
  const std::string req = "udp://127.0.0.1:" + std::to_string(free_udp_port());
  const std::string sig = "shm:/torqd-e2e-" + std::to_string(::getpid()) + "-late-sig?unlink=1";
  const std::string before = usdc_balance(contract_);
  const fs::path cfg = write_config("late-collector", false, "",
                                    "[mode]\nmode = \"distributed\"\nroles = [\"collector\"]\n[mode.links]\nmarket_data = \"" + md +
                                        "\"\nmarket_data_requests = \"" + req + "\"\nsignals = \"" + sig +
                                        "\"\n[mode.resend]\nhistory_frames = 4096\nburst = 512\n");
  const pid_t co = start_torqd("late-collector", {"--config", cfg.string()});
  ASSERT_GT(co, 0);
  std::this_thread::sleep_for(500ms);  // its snapshots have gone out to nobody
  const pid_t st = start_torqd("late-trader", {"--role", "strategy,executor", "--md-link", md, "--md-request-link", req,
                                               "--signal-link", sig});
  ASSERT_GT(st, 0);
  std::this_thread::sleep_for(2s);  // request → resnapshot at the head → frames
  std::string after = dislocate_and_wait(before);
  const TorqdRun rc = stop_torqd("late-collector", co);
  const TorqdRun rs = stop_torqd("late-trader", st);
  EXPECT_EQ(rc.exit_code, 0) << rc.err;
  EXPECT_EQ(rs.exit_code, 0) << rs.err;
  EXPECT_NE(rc.err.find("market data back channel " + req + ": resends from the last 4096 frames, 512 at once, 100000 a second"),
            std::string::npos)
      << rc.err;
  EXPECT_GE(num(rc.summary, "resnapshots_requested"), 1U) << rc.summary;
  EXPECT_GE(json_path_num(rc.summary, "links", "market_data_out", "snapshot_requests"), 1U) << rc.summary;
  EXPECT_GE(json_path_num(rs.summary, "links", "market_data_in", "snapshot_requests"), 1U) << rs.summary;
  EXPECT_GT(num(rs.summary, "signals"), 0U) << rs.summary;
  EXPECT_GE(num(rs.summary, "included"), 1U) << rs.summary;
  EXPECT_NE(after, before);
}

TEST_F(TorqdEndToEnd, ShouldTradeWhenTheStrategyReceivesMarketDataThroughDpdk) {
  // The kernel-bypass path in torqd: the collector sends market data over kernel UDP into a veth
  // pair; the strategy process's [nic] section starts DPDK's EAL (no hugepages) and polls the
  // other end with net_af_packet; the frames reach the strategy ring, the signal the executor.
  if (!torq::nic::dpdk::available()) GTEST_SKIP() << "torqd built without DPDK";
  if (::geteuid() != 0) GTEST_SKIP() << "needs root for a veth pair";
  torq::e2e::VethPair veth;
  if (!veth.ok()) GTEST_SKIP() << "veth pairs unavailable";
  const std::string port = std::to_string(free_udp_port());
  const std::string md = "udp://" + veth.dpdk_ip() + ":" + port;
  const std::string sig = "shm:/torqd-e2e-" + std::to_string(::getpid()) + "-dpdk-sig?unlink=1";
  const fs::path cfg = write_config(
      "dpdk-strategy", false,
      "[nic]\nbackend = \"dpdk\"\n[nic.eal]\nhugepages = \"none\"\nmemory_mb = 256\n"
      "[[nic.lines]]\nname = \"A\"\naddress = \"" + veth.dpdk_ip() + ":" + port + "\"\n"
      "dpdk_device = \"net_af_packet0,iface=" + veth.dpdk_iface() + ",qpairs=1\"\n",
      "[mode]\nmode = \"distributed\"\nroles = [\"strategy\", \"dashboard\"]\n[mode.links]\n"
      "market_data = \"" + md + "\"\nsignals = \"" + sig + "\"\n");
  const std::string before = usdc_balance(contract_);
  const pid_t ex = start_torqd("dpdk-executor", {"--role", "executor", "--signal-link", sig});
  ASSERT_GT(ex, 0);
  const pid_t st = start_torqd("dpdk-strategy", {"--config", cfg.string()});
  ASSERT_GT(st, 0);
  const pid_t co = start_torqd("dpdk-collector", {"--role", "collector", "--md-link", md});
  ASSERT_GT(co, 0);
  std::string after = dislocate_and_wait(before);
  std::this_thread::sleep_for(500ms);
  // The strategy process serves the operator surface: its link bridge is in /metrics and /api/status.
  const int api = api_port("dpdk-strategy");
  ASSERT_GT(api, 0);
  const std::string metrics = api_get(api, "/metrics");
  const std::string frames_in = "torq_link_frames_total{link=\"market_data\",direction=\"in\"} ";
  const auto at = metrics.find(frames_in);
  ASSERT_NE(at, std::string::npos) << metrics;
  EXPECT_GT(std::strtoull(metrics.c_str() + at + frames_in.size(), nullptr, 10), 0ULL);
  EXPECT_NE(metrics.find("torq_link_gaps_total{link=\"market_data\",direction=\"in\"} 0"), std::string::npos) << metrics;
  EXPECT_NE(api_get(api, "/api/status").find("\"links\":[{\"name\":\"market_data\",\"direction\":\"in\""), std::string::npos);
  const TorqdRun rc = stop_torqd("dpdk-collector", co);
  const TorqdRun rs = stop_torqd("dpdk-strategy", st);
  const TorqdRun re = stop_torqd("dpdk-executor", ex);
  EXPECT_EQ(rc.exit_code, 0) << rc.err;
  EXPECT_EQ(rs.exit_code, 0) << rs.err;
  EXPECT_EQ(re.exit_code, 0) << re.err;
  EXPECT_NE(rs.err.find("market data link " + md + ": dpdk, 1 line"), std::string::npos) << rs.err;
  EXPECT_EQ(json_path_num(rc.summary, "links", "market_data_out", "frames"),
            json_path_num(rs.summary, "links", "market_data_in", "frames")) << rc.summary << "\n" << rs.summary;
  EXPECT_EQ(json_path_num(rs.summary, "links", "market_data_in", "gaps"), 0U) << rs.summary;
  EXPECT_GT(num(rs.summary, "signals"), 0U) << rs.summary;
  EXPECT_EQ(num(re.summary, "signals_received"), num(rs.summary, "signals"));
  EXPECT_GE(num(re.summary, "included"), 1U) << re.summary;
  EXPECT_NE(after, before);
}

TEST_F(TorqdEndToEnd, ShouldTradeWhenTheCollectorSendsMarketDataThroughDpdk) {
  // The transmit side of the dataplane: the collector's [nic] tx_device sends the market-data
  // frames through DPDK (net_af_packet on one end of a veth pair, Ethernet/IPv4/UDP written by
  // torq::nic); a strategy+executor process receives them with a kernel socket on the other end.
  if (!torq::nic::dpdk::available()) GTEST_SKIP() << "torqd built without DPDK";
  if (::geteuid() != 0) GTEST_SKIP() << "needs root for a veth pair";
  torq::e2e::VethPair veth;
  if (!veth.ok()) GTEST_SKIP() << "veth pairs unavailable";
  const std::string md = "udp://" + veth.kernel_ip() + ":" + std::to_string(free_udp_port());
  const std::string sig = "shm:/torqd-e2e-" + std::to_string(::getpid()) + "-dpdktx-sig?unlink=1";
  const fs::path cfg = write_config(
      "dpdktx-collector", false,
      "[nic]\nbackend = \"dpdk\"\ntx_device = \"net_af_packet0,iface=" + veth.dpdk_iface() + ",qpairs=1\"\n"
      "tx_src_ip = \"" + veth.dpdk_ip() + "\"\ntx_dst_mac = \"" + veth.kernel_mac() + "\"\n"
      "[nic.eal]\nhugepages = \"none\"\nmemory_mb = 256\n",
      "[mode]\nmode = \"distributed\"\nroles = [\"collector\"]\n[mode.links]\n"
      "market_data = \"" + md + "\"\nsignals = \"" + sig + "\"\n");
  const std::string before = usdc_balance(contract_);
  const pid_t st = start_torqd("dpdktx-trader", {"--role", "strategy,executor", "--md-link", md, "--signal-link", sig});
  ASSERT_GT(st, 0);
  const pid_t co = start_torqd("dpdktx-collector", {"--config", cfg.string()});
  ASSERT_GT(co, 0);
  std::string after = dislocate_and_wait(before);
  std::this_thread::sleep_for(300ms);
  const TorqdRun rc = stop_torqd("dpdktx-collector", co);
  const TorqdRun rs = stop_torqd("dpdktx-trader", st);
  EXPECT_EQ(rc.exit_code, 0) << rc.err;
  EXPECT_EQ(rs.exit_code, 0) << rs.err;
  EXPECT_NE(rc.err.find("sending by dpdk net_af_packet0"), std::string::npos) << rc.err;
  EXPECT_GT(json_path_num(rc.summary, "links", "market_data_out", "frames"), 0U) << rc.summary;
  EXPECT_EQ(json_path_num(rc.summary, "links", "market_data_out", "frames"),
            json_path_num(rs.summary, "links", "market_data_in", "frames")) << rc.summary << "\n" << rs.summary;
  EXPECT_EQ(json_path_num(rs.summary, "links", "market_data_in", "bad"), 0U) << rs.summary;
  EXPECT_GE(num(rs.summary, "included"), 1U) << rs.summary;
  EXPECT_NE(after, before);
}

}  // namespace

int main(int argc, char** argv) {
  if (!fs::exists(kSrc + "/chain/node_modules/ethers")) {
    std::printf("SKIP: chain/node_modules is absent (run: npm ci --prefix chain)\n");
    return 77;
  }
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
