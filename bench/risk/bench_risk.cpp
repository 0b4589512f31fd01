// bench_risk: pre-trade risk check cost and audit-record push cost, each next to a peer in the
// same run. JSON: ./bench_risk --benchmark_format=json
//   BM_RiskCheck_Accept          every gate evaluated (the accept path: the most work)
//   BM_RiskCheck_KillSwitch      earliest reject
//   BM_LimitsLoad_Seqlock        reading the reloadable limits as check() does ...
//   BM_LimitsLoad_Mutex          ... vs the peer: a std::mutex around a copy
//   BM_AuditPush_Decision        hot side: one record into the SPSC ring (writer drained off-clock)
//   BM_AuditEncode_Decision      peer: encoding + CRC32C of the same record in place
//   BM_AuditDirectWrite_Decision peer: encode + write(2) per record on the calling thread
#include <benchmark/benchmark.h>

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <mutex>
#include <string>

#include "torq/risk/audit_log.hpp"
#include "torq/risk/risk_gates.hpp"

namespace {

using namespace torq;
using namespace torq::risk;
using num::U256;
using num::UsdFixedPoint8;

const protocol::InstrumentId kUsdc =
    protocol::InstrumentId::make(protocol::InstrumentKind::Token, protocol::Chain::Polygon, protocol::Venue::None, 0);

RiskLimits limits() {
  RiskLimits l;
  l.max_notional_usd = 1'000'000 * UsdFixedPoint8::kScale;
  l.max_daily_loss_usd = 100 * UsdFixedPoint8::kScale;
  l.max_drawdown_usd = 200 * UsdFixedPoint8::kScale;
  l.max_in_flight = 4;
  l.max_state_age_blocks = 3;
  l.max_fee_per_gas_wei = 500 * kGwei;
  l.chain_id = 137;
  l.breaker_threshold = 3;
  l.breaker_cooldown_ns = 60 * kNsPerSecond;
  return l;
}

std::unique_ptr<RiskGates> make_gates() {
  auto g = std::make_unique<RiskGates>(RiskGates::Config{1024, limits(), Clock{}});
  TokenRisk t;
  t.decimals = 6;
  t.price_usd = UsdFixedPoint8::kScale;
  t.max_exposure = U256(1'000'000'000'000ULL);
  (void)g->set_token(kUsdc, t);
  g->set_latest_block(100);
  return g;
}

Candidate candidate() {
  Candidate c;
  c.signal_id = 1;
  c.token_in = kUsdc;
  c.hop_count = 3;
  c.state_blocks = {100, 99, 98};
  c.amount_in = U256(5'000'000'000ULL);
  c.max_fee_per_gas = U256(100 * kGwei);
  c.max_priority_fee_per_gas = U256(30 * kGwei);
  return c;
}

void BM_RiskCheck_Accept(benchmark::State& state) {
  auto g = make_gates();
  Candidate c = candidate();
  for (auto _ : state) {
    benchmark::DoNotOptimize(c);
    const Decision d = g->check(c);
    benchmark::DoNotOptimize(d);
    if (!d.accept) state.SkipWithError("unexpected reject");
  }
  state.counters["accepted"] = static_cast<double>(g->accepted());
}
BENCHMARK(BM_RiskCheck_Accept);

void BM_RiskCheck_KillSwitch(benchmark::State& state) {
  auto g = make_gates();
  g->engage_kill_switch();
  Candidate c = candidate();
  for (auto _ : state) {
    benchmark::DoNotOptimize(c);
    const Decision d = g->check(c);
    benchmark::DoNotOptimize(d);
  }
}
BENCHMARK(BM_RiskCheck_KillSwitch);

void BM_LimitsLoad_Seqlock(benchmark::State& state) {
  Seqlock<RiskLimits> s(limits());
  for (auto _ : state) {
    const RiskLimits l = s.load();
    benchmark::DoNotOptimize(l);
  }
}
BENCHMARK(BM_LimitsLoad_Seqlock);

void BM_LimitsLoad_Mutex(benchmark::State& state) {
  std::mutex mu;
  RiskLimits shared = limits();
  for (auto _ : state) {
    RiskLimits l;
    {
      const std::lock_guard<std::mutex> g(mu);
      l = shared;
    }
    benchmark::DoNotOptimize(l);
  }
}
BENCHMARK(BM_LimitsLoad_Mutex);

AuditDecision decision(std::uint64_t id) {
  AuditDecision d{};
  d.signal_id = id;
  d.token_in = kUsdc.raw();
  d.accepted = 1;
  d.amount_in = U256(id);
  d.max_fee_per_gas = U256(100 * kGwei);
  d.max_priority_fee_per_gas = U256(30 * kGwei);
  return d;
}

std::string bench_path(const char* name) {
  return (std::filesystem::temp_directory_path() / (std::string("torq_bench_") + name + "_" +
                                                    std::to_string(::getpid()) + ".log"))
      .string();
}

void BM_AuditPush_Decision(benchmark::State& state) {
  const std::string path = bench_path("push");
  AuditOptions o;
  o.start_thread = false;  // drained below, outside the timed region
  o.fsync = FsyncPolicy::Never;
  o.ring_bytes = 1ULL << 22;
  auto log = AuditLog::open(path, o);
  AuditChannel& ch = log->channel();
  AuditDecision d = decision(1);
  std::uint64_t n = 0;
  for (auto _ : state) {
    d.signal_id = ++n;
    if ((n & 8191) == 0) [[unlikely]] {  // keep the ring from filling: drain off the clock
      state.PauseTiming();
      (void)log->poll();
      state.ResumeTiming();
    }
    benchmark::DoNotOptimize(ch.push(d));
  }
  state.counters["dropped"] = static_cast<double>(ch.dropped());
  log->close();
  std::filesystem::remove(path);
}
BENCHMARK(BM_AuditPush_Decision);

void BM_AuditEncode_Decision(benchmark::State& state) {
  std::array<std::byte, kAuditMaxRecordBytes> buf{};
  AuditDecision d = decision(1);
  std::uint64_t seq = 0;
  for (auto _ : state) {
    d.signal_id = ++seq;
    const std::size_t n = encode_audit_record(buf, AuditRecordType::Decision, seq, seq,
                                              std::as_bytes(std::span<const AuditDecision, 1>(&d, 1)));
    benchmark::DoNotOptimize(n);
    benchmark::DoNotOptimize(buf);
  }
}
BENCHMARK(BM_AuditEncode_Decision);

void BM_AuditDirectWrite_Decision(benchmark::State& state) {
  const std::string path = bench_path("direct");
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
  std::array<std::byte, kAuditMaxRecordBytes> buf{};
  AuditDecision d = decision(1);
  std::uint64_t seq = 0;
  for (auto _ : state) {
    d.signal_id = ++seq;
    const std::size_t n = encode_audit_record(buf, AuditRecordType::Decision, seq, seq,
                                              std::as_bytes(std::span<const AuditDecision, 1>(&d, 1)));
    if (::write(fd, buf.data(), n) != static_cast<ssize_t>(n)) state.SkipWithError("write failed");
  }
  ::close(fd);
  std::filesystem::remove(path);
}
BENCHMARK(BM_AuditDirectWrite_Decision);

}  // namespace

BENCHMARK_MAIN();
