// Unit tests of the SPSC ring in process-local memory: layout, back pressure, wrap-around,
// claim/commit, bursts, ownership, crash-recovery words, and a two-thread stress run.
#include "torq/ring/spsc_ring.hpp"
#include "torq/ring/shm_segment.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdlib>
#include <memory>
#include <new>
#include <thread>
#include <vector>

#include "frame_pattern.hpp"

namespace torq::ring {
namespace {

using test::check_frame;
using test::fill_frame;
using test::frame_size;

struct AlignedFree {
  void operator()(std::byte* p) const noexcept { ::operator delete[](p, std::align_val_t{kFalseSharingRange}); }
};
using Memory = std::unique_ptr<std::byte[], AlignedFree>;

Memory make_memory(std::size_t bytes) {
  auto* p = static_cast<std::byte*>(::operator new[](bytes, std::align_val_t{kFalseSharingRange}));
  std::memset(p, 0xA5, bytes);  // not zeroed: format must not rely on zeroed memory
  return Memory(p);
}

struct Fixture {
  Memory mem;
  RingRegion region;
  SpscProducer producer;
  SpscConsumer consumer;
};

Fixture make_ring(std::uint64_t capacity) {
  Fixture f;
  f.mem = make_memory(RingRegion::bytes_for(capacity));
  auto r = RingRegion::format(f.mem.get(), RingRegion::bytes_for(capacity), capacity);
  EXPECT_TRUE(r.ok()) << to_string(r.error);
  f.region = r.value;
  auto p = SpscProducer::attach(f.region);
  EXPECT_TRUE(p.ok()) << to_string(p.error);
  f.producer = std::move(p.value);
  auto c = SpscConsumer::attach(f.region);
  EXPECT_TRUE(c.ok()) << to_string(c.error);
  f.consumer = std::move(c.value);
  return f;
}

std::vector<std::byte> bytes_of(std::uint64_t seq, std::uint32_t size) {
  std::vector<std::byte> v(size);
  fill_frame(v, seq);
  return v;
}

// The two handles are written by different threads on every burst; next to each other (as in this
// fixture, or a struct of torqd's) they must not share a 128-byte pair of lines.
TEST(SpscRing, ShouldKeepEachHandleInItsOwnFalseSharingRange) {
  static_assert(alignof(SpscProducer) == kFalseSharingRange && sizeof(SpscProducer) % kFalseSharingRange == 0);
  static_assert(alignof(SpscConsumer) == kFalseSharingRange && sizeof(SpscConsumer) % kFalseSharingRange == 0);
  const auto block = [](const void* p) { return reinterpret_cast<std::uintptr_t>(p) / kFalseSharingRange; };
  const auto last_block = [&](const auto& h) { return block(reinterpret_cast<const char*>(&h) + sizeof h - 1); };
  Fixture f = make_ring(4096);
  EXPECT_LT(last_block(f.producer), block(&f.consumer));
  EXPECT_LT(last_block(f.region), block(&f.producer));
  const auto heap = std::make_unique<Fixture>(make_ring(4096));
  EXPECT_LT(last_block(heap->producer), block(&heap->consumer));
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(&heap->producer) % kFalseSharingRange, 0u);
}

TEST(RingRegion, ShouldRejectFormatWhenCapacityIsNotPowerOfTwoOrTooSmall) {
  Memory m = make_memory(8192);
  EXPECT_EQ(RingRegion::format(m.get(), 8192, 3000).error, RingError::bad_capacity);
  EXPECT_EQ(RingRegion::format(m.get(), 8192, 128).error, RingError::bad_capacity);
  EXPECT_EQ(RingRegion::format(m.get(), 8192, 8192).error, RingError::too_small);
  EXPECT_EQ(RingRegion::format(m.get() + 8, 8000, 4096).error, RingError::misaligned);
  EXPECT_EQ(RingRegion::format(nullptr, 8192, 4096).error, RingError::null_region);
  EXPECT_TRUE(RingRegion::format(m.get(), 8192, 4096).ok());
  EXPECT_EQ(RingRegion::capacity_for(8192), 4096u);
}

TEST(RingRegion, ShouldRejectOpenWhenRegionIsNotAFormattedRing) {
  Memory m = make_memory(8192);
  EXPECT_EQ(RingRegion::open(m.get(), 8192).error, RingError::bad_magic);
  ASSERT_TRUE(RingRegion::format(m.get(), 8192, 4096).ok());
  auto o = RingRegion::open(m.get(), 8192);
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o.value.capacity(), 4096u);
  EXPECT_EQ(RingRegion::open(m.get(), 4096).error, RingError::too_small);
  reinterpret_cast<ControlBlock*>(m.get())->header.version = kLayoutVersion + 1;
  EXPECT_EQ(RingRegion::open(m.get(), 8192).error, RingError::bad_version);
}

TEST(RingRegion, ShouldRejectOpenWhenIndicesAreInconsistent) {
  Memory m = make_memory(8192);
  ASSERT_TRUE(RingRegion::format(m.get(), 8192, 4096).ok());
  auto* c = reinterpret_cast<ControlBlock*>(m.get());
  c->tail.value.store(8192);  // more than capacity ahead of head
  EXPECT_EQ(RingRegion::open(m.get(), 8192).error, RingError::corrupt);
}

// A corrupt max_payload near 2^64 must not pass open(): record_bytes() of it wraps to a small
// number, and a consumer that trusted it would deliver any length that fits the data area.
TEST(RingRegion, ShouldRejectOpenWhenMaxPayloadIsCorruptEvenWhereItsRecordSizeWraps) {
  Memory m = make_memory(8192);
  ASSERT_TRUE(RingRegion::format(m.get(), 8192, 4096).ok());
  auto* c = reinterpret_cast<ControlBlock*>(m.get());
  const std::uint64_t good = c->header.max_payload;
  for (const std::uint64_t bad :
       {~std::uint64_t{0}, ~std::uint64_t{0} - 7, std::uint64_t{1} << 32, std::uint64_t{4096 / 2 - 7}}) {
    c->header.max_payload = bad;
    EXPECT_EQ(RingRegion::open(m.get(), 8192).error, RingError::corrupt) << "max_payload " << bad;
  }
  c->header.max_payload = good;
  EXPECT_TRUE(RingRegion::open(m.get(), 8192).ok());
}

// Another process may change the shared header after open() checked it: the endpoints attach with
// the checked sizes (kept in the RingRegion), so a capacity raised past the mapping afterwards
// cannot send either side outside the data area.
TEST(RingRegion, ShouldAttachWithTheSizesOpenCheckedNotTheHeaderRereadAfterwards) {
  Memory m = make_memory(RingRegion::bytes_for(4096));
  ASSERT_TRUE(RingRegion::format(m.get(), RingRegion::bytes_for(4096), 4096).ok());
  const auto opened = RingRegion::open(m.get(), RingRegion::bytes_for(4096));
  ASSERT_TRUE(opened.ok());
  auto* c = reinterpret_cast<ControlBlock*>(m.get());
  const std::uint64_t max_payload = c->header.max_payload;
  c->header.capacity = std::uint64_t{1} << 30;  // far past the 4 096-byte data area
  c->header.max_payload = (std::uint64_t{1} << 29) - 8;
  EXPECT_EQ(opened.value.capacity(), 4096u);
  EXPECT_EQ(opened.value.max_payload(), max_payload);
  EXPECT_EQ(opened.value.stats().capacity, 4096u);
  auto p = SpscProducer::attach(opened.value);
  auto q = SpscConsumer::attach(opened.value);
  ASSERT_TRUE(p.ok() && q.ok());
  EXPECT_EQ(p.value.capacity(), 4096u);
  EXPECT_EQ(p.value.max_payload(), max_payload);
  EXPECT_EQ(p.value.try_publish(std::vector<std::byte>(max_payload + 1)), PublishResult::bad_size);
  // Round the 4 096-byte area several times: every record comes back where it was written.
  for (std::uint64_t seq = 0; seq < 200; ++seq) {
    const auto f = bytes_of(seq, 100);
    ASSERT_EQ(p.value.try_publish(f), PublishResult::ok) << seq;
    const auto got = q.value.peek();
    ASSERT_EQ(std::vector<std::byte>(got.begin(), got.end()), f) << seq;
    ASSERT_TRUE(q.value.consume());
  }
  EXPECT_FALSE(q.value.corrupted());
}

TEST(SpscRing, ShouldDeliverRecordsInOrderWithExactBytes) {
  Fixture f = make_ring(4096);
  for (std::uint64_t s = 0; s < 20; ++s) {
    ASSERT_EQ(f.producer.try_publish(bytes_of(s, frame_size(s, 1, 100))), PublishResult::ok);
  }
  for (std::uint64_t s = 0; s < 20; ++s) {
    auto rec = f.consumer.peek();
    ASSERT_EQ(rec.size(), frame_size(s, 1, 100));
    EXPECT_TRUE(check_frame(rec, s));
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(rec.data()) % 8, 0u) << "payload must be 8-byte aligned";
    EXPECT_TRUE(f.consumer.consume());
  }
  EXPECT_TRUE(f.consumer.peek().empty());
  EXPECT_EQ(f.consumer.consumed_records(), 20u);
  EXPECT_EQ(f.region.stats().published, 20u);
  EXPECT_EQ(f.region.stats().consumed, 20u);
}

// try_publish writes the payload past the header's cache line first and the header's line last;
// every size at every offset in a line, over garbage that looks committed (all ones) where the
// end marker must go, and after deferred commits (the general path).
TEST(SpscRing, ShouldPublishEverySizeAtEveryLineOffsetWithItsEndMarker) {
  Fixture f = make_ring(4096);
  std::memset(f.region.data(), 0xFF, 4096);  // a missing end marker would read as a committed record
  std::uint64_t seq = 0;
  for (int lap = 0; lap < 3; ++lap) {
    for (std::uint32_t size = 1; size <= 200; ++size, ++seq) {
      ASSERT_EQ(f.producer.try_publish(bytes_of(seq, size)), PublishResult::ok) << "size " << size;
      auto rec = f.consumer.peek();
      ASSERT_EQ(rec.size(), size);
      EXPECT_TRUE(check_frame(rec, seq)) << "size " << size;
      EXPECT_TRUE(f.consumer.consume());
      EXPECT_TRUE(f.consumer.peek().empty()) << "after size " << size;
      EXPECT_FALSE(f.consumer.has_published());
      ASSERT_FALSE(f.consumer.corrupted());
    }
  }
  // Deferred commits pending: try_publish publishes them first, then its own record.
  for (std::uint64_t k = 0; k < 2; ++k) {
    auto span = f.producer.try_claim(24);
    ASSERT_FALSE(span.empty());
    fill_frame(span, seq + k);
    ASSERT_TRUE(f.producer.commit_deferred(24));
  }
  ASSERT_EQ(f.producer.try_publish(bytes_of(seq + 2, 90)), PublishResult::ok);
  std::uint64_t expect = seq;
  EXPECT_EQ(f.consumer.consume_burst([&](auto r) { EXPECT_TRUE(check_frame(r, expect++)); }, 10), 3u);
  EXPECT_EQ(f.region.stats().published, seq + 3);
  EXPECT_EQ(f.producer.rejected_full() + f.producer.rejected_size(), 0u);
}

TEST(SpscRing, ShouldRejectAndCountWhenFullWithoutOverwritingUnconsumedRecords) {
  Fixture f = make_ring(1024);
  // 64-byte payload -> 72-byte records: 14 fit in 1024 bytes (1008), the 15th does not.
  std::uint64_t s = 0;
  while (f.producer.try_publish(bytes_of(s, 64)) == PublishResult::ok) ++s;
  EXPECT_EQ(s, 14u);
  EXPECT_EQ(f.producer.rejected_full(), 1u);
  EXPECT_TRUE(f.producer.try_claim(64).empty());
  EXPECT_EQ(f.producer.rejected_full(), 2u);
  EXPECT_EQ(f.region.stats().rejected_full, 2u);
  // Everything published is intact and in order.
  std::uint64_t expect = 0;
  const std::size_t n = f.consumer.consume_burst(
      [&](std::span<const std::byte> r) { EXPECT_TRUE(check_frame(r, expect++)); }, 100);
  EXPECT_EQ(n, 14u);
  // Space is back.
  EXPECT_EQ(f.producer.try_publish(bytes_of(99, 64)), PublishResult::ok);
}

TEST(SpscRing, ShouldWrapWithPaddingRecordAndKeepPayloadContiguous) {
  Fixture f = make_ring(256);  // max payload 120
  std::uint64_t produced = 0, consumed = 0;
  for (int round = 0; round < 200; ++round) {
    const std::uint32_t size = frame_size(produced, 1, 120);
    if (f.producer.try_publish(bytes_of(produced, size)) == PublishResult::ok) ++produced;
    if (round % 3 == 0) {
      auto rec = f.consumer.peek();
      if (!rec.empty()) {
        ASSERT_EQ(rec.size(), frame_size(consumed, 1, 120));
        ASSERT_TRUE(check_frame(rec, consumed));
        ASSERT_TRUE(f.consumer.consume());
        ++consumed;
      }
    }
  }
  while (true) {
    auto rec = f.consumer.peek();
    if (rec.empty()) break;
    ASSERT_TRUE(check_frame(rec, consumed));
    ASSERT_TRUE(f.consumer.consume());
    ++consumed;
  }
  EXPECT_EQ(consumed, produced);
  EXPECT_GT(f.region.stats().tail, 4 * 256u) << "test must wrap several times";
  EXPECT_GT(f.producer.rejected_full(), 0u);
}

TEST(SpscRing, ShouldRejectZeroAndOversizedRecords) {
  Fixture f = make_ring(1024);
  EXPECT_EQ(f.producer.max_payload(), 504u);
  EXPECT_EQ(f.producer.try_publish({}), PublishResult::bad_size);
  EXPECT_EQ(f.producer.try_publish(bytes_of(0, 505)), PublishResult::bad_size);
  EXPECT_TRUE(f.producer.try_claim(0).empty());
  EXPECT_EQ(f.producer.rejected_size(), 3u);
  EXPECT_EQ(f.producer.rejected_full(), 0u);
  EXPECT_EQ(f.producer.try_publish(bytes_of(0, 504)), PublishResult::ok);
}

TEST(SpscRing, ShouldHideClaimedRecordUntilCommitAndCommitOnlyUsedBytes) {
  Fixture f = make_ring(1024);
  auto span = f.producer.try_claim(200);
  ASSERT_EQ(span.size(), 200u);
  fill_frame(span.first(40), 7);
  EXPECT_TRUE(f.consumer.peek().empty()) << "claimed but uncommitted record must be invisible";
  EXPECT_TRUE(f.producer.commit(40));
  EXPECT_FALSE(f.producer.commit()) << "no outstanding claim";
  auto rec = f.consumer.peek();
  ASSERT_EQ(rec.size(), 40u);
  EXPECT_TRUE(check_frame(rec, 7));
  EXPECT_TRUE(f.consumer.consume());
  EXPECT_EQ(f.region.stats().tail, record_bytes(40));
}

TEST(SpscRing, ShouldReportPublishedRecordOnlyFromCommitUntilConsumedAcrossAWrap) {
  Fixture f = make_ring(1024);
  EXPECT_FALSE(f.consumer.has_published());
  auto span = f.producer.try_claim(100);
  ASSERT_FALSE(span.empty());
  fill_frame(span, 0);
  EXPECT_FALSE(f.consumer.has_published()) << "claimed, not committed";
  ASSERT_TRUE(f.producer.commit());
  EXPECT_TRUE(f.consumer.has_published());
  EXPECT_TRUE(f.consumer.has_published()) << "a query consumes nothing";
  EXPECT_EQ(f.consumer.consume_burst([](auto) {}, 10), 1u);
  EXPECT_FALSE(f.consumer.has_published());
  // Up to the wrap: each record is reported once committed and no longer once consumed, the one
  // behind a padding record too.
  for (std::uint64_t s = 1; s < 40; ++s) {
    ASSERT_EQ(f.producer.try_publish(bytes_of(s, 100)), PublishResult::ok);
    EXPECT_TRUE(f.consumer.has_published()) << s;
    EXPECT_EQ(f.consumer.consume_burst([&](auto r) { EXPECT_TRUE(check_frame(r, s)); }, 10), 1u);
    EXPECT_FALSE(f.consumer.has_published()) << s;
  }
  EXPECT_GT(f.region.stats().tail, 2 * 1024u);  // wrapped (twice or more)
}

TEST(SpscRing, ShouldPublishDeferredCommitsOnlyOnFlush) {
  Fixture f = make_ring(1024);
  for (std::uint64_t s = 0; s < 3; ++s) {
    auto span = f.producer.try_claim(16);
    ASSERT_FALSE(span.empty());
    fill_frame(span, s);
    ASSERT_TRUE(f.producer.commit_deferred(16));
  }
  EXPECT_TRUE(f.consumer.peek().empty());
  f.producer.flush();
  std::uint64_t expect = 0;
  EXPECT_EQ(f.consumer.consume_burst([&](auto r) { EXPECT_TRUE(check_frame(r, expect++)); }, 10), 3u);
}

TEST(SpscRing, ShouldPublishBurstUpToFreeSpaceAndReportHowMany) {
  Fixture f = make_ring(1024);
  std::vector<std::vector<std::byte>> store;
  std::vector<std::span<const std::byte>> frames;
  for (std::uint64_t s = 0; s < 20; ++s) store.push_back(bytes_of(s, 64));
  for (auto& v : store) frames.emplace_back(v);
  EXPECT_EQ(f.producer.publish_burst(frames), 14u);
  EXPECT_EQ(f.producer.rejected_full(), 1u);
  std::uint64_t expect = 0;
  EXPECT_EQ(f.consumer.consume_burst([&](auto r) { EXPECT_TRUE(check_frame(r, expect++)); }, 5), 5u);
  // 376 bytes free from offset 1008: 16 bytes of wrap padding + 4 records of 72 + the 8 bytes
  // every claim keeps for the end marker (a 5th record would need 384).
  EXPECT_EQ(f.producer.publish_burst(std::span(frames).subspan(14)), 4u);
  EXPECT_EQ(f.producer.rejected_full(), 2u);
  EXPECT_EQ(f.consumer.consume_burst([&](auto r) { EXPECT_TRUE(check_frame(r, expect++)); }, 100), 13u);
  EXPECT_EQ(f.producer.publish_burst(std::span(frames).subspan(18)), 2u);
  EXPECT_EQ(f.consumer.consume_burst([&](auto r) { EXPECT_TRUE(check_frame(r, expect++)); }, 100), 2u);
  EXPECT_EQ(expect, 20u);
}

TEST(SpscRing, ShouldPublishABatchOnlyOnPublishAndHandItsPositionsBackToTheProducer) {
  Fixture f = make_ring(1024);
  std::uint64_t expect = 0;
  const auto drain = [&] {
    return f.consumer.consume_burst([&](auto r) { EXPECT_TRUE(check_frame(r, expect++)); }, 100);
  };
  {
    auto b = f.producer.batch();
    for (std::uint64_t s = 0; s < 3; ++s) {
      auto span = b.try_claim(40);
      ASSERT_FALSE(span.empty());
      fill_frame(span.first(24), s);
      ASSERT_TRUE(b.commit(24));  // commits what is used
    }
    EXPECT_FALSE(f.consumer.has_published()) << "nothing is visible before publish()";
    EXPECT_EQ(drain(), 0u);
    b.publish();
    EXPECT_EQ(drain(), 3u);
    EXPECT_EQ(f.producer.published_records(), 3u) << "publish() hands the positions back";
    const auto more = bytes_of(3, 30);
    ASSERT_EQ(b.append(more), PublishResult::ok);
    EXPECT_EQ(b.append({}), PublishResult::bad_size);
    EXPECT_FALSE(b.commit(8)) << "no outstanding claim";
    EXPECT_EQ(drain(), 0u);
  }  // the destructor publishes
  EXPECT_EQ(drain(), 1u);
  EXPECT_EQ(f.producer.published_records(), 4u);
  EXPECT_EQ(f.producer.rejected_size(), 1u);
  // The producer goes on where the batch stopped.
  ASSERT_EQ(f.producer.try_publish(bytes_of(4, 50)), PublishResult::ok);
  EXPECT_EQ(drain(), 1u);
  EXPECT_EQ(expect, 5u);
}

TEST(SpscRing, ShouldStopABatchAtAFullRingAndWrapInsideABatch) {
  Fixture f = make_ring(1024);
  std::uint64_t sent = 0;
  std::uint64_t expect = 0;
  const auto fill_batch = [&] {
    auto b = f.producer.batch();
    std::uint64_t n = 0;
    for (;;) {
      auto span = b.try_claim(64);
      if (span.empty()) break;
      fill_frame(span, sent++);
      b.commit(64);
      ++n;
    }
    return n;
  };
  EXPECT_EQ(fill_batch(), 14u) << "1024 bytes: 14 records of 72 and the end marker's 8";
  EXPECT_EQ(f.producer.rejected_full(), 1u) << "the refused claim is counted";
  EXPECT_EQ(f.region.stats().rejected_full, 1u);
  for (int round = 0; round < 20; ++round) {
    EXPECT_EQ(f.consumer.consume_burst([&](auto r) { EXPECT_TRUE(check_frame(r, expect++)); }, 5), 5u);
    EXPECT_GT(fill_batch(), 0u) << round;  // wraps with a padding record on some rounds
  }
  (void)f.consumer.consume_burst([&](auto r) { EXPECT_TRUE(check_frame(r, expect++)); }, 1000);
  EXPECT_EQ(expect, sent);
  EXPECT_GT(f.region.stats().tail, 2 * 1024u) << "wrapped";
  EXPECT_EQ(f.region.stats().published, sent);
  EXPECT_EQ(f.producer.rejected_full(), 21u) << "each batch ended at a full ring";
}

TEST(SpscRing, ShouldRefuseSecondEndpointOfSameSideWhileFirstIsAttached) {
  Fixture f = make_ring(1024);
  EXPECT_EQ(SpscProducer::attach(f.region).error, RingError::endpoint_busy);
  EXPECT_EQ(SpscConsumer::attach(f.region).error, RingError::endpoint_busy);
  EXPECT_EQ(f.region.producer_state(), PeerState::alive);
  f.producer.detach();
  EXPECT_EQ(f.region.producer_state(), PeerState::absent);
  auto again = SpscProducer::attach(f.region);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again.value.epoch(), 2u);
}

TEST(SpscRing, ShouldResumeAtPublishedPositionAfterReattach) {
  Fixture f = make_ring(1024);
  ASSERT_EQ(f.producer.try_publish(bytes_of(0, 30)), PublishResult::ok);
  auto claim = f.producer.try_claim(50);  // dies with the handle, never committed
  ASSERT_FALSE(claim.empty());
  fill_frame(claim, 999);
  f.producer = SpscProducer{};  // detach
  auto p = SpscProducer::attach(f.region);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p.value.published_records(), 1u);
  ASSERT_EQ(p.value.try_publish(bytes_of(1, 20)), PublishResult::ok);
  std::uint64_t expect = 0;
  EXPECT_EQ(f.consumer.consume_burst([&](auto r) { EXPECT_TRUE(check_frame(r, expect++)); }, 10), 2u);
}

// The crash-recovery words: a producer may die between any two stores of publish_index().
TEST(SpscRing, ShouldRecoverExactRecordCountWhenProducerDiedBeforeTailStore) {
  Fixture f = make_ring(1024);
  for (std::uint64_t s = 0; s < 3; ++s) ASSERT_EQ(f.producer.try_publish(bytes_of(s, 16)), PublishResult::ok);
  ControlBlock* c = f.region.control();
  const std::uint64_t tail = c->tail.value.load();
  // Died after writing the pending pair of a 4th publication, before the tail store.
  c->producer.pending_index.store(tail + 24);
  c->producer.pending_records.store(4);
  auto p = SpscProducer::attach(f.region, AttachPolicy::force);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p.value.published_records(), 3u);
  EXPECT_EQ(c->producer.records.load(), 3u);
}

TEST(SpscRing, ShouldRecoverExactRecordCountWhenProducerDiedAfterTailStore) {
  Fixture f = make_ring(1024);
  for (std::uint64_t s = 0; s < 3; ++s) ASSERT_EQ(f.producer.try_publish(bytes_of(s, 16)), PublishResult::ok);
  ControlBlock* c = f.region.control();
  // Died after the tail store of the 3rd publication, before its record-count store.
  c->producer.records.store(2);
  auto p = SpscProducer::attach(f.region, AttachPolicy::force);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p.value.published_records(), 3u);
}

// In-band commit: a producer that died after making a batch visible (the consumer may already
// have read it) but before storing the tail index. Its successor walks the committed headers
// past the index: nothing the consumer saw is overwritten, nothing is delivered twice.
TEST(SpscRing, ShouldContinueAfterRecordsCommittedPastTheTailIndexByADeadProducer) {
  Fixture f = make_ring(1024);
  ControlBlock* c = f.region.control();
  for (std::uint64_t s = 0; s < 2; ++s) ASSERT_EQ(f.producer.try_publish(bytes_of(s, 16)), PublishResult::ok);
  const std::uint64_t tail2 = c->tail.value.load();
  const std::uint64_t records2 = c->producer.records.load();
  for (std::uint64_t s = 2; s < 4; ++s) ASSERT_EQ(f.producer.try_publish(bytes_of(s, 16)), PublishResult::ok);
  std::uint64_t expect = 0;
  EXPECT_EQ(f.consumer.consume_burst([&](auto r) { EXPECT_TRUE(check_frame(r, expect++)); }, 3), 3u);
  // Rewind the index words to "records 2 and 3 committed, index not stored" (both stay committed in
  // the data area; the consumer has read record 2 already).
  c->tail.value.store(tail2);
  c->producer.records.store(records2);
  c->producer.pending_index.store(tail2);
  c->producer.pending_records.store(records2);
  auto p = SpscProducer::attach(f.region, AttachPolicy::force);
  ASSERT_TRUE(p.ok()) << to_string(p.error);
  EXPECT_EQ(p.value.published_records(), 4u);
  EXPECT_GT(c->tail.value.load(), tail2);
  for (std::uint64_t s = 4; s < 8; ++s) ASSERT_EQ(p.value.try_publish(bytes_of(s, 16 + s)), PublishResult::ok);
  EXPECT_EQ(f.consumer.consume_burst([&](auto r) { EXPECT_TRUE(check_frame(r, expect++)); }, 10), 5u);
  EXPECT_EQ(expect, 8u);
  EXPECT_FALSE(f.consumer.corrupted());
}

// A batch the dead producer wrote but never made visible (first header without the commit flag)
// is dropped by its successor, whose own records follow the consumer's position.
TEST(SpscRing, ShouldDropABatchThatWasNeverMadeVisibleWhenAProducerDied) {
  Fixture f = make_ring(1024);
  ASSERT_EQ(f.producer.try_publish(bytes_of(0, 16)), PublishResult::ok);
  for (std::uint64_t s = 1; s < 3; ++s) {
    auto span = f.producer.try_claim(16);
    ASSERT_FALSE(span.empty());
    const auto b = bytes_of(s, 16);
    std::memcpy(span.data(), b.data(), b.size());
    ASSERT_TRUE(f.producer.commit_deferred(16));
  }
  // "Dies" here: no flush. The consumer sees record 0 only.
  std::uint64_t expect = 0;
  EXPECT_EQ(f.consumer.consume_burst([&](auto r) { EXPECT_TRUE(check_frame(r, expect++)); }, 10), 1u);
  auto p = SpscProducer::attach(f.region, AttachPolicy::force);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p.value.published_records(), 1u);
  ASSERT_EQ(p.value.try_publish(bytes_of(1, 40)), PublishResult::ok);
  EXPECT_EQ(f.consumer.consume_burst([&](auto r) { EXPECT_TRUE(check_frame(r, expect++)); }, 10), 1u);
  EXPECT_EQ(expect, 2u);
  EXPECT_FALSE(f.consumer.corrupted());
}

TEST(SpscRing, ShouldStopDeliveringWhenRecordHeaderIsCorrupt) {
  Fixture f = make_ring(1024);
  ASSERT_EQ(f.producer.try_publish(bytes_of(0, 16)), PublishResult::ok);
  detail::store_header(f.region.data(), 5000, kRecordFlagCommitted);  // a record past the data area's end
  EXPECT_TRUE(f.consumer.peek().empty());
  EXPECT_TRUE(f.consumer.corrupted());
  EXPECT_EQ(f.consumer.consume_burst([](auto) {}, 10), 0u);
  // Inside the data area but longer than max_payload (504 B here): no producer writes that.
  Fixture g = make_ring(1024);
  ASSERT_EQ(g.producer.try_publish(bytes_of(0, 16)), PublishResult::ok);
  detail::store_header(g.region.data(), 600, kRecordFlagCommitted);
  EXPECT_EQ(g.consumer.consume_burst([](auto) {}, 10), 0u);
  EXPECT_TRUE(g.consumer.corrupted());
}

// Committed padding records that lead around the whole data area (no producer writes them; a
// corrupt or hostile one can) must end in corrupted(), not in a consumer that skips them forever:
// peek() and consume_burst() return within their bounds. (Run in a child with an alarm, so a
// consumer that loops fails the test instead of hanging it.)
TEST(SpscRing, ShouldStopDeliveringWhenPaddingRecordsLoopAroundTheRing) {
  const auto expect_returns = [](bool burst, std::uint64_t pads) {
    EXPECT_EXIT(
        {
          ::alarm(5);
          Fixture f = make_ring(1024);
          const std::uint64_t step = 1024 / pads;
          for (std::uint64_t i = 0; i < pads; ++i)
            detail::store_header(f.region.data() + i * step, static_cast<std::uint32_t>(step - kRecordHeaderBytes),
                                 kRecordFlagPadding | kRecordFlagCommitted);
          const bool empty = burst ? f.consumer.consume_burst([](auto) {}, 10) == 0 : f.consumer.peek().empty();
          std::_Exit(empty && f.consumer.corrupted() ? 0 : 1);
        },
        ::testing::ExitedWithCode(0), "")
        << (burst ? "consume_burst" : "peek") << " with " << pads << " padding records per lap";
  };
  for (const bool burst : {true, false}) {
    expect_returns(burst, 1);
    expect_returns(burst, 4);
  }
}

TEST(SpscRing, ShouldReportDeadOwnerWhenOwnerProcessExitedAndAllowTakeover) {
  // MAP_SHARED memory, so that the forked child's writes reach this process.
  ShmSegment seg = ShmSegment::create_anonymous(RingRegion::bytes_for(1024));
  Fixture f;
  auto fr = RingRegion::format(seg.data(), seg.size(), 1024);
  ASSERT_TRUE(fr.ok());
  f.region = fr.value;
  auto fc = SpscConsumer::attach(f.region);
  ASSERT_TRUE(fc.ok());
  f.consumer = std::move(fc.value);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto p = SpscProducer::attach(f.region);
    if (!p.ok()) ::_exit(2);
    if (p.value.try_publish(bytes_of(0, 16)) != PublishResult::ok) ::_exit(3);
    ::_exit(0);  // no destructors: the owner word stays, as after a crash
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(f.region.producer_state(), PeerState::dead);
  EXPECT_EQ(f.consumer.producer_state(), PeerState::dead);
  auto p = SpscProducer::attach(f.region);
  ASSERT_TRUE(p.ok()) << to_string(p.error);
  EXPECT_EQ(p.value.published_records(), 1u);
  EXPECT_EQ(f.region.producer_state(), PeerState::alive);
}

// Two threads, a small ring (many wraps and full rejections), random sizes, all APIs mixed.
TEST(SpscRing, ShouldDeliverMillionsOfRandomSizedFramesInOrderWithoutLossOrDuplication) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  constexpr std::uint64_t kFrames = 400'000;  // sanitizers: ~20x slower per byte checked
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
  constexpr std::uint64_t kFrames = 400'000;
#else
  constexpr std::uint64_t kFrames = 2'000'000;
#endif
#else
  constexpr std::uint64_t kFrames = 2'000'000;
#endif
  constexpr std::uint32_t kMaxSize = 300;
  Fixture f = make_ring(4096);
  std::atomic<bool> failed{false};
  std::thread producer([&] {
    std::array<std::vector<std::byte>, 8> store;
    std::array<std::span<const std::byte>, 8> spans;
    std::uint64_t s = 0;
    while (s < kFrames && !failed.load(std::memory_order_relaxed)) {
      const std::uint64_t mode = test::mix(s + 12345) % 4;
      if (mode == 0) {
        const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(8, kFrames - s));
        for (std::size_t i = 0; i < n; ++i) {
          store[i] = bytes_of(s + i, frame_size(s + i, 1, kMaxSize));
          spans[i] = store[i];
        }
        s += f.producer.publish_burst(std::span(spans).first(n));
      } else if (mode == 1) {
        const std::uint32_t size = frame_size(s, 1, kMaxSize);
        auto span = f.producer.try_claim(kMaxSize);  // claim the maximum, commit what is used
        if (span.empty()) continue;
        fill_frame(span.first(size), s);
        f.producer.commit(size);
        ++s;
      } else if (mode == 2) {
        // A batch: claims of the maximum committing what is used, and copies, up to 8 records.
        auto b = f.producer.batch();
        const std::uint64_t end = std::min<std::uint64_t>(s + 1 + test::mix(s) % 8, kFrames);
        while (s < end) {
          const std::uint32_t size = frame_size(s, 1, kMaxSize);
          if (s % 2 == 0) {
            auto span = b.try_claim(kMaxSize);
            if (span.empty()) break;
            fill_frame(span.first(size), s);
            b.commit(size);
          } else if (b.append(bytes_of(s, size)) != PublishResult::ok) {
            break;
          }
          ++s;
        }
      } else {
        if (f.producer.try_publish(bytes_of(s, frame_size(s, 1, kMaxSize))) == PublishResult::ok) ++s;
      }
    }
  });
  std::uint64_t expect = 0;
  std::uint64_t bad = 0;
  std::uint64_t stalls = 0;
  std::uint64_t next_stall = 1;
  while (expect < kFrames && bad == 0) {
    if (expect >= next_stall && expect + 100'000 < kFrames) {
      next_stall += 200'000;
      // Stop consuming until the producer has hit the full ring at least once more.
      const std::uint64_t before = f.region.stats().rejected_full;
      while (f.region.stats().rejected_full == before) std::this_thread::yield();
      ++stalls;
    }
    if (expect % 3 == 0) {
      auto rec = f.consumer.peek();
      if (rec.empty()) continue;
      if (rec.size() != frame_size(expect, 1, kMaxSize) || !check_frame(rec, expect)) ++bad;
      ASSERT_TRUE(f.consumer.consume());
      ++expect;
    } else {
      (void)f.consumer.consume_burst(
          [&](std::span<const std::byte> r) {
            if (r.size() != frame_size(expect, 1, kMaxSize) || !check_frame(r, expect)) ++bad;
            ++expect;
          },
          1 + expect % 16);
    }
  }
  if (bad != 0) failed.store(true);
  producer.join();
  ASSERT_EQ(bad, 0u) << "first mismatch at seq " << expect - 1;
  EXPECT_EQ(expect, kFrames);
  EXPECT_TRUE(f.consumer.peek().empty()) << "no extra (duplicated) records";
  EXPECT_EQ(f.region.stats().published, kFrames);
  EXPECT_EQ(f.region.stats().consumed, kFrames);
  EXPECT_GT(f.region.stats().tail / 4096, 1000u) << "must wrap many times";
  EXPECT_FALSE(f.consumer.corrupted());
  EXPECT_GE(stalls, (kFrames - 100'000) / 200'000);
  EXPECT_GE(f.producer.rejected_full(), stalls) << "back pressure must reach the producer";
}

}  // namespace
}  // namespace torq::ring
