// bench_tick_to_tx — tick-to-signed-transaction latency: one Protocol V2 market-data frame in,
// the raw signed EIP-1559 transaction bytes out (JSON on stdout).
//
// The chain is torqd's (control/torqd/src/pipeline.cpp: strategy loop, then the executor's
// on_signal) built from the same library calls, in the same order:
//   search : arb::ArbEngine::on_frame — frame parse + CRC32C check, pool book update, exact
//            prefilter, optimal-input search, USD valuation, gas, ArbitrageSignal frame written
//            into the signal ring (a torq::ring SPSC ring in process memory)
//   decode : the executor takes the signal frame from the ring: protocol::parse_frame, tlv_as,
//            the min-profit and staleness checks, torqd::encode_path (24 bytes per hop),
//            torqd::fees_for (2 x base fee + priority, 25 gwei floor on 137), risk::Candidate
//   risk   : RiskGates::set_latest_block + RiskGates::check (every gate, accept path) +
//            NonceManager::acquire
//   build  : executor::encode_execute_call (TorqArbitrage.execute calldata, torqd::min_profit_for)
//            + the Eip1559Tx fields
//   sign   : executor::sign_tx — unsigned RLP, Keccak-256 signing hash, Signer::sign, signed RLP,
//            Keccak-256 tx hash: the raw signed tx bytes are ready at its return (end of the tick)
// plus "sign_alone": Signer::sign alone on the same tick's signing hash, timed right after the
// tick (off its end-to-end number; it consumes a second precomputed nonce).
// Not on the path here (torqd does them after the stage it times, or they are not per tick):
// the audit pushes (~26 ns each, bench_risk), telemetry, RiskGates::on_submitted and the
// nonce manager's on_sent (done here after the tick, with on_outcome/on_mined, so in-flight
// and exposure stay at zero and every tick is accepted).
//
// Universe: torq/bench/universe.hpp, shared with bench_tick_to_signal (5 hubs + long-tail tokens,
// 30% Uniswap V3 fee 500 with 4 initialized ticks, the rest QuickSwap/Sushi V2), registered in a
// protocol::InstrumentRegistry exactly as torqd's pool list does, the engine built from
// arb::pool_specs_from_registry and configured as torqd's engine_config (replay.cpp) does, the
// PathTable from the same registry. A tick = one V2 Sync / V3 Swap moving one pool +1.5% in
// sqrt-price (CRC32C-checksummed, as a collector sends it), then a restore frame off the clock.
//
// Signers, in the same run, on the same tick sequence and fresh engines: precomputed nonces
// (SignerOptions{.nonces = NonceMode::Precomputed}, pool refilled between batches off the
// measured path; the run fails if any signature fell back to RFC 6979) and RFC 6979.
// Modes: single-threaded (one pinned thread runs strategy and executor back to back), then the
// real thread split when 2+ CPUs are allowed: strategy thread (on_frame) -> signal ring ->
// executor thread busy-polling it, both pinned (torq::hw via bench::pin_and_warm); end to end is
// TSC at signed bytes ready (executor thread) - TSC just before on_frame (strategy thread, passed
// through an atomic written before the signal is published), the same interval as single-threaded.
// Every measured tick must produce exactly one signed tx (the first signal of the tick; later
// signals of the same tick share the dislocated pool with it and torqd skips them as conflicting
// while the first is in flight — here they are drained and counted); the run exits 1 otherwise.
// At the end, outside the timing, every signed tx is decoded (executor::decode_signed_tx), its
// sender recovered and compared with the key's address, its fields compared with the order.
//
// Usage: bench_tick_to_tx [--ticks N] [--pools N] [--batch N] [--threads 0|1]
// Key: anvil's well-known test key 0 (worthless outside a local chain); never printed.
#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "torq/arb/engine.hpp"
#include "torq/bench/args.hpp"
#include "torq/bench/latency.hpp"
#include "torq/bench/universe.hpp"
#include "torq/executor/abi.hpp"
#include "torq/executor/key.hpp"
#include "torq/executor/signer.hpp"
#include "torq/executor/tx.hpp"
#include "torq/hw/tsc.hpp"
#include "torq/protocol/frame.hpp"
#include "torq/protocol/instrument_id.hpp"
#include "torq/risk/nonce_manager.hpp"
#include "torq/risk/risk_gates.hpp"
#include "torq/ring/local_ring.hpp"
#include "torq/torqd/execution.hpp"

namespace {

using namespace torq;
using num::U256;
using num::UsdFixedPoint8;
using bench::event_frame;
using bench::kWeth;
using bench::kWmatic;
using bench::load_baseline;
using bench::make_universe;
using bench::Universe;

// anvil's test key 0 and its address (worthless outside a local test chain). Never printed.
constexpr const char* kTestKeyHex = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
constexpr const char* kTestKeyAddress = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
constexpr const char* kContract = "0x5FbDB2315678afecb367f032d93F642f64180aa3";

// torqd's defaults (control/torqd/include/torq/torqd/options.hpp).
constexpr std::uint64_t kChainId = 137;
constexpr std::uint64_t kPriorityGwei = 30;
constexpr std::uint64_t kGas2Hop = 260000, kGas3Hop = 380000;
constexpr std::uint32_t kMinProfitShareBps = 5000;
constexpr std::uint64_t kBaseFeeWei = 60'000'000'000ULL;

// Market-data and snapshot frames are CRC32C-checksummed, as the collector publishes them.
constexpr std::uint8_t kFrameFlags = 0;

// torqd's engine_config (control/torqd/src/replay.cpp) with its default options: stables are
// the "USD*" tokens priced at 1 USD, start tokens the stables, WETH and the native token.
arb::EngineConfig engine_config(const Universe& u) {
  arb::EngineConfig cfg;
  for (std::size_t i = 0; i < u.registry.token_count(); ++i) {
    const protocol::TokenInfo* t = u.registry.token(u.registry.token_id(i));
    if (t->symbol.rfind("USD", 0) == 0 && u.token_usd[i] == 1.0)
      cfg.pricing.stables.push_back(arb::StableToken{static_cast<std::uint32_t>(i), t->decimals});
  }
  for (const auto& s : cfg.pricing.stables) cfg.cycles.base_tokens.push_back(s.token);
  cfg.cycles.base_tokens.push_back(kWeth);
  cfg.cycles.base_tokens.push_back(kWmatic);
  cfg.gas.gas_units_two_pool = kGas2Hop;
  cfg.gas.gas_units_triangular = kGas3Hop;
  cfg.gas.priority_fee_wei = U256(kPriorityGwei) * U256(1'000'000'000ULL);
  cfg.gas.chain = protocol::Chain::Polygon;
  cfg.gas.native_token = kWmatic;
  cfg.min_net_profit = UsdFixedPoint8{UsdFixedPoint8::kScale / 100};  // 0.01 USD
  cfg.finality_depth = 64;
  return cfg;
}

// torqd's RiskGates setup (pipeline.cpp limits_of / apply_token_limits) with its default limits
// except max_notional (20 000 USD there; large here so every tick is accepted).
std::unique_ptr<risk::RiskGates> make_gates(const Universe& u) {
  risk::RiskGates::Config rc;
  rc.max_tokens = u.registry.token_count();
  risk::RiskLimits& l = rc.limits;
  l.max_notional_usd = 100'000'000 * UsdFixedPoint8::kScale;
  l.max_daily_loss_usd = 1000 * UsdFixedPoint8::kScale;
  l.max_drawdown_usd = 2000 * UsdFixedPoint8::kScale;
  l.max_in_flight = 1;
  l.max_state_age_blocks = 2;
  l.max_fee_per_gas_wei = 1000 * risk::kGwei;
  l.min_priority_fee_wei = kPriorityGwei * risk::kGwei;
  l.chain_id = kChainId;
  l.breaker_threshold = 3;
  l.breaker_cooldown_ns = 300 * risk::kNsPerSecond;
  auto g = std::make_unique<risk::RiskGates>(rc);
  for (std::size_t i = 0; i < u.registry.token_count(); ++i) {
    risk::TokenRisk tr;
    tr.price_usd = static_cast<std::int64_t>(std::llround(u.token_usd[i] * static_cast<double>(UsdFixedPoint8::kScale)));
    if (tr.price_usd == 0) continue;
    tr.decimals = static_cast<std::uint32_t>(u.token_dec[i]);
    tr.configured = 1;
    tr.max_exposure = ~U256::zero();
    if (!g->set_token(u.registry.token_id(i), tr)) throw std::runtime_error("set_token");
  }
  return g;
}

constexpr std::size_t kCalldataCap = executor::execute_call_size(torqd::kMaxPathBytes);
constexpr std::size_t kRawCap = executor::max_signed_tx_size(kCalldataCap);

// One signed order as the executor leaves it (what torqd copies into its TxOrder for the submitter).
struct Order {
  std::uint64_t nonce = 0;
  std::uint64_t gas_limit = 0;
  U256 max_fee = U256::zero(), priority = U256::zero();
  std::size_t cd_len = 0;
  std::array<std::uint8_t, kCalldataCap> calldata{};
  std::size_t raw_len = 0;
  std::array<std::uint8_t, kRawCap> raw{};
  executor::Hash256 hash{};
  executor::Hash256 signing_hash{};
  executor::Signature sig_alone{};
};

struct Stages {
  explicit Stages(std::size_t n)
      : search(n), decode(n), risk(n), build(n), sign(n), e2e(n), sign_alone(n), executor(n), to_executor(n) {}
  bench::LatencyRecorder search, decode, risk, build, sign, e2e, sign_alone, executor, to_executor;
};

// The executor side of torqd (pipeline.cpp on_signal) for one signal frame: fills `o` and returns
// Outcome::Signed, or says why the signal did not become a signed tx (counted by the caller).
class Executor {
 public:
  Executor(const Universe& u, executor::Signer& signer, const executor::PrivateKey& key)
      : paths_(u.registry), gates_(make_gates(u)), signer_(signer), key_(key) {
    contract_ = *protocol::parse_address(kContract);
    risk::NonceConfig nc;
    nc.capacity = 64;
    nc.chain_id = kChainId;
    nc.min_priority_fee_wei = kPriorityGwei * risk::kGwei;
    nc.max_fee_cap_wei = 1000 * risk::kGwei;
    nonces_ = std::make_unique<risk::NonceManager>(nc, []() -> std::optional<std::uint64_t> { return 0; });
    (void)nonces_->recover({});
  }

  enum class Outcome : std::uint8_t { Signed, NotASignal, BelowThreshold, Stale, PathError, Rejected, NoNonce, SignError };

  // t[0..3]: TSC after decode, risk, build, sign (raw signed tx bytes ready). `tick` receives the
  // frame header's timestamp (the triggering market-data frame's, which identifies the tick here).
  Outcome on_signal(std::span<const std::byte> frame, Order& o, std::uint64_t (&t)[4], std::uint64_t& tick) noexcept {
    const auto parsed = protocol::parse_frame(frame);
    if (!parsed.ok()) return Outcome::NotASignal;
    tick = parsed.view.header.timestamp_ns;
    std::optional<protocol::ArbitrageSignal> sig;
    for (const auto& tlv : parsed.view.tlvs()) {
      sig = protocol::tlv_as<protocol::ArbitrageSignal>(tlv);
      if (sig) break;
    }
    if (!sig) return Outcome::NotASignal;
    if (sig->net_profit_usd < min_profit_usd_) return Outcome::BelowThreshold;
    if (sig->block_number <= last_trade_block_) return Outcome::Stale;
    std::array<std::uint8_t, torqd::kMaxPathBytes> path{};
    std::size_t path_len = 0;
    if (torqd::encode_path(*sig, paths_, path, path_len) != torqd::PathError::Ok) return Outcome::PathError;
    const torqd::FeeQuote fees = torqd::fees_for(U256(kBaseFeeWei), kPriorityGwei, kChainId);
    risk::Candidate cand = torqd::risk_candidate(*sig, fees);
    t[0] = hw::rdtscp();
    gates_->set_latest_block(sig->block_number);
    const risk::Decision d = gates_->check(cand);
    if (!d.accept) return Outcome::Rejected;
    const std::optional<std::uint64_t> nonce = nonces_->acquire();
    if (!nonce) return Outcome::NoNonce;
    t[1] = hw::rdtscp();
    o.cd_len = executor::encode_execute_call(o.calldata, std::span<const std::uint8_t>(path.data(), path_len),
                                             sig->amount_in, torqd::min_profit_for(sig->expected_profit, kMinProfitShareBps));
    o.nonce = *nonce;
    o.gas_limit = sig->hop_count == 2 ? kGas2Hop : kGas3Hop;
    o.max_fee = d.max_fee_per_gas;
    o.priority = d.max_priority_fee_per_gas;
    executor::Eip1559Tx tx{};
    tx.chain_id = kChainId;
    tx.nonce = *nonce;
    tx.max_priority_fee_per_gas = d.max_priority_fee_per_gas;
    tx.max_fee_per_gas = d.max_fee_per_gas;
    tx.gas_limit = o.gas_limit;
    tx.to = contract_;
    tx.data = std::span<const std::uint8_t>(o.calldata.data(), o.cd_len);
    t[2] = hw::rdtscp();
    executor::SignedTx signed_tx{};
    if (o.cd_len == 0 || executor::sign_tx(signer_, key_, tx, o.raw, signed_tx) != executor::TxError::Ok) {
      (void)nonces_->release(*nonce);
      return Outcome::SignError;
    }
    t[3] = hw::rdtscp();  // raw signed tx bytes ready
    o.raw_len = signed_tx.size;
    o.hash = signed_tx.hash;
    o.signing_hash = signed_tx.signing_hash;
    cand_ = cand;
    return Outcome::Signed;
  }

  // After the tick (off the clock): what torqd does once the tx is queued and later mined —
  // in-flight and exposure up then down, the nonce sent then mined.
  void settle(const Order& o) noexcept {
    gates_->on_submitted(cand_);
    (void)nonces_->on_sent(o.nonce, o.hash, risk::TxFees{o.max_fee, o.priority}, 0, o.nonce + 1);
    (void)nonces_->on_mined(o.nonce);
    gates_->on_outcome(cand_, risk::TradeOutcome::Included);
  }

  [[nodiscard]] const risk::RiskGates& gates() const noexcept { return *gates_; }
  [[nodiscard]] const protocol::Address& contract() const noexcept { return contract_; }

 private:
  torqd::PathTable paths_;
  std::unique_ptr<risk::RiskGates> gates_;
  std::unique_ptr<risk::NonceManager> nonces_;
  executor::Signer& signer_;
  const executor::PrivateKey& key_;
  protocol::Address contract_{};
  std::int64_t min_profit_usd_ = UsdFixedPoint8::kScale / 100;
  std::uint64_t last_trade_block_ = 0;
  risk::Candidate cand_{};
};

constexpr std::size_t kOutcomes = 8;
const char* const kOutcomeNames[kOutcomes] = {"signed", "not_a_signal", "below_threshold", "stale",
                                              "path_error", "risk_rejected", "no_nonce", "sign_error"};

// Verifies every signed tx outside the timing: decodes it, recovers the sender and compares it
// with the key's address, compares the fields with the order; the separately timed signature of
// the same digest must recover to the key too (RFC 6979: and equal the tx's r, s). Returns the
// number of bad orders.
std::uint64_t verify_orders(const std::vector<Order>& orders, const executor::Signer& signer,
                            const protocol::Address& expect_from, const protocol::Address& contract, bool rfc6979) {
  std::uint64_t bad = 0;
  std::vector<std::uint8_t> scratch(kRawCap);
  for (const Order& o : orders) {
    executor::DecodedTx d{};
    if (o.raw_len == 0 ||
        executor::decode_signed_tx(std::span<const std::uint8_t>(o.raw.data(), o.raw_len), scratch, d) != executor::TxError::Ok) {
      ++bad;
      continue;
    }
    const bool fields = d.tx.chain_id == kChainId && d.tx.nonce == o.nonce && d.tx.gas_limit == o.gas_limit &&
                        !d.tx.create && d.tx.to == contract && d.tx.max_fee_per_gas == o.max_fee &&
                        d.tx.max_priority_fee_per_gas == o.priority && d.tx.value == U256::zero() &&
                        d.tx.data.size() == o.cd_len && std::equal(d.tx.data.begin(), d.tx.data.end(), o.calldata.begin()) &&
                        d.hash == o.hash && d.signing_hash == o.signing_hash;
    protocol::Address from{}, from_alone{};
    const bool rec = signer.recover(d.signing_hash, d.signature, from) == executor::SignError::Ok && from == expect_from;
    const bool alone = signer.recover(o.signing_hash, o.sig_alone, from_alone) == executor::SignError::Ok && from_alone == expect_from;
    const bool same = !rfc6979 || (o.sig_alone.r == d.signature.r && o.sig_alone.s == d.signature.s &&
                                   o.sig_alone.y_parity == d.signature.y_parity);
    if (!fields || !rec || !alone || !same) ++bad;
  }
  return bad;
}

// The tick sequence shared by every run: the pool moved by each tick (pools in at least one cycle).
std::vector<std::size_t> tick_pools(const Universe& u, const arb::ArbEngine& eng, std::size_t n) {
  std::vector<std::size_t> movable;
  for (std::size_t p = 0; p < u.specs.size(); ++p)
    if (!eng.cycles().touching(static_cast<std::uint32_t>(p)).empty()) movable.push_back(p);
  std::mt19937_64 rng(99);
  std::vector<std::size_t> seq(n);
  for (auto& p : seq) p = movable[rng() % movable.size()];
  return seq;
}

struct Setup {
  std::size_t ticks = 10000, warmup = 1000, batch = 400, pools = 1000;
};

struct RunResult {
  std::string json;
  bool ok = false;
  double e2e_p50 = 0, sign_p50 = 0, sign_alone_p50 = 0;
};

// One run: a fresh engine and executor over the shared universe with one signer, single-threaded
// on cpu_b, or split: strategy on cpu_a, executor on cpu_b.
RunResult run_one(const Universe& u, const Setup& st, executor::Signer& signer, const executor::PrivateKey& key,
                  const char* signer_name, bool threaded, int cpu_a, int cpu_b, const hw::TscClock& clock) {
  arb::ArbEngine eng(u.specs, engine_config(u));
  load_baseline(eng, u, U256(kBaseFeeWei), kFrameFlags);
  ring::LocalRing sig_ring = ring::LocalRing::create(1 << 22);
  auto sig_prod = std::move(ring::SpscProducer::attach(sig_ring.region()).value);
  auto sig_cons = std::move(ring::SpscConsumer::attach(sig_ring.region()).value);
  eng.attach_output(&sig_prod);
  Executor ex(u, signer, key);
  const bool rfc = signer.mode() == executor::NonceMode::Rfc6979;

  const std::size_t total = st.warmup + st.ticks;
  const std::vector<std::size_t> pools = tick_pools(u, eng, total);
  std::vector<Order> orders(st.ticks);  // preallocated and prefaulted; the executor fills them
  Order warm_order;
  Stages s(st.ticks);
  std::uint64_t outcome[kOutcomes] = {};
  std::uint64_t extra_signals = 0, restore_signals = 0, ticks_without_tx = 0, sign_alone_failed = 0, signed_all = 0;
  std::vector<std::byte> fbuf(4096);
  std::uint64_t block = 10, seq = 0;
  const executor::SignerStats stats0 = signer.stats();
  const arb::EngineStats eng0 = eng.stats();

  // Executor work for one signal frame; `t_in` = TSC when the executor got the frame, `t_tick` =
  // TSC just before the tick's on_frame. Returns true when the tick's tx was signed.
  auto execute = [&](std::span<const std::byte> f, std::uint64_t t_in, std::uint64_t t_tick, std::size_t i) {
    const bool measured = i >= st.warmup;
    Order& o = measured ? orders[i - st.warmup] : warm_order;
    std::uint64_t t[4] = {};
    std::uint64_t tick = 0;
    const Executor::Outcome oc = ex.on_signal(f, o, t, tick);
    if (measured) ++outcome[static_cast<std::size_t>(oc)];
    if (oc != Executor::Outcome::Signed) return false;
    ++signed_all;
    // Off the clock: Signer::sign alone on the same digest, then the settlement.
    const std::uint64_t a0 = hw::rdtscp();
    const executor::SignError se = signer.sign(o.signing_hash, key, o.sig_alone);
    const std::uint64_t a1 = hw::rdtscp();
    if (se != executor::SignError::Ok) ++sign_alone_failed;
    ex.settle(o);
    if (measured) {
      s.decode.record(t[0] - t_in);
      s.risk.record(t[1] - t[0]);
      s.build.record(t[2] - t[1]);
      s.sign.record(t[3] - t[2]);
      s.executor.record(t[3] - t_in);
      s.to_executor.record_interval(t_tick, t_in);  // two threads when split
      s.e2e.record_interval(t_tick, t[3]);
      s.sign_alone.record(a1 - a0);
    }
    return true;
  };

  if (!threaded) {
    bench::pin_and_warm(cpu_b);
    for (std::size_t i = 0; i < total; ++i) {
      if (!rfc && i % st.batch == 0) (void)signer.refill();  // between batches, off the clock
      const std::size_t p = pools[i];
      ++block;
      const std::size_t n = event_frame(fbuf, u, p, 1.015, block, 0, ++seq, i + 1, kFrameFlags);
      bool have = false, done = false;
      // ---- the tick: market-data frame in -> raw signed tx bytes ready ----
      const std::uint64_t t0 = hw::rdtscp();
      (void)eng.on_frame(std::span(fbuf.data(), n));
      const std::uint64_t t1 = hw::rdtscp();
      (void)sig_cons.consume_burst(
          [&](std::span<const std::byte> f) {
            have = true;
            done = execute(f, t1, t0, i);
          },
          1);
      // ---- end of the tick ----
      if (i >= st.warmup) {
        s.search.record(t1 - t0);
        if (!done) ++ticks_without_tx;
        if (!have) ++outcome[static_cast<std::size_t>(Executor::Outcome::NotASignal)];
      }
      // The tick's other signals (same dislocated pool: torqd skips them while the first is in
      // flight), then the restore frame and its signals, all off the clock.
      (void)sig_cons.consume_burst([&](std::span<const std::byte>) { ++extra_signals; }, SIZE_MAX);
      const std::size_t m = event_frame(fbuf, u, p, 1.0, block, 1, ++seq, 0, kFrameFlags);
      (void)eng.on_frame(std::span(fbuf.data(), m));
      (void)sig_cons.consume_burst([&](std::span<const std::byte>) { ++restore_signals; }, SIZE_MAX);
    }
  } else {
    // Strategy thread (this one, cpu_a) -> signal ring -> executor thread (cpu_b).
    std::atomic<std::uint64_t> tick_t0{0};    // TSC before the current tick's on_frame
    std::atomic<std::uint64_t> completed{0};  // tick id (i + 1) the executor finished, or 0
    std::atomic<bool> stop{false};
    std::thread exec([&] {
      bench::pin_and_warm(cpu_b);
      std::uint64_t last_tick = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        const std::size_t got = sig_cons.consume_burst(
            [&](std::span<const std::byte> f) {
              const std::uint64_t t_in = hw::rdtscp();
              std::uint64_t fts = 0;
              std::memcpy(&fts, f.data() + 16, 8);  // header timestamp = tick id (0: restore frame)
              if (fts == 0) {
                ++restore_signals;
                return;
              }
              if (fts == last_tick) {
                ++extra_signals;
                return;
              }
              last_tick = fts;
              const std::size_t i = fts - 1;
              const bool ok = execute(f, t_in, tick_t0.load(std::memory_order_acquire), i);
              if (!ok && i >= st.warmup) ++ticks_without_tx;
              completed.store(fts, std::memory_order_release);
            },
            1);
        if (got == 0) _mm_pause();
      }
    });
    bench::pin_and_warm(cpu_a);
    const std::uint64_t timeout = clock.hz() / 20;  // 50 ms
    for (std::size_t i = 0; i < total; ++i) {
      if (!rfc && i % st.batch == 0) (void)signer.refill();  // between batches: the executor is idle
      const std::size_t p = pools[i];
      ++block;
      const std::size_t n = event_frame(fbuf, u, p, 1.015, block, 0, ++seq, i + 1, kFrameFlags);
      const std::uint64_t t0 = hw::rdtscp();
      tick_t0.store(t0, std::memory_order_release);
      (void)eng.on_frame(std::span(fbuf.data(), n));
      const std::uint64_t t1 = hw::rdtscp();
      if (i >= st.warmup) s.search.record(t1 - t0);
      while (completed.load(std::memory_order_acquire) != i + 1) {
        if (hw::rdtsc() - t1 > timeout) {
          if (i >= st.warmup) ++outcome[static_cast<std::size_t>(Executor::Outcome::NotASignal)];
          break;
        }
        _mm_pause();
      }
      const std::size_t m = event_frame(fbuf, u, p, 1.0, block, 1, ++seq, 0, kFrameFlags);
      (void)eng.on_frame(std::span(fbuf.data(), m));
    }
    const std::uint64_t end = hw::rdtsc() + clock.hz() / 100;  // 10 ms for the last restore signals
    while (hw::rdtsc() < end) _mm_pause();
    stop.store(true);
    exec.join();
  }

  const executor::SignerStats stats1 = signer.stats();
  const arb::EngineStats& es = eng.stats();
  const std::uint64_t fallbacks = (stats1.fallback_empty - stats0.fallback_empty) +
                                  (stats1.fallback_busy - stats0.fallback_busy) +
                                  (stats1.fallback_degenerate - stats0.fallback_degenerate);
  const std::uint64_t signed_count = outcome[0];
  const std::uint64_t bad = verify_orders(orders, signer, signer.address_of(key), ex.contract(), rfc);
  const std::uint64_t expected_signatures = 2 * signed_all;  // sign_tx + sign_alone per signed tick
  const std::uint64_t fast = stats1.precomputed - stats0.precomputed;

  RunResult r;
  r.ok = signed_count == st.ticks && ticks_without_tx == 0 && bad == 0 && sign_alone_failed == 0 &&
         (rfc || (fallbacks == 0 && fast == expected_signatures));
  const bench::LatencySummary e2e = s.e2e.summarize(clock), sign = s.sign.summarize(clock),
                              alone = s.sign_alone.summarize(clock);
  r.e2e_p50 = e2e.p50_ns;
  r.sign_p50 = sign.p50_ns;
  r.sign_alone_p50 = alone.p50_ns;

  bench::JsonObject o;
  o.add("signer", signer_name);
  o.add("mode", threaded ? "thread_split" : "single_thread");
  o.add("cpu_strategy", threaded ? cpu_a : cpu_b);
  o.add("cpu_executor", cpu_b);
  o.add("cpu_pair", bench::cpu_pair_kind(threaded ? cpu_a : cpu_b, cpu_b));
  o.add("measured_ticks", static_cast<std::uint64_t>(st.ticks));
  o.add("signed_txs", signed_count);
  o.add("ticks_without_signed_tx", ticks_without_tx);
  o.add("verified_bad_txs", bad);
  o.add("verified_txs", static_cast<std::uint64_t>(orders.size()));
  bench::JsonObject oc;
  for (std::size_t k = 0; k < kOutcomes; ++k) oc.add(kOutcomeNames[k], outcome[k]);
  o.add("outcomes", oc);
  o.add("other_signals_of_the_tick_skipped", extra_signals);
  o.add("restore_tick_signals", restore_signals);
  o.add("signals_per_tick", static_cast<double>(es.signals - eng0.signals) / static_cast<double>(2 * total));
  o.add("signer_precomputed_signatures", fast);
  o.add("signer_fallbacks_to_rfc6979", fallbacks);
  o.add("risk_accepted", ex.gates().accepted());
  bench::JsonObject stages;
  stages.add("search", bench::to_json(s.search.summarize(clock)));
  stages.add("decode", bench::to_json(s.decode.summarize(clock)));
  stages.add("risk", bench::to_json(s.risk.summarize(clock)));
  stages.add("build", bench::to_json(s.build.summarize(clock)));
  stages.add("sign", bench::to_json(sign));
  if (threaded) {
    // tick_to_executor: from before on_frame to the executor thread holding the signal frame
    // (search + signal ring hop); executor_total: the executor thread's part (decode..sign).
    stages.add("tick_to_executor", bench::to_json(s.to_executor.summarize(clock)));
    stages.add("executor_total", bench::to_json(s.executor.summarize(clock)));
  }
  o.add("stages", stages);
  o.add("end_to_end", bench::to_json(e2e));
  o.add("sign_alone", bench::to_json(alone));
  o.add("ok", r.ok);
  r.json = o.str();
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  Setup st;
  bool threads = true;
  bench::ArgReader args(argc, argv,
                        "usage: bench_tick_to_tx [--ticks N] [--warmup N] [--pools N] [--batch 1..512] [--threads 0|1]");
  while (args.next()) {
    if (args.is("--ticks")) st.ticks = args.u64(1, 100'000'000);
    else if (args.is("--warmup")) st.warmup = args.u64(0, 100'000'000);
    else if (args.is("--pools")) st.pools = args.u64(100, 100'000);
    // Precomputed pool of torqd's default size (1024): two nonces per tick (sign_tx + sign_alone).
    else if (args.is("--batch")) st.batch = args.u64(1, 512);
    else if (args.is("--threads")) threads = args.u64(0, 1) != 0;
    else args.unknown();
  }
  const hw::TscClock clock = hw::TscClock::calibrate();
  const Universe u = make_universe(st.pools, 1234 + st.pools);
  const executor::PrivateKey key = executor::PrivateKey::from_hex(kTestKeyHex);
  executor::Signer fast(executor::SignerOptions{.nonces = executor::NonceMode::Precomputed});
  executor::Signer rfc;  // RFC 6979 (the default mode)
  if (fast.address_of(key) != *protocol::parse_address(kTestKeyAddress)) {
    std::fprintf(stderr, "the test key does not give anvil's address 0\n");
    return 1;
  }
  const std::vector<int> cpus = hw::allowed_cpus();
  const int cpu_one = cpus.empty() ? -1 : cpus.back();
  const auto [cpu_a, cpu_b] = bench::pick_two_cpus();

  std::vector<std::string> runs;
  bool ok = true;
  bench::JsonObject ratios;
  auto pair = [&](bool threaded, int a, int b) {
    const RunResult f = run_one(u, st, fast, key, "precomputed", threaded, a, b, clock);
    const RunResult r = run_one(u, st, rfc, key, "rfc6979", threaded, a, b, clock);
    runs.push_back(f.json);
    runs.push_back(r.json);
    ok = ok && f.ok && r.ok;
    bench::JsonObject q;
    q.add("end_to_end_p50_rfc6979_over_precomputed", f.e2e_p50 > 0 ? r.e2e_p50 / f.e2e_p50 : 0.0);
    q.add("sign_stage_p50_rfc6979_over_precomputed", f.sign_p50 > 0 ? r.sign_p50 / f.sign_p50 : 0.0);
    q.add("sign_alone_p50_rfc6979_over_precomputed", f.sign_alone_p50 > 0 ? r.sign_alone_p50 / f.sign_alone_p50 : 0.0);
    ratios.add(threaded ? "thread_split" : "single_thread", q);
  };
  pair(false, cpu_one, cpu_one);
  const bool split = threads && cpu_a >= 0;
  if (split) pair(true, cpu_a, cpu_b);

  arb::ArbEngine probe(u.specs, engine_config(u));
  bench::JsonObject top;
  top.add("benchmark", "bench_tick_to_tx");
  top.add("tsc_ghz", clock.ghz());
  top.add("tsc_invariant", clock.invariant());
  top.add("pools", static_cast<std::uint64_t>(u.specs.size()));
  top.add("tokens", static_cast<std::uint64_t>(u.registry.token_count()));
  top.add("cycles", static_cast<std::uint64_t>(probe.cycles().size()));
  top.add("measured_ticks_per_run", static_cast<std::uint64_t>(st.ticks));
  top.add("warmup_ticks_per_run", static_cast<std::uint64_t>(st.warmup));
  top.add("refill_batch_ticks", static_cast<std::uint64_t>(st.batch));
  top.add("thread_split_run", split);
  top.raw("runs", bench::json_array(runs));
  top.add("ratios", ratios);
  top.add("ok", ok);
  std::printf("%s\n", top.str().c_str());
  if (!ok) std::fprintf(stderr, "bench_tick_to_tx: a measured tick did not produce a verified signed tx (see \"ok\")\n");
  return ok ? 0 : 1;
}
