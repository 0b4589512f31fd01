// Replay regression (docs/record-replay.md): tests/data/torqd-recording.trec was recorded by
// `torqd --role collector --record` on the local chain while chain/driver.mjs traded, and blessed
// with the replay's signals and decisions (tests/data/make_recording.sh). Replaying it runs the
// real NodeSession (transport answered from the file), ArbEngine and the dry-run executor stage;
// no node is needed. Asserted: every request the session sends equals the recorded one, every
// frame, signal and decision equals the recorded bytes, two replays give identical outputs, and
// an altered node message is detected.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "torq/control/recording.hpp"
#include "torq/protocol/frame.hpp"
#include "torq/torqd/replay.hpp"
#include "torq/torqd/telemetry.hpp"

using namespace torq;
using namespace torq::torqd;

namespace {

std::string recording_path() {
  const char* src = std::getenv("TORQ_SOURCE_DIR");
  return std::string(src ? src : ".") + "/tests/data/torqd-recording.trec";
}

TEST(TorqdReplay, ShouldReproduceTheRecordedFramesSignalsAndDecisionsByteForByte) {
  ReplayOptions ro;
  ro.file = recording_path();
  const ReplayResult r = replay(ro);
  SCOPED_TRACE(r.summary_json());
  EXPECT_EQ(r.file_stop, control::ReadStop::End);
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.divergences, 0u) << r.first_divergence;
  EXPECT_EQ(r.steps_served, r.transport_steps);
  EXPECT_GT(r.transport_steps, 50u);
  // The recording holds the start-up snapshot and a few seconds of trading.
  EXPECT_GT(r.recorded_frames, 100u);
  EXPECT_EQ(r.frames, r.recorded_frames);
  EXPECT_EQ(r.frame_mismatches, 0u) << r.first_mismatch;
  EXPECT_GT(r.recorded_signals, 0u);
  EXPECT_EQ(r.signals, r.recorded_signals);
  EXPECT_EQ(r.decisions, r.recorded_decisions);
  EXPECT_EQ(r.signal_mismatches, 0u);
  EXPECT_EQ(r.decision_mismatches, 0u);
  EXPECT_GT(r.taken, 0u);  // at least one signed dry-run transaction is compared byte for byte
  EXPECT_TRUE(r.identical());
}

TEST(TorqdReplay, ShouldGiveIdenticalOutputsWhenReplayedTwice) {
  ReplayOptions ro;
  ro.file = recording_path();
  ro.keep_outputs = true;
  const ReplayResult a = replay(ro);
  const ReplayResult b = replay(ro);
  ASSERT_TRUE(a.identical()) << a.summary_json();
  ASSERT_TRUE(b.identical()) << b.summary_json();
  ASSERT_FALSE(a.out_frames.empty());
  EXPECT_EQ(a.out_frames, b.out_frames);
  EXPECT_EQ(a.out_signals, b.out_signals);
  EXPECT_EQ(a.out_decisions, b.out_decisions);
  EXPECT_EQ(a.frames_fnv, b.frames_fnv);
  // The outputs carry real content: snapshots, pool events, the reorg of make_recording.sh, and
  // taken decisions with a signed transaction.
  bool snapshot = false, event = false, reorg = false;
  for (const auto& f : a.out_frames) {
    protocol::ParseOptions po;
    po.verify_checksum = false;
    const auto p = protocol::parse_frame(f, po);
    ASSERT_TRUE(p.ok());
    for (const auto& t : p.view.tlvs()) {
      if (t.type == static_cast<std::uint8_t>(protocol::TlvType::PoolStateSnapshot)) snapshot = true;
      if (t.type >= 1 && t.type <= 8) event = true;
      if (t.type == static_cast<std::uint8_t>(protocol::TlvType::ReorgNotice)) reorg = true;
    }
  }
  EXPECT_TRUE(snapshot);
  EXPECT_TRUE(event);
  EXPECT_TRUE(reorg);
  std::size_t with_tx = 0;
  for (const auto& d : a.out_decisions) {
    ASSERT_GE(d.size(), sizeof(DecisionRecord));
    DecisionRecord rec;
    std::memcpy(&rec, d.data(), sizeof rec);
    EXPECT_EQ(d.size(), sizeof(DecisionRecord) + rec.raw_size);
    if (rec.decision == kDecisionTaken) {
      ++with_tx;
      EXPECT_GT(rec.raw_size, 100u);
      EXPECT_EQ(static_cast<std::uint8_t>(d[sizeof(DecisionRecord)]), 0x02);  // EIP-1559 envelope
    }
  }
  EXPECT_GT(with_tx, 0u);
}

// Rewrites the recording with one hex digit of every recorded V2 Sync log's data changed (valid
// checksums): the session decodes different reserves, so the frames differ from the recorded ones.
TEST(TorqdReplay, ShouldReportAMismatchWhenARecordedNodeMessageIsAltered) {
  const control::RecordReader in = control::RecordReader::open(recording_path());
  std::vector<std::byte> out;
  control::append_header(out, in.header());
  bool altered = false;
  std::vector<std::string> bodies;
  bodies.reserve(in.records().size());
  for (const auto& r : in.records()) {
    control::RecordView v = r;
    if (r.kind == control::RecordKind::WsRead &&
        r.body_text().find("0x1c411e9a96e071241c2f21f7726b17ae89e3cab4c78be50e062b03a9fffbbad1") !=
            std::string_view::npos) {
      std::string& body = bodies.emplace_back(r.body_text());
      const auto d = body.find("\"data\":\"0x");
      ASSERT_NE(d, std::string::npos);
      char& c = body[d + 10 + 60];  // inside reserve0's word
      c = c == '1' ? '2' : '1';
      v.body = std::as_bytes(std::span<const char>(body.data(), body.size()));
      altered = true;
    }
    control::append_record(out, v);
  }
  ASSERT_TRUE(altered) << "no V2 Sync notification in the recording";
  const std::string path = "/tmp/torqd-replay-altered-" + std::to_string(::getpid()) + ".trec";
  {
    std::ofstream f(path, std::ios::binary);
    f.write(reinterpret_cast<const char*>(out.data()), static_cast<std::streamsize>(out.size()));
  }
  ReplayOptions ro;
  ro.file = path;
  const ReplayResult r = replay(ro);
  ::unlink(path.c_str());
  EXPECT_GT(r.frame_mismatches, 0u) << r.summary_json();
  EXPECT_FALSE(r.identical());
}

// A recording cut in the middle (kill -9 of the recording torqd) replays up to its last complete
// record: the frames it holds are compared, later ones are not counted as mismatches.
TEST(TorqdReplay, ShouldReplayATornRecordingUpToItsLastCompleteRecord) {
  std::ifstream f(recording_path(), std::ios::binary);
  std::vector<char> raw((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  ASSERT_GT(raw.size(), 1000u);
  const std::string path = "/tmp/torqd-replay-torn-" + std::to_string(::getpid()) + ".trec";
  {
    std::ofstream o(path, std::ios::binary);
    o.write(raw.data(), static_cast<std::streamsize>(raw.size() * 6 / 10));
  }
  ReplayOptions ro;
  ro.file = path;
  const ReplayResult r = replay(ro);
  ::unlink(path.c_str());
  SCOPED_TRACE(r.summary_json());
  EXPECT_EQ(r.file_stop, control::ReadStop::Torn);
  EXPECT_GT(r.recorded_frames, 50u);  // past the snapshot: frames interleaved with their messages
  EXPECT_GE(r.frames, r.recorded_frames);
  EXPECT_EQ(r.divergences, 0u);
  EXPECT_EQ(r.frame_mismatches, 0u) << r.first_mismatch;
  EXPECT_TRUE(r.identical());
}

}  // namespace

namespace {

ParsedArgs parse(std::vector<const char*> argv) {
  argv.insert(argv.begin(), "torqd");
  return parse_args(static_cast<int>(argv.size()), argv.data());
}

TEST(TorqdReplayOptions, ShouldNeedNothingButTheFileWhenReplaying) {
  const ParsedArgs a = parse({"--replay", "x.trec", "--replay-speed", "recorded", "--replay-out", "y.trec"});
  EXPECT_EQ(a.options.replay_file, "x.trec");
  EXPECT_EQ(a.options.replay_out, "y.trec");
  EXPECT_TRUE(a.options.replay_recorded_speed);
  EXPECT_THROW((void)parse({"--replay", "x.trec", "--replay-speed", "fast"}), std::invalid_argument);
}

TEST(TorqdReplayOptions, ShouldRefuseRecordingWhenTheCollectorIsNotTheNodeSession) {
  EXPECT_THROW((void)parse({"--manifest", "m.json", "--role", "collector", "--collector", "builtin", "--record", "r.trec"}),
               std::invalid_argument);
  EXPECT_THROW((void)parse({"--manifest", "m.json", "--role", "strategy", "--record", "r.trec"}), std::invalid_argument);
  const ParsedArgs ok = parse({"--manifest", "m.json", "--role", "collector", "--record", "r.trec"});
  EXPECT_EQ(ok.options.record_file, "r.trec");
}

}  // namespace
