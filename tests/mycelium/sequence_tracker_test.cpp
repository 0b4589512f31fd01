// SequenceTracker: gaps, duplicates, late (reordered) frames, stale frames, and source restarts
// announced by Heartbeat epochs; Sequencer builds heartbeats the tracker understands.
#include <gtest/gtest.h>

#include <array>
#include <memory>

#include "torq/mycelium/heartbeat.hpp"
#include "torq/mycelium/sequence_tracker.hpp"

namespace torq::mycelium {
namespace {

protocol::Heartbeat hb(std::uint64_t last, std::uint32_t epoch) { return protocol::Heartbeat{0, last, epoch, 0}; }

class SequenceTrackerTest : public ::testing::Test {
 protected:
  std::unique_ptr<SequenceTracker> t = std::make_unique<SequenceTracker>();
};

TEST_F(SequenceTrackerTest, ShouldAcceptAnInOrderStreamWithoutCountingAnything) {
  EXPECT_EQ(t->on_data(1, 10), SeqVerdict::first);
  for (std::uint64_t s = 11; s < 1000; ++s) ASSERT_EQ(t->on_data(1, s), SeqVerdict::in_order);
  const auto& c = t->counters(1);
  EXPECT_EQ(c.accepted, 990u);
  EXPECT_EQ(c.gaps + c.missing + c.duplicates + c.late + c.stale, 0u);
  EXPECT_EQ(t->expected(1), 1000u);
}

TEST_F(SequenceTrackerTest, ShouldCountAGapAndTheNumberOfMissingFrames) {
  (void)t->on_data(1, 1);
  (void)t->on_data(1, 2);
  EXPECT_EQ(t->on_data(1, 6), SeqVerdict::gap);  // 3, 4, 5 missing
  EXPECT_EQ(t->on_data(1, 7), SeqVerdict::in_order);
  EXPECT_EQ(t->counters(1).gaps, 1u);
  EXPECT_EQ(t->counters(1).missing, 3u);
}

TEST_F(SequenceTrackerTest, ShouldClassifyAReorderedFrameAsLateAndItsRepeatAsDuplicate) {
  (void)t->on_data(1, 1);
  EXPECT_EQ(t->on_data(1, 3), SeqVerdict::gap);
  EXPECT_EQ(t->on_data(1, 2), SeqVerdict::late);
  EXPECT_EQ(t->on_data(1, 2), SeqVerdict::duplicate);
  EXPECT_EQ(t->on_data(1, 3), SeqVerdict::duplicate);
  EXPECT_EQ(t->on_data(1, 1), SeqVerdict::duplicate);
  EXPECT_EQ(t->on_data(1, 4), SeqVerdict::in_order);
  const auto& c = t->counters(1);
  EXPECT_EQ(c.late, 1u);
  EXPECT_EQ(c.duplicates, 3u);
  EXPECT_EQ(c.accepted, 4u);
}

TEST_F(SequenceTrackerTest, ShouldForgetReceivedMarksForNumbersSkippedByAGapEvenAfterTheWindowWraps) {
  for (std::uint64_t s = 1; s <= 600; ++s) (void)t->on_data(1, s);
  // 601..700 skipped: their slots held 345..444 (seen) and must now read as not received.
  EXPECT_EQ(t->on_data(1, 701), SeqVerdict::gap);
  EXPECT_EQ(t->on_data(1, 650), SeqVerdict::late);
  EXPECT_EQ(t->on_data(1, 650), SeqVerdict::duplicate);
  EXPECT_EQ(t->on_data(1, 300), SeqVerdict::stale);  // beyond the 256 window
}

TEST_F(SequenceTrackerTest, ShouldTreatFramesBeforeTheFirstAsStaleNotLate) {
  (void)t->on_data(1, 100);
  EXPECT_EQ(t->on_data(1, 99), SeqVerdict::stale);
  EXPECT_EQ(t->counters(1).late, 0u);
}

TEST_F(SequenceTrackerTest, ShouldKeepSourcesIndependent) {
  (void)t->on_data(1, 1);
  (void)t->on_data(2, 50);
  EXPECT_EQ(t->on_data(1, 2), SeqVerdict::in_order);
  EXPECT_EQ(t->on_data(2, 52), SeqVerdict::gap);
  EXPECT_EQ(t->counters(1).gaps, 0u);
  EXPECT_EQ(t->counters(2).gaps, 1u);
  EXPECT_EQ(t->totals().accepted, 4u);
}

TEST_F(SequenceTrackerTest, ShouldDetectATailGapFromAHeartbeat) {
  EXPECT_EQ(t->on_heartbeat(4, hb(0, 7)), HeartbeatVerdict::first);
  EXPECT_EQ(t->on_data(4, 1), SeqVerdict::in_order);
  EXPECT_EQ(t->on_data(4, 2), SeqVerdict::in_order);
  EXPECT_EQ(t->on_heartbeat(4, hb(2, 7)), HeartbeatVerdict::ok);
  // Frames 3 and 4 were lost and the source went quiet: the heartbeat says so.
  EXPECT_EQ(t->on_heartbeat(4, hb(4, 7)), HeartbeatVerdict::gap);
  EXPECT_EQ(t->counters(4).missing, 2u);
  EXPECT_EQ(t->on_data(4, 5), SeqVerdict::in_order);
  EXPECT_EQ(t->on_data(4, 3), SeqVerdict::late);  // arrived after all
}

TEST_F(SequenceTrackerTest, ShouldResetTheSourceWhenTheHeartbeatEpochChanges) {
  EXPECT_EQ(t->on_heartbeat(4, hb(0, 1)), HeartbeatVerdict::first);
  for (std::uint64_t s = 1; s <= 500; ++s) (void)t->on_data(4, s);
  // The source restarts: new epoch, numbering from 1 again.
  EXPECT_EQ(t->on_heartbeat(4, hb(0, 2)), HeartbeatVerdict::restart);
  EXPECT_EQ(t->epoch(4), 2u);
  EXPECT_EQ(t->on_data(4, 1), SeqVerdict::in_order);
  EXPECT_EQ(t->on_data(4, 2), SeqVerdict::in_order);
  const auto& c = t->counters(4);
  EXPECT_EQ(c.restarts, 1u);
  EXPECT_EQ(c.duplicates + c.gaps + c.stale, 0u);
  // A delayed heartbeat of the old epoch does not undo the restart.
  EXPECT_EQ(t->on_heartbeat(4, hb(500, 1)), HeartbeatVerdict::old_epoch_ignored);
  EXPECT_EQ(t->on_data(4, 3), SeqVerdict::in_order);
}

// Epochs are start times in ms cut to 32 bits: a source started at 3.5e9 ms (mod 2^32) and
// restarted 30 days later has the numerically lower epoch 1.797e9. That is a restart, not a late
// heartbeat (before 2026-11-27 every receiver that stayed up ignored the source from then on).
TEST_F(SequenceTrackerTest, ShouldRestartASourceWhoseNewEpochWrappedBelowTheOldOne) {
  const std::uint32_t e0 = 3'500'000'000u;
  const auto e1 = static_cast<std::uint32_t>(std::uint64_t{e0} + 30ull * 86'400'000ull);
  ASSERT_LT(e1, e0);
  EXPECT_EQ(t->on_heartbeat(4, hb(0, e0)), HeartbeatVerdict::first);
  for (std::uint64_t s = 1; s <= 50; ++s) (void)t->on_data(4, s);
  EXPECT_EQ(t->on_heartbeat(4, hb(0, e1)), HeartbeatVerdict::restart);
  EXPECT_EQ(t->epoch(4), e1);
  EXPECT_EQ(t->on_data(4, 1), SeqVerdict::in_order) << "the restarted source's data is dropped as stale";
  EXPECT_EQ(t->on_heartbeat(4, hb(50, e0)), HeartbeatVerdict::old_epoch_ignored) << "the previous epoch, late";
  EXPECT_EQ(t->on_data(4, 2), SeqVerdict::in_order);
}

TEST_F(SequenceTrackerTest, ShouldCallRestartedDataDuplicateUntilTheNewEpochIsAnnounced) {
  (void)t->on_heartbeat(4, hb(0, 1));
  for (std::uint64_t s = 1; s <= 10; ++s) (void)t->on_data(4, s);
  EXPECT_EQ(t->on_data(4, 1), SeqVerdict::duplicate);  // restarted without a heartbeat first
}

TEST(Sequencer, ShouldBuildAHeartbeatFrameThatCarriesTheLastSequenceAndEpoch) {
  Sequencer seq(9, 42, 1000);
  (void)seq.next_sequence();
  (void)seq.next_sequence();
  std::array<std::byte, kHeartbeatFrameSize> buf{};
  EXPECT_TRUE(seq.heartbeat_due(5000));
  const auto f = seq.build_heartbeat(buf, 5000);
  ASSERT_EQ(f.size(), kHeartbeatFrameSize);
  EXPECT_FALSE(seq.heartbeat_due(5999));
  EXPECT_TRUE(seq.heartbeat_due(6000));
  const auto r = protocol::parse_frame(f);
  ASSERT_TRUE(r.ok()) << protocol::to_string(r.error);
  EXPECT_EQ(r.view.header.source, 9);
  EXPECT_EQ(r.view.header.sequence, 2u);
  const auto h = heartbeat_of(r.view);
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(h->last_sequence, 2u);
  EXPECT_EQ(h->epoch, 42u);
  EXPECT_EQ(h->timestamp_ns, 5000u);
  std::array<std::byte, 10> small{};
  EXPECT_TRUE(seq.build_heartbeat(small, 1).empty());
}

}  // namespace
}  // namespace torq::mycelium
