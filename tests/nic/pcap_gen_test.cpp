// nic_pcap_gen, the built binary (path from the build: NIC_PCAP_GEN_PATH): a capture written with
// --count, --corrupt-every and --drop-mod/--drop-rem is read back with nic::read_pcap and every
// packet is run through nic::RxPipeline one at a time. Checks the packet count and its JSON summary,
// that exactly the packets after every C-th valid one are corrupted, each with the kind the cycle
// says (the pipeline's bad-packet/bad-frame counter that moves), that the dropped sequences are
// absent (and counted as gaps) and the kept ones delivered in order; and the exit status and
// message of bad arguments.
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "helpers.hpp"
#include "torq/nic/pcap.hpp"
#include "torq/nic/rx_pipeline.hpp"

#ifndef NIC_PCAP_GEN_PATH
#error "NIC_PCAP_GEN_PATH must name the built nic_pcap_gen"
#endif

namespace torq::nic {
namespace {

namespace fs = std::filesystem;
using test::CollectSink;

struct GenResult {
  int rc = -1;
  std::string out;
  std::string err;
};

std::string slurp(const fs::path& p) {
  std::ifstream f(p);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

class PcapGen : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("torq_pcap_gen_" + std::to_string(getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Runs nic_pcap_gen with `args` (shell words), capturing stdout, stderr and the exit status.
  GenResult gen(const std::string& args) {
    const fs::path out = dir_ / "stdout", err = dir_ / "stderr";
    const std::string cmd = std::string(NIC_PCAP_GEN_PATH) + " " + args + " >" + out.string() + " 2>" + err.string();
    const int st = std::system(cmd.c_str());
    GenResult r;
    r.rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    r.out = slurp(out);
    r.err = slurp(err);
    return r;
  }

  fs::path dir_;
};

// Which counter of the pipeline each injected Corruption (in make_feed_packets' cycle order) moves.
enum class Counter { BadChecksum, BadMagic, BadIpChecksum, WrongDestination, Truncated, IpFragment, NotIpv4 };

TEST_F(PcapGen, ShouldWriteTheFeedWithExactlyTheExpectedCorruptionsAndDrops) {
  constexpr std::uint64_t kCount = 1000, kCorruptEvery = 7, kDropMod = 10, kDropRem = 3;
  constexpr std::uint8_t kSource = 5;
  constexpr std::uint16_t kPort = 9100;
  const fs::path pcap = dir_ / "feed.pcap";
  const GenResult r = gen("--out " + pcap.string() + " --count 1000 --corrupt-every 7 --drop-mod 10 --drop-rem 3 --source 5 --port 9100");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_TRUE(r.err.empty()) << r.err;

  // Expected layout: the kept sequences (seq % 10 != 3) in order, one corrupted packet after every
  // 7th of them.
  std::vector<std::uint64_t> kept;
  for (std::uint64_t s = 1; s <= kCount; ++s) {
    if (s % kDropMod != kDropRem) kept.push_back(s);
  }
  ASSERT_EQ(kept.size(), 900u);
  std::set<std::size_t> want_corrupted;
  std::size_t idx = 0;
  for (std::size_t v = 1; v <= kept.size(); ++v) {
    ++idx;
    if (v % kCorruptEvery == 0) want_corrupted.insert(idx++);
  }
  ASSERT_EQ(want_corrupted.size(), 128u);
  const std::size_t want_packets = kept.size() + want_corrupted.size();
  EXPECT_NE(r.out.find("\"packets\":" + std::to_string(want_packets) + ",\"valid\":900,\"corrupted\":128"), std::string::npos)
      << r.out;

  const std::vector<PcapPacket> packets = read_pcap(pcap.string());
  ASSERT_EQ(packets.size(), want_packets);
  for (std::size_t i = 1; i < packets.size(); ++i) {
    ASSERT_EQ(packets[i].timestamp_ns, packets[i - 1].timestamp_ns + 1000) << "capture timestamps 1 us apart";
  }

  RxPipelineConfig pc;
  pc.filters[0].dst_port = kPort;
  CollectSink sink;
  RxPipeline<CollectSink> p(pc, sink);
  std::set<std::size_t> got_corrupted;
  std::size_t nth_corrupted = 0;
  for (std::size_t i = 0; i < packets.size(); ++i) {
    ASSERT_EQ(packets[i].original_size, packets[i].bytes.size()) << "packet " << i << " was cut by the snap length";
    const RxCounters before = p.counters();
    p.on_packet(0, packets[i].bytes, 0);
    const RxCounters after = p.counters();
    const std::uint64_t bad = (after.bad_packets() + after.bad_frames()) - (before.bad_packets() + before.bad_frames());
    ASSERT_LE(bad, 1u);
    if (bad == 0) {
      EXPECT_EQ(after.frames, before.frames + 1) << "packet " << i << " is neither valid nor counted as bad";
      continue;
    }
    got_corrupted.insert(i);
    // The n-th corrupted packet has kind n % 7 (make_feed_packets' cycle): its counter moved.
    auto moved = [&](Counter c) {
      switch (c) {
        case Counter::BadChecksum: return after.frame_error(protocol::FrameError::BadChecksum) != before.frame_error(protocol::FrameError::BadChecksum);
        case Counter::BadMagic: return after.frame_error(protocol::FrameError::BadMagic) != before.frame_error(protocol::FrameError::BadMagic);
        case Counter::BadIpChecksum: return after.packet_error(PacketError::BadIpChecksum) != before.packet_error(PacketError::BadIpChecksum);
        case Counter::WrongDestination: return after.packet_error(PacketError::WrongDestination) != before.packet_error(PacketError::WrongDestination);
        case Counter::Truncated: return after.packet_error(PacketError::Truncated) != before.packet_error(PacketError::Truncated);
        case Counter::IpFragment: return after.packet_error(PacketError::IpFragment) != before.packet_error(PacketError::IpFragment);
        case Counter::NotIpv4: return after.packet_error(PacketError::NotIpv4) != before.packet_error(PacketError::NotIpv4);
      }
      return false;
    };
    EXPECT_TRUE(moved(static_cast<Counter>(nth_corrupted % kCorruptionKinds))) << "packet " << i << ", corruption #" << nth_corrupted;
    ++nth_corrupted;
  }
  EXPECT_EQ(got_corrupted, want_corrupted) << "the corrupted packets are exactly those after every 7th valid one";
  const RxCounters c = p.counters();
  EXPECT_EQ(c.packets, want_packets);
  EXPECT_EQ(c.frames, kept.size());
  EXPECT_EQ(c.bad_packets() + c.bad_frames(), 128u);
  EXPECT_EQ(c.frame_error(protocol::FrameError::BadChecksum), 19u);  // 128 = 7 * 18 + 2: the first two kinds 19
  EXPECT_EQ(c.frame_error(protocol::FrameError::BadMagic), 19u);
  EXPECT_EQ(c.packet_error(PacketError::NotIpv4), 18u);

  // Delivered: exactly the kept sequences, in order; the dropped ones absent and seen as gaps.
  EXPECT_EQ(sink.corrupt, 0u);
  ASSERT_EQ(sink.items.size(), kept.size());
  for (std::size_t i = 0; i < kept.size(); ++i) {
    ASSERT_EQ(sink.items[i].source, kSource);
    ASSERT_EQ(sink.items[i].seq, kept[i]) << "delivery " << i;
  }
  for (const auto& it : sink.items) EXPECT_NE(it.seq % kDropMod, kDropRem) << "dropped sequence " << it.seq << " present";
  ASSERT_NE(p.tracker(), nullptr);
  EXPECT_EQ(p.tracker()->totals().gaps, 100u);
  EXPECT_EQ(p.tracker()->totals().missing, 100u);
}

TEST_F(PcapGen, ShouldWriteAPlainFeedWithDefaultsAndVlanTags) {
  const fs::path pcap = dir_ / "plain.pcap";
  const GenResult r = gen("--out " + pcap.string() + " --count 50 --vlan 100");
  ASSERT_EQ(r.rc, 0) << r.err;
  const auto packets = read_pcap(pcap.string());
  ASSERT_EQ(packets.size(), 50u);
  RxPipelineConfig pc;
  pc.filters[0].dst_port = 9000;  // the tool's default port
  CollectSink sink;
  RxPipeline<CollectSink> p(pc, sink);
  for (const auto& pk : packets) p.on_packet(0, pk.bytes, 0);
  EXPECT_EQ(p.counters().bad_packets() + p.counters().bad_frames(), 0u);
  EXPECT_TRUE(sink.exactly_in_order(1, 1, 50)) << "default source 1, sequences 1..50";
}

TEST_F(PcapGen, ShouldRejectBadArgumentsWithStatus2AndAMessageNamingTheOption) {
  const std::string out = "--out " + (dir_ / "bad.pcap").string();
  struct Case {
    std::string args;
    std::string message;
  };
  const std::vector<Case> cases = {
      {out + " --frobnicate 1", "unknown option --frobnicate"},
      {out + " --count abc", "--count needs a number"},
      {out + " --count -5", "--count needs a number"},
      {out + " --count 10x", "--count needs a number"},
      {out + " --count", "--count needs a value"},
      {out + " --source 256", "--source needs a number 0..255"},
      {out + " --port 70000", "--port needs a number 0..65535"},
      {out + " --drop-mod 5 --drop-rem 7", "--drop-rem 7 needs --drop-mod above it"},
      {out + " --drop-rem 1", "--drop-rem 1 needs --drop-mod above it"},
      {"--count 10", "usage: nic_pcap_gen --out FILE"},
  };
  for (const Case& c : cases) {
    const GenResult r = gen(c.args);
    EXPECT_EQ(r.rc, 2) << c.args;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << c.args << " -> stderr: " << r.err;
    EXPECT_TRUE(r.out.empty()) << c.args << " -> stdout: " << r.out;
    EXPECT_FALSE(fs::exists(dir_ / "bad.pcap")) << c.args << " wrote a capture";
  }
  // A capture that cannot be created: status 1, the path in the message.
  const GenResult r = gen("--out " + (dir_ / "missing-dir" / "x.pcap").string() + " --count 3");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("cannot create capture"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("missing-dir"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace torq::nic
