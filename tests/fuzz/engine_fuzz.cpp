// libFuzzer target: the strategy engine (torq::arb: pool book, cycle search, newest-first polling)
// on arbitrary market-data streams. The input is read as a program: V2 Sync, V3 Swap / Mint / Burn
// / Initialize, pool-state and tick snapshots, block headers, reorg notices and raw garbage frames,
// each field either raw (any bits, any width) or near valid (prices from TickMath, ticks on the
// pool's spacing, increasing event positions), grouped into frames and delivered in batches. Two
// engines over the same seven pools (V2 and V3, three tokens, a small tick capacity and undo
// journal so that overflow quarantines and too-deep reorgs happen) get the same frames: one
// through on_frame, one through a ring and poll() with the whole batch queued, so that evaluations
// are paused and pending pools superseded. Checked besides "no crash, no UB" (sanitizers):
//  - every signal of the on_frame engine names the pools' current state versions and re-simulates
//    exactly on the book (simulate_path: the same amount out; profit = out - in > 0; net profit
//    at least the minimum); so does every poll() signal whose pools have not changed since;
//  - both books are equal after every batch (the evaluation order never changes the book);
//  - poll() leaves nothing pending once the ring is empty;
//  - the book is plausible: every usable pool's state is within what a real pool can hold (V2
//    reserves < 2^112; V3 sqrtPriceX96 in [MIN_SQRT_RATIO, MAX_SQRT_RATIO), tick in range), every
//    V3 pool's ticks fit its slots, sorted, on its spacing, gross > 0 and |net| <= gross.
// The generators also produce what an upstream fault could: events of different pools out of
// block order, block numbers far in the future (headers, events, snapshots), reorg notices whose
// ancestor is above the tip, and snapshots (full tick sets included) stamped older than the
// journal's newest entries.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "../arb/arb_test_util.hpp"
#include "torq/arb/engine.hpp"
#include "torq/arb/search.hpp"
#include "torq/strategy/tick_math.hpp"

namespace {

using namespace torq;
using arb::PoolSpec;
using arb::PoolType;
using arb::test::v2;
using arb::test::v3;
using num::U256;
using protocol::InstrumentId;

// Tokens: 0 = WMATIC (native), 1 = USDC (stable, 6 decimals), 2 = WETH.
const std::vector<PoolSpec>& specs() {
  static const std::vector<PoolSpec> s{v2(0, 0, 1), v2(1, 0, 1), v3(2, 0, 1, 3000, 60), v3(3, 0, 1, 500, 10),
                                       v2(4, 0, 2), v3(5, 2, 1, 500, 10), v2(6, 2, 1)};
  return s;
}

arb::EngineConfig config(bool legacy) {
  arb::EngineConfig cfg;
  cfg.book.v3_tick_capacity = 8;
  cfg.book.journal_capacity = 64;
  cfg.pricing.stables = {{1, 6}};
  cfg.pricing.routes = {{0, {0}}, {2, {6}}};
  cfg.gas.native_token = 0;
  cfg.cycles.base_tokens = {1, 0, 2};
  cfg.min_net_profit = num::UsdFixedPoint8{1};
  cfg.search.sizing = legacy ? arb::Sizing::legacy : arb::Sizing::closed_form;
  cfg.verify_checksum = false;
  return cfg;
}

class Input {
 public:
  Input(const std::uint8_t* p, std::size_t n) : p_(p), n_(n) {}
  [[nodiscard]] bool empty() const { return n_ == 0; }
  std::uint8_t u8() {
    if (n_ == 0) return 0;
    --n_;
    return *p_++;
  }
  std::uint64_t bytes(unsigned k) {
    std::uint64_t v = 0;
    for (unsigned i = 0; i < k; ++i) v |= std::uint64_t{u8()} << (8 * i);
    return v;
  }
  std::uint32_t u32() { return static_cast<std::uint32_t>(bytes(4)); }
  std::uint64_t u64() { return bytes(8); }
  // A width in bytes (0-32), then that many bytes: small and huge values alike.
  U256 u256() {
    const unsigned w = u8() % 33;
    std::uint64_t l[4] = {0, 0, 0, 0};
    for (unsigned i = 0; i < w; ++i) l[i / 8] |= std::uint64_t{u8()} << (8 * (i % 8));
    return U256::from_limbs(l[0], l[1], l[2], l[3]);
  }
  num::u128 u128v() {
    const unsigned w = u8() % 17;
    num::u128 v = 0;
    for (unsigned i = 0; i < w; ++i) v |= static_cast<num::u128>(u8()) << (8 * i);
    return v;
  }
  std::span<const std::uint8_t> take(std::size_t k) {
    k = k < n_ ? k : n_;
    const std::span<const std::uint8_t> s(p_, k);
    p_ += k;
    n_ -= k;
    return s;
  }

 private:
  const std::uint8_t* p_;
  std::size_t n_;
};

// Builds frames from the program and keeps the event positions moving.
class Program {
 public:
  // The stream opens with a header at block 100 (the engine's base: a far-future number that is the
  // very first one an engine sees cannot be told from a real one).
  explicit Program(Input& in) : in_(in), buf_(8192), b_(buf_, protocol::RelayDomain::MarketData, 1, protocol::frame_flags::kNoChecksum) {
    protocol::BlockHeader h{};
    h.number = block_;
    (void)b_.add(h);
  }

  // Reads one instruction; appends finished frames to `frames`. False when the batch should be
  // delivered now.
  bool step(std::vector<std::vector<std::byte>>& frames) {
    const std::uint8_t op = in_.u8();
    const PoolSpec& s = specs()[in_.u8() % specs().size()];
    bool ok = true;
    switch (op % 16) {
      case 0:
        ok = b_.add(protocol::V2Sync{ctx(s), in_.u256(), in_.u256()});
        break;
      case 1: {
        U256 sqrt;
        std::int32_t tick;
        price(sqrt, tick);
        ok = b_.add(protocol::V3Swap{ctx(s), num::I256::zero(), num::I256::zero(), sqrt, protocol::Uint128Le::from(in_.u128v()), tick, 0});
        break;
      }
      case 2:
      case 3: {
        std::int32_t lo, hi;
        range(s, lo, hi);
        const auto liq = protocol::Uint128Le::from(in_.u128v());
        ok = op % 16 == 2 ? b_.add(protocol::V3Mint{ctx(s), lo, hi, liq, U256::zero(), U256::zero()})
                          : b_.add(protocol::V3Burn{ctx(s), lo, hi, liq, U256::zero(), U256::zero()});
        break;
      }
      case 4: {
        U256 sqrt;
        std::int32_t tick;
        price(sqrt, tick);
        ok = b_.add(protocol::V3Initialize{ctx(s), sqrt, tick, 0});
        break;
      }
      case 5: {
        protocol::PoolStateSnapshot p{};
        p.pool = (in_.u8() & 7) == 0 ? in_.u64() : s.id.raw();
        p.block_number = snapshot_block();
        p.state_version = in_.u64();
        p.fee_ppm = (in_.u8() & 1) != 0 ? in_.u32() : s.fee_ppm;
        U256 sqrt;
        std::int32_t tick;
        price(sqrt, tick);
        p.tick = tick;
        p.tick_spacing = (in_.u8() & 1) != 0 ? static_cast<std::int32_t>(in_.u32()) : s.tick_spacing;
        p.kind = (in_.u8() & 7) == 0 ? in_.u8() : static_cast<std::uint8_t>(s.type == PoolType::V2 ? 1 : 2);
        p.reserve0 = in_.u256();
        p.reserve1 = in_.u256();
        p.sqrt_price_x96 = sqrt;
        p.liquidity = protocol::Uint128Le::from(in_.u128v());
        ok = b_.add(p);
        break;
      }
      case 6: {
        const std::uint32_t n = in_.u8() % 12;
        protocol::V3TicksSnapshotHead h{s.id.raw(), snapshot_block(), n, 0};
        if ((in_.u8() & 7) == 0) h.count = in_.u32();  // a count that disagrees with the entries
        protocol::V3TickEntry e[12]{};
        for (std::uint32_t i = 0; i < n; ++i) {
          std::int32_t lo, hi;
          range(s, lo, hi);
          e[i].tick = (in_.u8() & 1) != 0 ? lo : hi;
          const auto gross = in_.u128v();
          e[i].liquidity_gross = protocol::Uint128Le::from(gross);
          e[i].liquidity_net = protocol::Int128Le::from((in_.u8() & 1) != 0 ? static_cast<__int128>(gross) : -static_cast<__int128>(gross >> (in_.u8() % 128)));
        }
        ok = b_.add_raw(static_cast<std::uint8_t>(protocol::TlvType::V3TicksSnapshot), std::as_bytes(std::span(&h, 1)),
                        std::as_bytes(std::span(e, n)));
        break;
      }
      case 7: {
        block_ += in_.u8() % 3;
        protocol::BlockHeader h{};
        h.number = block_;
        h.base_fee_per_gas = in_.u256();
        log_ = 0;
        ok = b_.add(h);
        break;
      }
      case 8: {
        protocol::ReorgNotice n{};
        const std::uint64_t depth = in_.u8() % 80;  // beyond the 64-entry journal at times
        n.common_ancestor_number = block_ > depth ? block_ - depth : 0;
        n.old_tip_number = block_;
        n.new_tip_number = block_;
        n.depth = static_cast<std::uint32_t>(depth);
        block_ = n.common_ancestor_number + 1;
        log_ = 0;
        ok = b_.add(n);
        break;
      }
      case 9:
        finish(frames);
        return true;
      case 10: {  // a garbage frame: arbitrary bytes
        const auto raw = in_.take(in_.u8());
        frames.emplace_back(reinterpret_cast<const std::byte*>(raw.data()), reinterpret_cast<const std::byte*>(raw.data()) + raw.size());
        return true;
      }
      case 11:
        finish(frames);
        return false;  // deliver the batch
      case 13: {  // a block number far ahead (or just within the plausible lead): header or event
        const std::uint8_t m = in_.u8();
        const std::uint64_t leads[4] = {~std::uint64_t{0} - block_, 1025, 1024, 1 + std::uint64_t{in_.u8()} * 97};
        const std::uint64_t future = block_ + leads[m & 3];
        if ((m & 4) != 0) {
          protocol::BlockHeader h{};
          h.number = future;
          h.base_fee_per_gas = in_.u256();
          ok = b_.add(h);
        } else {
          protocol::EventContext c = ctx(s);
          c.block_number = future;
          ok = b_.add(protocol::V2Sync{c, U256(1'000'000'000'000'000'000ULL) * U256(1 + in_.u32() % 1'000'000),
                                       U256(1'000'000ULL) * U256(1 + in_.u32() % 1'000'000)});
        }
        break;
      }
      case 14: {  // a reorg notice whose ancestor is above the tip
        protocol::ReorgNotice n{};
        n.common_ancestor_number = (in_.u8() & 1) != 0 ? ~std::uint64_t{0} : block_ + 1 + in_.u8();
        n.old_tip_number = block_;
        n.new_tip_number = block_;
        ok = b_.add(n);
        break;
      }
      case 15: {  // a valid, sorted tick snapshot (up to the pool's 8 slots), often stamped older
        if (s.type != PoolType::V3) break;
        const std::uint32_t n = 1 + in_.u8() % 8;
        const std::uint64_t blk = snapshot_block();
        protocol::V3TicksSnapshotHead h{s.id.raw(), blk, n, 0};
        protocol::V3TickEntry e[8]{};
        std::int32_t t = static_cast<std::int32_t>(static_cast<std::int8_t>(in_.u8())) * s.tick_spacing * 4;
        for (std::uint32_t i = 0; i < n; ++i) {
          e[i].tick = t;
          t += s.tick_spacing * (1 + in_.u8() % 4);
          const num::u128 gross = 1 + in_.u128v() / 4;  // <= 2^126: its negation fits int128
          e[i].liquidity_gross = protocol::Uint128Le::from(gross);
          e[i].liquidity_net = protocol::Int128Le::from((i & 1) != 0 ? -static_cast<__int128>(gross) : static_cast<__int128>(gross));
        }
        ok = b_.add_raw(static_cast<std::uint8_t>(protocol::TlvType::V3TicksSnapshot), std::as_bytes(std::span(&h, 1)),
                        std::as_bytes(std::span(e, n)));
        break;
      }
      default:  // a V2 Sync at a realistic price: reserves of 10^18-10^24 and 10^6-10^12 units
        ok = b_.add(protocol::V2Sync{ctx(s), U256(1'000'000'000'000'000'000ULL) * U256(1 + in_.u32() % 1'000'000),
                                     U256(1'000'000ULL) * U256(1 + in_.u32() % 1'000'000)});
        break;
    }
    if (!ok) finish(frames);  // the frame is full
    return true;
  }
  void finish(std::vector<std::vector<std::byte>>& frames) {
    if (b_.payload_size() != 0 && !b_.failed()) {
      ++seq_;
      const auto f = b_.finish(seq_, 1000 + seq_);
      frames.emplace_back(f.begin(), f.end());
    }
    b_.reset();
  }

 private:
  protocol::EventContext ctx(const PoolSpec& s) {
    const std::uint8_t m = in_.u8();
    if ((m & 3) != 0) ++log_;  // otherwise the same position again: a duplicate
    if ((m & 0x1C) == 0) block_ += 1;
    // Now and then an older block than the other pools' latest (out of block order across pools).
    const std::uint64_t blk = (m & 0x1C) == 0x1C && block_ > 8 ? block_ - in_.u8() % 8 : block_;
    return protocol::EventContext{(m & 0xE0) == 0xE0 ? in_.u64() : s.id.raw(), blk, 0xABCD, 0, log_};
  }
  // A snapshot's block: usually the current one, sometimes older than the journal's newest entries.
  std::uint64_t snapshot_block() {
    const std::uint8_t m = in_.u8();
    return (m & 3) == 0 && block_ > 8 ? block_ - (m >> 2) % 8 : block_;
  }
  // A V3 price and tick: from TickMath (consistent, or off by a few wei), or raw bits.
  void price(U256& sqrt, std::int32_t& tick) {
    const std::uint8_t m = in_.u8();
    if ((m & 3) == 3) {
      sqrt = in_.u256();
      tick = static_cast<std::int32_t>(in_.u32());
      return;
    }
    const std::int32_t span = 2 * strategy::kMaxTick + 1;
    tick = static_cast<std::int32_t>(in_.u32() % static_cast<std::uint32_t>(span)) - strategy::kMaxTick;
    if ((m & 4) != 0) tick = static_cast<std::int32_t>(static_cast<std::int16_t>(in_.bytes(2))) % 4000;  // near 1.0
    sqrt = *strategy::get_sqrt_ratio_at_tick(tick);
    if ((m & 3) == 1) sqrt = sqrt + U256(in_.u8());
  }
  // A tick range on the pool's spacing (sometimes off it, reversed or out of TickMath's range).
  void range(const PoolSpec& s, std::int32_t& lo, std::int32_t& hi) {
    const std::int32_t sp = s.tick_spacing > 0 ? s.tick_spacing : 1;
    const std::uint8_t m = in_.u8();
    lo = static_cast<std::int32_t>(static_cast<std::int8_t>(in_.u8())) * sp * ((m & 8) != 0 ? 400 : 1);
    hi = lo + sp * (1 + in_.u8() % 16);
    if ((m & 3) == 3) std::swap(lo, hi);
    if ((m & 0x30) == 0x30) lo += 1;
  }

  Input& in_;
  std::vector<std::byte> buf_;
  protocol::FrameBuilder b_;
  std::uint64_t block_ = 100;
  std::uint32_t log_ = 0;
  std::uint64_t seq_ = 0;
};

struct Engine {
  explicit Engine(bool legacy) : eng(specs(), config(legacy)) { eng.attach_output(&out.producer); }
  arb::ArbEngine eng;
  arb::test::TestRing in{1 << 16};
  arb::test::TestRing out{1 << 18};
};

// Checks the signals in `e`'s out ring; `strict`: every signal must be on the current versions.
void check_signals(Engine& e, bool strict) {
  const arb::PoolBook& book = e.eng.book();
  (void)e.out.consumer.consume_burst(
      [&](std::span<const std::byte> f) {
        const auto pr = protocol::parse_frame(f, protocol::ParseOptions{false});
        if (!pr.ok() || pr.view.tlv_count != 1) std::abort();
        for (const auto& t : pr.view.tlvs()) {
          const auto sig = protocol::tlv_as<protocol::ArbitrageSignal>(t);
          if (!sig || sig->hop_count < 2 || sig->hop_count > 3) std::abort();
          arb::Hop hops[3];
          bool current = true;
          for (unsigned h = 0; h < sig->hop_count; ++h) {
            const std::uint64_t p = InstrumentId(sig->pools[h]).index();
            if (p >= book.pool_count() || book.meta(static_cast<std::uint32_t>(p)).id_raw != sig->pools[h]) std::abort();
            const auto pool = static_cast<std::uint32_t>(p);
            const arb::PoolMeta& m = book.meta(pool);
            if (book.state(pool).version != sig->pool_state_versions[h]) current = false;
            const bool z = sig->tokens[h] == book.token_id(m.token0);
            if (!z && sig->tokens[h] != book.token_id(m.token1)) std::abort();
            hops[h] = arb::Hop{&book.state(pool), &m, book.ticks(pool), z, book.edge_sqrt_prices(pool), nullptr};
          }
          if (!current) {
            if (strict) std::abort();
            continue;
          }
          if (sig->tokens[sig->hop_count] != sig->tokens[0]) std::abort();
          if (!(sig->expected_amount_out > sig->amount_in)) std::abort();
          if (sig->expected_profit != sig->expected_amount_out - sig->amount_in) std::abort();
          if (sig->net_profit_usd < 1 || sig->net_profit_usd != sig->expected_profit_usd - sig->gas_cost_usd) std::abort();
          const auto out = arb::simulate_path(std::span<const arb::Hop>(hops, sig->hop_count), sig->amount_in);
          if (!out || *out != sig->expected_amount_out) std::abort();
        }
      },
      SIZE_MAX);
}

// Every usable pool holds what a real pool can; every V3 pool's ticks are well formed and fit.
void check_plausible(const arb::PoolBook& book) {
  const U256 two112 = U256::pow2(112);
  for (std::uint32_t p = 0; p < book.pool_count(); ++p) {
    const arb::PoolState& s = book.state(p);
    const arb::PoolMeta& m = book.meta(p);
    const auto ts = book.ticks(p);
    if (ts.size() > m.tick_capacity) std::abort();
    for (std::size_t i = 0; i < ts.size(); ++i) {
      if (i > 0 && !(ts[i - 1].tick < ts[i].tick)) std::abort();
      if (ts[i].tick < strategy::kMinTick || ts[i].tick > strategy::kMaxTick || ts[i].tick % m.tick_spacing != 0) std::abort();
      const num::i128 net = ts[i].liquidity_net;
      const num::u128 mag = net < 0 ? static_cast<num::u128>(0) - static_cast<num::u128>(net) : static_cast<num::u128>(net);
      if (ts[i].liquidity_gross == 0 || mag > ts[i].liquidity_gross) std::abort();
    }
    if (!s.has_state() || s.quarantined()) continue;
    if (m.type == PoolType::V2) {
      if (!(s.reserve0() < two112) || !(s.reserve1() < two112)) std::abort();
    } else {
      if (s.sqrt_price_x96() < strategy::kMinSqrtRatio || !(s.sqrt_price_x96() < strategy::kMaxSqrtRatio)) std::abort();
      if (s.tick < strategy::kMinTick || s.tick > strategy::kMaxTick) std::abort();
    }
  }
}

void check_same_books(const arb::PoolBook& a, const arb::PoolBook& b) {
  for (std::uint32_t p = 0; p < a.pool_count(); ++p) {
    const arb::PoolState& x = a.state(p);
    const arb::PoolState& y = b.state(p);
    if (!x.same_market(y) || x.version != y.version) std::abort();
    const auto tx = a.ticks(p);
    const auto ty = b.ticks(p);
    if (tx.size() != ty.size()) std::abort();
    for (std::size_t i = 0; i < tx.size(); ++i)
      if (tx[i].tick != ty[i].tick || tx[i].liquidity_net != ty[i].liquidity_net || tx[i].liquidity_gross != ty[i].liquidity_gross)
        std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Input in(data, size);
  const bool legacy = (in.u8() & 1) != 0;
  Engine direct(legacy), polled(legacy);
  Program prog(in);
  std::vector<std::vector<std::byte>> frames;
  const auto deliver = [&] {
    // Frames the ring takes (1 byte to max_payload) go to both engines.
    std::erase_if(frames, [&](const auto& f) { return f.empty() || f.size() > polled.in.producer.max_payload(); });
    for (const auto& f : frames) {
      (void)direct.eng.on_frame(f);
      check_signals(direct, true);
    }
    // The whole batch queued at once: poll() meets a waiting frame after (nearly) every cycle.
    for (const auto& f : frames) {
      while (polled.in.producer.try_publish(f) != ring::PublishResult::ok) {
        if (polled.eng.poll(polled.in.consumer, 1) == 0 && !polled.eng.pending()) std::abort();  // full, yet nothing to read
      }
    }
    while (polled.eng.poll(polled.in.consumer, 1 + (frames.size() & 3)) != 0 || polled.eng.pending()) {
    }
    if (polled.in.consumer.has_published()) std::abort();
    check_signals(polled, false);
    check_same_books(direct.eng.book(), polled.eng.book());
    check_plausible(direct.eng.book());
    // A refused future block never becomes the current block (the generator's blocks stay far
    // below 2^40 unless a far-future number got through).
    if (direct.eng.current_block() > (std::uint64_t{1} << 40) || polled.eng.current_block() != direct.eng.current_block())
      std::abort();
    if (direct.eng.stats().frames != polled.eng.stats().frames || direct.eng.stats().bad_frames != polled.eng.stats().bad_frames)
      std::abort();
    frames.clear();
  };
  while (!in.empty()) {
    if (!prog.step(frames) || frames.size() >= 16) deliver();
  }
  prog.finish(frames);
  deliver();
  return 0;
}
