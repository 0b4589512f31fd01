// Exact path simulation and optimal-input search (see search.hpp for the method).
#include "torq/arb/search.hpp"

#include <cmath>
#include <cstddef>
#include <new>
#include <type_traits>
#include <utility>

#include "torq/arb/v3_step_math.hpp"
#include "torq/arb/wide_math.hpp"
#include "torq/strategy/tick_math.hpp"

namespace torq::arb {

namespace {

constexpr double kQ96 = 0x1p96;

// Signed profit out - in (both < 2^255 whenever a simulation succeeded).
struct Probe {
  U256 in;
  U256 out;
  I256 profit;
  bool ok;
};

template <class Sim>
[[nodiscard]] Probe probe_by(const Sim& sim, const U256& x, std::uint32_t& count) noexcept {
  ++count;
  Probe p{x, U256::zero(), I256::min(), false};
  if (x.is_zero()) return p;
  const std::optional<U256> out = sim(x);
  if (!out || out->bit(255) || x.bit(255)) return p;
  p.out = *out;
  p.profit = I256::from_bits(*out) - I256::from_bits(x);
  p.ok = true;
  return p;
}

[[nodiscard]] Probe probe(std::span<const Hop> hops, const U256& x, std::uint32_t& count) noexcept {
  return probe_by([hops](const U256& v) { return simulate_path(hops, v); }, x, count);
}

// a better than b: higher profit, then smaller input.
[[nodiscard]] bool better(const Probe& a, const Probe& b) noexcept {
  if (a.ok != b.ok) return a.ok;
  if (a.profit != b.profit) return a.profit > b.profit;
  return a.in < b.in;
}

[[nodiscard]] SearchResult result_of(const Probe& best, std::uint32_t probes, bool exact) noexcept {
  SearchResult r;
  r.probes = probes;
  if (best.ok && best.profit > I256::zero()) {
    r.found = true;
    r.amount_in = best.in;
    r.amount_out = best.out;
    r.exact = exact;
  }
  return r;
}

// Reserves of a V2 hop oriented in -> out.
void v2_reserves(const Hop& h, U256& rin, U256& rout) noexcept {
  rin = h.zero_for_one ? h.state->reserve0() : h.state->reserve1();
  rout = h.zero_for_one ? h.state->reserve1() : h.state->reserve0();
}

}  // namespace

std::optional<U256> v2_amount_out_fast(const U256& amount_in, const U256& reserve_in, const U256& reserve_out,
                                       strategy::V2Fee fee) noexcept {
  // Operands small enough that no product can overflow (amount < 2^96, reserves < 2^128): the
  // same floor(in n R_out / (R_in d + in n)) as v2_get_amount_out with 64-bit multiplies.
  if (strategy::v2_fee_valid(fee) && !amount_in.is_zero() && !reserve_in.is_zero() && !reserve_out.is_zero() &&
      amount_in.bit_length() <= 96 && reserve_in.fits_u128() && reserve_out.fits_u128()) {
    const u128 a = amount_in.low_u128() * fee.numerator;  // < 2^128
    const std::uint64_t a0 = static_cast<std::uint64_t>(a), a1 = static_cast<std::uint64_t>(a >> 64);
    const std::uint64_t r0 = reserve_out.limb[0], r1 = reserve_out.limb[1];
    // numerator = a * R_out (256 bits)
    const u128 p00 = static_cast<u128>(a0) * r0, p01 = static_cast<u128>(a0) * r1;
    const u128 p10 = static_cast<u128>(a1) * r0, p11 = static_cast<u128>(a1) * r1;
    const u128 mid = (p00 >> 64) + static_cast<std::uint64_t>(p01) + static_cast<std::uint64_t>(p10);
    const u128 hi = (p01 >> 64) + (p10 >> 64) + static_cast<std::uint64_t>(p11) + (mid >> 64);
    const U256 numerator = U256::from_limbs(static_cast<std::uint64_t>(p00), static_cast<std::uint64_t>(mid),
                                            static_cast<std::uint64_t>(hi),
                                            static_cast<std::uint64_t>(p11 >> 64) + static_cast<std::uint64_t>(hi >> 64));
    // denominator = R_in * d + a (< 2^161)
    const u128 q0 = static_cast<u128>(reserve_in.limb[0]) * fee.denominator;
    const u128 q1 = static_cast<u128>(reserve_in.limb[1]) * fee.denominator + (q0 >> 64);
    const U256 denominator = U256::from_limbs(static_cast<std::uint64_t>(q0), static_cast<std::uint64_t>(q1),
                                              static_cast<std::uint64_t>(q1 >> 64), 0) +
                             U256::from_u128(a);
    // denominator >= 1 and > a, so the quotient is below R_out: at most R_out's limbs.
    const U256 out = v3math::div(numerator, denominator, r1 != 0 ? 2 : 1);  // == numerator / denominator
    if (out.is_zero()) return std::nullopt;
    return out;
  }
  const strategy::V2Quote q = strategy::v2_get_amount_out(amount_in, reserve_in, reserve_out, fee);
  if (!q.ok() || q.amount.is_zero()) return std::nullopt;
  return q.amount;
}

bool v3_price_limit(const Hop& hop, U256& limit) noexcept {
  // Price limit at the last initialized tick in the swap direction: liquidity beyond it is zero,
  // so a fill that needs to go further fails either way, and the limit spares the simulation the
  // empty word-by-word walk to the end of the price range.
  if (hop.ticks.empty()) return false;  // no positions: nothing can fill
  if (hop.edge_sqrt_prices != nullptr) {
    limit = hop.edge_sqrt_prices[hop.zero_for_one ? 0 : 1];
  } else {
    const auto edge = strategy::get_sqrt_ratio_at_tick(hop.zero_for_one ? hop.ticks.front().tick : hop.ticks.back().tick);
    if (!edge) return false;
    limit = *edge;
  }
  if (hop.zero_for_one) {
    if (limit <= strategy::kMinSqrtRatio) limit = strategy::kMinSqrtRatio + U256::one();
    if (limit >= hop.state->sqrt_price_x96()) return false;
  } else {
    if (limit >= strategy::kMaxSqrtRatio) limit = strategy::kMaxSqrtRatio - U256::one();
    if (limit <= hop.state->sqrt_price_x96()) return false;
  }
  return true;
}

std::optional<U256> swap_exact_in(const Hop& hop, const U256& amount_in) noexcept {
  if (hop.meta->type == PoolType::V2) {
    U256 rin, rout;
    v2_reserves(hop, rin, rout);
    const strategy::V2Quote q = strategy::v2_get_amount_out(amount_in, rin, rout, hop.meta->v2_fee);
    if (!q.ok() || q.amount.is_zero()) return std::nullopt;
    return q.amount;
  }
  if (amount_in.bit(255)) return std::nullopt;
  const strategy::V3PoolState st{hop.state->sqrt_price_x96(), hop.state->liquidity, hop.state->tick,
                                 hop.meta->tick_spacing, hop.meta->fee_pips, 0};
  U256 limit;
  if (!v3_price_limit(hop, limit)) return std::nullopt;
  const strategy::V3SwapResult r =
      strategy::simulate_swap(st, hop.ticks, hop.zero_for_one, I256::from_bits(amount_in), limit);
  if (!r.ok()) return std::nullopt;
  const I256& used = hop.zero_for_one ? r.amount0 : r.amount1;
  const I256& out = hop.zero_for_one ? r.amount1 : r.amount0;
  if (used != I256::from_bits(amount_in) || !out.is_negative()) return std::nullopt;  // partial fill / nothing out
  return out.abs();
}

std::optional<U256> simulate_path(std::span<const Hop> hops, const U256& amount_in) noexcept {
  U256 amount = amount_in;
  for (const Hop& h : hops) {
    const auto out = swap_exact_in(h, amount);
    if (!out) return std::nullopt;
    amount = *out;
  }
  return amount;
}

std::optional<U256> simulate_path_cached(std::span<const Hop> hops, V3SegmentCache* const* caches, const U256& amount_in,
                                         std::uint8_t* end_steps) noexcept {
  U256 amount = amount_in;
  for (std::size_t i = 0; i < hops.size(); ++i) {
    const Hop& h = hops[i];
    std::optional<U256> out;
    if (h.meta->type == PoolType::V3 && caches[i] != nullptr) {
      out = v3_segment_swap(h, *caches[i], amount, end_steps[i]);
    } else if (h.meta->type == PoolType::V2) {
      end_steps[i] = 0;
      U256 rin, rout;
      v2_reserves(h, rin, rout);
      out = v2_amount_out_fast(amount, rin, rout, h.meta->v2_fee);
    } else {
      end_steps[i] = 0;
      out = swap_exact_in(h, amount);
    }
    if (!out) return std::nullopt;
    amount = *out;
  }
  return amount;
}

double marginal_rate(const PoolState& s, const PoolMeta& m, bool zero_for_one) noexcept {
  if (!s.has_state()) return 0.0;
  if (m.type == PoolType::V2) {
    const double r0 = to_double(s.reserve0()), r1 = to_double(s.reserve1());
    if (r0 <= 0.0 || r1 <= 0.0) return 0.0;
    const double g = static_cast<double>(m.v2_fee.numerator) / static_cast<double>(m.v2_fee.denominator);
    return zero_for_one ? g * r1 / r0 : g * r0 / r1;
  }
  const double sp = to_double(s.sqrt_price_x96()) / kQ96;
  if (sp <= 0.0) return 0.0;
  const double g = 1.0 - static_cast<double>(m.fee_pips) / 1e6;
  const double price = sp * sp;  // token1 per token0
  return zero_for_one ? g * price : g / price;
}

RateBound marginal_rate_bound(const PoolState& s, const PoolMeta& m, bool zero_for_one) noexcept {
  if (!s.has_state()) return RateBound{BoundFloat{0, 0}, BoundFloat{1ULL << 63, -63}};  // rate 0
  if (m.type == PoolType::V2) {
    const U256 rin = zero_for_one ? s.reserve0() : s.reserve1();
    const U256 rout = zero_for_one ? s.reserve1() : s.reserve0();
    // n R_out / (d R_in)
    return RateBound{BoundFloat::mul(BoundFloat::from(U256(m.v2_fee.numerator), true), BoundFloat::from(rout, true), true),
                     BoundFloat::mul(BoundFloat::from(U256(m.v2_fee.denominator), false), BoundFloat::from(rin, false), false)};
  }
  // V3: (1e6 - fee) / 1e6 * sqrtP^2 / 2^192 (token0 in), or its price inverse (token1 in).
  const BoundFloat keep = BoundFloat::from(U256(1'000'000U - m.fee_pips), true);
  const BoundFloat million = BoundFloat::from(U256(1'000'000U), false);
  const BoundFloat q192{1ULL << 63, 192 - 63};
  if (zero_for_one) {
    const BoundFloat sp = BoundFloat::from(s.sqrt_price_x96(), true);
    return RateBound{BoundFloat::mul(keep, BoundFloat::mul(sp, sp, true), true), BoundFloat::mul(million, q192, false)};
  }
  const BoundFloat sp = BoundFloat::from(s.sqrt_price_x96(), false);
  return RateBound{BoundFloat::mul(keep, q192, true), BoundFloat::mul(million, BoundFloat::mul(sp, sp, false), false)};
}

SearchResult optimize_v2v2(const Hop& h1, const Hop& h2, const SearchConfig& cfg) noexcept {
  const Hop hops[2] = {h1, h2};
  std::uint32_t probes = 0;
  // Sizing::closed_form: the same method with cheaper exact pieces (v2_amount_out_fast, equal to
  // v2_get_amount_out; isqrt_fast, equal to isqrt). Sizing::legacy: the previous code path.
  const bool fast = cfg.sizing == Sizing::closed_form;
  const auto fast_path = [&hops](const U256& x) -> std::optional<U256> {
    U256 ri, ro;
    v2_reserves(hops[0], ri, ro);
    const auto o1 = v2_amount_out_fast(x, ri, ro, hops[0].meta->v2_fee);
    if (!o1) return std::nullopt;
    v2_reserves(hops[1], ri, ro);
    return v2_amount_out_fast(*o1, ri, ro, hops[1].meta->v2_fee);
  };
  const auto eval = [&](const U256& x) { return fast ? probe_by(fast_path, x, probes) : probe(hops, x, probes); };
  U256 a1, b1, b2, a2;
  v2_reserves(h1, a1, b1);  // hop 1: a1 in, b1 out
  v2_reserves(h2, b2, a2);  // hop 2: b2 in, a2 out
  const U256 n1(h1.meta->v2_fee.numerator), d1(h1.meta->v2_fee.denominator);
  const U256 n2(h2.meta->v2_fee.numerator), d2(h2.meta->v2_fee.denominator);
  // out(x) = K x / (M + N x): K = n1 n2 a2 b1, M = d1 d2 a1 b2, N = n1 (d2 b2 + n2 b1).
  bool ovf = false;
  auto mul = [&ovf](const U256& a, const U256& b) {
    U256 r;
    ovf = num::mul_overflow(a, b, r) || ovf;
    return r;
  };
  auto add = [&ovf](const U256& a, const U256& b) {
    U256 r;
    ovf = num::add_overflow(a, b, r) || ovf;
    return r;
  };
  const U256 K = mul(mul(mul(n1, n2), a2), b1);
  const U256 M = mul(mul(mul(d1, d2), a1), b2);
  const U256 N = mul(n1, add(mul(d2, b2), mul(n2, b1)));
  if (ovf || N.is_zero() || M.is_zero()) return optimize_generic(hops, cfg);
  if (K <= M) return SearchResult{};  // marginal product <= 1: no input is profitable
  const U256 s = fast ? isqrt_fast(mul_wide(K, M)) : isqrt(mul_wide(K, M));
  const U256 x0 = s > M ? (s - M) / N : U256::zero();

  // Best simulated profit around the real optimum x* in [x0, x0 + 1].
  Probe best{U256::zero(), U256::zero(), I256::min(), false};
  for (std::uint64_t dx = 0; dx < 2; ++dx) {
    const Probe p = eval(x0 + U256(dx));
    if (better(p, best)) best = p;
  }
  // Inputs that could beat B satisfy K x > (B + x)(M + N x) (the real curve is above the floors).
  const U256 B = (best.ok && best.profit > I256::zero()) ? best.profit.bits() : U256::zero();
  auto could_beat = [&](const U256& x) {
    U256 nx, rhs2, lhs1;
    if (num::mul_overflow(N, x, nx) || num::add_overflow(M, nx, rhs2)) return false;
    if (num::add_overflow(B, x, lhs1)) return false;
    return mul_wide(K, x) > mul_wide(lhs1, rhs2);
  };
  U256 c = x0.is_zero() ? U256::one() : x0;
  if (!could_beat(c)) c = c + U256::one();
  if (!could_beat(c)) return result_of(best, probes, true);  // nothing can beat B
  const U256 limit(cfg.v2v2_max_scan);
  // The candidate set is an interval around c: when it reaches c - limit or c + limit the gallops
  // below end unbounded (best of the probes, not proven optimal). Test those two ends first: the
  // same result with 1-2 comparisons instead of up to 2 log2(limit) (closed_form sizing only,
  // legacy keeps the previous code path).
  if (fast && c > limit + limit && (could_beat(c - limit) || could_beat(c + limit))) return result_of(best, probes, false);
  // Left end: smallest L >= 1 with could_beat(L).
  U256 L = c;
  {
    U256 step = U256::one(), good = c;
    bool bounded = false;
    while (step <= limit) {
      if (good <= step) {  // probe x = 1
        if (could_beat(U256::one())) { L = U256::one(); bounded = true; break; }
        U256 lo = U256::one(), hi = good;  // pred(lo) false, pred(hi) true
        while (hi - lo > U256::one()) { const U256 mid = lo + (hi - lo) / U256(2); (could_beat(mid) ? hi : lo) = mid; }
        L = hi; bounded = true; break;
      }
      const U256 y = c - step;
      if (!could_beat(y)) {
        U256 lo = y, hi = good;
        while (hi - lo > U256::one()) { const U256 mid = lo + (hi - lo) / U256(2); (could_beat(mid) ? hi : lo) = mid; }
        L = hi; bounded = true; break;
      }
      good = y;
      step = step + step;
    }
    if (!bounded) return result_of(best, probes, false);
  }
  U256 R = c;
  {
    U256 step = U256::one(), good = c;
    bool bounded = false;
    while (step <= limit) {
      const U256 y = c + step;
      if (!could_beat(y)) {
        U256 lo = good, hi = y;  // pred(lo) true, pred(hi) false
        while (hi - lo > U256::one()) { const U256 mid = lo + (hi - lo) / U256(2); (could_beat(mid) ? lo : hi) = mid; }
        R = lo; bounded = true; break;
      }
      good = y;
      step = step + step;
    }
    if (!bounded) return result_of(best, probes, false);
  }
  for (U256 x = L; x <= R; x = x + U256::one()) {
    const Probe p = eval(x);
    if (better(p, best)) best = p;
  }
  return result_of(best, probes, true);
}

namespace {

// The bounded search of Sizing::legacy, over any exact path evaluator `sim` (simulate_path, or the
// cached one). `probes` and `best` carry what the caller already simulated.
template <class Sim>
SearchResult generic_search(std::span<const Hop> hops, const SearchConfig& cfg, const Sim& sim, std::uint32_t probes,
                            Probe best) noexcept {
  bool searched = false;
  // Start estimate: compose f(x) = a x / (b + c x) per hop (V3: virtual reserves of the current range).
  double A = 1.0, Bm = 1.0, C = 0.0;
  bool est_ok = true;
  for (const Hop& h : hops) {
    double rin = 0, rout = 0, g = 0;
    if (h.meta->type == PoolType::V2) {
      rin = to_double(h.zero_for_one ? h.state->reserve0() : h.state->reserve1());
      rout = to_double(h.zero_for_one ? h.state->reserve1() : h.state->reserve0());
      g = static_cast<double>(h.meta->v2_fee.numerator) / static_cast<double>(h.meta->v2_fee.denominator);
    } else {
      const double sp = to_double(h.state->sqrt_price_x96()) / kQ96;
      const double l = to_double(h.state->liquidity);
      g = 1.0 - static_cast<double>(h.meta->fee_pips) / 1e6;
      rin = h.zero_for_one ? l / sp : l * sp;
      rout = h.zero_for_one ? l * sp : l / sp;
    }
    if (!(rin > 0.0) || !(rout > 0.0) || !std::isfinite(rin) || !std::isfinite(rout)) est_ok = false;
    const double a = g * rout, b = rin, c = g;
    C = b * C + c * A;
    A *= a;
    Bm *= b;
  }
  double xe = 0.0;
  if (est_ok && A > Bm && C > 0.0) xe = (std::sqrt(A) * std::sqrt(Bm) - Bm) / C;
  if (!std::isfinite(xe) || xe < 1.0) xe = est_ok ? 1.0 : 0x1p40;
  constexpr double kMaxX = 0x1p110;
  auto to_u128 = [](double v) { return static_cast<u128>(v < 1.0 ? 1.0 : (v > kMaxX ? kMaxX : v)); };
  auto eval = [&](u128 x) { return probe_by(sim, U256::from_u128(x), probes); };
  // Fast path: when the optimum stays inside the current ranges the estimate is accurate; accept
  // it if it beats both neighbours at +-x/2^precision_bits (the profit is concave).
  if (est_ok && xe >= 64.0) {
    const u128 xm = to_u128(xe);
    const u128 d = std::max<u128>(1, xm >> cfg.precision_bits);
    const Probe pm = eval(xm), pl = eval(xm - d), ph = eval(xm + d);
    if (better(pm, best)) best = pm;
    if (better(pl, best)) best = pl;
    if (better(ph, best)) best = ph;
    if (pm.ok && !better(pl, pm) && !better(ph, pm)) return result_of(best, probes, false);
  }
  searched = true;
  u128 lo = to_u128(xe / 16.0), hi = to_u128(xe * 16.0 + 16.0);
  if (!est_ok) lo = 1;
  auto golden = [](u128 a, u128 b) {  // a + 0.618 (b - a), integer
    const u128 w = b - a;
    return a + w / 1000000 * 618034 + (w % 1000000) * 618034 / 1000000;
  };
  for (int round = 0; round < 2; ++round) {
    u128 a = lo, b = hi;
    u128 d = golden(a, b), c = a + (b - d);
    if (c >= d) c = d > a ? d - 1 : a;
    Probe pc = eval(c), pd = eval(d);
    if (better(pc, best)) best = pc;
    if (better(pd, best)) best = pd;
    while (probes < cfg.max_probes) {
      const u128 tol = std::max<u128>(4, a >> cfg.precision_bits);
      if (b - a <= tol) break;
      if (better(pd, pc)) {  // optimum right of c
        a = c;
        c = d;
        pc = pd;
        d = golden(a, b);
        if (d <= c) d = c + 1;
        if (d >= b) break;
        pd = eval(d);
        if (better(pd, best)) best = pd;
      } else {
        b = d;
        d = c;
        pd = pc;
        c = a + (b - golden(a, b));
        if (c >= d) c = d - 1;
        if (c <= a) break;
        pc = eval(c);
        if (better(pc, best)) best = pc;
      }
    }
    // Profit still rising at the top of the bracket: search once more higher up.
    if (round == 0 && best.ok && best.in.fits_u128() && best.in.low_u128() >= hi - hi / 8 && hi < to_u128(kMaxX)) {
      lo = hi / 2;
      hi = to_u128(static_cast<double>(hi) * 16.0);
      continue;
    }
    break;
  }
  SearchResult r = result_of(best, probes, false);
  r.searched = searched;
  return r;
}

}  // namespace

SearchResult optimize_generic(std::span<const Hop> hops, const SearchConfig& cfg) noexcept {
  return generic_search(hops, cfg, [hops](const U256& v) { return simulate_path(hops, v); }, 0,
                        Probe{U256::zero(), U256::zero(), I256::min(), false});
}

namespace {

// A non-negative number m * 2^e with a 64-bit mantissa (top bit set; m == 0 is zero), truncated
// after every operation: integer arithmetic for the closed-form size (relative error ~2^-60 per
// operation; the size is a candidate, every amount that counts is simulated exactly).
struct XF {
  std::uint64_t m = 0;
  std::int32_t e = 0;
};

[[nodiscard]] [[gnu::always_inline]] inline XF xf_norm128(u128 v, std::int32_t e) noexcept {
  if (v == 0) return XF{};
  const auto hi = static_cast<std::uint64_t>(v >> 64);
  const int bl = hi != 0 ? 128 - __builtin_clzll(hi) : 64 - __builtin_clzll(static_cast<std::uint64_t>(v));
  if (bl > 64) return XF{static_cast<std::uint64_t>(v >> (bl - 64)), e + (bl - 64)};
  return XF{static_cast<std::uint64_t>(v) << (64 - bl), e - (64 - bl)};
}
// The top 64 bits of v (truncated) and their exponent: v's two top limbs, no 256-bit shift.
[[nodiscard]] [[gnu::always_inline]] inline XF xf(const U256& v) noexcept {
  if ((v.limb[3] | v.limb[2]) == 0) return xf_norm128(v.low_u128(), 0);
  const int i = v.limb[3] != 0 ? 3 : 2;
  const int lz = __builtin_clzll(v.limb[i]);
  const std::uint64_t m = lz == 0 ? v.limb[i] : (v.limb[i] << lz) | (v.limb[i - 1] >> (64 - lz));
  return XF{m, 64 * i - lz};  // = (v >> (bit_length - 64)).limb[0], exponent bit_length - 64
}
[[nodiscard]] [[gnu::always_inline]] inline XF xf_u64(std::uint64_t v) noexcept {  // == xf(U256(v))
  if (v == 0) return XF{};
  const int lz = __builtin_clzll(v);
  return XF{v << lz, -lz};
}
[[nodiscard]] [[gnu::always_inline]] inline XF xf_mul(XF a, XF b) noexcept {
  if (a.m == 0 || b.m == 0) return XF{};
  const u128 p = static_cast<u128>(a.m) * b.m;
  if (((a.m & b.m) >> 63) != 0) {  // both normalised (always, here): p in [2^126, 2^128)
    const auto hi = static_cast<std::uint64_t>(p >> 64);
    if ((hi >> 63) != 0) return XF{hi, a.e + b.e + 64};
    return XF{static_cast<std::uint64_t>(p >> 63), a.e + b.e + 63};  // == xf_norm128(p, a.e + b.e)
  }
  return xf_norm128(p, a.e + b.e);
}
[[nodiscard]] [[gnu::always_inline]] inline XF xf_div(XF a, XF b) noexcept {  // b != 0
  if (a.m == 0) return XF{};
  // (a.m * 2^63) / b.m in (2^62, 2^64): 62+ significant bits. The high word a.m >> 1 is below
  // b.m (top bit set), so this is one 128-by-64 divq (the u128 division was a libgcc call).
  std::uint64_t rem = 0;
  return xf_norm128(num::detail::div128by64(a.m >> 1, a.m << 63, b.m, rem), a.e - b.e - 63);
}
[[nodiscard]] [[gnu::always_inline]] inline XF xf_add(XF a, XF b) noexcept {
  if (a.m == 0) return b;
  if (b.m == 0) return a;
  if (a.e < b.e) std::swap(a, b);
  const std::int32_t d = a.e - b.e;
  if (d >= 64) return a;
  // Sum with one guard bit below: (a.m << 1 >> ...) kept in 128 bits.
  const u128 sum = (static_cast<u128>(a.m) << 1) + ((static_cast<u128>(b.m) << 1) >> d);
  return xf_norm128(sum, a.e - 1);
}
// a - b for a >= b (zero otherwise).
[[nodiscard]] [[gnu::always_inline]] inline XF xf_sub(XF a, XF b) noexcept {
  if (b.m == 0) return a;
  if (a.m == 0 || a.e < b.e || (a.e == b.e && a.m <= b.m)) return XF{};
  const std::int32_t d = a.e - b.e;
  if (d >= 127) return a;
  const u128 am = static_cast<u128>(a.m) << 63;
  const u128 bm = d >= 63 + 64 ? 0 : (static_cast<u128>(b.m) << 63) >> d;
  return xf_norm128(am - bm, a.e - 63);
}
[[nodiscard]] [[gnu::always_inline]] inline bool xf_less(XF a, XF b) noexcept {
  if (a.m == 0) return b.m != 0;
  if (b.m == 0) return false;
  if (a.e != b.e) return a.e < b.e;
  return a.m < b.m;
}
// floor(sqrt(v)) of a 128-bit integer (v < 2^127): a double seed (53 bits), one integer Newton
// step (then within 1), corrected with exact integer comparisons.
[[nodiscard]] std::uint64_t isqrt_u128(u128 v) noexcept {
  // The seed from the two halves (a u128 -> double conversion is a libgcc call); any seed within
  // a few ulps gives the same result after the step and the exact corrections below.
  const auto vh = static_cast<std::uint64_t>(v >> 64), vl = static_cast<std::uint64_t>(v);
  const double vd = vh != 0 ? static_cast<double>(vh) * 0x1p64 + static_cast<double>(vl) : static_cast<double>(vl);
  auto r = static_cast<std::uint64_t>(__builtin_sqrt(vd));
  if (r > 1) {
    // v / r as one divq when it fits 64 bits (always, for v < 2^127 and r the double root: the
    // high word v >> 64 < sqrt(v) / 2^0.5 < r); the u128 division was a libgcc call.
    std::uint64_t rem = 0;
    const u128 quot = vh < r ? num::detail::div128by64(vh, vl, r, rem) : v / r;
    r = static_cast<std::uint64_t>((static_cast<u128>(r) + quot) >> 1);
  }
  while (r != 0 && static_cast<u128>(r) * r > v) --r;
  while (r != ~std::uint64_t{0} && static_cast<u128>(r + 1) * (r + 1) <= v) ++r;
  return r;
}
[[nodiscard]] XF xf_sqrt(XF a) noexcept {
  if (a.m == 0) return XF{};
  // m * 2^e = (m << s) * 2^(e - s) with e - s even and m << s < 2^127.
  const int s = ((a.e & 1) != 0) ? 63 : 62;
  const u128 v = static_cast<u128>(a.m) << s;
  return xf_norm128(isqrt_u128(v), (a.e - s) / 2);
}
// floor of a (false when it does not fit in 254 bits).
[[nodiscard]] bool xf_floor(XF a, U256& out) noexcept {
  if (a.m == 0) { out = U256::zero(); return true; }
  if (a.e >= 0) {
    if (a.e + 64 > 254) return false;
    out = U256(a.m) << static_cast<unsigned>(a.e);
    return true;
  }
  out = a.e <= -64 ? U256::zero() : U256(a.m >> static_cast<unsigned>(-a.e));
  return true;
}

// A signed XF (the shifted step models have negative coefficients).
struct SX {
  XF v;
  bool neg = false;
};
[[nodiscard]] [[gnu::always_inline]] inline SX sx_mul(SX a, SX b) noexcept {
  const XF m = xf_mul(a.v, b.v);
  return SX{m, m.m != 0 && a.neg != b.neg};
}
[[nodiscard]] [[gnu::always_inline]] inline SX sx_add(SX a, SX b) noexcept {
  if (a.neg == b.neg) return SX{xf_add(a.v, b.v), a.neg};
  if (xf_less(a.v, b.v)) return SX{xf_sub(b.v, a.v), b.neg};
  const XF d = xf_sub(a.v, b.v);
  return SX{d, d.m != 0 && a.neg};
}
[[nodiscard]] [[gnu::always_inline]] inline SX sx_neg(SX a) noexcept { return SX{a.v, a.v.m != 0 && !a.neg}; }

// A Moebius map u -> (p u + q) / (r u + s).
struct Moebius {
  SX p, q, r, s;
};
// g(f(u)).
// Both maps without a constant term (q = 0: every hop of a first model, whose steps start at
// u = 0) compose to one without it in 4 products and a sum instead of 8 and 4: the dropped
// terms are exact zeros (a product by zero is zero; a sum with zero returns the other operand
// bit for bit, sign included), so the result is the general formula's, bit for bit.
[[nodiscard]] Moebius compose(const Moebius& g, const Moebius& f) noexcept {
  if (g.q.v.m == 0 && f.q.v.m == 0)
    return Moebius{sx_mul(g.p, f.p), SX{}, sx_add(sx_mul(g.r, f.p), sx_mul(g.s, f.r)), sx_mul(g.s, f.s)};
  return Moebius{sx_add(sx_mul(g.p, f.p), sx_mul(g.q, f.r)), sx_add(sx_mul(g.p, f.q), sx_mul(g.q, f.s)),
                 sx_add(sx_mul(g.r, f.p), sx_mul(g.s, f.r)), sx_add(sx_mul(g.r, f.q), sx_mul(g.s, f.s))};
}

// The constant-product model of one hop, in -> out = n Rout x / (d Rin + n x), for V2 the
// reserves, for V3 the virtual reserves of `seg` (L 2^96 / sqrtP of token0, L sqrtP / 2^96 of
// token1), shifted for a step after the first: out = O + f(u - U) with U, O the input and output
// of the steps before it.
[[nodiscard]] bool hop_map(const Hop& h, const V3Segment* seg, const U256& U, const U256& O, Moebius& m) noexcept {
  XF rin, rout, n, d;
  if (h.meta->type == PoolType::V2) {
    U256 ri, ro;
    v2_reserves(h, ri, ro);
    if (ri.is_zero() || ro.is_zero()) return false;
    rin = xf(ri);
    rout = xf(ro);
    n = xf_u64(h.meta->v2_fee.numerator);
    d = xf_u64(h.meta->v2_fee.denominator);
  } else {
    if (seg == nullptr || seg->liquidity == 0 || seg->sqrt_start.is_zero()) return false;
    const XF l = xf_norm128(seg->liquidity, 0);  // == xf(U256::from_u128(liquidity))
    const XF sp = xf(seg->sqrt_start);
    XF x0 = xf_div(l, sp);  // L / sqrtP(Q96), times 2^96
    x0.e += 96;
    XF y0 = xf_mul(l, sp);  // L sqrtP(Q96), over 2^96
    y0.e -= 96;
    rin = h.zero_for_one ? x0 : y0;
    rout = h.zero_for_one ? y0 : x0;
    n = xf_u64(strategy::kFeePipsDenominator - h.meta->fee_pips);
    d = xf_u64(strategy::kFeePipsDenominator);
  }
  const SX a{xf_mul(n, rout)}, b{xf_mul(d, rin)}, c{n};
  if (U.is_zero() && O.is_zero()) {
    m = Moebius{a, SX{}, c, b};
    return true;
  }
  // O + a (u - U) / (b + c (u - U)) = ((O c + a) u + O (b - c U) - a U) / (c u + b - c U)
  const SX u{xf(U)}, o{xf(O)};
  const SX s = sx_add(b, sx_neg(sx_mul(c, u)));
  m = Moebius{sx_add(sx_mul(o, c), a), sx_add(sx_mul(o, s), sx_neg(sx_mul(a, u))), c, s};
  return true;
}

}  // namespace

SearchResult optimize_closed_form(std::span<const Hop> hops, const SearchConfig& cfg) noexcept {
  constexpr std::size_t kMaxHops = 4;
  if (hops.empty() || hops.size() > kMaxHops) return optimize_generic(hops, cfg);
  // Caches for V3 hops without an engine-owned one, constructed only when needed (each is ~0.9 KB
  // of zeroed U256s: constructing four per call cost more than a V2 triangle's whole sizing).
  alignas(V3SegmentCache) std::byte local_raw[kMaxHops][sizeof(V3SegmentCache)];
  V3SegmentCache* caches[kMaxHops] = {};
  std::size_t local_used = 0;
  static_assert(std::is_trivially_destructible_v<V3SegmentCache>);  // never destroyed explicitly
  std::uint8_t model_step[kMaxHops] = {};
  bool model_ok = true;
  for (std::size_t i = 0; i < hops.size(); ++i) {
    const Hop& h = hops[i];
    if (h.meta->type != PoolType::V3) continue;
    caches[i] = h.segments != nullptr ? h.segments : ::new (static_cast<void*>(local_raw[local_used++])) V3SegmentCache{};
    if (!v3_segments_prepare(h, *caches[i])) {
      model_ok = false;
      continue;
    }
    // The first model uses the first step that takes input (a leading step of length zero, the
    // price sitting exactly on an initialized tick, moves nothing).
    V3SegmentCache& c = *caches[i];
    std::uint8_t k = 0;
    while (k < c.count && c.seg[k].amount_in.is_zero() && !c.seg[k].ends_at_limit) {
      ++k;
      if (k == c.count && !v3_segments_extend(h, c)) break;
    }
    if (k >= c.count) model_ok = false;
    model_step[i] = k;
  }
  const auto sim = [hops, &caches](const U256& x, std::uint8_t* steps) {
    return simulate_path_cached(hops, caches, x, steps);
  };
  std::uint32_t probes = 0;
  Probe best{U256::zero(), U256::zero(), I256::min(), false};
  // Step walking: model the path with each V3 hop in step model_step[i], size in closed form,
  // simulate exactly; if every V3 hop ended in its model step the model was the real curve around
  // the size, whose derivative is 1 there: by concavity the optimum. Otherwise model again with
  // the steps the simulation ended in.
  for (std::uint32_t round = 0; model_ok && round < cfg.closed_form_rounds; ++round) {
    // f starts as the first hop's map: composing it with the identity gives the same numbers bit
    // for bit (a product by 2^63 * 2^-63 and sums with zero are exact in XF), one compose less.
    Moebius f{};
    for (std::size_t i = 0; i < hops.size() && model_ok; ++i) {
      const V3SegmentCache* c = caches[i];
      U256 U = U256::zero(), O = U256::zero();
      if (c != nullptr)
        for (unsigned k = 0; k < model_step[i]; ++k) {
          if (!v3_segment_full(hops[i], *caches[i], k)) {  // cannot happen below 2^230 (v3_segments.cpp)
            model_ok = false;
            break;
          }
          U = U + c->seg[k].in_full;
          O = O + c->seg[k].out_full;
        }
      if (!model_ok) break;
      Moebius m;
      if (!hop_map(hops[i], c != nullptr ? &c->seg[model_step[i]] : nullptr, U, O, m)) model_ok = false;
      else f = i == 0 ? m : compose(m, f);
    }
    if (!model_ok) break;
    // profit F(u) - u, F'(u) = (P S - Q R) / (R u + S)^2 = 1  =>  u* = (sqrt(P S - Q R) - S) / R.
    // (q = 0: the product by zero and the sum with it are exact, so P S alone is the same SX.)
    const SX D = f.q.v.m == 0 ? sx_mul(f.p, f.s) : sx_add(sx_mul(f.p, f.s), sx_neg(sx_mul(f.q, f.r)));
    if (D.neg || D.v.m == 0 || f.r.neg || f.r.v.m == 0) break;
    const SX num = sx_add(SX{xf_sqrt(D.v)}, sx_neg(f.s));
    if (num.neg || num.v.m == 0) {
      // At the first model (the current prices) the marginal product is <= 1: the concave profit
      // never rises, nothing is profitable. Later: the optimum lies before the modelled steps.
      if (round == 0) return result_of(best, probes, false);
      break;
    }
    U256 x0;
    if (!xf_floor(xf_div(num.v, f.r.v), x0)) break;
    if (x0.is_zero()) x0 = U256::one();
    std::uint8_t steps0[kMaxHops] = {};
    const Probe p0 = probe_by([&](const U256& v) { return sim(v, steps0); }, x0, probes);
    if (better(p0, best)) best = p0;
    if (!p0.ok) break;
    bool held = true, walkable = true;
    for (std::size_t i = 0; i < hops.size(); ++i) {
      if (caches[i] == nullptr) continue;
      if (steps0[i] == 0xFF) walkable = false;
      else if (steps0[i] != model_step[i]) held = false;
    }
    if (held && walkable) {
      if (cfg.closed_form_neighbour) {  // the real optimum lies in [x0, x0 + 1]
        std::uint8_t steps1[kMaxHops] = {};
        const Probe p1 = probe_by([&](const U256& v) { return sim(v, steps1); }, x0 + U256::one(), probes);
        if (better(p1, best)) best = p1;
      }
      SearchResult r = result_of(best, probes, false);
      r.closed_form = true;
      return r;
    }
    if (!walkable) break;
    for (std::size_t i = 0; i < hops.size(); ++i)
      if (caches[i] != nullptr) model_step[i] = steps0[i];
  }
  // The model does not apply or did not settle: the legacy search with its full probe budget,
  // over the cached exact evaluator, keeping the best so far.
  std::uint8_t steps[kMaxHops] = {};
  SearchResult r = generic_search(hops, cfg, [&](const U256& v) { return sim(v, steps); }, 0, best);
  r.probes += probes;
  return r;
}

SearchResult optimize(std::span<const Hop> hops, const SearchConfig& cfg) noexcept {
  const bool v2v2 = hops.size() == 2 && hops[0].meta->type == PoolType::V2 && hops[1].meta->type == PoolType::V2;
  if (cfg.sizing == Sizing::legacy) return v2v2 ? optimize_v2v2(hops[0], hops[1], cfg) : optimize_generic(hops, cfg);
  if (v2v2 && cfg.v2v2_exact) return optimize_v2v2(hops[0], hops[1], cfg);
  return optimize_closed_form(hops, cfg);
}

}  // namespace torq::arb
