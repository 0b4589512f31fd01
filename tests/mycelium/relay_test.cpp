// Relays: UDP loopback with an injected gap detected by the relay; fan-out to N subscribers with
// one slow subscriber (its back pressure counted, the others unaffected); duplicates, foreign
// domains and malformed frames dropped; heartbeats tracked, forwarded, and restarts honoured.
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <string>
#include <vector>

#include "frames.hpp"
#include "torq/mycelium/relay.hpp"
#include "torq/mycelium/transport.hpp"

namespace torq::mycelium {
namespace {

using test::frame_matches;
using test::make_frame;
using test::poll_rounds;
using test::poll_until;
using test::Received;

std::string unique(const char* stem) {
  static int n = 0;
  return std::string(stem) + "-" + std::to_string(::getpid()) + "-" + std::to_string(++n);
}

// An output that records what it was given (a perfect, infinitely fast subscriber).
struct CaptureOutput {
  std::vector<std::vector<std::byte>>* frames;
  PublishResult try_publish(std::span<const std::byte> f) noexcept {
    frames->emplace_back(f.begin(), f.end());
    return PublishResult::ok;
  }
};

// A publisher decorator that loses the datagrams whose sequence is in `drop` (an injected loss
// between the producer and the wire).
struct LossyUdp {
  UdpPublisher* pub;
  std::vector<std::uint64_t> drop;
  PublishResult try_publish(std::span<const std::byte> f) noexcept {
    const auto r = protocol::parse_frame(f);
    for (const auto s : drop) {
      if (r.ok() && r.view.header.sequence == s) return PublishResult::ok;  // "sent", never arrives
    }
    return pub->try_publish(f);
  }
};

TEST(Relay, ShouldDetectAGapWhenAUdpDatagramIsDroppedOnLoopback) {
  auto sub = open_udp_subscriber(parse_transport_config("udp://127.0.0.1:0"));
  auto udp = open_udp_publisher(parse_transport_config("udp://127.0.0.1:" + std::to_string(sub.port())));
  LossyUdp lossy{&udp, {5}};
  std::vector<std::vector<std::byte>> out;
  Relay<CaptureOutput> relay(RelayConfig{});
  relay.add_output(CaptureOutput{&out});

  for (std::uint64_t s = 1; s <= 10; ++s) ASSERT_EQ(lossy.try_publish(make_frame(11, s)), PublishResult::ok);
  for (int i = 0; i < 100000 && relay.stats().received < 9; ++i) (void)relay.pump(sub, 32);

  ASSERT_EQ(relay.stats().received, 9u);
  const auto& c = relay.tracker().counters(11);
  EXPECT_EQ(c.gaps, 1u);
  EXPECT_EQ(c.missing, 1u);
  EXPECT_EQ(c.accepted, 9u);
  ASSERT_EQ(out.size(), 9u);
  EXPECT_TRUE(frame_matches(out[3], 11, 4));
  EXPECT_TRUE(frame_matches(out[4], 11, 6));  // forwarded unchanged, so downstream sees the gap too
}

TEST(Relay, ShouldDetectATrailingLossFromTheNextHeartbeatOverUdp) {
  auto sub = open_udp_subscriber(parse_transport_config("udp://127.0.0.1:0"));
  auto udp = open_udp_publisher(parse_transport_config("udp://127.0.0.1:" + std::to_string(sub.port())));
  LossyUdp lossy{&udp, {4, 5}};
  Sequencer seq(12, 1);
  std::array<std::byte, kHeartbeatFrameSize> hbuf{};
  ASSERT_EQ(udp.try_publish(seq.build_heartbeat(hbuf, 1)), PublishResult::ok);
  for (int i = 0; i < 5; ++i) {
    const std::uint64_t s = seq.next_sequence();
    ASSERT_EQ(lossy.try_publish(make_frame(12, s)), PublishResult::ok);
  }
  ASSERT_EQ(udp.try_publish(seq.build_heartbeat(hbuf, 2)), PublishResult::ok);  // says: last was 5
  std::vector<std::vector<std::byte>> out;
  Relay<CaptureOutput> relay(RelayConfig{});
  relay.add_output(CaptureOutput{&out});
  for (int i = 0; i < 100000 && relay.stats().received < 5; ++i) (void)relay.pump(sub, 32);
  ASSERT_EQ(relay.stats().received, 5u);  // 2 heartbeats + 3 data
  EXPECT_EQ(relay.stats().heartbeats, 2u);
  EXPECT_EQ(relay.tracker().counters(12).missing, 2u);
  EXPECT_EQ(out.size(), 5u);  // heartbeats are forwarded as well
}

TEST(Relay, ShouldFanOutToAllSubscribersAndCountOnlyTheSlowOnesBackPressure) {
  const std::string base = unique("fan");
  // Three subscribers over inproc rings; subscriber 1 has a tiny ring and is never drained.
  std::vector<InprocSubscriber> subs;
  Relay<InprocPublisher> relay(RelayConfig{});
  for (int i = 0; i < 3; ++i) {
    const auto cfg = parse_transport_config("inproc:" + base + "-" + std::to_string(i) +
                                            (i == 1 ? "?capacity=4096" : "?capacity=1048576"));
    subs.push_back(open_inproc_subscriber(cfg));
    relay.add_output(open_inproc_publisher(cfg));
  }
  constexpr std::uint64_t kFrames = 2000;
  std::array<Received, 3> rx;
  for (std::uint64_t s = 1; s <= kFrames; ++s) {
    ASSERT_EQ(relay.on_frame(make_frame(1, s)), RelayVerdict::forwarded);
    (void)subs[0].poll(rx[0], 64);
    (void)subs[2].poll(rx[2], 64);
  }
  poll_until(subs[0], rx[0], kFrames);
  poll_until(subs[2], rx[2], kFrames);
  for (int i : {0, 2}) {
    ASSERT_EQ(rx[i].frames.size(), kFrames) << "subscriber " << i;
    for (std::uint64_t s = 1; s <= kFrames; ++s) ASSERT_TRUE(frame_matches(rx[i].frames[s - 1], 1, s));
    EXPECT_EQ(relay.output_stats(i).delivered, kFrames);
    EXPECT_EQ(relay.output_stats(i).backpressure, 0u);
  }
  const auto& slow = relay.output_stats(1);
  EXPECT_GT(slow.delivered, 0u);
  EXPECT_EQ(slow.delivered + slow.backpressure, kFrames);  // every miss counted, none silent
  EXPECT_TRUE(slow.lagging);
  EXPECT_EQ(relay.stats().output_misses, slow.backpressure);
  // The slow subscriber got a clean prefix; when it catches up, its own tracker sees the gap.
  poll_until(subs[1], rx[1], slow.delivered);
  ASSERT_EQ(rx[1].frames.size(), slow.delivered);
  for (std::uint64_t s = 1; s <= slow.delivered; ++s) ASSERT_TRUE(frame_matches(rx[1].frames[s - 1], 1, s));
  ASSERT_EQ(relay.on_frame(make_frame(1, kFrames + 1)), RelayVerdict::forwarded);
  EXPECT_FALSE(relay.output_stats(1).lagging);
  Received tail;
  poll_until(subs[1], tail, 1);
  ASSERT_EQ(tail.frames.size(), 1u);
  auto downstream = std::make_unique<SequenceTracker>();
  for (const auto& f : rx[1].frames) (void)downstream->on_data(1, protocol::parse_frame(f).view.header.sequence);
  EXPECT_EQ(downstream->on_data(1, kFrames + 1), SeqVerdict::gap);
}

TEST(Relay, ShouldDropDuplicatesForeignDomainsAndMalformedFrames) {
  std::vector<std::vector<std::byte>> out;
  Relay<CaptureOutput> relay(RelayConfig{protocol::RelayDomain::MarketData});
  relay.add_output(CaptureOutput{&out});
  EXPECT_EQ(relay.on_frame(make_frame(1, 1)), RelayVerdict::forwarded);
  EXPECT_EQ(relay.on_frame(make_frame(1, 1)), RelayVerdict::duplicate);
  EXPECT_EQ(relay.on_frame(make_frame(1, 2, 0, protocol::RelayDomain::Signal)), RelayVerdict::wrong_domain);
  auto bad = make_frame(1, 2);
  bad[50] ^= std::byte{1};
  EXPECT_EQ(relay.on_frame(bad), RelayVerdict::malformed);
  EXPECT_EQ(relay.on_frame(std::span<const std::byte>(bad).first(10)), RelayVerdict::malformed);
  EXPECT_EQ(relay.on_frame(make_frame(1, 2)), RelayVerdict::forwarded);
  EXPECT_EQ(out.size(), 2u);
  EXPECT_EQ(relay.stats().duplicates, 1u);
  EXPECT_EQ(relay.stats().wrong_domain, 1u);
  EXPECT_EQ(relay.stats().malformed, 2u);
}

TEST(Relay, ShouldAcceptARestartedSourceAfterItsNewEpochHeartbeat) {
  std::vector<std::vector<std::byte>> out;
  Relay<CaptureOutput> relay(RelayConfig{});
  relay.add_output(CaptureOutput{&out});
  std::array<std::byte, kHeartbeatFrameSize> hbuf{};
  {
    Sequencer run1(5, 1);
    EXPECT_EQ(relay.on_frame(run1.build_heartbeat(hbuf, 1)), RelayVerdict::heartbeat);
    for (int i = 0; i < 50; ++i) EXPECT_EQ(relay.on_frame(make_frame(5, run1.next_sequence())), RelayVerdict::forwarded);
  }
  Sequencer run2(5, 2);  // the source restarted: sequences from 1 again
  EXPECT_EQ(relay.on_frame(run2.build_heartbeat(hbuf, 2)), RelayVerdict::heartbeat);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(relay.on_frame(make_frame(5, run2.next_sequence())), RelayVerdict::forwarded);
  EXPECT_EQ(relay.tracker().counters(5).restarts, 1u);
  EXPECT_EQ(relay.stats().duplicates, 0u);
  EXPECT_EQ(out.size(), 62u);
}

TEST(Relay, ShouldReportASourceThatFellSilent) {
  std::vector<std::vector<std::byte>> out;
  Relay<CaptureOutput> relay(RelayConfig{});
  relay.add_output(CaptureOutput{&out});
  (void)relay.on_frame(make_frame(1, 1));
  (void)relay.on_frame(make_frame(2, 1));
  std::array<std::uint8_t, 4> silent{};
  EXPECT_EQ(relay.check_liveness(1'000, 500, silent), 0u);  // first sighting
  (void)relay.on_frame(make_frame(2, 2));
  ASSERT_EQ(relay.check_liveness(2'000, 500, silent), 1u);  // source 1 quiet for 1000 ns
  EXPECT_EQ(silent[0], 1);
}

TEST(Relay, ShouldSendItsOwnHeartbeatWhenDueSoConsumersCanTellQuietFromDead) {
  std::vector<std::vector<std::byte>> out;
  RelayConfig cfg;
  cfg.own_source = 200;
  cfg.own_epoch = 7;
  cfg.heartbeat_interval_ns = 1000;
  Relay<CaptureOutput> relay(cfg);
  relay.add_output(CaptureOutput{&out});
  EXPECT_TRUE(relay.tick(5000));
  EXPECT_FALSE(relay.tick(5500));  // not due yet
  EXPECT_TRUE(relay.tick(6000));
  ASSERT_EQ(out.size(), 2u);
  const auto r = protocol::parse_frame(out[0]);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.view.header.source, 200);
  const auto hb = heartbeat_of(r.view);
  ASSERT_TRUE(hb.has_value());
  EXPECT_EQ(hb->epoch, 7u);
  EXPECT_EQ(relay.stats().own_heartbeats, 2u);
  EXPECT_EQ(relay.stats().forwarded, 0u);
  // A relay without an own source never sends one.
  Relay<CaptureOutput> silent(RelayConfig{});
  silent.add_output(CaptureOutput{&out});
  EXPECT_FALSE(silent.tick(1'000'000'000));
}

TEST(Relay, ShouldRelayMixedTransportsThroughTheConfigChosenPublisher) {
  const std::string a = "inproc:" + unique("mix");
  auto sub_a = Subscriber::open(a);
  auto udp_sub = open_udp_subscriber(parse_transport_config("udp://127.0.0.1:0"));
  Relay<Publisher> relay(RelayConfig{});
  relay.add_output(Publisher::open(a));
  relay.add_output(Publisher::open("udp://127.0.0.1:" + std::to_string(udp_sub.port())));
  for (std::uint64_t s = 1; s <= 20; ++s) ASSERT_EQ(relay.on_frame(make_frame(3, s)), RelayVerdict::forwarded);
  Received ra, rb;
  poll_until(sub_a, ra, 20);
  poll_until(udp_sub, rb, 20);
  EXPECT_EQ(ra.frames.size(), 20u);
  EXPECT_EQ(rb.frames.size(), 20u);
  EXPECT_EQ(relay.stats().deliveries, 40u);
}

}  // namespace
}  // namespace torq::mycelium
