// Integration (label `chain`): reconciliation against the anvil fixture. One Sync event of a V2
// pool is lost on purpose (debug_drop_next_event: neither applied to the session's own view nor
// published, as if the node never sent it), so the session and its consumer both drift from the
// chain. Reconciliation must detect it, count it, quarantine the pool until the consumer has
// acknowledged the resync snapshot, and the state must equal the chain afterwards.
#include "session_harness.hpp"

using namespace torq;
using namespace torq::control;
using namespace torq::control::testing;

namespace {

class SessionDriftTest : public ChainFixture {};

TEST_F(SessionDriftTest, ShouldQuarantineAndResyncPoolWhenLocalViewDrifts) {
  auto cfg = config({direct()});
  cfg.reconcile_interval = 400ms;
  cfg.quarantine_until_ack = true;
  RecordingSink sink;
  NodeSession<RecordingSink> session(cfg, registry_, sink);
  ChainClient chain({direct()});
  Consumer consumer;
  const auto& c = session.counters();

  session.start();
  drive(1, 71);
  ASSERT_TRUE(wait_caught_up(session, chain));
  for (int i = 0; i < 100 && c.reconciliations.load() < 2; ++i) std::this_thread::sleep_for(50ms);
  consumer.fold(sink);
  expect_equals_chain(consumer, chain);
  ASSERT_GE(c.reconciliations.load(), 2u);
  ASSERT_EQ(c.drift_detected.load(), 0u);

  // Victim: the first V2 pool of the manifest; one swap on it (Sync + Swap) and one on a V3 pool.
  std::size_t v2 = 0, v3 = 0;
  while (v2 < list_.pools.size() && list_.pools[v2].tick_spacing != 0) ++v2;
  while (v3 < list_.pools.size() && list_.pools[v3].tick_spacing == 0) ++v3;
  ASSERT_LT(v2, list_.pools.size());
  ASSERT_LT(v3, list_.pools.size());
  const protocol::InstrumentId victim = ids_[v2];
  const std::size_t snaps_before = consumer.snapshots_of[victim.raw()];
  EXPECT_FALSE(session.quarantined(victim));
  session.debug_drop_next_event(victim);
  node(kSrc + "/tests/control/tools/new_pools.mjs --manifest " + manifest_ + " trade --v2 " +
       protocol::format_address(list_.pools[v2].address) + " --v3 " + protocol::format_address(list_.pools[v3].address) +
       " --n 1");

  // Detected and quarantined; the resync snapshot is published, and the quarantine holds until
  // the consumer acknowledges it.
  for (int i = 0; i < 200 && !session.quarantined(victim); ++i) std::this_thread::sleep_for(10ms);
  ASSERT_TRUE(session.quarantined(victim));
  EXPECT_EQ(c.events_dropped_on_request.load(), 1u);
  EXPECT_EQ(c.drift_detected.load(), 1u);
  EXPECT_EQ(c.quarantined_now.load(), 1u);
  for (int i = 0; i < 200 && c.resyncs.load() < 1; ++i) std::this_thread::sleep_for(10ms);
  ASSERT_EQ(c.resyncs.load(), 1u);
  std::this_thread::sleep_for(1000ms);  // several reconciliation rounds while unacknowledged
  EXPECT_TRUE(session.quarantined(victim));
  consumer.fold(sink);
  EXPECT_EQ(consumer.snapshots_of[victim.raw()], snaps_before + 1);  // the resync snapshot
  expect_equals_chain(consumer, chain);
  for (const auto id : ids_) {
    if (id == victim) continue;
    EXPECT_FALSE(session.quarantined(id));
  }
  EXPECT_TRUE(session.acknowledge_resync(victim));
  EXPECT_FALSE(session.quarantined(victim));
  EXPECT_FALSE(session.acknowledge_resync(victim));  // nothing left to acknowledge
  EXPECT_EQ(c.quarantined_now.load(), 0u);

  // Afterwards: no further drift while the market moves, state equal to the chain.
  drive(1, 72);
  ASSERT_TRUE(wait_caught_up(session, chain));
  const auto rounds = c.reconciliations.load();
  for (int i = 0; i < 100 && c.reconciliations.load() < rounds + 2; ++i) std::this_thread::sleep_for(50ms);
  consumer.fold(sink);
  expect_equals_chain(consumer, chain);
  session.stop();
  EXPECT_EQ(c.drift_detected.load(), 1u);
  EXPECT_EQ(c.resyncs.load(), 1u);
  EXPECT_EQ(consumer.twice, 0u);
  std::printf("drift: reconciliations=%lu drift=%lu resyncs=%lu\n", c.reconciliations.load(), c.drift_detected.load(),
              c.resyncs.load());
}

}  // namespace
