// torqd's executor on the local chain (labels integration;chain): nonces, stuck transactions and
// the risk gates on the real pipeline (the torqd binary, the fixture's anvil, TorqArbitrage).
//
//  - a stuck transaction (automining off, so nothing is mined): torqd replaces it at the same
//    nonce with both fees raised >= 10 % after --replace-after-ms; the replacement is mined, the
//    original hash never gets a receipt, the account's nonce advances by one, the audit log holds
//    both Transaction records (New, Replacement) and the Receipt of the replacement; a gas price
//    ceiling lowered below the next bump stops further replacements (counted, not sent);
//  - a nonce gap: a transaction from the same key sent outside torqd makes its local nonce stale;
//    the node says "nonce too low", torqd resyncs (Nonce record) and the same trade is signed
//    again with the next nonce and mined;
//  - a node that forgets an in-flight transaction (anvil_dropAllTransactions: what a node restart
//    does to its pool): torqd keeps it in flight (a second, unrelated dislocation is refused with
//    MaxInFlight), then resends it at bumped fees and books the receipt;
//  - a send whose answer is lost after the node took the transaction (an RpcProxy forwards the
//    call and drops the connection): torqd follows it by hash, books its receipt, reuses no nonce;
//  - --receipt-confirmations: a trade is booked once a block is on top of its own; one whose
//    block is reorged away (evm_revert) is never booked as included;
//  - the builtin collector (--collector builtin) whose WebSocket is down while the block it last
//    saw is reorged away (evm_revert, then longer empty branch): no removed log announces it, so
//    after the reconnect torqd compares its tip with the node's and unwinds (ReorgNotice);
//  - the risk gates through the operator API on one running torqd: MaxNotional,
//    GasPriceCeiling, KillSwitch (the first decision after the kill is a KillSwitch reject) and a
//    trade once released; the circuit breaker opens after two induced reverts (on-chain minProfit
//    above the expected profit: "Too little profit") and refuses the next signal (CircuitOpen);
//  - the realized-loss gates: one such revert books its gas as a loss; with a $0.000001 daily loss
//    (resp. drawdown) limit every decision on the next dislocation is a DailyLoss (resp. Drawdown)
//    reject; per-token exposure limits of $1 make every decision a TokenExposure reject, and
//    raising them through the operator API lets the next dislocation trade.
// Not here: StaleState (the signal's block and torqd's head come from the same node stream; see
// docs/torqd.md "Missing").
// Every reason code is read from the audit log's Decision records. Exits 77 (skipped) without
// chain/node_modules.
#include <gtest/gtest.h>

#include <set>

#include "../control/session_harness.hpp"
#include "e2e_harness.hpp"
#include "torq/executor/key.hpp"
#include "torq/executor/signer.hpp"
#include "torq/executor/tx.hpp"
#include "torq/num/uint256.hpp"
#include "torq/risk/risk_gates.hpp"

namespace {

using namespace torq::e2e;
using torq::num::U256;
using torq::protocol::ExecutionStatus;
using torq::risk::RejectReason;
using torq::risk::TxKind;

constexpr std::uint8_t kIncluded = static_cast<std::uint8_t>(ExecutionStatus::Included);
constexpr std::uint8_t kReverted = static_cast<std::uint8_t>(ExecutionStatus::Reverted);
constexpr std::uint8_t kFailed = static_cast<std::uint8_t>(ExecutionStatus::Failed);

std::size_t count_kind(const AuditDump& d, TxKind k) {
  return static_cast<std::size_t>(std::count_if(d.txs.begin(), d.txs.end(), [&](const auto& t) { return t.kind == static_cast<std::uint8_t>(k); }));
}
std::size_t count_status(const AuditDump& d, std::uint8_t st) {
  return static_cast<std::size_t>(std::count_if(d.receipts.begin(), d.receipts.end(), [&](const auto& r) { return r.status == st; }));
}
std::size_t count_reason(const AuditDump& d, RejectReason r, std::size_t from = 0) {
  std::size_t n = 0;
  for (std::size_t i = from; i < d.decisions.size(); ++i) n += d.decisions[i].reason == static_cast<std::uint8_t>(r) ? 1 : 0;
  return n;
}
// ceil(a * 110 / 100) <= b: the node's minimum replacement bump on one fee.
bool bumped_10pct(const U256& a, const U256& b) { return !(b * U256(100) < a * U256(110)) && a < b; }

class TorqdExecutorOnChain : public ChainSuite {
 protected:
  static void SetUpTestSuite() { start_chain("nonce"); }
  static void TearDownTestSuite() { stop_chain(); }

  std::uint64_t pending_nonce() {
    Rpc rpc(http_);
    return torq::torqd::parse_hex_u64(torq::torqd::unquote(rpc.call("eth_getTransactionCount", "[\"" + owner_ + "\",\"pending\"]"))).value_or(~0ULL);
  }
  std::string receipt(const std::array<std::uint8_t, 32>& h) {
    Rpc rpc(http_);
    return rpc.call("eth_getTransactionReceipt", "[\"" + hex_of(h.data(), 32) + "\"]");
  }
  // Polls /api/status (every 100 ms, up to 5 s) until it contains `needle`; returns the last answer.
  std::string wait_status(int port, const std::string& needle) {
    std::string st = api(port, "GET", "/api/status");
    for (int i = 0; i < 50 && st.find(needle) == std::string::npos; ++i) {
      std::this_thread::sleep_for(100ms);
      st = api(port, "GET", "/api/status");
    }
    return st;
  }
  void automine(bool on) {
    Rpc rpc(http_);
    (void)rpc.call("evm_setAutomine", on ? "[true]" : "[false]");
  }
  void mine() {
    Rpc rpc(http_);
    (void)rpc.call("evm_mine", "[]");
  }
  // A dislocation: `amount` WETH sold on quickswap's WETH/USDC (mined when automining is on).
  void dislocate(const std::string& amount, bool wait = true) {
    const std::string out = tool("swap --venue quickswap --pair WETH/USDC --sell WETH --amount " + amount + (wait ? "" : " --no-wait 1"));
    if (wait) {
      ASSERT_EQ(json_field(out, "status"), "1") << out;
    }
  }
  // The realized-loss gates: one trade reverts on chain (on-chain minProfit = 2 x the expected
  // profit: "Too little profit"), its gas is booked as a realized loss above `limit_raw`, and every
  // decision on the next dislocation is a reject with `reason`. `risk`: the [risk] keys.
  void expect_loss_gate(const std::string& name, const std::string& risk, RejectReason reason, std::int64_t limit_raw) {
    const pid_t pid = start_torqd(name, {"--config", write_config(name, risk).string(), "--min-profit-share-bps", "20000"});
    ASSERT_GT(pid, 0);
    dislocate("15");
    AuditDump d = wait_audit(name, [](const AuditDump& a) { return count_status(a, kReverted) >= 1; }, 15s);
    ASSERT_EQ(count_status(d, kReverted), 1U) << "the induced revert did not happen";
    const torq::protocol::ExecutionReport rev = *std::find_if(d.receipts.begin(), d.receipts.end(), [](const auto& x) { return x.status == kReverted; });
    EXPECT_LT(rev.realized_pnl_usd, -limit_raw) << "the revert's gas was not booked as a loss above the limit";
    // The receipt record is written after the P&L reached the gates: every later decision sees it.
    const std::size_t before = d.decisions.size();
    const std::size_t txs_before = d.txs.size();
    dislocate("5");
    d = wait_audit(name, [&](const AuditDump& a) { return count_reason(a, reason, before) >= 1; }, 10s);
    ASSERT_GT(d.decisions.size(), before) << "no decision after the loss";
    EXPECT_GE(count_reason(d, reason, before), 1U) << "no reject with reason " << static_cast<int>(reason);
    EXPECT_EQ(count_reason(d, reason, before), d.decisions.size() - before) << "another reason after the loss";
    for (std::size_t i = before; i < d.decisions.size(); ++i) EXPECT_EQ(d.decisions[i].accepted, 0) << "accepted past the loss limit";
    EXPECT_EQ(d.txs.size(), txs_before) << "a transaction was sent past the loss limit";
    const TorqdRun r = stop_torqd(name, pid);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::printf("%s\n", r.summary.c_str());
    EXPECT_EQ(num(r.summary, "reverted"), 1U);
    EXPECT_EQ(num(r.summary, "included"), 0U);
    EXPECT_EQ(json_field(r.summary, "realized_pnl_usd").substr(0, 1), "-") << r.summary;
    EXPECT_EQ(json_field(receipt(rev.tx_hash), "status"), "0x0");
  }
};

TEST_F(TorqdExecutorOnChain, ShouldReplaceAStuckTransactionAtTheSameNonceWithHigherFees) {
  const std::uint64_t n0 = pending_nonce();
  const pid_t pid = start_torqd("stuck", {"--config", write_config("stuck").string(), "--replace-after-ms", "1200",
                                          "--replace-after-blocks", "1000"});
  ASSERT_GT(pid, 0);
  const int port = api_port("stuck");
  ASSERT_GT(port, 0);
  automine(false);
  dislocate("15", false);
  mine();  // the swap only: torqd's trade arrives afterwards and is never mined while automining is off
  AuditDump d = wait_audit("stuck", [](const AuditDump& a) { return count_kind(a, TxKind::Replacement) >= 1; }, 15s);
  ASSERT_GE(count_kind(d, TxKind::New), 1U) << "no trade sent";
  ASSERT_GE(count_kind(d, TxKind::Replacement), 1U) << "the stuck transaction was not replaced";
  const torq::risk::AuditTransaction first = d.txs.front();
  EXPECT_EQ(first.kind, static_cast<std::uint8_t>(TxKind::New));
  EXPECT_EQ(first.nonce, n0);
  // The ceiling drops below the next bump (but above the first replacement's max fee): no further
  // replacement may be sent while the transaction stays stuck.
  const torq::risk::AuditTransaction repl = *std::find_if(d.txs.begin(), d.txs.end(), [](const auto& t) { return t.kind == 2; });
  const std::uint64_t ceiling_gwei = repl.max_fee_per_gas.limb[0] / 1'000'000'000ULL + 1;
  api(port, "POST", "/api/risk", "{\"key\":\"max_gas_price_gwei\",\"value\":\"" + std::to_string(ceiling_gwei) + "\"}");
  std::this_thread::sleep_for(3000ms);  // > 2 replacement periods
  d = read_audit(audit_path("stuck"));
  const std::size_t replacements = count_kind(d, TxKind::Replacement);
  EXPECT_LE(replacements, 2U) << "replacements went on above the gas price ceiling";
  mine();  // now the replacement is mined
  automine(true);
  d = wait_audit("stuck", [](const AuditDump& a) { return count_status(a, kIncluded) >= 1; }, 10s);
  mine();
  std::this_thread::sleep_for(400ms);  // the operator feed copies the counters every 200 ms
  const std::string metrics = api(port, "GET", "/metrics");
  const auto at = metrics.find("\ntorq_tx_replaced_total ");
  ASSERT_NE(at, std::string::npos) << "no torq_tx_replaced_total in /metrics";
  EXPECT_GE(std::atoi(metrics.c_str() + at + 24), 1) << "replacement not counted in /metrics";
  const TorqdRun r = stop_torqd("stuck", pid);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  d = read_audit(audit_path("stuck"));
  EXPECT_EQ(d.status, torq::risk::ReadStatus::End);
  std::printf("%s\n", r.summary.c_str());
  EXPECT_GE(num(r.summary, "replacements"), 1U);
  EXPECT_GE(num(r.summary, "replacement_capped"), 1U) << "the ceiling did not stop a bump";
  EXPECT_EQ(num(r.summary, "reverted"), 0U);

  // Every attempt of the first nonce: same order, same nonce, each bump >= 10 % on both fees,
  // attempt numbers 0, 1, 2, ...; exactly one of them has a receipt (the last one), on chain too.
  std::vector<torq::risk::AuditTransaction> attempts;
  for (const auto& t : d.txs)
    if (t.nonce == first.nonce && t.order_id == first.order_id) attempts.push_back(t);
  ASSERT_GE(attempts.size(), 2U);
  for (std::size_t i = 1; i < attempts.size(); ++i) {
    EXPECT_EQ(attempts[i].kind, static_cast<std::uint8_t>(TxKind::Replacement));
    EXPECT_EQ(attempts[i].attempt, i);
    EXPECT_TRUE(bumped_10pct(attempts[i - 1].max_fee_per_gas, attempts[i].max_fee_per_gas)) << "max fee bump < 10 %";
    EXPECT_TRUE(bumped_10pct(attempts[i - 1].max_priority_fee_per_gas, attempts[i].max_priority_fee_per_gas)) << "priority bump < 10 %";
    EXPECT_NE(attempts[i].tx_hash, attempts[i - 1].tx_hash);
  }
  const auto& last = attempts.back();
  const auto rec = std::find_if(d.receipts.begin(), d.receipts.end(), [&](const auto& x) { return x.order_id == first.order_id && x.status == kIncluded; });
  ASSERT_NE(rec, d.receipts.end()) << "no Included receipt for the stuck order";
  EXPECT_EQ(rec->tx_hash, last.tx_hash) << "the booked receipt is not the replacement's";
  EXPECT_EQ(rec->nonce, first.nonce);
  EXPECT_EQ(json_field(receipt(last.tx_hash), "status"), "0x1");
  // Gas limit = the 2-hop gas units (250k, the config default) + 50 % headroom: the use depends on
  // the block (a V2 pair's first cumulative-price write, a V3 oracle write), so a limit equal to
  // the estimate ran some trades out of gas.
  {
    Rpc rpc(http_);
    const std::string tx = rpc.call("eth_getTransactionByHash", "[\"" + hex_of(last.tx_hash.data(), 32) + "\"]");
    EXPECT_EQ(torq::torqd::parse_hex_u64(json_field(tx, "gas")).value_or(0), 375'000U) << tx;
    EXPECT_LT(torq::torqd::parse_hex_u64(json_field(receipt(last.tx_hash), "gasUsed")).value_or(~0ULL), 375'000U);
  }
  for (std::size_t i = 0; i + 1 < attempts.size(); ++i) {
    EXPECT_EQ(receipt(attempts[i].tx_hash), "null") << "a replaced attempt was mined";
  }
  // The account's nonce moved by exactly the transactions torqd got mined.
  EXPECT_EQ(pending_nonce(), n0 + count_status(d, kIncluded) + count_status(d, kReverted));
}

TEST_F(TorqdExecutorOnChain, ShouldResyncAndTradeWhenTheKeySentATransactionOutsideTorqd) {
  const pid_t pid = start_torqd("gap", {});
  ASSERT_GT(pid, 0);
  // A plain transfer from the executor's key at the node's pending nonce, signed here.
  const std::uint64_t n0 = pending_nonce();
  {
    const auto key = torq::executor::PrivateKey::from_file((dir_ / "executor.key").string());
    torq::executor::Signer signer;
    torq::executor::Eip1559Tx tx{};
    tx.chain_id = 137;
    tx.nonce = n0;
    tx.max_priority_fee_per_gas = U256(30'000'000'000ULL);
    tx.max_fee_per_gas = U256(300'000'000'000ULL);
    tx.gas_limit = 21000;
    tx.to = signer.address_of(key);
    tx.value = U256(1);
    std::array<std::uint8_t, 256> raw{};
    torq::executor::SignedTx st{};
    ASSERT_EQ(torq::executor::sign_tx(signer, key, tx, raw, st), torq::executor::TxError::Ok);
    Rpc rpc(http_);
    (void)rpc.call("eth_sendRawTransaction", "[\"" + hex_of(raw.data(), st.size) + "\"]");
    ASSERT_EQ(json_field(receipt(st.hash), "status"), "0x1");
  }
  ASSERT_EQ(pending_nonce(), n0 + 1);
  dislocate("15");
  AuditDump d = wait_audit("gap", [](const AuditDump& a) { return count_status(a, kIncluded) >= 1; }, 15s);
  std::this_thread::sleep_for(500ms);
  const TorqdRun r = stop_torqd("gap", pid);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  d = read_audit(audit_path("gap"));
  std::printf("%s\n", r.summary.c_str());
  EXPECT_GE(num(r.summary, "nonce_resyncs"), 1U);
  EXPECT_GE(num(r.summary, "nonce_retries"), 1U);
  EXPECT_GE(num(r.summary, "included"), 1U);
  ASSERT_GE(d.txs.size(), 2U);
  // The first attempt used the stale nonce, was refused (Failed receipt for that nonce), the node's
  // pending count was read (Nonce Resync record) and the same order went out with the next nonce.
  EXPECT_EQ(d.txs[0].nonce, n0);
  const auto failed = std::find_if(d.receipts.begin(), d.receipts.end(), [&](const auto& x) { return x.nonce == n0 && x.status == kFailed; });
  EXPECT_NE(failed, d.receipts.end()) << "no Failed receipt for the stale nonce";
  const auto resync = std::find_if(d.nonces.begin(), d.nonces.end(), [](const auto& n) {
    return n.kind == static_cast<std::uint64_t>(torq::risk::NonceEventKind::Resync);
  });
  ASSERT_NE(resync, d.nonces.end()) << "no Nonce Resync record";
  EXPECT_EQ(resync->node_pending, n0 + 1);
  EXPECT_EQ(d.txs[1].order_id, d.txs[0].order_id);
  EXPECT_EQ(d.txs[1].nonce, n0 + 1);
  const auto mined = std::find_if(d.receipts.begin(), d.receipts.end(), [&](const auto& x) { return x.status == kIncluded; });
  ASSERT_NE(mined, d.receipts.end());
  EXPECT_EQ(mined->order_id, d.txs[0].order_id);
  EXPECT_EQ(mined->nonce, n0 + 1);
  EXPECT_EQ(json_field(receipt(mined->tx_hash), "status"), "0x1");
}

TEST_F(TorqdExecutorOnChain, ShouldResendATransactionTheNodeForgotAndRefuseMoreInFlightMeanwhile) {
  const pid_t pid = start_torqd("forgot", {"--replace-after-ms", "2500", "--replace-after-blocks", "1000"});
  ASSERT_GT(pid, 0);
  automine(false);
  dislocate("15", false);
  mine();
  AuditDump d = wait_audit("forgot", [](const AuditDump& a) { return count_kind(a, TxKind::New) >= 1; }, 10s);
  ASSERT_EQ(count_kind(d, TxKind::New), 1U);
  const torq::risk::AuditTransaction sent = d.txs.front();
  // The node loses its pool (as a restart does): the transaction exists only in torqd's view.
  Rpc rpc(http_);
  (void)rpc.call("anvil_dropAllTransactions", "[]");
  // A dislocation on pools the in-flight trade does not touch: refused, one trade is in flight.
  const std::size_t decisions_before = d.decisions.size();
  const std::string out = tool("swap --venue sushiswap --pair USDT/USDC --sell USDT --amount 60000 --no-wait 1");
  mine();
  d = wait_audit("forgot", [&](const AuditDump& a) { return count_reason(a, RejectReason::MaxInFlight, decisions_before) >= 1; }, 5s);
  EXPECT_GE(count_reason(d, RejectReason::MaxInFlight, decisions_before), 1U) << "no MaxInFlight while a trade was in flight";
  EXPECT_EQ(count_kind(d, TxKind::New), 1U) << "a second trade was sent while one was in flight";
  // torqd replaces the silent transaction (same nonce, higher fees); the node takes it as new.
  d = wait_audit("forgot", [](const AuditDump& a) { return count_kind(a, TxKind::Replacement) + count_kind(a, TxKind::Resend) >= 1; }, 10s);
  ASSERT_GE(count_kind(d, TxKind::Replacement) + count_kind(d, TxKind::Resend), 1U);
  mine();
  automine(true);
  d = wait_audit("forgot", [](const AuditDump& a) { return count_status(a, kIncluded) >= 1; }, 10s);
  mine();
  const TorqdRun r = stop_torqd("forgot", pid);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  d = read_audit(audit_path("forgot"));
  std::printf("%s\n", r.summary.c_str());
  const auto mined = std::find_if(d.receipts.begin(), d.receipts.end(), [&](const auto& x) { return x.order_id == sent.order_id && x.status != 2; });
  ASSERT_NE(mined, d.receipts.end()) << "the forgotten order was never settled";
  EXPECT_EQ(mined->status, kIncluded);
  EXPECT_EQ(mined->nonce, sent.nonce);
  EXPECT_NE(mined->tx_hash, sent.tx_hash);
  EXPECT_EQ(receipt(sent.tx_hash), "null");
  EXPECT_EQ(json_field(receipt(mined->tx_hash), "status"), "0x1");
}

// The node takes a transaction but its answer is lost (the connection drops after the node acted
// on eth_sendRawTransaction): torqd must follow the transaction by its hash and book its receipt,
// not report the trade failed and hand its nonce to the next one.
TEST_F(TorqdExecutorOnChain, ShouldFollowATransactionWhoseSendAnswerWasLost) {
  namespace ct = torq::control::testing;
  ct::RpcProxy proxy(std::stoi(http_.substr(http_.rfind(':') + 1)));
  std::atomic<int> sends{0};
  proxy.set_policy([&](const ct::ProxyRequest& req) {
    ct::ProxyReply rep;
    if (req.body.find("eth_sendRawTransaction") != std::string::npos && sends.fetch_add(1) == 0) {
      rep.kind = ct::ProxyReply::Kind::ForwardThenDrop;
    }
    return rep;
  });
  const std::uint64_t n0 = pending_nonce();
  const pid_t pid = start_torqd("lost-answer", {"--rpc-http", proxy.http_url()});
  ASSERT_GT(pid, 0);
  dislocate("15");
  AuditDump d = wait_audit("lost-answer", [](const AuditDump& a) { return count_status(a, kIncluded) >= 1; }, 15s);
  std::this_thread::sleep_for(500ms);
  const TorqdRun r = stop_torqd("lost-answer", pid);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  d = read_audit(audit_path("lost-answer"));
  std::printf("%s\n", r.summary.c_str());
  ASSERT_GE(sends.load(), 1) << "torqd sent no transaction";
  EXPECT_EQ(num(r.summary, "send_unknown"), 1U);
  ASSERT_GE(d.txs.size(), 1U);
  const torq::risk::AuditTransaction first = d.txs.front();
  EXPECT_EQ(first.nonce, n0);
  EXPECT_EQ(json_field(receipt(first.tx_hash), "status"), "0x1") << "the node did not mine the transaction whose answer was lost";
  const auto booked = std::find_if(d.receipts.begin(), d.receipts.end(),
                                   [&](const auto& x) { return x.order_id == first.order_id && x.status == kIncluded; });
  ASSERT_NE(booked, d.receipts.end()) << "the transaction mined on chain was never booked";
  EXPECT_EQ(booked->tx_hash, first.tx_hash);
  EXPECT_EQ(std::count_if(d.receipts.begin(), d.receipts.end(),
                          [&](const auto& x) { return x.order_id == first.order_id && x.status == kFailed; }),
            0) << "the trade was reported failed";
  for (const auto& tx : d.txs) {
    if (tx.order_id != first.order_id) {
      EXPECT_NE(tx.nonce, n0) << "another trade got the nonce of the followed transaction";
    }
  }
  EXPECT_EQ(pending_nonce(), n0 + count_status(d, kIncluded) + count_status(d, kReverted));
}

// The builtin collector: block N (a swap, seen live) is replaced while the collector's WebSocket is
// down (evm_revert to N - 1, three empty blocks). No removed log will ever arrive for it, and the
// new branch's events sit at the orphaned ones' positions (the book drops them as duplicates), so
// only a tip check after the reconnect finds the reorg and unwinds block N.
TEST_F(TorqdExecutorOnChain, ShouldUnwindABlockReorgedAwayWhileTheBuiltinCollectorWasDisconnected) {
  namespace ct = torq::control::testing;
  ct::RpcProxy proxy(std::stoi(http_.substr(http_.rfind(':') + 1)));
  const pid_t pid = start_torqd("builtin-reorg", {"--config", write_config("builtin-reorg").string(), "--collector", "builtin",
                                                  "--rpc", proxy.ws_url(), "--kill-switch"});
  ASSERT_GT(pid, 0);
  const int port = api_port("builtin-reorg");
  ASSERT_GT(port, 0);
  Rpc rpc(http_);
  const std::string snap(torq::torqd::unquote(rpc.call("evm_snapshot", "[]")));
  dislocate("1");  // block N on the old branch
  const std::uint64_t n = std::stoull(std::string(torq::torqd::unquote(rpc.call("eth_blockNumber", "[]"))), nullptr, 16);
  const std::string seen = wait_status(port, "\"local_block\":" + std::to_string(n));
  ASSERT_NE(seen.find("\"local_block\":" + std::to_string(n)), std::string::npos) << "torqd never saw block " << n << ": " << seen;
  const int upgrades = proxy.ws_upgrades.load();
  proxy.refuse_ws = true;
  proxy.cut();
  ASSERT_EQ(rpc.call("evm_revert", "[\"" + snap + "\"]"), "true");
  for (int i = 0; i < 3; ++i) mine();  // N, N + 1, N + 2 on the new branch, no swap in them
  proxy.refuse_ws = false;
  for (int i = 0; i < 150 && proxy.ws_upgrades.load() == upgrades; ++i) std::this_thread::sleep_for(100ms);
  ASSERT_GT(proxy.ws_upgrades.load(), upgrades) << "the collector did not reconnect";
  std::this_thread::sleep_for(1s);
  const TorqdRun r = stop_torqd("builtin-reorg", pid);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::printf("%s\n", r.summary.c_str());
  EXPECT_GE(num(r.summary, "reorgs"), 1U) << "the reorg while disconnected went unnoticed: " << r.err;
  const auto at = r.err.find("left the canonical chain while disconnected; unwound to block ");
  ASSERT_NE(at, std::string::npos) << r.err;
  EXPECT_LT(std::stoull(r.err.substr(at + 62)), n) << "unwound to a block at or above the orphaned one";
}

// --receipt-confirmations 1: a mined trade is booked only once a block is on top of its block,
// and a trade whose block is reorged away (evm_revert to before it, then other blocks) is never
// booked as included: its receipt disappears, the wait goes on and times out (Failed).
TEST_F(TorqdExecutorOnChain, ShouldBookATradeOnlyAfterItsConfirmationAndNeverOneWhoseBlockWasReorgedAway) {
  const pid_t pid = start_torqd("confirm", {"--receipt-confirmations", "1", "--receipt-timeout-ms", "3000"});
  ASSERT_GT(pid, 0);
  const auto mined_on_chain = [&](const std::array<std::uint8_t, 32>& h) {
    for (int i = 0; i < 100; ++i) {
      if (json_field(receipt(h), "status") == "0x1") return true;
      std::this_thread::sleep_for(50ms);
    }
    return false;
  };
  // 1. Mined, then one more block: booked only after that block.
  dislocate("15");
  AuditDump d = wait_audit("confirm", [](const AuditDump& a) { return count_kind(a, TxKind::New) >= 1; }, 10s);
  ASSERT_EQ(count_kind(d, TxKind::New), 1U);
  const torq::risk::AuditTransaction first = d.txs.front();
  ASSERT_TRUE(mined_on_chain(first.tx_hash));
  std::this_thread::sleep_for(1s);
  d = read_audit(audit_path("confirm"));
  EXPECT_EQ(count_status(d, kIncluded), 0U) << "booked before a block was on top of its receipt's";
  mine();
  d = wait_audit("confirm", [](const AuditDump& a) { return count_status(a, kIncluded) >= 1; }, 5s);
  ASSERT_EQ(count_status(d, kIncluded), 1U) << "not booked after its confirmation";
  // 2. Mined, then its block is replaced by empty ones: never booked as included.
  Rpc rpc(http_);
  const std::string snap(torq::torqd::unquote(rpc.call("evm_snapshot", "[]")));
  dislocate("15");
  d = wait_audit("confirm", [](const AuditDump& a) { return count_kind(a, TxKind::New) >= 2; }, 10s);
  ASSERT_EQ(count_kind(d, TxKind::New), 2U);
  const torq::risk::AuditTransaction second = d.txs.back();
  ASSERT_TRUE(mined_on_chain(second.tx_hash));
  std::this_thread::sleep_for(500ms);
  ASSERT_EQ(rpc.call("evm_revert", "[\"" + snap + "\"]"), "true");
  mine();
  mine();
  ASSERT_EQ(receipt(second.tx_hash), "null") << "the node kept the reorged transaction";
  d = wait_audit("confirm", [&](const AuditDump& a) {
    return std::any_of(a.receipts.begin(), a.receipts.end(), [&](const auto& x) { return x.order_id == second.order_id && x.status == kFailed; });
  }, 10s);
  const TorqdRun r = stop_torqd("confirm", pid);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  d = read_audit(audit_path("confirm"));
  std::printf("%s\n", r.summary.c_str());
  EXPECT_EQ(count_status(d, kIncluded), 1U);
  EXPECT_FALSE(std::any_of(d.receipts.begin(), d.receipts.end(),
                           [&](const auto& x) { return x.order_id == second.order_id && x.status == kIncluded; }))
      << "a trade whose block was reorged away was booked";
  EXPECT_TRUE(std::any_of(d.receipts.begin(), d.receipts.end(),
                          [&](const auto& x) { return x.order_id == second.order_id && x.status == kFailed; }))
      << "the reorged trade was never settled";
  EXPECT_EQ(num(r.summary, "included"), 1U);
  EXPECT_GE(num(r.summary, "receipts_confirming"), 2U);
  EXPECT_GE(num(r.summary, "receipts_unmined"), 1U);
}

TEST_F(TorqdExecutorOnChain, ShouldRejectWithEachGatesReasonThroughTheRunningPipeline) {
  const pid_t pid = start_torqd("gates", {"--config", write_config("gates").string()});
  ASSERT_GT(pid, 0);
  const int port = api_port("gates");
  ASSERT_GT(port, 0);
  auto set = [&](const std::string& key, const std::string& value) {
    api(port, "POST", "/api/risk", "{\"key\":\"" + key + "\",\"value\":\"" + value + "\"}");
    std::this_thread::sleep_for(450ms);  // the operator feed applies commands every 200 ms
  };
  // Each step: a limit, a dislocation, and a Decision record with the gate's reason; no trade.
  struct Step {
    const char* key;
    const char* value;
    const char* restore;
    RejectReason reason;
  };
  const Step steps[] = {{"max_notional_usd", "1", "20000", RejectReason::MaxNotional},
                        {"max_gas_price_gwei", "26", "1000", RejectReason::GasPriceCeiling}};
  const char* amounts[] = {"10", "5"};
  for (std::size_t i = 0; i < 2; ++i) {
    const std::size_t before = read_audit(audit_path("gates")).decisions.size();
    set(steps[i].key, steps[i].value);
    dislocate(amounts[i]);
    const AuditDump d = wait_audit("gates", [&](const AuditDump& a) { return count_reason(a, steps[i].reason, before) >= 1; }, 10s);
    EXPECT_GE(count_reason(d, steps[i].reason, before), 1U) << steps[i].key << ": no reject with reason " << static_cast<int>(steps[i].reason);
    EXPECT_EQ(d.txs.size(), 0U) << steps[i].key << ": a transaction was sent";
    set(steps[i].key, steps[i].restore);
  }
  // `risk set stale_blocks` moves the API's own stale-pool bound (/api/pools?stale=1) as well as
  // the gate's: pools untouched since start-up are older than 0 blocks, none is older than 1 000.
  {
    auto stale_pools = [&](const std::string& value, bool want_empty) {
      set("stale_blocks", value);
      std::string body;
      for (int i = 0; i < 30; ++i) {
        body = api(port, "GET", "/api/pools?stale=1");
        if ((body == "[]") == want_empty) break;
        std::this_thread::sleep_for(100ms);
      }
      return body;
    };
    EXPECT_NE(stale_pools("0", false), "[]") << "stale_blocks 0: no pool is stale";
    EXPECT_EQ(stale_pools("1000", true), "[]") << "stale_blocks 1000 did not reach the API";
    EXPECT_NE(stale_pools("0", false), "[]") << "stale_blocks 0 did not reach the API";
    set("stale_blocks", "2");
  }
  // Kill switch: the first decision after the kill (seen by the API) is a KillSwitch reject.
  {
    api(port, "POST", "/api/kill", "{\"reason\":\"e2e\"}");
    (void)wait_status(port, "\"kill_switch\":true");
    std::this_thread::sleep_for(400ms);  // the feed applies the command on its next tick
    const std::size_t before = read_audit(audit_path("gates")).decisions.size();
    dislocate("1");
    const AuditDump d = wait_audit("gates", [&](const AuditDump& a) { return a.decisions.size() > before; }, 10s);
    ASSERT_GT(d.decisions.size(), before) << "no decision after the kill";
    EXPECT_EQ(d.decisions[before].reason, static_cast<std::uint8_t>(RejectReason::KillSwitch));
    EXPECT_EQ(count_reason(d, RejectReason::KillSwitch, before), d.decisions.size() - before) << "a non-kill decision while killed";
    EXPECT_EQ(d.txs.size(), 0U);
    // A SIGHUP reload of the file (which says kill_switch = false) must not undo the operator's kill.
    ::kill(pid, SIGHUP);
    std::this_thread::sleep_for(600ms);
    EXPECT_NE(api(port, "GET", "/api/status").find("\"kill_switch\":true"), std::string::npos) << "SIGHUP released an operator kill";
    const std::size_t before2 = read_audit(audit_path("gates")).decisions.size();
    dislocate("1");
    const AuditDump d2 = wait_audit("gates", [&](const AuditDump& a) { return a.decisions.size() > before2; }, 10s);
    ASSERT_GT(d2.decisions.size(), before2) << "no decision after the SIGHUP";
    EXPECT_EQ(count_reason(d2, RejectReason::KillSwitch, before2), d2.decisions.size() - before2) << "not killed after the SIGHUP";
    EXPECT_EQ(d2.txs.size(), 0U);
    api(port, "POST", "/api/resume", "{}");
    (void)wait_status(port, "\"kill_switch\":false");
    std::this_thread::sleep_for(400ms);
  }
  // Released: the accumulated dislocation is traded.
  dislocate("1");
  AuditDump d = wait_audit("gates", [](const AuditDump& a) { return count_status(a, kIncluded) >= 1; }, 15s);
  EXPECT_GE(count_status(d, kIncluded), 1U) << "no trade after the gates were released";
  std::this_thread::sleep_for(500ms);
  const TorqdRun r = stop_torqd("gates", pid);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("SIGHUP: reloaded"), std::string::npos) << r.err;
  std::printf("%s\n", r.summary.c_str());
}

// --kill-switch on the command line is sticky like an operator's kill: a SIGHUP reload of a file
// saying kill_switch = false must not release it (until 2026-11-27 it did).
TEST_F(TorqdExecutorOnChain, ShouldKeepACommandLineKillSwitchAcrossAReload) {
  const pid_t pid = start_torqd("clikill", {"--config", write_config("clikill").string(), "--kill-switch"});
  ASSERT_GT(pid, 0);
  const int port = api_port("clikill");
  ASSERT_GT(port, 0);
  EXPECT_NE(wait_status(port, "\"kill_switch\":true").find("\"kill_switch\":true"), std::string::npos);
  ::kill(pid, SIGHUP);
  std::this_thread::sleep_for(800ms);
  EXPECT_NE(api(port, "GET", "/api/status").find("\"kill_switch\":true"), std::string::npos) << "SIGHUP released --kill-switch";
  dislocate("15");
  const AuditDump d = wait_audit("clikill", [](const AuditDump& a) { return !a.decisions.empty(); }, 10s);
  ASSERT_FALSE(d.decisions.empty()) << "no decision on the dislocation";
  EXPECT_EQ(count_reason(d, RejectReason::KillSwitch), d.decisions.size()) << "a non-kill decision while killed";
  EXPECT_EQ(d.txs.size(), 0U) << "a transaction was sent while killed";
  const TorqdRun r = stop_torqd("clikill", pid);
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_F(TorqdExecutorOnChain, ShouldOpenTheBreakerAfterTwoRevertsAndRefuseTheNextSignal) {
  const std::string risk =
      "max_notional_usd = \"20000\"\nmax_in_flight = 1\ndaily_loss_usd = \"1000\"\nmax_drawdown_usd = \"2000\"\n"
      "breaker_reverts = 2\nbreaker_cooldown_s = 600\nmax_gas_price_gwei = 1000\nkill_switch = false\n";
  // On-chain minProfit = 2 x the expected profit: the contract reverts with "Too little profit".
  const pid_t pid = start_torqd("breaker", {"--config", write_config("breaker", risk).string(), "--min-profit-share-bps", "20000"});
  ASSERT_GT(pid, 0);
  for (int k = 1; k <= 2; ++k) {
    dislocate(k == 1 ? "15" : "5");
    const AuditDump d = wait_audit("breaker", [&](const AuditDump& a) { return count_status(a, kReverted) >= static_cast<std::size_t>(k); }, 15s);
    ASSERT_EQ(count_status(d, kReverted), static_cast<std::size_t>(k)) << "induced revert " << k << " did not happen";
  }
  const std::size_t before = read_audit(audit_path("breaker")).decisions.size();
  dislocate("5");
  AuditDump d = wait_audit("breaker", [&](const AuditDump& a) { return count_reason(a, RejectReason::CircuitOpen, before) >= 1; }, 10s);
  EXPECT_GE(count_reason(d, RejectReason::CircuitOpen, before), 1U) << "the breaker did not refuse the next signal";
  for (std::size_t i = before; i < d.decisions.size(); ++i) EXPECT_EQ(d.decisions[i].accepted, 0) << "accepted with the breaker open";
  const TorqdRun r = stop_torqd("breaker", pid);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  d = read_audit(audit_path("breaker"));
  std::printf("%s\n", r.summary.c_str());
  EXPECT_EQ(num(r.summary, "reverted"), 2U);
  EXPECT_EQ(num(r.summary, "included"), 0U);
  // Each revert is on chain (status 0) and booked as Reverted.
  for (const auto& x : d.receipts)
    if (x.status == kReverted) {
      EXPECT_EQ(json_field(receipt(x.tx_hash), "status"), "0x0");
    }
}

// Daily loss: the gas of one reverted trade exceeds a $0.000001 daily loss limit (drawdown limit
// far above it: the reason is the daily one, checked first).
TEST_F(TorqdExecutorOnChain, ShouldRefuseWithDailyLossOnceARevertedTradeLostItsGas) {
  expect_loss_gate("dailyloss",
                   "max_notional_usd = \"20000\"\nmax_in_flight = 1\ndaily_loss_usd = \"0.000001\"\nmax_drawdown_usd = \"2000\"\n"
                   "breaker_reverts = 10\nmax_gas_price_gwei = 1000\nkill_switch = false\n",
                   RejectReason::DailyLoss, 100);
}

// Drawdown from the peak (0 at start): the same loss, above a $0.000001 drawdown limit while the
// daily loss limit is far above it.
TEST_F(TorqdExecutorOnChain, ShouldRefuseWithDrawdownOnceARevertedTradeLostItsGas) {
  expect_loss_gate("drawdown",
                   "max_notional_usd = \"20000\"\nmax_in_flight = 1\ndaily_loss_usd = \"1000\"\nmax_drawdown_usd = \"0.000001\"\n"
                   "breaker_reverts = 10\nmax_gas_price_gwei = 1000\nkill_switch = false\n",
                   RejectReason::Drawdown, 100);
}

// Per-token exposure: every token's limit is $1 ([risk] per_token_exposure_usd), below any trade's
// input; the notional limit is far above it, so the exposure gate (the last one) names the reason.
TEST_F(TorqdExecutorOnChain, ShouldRefuseWithTokenExposureWhenTheInputExceedsTheTokensLimit) {
  const std::string risk =
      "max_notional_usd = \"1000000\"\nmax_in_flight = 1\ndaily_loss_usd = \"1000\"\nmax_drawdown_usd = \"2000\"\n"
      "breaker_reverts = 3\nmax_gas_price_gwei = 1000\nkill_switch = false\n"
      "per_token_exposure_usd = { USDC = \"1\", USDT = \"1\", WETH = \"1\", WMATIC = \"1\", WBTC = \"1\" }\n";
  const pid_t pid = start_torqd("exposure", {"--config", write_config("exposure", risk).string()});
  ASSERT_GT(pid, 0);
  dislocate("10");
  AuditDump d = wait_audit("exposure", [](const AuditDump& a) { return count_reason(a, RejectReason::TokenExposure) >= 1; }, 10s);
  ASSERT_GE(count_reason(d, RejectReason::TokenExposure), 1U) << "no reject with reason TokenExposure";
  EXPECT_EQ(count_reason(d, RejectReason::TokenExposure), d.decisions.size()) << "another reason with $1 exposure limits";
  for (const auto& x : d.decisions) {
    EXPECT_EQ(x.accepted, 0);
    // The gate valued the input (above $1: the limit) and passed the notional limit.
    EXPECT_GT(x.notional_usd, 100'000'000) << "input not above the $1 exposure limit";
    EXPECT_LE(x.notional_usd, 1'000'000 * 100'000'000LL);
  }
  EXPECT_EQ(d.txs.size(), 0U) << "a transaction was sent above the exposure limit";
  // Raised at run time through the operator API (`torqctl risk set per_token_exposure_usd.X`):
  // the next dislocation is traded.
  const int port = api_port("exposure");
  ASSERT_GT(port, 0);
  for (const char* sym : {"USDC", "USDT", "WETH", "WMATIC", "WBTC"}) {
    const std::string answer = api(port, "POST", "/api/risk", std::string("{\"key\":\"per_token_exposure_usd.") + sym + "\",\"value\":\"1000000\"}");
    EXPECT_NE(answer.find("accepted"), std::string::npos) << sym << ": " << answer;
  }
  std::this_thread::sleep_for(600ms);  // the operator feed applies commands every 200 ms
  dislocate("5");
  d = wait_audit("exposure", [](const AuditDump& a) { return count_status(a, kIncluded) >= 1; }, 15s);
  EXPECT_GE(count_status(d, kIncluded), 1U) << "no trade after the exposure limits were raised at run time";
  std::this_thread::sleep_for(300ms);
  const TorqdRun r = stop_torqd("exposure", pid);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::printf("%s\n", r.summary.c_str());
  EXPECT_GE(num(r.summary, "included"), 1U);
}

// Last in the suite: the restarted node has none of the old node's EVM snapshots.
TEST_F(TorqdExecutorOnChain, ShouldReconnectAndSettleItsInFlightTradeAcrossANodeRestart) {
  if (!restartable_) GTEST_SKIP() << "chain/fixture.mjs has no --state-file (node restart)";
  const pid_t pid = start_torqd("restart", {"--config", write_config("restart").string(), "--replace-after-ms", "1500",
                                            "--replace-after-blocks", "1000"});
  ASSERT_GT(pid, 0);
  const int port = api_port("restart");
  ASSERT_GT(port, 0);
  {
    const std::string st = wait_status(port, "\"connected\":true");
    EXPECT_NE(st.find("\"connected\":true"), std::string::npos) << st;
  }
  automine(false);
  dislocate("15", false);
  mine();
  AuditDump d = wait_audit("restart", [](const AuditDump& a) { return count_kind(a, TxKind::New) >= 1; }, 10s);
  ASSERT_EQ(count_kind(d, TxKind::New), 1U);
  const torq::risk::AuditTransaction sent = d.txs.front();
  // The node goes down with the trade in its pool and comes back without it (same chain, same port).
  ASSERT_TRUE(node_signal(SIGUSR1, "\"node-stopped\"", 1, 20s)) << read_file(dir_ / "fixture.err");
  // torqd's receipt polls and its WebSocket fail meanwhile; the operator API says so.
  const std::string status = wait_status(port, "\"connected\":false");
  EXPECT_NE(status.find("\"connected\":false"), std::string::npos) << "node down, endpoint still reported connected: " << status;
  ASSERT_TRUE(node_signal(SIGUSR2, "\"node-started\"", 1, 30s)) << read_file(dir_ / "fixture.err");
  // torqd reconnects, finds no receipt, resends at the same nonce (automining is on again) and the
  // resent trade succeeds. (It was once seen to revert on a loaded machine: mined blocks later, its
  // gas use grew past a gas limit equal to the estimate; the limit now has headroom.)
  const auto settled = [&](const auto& x) { return x.order_id == sent.order_id && (x.status == kIncluded || x.status == kReverted); };
  d = wait_audit("restart", [&](const AuditDump& a) { return std::any_of(a.receipts.begin(), a.receipts.end(), settled); }, 30s);
  EXPECT_NE(wait_status(port, "\"connected\":true").find("\"connected\":true"), std::string::npos) << "reconnected, still reported down";
  Rpc rpc(http_);
  base_snapshot_ = std::string(torq::torqd::unquote(rpc.call("evm_snapshot", "[]")));
  std::this_thread::sleep_for(500ms);
  const TorqdRun r = stop_torqd("restart", pid);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  d = read_audit(audit_path("restart"));
  EXPECT_EQ(d.status, torq::risk::ReadStatus::End);
  std::printf("%s\n", r.summary.c_str());
  EXPECT_GE(num(r.summary, "reconnects"), 1U) << "the node session did not reconnect";
  const auto mined = std::find_if(d.receipts.begin(), d.receipts.end(), settled);
  ASSERT_NE(mined, d.receipts.end()) << "the in-flight trade was not settled after the restart";
  EXPECT_EQ(mined->nonce, sent.nonce);
  EXPECT_NE(mined->tx_hash, sent.tx_hash);
  EXPECT_EQ(receipt(sent.tx_hash), "null");
  EXPECT_EQ(mined->status, kIncluded) << receipt(mined->tx_hash);
  EXPECT_EQ(json_field(receipt(mined->tx_hash), "status"), mined->status == kIncluded ? "0x1" : "0x0");
  EXPECT_EQ(pending_nonce(), sent.nonce + count_status(d, kIncluded) + count_status(d, kReverted));
}

}  // namespace

int main(int argc, char** argv) {
  if (!std::filesystem::exists(torq::e2e::source_dir() + "/chain/node_modules/ethers")) {
    std::printf("SKIP: chain/node_modules is absent (run: npm ci --prefix chain)\n");
    return 77;
  }
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
