// Two-process tests of the ring over shared memory: a helper process (ring_peer, fork+exec)
// produces; this process consumes, kills the producer with SIGKILL mid-stream, detects the dead
// peer and lets a new producer re-attach and continue with no loss and no duplication.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "frame_pattern.hpp"
#include "torq/ring/shm_segment.hpp"

#ifndef TORQ_RING_PEER_PATH
#define TORQ_RING_PEER_PATH ""
#endif

namespace torq::ring {
namespace {

std::string peer_path() {
  std::string p = TORQ_RING_PEER_PATH;
  if (p.empty()) {
    if (const char* d = std::getenv("TORQ_BINARY_DIR")) p = std::string(d) + "/tests/ring/ring_peer";
  }
  return p;
}

std::string unique_name(const char* what) {
  static int n = 0;
  return "torq-ring-test-" + std::to_string(::getpid()) + "-" + what + "-" + std::to_string(n++);
}

// Removes the name at scope exit (even when an assertion fails).
struct NameGuard {
  std::string name;
  ~NameGuard() { (void)ShmSegment::remove(name); }
};

pid_t spawn(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  std::string path = peer_path();
  argv.push_back(path.data());
  std::vector<std::string> copy = args;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::execv(path.c_str(), argv.data());
    ::_exit(127);
  }
  return pid;
}

int wait_exit(pid_t pid) {
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid) return -1;
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

// Waits (bounded) until the producer side has been attached `epoch` times.
bool wait_producer_epoch(const RingRegion& r, std::uint64_t epoch) {
  for (int i = 0; i < 10'000; ++i) {
    if (r.stats().producer_epoch >= epoch) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return false;
}

// Consumes until `until` records have arrived in total; checks each against `next`.
// Returns false on the first mismatch. Bounded by `max_idle` polls without data.
bool consume_until(SpscConsumer& c, std::uint64_t& next, std::uint64_t until) {
  std::uint64_t idle = 0;
  bool ok = true;
  while (next < until && ok) {
    const std::size_t n = c.consume_burst(
        [&](std::span<const std::byte> r) {
          if (!ok) return;
          if (r.size() != test::frame_size(next, 8, 200) || !test::check_frame(r, next)) {
            ADD_FAILURE() << "frame mismatch: expected seq " << next << ", got seq " << test::frame_seq(r)
                          << " size " << r.size();
            ok = false;
          }
          ++next;
        },
        std::min<std::uint64_t>(64, until - next));
    if (n == 0) {
      if (++idle > 20'000'000) {
        ADD_FAILURE() << "timed out waiting for records at seq " << next;
        return false;
      }
      if ((idle & 1023) == 0) std::this_thread::yield();
    } else {
      idle = 0;
    }
  }
  return ok;
}

TEST(ShmSegment, ShouldRefuseDuplicateNameAndAttachToExistingOne) {
  NameGuard g{unique_name("dup")};
  ShmSegment a = ShmSegment::create(g.name, 10000);
  EXPECT_GE(a.size(), 10000u);
  EXPECT_THROW((void)ShmSegment::create(g.name, 10000), std::system_error);
  ShmSegment b = ShmSegment::attach(g.name);
  ASSERT_EQ(b.size(), a.size());
  static_cast<unsigned char*>(a.data())[123] = 0x5A;
  EXPECT_EQ(static_cast<unsigned char*>(b.data())[123], 0x5A) << "both mappings must share memory";
  EXPECT_THROW((void)ShmSegment::attach(unique_name("missing")), std::system_error);
  EXPECT_THROW((void)ShmSegment::create("bad/name", 100), std::system_error);
}

TEST(ShmSegment, ShouldShareAnonymousSegmentThroughItsFd) {
  ShmSegment a = ShmSegment::create_anonymous(4096 + kControlBytes);
  ShmSegment b = ShmSegment::from_fd(::dup(a.fd()));
  static_cast<unsigned char*>(a.data())[77] = 0x42;
  EXPECT_EQ(static_cast<unsigned char*>(b.data())[77], 0x42);
}

TEST(ShmSegment, ShouldFallBackToNormalPagesWhenNoHugepagesAreStocked) {
  NameGuard g{unique_name("huge")};
  ShmRing r = ShmRing::create(g.name, 1 << 16, /*hugepages=*/true);
  EXPECT_TRUE(r.region.valid());
  ShmRing other = ShmRing::attach(g.name);
  EXPECT_EQ(other.region.capacity(), 1u << 16);
}

TEST(ShmRing, ShouldTransferFramesFromAnotherProcess) {
  ASSERT_EQ(::access(peer_path().c_str(), X_OK), 0) << "ring_peer not found at " << peer_path();
  NameGuard g{unique_name("xfer")};
  ShmRing ring = ShmRing::create(g.name, 1 << 14);
  auto c = SpscConsumer::attach(ring.region);
  ASSERT_TRUE(c.ok());
  const pid_t pid = spawn({"produce", g.name, "200000"});
  ASSERT_GT(pid, 0);
  std::uint64_t next = 0;
  EXPECT_TRUE(consume_until(c.value, next, 200'000));
  EXPECT_EQ(wait_exit(pid), 0);
  EXPECT_TRUE(c.value.peek().empty());
  EXPECT_EQ(ring.region.producer_state(), PeerState::absent) << "clean exit detaches";
}

TEST(ShmRing, ShouldDetectKilledProducerAndResumeWithoutLossOrDuplication) {
  ASSERT_EQ(::access(peer_path().c_str(), X_OK), 0) << "ring_peer not found at " << peer_path();
  NameGuard g{unique_name("crash")};
  ShmRing ring = ShmRing::create(g.name, 1 << 14);
  auto c = SpscConsumer::attach(ring.region);
  ASSERT_TRUE(c.ok());
  constexpr std::uint64_t kTotal = 400'000;

  const pid_t first = spawn({"produce", g.name, std::to_string(kTotal)});
  ASSERT_GT(first, 0);
  std::uint64_t next = 0;
  ASSERT_TRUE(consume_until(c.value, next, 100'000));
  // Stop reading: the producer fills the ring and spins on back pressure, mid-stream.
  const std::uint64_t rejected_before = ring.region.stats().rejected_full;
  for (int i = 0; i < 5000 && ring.region.stats().rejected_full == rejected_before; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_GT(ring.region.stats().rejected_full, rejected_before) << "producer must see the full ring";
  EXPECT_EQ(c.value.producer_state(), PeerState::alive);
  ASSERT_EQ(::kill(first, SIGKILL), 0);
  EXPECT_EQ(wait_exit(first), 128 + SIGKILL);
  EXPECT_EQ(c.value.producer_state(), PeerState::dead);
  EXPECT_EQ(c.value.producer_epoch(), 1u);
  const std::uint64_t committed = ring.region.stats().published;
  EXPECT_GT(committed, next) << "records committed before the crash are still in the ring";

  // A new producer takes over the dead one's side and resumes after the last committed record.
  const pid_t second = spawn({"produce", g.name, std::to_string(kTotal)});
  ASSERT_GT(second, 0);
  ASSERT_TRUE(consume_until(c.value, next, kTotal));
  EXPECT_EQ(wait_exit(second), 0);
  EXPECT_EQ(c.value.producer_epoch(), 2u);
  EXPECT_TRUE(c.value.peek().empty()) << "no duplicated records after the last one";
  EXPECT_EQ(ring.region.stats().published, kTotal);
  EXPECT_EQ(c.value.consumed_records(), kTotal);
}

TEST(ShmRing, ShouldReportStaleProducerWhenHeartbeatStops) {
  ASSERT_EQ(::access(peer_path().c_str(), X_OK), 0) << "ring_peer not found at " << peer_path();
  NameGuard g{unique_name("stale")};
  ShmRing ring = ShmRing::create(g.name, 1 << 12);
  const pid_t pid = spawn({"hang", g.name});
  ASSERT_GT(pid, 0);
  ASSERT_TRUE(wait_producer_epoch(ring.region, 1));
  // A second producer is refused while the first is alive.
  EXPECT_EQ(SpscProducer::attach(ring.region).error, RingError::endpoint_busy);
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  EXPECT_EQ(ring.region.producer_state(), PeerState::alive);
  EXPECT_EQ(ring.region.producer_state(std::chrono::milliseconds(20)), PeerState::stale);
  ::kill(pid, SIGKILL);
  EXPECT_EQ(wait_exit(pid), 128 + SIGKILL);
  EXPECT_EQ(ring.region.producer_state(), PeerState::dead);
  EXPECT_TRUE(SpscProducer::attach(ring.region).ok());
}

}  // namespace
}  // namespace torq::ring
