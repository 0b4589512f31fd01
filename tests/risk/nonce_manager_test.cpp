// Nonce manager: sequencing, release/reuse, table capacity, error classification, resync,
// replacement fee rules, crash recovery (from records and from a real audit log).
#include "torq/risk/nonce_manager.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <unistd.h>

#include "torq/risk/risk_gates.hpp"

namespace {

using namespace torq;
using namespace torq::risk;
using num::U256;

Hash32 hash_of(std::uint8_t b) {
  Hash32 h{};
  h.fill(b);
  return h;
}
TxFees fees(std::uint64_t max_gwei, std::uint64_t prio_gwei) {
  return TxFees{U256(max_gwei * kGwei), U256(prio_gwei * kGwei)};
}

struct Nonces : ::testing::Test {
  std::optional<std::uint64_t> pending = 7;
  int pending_calls = 0;
  std::unique_ptr<NonceManager> nm;
  void make(NonceConfig cfg = {}) {
    nm = std::make_unique<NonceManager>(cfg, [this]() {
      ++pending_calls;
      return pending;
    });
  }
  void SetUp() override {
    make();
    ASSERT_TRUE(nm->recover({}).ok);
  }
};

TEST_F(Nonces, ShouldHandOutSequentialNoncesFromTheNodesPendingNonce) {
  EXPECT_EQ(nm->acquire(), 7u);
  EXPECT_EQ(nm->acquire(), 8u);
  EXPECT_EQ(nm->acquire(), 9u);
  EXPECT_EQ(nm->in_flight(), 3u);
  EXPECT_EQ(pending_calls, 1);  // acquire never asks the node
}

TEST_F(Nonces, ShouldRefuseNoncesBeforeRecoveryOrResync) {
  pending = std::nullopt;
  make();
  EXPECT_FALSE(nm->recover({}).ok);
  EXPECT_FALSE(nm->acquire().has_value());
  pending = 3;
  ASSERT_TRUE(nm->resync().ok);
  EXPECT_EQ(nm->acquire(), 3u);
}

TEST_F(Nonces, ShouldReuseAReleasedNonceFirst) {
  ASSERT_EQ(nm->acquire(), 7u);
  ASSERT_EQ(nm->acquire(), 8u);
  ASSERT_TRUE(nm->release(7));
  EXPECT_EQ(nm->acquire(), 7u);  // no gap left behind
  EXPECT_EQ(nm->acquire(), 9u);
}

TEST_F(Nonces, ShouldReportFullTableAndRecoverWhenANonceIsMined) {
  NonceConfig cfg;
  cfg.capacity = 4;
  make(cfg);
  ASSERT_TRUE(nm->recover({}).ok);
  for (std::uint64_t n = 7; n < 11; ++n) {
    ASSERT_EQ(nm->acquire(), n);
    ASSERT_TRUE(nm->on_sent(n, hash_of(static_cast<std::uint8_t>(n)), fees(100, 30), 50, n * 10));
  }
  EXPECT_FALSE(nm->acquire().has_value());
  EXPECT_EQ(nm->on_mined(8), 2u);  // 7 and 8 settled
  EXPECT_EQ(nm->base(), 9u);
  EXPECT_EQ(nm->acquire(), 11u);
  EXPECT_EQ(nm->acquire(), 12u);
  EXPECT_FALSE(nm->acquire().has_value());
}

TEST(NodeErrors, ShouldClassifyNodeMessagesCaseInsensitively) {
  EXPECT_EQ(classify_node_error("nonce too low"), NodeError::NonceTooLow);
  EXPECT_EQ(classify_node_error("Nonce too low: next nonce 12, tx nonce 9"), NodeError::NonceTooLow);
  EXPECT_EQ(classify_node_error("nonce too high"), NodeError::NonceTooHigh);
  EXPECT_EQ(classify_node_error("already known"), NodeError::AlreadyKnown);
  EXPECT_EQ(classify_node_error("known transaction: 0xabc"), NodeError::AlreadyKnown);
  EXPECT_EQ(classify_node_error("replacement transaction underpriced"), NodeError::ReplacementUnderpriced);
  EXPECT_EQ(classify_node_error("transaction underpriced"), NodeError::Underpriced);
  EXPECT_EQ(classify_node_error("max fee per gas less than block base fee"), NodeError::Underpriced);
  EXPECT_EQ(classify_node_error("insufficient funds for gas * price + value"), NodeError::InsufficientFunds);
  EXPECT_EQ(classify_node_error("execution reverted"), NodeError::Other);
  EXPECT_EQ(classify_node_error(""), NodeError::None);
}

TEST_F(Nonces, ShouldResyncAfterNonceTooLowOnANewTransaction) {
  ASSERT_EQ(nm->acquire(), 7u);
  EXPECT_EQ(nm->on_send_error(7, NodeError::NonceTooLow), SendAction::ResyncAndRetry);
  EXPECT_EQ(nm->find(7), nullptr);
  pending = 12;  // someone else used 7..11 with this key
  const ResyncReport r = nm->resync();
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.node_pending, 12u);
  EXPECT_EQ(nm->acquire(), 12u);
}

TEST_F(Nonces, ShouldTreatAlreadyKnownAsSentAndReleaseOnOtherErrors) {
  ASSERT_EQ(nm->acquire(), 7u);
  EXPECT_EQ(nm->on_send_error(7, NodeError::AlreadyKnown), SendAction::TreatAsSent);
  EXPECT_TRUE(nm->on_sent(7, hash_of(1), fees(100, 30), 10, 1));
  ASSERT_EQ(nm->acquire(), 8u);
  EXPECT_EQ(nm->on_send_error(8, NodeError::InsufficientFunds), SendAction::Released);
  EXPECT_EQ(nm->acquire(), 8u);  // reused
  EXPECT_EQ(nm->on_send_error(99, NodeError::NonceTooLow), SendAction::Unknown);
}

TEST_F(Nonces, ShouldSayAlreadyMinedWhenAReplacementHitsNonceTooLow) {
  ASSERT_EQ(nm->acquire(), 7u);
  ASSERT_TRUE(nm->on_sent(7, hash_of(1), fees(100, 30), 10, 1));
  EXPECT_EQ(nm->on_send_error(7, NodeError::NonceTooLow), SendAction::AlreadyMined);
  EXPECT_NE(nm->find(7), nullptr);  // kept until its receipt is booked
  EXPECT_EQ(nm->on_send_error(7, NodeError::ReplacementUnderpriced), SendAction::BumpAndRetry);
  EXPECT_EQ(nm->on_send_error(7, NodeError::Other), SendAction::KeepWaiting);
}

TEST_F(Nonces, ShouldMarkSentTransactionsTheNodeForgotAsLostOnResync) {
  for (std::uint64_t n = 7; n < 10; ++n) {
    ASSERT_EQ(nm->acquire(), n);
    ASSERT_TRUE(nm->on_sent(n, hash_of(static_cast<std::uint8_t>(n)), fees(100, 30), 50, n));
  }
  pending = 8;  // node restarted and only knows 7
  const ResyncReport r = nm->resync();
  EXPECT_EQ(r.lost, 2u);
  std::array<Replacement, 8> out{};
  const std::size_t n = nm->find_stuck(51, out);  // not stuck by age, but lost
  ASSERT_EQ(n, 2u);
  EXPECT_EQ(out[0].nonce, 8u);
  EXPECT_EQ(out[1].nonce, 9u);
  EXPECT_TRUE(out[0].lost);
  EXPECT_EQ(nm->acquire(), 10u);  // lost nonces stay reserved for their resend
}

// A node behind our own receipts (a lagging replica behind a load balancer) must not take the
// nonce back: that would hand out mined nonces (nonce too low, again and again) and call the
// transactions in flight lost (bumped resends).
TEST_F(Nonces, ShouldNotResyncBelowTheNonceAfterOurHighestReceipt) {
  for (std::uint64_t n = 7; n < 10; ++n) {
    ASSERT_EQ(nm->acquire(), n);
    ASSERT_TRUE(nm->on_sent(n, hash_of(static_cast<std::uint8_t>(n)), fees(100, 30), 50, n));
  }
  nm->on_mined(8);  // 7 and 8 mined; 9 in flight
  pending = 8;      // a replica that has not seen block of nonce 8 yet
  const ResyncReport r = nm->resync();
  EXPECT_TRUE(r.ok);
  EXPECT_TRUE(r.stale);
  EXPECT_EQ(r.node_pending, 8u);
  EXPECT_EQ(r.lost, 1u) << "only 9 (at or above the raised count) may be lost";
  EXPECT_EQ(nm->base(), 9u);
  EXPECT_EQ(nm->stale_pending(), 1u);
  EXPECT_EQ(nm->acquire(), 10u) << "a mined nonce was handed out again";
  pending = 12;  // a node ahead of us is followed as before
  const ResyncReport r2 = nm->resync();
  EXPECT_FALSE(r2.stale);
  EXPECT_EQ(nm->base(), 12u);
}

TEST(FeeBump, ShouldRaiseBothFeesByAtLeastTenPercentRoundedUp) {
  const TxFees b = bump_fees(fees(100, 30), 10, 0, 0).value();
  EXPECT_EQ(b.max_fee_per_gas, U256(110 * kGwei));
  EXPECT_EQ(b.max_priority_fee_per_gas, U256(33 * kGwei));
  const TxFees small = bump_fees(TxFees{U256(11), U256(1)}, 10, 0, 0).value();
  EXPECT_EQ(small.max_fee_per_gas, U256(13));         // ceil(12.1)
  EXPECT_EQ(small.max_priority_fee_per_gas, U256(2));  // ceil(1.1)
  const TxFees zero = bump_fees(TxFees{U256(0), U256(0)}, 10, 0, 0).value();
  EXPECT_EQ(zero.max_priority_fee_per_gas, U256(1));  // +1 wei at least
  const TxFees low_pct = bump_fees(fees(100, 30), 5, 0, 0).value();  // raised to 10%
  EXPECT_EQ(low_pct.max_fee_per_gas, U256(110 * kGwei));
  const TxFees pct25 = bump_fees(fees(100, 40), 25, 0, 0).value();
  EXPECT_EQ(pct25.max_fee_per_gas, U256(125 * kGwei));
  EXPECT_EQ(pct25.max_priority_fee_per_gas, U256(50 * kGwei));
}

TEST(FeeBump, ShouldApplyPolygonFloorAndKeepMaxFeeAbovePriority) {
  const TxFees b = bump_fees(fees(20, 1), 10, kPolygonMinPriorityFeeWei, 0).value();
  EXPECT_EQ(b.max_priority_fee_per_gas, U256(25 * kGwei));
  EXPECT_EQ(b.max_fee_per_gas, U256(25 * kGwei));  // 22 gwei < priority -> raised
  EXPECT_TRUE(is_valid_replacement(fees(20, 1), b, 10));
}

TEST(FeeBump, ShouldRefuseBumpsOverTheCap) {
  EXPECT_FALSE(bump_fees(fees(100, 30), 10, 0, 110 * kGwei - 1).has_value());
  EXPECT_TRUE(bump_fees(fees(100, 30), 10, 0, 110 * kGwei).has_value());
}

TEST(FeeBump, ShouldValidateReplacementsOnBothFees) {
  const TxFees old = fees(100, 30);
  EXPECT_TRUE(is_valid_replacement(old, fees(110, 33), 10));
  EXPECT_FALSE(is_valid_replacement(old, TxFees{U256(110 * kGwei - 1), U256(33 * kGwei)}, 10));  // max fee 9.99%
  EXPECT_FALSE(is_valid_replacement(old, TxFees{U256(200 * kGwei), U256(33 * kGwei - 1)}, 10));  // priority short
}

TEST_F(Nonces, ShouldProposeBumpedReplacementOnlyAfterNBlocks) {
  NonceConfig cfg;
  cfg.stuck_after_blocks = 5;
  make(cfg);
  ASSERT_TRUE(nm->recover({}).ok);
  ASSERT_EQ(nm->acquire(), 7u);
  ASSERT_TRUE(nm->on_sent(7, hash_of(1), fees(100, 30), 100, 42));
  std::array<Replacement, 4> out{};
  EXPECT_EQ(nm->find_stuck(104, out), 0u);
  ASSERT_EQ(nm->find_stuck(105, out), 1u);
  EXPECT_EQ(out[0].nonce, 7u);
  EXPECT_EQ(out[0].order_id, 42u);
  EXPECT_EQ(out[0].new_fees, fees(110, 33));
  EXPECT_FALSE(nm->on_replaced(7, hash_of(2), TxFees{U256(109 * kGwei), U256(33 * kGwei)}, 105));  // 9%: refused
  ASSERT_TRUE(nm->on_replaced(7, hash_of(2), out[0].new_fees, 105));
  const InFlightTx* tx = nm->find(7);
  ASSERT_NE(tx, nullptr);
  EXPECT_EQ(tx->attempts, 2u);
  EXPECT_EQ(tx->hash, hash_of(2));
  EXPECT_EQ(nm->find_stuck(109, out), 0u);  // the clock restarts at the replacement
  EXPECT_EQ(nm->find_stuck(110, out), 1u);
}

TEST_F(Nonces, ShouldSkipAndCountStuckTransactionsWhoseBumpExceedsTheCap) {
  NonceConfig cfg;
  cfg.stuck_after_blocks = 1;
  cfg.max_fee_cap_wei = 105 * kGwei;
  make(cfg);
  ASSERT_TRUE(nm->recover({}).ok);
  ASSERT_EQ(nm->acquire(), 7u);
  ASSERT_TRUE(nm->on_sent(7, hash_of(1), fees(100, 30), 1, 1));
  std::array<Replacement, 4> out{};
  EXPECT_EQ(nm->find_stuck(10, out), 0u);
  EXPECT_EQ(nm->cap_exceeded(), 1u);
}

// A transaction the node forgot (resync: Lost) whose 10 % bump would pass the cap is resent at
// its own fees: it replaces nothing, and skipping it would leave a nonce gap that holds every
// later transaction in the node's queue. A stuck (still pending) one stays skipped.
TEST_F(Nonces, ShouldResendALostTransactionAtItsOwnFeesWhenTheBumpWouldPassTheCap) {
  NonceConfig cfg;
  cfg.stuck_after_blocks = 1;
  cfg.max_fee_cap_wei = 100 * kGwei;
  make(cfg);
  ASSERT_TRUE(nm->recover({}).ok);
  ASSERT_EQ(nm->acquire(), 7u);
  ASSERT_TRUE(nm->on_sent(7, hash_of(1), fees(95, 30), 1, 1));
  ASSERT_EQ(nm->acquire(), 8u);
  ASSERT_TRUE(nm->on_sent(8, hash_of(2), fees(95, 30), 1, 2));
  pending = 7;  // the node dropped both
  ASSERT_EQ(nm->resync().lost, 2u);
  nm->set_max_fee_cap(100 * kGwei);
  std::array<Replacement, 4> out{};
  ASSERT_EQ(nm->find_stuck(10, out), 2u);
  EXPECT_EQ(nm->cap_exceeded(), 0u);
  EXPECT_EQ(out[0].nonce, 7u);
  EXPECT_TRUE(out[0].lost);
  EXPECT_EQ(out[0].new_fees, fees(95, 30)) << "a resend needs no bump";
  ASSERT_TRUE(nm->on_replaced(7, hash_of(1), out[0].new_fees, 10));
  EXPECT_EQ(nm->find(7)->state, SlotState::Sent);
  // Now pending again: a replacement of it must bump, and that would pass the cap: skipped.
  out = {};
  EXPECT_EQ(nm->find_stuck(20, out), 1u);  // only nonce 8, still lost
  EXPECT_EQ(out[0].nonce, 8u);
  EXPECT_EQ(nm->cap_exceeded(), 1u);
  EXPECT_FALSE(nm->on_replaced(7, hash_of(3), fees(96, 31), 20)) << "a pending tx's replacement must bump both fees";
}

TEST_F(Nonces, ShouldProposeReplacementAfterTheTimeLimitWhenNoBlockIsProduced) {
  NonceConfig cfg;
  cfg.stuck_after_blocks = 5;
  cfg.stuck_after_ns = 2'000'000'000;  // 2 s
  make(cfg);
  ASSERT_TRUE(nm->recover({}).ok);
  ASSERT_EQ(nm->acquire(), 7u);
  ASSERT_TRUE(nm->on_sent(7, hash_of(1), fees(100, 30), 100, 42, 10'000'000'000));
  std::array<Replacement, 4> out{};
  EXPECT_EQ(nm->find_stuck(100, out, 11'999'999'999), 0u);  // same block, 1.999 s
  EXPECT_EQ(nm->find_stuck(100, out), 0u);                  // no clock given: blocks only
  ASSERT_EQ(nm->find_stuck(100, out, 12'000'000'000), 1u);  // same block, 2 s
  EXPECT_EQ(out[0].new_fees, fees(110, 33));
  ASSERT_TRUE(nm->on_replaced(7, hash_of(2), out[0].new_fees, 100, 12'000'000'000));
  EXPECT_EQ(nm->find_stuck(100, out, 13'000'000'000), 0u);  // the clock restarts at the replacement
  EXPECT_EQ(nm->find_stuck(100, out, 14'000'000'000), 1u);
}

TEST_F(Nonces, ShouldFollowTheReloadedCapAndForgetAbandonedTransactions) {
  NonceConfig cfg;
  cfg.stuck_after_blocks = 1;
  make(cfg);
  ASSERT_TRUE(nm->recover({}).ok);
  ASSERT_EQ(nm->acquire(), 7u);
  ASSERT_TRUE(nm->on_sent(7, hash_of(1), fees(100, 30), 1, 1));
  std::array<Replacement, 4> out{};
  nm->set_max_fee_cap(109 * kGwei);
  EXPECT_EQ(nm->find_stuck(10, out), 0u);
  EXPECT_EQ(nm->cap_exceeded(), 1u);
  nm->set_max_fee_cap(110 * kGwei);  // the limit value itself is allowed
  EXPECT_EQ(nm->find_stuck(10, out), 1u);
  EXPECT_TRUE(nm->abandon(7));
  EXPECT_FALSE(nm->abandon(7));
  EXPECT_EQ(nm->find_stuck(10, out), 0u);
  EXPECT_EQ(nm->in_flight(), 0u);
  // base() did not move (no resync told us the node holds nonce 7): the nonce is handed out again.
  ASSERT_EQ(nm->acquire(), 7u);
  EXPECT_FALSE(nm->abandon(7));  // reserved, not sent
  pending = 8;                   // the node still holds the abandoned tx: a resync skips its nonce
  ASSERT_TRUE(nm->release(7));
  ASSERT_TRUE(nm->resync().ok);
  EXPECT_EQ(nm->acquire(), 8u);
}

TEST_F(Nonces, ShouldRecoverInFlightTransactionsFromAuditRecordsAndNodePendingNonce) {
  std::vector<RecoveredTx> audit(4);
  for (std::size_t i = 0; i < 4; ++i) {
    audit[i].nonce = 5 + i;
    audit[i].order_id = 100 + i;
    audit[i].hash = hash_of(static_cast<std::uint8_t>(i + 1));
    audit[i].fees = fees(100, 30);
    audit[i].attempts = 1;
    audit[i].sent_block = 77;
  }
  audit[0].settled = true;  // 5 mined (receipt logged)
  pending = 8;              // node knows 6 and 7 (mined or pending); 8 never reached it
  const RecoveryReport r = nm->recover(audit);
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.node_pending, 8u);
  EXPECT_EQ(r.last_audit_nonce, 8u);
  EXPECT_EQ(r.tracked, 2u);
  EXPECT_EQ(r.reusable, 1u);
  EXPECT_EQ(r.next_nonce, 8u);
  EXPECT_EQ(nm->find(5), nullptr);
  ASSERT_NE(nm->find(6), nullptr);
  EXPECT_EQ(nm->find(6)->state, SlotState::Sent);
  EXPECT_EQ(nm->find(7)->hash, hash_of(3));
  EXPECT_EQ(nm->acquire(), 8u);
  std::array<Replacement, 4> out{};
  EXPECT_EQ(nm->find_stuck(82, out), 2u);  // sent at 77, stuck after 5
}

TEST(NonceRecovery, ShouldRebuildInFlightSetFromARealAuditLog) {
  const std::string path = ::testing::TempDir() + "torq_nonce_recovery_" + std::to_string(::getpid()) + ".log";
  std::filesystem::remove(path);
  {
    AuditOptions o;
    o.start_thread = false;
    auto log = AuditLog::open(path, o);
    for (std::uint64_t n = 20; n < 23; ++n) {
      AuditTransaction t{};
      t.order_id = n * 10;
      t.nonce = n;
      t.sent_block = 500;
      t.tx_hash = hash_of(static_cast<std::uint8_t>(n));
      t.max_fee_per_gas = U256(100 * kGwei);
      t.max_priority_fee_per_gas = U256(30 * kGwei);
      ASSERT_TRUE(log->channel().push(t));
    }
    AuditTransaction repl{};  // nonce 21 replaced
    repl.order_id = 210;
    repl.nonce = 21;
    repl.attempt = 1;
    repl.kind = static_cast<std::uint8_t>(TxKind::Replacement);
    repl.sent_block = 506;
    repl.tx_hash = hash_of(99);
    repl.max_fee_per_gas = U256(110 * kGwei);
    repl.max_priority_fee_per_gas = U256(33 * kGwei);
    ASSERT_TRUE(log->channel().push(repl));
    protocol::ExecutionReport rep{};
    rep.order_id = 200;  // reports settle their own order's nonce only
    rep.nonce = 20;
    rep.status = static_cast<std::uint8_t>(protocol::ExecutionStatus::Included);
    ASSERT_TRUE(log->channel().push(rep));
    ASSERT_TRUE(log->flush());
  }  // "crash" (the log object goes away)
  AuditReader reader(path);
  const std::vector<RecoveredTx> txs = recovered_transactions(reader);
  ASSERT_EQ(txs.size(), 3u);
  EXPECT_TRUE(txs[0].settled);
  EXPECT_EQ(txs[1].hash, hash_of(99));
  EXPECT_EQ(txs[1].attempts, 2u);
  EXPECT_EQ(txs[1].fees, fees(110, 33));
  EXPECT_EQ(txs[1].sent_block, 506u);
  ASSERT_EQ(txs[1].earlier_hashes.size(), 1u);  // the original may be the one mined
  EXPECT_EQ(txs[1].earlier_hashes[0], hash_of(21));
  EXPECT_TRUE(txs[2].earlier_hashes.empty());
  NonceManager nm(NonceConfig{}, [] { return std::optional<std::uint64_t>(23); });
  const RecoveryReport r = nm.recover(txs);
  EXPECT_EQ(r.tracked, 2u);  // 21 and 22
  EXPECT_EQ(nm.find(21)->hash, hash_of(99));
  EXPECT_EQ(nm.acquire(), 23u);
  std::filesystem::remove(path);
}

}  // namespace
