// Malformed frames on every transport: random corruption (bit flips, truncation, garbage,
// trailing bytes, two frames in one datagram) injected by a raw socket or a raw ring writer
// between good frames. Asserted: every corrupted unit is counted and dropped, nothing crashes
// (the sanitizer build runs this too), and the good frames around it are delivered intact and in
// order. Stream transports (UDS) distinguish corruption that keeps the stream aligned (counted
// `malformed`, connection kept) from corruption that breaks framing (`desyncs`, connection
// dropped; the next connection is served normally). A corrupted ring record header (shm) stops
// delivery with corrupted() set instead of reading out of bounds.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "fault_util.hpp"
#include "torq/mycelium/relay.hpp"
#include "torq/mycelium/ring_transport.hpp"
#include "torq/mycelium/socket_transport.hpp"
#include "torq/ring/shm_segment.hpp"

namespace torq::faults {
namespace {

using Bytes = std::vector<std::byte>;

enum class Kind { bit_flips, truncate, garbage, trailing, two_frames, count };
const char* name(Kind k) {
  switch (k) {
    case Kind::bit_flips: return "bit_flips";
    case Kind::truncate: return "truncate";
    case Kind::garbage: return "garbage";
    case Kind::trailing: return "trailing";
    case Kind::two_frames: return "two_frames";
    default: return "?";
  }
}

// Flips 1-3 bits of `f`. `aligned_only`: only in fields whose corruption keeps a byte stream
// framed (sequence, timestamp, checksum, payload, flags bits 1-7). Never flips flags bit 0
// (kNoChecksum): see docs/faults.md, finding F1.
void flip_bits(Bytes& f, Rng& rng, bool aligned_only) {
  const std::uint64_t flips = 1 + rng.below(3);
  std::vector<std::size_t> done;  // distinct bits: flipping one bit twice would undo it
  while (done.size() < flips) {
    const std::size_t byte = rng.below(f.size());
    const unsigned bit = static_cast<unsigned>(rng.below(8));
    if (byte == 6 && bit == 0) continue;
    if (aligned_only && (byte < 6 || byte == 7 || (byte >= 24 && byte < 28))) continue;
    if (std::find(done.begin(), done.end(), byte * 8 + bit) != done.end()) continue;
    done.push_back(byte * 8 + bit);
    f[byte] ^= std::byte(1u << bit);
  }
}

Bytes garbage(Rng& rng, std::size_t n) {
  Bytes g(n);
  for (auto& b : g) b = std::byte(rng.below(256));
  if (n >= 4 && g[0] == std::byte{0xEF}) g[0] = std::byte{0x00};  // never starts with the magic
  return g;
}

Bytes corrupt(const Bytes& good, Kind k, Rng& rng) {
  Bytes f = good;
  switch (k) {
    case Kind::bit_flips: flip_bits(f, rng, false); break;
    case Kind::truncate: f.resize(rng.below(good.size())); break;
    case Kind::garbage: f = garbage(rng, 1 + rng.below(300)); break;
    case Kind::trailing: {
      const Bytes g = garbage(rng, 1 + rng.below(16));
      f.insert(f.end(), g.begin(), g.end());
      break;
    }
    case Kind::two_frames: f.insert(f.end(), good.begin(), good.end()); break;
    default: break;
  }
  return f;
}

// A relay output that records forwarded data frames and checks them.
struct Capture {
  std::vector<std::uint64_t>* seqs;
  std::uint64_t* bad;
  mycelium::PublishResult try_publish(std::span<const std::byte> f) noexcept {
    if (is_system(f)) return mycelium::PublishResult::ok;
    const auto h = header_of(f);
    if (!frame_matches(f, h.source, h.sequence)) ++*bad;
    seqs->push_back(h.sequence);
    return mycelium::PublishResult::ok;
  }
};

bool strictly_increasing(const std::vector<std::uint64_t>& v) {
  for (std::size_t i = 1; i < v.size(); ++i) {
    if (v[i] <= v[i - 1]) return false;
  }
  return true;
}

template <class Pred, class Step>
bool wait_for(Pred&& p, Step&& step) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!p()) {
    if (std::chrono::steady_clock::now() > until) return false;
    step();
  }
  return true;
}

std::string unique(const char* stem) {
  static int n = 0;
  return std::string(stem) + "-" + std::to_string(::getpid()) + "-" + std::to_string(++n);
}

// ---- UDP -----------------------------------------------------------------------------------

TEST(Malformed, ShouldCountAndDropEveryCorruptedUdpDatagramAndDeliverTheGoodOnes) {
  constexpr std::uint64_t kGood = 4'000;
  constexpr std::uint8_t kSource = 31;
  auto sub = mycelium::open_udp_subscriber(mycelium::parse_transport_config("udp://127.0.0.1:0?rcvbuf=4194304"));
  const int raw = ::socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_GE(raw, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(sub.port());
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  auto send_raw = [&](const Bytes& b) {
    return ::sendto(raw, b.data(), b.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof to) ==
           static_cast<ssize_t>(b.size());
  };
  std::vector<std::uint64_t> fwd;
  std::uint64_t bad = 0;
  mycelium::Relay<Capture> relay(mycelium::RelayConfig{});
  relay.add_output(Capture{&fwd, &bad});
  Rng rng(0xBAD5EED);
  std::array<std::uint64_t, static_cast<std::size_t>(Kind::count)> per_kind{};
  std::uint64_t corrupted = 0, datagrams = 0;
  auto pump = [&] { (void)relay.pump(sub, 64); };
  for (std::uint64_t s = 1; s <= kGood; ++s) {
    const Bytes good = make_frame(kSource, s, 1 + static_cast<int>(s % 3));
    if (rng.chance(500)) {  // a corrupted copy of a future frame before the good one
      const auto k = static_cast<Kind>(rng.below(static_cast<std::uint64_t>(Kind::count)));
      ASSERT_TRUE(send_raw(corrupt(make_frame(kSource, s + 1), k, rng)));
      ++per_kind[static_cast<std::size_t>(k)];
      ++corrupted;
      ++datagrams;
    }
    ASSERT_TRUE(send_raw(good));
    ++datagrams;
    if (s % 64 == 0) {
      (void)wait_for([&] { return sub.stats().received + sub.stats().malformed >= datagrams; }, pump);
    }
  }
  ASSERT_TRUE(wait_for([&] { return sub.stats().received + sub.stats().malformed >= datagrams; }, pump));
  ::close(raw);
  std::printf("[faults] udp malformed: good=%llu corrupted=%llu (", (unsigned long long)kGood, (unsigned long long)corrupted);
  for (std::size_t k = 0; k < per_kind.size(); ++k) std::printf("%s=%llu ", name(static_cast<Kind>(k)), (unsigned long long)per_kind[k]);
  std::printf(") malformed=%llu delivered=%llu kernel_drops=%llu\n", (unsigned long long)sub.stats().malformed,
              (unsigned long long)fwd.size(), (unsigned long long)sub.stats().kernel_drops);
  EXPECT_EQ(sub.stats().malformed, corrupted);
  EXPECT_EQ(sub.stats().received, kGood);
  EXPECT_EQ(relay.stats().malformed, 0u);
  ASSERT_EQ(fwd.size(), kGood);
  EXPECT_TRUE(strictly_increasing(fwd));
  EXPECT_EQ(fwd.back(), kGood);
  EXPECT_EQ(bad, 0u);
  EXPECT_EQ(relay.tracker().counters(kSource).missing, 0u);
}

// ---- UDS -----------------------------------------------------------------------------------

int connect_uds(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
  if (fd >= 0 && ::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0) return fd;
  if (fd >= 0) ::close(fd);
  return -1;
}

bool write_all(int fd, const Bytes& b) {
  std::size_t off = 0;
  while (off < b.size()) {
    const ssize_t n = ::send(fd, b.data() + off, b.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<std::size_t>(n);
  }
  return true;
}

TEST(Malformed, ShouldSkipBodyCorruptionOnAUdsStreamWithoutLosingAlignment) {
  constexpr std::uint64_t kGood = 3'000;
  constexpr std::uint8_t kSource = 32;
  const std::string path = "/tmp/" + unique("torq-faults") + ".sock";
  auto sub = mycelium::open_uds_subscriber(mycelium::parse_transport_config("uds:" + path));
  const int fd = connect_uds(path);
  ASSERT_GE(fd, 0);
  std::vector<std::uint64_t> fwd;
  std::uint64_t bad = 0;
  mycelium::Relay<Capture> relay(mycelium::RelayConfig{});
  relay.add_output(Capture{&fwd, &bad});
  auto pump = [&] { (void)relay.pump(sub, 64); };
  Rng rng(0x5742);
  std::uint64_t corrupted = 0;
  for (std::uint64_t s = 1; s <= kGood; ++s) {
    if (rng.chance(300)) {
      Bytes c = make_frame(kSource, s + 1);
      flip_bits(c, rng, /*aligned_only=*/true);
      ASSERT_TRUE(write_all(fd, c));
      ++corrupted;
    }
    ASSERT_TRUE(write_all(fd, make_frame(kSource, s)));
    if (s % 64 == 0) {
      const bool ok = wait_for([&] { return fwd.size() + sub.stats().malformed >= s + corrupted; }, pump);
      ASSERT_TRUE(ok) << "s=" << s << " corrupted=" << corrupted << " delivered " << fwd.size() << " malformed " << sub.stats().malformed << " desyncs " << sub.stats().desyncs << " accepts " << sub.stats().accepts << " relay received " << relay.stats().received << " dup " << relay.stats().duplicates;
    }
  }
  EXPECT_TRUE(wait_for([&] { return fwd.size() + sub.stats().malformed >= kGood + corrupted; }, pump))
      << "delivered " << fwd.size() << " malformed " << sub.stats().malformed << " desyncs " << sub.stats().desyncs;
  ::close(fd);
  ::unlink(path.c_str());
  std::printf("[faults] uds aligned corruption: good=%llu corrupted=%llu malformed=%llu desyncs=%llu delivered=%llu\n",
              (unsigned long long)kGood, (unsigned long long)corrupted, (unsigned long long)sub.stats().malformed,
              (unsigned long long)sub.stats().desyncs, (unsigned long long)fwd.size());
  EXPECT_GT(corrupted, 0u);
  EXPECT_EQ(sub.stats().malformed, corrupted);
  EXPECT_EQ(sub.stats().desyncs, 0u);
  EXPECT_EQ(sub.stats().accepts, 1u);  // one connection throughout: alignment never lost
  ASSERT_EQ(fwd.size(), kGood);
  EXPECT_TRUE(strictly_increasing(fwd));
  EXPECT_EQ(bad, 0u);
}

TEST(Malformed, ShouldDropTheConnectionOnUnframeableUdsBytesAndServeTheNextOne) {
  constexpr std::uint8_t kSource = 33;
  const std::string path = "/tmp/" + unique("torq-faults") + ".sock";
  auto sub = mycelium::open_uds_subscriber(mycelium::parse_transport_config("uds:" + path));
  std::vector<std::uint64_t> fwd;
  std::uint64_t bad = 0;
  mycelium::Relay<Capture> relay(mycelium::RelayConfig{});
  relay.add_output(Capture{&fwd, &bad});
  auto pump = [&] { (void)relay.pump(sub, 64); };
  Rng rng(0xD35C);
  std::uint64_t s = 0;
  std::vector<std::uint64_t> must_arrive;
  const char* what[] = {"garbage", "bad magic", "payload_size bumped", "truncated frame, then more frames",
                        "truncated frame, then close"};
  for (int round = 0; round < 25; ++round) {
    const int kind = round % 5;
    const auto drops = sub.stats().disconnects + sub.stats().desyncs;
    const auto problems = sub.stats().desyncs + sub.stats().malformed;
    const int fd = connect_uds(path);
    ASSERT_GE(fd, 0);
    for (int i = 0; i < 10; ++i) {  // good frames before the corruption must all arrive
      ASSERT_TRUE(write_all(fd, make_frame(kSource, ++s)));
      must_arrive.push_back(s);
    }
    ASSERT_TRUE(wait_for([&] { return fwd.size() >= must_arrive.size(); }, pump)) << what[kind];
    Bytes c = make_frame(kSource, ++s);
    switch (kind) {
      case 0: c = garbage(rng, 1 + rng.below(200)); break;
      case 1: c[rng.below(4)] ^= std::byte(1u << rng.below(8)); break;
      case 2: c[24] = std::byte(std::to_integer<unsigned>(c[24]) + 1 + rng.below(8)); break;
      default: c.resize(32 + rng.below(c.size() - 32)); break;
    }
    ASSERT_TRUE(write_all(fd, c));
    if (kind != 4) {
      for (int i = 0; i < 10; ++i) (void)write_all(fd, make_frame(kSource, ++s));  // may be lost with the connection
    }
    ::close(fd);
    // The connection ends: dropped by the subscriber (desync) or closed by the writer.
    ASSERT_TRUE(wait_for([&] { return sub.stats().disconnects + sub.stats().desyncs > drops; }, pump)) << what[kind];
    // Every round's corruption is counted: a desync, a malformed frame, or (truncated, then
    // close) the partial frame left in the buffer when the connection went.
    EXPECT_GT(sub.stats().desyncs + sub.stats().malformed, problems) << what[kind] << " was not counted";
  }
  // A clean connection afterwards is served from a clean buffer.
  const int fd = connect_uds(path);
  ASSERT_GE(fd, 0);
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(write_all(fd, make_frame(kSource, ++s)));
    must_arrive.push_back(s);
  }
  ASSERT_TRUE(wait_for([&] { return !fwd.empty() && fwd.back() == s; }, pump));
  ::close(fd);
  ::unlink(path.c_str());
  std::printf("[faults] uds unframeable bytes: rounds=25 desyncs=%llu malformed=%llu disconnects=%llu accepts=%llu "
              "delivered=%zu of %llu sent\n",
              (unsigned long long)sub.stats().desyncs, (unsigned long long)sub.stats().malformed,
              (unsigned long long)sub.stats().disconnects, (unsigned long long)sub.stats().accepts, fwd.size(),
              (unsigned long long)s);
  EXPECT_TRUE(strictly_increasing(fwd));
  EXPECT_EQ(bad, 0u);
  std::size_t j = 0;  // every frame sent before a corruption (and the last 100) arrived
  for (const auto q : fwd) {
    if (j < must_arrive.size() && q == must_arrive[j]) ++j;
  }
  EXPECT_EQ(j, must_arrive.size());
  EXPECT_GE(sub.stats().desyncs, 15u);  // garbage, bad magic, size bump: always unframeable
}

// ---- shm -----------------------------------------------------------------------------------

TEST(Malformed, ShouldCountCorruptedFramesFromAShmRingAtTheRelayAndDeliverTheGoodOnes) {
  constexpr std::uint64_t kGood = 4'000;
  constexpr std::uint8_t kSource = 34;
  const std::string shm = unique("torq-faults-mal");
  const std::string cfg = "shm:/" + shm + "?capacity=1048576&unlink=1";
  auto sub = mycelium::open_shm_subscriber(mycelium::parse_transport_config(cfg));
  auto writer = mycelium::open_shm_publisher(mycelium::parse_transport_config(cfg));  // raw: no validation
  std::vector<std::uint64_t> fwd;
  std::uint64_t bad = 0;
  mycelium::Relay<Capture> relay(mycelium::RelayConfig{});  // validate = true: untrusted ring input
  relay.add_output(Capture{&fwd, &bad});
  Rng rng(0x5A4);
  std::uint64_t corrupted = 0;
  for (std::uint64_t s = 1; s <= kGood; ++s) {
    if (rng.chance(500)) {
      auto k = static_cast<Kind>(rng.below(static_cast<std::uint64_t>(Kind::count)));
      Bytes c = corrupt(make_frame(kSource, s + 1), k, rng);
      if (c.empty()) c.push_back(std::byte{0});  // a ring record is never empty
      ASSERT_EQ(writer.try_publish(c), mycelium::PublishResult::ok);
      ++corrupted;
    }
    ASSERT_EQ(writer.try_publish(make_frame(kSource, s)), mycelium::PublishResult::ok);
    while (relay.pump(sub, 64) != 0) {
    }
  }
  std::printf("[faults] shm malformed: good=%llu corrupted=%llu relay malformed=%llu delivered=%zu\n",
              (unsigned long long)kGood, (unsigned long long)corrupted, (unsigned long long)relay.stats().malformed,
              fwd.size());
  EXPECT_EQ(relay.stats().malformed, corrupted);
  ASSERT_EQ(fwd.size(), kGood);
  EXPECT_TRUE(strictly_increasing(fwd));
  EXPECT_EQ(bad, 0u);
}

TEST(Malformed, ShouldStopWithoutReadingOutOfBoundsWhenAShmRecordHeaderIsCorrupted) {
  const std::string shm = unique("torq-faults-rec");
  const std::string cfg = "shm:/" + shm + "?capacity=4096&unlink=1";
  auto sub = mycelium::open_shm_subscriber(mycelium::parse_transport_config(cfg));
  auto pub = mycelium::open_shm_publisher(mycelium::parse_transport_config(cfg));
  auto mon = ring::ShmRing::attach(shm);  // a second mapping: the "raw writer"
  Rng rng(0x4EC);
  std::uint64_t delivered = 0;
  auto count = [&](std::span<const std::byte>) noexcept { ++delivered; };
  for (std::uint64_t s = 1; s <= 5; ++s) ASSERT_EQ(pub.try_publish(make_frame(35, s)), mycelium::PublishResult::ok);
  ASSERT_EQ(sub.poll(count, 64), 5u);
  const std::uint64_t at = mon.region.stats().tail & (mon.region.capacity() - 1);
  ASSERT_EQ(pub.try_publish(make_frame(35, 6)), mycelium::PublishResult::ok);
  const std::uint32_t lie = 0x40000000u + static_cast<std::uint32_t>(rng.below(1000));  // far beyond the ring
  std::memcpy(mon.region.data() + at, &lie, sizeof lie);
  EXPECT_EQ(sub.poll(count, 64), 0u);
  EXPECT_TRUE(sub.consumer().corrupted());
  EXPECT_EQ(sub.poll(count, 64), 0u);  // stays stopped: no delivery from a ring it cannot trust
  EXPECT_EQ(delivered, 5u);
}


// Finding F1 (docs/faults.md): flipping flags bit 0 (kNoChecksum) switches CRC32C verification
// off, so one more flipped bit anywhere is accepted as a valid frame. Disabled until
// protocol::parse_frame rejects kNoChecksum frames whose checksum field is not zero (or untrusted
// transports refuse kNoChecksum); enable it with that fix.
TEST(Malformed, ShouldRejectAFrameWhoseNoChecksumFlagWasFlippedOnAnUntrustedLink) {
  auto sub = mycelium::open_udp_subscriber(mycelium::parse_transport_config("udp://127.0.0.1:0"));
  auto pub = mycelium::open_udp_publisher(mycelium::parse_transport_config("udp://127.0.0.1:" + std::to_string(sub.port())));
  Bytes f = make_frame(36, 7);
  f[6] ^= std::byte{protocol::frame_flags::kNoChecksum};
  f[8] ^= std::byte{0x02};  // sequence 7 -> 5: a corrupted frame
  ASSERT_EQ(pub.try_publish(f), mycelium::PublishResult::ok);
  std::uint64_t delivered = 0;
  (void)wait_for([&] { return sub.stats().received + sub.stats().malformed > 0; },
                 [&] { (void)sub.poll([&](std::span<const std::byte>) noexcept { ++delivered; }, 8); });
  EXPECT_EQ(delivered, 0u);
  EXPECT_EQ(sub.stats().malformed, 1u);
}

}  // namespace
}  // namespace torq::faults
