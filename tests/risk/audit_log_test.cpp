// Audit log: round trip, corruption detection with offsets, torn tail after SIGKILL, reopen and
// continue, fsync policies, dropped-record accounting, multiple producers, no secrets on disk, and
// the torq-audit tool.
#include "torq/risk/audit_log.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sys/resource.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include "torq/risk/risk_gates.hpp"

namespace {

using namespace torq;
using namespace torq::risk;
using num::U256;

std::string temp_path(const std::string& name) {
  const std::string p = ::testing::TempDir() + "torq_audit_" + name + "_" + std::to_string(::getpid()) + ".log";
  std::filesystem::remove(p);
  return p;
}
std::vector<std::byte> read_file(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  std::vector<char> c((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::vector<std::byte> b(c.size());
  std::memcpy(b.data(), c.data(), c.size());
  return b;
}
void write_file(const std::string& p, const std::vector<std::byte>& b) {
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}
AuditDecision decision(std::uint64_t id) {
  AuditDecision d{};
  d.signal_id = id;
  d.token_in = 0x1020000000000000ULL + id;
  d.accepted = id % 2 == 0 ? 1 : 0;
  d.reason = id % 2 == 0 ? 0 : static_cast<std::uint8_t>(RejectReason::MaxNotional);
  d.notional_usd = static_cast<std::int64_t>(id) * 100'000'000;
  d.amount_in = U256(id * 1'000'000);
  d.max_fee_per_gas = U256(100 * kGwei);
  d.max_priority_fee_per_gas = U256(30 * kGwei);
  return d;
}
struct ReadAll {
  std::vector<AuditRecordView> records;
  ReadStatus status;
  std::uint64_t offset;
  CorruptKind kind;
};
ReadAll read_all(AuditReader& r) {
  ReadAll out;
  AuditRecordView v;
  while ((out.status = r.next(v)) == ReadStatus::Record) out.records.push_back(v);
  out.offset = r.offset();
  out.kind = r.corrupt_kind();
  return out;
}
AuditOptions manual(FsyncPolicy p = FsyncPolicy::Never) {
  AuditOptions o;
  o.start_thread = false;
  o.fsync = p;
  return o;
}

TEST(AuditLog, ShouldRoundTripEveryRecordTypeWithContiguousSequences) {
  const std::string path = temp_path("roundtrip");
  ManualClock clock(1'700'000'000ULL * kNsPerSecond);
  protocol::ArbitrageSignal sig{};
  sig.signal_id = 7;
  sig.hop_count = 2;
  sig.amount_in = U256(123456789);
  sig.net_profit_usd = 4242;
  AuditTransaction tx{};
  tx.nonce = 9;
  tx.tx_hash.fill(0xAB);
  tx.max_fee_per_gas = U256(110 * kGwei);
  protocol::ExecutionReport rep{};
  rep.nonce = 9;
  rep.status = static_cast<std::uint8_t>(protocol::ExecutionStatus::Included);
  rep.realized_profit = num::I256(-5);
  AuditPnl pnl{};
  pnl.net_usd = -123;
  pnl.day = 19675;
  AuditNonce nn{static_cast<std::uint64_t>(NonceEventKind::Recovery), 9, 9, 0};
  {
    AuditOptions o;  // writer thread
    o.clock = clock.clock();
    auto log = AuditLog::open(path, o);
    AuditChannel& ch = log->channel();
    ASSERT_TRUE(ch.push(sig));
    clock.advance(1000);
    ASSERT_TRUE(ch.push(decision(7)));
    ASSERT_TRUE(ch.push(tx));
    ASSERT_TRUE(ch.push(rep));
    ASSERT_TRUE(ch.push(pnl));
    ASSERT_TRUE(ch.push(nn, 555));
    ASSERT_TRUE(log->flush());
    log->close();
    EXPECT_EQ(log->stats().records_written, 7u);
  }
  AuditReader r(path);
  const ReadAll a = read_all(r);
  ASSERT_EQ(a.status, ReadStatus::End);
  ASSERT_EQ(a.records.size(), 7u);
  for (std::size_t i = 0; i < a.records.size(); ++i) EXPECT_EQ(a.records[i].sequence, i + 1);
  EXPECT_EQ(a.records[0].type, AuditRecordType::Start);
  protocol::ArbitrageSignal sig2{};
  ASSERT_TRUE(a.records[1].as(sig2));
  EXPECT_EQ(sig2, sig);
  EXPECT_EQ(a.records[1].timestamp_ns, 1'700'000'000ULL * kNsPerSecond);
  EXPECT_EQ(a.records[2].timestamp_ns, 1'700'000'000ULL * kNsPerSecond + 1000);
  AuditDecision d{};
  ASSERT_TRUE(a.records[2].as(d));
  EXPECT_EQ(std::memcmp(&d, &static_cast<const AuditDecision&>(decision(7)), sizeof d), 0);
  AuditTransaction tx2{};
  ASSERT_TRUE(a.records[3].as(tx2));
  EXPECT_EQ(tx2.tx_hash, tx.tx_hash);
  protocol::ExecutionReport rep2{};
  ASSERT_TRUE(a.records[4].as(rep2));
  EXPECT_EQ(rep2, rep);
  AuditPnl pnl2{};
  ASSERT_TRUE(a.records[5].as(pnl2));
  EXPECT_EQ(pnl2.net_usd, -123);
  EXPECT_EQ(a.records[6].type, AuditRecordType::Nonce);
  EXPECT_EQ(a.records[6].timestamp_ns, 555u);
  EXPECT_FALSE(a.records[6].as(pnl2));  // wrong type is refused
  EXPECT_EQ(r.offset(), std::filesystem::file_size(path));
  std::filesystem::remove(path);
}

TEST(AuditLog, ShouldStopAtTheFlippedByteRecordAndReportItsOffset) {
  const std::string path = temp_path("flip");
  std::vector<std::uint64_t> offsets;
  {
    auto log = AuditLog::open(path, manual());
    for (std::uint64_t i = 1; i <= 10; ++i) ASSERT_TRUE(log->channel().push(decision(i)));
    ASSERT_TRUE(log->flush());
  }
  {
    AuditReader r(path);
    for (const auto& v : read_all(r).records) offsets.push_back(v.offset);
  }
  ASSERT_EQ(offsets.size(), 11u);
  const std::vector<std::byte> clean = read_file(path);
  // A flipped payload byte, a flipped sequence byte, a flipped length byte, a flipped CRC byte.
  const std::uint64_t rec = offsets[6];
  for (const std::uint64_t delta : {40ULL, 8ULL, 0ULL, 24ULL + sizeof(AuditDecision)}) {
    std::vector<std::byte> bad = clean;
    bad[rec + delta] ^= std::byte{0x01};
    AuditReader r(std::span<const std::byte>(bad.data(), bad.size()));
    const ReadAll a = read_all(r);
    EXPECT_EQ(a.status, ReadStatus::Corrupt) << "delta " << delta;
    EXPECT_EQ(a.offset, rec) << "delta " << delta;
    EXPECT_EQ(a.records.size(), 6u) << "delta " << delta;
    if (delta == 40) {
      EXPECT_EQ(a.kind, CorruptKind::BadChecksum);
    }
  }
  // A record whose CRC is right but whose sequence skips (records spliced out) is corrupt too.
  std::vector<std::byte> spliced(clean.begin(), clean.begin() + static_cast<std::ptrdiff_t>(offsets[3]));
  spliced.insert(spliced.end(), clean.begin() + static_cast<std::ptrdiff_t>(offsets[4]), clean.end());
  AuditReader rs(std::span<const std::byte>(spliced.data(), spliced.size()));
  const ReadAll s = read_all(rs);
  EXPECT_EQ(s.status, ReadStatus::Corrupt);
  EXPECT_EQ(s.kind, CorruptKind::SequenceGap);
  EXPECT_EQ(s.offset, offsets[3]);
  // A foreign file is refused at offset 0.
  std::vector<std::byte> foreign = clean;
  foreign[0] = std::byte{'X'};
  AuditReader rf(std::span<const std::byte>(foreign.data(), foreign.size()));
  EXPECT_EQ(read_all(rf).kind, CorruptKind::BadFileHeader);
  std::filesystem::remove(path);
}

TEST(AuditLog, ShouldTruncateATornTailOnReopenAndContinueTheSequence) {
  const std::string path = temp_path("torn");
  {
    auto log = AuditLog::open(path, manual());
    for (std::uint64_t i = 1; i <= 5; ++i) ASSERT_TRUE(log->channel().push(decision(i)));
    ASSERT_TRUE(log->flush());
  }
  const auto full = std::filesystem::file_size(path);
  std::filesystem::resize_file(path, full - 50);  // the last record loses its last 50 bytes
  {
    AuditReader r(path);
    const ReadAll a = read_all(r);
    EXPECT_EQ(a.status, ReadStatus::Torn);
    EXPECT_EQ(a.records.size(), 5u);  // start + 4 decisions
    EXPECT_EQ(a.offset, full - kAuditRecordOverhead - sizeof(AuditDecision));
  }
  {
    auto log = AuditLog::open(path, manual());
    EXPECT_EQ(log->stats().truncated_bytes, kAuditRecordOverhead + sizeof(AuditDecision) - 50);
    EXPECT_EQ(log->stats().prior_records, 5u);
    ASSERT_TRUE(log->channel().push(decision(6)));
    ASSERT_TRUE(log->flush());
  }
  AuditReader r(path);
  const ReadAll a = read_all(r);
  ASSERT_EQ(a.status, ReadStatus::End);
  ASSERT_EQ(a.records.size(), 7u);  // start, 4 decisions, start, decision 6
  EXPECT_EQ(a.records[5].type, AuditRecordType::Start);
  EXPECT_EQ(a.records[5].sequence, 6u);
  AuditStart st{};
  ASSERT_TRUE(a.records[5].as(st));
  EXPECT_EQ(st.truncated_bytes, kAuditRecordOverhead + sizeof(AuditDecision) - 50);
  AuditDecision d{};
  ASSERT_TRUE(a.records[6].as(d));
  EXPECT_EQ(d.signal_id, 6u);
  std::filesystem::remove(path);
}

TEST(AuditLog, ShouldRefuseToReopenALogCorruptInTheMiddle) {
  const std::string path = temp_path("midcorrupt");
  {
    auto log = AuditLog::open(path, manual());
    for (std::uint64_t i = 1; i <= 10; ++i) ASSERT_TRUE(log->channel().push(decision(i)));
    ASSERT_TRUE(log->flush());
  }
  std::vector<std::byte> b = read_file(path);
  b[kAuditFileHeaderBytes + 100] ^= std::byte{0xFF};
  write_file(path, b);
  EXPECT_THROW((void)AuditLog::open(path, manual()), std::runtime_error);
  EXPECT_EQ(std::filesystem::file_size(path), b.size());  // nothing was cut
  std::filesystem::remove(path);
}

// The child appends forever (small write() chunks widen the torn window); the parent kills it
// with SIGKILL mid-stream.
TEST(AuditLog, ShouldReadCleanlyUpToLastCompleteRecordAfterSigkillAndContinueAfterReopen) {
  const std::string path = temp_path("sigkill");
  std::fflush(nullptr);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    try {
      AuditOptions o = manual();
      o.debug_write_chunk = 7;
      auto log = AuditLog::open(path, o);
      for (std::uint64_t i = 1;; ++i) {
        while (!log->channel().push(decision(i))) (void)log->poll();
        if (i % 16 == 0) (void)log->poll();
      }
    } catch (...) {
      ::_exit(3);
    }
  }
  // Wait (bounded) until the child has written a good amount, then kill it.
  for (int i = 0; i < 2000; ++i) {
    std::error_code ec;
    if (std::filesystem::file_size(path, ec) > 256 * 1024 && !ec) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_EQ(::kill(child, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status));
  const auto size = std::filesystem::file_size(path);
  ASSERT_GT(size, 256u * 1024);

  std::uint64_t complete = 0;
  std::uint64_t valid = 0;
  {
    AuditReader r(path);
    const ReadAll a = read_all(r);
    ASSERT_TRUE(a.status == ReadStatus::End || a.status == ReadStatus::Torn) << to_string(a.status);
    ASSERT_GT(a.records.size(), 100u);
    for (std::size_t i = 1; i < a.records.size(); ++i) {  // every record is exactly what was pushed
      AuditDecision d{};
      ASSERT_TRUE(a.records[i].as(d));
      ASSERT_EQ(std::memcmp(&d, &static_cast<const AuditDecision&>(decision(i)), sizeof d), 0);
    }
    complete = a.records.size();
    valid = a.offset;
    EXPECT_EQ(a.status == ReadStatus::Torn, valid < size);
  }
  {
    auto log = AuditLog::open(path, manual());
    EXPECT_EQ(log->stats().truncated_bytes, size - valid);
    EXPECT_EQ(log->stats().prior_records, complete);
    for (std::uint64_t i = 0; i < 10; ++i) ASSERT_TRUE(log->channel().push(decision(1'000'000 + i)));
    ASSERT_TRUE(log->flush());
  }
  AuditReader r(path);
  const ReadAll a = read_all(r);
  ASSERT_EQ(a.status, ReadStatus::End);
  ASSERT_EQ(a.records.size(), complete + 11);
  EXPECT_EQ(a.records.back().sequence, complete + 11);
  std::filesystem::remove(path);
}

TEST(AuditLog, ShouldFsyncAfterEveryRecordWhenAskedTo) {
  const std::string path = temp_path("fsync_every");
  auto log = AuditLog::open(path, manual(FsyncPolicy::EveryRecord));
  const std::uint64_t f0 = log->stats().fsyncs;
  EXPECT_EQ(f0, 1u);  // the Start record
  for (std::uint64_t i = 1; i <= 5; ++i) ASSERT_TRUE(log->channel().push(decision(i)));
  EXPECT_EQ(log->poll(), 5u);
  EXPECT_EQ(log->stats().fsyncs, f0 + 5);
  log->close();
  EXPECT_EQ(log->stats().fsyncs, f0 + 5);  // nothing left unsynced
  std::filesystem::remove(path);
}

TEST(AuditLog, ShouldFsyncAtMostOncePerIntervalWhenDirty) {
  const std::string path = temp_path("fsync_interval");
  ManualClock clock(1'000 * kNsPerSecond);
  AuditOptions o = manual(FsyncPolicy::Interval);
  o.fsync_interval = std::chrono::milliseconds(100);
  o.clock = clock.clock();
  auto log = AuditLog::open(path, o);
  const std::uint64_t f0 = log->stats().fsyncs;
  for (std::uint64_t i = 1; i <= 3; ++i) ASSERT_TRUE(log->channel().push(decision(i)));
  (void)log->poll();
  EXPECT_EQ(log->stats().fsyncs, f0);  // interval not elapsed
  clock.advance(99'999'999);
  (void)log->poll();
  EXPECT_EQ(log->stats().fsyncs, f0);
  clock.advance(1);
  (void)log->poll();
  EXPECT_EQ(log->stats().fsyncs, f0 + 1);  // dirty and due
  clock.advance(500'000'000);
  (void)log->poll();
  EXPECT_EQ(log->stats().fsyncs, f0 + 1);  // due but clean: no fsync
  ASSERT_TRUE(log->channel().push(decision(4)));
  (void)log->poll();
  EXPECT_EQ(log->stats().fsyncs, f0 + 2);
  ASSERT_TRUE(log->channel().push(decision(5)));
  log->close();
  EXPECT_EQ(log->stats().fsyncs, f0 + 3);  // close syncs what is dirty
  std::filesystem::remove(path);
}

TEST(AuditLog, ShouldNeverFsyncWithPolicyNever) {
  const std::string path = temp_path("fsync_never");
  auto log = AuditLog::open(path, manual(FsyncPolicy::Never));
  for (std::uint64_t i = 1; i <= 5; ++i) ASSERT_TRUE(log->channel().push(decision(i)));
  (void)log->poll();
  log->close();
  EXPECT_EQ(log->stats().fsyncs, 0u);
  EXPECT_EQ(log->stats().records_written, 6u);
  std::filesystem::remove(path);
}

TEST(AuditLog, ShouldCountRecordsDroppedOnAFullRingAndLogTheTotal) {
  const std::string path = temp_path("dropped");
  AuditOptions o = manual();
  o.ring_bytes = 4096;
  auto log = AuditLog::open(path, o);
  std::uint64_t ok = 0;
  for (std::uint64_t i = 1; i <= 100; ++i) ok += log->channel().push(decision(i)) ? 1 : 0;
  const std::uint64_t dropped = log->channel().dropped();
  EXPECT_EQ(ok + dropped, 100u);
  ASSERT_GT(dropped, 0u);
  (void)log->poll();
  ASSERT_TRUE(log->channel().push(decision(101)));  // carries the running total
  log->close();
  AuditReader r(path);
  const ReadAll a = read_all(r);
  ASSERT_EQ(a.status, ReadStatus::End);
  ASSERT_EQ(a.records.size(), 1 + ok + 1 + 1);
  AuditDropped d{};
  ASSERT_TRUE(a.records[a.records.size() - 2].as(d));
  EXPECT_EQ(d.dropped_total, dropped);
  std::filesystem::remove(path);
}

// A write that fails (here: RLIMIT_FSIZE, as a full disk would) must leave the file a valid
// log, must not report the records written (the submitter sends a transaction only after
// flush() says its record is on file), and must not lose them: the batch is written again once
// the file can grow.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(std::uint64_t bytes) {
    old_handler_ = std::signal(SIGXFSZ, SIG_IGN);
    ::getrlimit(RLIMIT_FSIZE, &old_);
    rlimit lim = old_;
    lim.rlim_cur = bytes;
    ::setrlimit(RLIMIT_FSIZE, &lim);
  }
  ~FileSizeLimit() { lift(); }
  void lift() {
    if (lifted_) return;
    ::setrlimit(RLIMIT_FSIZE, &old_);
    std::signal(SIGXFSZ, old_handler_);
    lifted_ = true;
  }
  FileSizeLimit(const FileSizeLimit&) = delete;
  FileSizeLimit& operator=(const FileSizeLimit&) = delete;

 private:
  rlimit old_{};
  void (*old_handler_)(int) = nullptr;
  bool lifted_ = false;
};

TEST(AuditLog, ShouldKeepAFailedBatchUnreportedAndWriteItOnceTheFileCanGrow) {
  for (const bool threaded : {false, true}) {
    SCOPED_TRACE(threaded ? "writer thread" : "manual poll");
    const std::string path = temp_path(threaded ? "efbig_thread" : "efbig_manual");
    AuditOptions o = manual();
    o.start_thread = threaded;
    o.debug_write_chunk = 16;  // the failing batch is partly written before the error
    auto log = AuditLog::open(path, o);
    ASSERT_TRUE(log->flush());
    const auto good = std::filesystem::file_size(path);
    {
      FileSizeLimit limit(good + 40);
      ASSERT_TRUE(log->channel().push(decision(1)));
      const auto t0 = std::chrono::steady_clock::now();
      EXPECT_FALSE(log->flush(std::chrono::seconds(20)));
      EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(10)) << "flush waited for its deadline";
      EXPECT_GE(log->stats().write_errors, 1u);
      if (!threaded) {  // the writer thread keeps retrying (a partial write, then the cut): no stable moment
        EXPECT_EQ(std::filesystem::file_size(path), good) << "the partial batch was not cut";
        AuditReader r(path);
        EXPECT_EQ(read_all(r).status, ReadStatus::End);
      }
      limit.lift();
      ASSERT_TRUE(log->channel().push(decision(2)));
      // A retry that began before the lift may still fail during the first call (false: not
      // written yet, as the submitter must see it); the next attempt writes both.
      bool flushed = false;
      for (int i = 0; i < 5 && !flushed; ++i) flushed = log->flush(std::chrono::seconds(20));
      EXPECT_TRUE(flushed);
    }
    log->close();
    EXPECT_EQ(log->stats().unwritten_records, 0u);
    AuditReader r(path);
    const ReadAll a = read_all(r);
    ASSERT_EQ(a.status, ReadStatus::End) << to_string(a.kind) << " at " << a.offset;
    ASSERT_EQ(a.records.size(), 3u);  // Start, decision 1, decision 2
    for (std::size_t i = 0; i < a.records.size(); ++i) EXPECT_EQ(a.records[i].sequence, i + 1);
    AuditDecision d{};
    ASSERT_TRUE(a.records[1].as(d));
    EXPECT_EQ(d.signal_id, 1u);
    ASSERT_TRUE(a.records[2].as(d));
    EXPECT_EQ(d.signal_id, 2u);
    std::filesystem::remove(path);
  }
}

TEST(AuditLog, ShouldInterleaveSeveralProducerChannelsWithoutLosingRecords) {
  const std::string path = temp_path("channels");
  AuditOptions o;
  o.channels = 2;
  o.fsync = FsyncPolicy::Never;
  auto log = AuditLog::open(path, o);
  auto produce = [&](unsigned ch, std::uint64_t base) {
    for (std::uint64_t i = 0; i < 2000; ++i) {
      while (!log->channel(ch).push(decision(base + i))) std::this_thread::yield();
    }
  };
  std::thread a(produce, 0U, 0ULL);
  std::thread b(produce, 1U, 1'000'000ULL);
  a.join();
  b.join();
  ASSERT_TRUE(log->flush());
  log->close();
  AuditReader r(path);
  const ReadAll all = read_all(r);
  ASSERT_EQ(all.status, ReadStatus::End);
  ASSERT_EQ(all.records.size(), 4001u);
  std::uint64_t next_a = 0;
  std::uint64_t next_b = 1'000'000;
  for (std::size_t i = 1; i < all.records.size(); ++i) {
    AuditDecision d{};
    ASSERT_TRUE(all.records[i].as(d));
    if (d.signal_id < 1'000'000) {
      ASSERT_EQ(d.signal_id, next_a++);  // per-channel order kept
    } else {
      ASSERT_EQ(d.signal_id, next_b++);
    }
  }
  std::filesystem::remove(path);
}

bool contains(const std::vector<std::byte>& hay, const std::array<std::uint8_t, 32>& needle, std::size_t n) {
  const auto* b = reinterpret_cast<const std::uint8_t*>(hay.data());
  return std::search(b, b + hay.size(), needle.begin(), needle.begin() + static_cast<std::ptrdiff_t>(n)) !=
         b + hay.size();
}

TEST(AuditLog, ShouldNeverWriteThePrivateKeyHeldInTheProcess) {
  // A dummy secp256k1 secret key held by this process (as the signer would hold one), also
  // sprayed over the stack where records are built, so uninitialised bytes would leak it.
  const std::array<std::uint8_t, 32> secret = {0x4c, 0x08, 0x83, 0xa6, 0x91, 0x02, 0x93, 0x7d, 0x62, 0x31, 0x47,
                                               0x1b, 0x5d, 0xbb, 0x62, 0x04, 0xfe, 0x51, 0x29, 0x61, 0x70, 0x82,
                                               0x79, 0x2a, 0xe4, 0x68, 0xd0, 0x1a, 0x3f, 0x36, 0x23, 0x18};
  const std::string path = temp_path("secret");
  {
    volatile std::uint8_t spray[4096];
    for (std::size_t i = 0; i < sizeof spray; ++i) spray[i] = secret[i % 32];
    auto log = AuditLog::open(path, manual(FsyncPolicy::EveryRecord));
    AuditChannel& ch = log->channel();
    protocol::ArbitrageSignal sig{};
    sig.signal_id = 1;
    ASSERT_TRUE(ch.push(sig));
    ASSERT_TRUE(ch.push(decision(1)));
    AuditTransaction tx{};
    tx.nonce = 1;
    tx.tx_hash.fill(0x11);
    tx.sender.fill(0x22);  // the public address derived from the key is fine to log
    ASSERT_TRUE(ch.push(tx));
    protocol::ExecutionReport rep{};
    ASSERT_TRUE(ch.push(rep));
    AuditPnl pnl{};
    ASSERT_TRUE(ch.push(pnl));
    ASSERT_TRUE(log->flush());
  }
  const std::vector<std::byte> bytes = read_file(path);
  ASSERT_GT(bytes.size(), 600u);
  EXPECT_FALSE(contains(bytes, secret, 32));
  EXPECT_FALSE(contains(bytes, secret, 8));  // not even a fragment
  // The scanner itself works: a file that does contain the key is caught.
  std::vector<std::byte> leaked = bytes;
  const auto* s = reinterpret_cast<const std::byte*>(secret.data());
  leaked.insert(leaked.begin() + 100, s, s + 32);
  EXPECT_TRUE(contains(leaked, secret, 32));
  std::filesystem::remove(path);
}

// The tool is built next to this test in both build systems: <build>/strategy/risk/torq-audit.
TEST(AuditTool, ShouldVerifyAndPrintJsonAndFailOnCorruption) {
  const char* bin_dir = std::getenv("TORQ_BINARY_DIR");
  if (bin_dir == nullptr) GTEST_SKIP() << "TORQ_BINARY_DIR not set";
  const std::string tool = std::string(bin_dir) + "/strategy/risk/torq-audit";
  if (!std::filesystem::exists(tool)) GTEST_SKIP() << tool << " not built";
  const std::string path = temp_path("tool");
  {
    auto log = AuditLog::open(path, manual());
    for (std::uint64_t i = 1; i <= 3; ++i) ASSERT_TRUE(log->channel().push(decision(i)));
    ASSERT_TRUE(log->flush());
  }
  auto run = [&](const std::string& args, int& rc) {
    std::string out;
    FILE* p = ::popen((tool + " " + args + " " + path).c_str(), "r");
    if (p == nullptr) return out;
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    const int st = ::pclose(p);
    rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return out;
  };
  int rc = -1;
  std::string out = run("--json", rc);
  EXPECT_EQ(rc, 0);
  EXPECT_NE(out.find("\"status\":\"end\""), std::string::npos) << out;
  EXPECT_NE(out.find("\"reason\":\"max_notional\""), std::string::npos) << out;
  EXPECT_NE(out.find("\"records_ok\":4"), std::string::npos) << out;
  std::vector<std::byte> b = read_file(path);
  const std::uint64_t third = kAuditFileHeaderBytes + kAuditRecordOverhead + sizeof(AuditStart) +
                              2 * (kAuditRecordOverhead + sizeof(AuditDecision));
  b[third + 30] ^= std::byte{0x40};
  write_file(path, b);
  out = run("--json", rc);
  EXPECT_EQ(rc, 3);
  EXPECT_NE(out.find("\"status\":\"corrupt\""), std::string::npos) << out;
  EXPECT_NE(out.find("\"stop_offset\":" + std::to_string(third)), std::string::npos) << out;
  out = run("", rc);
  EXPECT_EQ(rc, 3);
  EXPECT_NE(out.find("status=corrupt"), std::string::npos) << out;
  std::filesystem::remove(path);
}

}  // namespace
