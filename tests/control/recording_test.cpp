// The record/replay file format and transport tap (torq/control/recording.hpp,
// docs/record-replay.md): round trip, a torn tail at every cut point, a corrupted record, a
// damaged header, and an RpcClient answered from a recording (no network) that counts requests
// differing from the recorded ones.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "torq/control/recording.hpp"
#include "torq/control/rpc_client.hpp"

using namespace torq::control;

namespace {

std::span<const std::byte> b(std::string_view s) { return std::as_bytes(std::span<const char>(s.data(), s.size())); }

std::string temp_path(const char* tag) {
  return "/tmp/torq-recording-test-" + std::to_string(::getpid()) + "-" + tag + ".trec";
}

std::vector<std::byte> file_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::vector<char> raw((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::vector<std::byte> out(raw.size());
  if (!raw.empty()) std::memcpy(out.data(), raw.data(), raw.size());
  return out;
}

struct Sample {
  RecordKind kind;
  std::uint8_t status;
  std::uint64_t t;
  std::string aux, body;
};

const std::vector<Sample>& samples() {
  static const std::vector<Sample> s = {
      {RecordKind::WsConnect, 0, 100, "", ""},
      {RecordKind::WsSend, 0, 101, "", R"({"jsonrpc":"2.0","id":1,"method":"eth_subscribe","params":["newHeads"]})"},
      {RecordKind::WsRead, 0, 102, "", R"({"jsonrpc":"2.0","id":1,"result":"0xabc"})"},
      {RecordKind::WsRead, 1, 203, "", ""},  // Timeout
      {RecordKind::HttpPost, 0, 204, R"({"id":2,"method":"eth_blockNumber"})", R"({"id":2,"result":"0x10"})"},
      {RecordKind::MdFrame, 1, 205, "", std::string(77, '\x5a')},
      {RecordKind::Decision, 1, 0, "", std::string(144, '\x01')},
  };
  return s;
}

// Writes the samples with a RecordWriter; returns the byte offset of each record.
std::vector<std::size_t> write_samples(const std::string& path, const RecordingHeader& h) {
  auto w = RecordWriter::create(path, h);
  for (const auto& s : samples()) w->write_text(s.kind, s.status, s.t, s.aux, s.body);
  w->close();
  EXPECT_TRUE(w->error().empty()) << w->error();
  EXPECT_EQ(w->records(), samples().size());
  std::vector<std::size_t> offsets;
  std::size_t off = kRecordingHeaderSize + h.meta.size();
  for (const auto& s : samples()) {
    offsets.push_back(off);
    off += kRecordPrefixSize + kRecordFixedSize + s.aux.size() + s.body.size();
  }
  offsets.push_back(off);  // end of file
  return offsets;
}

RecordingHeader header() {
  RecordingHeader h;
  h.chain_id = 137;
  h.created_unix_ns = 1'700'000'000'000'000'000ULL;
  h.meta = R"({"format":"torq-recording/1","manifest":{"pools":[]}})";
  return h;
}

void expect_prefix(const RecordReader& r, std::size_t n) {
  ASSERT_EQ(r.records().size(), n);
  for (std::size_t i = 0; i < n; ++i) {
    const auto& s = samples()[i];
    const auto& v = r.records()[i];
    EXPECT_EQ(v.kind, s.kind) << i;
    EXPECT_EQ(v.status, s.status) << i;
    EXPECT_EQ(v.t_ns, s.t) << i;
    EXPECT_EQ(v.aux_text(), s.aux) << i;
    EXPECT_EQ(v.body_text(), s.body) << i;
  }
}

TEST(Recording, ShouldReadBackEveryRecordAndTheHeaderWhenTheFileIsComplete) {
  const std::string path = temp_path("round");
  const auto offsets = write_samples(path, header());
  const RecordReader r = RecordReader::open(path);
  EXPECT_EQ(r.header().chain_id, 137u);
  EXPECT_EQ(r.header().created_unix_ns, header().created_unix_ns);
  EXPECT_EQ(r.header().meta, header().meta);
  EXPECT_EQ(r.header().config_fingerprint, fnv1a64(header().meta));  // filled by the writer
  expect_prefix(r, samples().size());
  EXPECT_EQ(r.stop(), ReadStop::End);
  EXPECT_EQ(r.stop_offset(), offsets.back());
  EXPECT_EQ(r.size(), offsets.back());
  ::unlink(path.c_str());
}

// The metadata carries the node URLs (a hosted provider's API key is in their path): the file is
// readable by its owner only, whatever the umask of a torqd started by hand.
TEST(Recording, ShouldCreateTheFileReadableByItsOwnerOnly) {
  const std::string path = temp_path("mode");
  ::unlink(path.c_str());
  const mode_t old = ::umask(022);
  RecordingHeader h = header();
  h.meta = R"({"format":"torq-recording/1","rpc_http":"https://polygon.example/v2/API-KEY","manifest":{"pools":[]}})";
  auto w = RecordWriter::create(path, h);
  w->close();
  ::umask(old);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 077, 0u) << std::oct << (st.st_mode & 0777);
  ::unlink(path.c_str());
}

TEST(Recording, ShouldReadUpToTheLastCompleteRecordWhenTheTailIsTornAtAnyByte) {
  const std::string path = temp_path("torn");
  const auto offsets = write_samples(path, header());
  const std::vector<std::byte> full = file_bytes(path);
  ::unlink(path.c_str());
  // Every cut inside the last three records (prefix, fixed part, aux, body) as kill -9 leaves it.
  for (std::size_t rec = samples().size() - 3; rec < samples().size(); ++rec) {
    for (std::size_t cut = offsets[rec] + 1; cut < offsets[rec + 1]; ++cut) {
      std::vector<std::byte> torn(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(cut));
      const RecordReader r = RecordReader::from_bytes(std::move(torn));
      expect_prefix(r, rec);
      EXPECT_EQ(r.stop(), ReadStop::Torn) << "cut at " << cut;
      EXPECT_EQ(r.stop_offset(), offsets[rec]) << "cut at " << cut;
    }
  }
  // A cut exactly at a record boundary is a clean (shorter) file.
  std::vector<std::byte> clean(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(offsets[3]));
  const RecordReader r = RecordReader::from_bytes(std::move(clean));
  expect_prefix(r, 3);
  EXPECT_EQ(r.stop(), ReadStop::End);
}

TEST(Recording, ShouldStopAtTheCorruptedRecordWhenItsChecksumIsWrong) {
  const std::string path = temp_path("corrupt");
  const auto offsets = write_samples(path, header());
  std::vector<std::byte> bytes = file_bytes(path);
  ::unlink(path.c_str());
  // One bit flipped in the body of record 4 (the HTTP response): records 0..3 remain.
  const std::size_t at = offsets[5] - 3;
  bytes[at] ^= std::byte{0x04};
  const RecordReader r = RecordReader::from_bytes(bytes);
  expect_prefix(r, 4);
  EXPECT_EQ(r.stop(), ReadStop::Corrupt);
  EXPECT_EQ(r.stop_offset(), offsets[4]);
  // An absurd length field is corrupt too (not a torn tail waiting for 4 GiB).
  bytes[at] ^= std::byte{0x04};
  const std::uint32_t huge = 0xFFFFFFF0u;
  std::memcpy(bytes.data() + offsets[2], &huge, 4);
  const RecordReader r2 = RecordReader::from_bytes(bytes);
  expect_prefix(r2, 2);
  EXPECT_EQ(r2.stop(), ReadStop::Corrupt);
}

TEST(Recording, ShouldRefuseTheFileWhenTheHeaderIsDamaged) {
  std::vector<std::byte> good;
  append_header(good, header());
  {
    auto bad = good;
    bad[0] = std::byte{'X'};
    EXPECT_THROW((void)RecordReader::from_bytes(bad), std::runtime_error);
  }
  {
    auto bad = good;
    bad[kRecordingHeaderSize + 3] ^= std::byte{1};  // metadata text: header CRC
    EXPECT_THROW((void)RecordReader::from_bytes(bad), std::runtime_error);
  }
  {
    auto bad = good;
    bad[8] = std::byte{2};  // version 2
    EXPECT_THROW((void)RecordReader::from_bytes(bad), std::runtime_error);
  }
  {
    std::vector<std::byte> shorter(good.begin(), good.begin() + 20);
    EXPECT_THROW((void)RecordReader::from_bytes(shorter), std::runtime_error);
  }
  EXPECT_NO_THROW((void)RecordReader::from_bytes(good));
  EXPECT_THROW((void)RecordReader::open("/nonexistent/torq.trec"), std::runtime_error);
}

TEST(Recording, ShouldAnswerAnRpcClientFromTheRecordingWithoutANodeAndCountDivergentRequests) {
  std::vector<std::byte> bytes;
  append_header(bytes, header());
  for (const auto& s : samples())
    append_record(bytes, RecordView{s.kind, s.status, 0, s.t, b(s.aux), b(s.body)});
  const RecordReader r = RecordReader::from_bytes(bytes);
  std::vector<RecordView> transport;
  for (const auto& v : r.records())
    if (static_cast<std::uint8_t>(v.kind) < 16) transport.push_back(v);
  ASSERT_EQ(transport.size(), 5u);
  auto tap = NodeTap::replayer(transport, NodeTap::Pace::Max);
  RpcOptions ro;
  ro.tap = tap.get();
  // Port 1 on loopback: nothing listens there; every answer must come from the recording.
  RpcClient ws(*parse_endpoint("ws://127.0.0.1:1"), ro);
  RpcClient http(*parse_endpoint("http://127.0.0.1:1"), ro);
  EXPECT_EQ(ws.ws_connect(), RpcStatus::Ok);
  EXPECT_EQ(ws.ws_send(samples()[1].body), RpcStatus::Ok);
  std::string msg;
  EXPECT_EQ(ws.ws_read(msg, std::chrono::milliseconds(100)), RpcStatus::Ok);
  EXPECT_EQ(msg, samples()[2].body);
  EXPECT_EQ(ws.ws_read(msg, std::chrono::milliseconds(100)), RpcStatus::Timeout);
  EXPECT_EQ(tap->divergences(), 0u);
  EXPECT_FALSE(tap->exhausted());
  // A request that differs from the recorded one is answered (same position) but counted.
  std::string out;
  EXPECT_EQ(http.post(R"({"id":3,"method":"eth_blockNumber"})", out), RpcStatus::Ok);
  EXPECT_EQ(out, samples()[4].body);
  EXPECT_EQ(tap->divergences(), 1u);
  EXPECT_NE(tap->first_divergence().find("eth_blockNumber"), std::string::npos);
  EXPECT_EQ(tap->served(), 5u);
  // Past the end: the node goes quiet and the tap says it is drained.
  EXPECT_EQ(ws.ws_read(msg, std::chrono::milliseconds(100)), RpcStatus::Timeout);
  EXPECT_TRUE(tap->exhausted());
}

TEST(Recording, ShouldNotConsumeARecordedStepWhenTheReplayAsksForAnotherKindOfStep) {
  std::vector<std::byte> bytes;
  append_header(bytes, header());
  append_record(bytes, RecordView{RecordKind::WsRead, 0, 0, 1, {}, b("{}")});
  const RecordReader r = RecordReader::from_bytes(bytes);
  auto tap = NodeTap::replayer(r.records(), NodeTap::Pace::Max);
  RpcOptions ro;
  ro.tap = tap.get();
  RpcClient http(*parse_endpoint("http://127.0.0.1:1"), ro);
  std::string out;
  EXPECT_NE(http.post("{}", out), RpcStatus::Ok);  // the recording has a WebSocket read here
  EXPECT_EQ(tap->divergences(), 1u);
  EXPECT_EQ(tap->served(), 0u);
}

}  // namespace
