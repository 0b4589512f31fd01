// Back pressure with stalled consumers: a producer at full speed into an in-process ring whose
// consumer thread stalls; the same through a shared-memory ring with the consumer process
// SIGSTOPped and SIGCONTed; a relay fanning out to three subscribers with one stalled. Asserted:
// refusals are reported and counted (would_block / rejected_full), nothing is overwritten, every
// accepted frame arrives once, intact and in order, and a relay's slow output loses exactly what
// it counted (delivered + counted == published) while the other outputs lose nothing.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <memory>
#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "fault_util.hpp"
#include "torq/mycelium/heartbeat.hpp"
#include "torq/mycelium/relay.hpp"
#include "torq/mycelium/ring_transport.hpp"
#include "torq/ring/shm_segment.hpp"

namespace torq::faults {
namespace {

using mycelium::PublishResult;

// Bytes a frame occupies in a torq::ring (8-byte record header, padded to 8).
constexpr std::uint64_t ring_record_bytes(std::size_t frame) { return (8 + frame + 7) & ~std::uint64_t{7}; }

std::string unique(const char* stem) {
  static int n = 0;
  return std::string(stem) + "-" + std::to_string(::getpid()) + "-" + std::to_string(++n);
}

// Checks frames as they arrive: source, consecutive sequences from 1, intact contents.
struct OrderCheck {
  std::uint8_t source = 0;
  std::uint64_t next = 1;
  std::uint64_t bad = 0;
  void operator()(std::span<const std::byte> f) noexcept {
    if (!frame_matches(f, source, next)) ++bad;
    next = header_of(f).sequence + 1;
  }
  [[nodiscard]] std::uint64_t received() const noexcept { return next - 1; }
};

TEST(Backpressure, ShouldCountRefusalsAndLoseNothingWhenTheInprocConsumerStalls) {
  constexpr std::uint64_t kFrames = 30'000, kStallAt = 5'000, kRefusalsWhileStalled = 20'000;
  const std::string name = "inproc:" + unique("faults-bp") + "?capacity=4096";
  auto pub = mycelium::open_inproc_publisher(mycelium::parse_transport_config(name));
  auto sub = mycelium::open_inproc_subscriber(mycelium::parse_transport_config(name));
  std::atomic<bool> stalled{false}, resume{false};
  std::atomic<std::uint64_t> received{0};
  OrderCheck check{.source = 3};

  std::thread consumer([&] {
    while (check.received() < kFrames) {
      if (check.received() >= kStallAt && !resume.load(std::memory_order_acquire)) {
        stalled.store(true, std::memory_order_release);  // the consumer stops polling
        continue;
      }
      if (sub.poll(check, 32) != 0) received.store(check.received(), std::memory_order_release);
    }
    received.store(check.received(), std::memory_order_release);
  });

  std::uint64_t refused = 0, refused_stalled = 0, accepted_stalled = 0, frozen_at = 0;
  for (std::uint64_t s = 1; s <= kFrames; ++s) {
    const auto f = make_frame(3, s);
    for (;;) {
      const PublishResult r = pub.try_publish(f);
      if (r == PublishResult::ok) {
        if (stalled.load(std::memory_order_acquire) && !resume.load(std::memory_order_relaxed)) ++accepted_stalled;
        break;
      }
      ASSERT_EQ(r, PublishResult::would_block);
      ++refused;
      if (stalled.load(std::memory_order_acquire) && !resume.load(std::memory_order_relaxed)) {
        if (refused_stalled++ == 0) frozen_at = received.load(std::memory_order_acquire);
        if (refused_stalled >= kRefusalsWhileStalled) {
          // While stalled nothing was consumed, and the ring took at most its capacity.
          EXPECT_EQ(received.load(std::memory_order_acquire), frozen_at);
          resume.store(true, std::memory_order_release);
        }
      }
    }
  }
  consumer.join();
  std::printf("[faults] inproc stall: published=%llu would_block=%llu refused_while_stalled=%llu accepted_while_stalled=%llu\n",
              (unsigned long long)pub.stats().published, (unsigned long long)pub.stats().would_block,
              (unsigned long long)refused_stalled, (unsigned long long)accepted_stalled);
  EXPECT_TRUE(resume.load());
  EXPECT_GE(refused_stalled, kRefusalsWhileStalled);
  EXPECT_LE(accepted_stalled * ring_record_bytes(make_frame(3, 1).size()), 4096u);  // never more than the ring holds
  EXPECT_EQ(pub.stats().published, kFrames);
  EXPECT_EQ(pub.stats().would_block, refused);
  EXPECT_EQ(pub.producer().rejected_full(), refused);
  EXPECT_EQ(check.received(), kFrames);
  EXPECT_EQ(check.bad, 0u);
}

// Result the consumer process reports through a pipe.
struct ChildReport {
  std::uint64_t received = 0;
  std::uint64_t bad = 0;
  std::uint64_t polls = 0;
};

// Removes a shared-memory ring name at scope exit.
struct ShmNameGuard {
  std::string name;
  ~ShmNameGuard() { (void)ring::ShmSegment::remove(name); }
};

TEST(Backpressure, ShouldLoseNothingWhenTheShmConsumerProcessIsStoppedAndContinued) {
  constexpr std::uint64_t kFrames = 60'000, kStopAt = 20'000, kRefusalsWhileStopped = 50'000;
  constexpr std::uint64_t kCapacity = 65536;
  const std::string shm = unique("torq-faults-shm");
  ShmNameGuard guard{shm};
  const std::string cfg = "shm:/" + shm + "?capacity=" + std::to_string(kCapacity);
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {  // consumer process: validates every frame, reports, exits without gtest teardown
    ::close(fds[0]);
    ChildReport rep;
    try {
      auto sub = mycelium::open_shm_subscriber(mycelium::parse_transport_config(cfg));
      OrderCheck check{.source = 4};
      const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
      while (check.received() < kFrames && std::chrono::steady_clock::now() < until) {
        if (sub.poll(check, 64) == 0) sub.consumer().heartbeat();
        ++rep.polls;
      }
      rep.received = check.received();
      rep.bad = check.bad;
    } catch (...) {
      rep.bad = ~0ULL;
    }
    (void)!::write(fds[1], &rep, sizeof rep);
    ::_exit(0);
  }
  ::close(fds[1]);
  struct Reaper {  // never leave a stopped child behind, whatever an assertion does
    pid_t pid;
    ~Reaper() {
      if (pid > 0) {
        ::kill(pid, SIGCONT);
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
      }
    }
  } reaper{child};

  auto pub = mycelium::open_shm_publisher(mycelium::parse_transport_config(cfg));
  auto mon = ring::ShmRing::attach(shm);  // a monitor's view of the shared counters
  std::uint64_t refused = 0, refused_stopped = 0;
  bool stopped = false, continued = false;
  std::uint64_t consumed_at_stop = 0;
  ring::PeerState state_while_stopped = ring::PeerState::absent;
  for (std::uint64_t s = 1; s <= kFrames; ++s) {
    if (s == kStopAt) {
      ASSERT_EQ(::kill(child, SIGSTOP), 0);
      int st = 0;
      ASSERT_EQ(::waitpid(child, &st, WUNTRACED), child);
      ASSERT_TRUE(WIFSTOPPED(st));
      stopped = true;
      consumed_at_stop = mon.region.stats().consumed;
    }
    const auto f = make_frame(4, s);
    for (;;) {
      const PublishResult r = pub.try_publish(f);
      if (r == PublishResult::ok) break;
      ASSERT_EQ(r, PublishResult::would_block);
      ++refused;
      if (stopped && !continued && ++refused_stopped >= kRefusalsWhileStopped) {
        const auto st = mon.region.stats();
        EXPECT_EQ(st.consumed, consumed_at_stop) << "a stopped consumer consumed";
        EXPECT_LE(st.used_bytes(), kCapacity) << "more bytes held than the ring has";
        EXPECT_EQ(st.published, s - 1);
        std::this_thread::sleep_for(std::chrono::milliseconds(60));
        state_while_stopped = mon.region.consumer_state(std::chrono::milliseconds(50));
        ASSERT_EQ(::kill(child, SIGCONT), 0);
        continued = true;
      }
    }
  }
  ChildReport rep;
  ASSERT_EQ(::read(fds[0], &rep, sizeof rep), static_cast<ssize_t>(sizeof rep));
  ::close(fds[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  reaper.pid = -1;
  const auto st = mon.region.stats();
  std::printf("[faults] shm SIGSTOP: published=%llu would_block=%llu refused_while_stopped=%llu rejected_full=%llu "
              "consumer_received=%llu bad=%llu consumer_state_while_stopped=%s\n",
              (unsigned long long)pub.stats().published, (unsigned long long)pub.stats().would_block,
              (unsigned long long)refused_stopped, (unsigned long long)st.rejected_full, (unsigned long long)rep.received,
              (unsigned long long)rep.bad, ring::to_string(state_while_stopped));
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_TRUE(continued);
  EXPECT_EQ(pub.stats().published, kFrames);
  EXPECT_EQ(pub.stats().would_block, refused);
  EXPECT_EQ(st.rejected_full, refused);  // the shared counter every monitor sees
  EXPECT_EQ(rep.received, kFrames);      // every accepted frame, once, in order, intact
  EXPECT_EQ(rep.bad, 0u);
  EXPECT_EQ(st.consumed, kFrames);
  EXPECT_EQ(state_while_stopped, ring::PeerState::stale);  // hung, not dead: no takeover
}

// ---- relay fan-out with one subscriber stalled ---------------------------------------------

struct Downstream {
  mycelium::InprocSubscriber sub;
  std::unique_ptr<mycelium::SequenceTracker> tracker = std::make_unique<mycelium::SequenceTracker>();
  std::vector<std::uint64_t> seqs;
  std::uint64_t bad = 0;
  std::size_t drain() {
    std::size_t total = 0;
    for (;;) {
      const std::size_t n = sub.poll(
          [&](std::span<const std::byte> f) noexcept {
            const auto r = protocol::parse_frame(f);
            if (!r.ok()) {
              ++bad;
              return;
            }
            if (const auto hb = mycelium::heartbeat_of(r.view)) {
              (void)tracker->on_heartbeat(r.view.header.source, *hb);
              return;
            }
            if (!frame_matches(f, r.view.header.source, r.view.header.sequence)) ++bad;
            (void)tracker->on_data(r.view.header.source, r.view.header.sequence);
            seqs.push_back(r.view.header.sequence);
          },
          64);
      total += n;
      if (n == 0) return total;
    }
  }
};

TEST(Backpressure, ShouldDropAndCountOnlyForTheStalledRelayOutput) {
  constexpr std::uint64_t kFrames = 5'000, kStallFrom = 1'000, kStallTo = 3'000;
  constexpr std::uint8_t kSource = 21;
  mycelium::RelayConfig rc;
  rc.lagging_after = 64;
  mycelium::Relay<mycelium::InprocPublisher> relay(rc);
  std::array<Downstream, 3> down;
  for (auto& d : down) {
    const std::string name = "inproc:" + unique("faults-fan") + "?capacity=8192";
    relay.add_output(mycelium::open_inproc_publisher(mycelium::parse_transport_config(name)));
    d.sub = mycelium::open_inproc_subscriber(mycelium::parse_transport_config(name));
  }
  mycelium::Sequencer seq(kSource, 1);
  std::array<std::byte, mycelium::kHeartbeatFrameSize> hb{};
  ASSERT_EQ(relay.on_frame(seq.build_heartbeat(hb, 1)), mycelium::RelayVerdict::heartbeat);
  bool lagging_during_stall = false;
  for (std::uint64_t i = 1; i <= kFrames; ++i) {
    ASSERT_EQ(relay.on_frame(make_frame(kSource, seq.next_sequence())), mycelium::RelayVerdict::forwarded);
    (void)down[0].drain();
    (void)down[2].drain();
    const bool stalled = i >= kStallFrom && i < kStallTo;
    if (i == kStallTo - 1) lagging_during_stall = relay.output_stats(1).lagging;
    if (!stalled) (void)down[1].drain();
  }
  (void)relay.on_frame(seq.build_heartbeat(hb, 2));  // reveals nothing new: the last frame was delivered
  for (auto& d : down) (void)d.drain();

  const auto& slow = relay.output_stats(1);
  std::printf("[faults] relay fan-out, output 1 stalled for %llu frames: delivered=%llu backpressure=%llu "
              "downstream missing=%llu gaps=%llu; outputs 0/2 delivered=%llu/%llu\n",
              (unsigned long long)(kStallTo - kStallFrom), (unsigned long long)slow.delivered,
              (unsigned long long)slow.backpressure, (unsigned long long)down[1].tracker->counters(kSource).missing,
              (unsigned long long)down[1].tracker->counters(kSource).gaps,
              (unsigned long long)relay.output_stats(0).delivered, (unsigned long long)relay.output_stats(2).delivered);
  const std::uint64_t offered = kFrames + 2;  // data frames + two heartbeats
  for (const std::size_t k : {std::size_t{0}, std::size_t{2}}) {  // the healthy outputs lost nothing
    EXPECT_EQ(relay.output_stats(k).delivered, offered);
    EXPECT_EQ(relay.output_stats(k).backpressure, 0u);
    ASSERT_EQ(down[k].seqs.size(), kFrames);
    for (std::uint64_t i = 0; i < kFrames; ++i) ASSERT_EQ(down[k].seqs[i], i + 1);
    EXPECT_EQ(down[k].tracker->counters(kSource).missing, 0u);
    EXPECT_EQ(down[k].bad, 0u);
  }
  EXPECT_GT(slow.backpressure, 0u);
  EXPECT_EQ(slow.delivered + slow.backpressure, offered);          // delivered + counted == published
  EXPECT_EQ(relay.stats().output_misses, slow.backpressure);
  EXPECT_EQ(down[1].seqs.size() + down[1].tracker->counters(kSource).missing, kFrames);
  EXPECT_EQ(down[1].tracker->counters(kSource).missing, slow.backpressure);  // its own tracker sees the loss
  EXPECT_EQ(down[1].tracker->counters(kSource).gaps, 1u);
  EXPECT_EQ(down[1].bad, 0u);
  EXPECT_TRUE(lagging_during_stall);
  EXPECT_FALSE(slow.lagging);  // cleared by the first delivery after the stall
}

TEST(Backpressure, ShouldKeepOtherSubscribersFlowingWhileOneConsumerThreadIsStalled) {
  constexpr std::uint64_t kFrames = 20'000;
  constexpr std::uint8_t kSource = 22;
  mycelium::Relay<mycelium::InprocPublisher> relay(mycelium::RelayConfig{});
  std::array<Downstream, 3> down;
  for (std::size_t k = 0; k < down.size(); ++k) {
    // The healthy consumers' rings hold the whole run, so a slow-scheduled thread is never the
    // cause of a miss; the stalled one has a small ring.
    const std::string name = "inproc:" + unique("faults-fant") + (k == 1 ? "?capacity=8192" : "?capacity=8388608");
    relay.add_output(mycelium::open_inproc_publisher(mycelium::parse_transport_config(name)));
    down[k].sub = mycelium::open_inproc_subscriber(mycelium::parse_transport_config(name));
  }
  std::atomic<bool> relay_done{false};
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (std::size_t k = 0; k < down.size(); ++k) {
    threads.emplace_back([&, k] {
      if (k == 1) {  // stalled until the relay has pushed every frame
        while (!relay_done.load(std::memory_order_acquire)) std::this_thread::yield();
      }
      while (!stop.load(std::memory_order_acquire)) {
        if (down[k].drain() == 0) std::this_thread::yield();
      }
      (void)down[k].drain();
    });
  }
  mycelium::Sequencer seq(kSource, 1);
  std::array<std::byte, mycelium::kHeartbeatFrameSize> hb{};
  (void)relay.on_frame(seq.build_heartbeat(hb, 1));
  for (std::uint64_t i = 1; i <= kFrames; ++i) (void)relay.on_frame(make_frame(kSource, seq.next_sequence()));
  // The relay finished while consumer 1 was stalled: it never waited for it.
  relay_done.store(true, std::memory_order_release);
  // Periodic heartbeats (as a relay's sources send them) until one reaches consumer 1: it reveals
  // the tail that consumer missed. The relay never retries a refused frame; the heartbeat is the
  // documented recovery signal.
  std::uint64_t heartbeats = 1;
  const std::uint64_t before = relay.output_stats(1).delivered;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (relay.output_stats(1).delivered == before && std::chrono::steady_clock::now() < until) {
    (void)relay.on_frame(seq.build_heartbeat(hb, 1 + heartbeats++));
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  while (std::chrono::steady_clock::now() < until && (down[0].seqs.size() < kFrames || down[2].seqs.size() < kFrames ||
                                                      down[1].tracker->counters(kSource).heartbeats < 2)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  stop.store(true, std::memory_order_release);
  for (auto& t : threads) t.join();
  const auto& slow = relay.output_stats(1);
  std::printf("[faults] relay fan-out, consumer thread 1 stalled for the whole run: delivered=%llu backpressure=%llu "
              "received=%zu downstream missing=%llu\n",
              (unsigned long long)slow.delivered, (unsigned long long)slow.backpressure, down[1].seqs.size(),
              (unsigned long long)down[1].tracker->counters(kSource).missing);
  for (const std::size_t k : {std::size_t{0}, std::size_t{2}}) {
    EXPECT_EQ(relay.output_stats(k).backpressure, 0u);
    EXPECT_EQ(down[k].seqs.size(), kFrames);
    EXPECT_EQ(down[k].tracker->counters(kSource).missing, 0u);
  }
  EXPECT_EQ(slow.delivered + slow.backpressure, kFrames + heartbeats);
  EXPECT_EQ(down[1].seqs.size() + down[1].tracker->counters(kSource).missing, kFrames);
  // Every refusal was a data frame consumer 1 found missing, or a heartbeat it never saw.
  const std::uint64_t refused_heartbeats = heartbeats - down[1].tracker->counters(kSource).heartbeats;
  EXPECT_EQ(down[1].tracker->counters(kSource).missing + refused_heartbeats, slow.backpressure);
  EXPECT_EQ(relay.stats().output_misses, slow.backpressure);
}

}  // namespace
}  // namespace torq::faults
