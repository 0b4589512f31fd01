// Exact path simulation and optimal-input search (see search.hpp for the method).
#include "torq/arb/search.hpp"

#include <cmath>

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

[[nodiscard]] Probe probe(std::span<const Hop> hops, const U256& x, std::uint32_t& count) noexcept {
  ++count;
  Probe p{x, U256::zero(), I256::min(), false};
  if (x.is_zero()) return p;
  const auto out = simulate_path(hops, x);
  if (!out || out->bit(255) || x.bit(255)) return p;
  p.out = *out;
  p.profit = I256::from_bits(*out) - I256::from_bits(x);
  p.ok = true;
  return p;
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
  rin = h.zero_for_one ? h.state->reserve0 : h.state->reserve1;
  rout = h.zero_for_one ? h.state->reserve1 : h.state->reserve0;
}

}  // namespace

std::optional<U256> swap_exact_in(const Hop& hop, const U256& amount_in) noexcept {
  if (hop.meta->type == PoolType::V2) {
    U256 rin, rout;
    v2_reserves(hop, rin, rout);
    const strategy::V2Quote q = strategy::v2_get_amount_out(amount_in, rin, rout, hop.meta->v2_fee);
    if (!q.ok() || q.amount.is_zero()) return std::nullopt;
    return q.amount;
  }
  if (amount_in.bit(255)) return std::nullopt;
  const strategy::V3PoolState st{hop.state->sqrt_price_x96, hop.state->liquidity, hop.state->tick,
                                 hop.meta->tick_spacing, hop.meta->fee_pips, 0};
  // Price limit at the last initialized tick in the swap direction: liquidity beyond it is zero,
  // so a fill that needs to go further fails either way, and the limit spares the simulation the
  // empty word-by-word walk to the end of the price range.
  if (hop.ticks.empty()) return std::nullopt;  // no positions: nothing can fill
  U256 limit;
  if (hop.edge_sqrt_prices != nullptr) {
    limit = hop.edge_sqrt_prices[hop.zero_for_one ? 0 : 1];
  } else {
    const auto edge = strategy::get_sqrt_ratio_at_tick(hop.zero_for_one ? hop.ticks.front().tick : hop.ticks.back().tick);
    if (!edge) return std::nullopt;
    limit = *edge;
  }
  if (hop.zero_for_one) {
    if (limit <= strategy::kMinSqrtRatio) limit = strategy::kMinSqrtRatio + U256::one();
    if (limit >= hop.state->sqrt_price_x96) return std::nullopt;
  } else {
    if (limit >= strategy::kMaxSqrtRatio) limit = strategy::kMaxSqrtRatio - U256::one();
    if (limit <= hop.state->sqrt_price_x96) return std::nullopt;
  }
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

double marginal_rate(const PoolState& s, const PoolMeta& m, bool zero_for_one) noexcept {
  if (!s.has_state()) return 0.0;
  if (m.type == PoolType::V2) {
    const double r0 = to_double(s.reserve0), r1 = to_double(s.reserve1);
    if (r0 <= 0.0 || r1 <= 0.0) return 0.0;
    const double g = static_cast<double>(m.v2_fee.numerator) / static_cast<double>(m.v2_fee.denominator);
    return zero_for_one ? g * r1 / r0 : g * r0 / r1;
  }
  const double sp = to_double(s.sqrt_price_x96) / kQ96;
  if (sp <= 0.0) return 0.0;
  const double g = 1.0 - static_cast<double>(m.fee_pips) / 1e6;
  const double price = sp * sp;  // token1 per token0
  return zero_for_one ? g * price : g / price;
}

BoundFloat BoundFloat::from(const U256& v, bool round_up) noexcept {
  const unsigned bl = v.bit_length();
  if (bl == 0) return BoundFloat{0, 0};
  if (bl <= 64) return BoundFloat{v.limb[0] << (64 - bl), static_cast<std::int32_t>(bl) - 64};
  const unsigned sh = bl - 64;
  std::uint64_t m = (v >> sh).limb[0];
  std::int32_t e = static_cast<std::int32_t>(sh);
  if (round_up && v.countr_zero() < sh) {  // bits dropped: round the mantissa up
    if (++m == 0) {
      m = 1ULL << 63;
      ++e;
    }
  }
  return BoundFloat{m, e};
}

BoundFloat BoundFloat::mul(const BoundFloat& a, const BoundFloat& b, bool round_up) noexcept {
  if (a.m == 0 || b.m == 0) return BoundFloat{0, 0};
  const u128 p = static_cast<u128>(a.m) * b.m;  // in [2^126, 2^128)
  const unsigned sh = (p >> 127) != 0 ? 64 : 63;
  std::uint64_t m = static_cast<std::uint64_t>(p >> sh);
  std::int32_t e = a.e + b.e + static_cast<std::int32_t>(sh);
  const u128 dropped = p & ((static_cast<u128>(1) << sh) - 1);
  if (round_up && dropped != 0) {
    if (++m == 0) {
      m = 1ULL << 63;
      ++e;
    }
  }
  return BoundFloat{m, e};
}

bool BoundFloat::less_equal(const BoundFloat& a, const BoundFloat& b) noexcept {
  if (a.m == 0) return true;
  if (b.m == 0) return false;
  if (a.e != b.e) return a.e < b.e;  // both normalised: the exponent orders them
  return a.m <= b.m;
}

RateBound marginal_rate_bound(const PoolState& s, const PoolMeta& m, bool zero_for_one) noexcept {
  if (!s.has_state()) return RateBound{BoundFloat{0, 0}, BoundFloat{1ULL << 63, -63}};  // rate 0
  if (m.type == PoolType::V2) {
    const U256& rin = zero_for_one ? s.reserve0 : s.reserve1;
    const U256& rout = zero_for_one ? s.reserve1 : s.reserve0;
    // n R_out / (d R_in)
    return RateBound{BoundFloat::mul(BoundFloat::from(U256(m.v2_fee.numerator), true), BoundFloat::from(rout, true), true),
                     BoundFloat::mul(BoundFloat::from(U256(m.v2_fee.denominator), false), BoundFloat::from(rin, false), false)};
  }
  // V3: (1e6 - fee) / 1e6 * sqrtP^2 / 2^192 (token0 in), or its price inverse (token1 in).
  const BoundFloat keep = BoundFloat::from(U256(1'000'000U - m.fee_pips), true);
  const BoundFloat million = BoundFloat::from(U256(1'000'000U), false);
  const BoundFloat q192{1ULL << 63, 192 - 63};
  if (zero_for_one) {
    const BoundFloat sp = BoundFloat::from(s.sqrt_price_x96, true);
    return RateBound{BoundFloat::mul(keep, BoundFloat::mul(sp, sp, true), true), BoundFloat::mul(million, q192, false)};
  }
  const BoundFloat sp = BoundFloat::from(s.sqrt_price_x96, false);
  return RateBound{BoundFloat::mul(keep, q192, true), BoundFloat::mul(million, BoundFloat::mul(sp, sp, false), false)};
}

bool cannot_profit(std::span<const RateBound> rates) noexcept {
  if (rates.empty()) return true;
  BoundFloat num = rates[0].num, den = rates[0].den;
  for (std::size_t i = 1; i < rates.size(); ++i) {
    num = BoundFloat::mul(num, rates[i].num, true);
    den = BoundFloat::mul(den, rates[i].den, false);
  }
  return BoundFloat::less_equal(num, den);
}

SearchResult optimize_v2v2(const Hop& h1, const Hop& h2, const SearchConfig& cfg) noexcept {
  const Hop hops[2] = {h1, h2};
  std::uint32_t probes = 0;
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
  const U256 s = isqrt(mul_wide(K, M));
  const U256 x0 = s > M ? (s - M) / N : U256::zero();

  // Best simulated profit around the real optimum x* in [x0, x0 + 1].
  Probe best{U256::zero(), U256::zero(), I256::min(), false};
  for (std::uint64_t dx = 0; dx < 2; ++dx) {
    const Probe p = probe(hops, x0 + U256(dx), probes);
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
    const Probe p = probe(hops, x, probes);
    if (better(p, best)) best = p;
  }
  return result_of(best, probes, true);
}

SearchResult optimize_generic(std::span<const Hop> hops, const SearchConfig& cfg) noexcept {
  std::uint32_t probes = 0;
  // Start estimate: compose f(x) = a x / (b + c x) per hop (V3: virtual reserves of the current range).
  double A = 1.0, Bm = 1.0, C = 0.0;
  bool est_ok = true;
  for (const Hop& h : hops) {
    double rin = 0, rout = 0, g = 0;
    if (h.meta->type == PoolType::V2) {
      rin = to_double(h.zero_for_one ? h.state->reserve0 : h.state->reserve1);
      rout = to_double(h.zero_for_one ? h.state->reserve1 : h.state->reserve0);
      g = static_cast<double>(h.meta->v2_fee.numerator) / static_cast<double>(h.meta->v2_fee.denominator);
    } else {
      const double sp = to_double(h.state->sqrt_price_x96) / kQ96;
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
  Probe best{U256::zero(), U256::zero(), I256::min(), false};
  auto eval = [&](u128 x) { return probe(hops, U256::from_u128(x), probes); };
  // Fast path: when the optimum stays inside the current ranges the estimate is accurate; accept
  // it if it beats both neighbours at +-x/2^precision_bits (the profit is concave).
  if (est_ok && xe >= 64.0) {
    const u128 xm = to_u128(xe);
    const u128 d = std::max<u128>(1, xm >> cfg.precision_bits);
    const Probe pm = eval(xm), pl = eval(xm - d), ph = eval(xm + d);
    best = pm;
    if (better(pl, best)) best = pl;
    if (better(ph, best)) best = ph;
    if (pm.ok && !better(pl, pm) && !better(ph, pm)) return result_of(best, probes, false);
  }
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
  return result_of(best, probes, false);
}

SearchResult optimize(std::span<const Hop> hops, const SearchConfig& cfg) noexcept {
  if (hops.size() == 2 && hops[0].meta->type == PoolType::V2 && hops[1].meta->type == PoolType::V2)
    return optimize_v2v2(hops[0], hops[1], cfg);
  return optimize_generic(hops, cfg);
}

}  // namespace torq::arb
