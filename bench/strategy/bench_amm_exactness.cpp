// bench_amm_exactness: how far a plain double-precision AMM implementation is from the exact one.
//
// Takes the same random cases as the differential test (tests/strategy/amm_chain_cases.mjs, the
// file format is at the end of that script): either `--cases FILE` or, by default, it runs the
// script itself (`--seed N`, default TORQ_AMM_SEED or 1; `--v2 N`, `--v3 N`). Every case is
// computed with torq::strategy (exact; checked here against the chain's number in the file) and
// with a straightforward double implementation that lives only in this file (V2 getAmountOut /
// getAmountIn with 997/1000; V3 swap with sqrtPrice and liquidity as double, tick prices from
// pow(1.0001, t/2), stepping from one initialized tick to the next, amounts in rounded up and
// out rounded down at the end). Prints one JSON object: case counts, the fraction where the
// double result differs, the absolute error in wei and the relative error (median, p99, max),
// how many double quotes would make the real swap revert (V2: amountIn below the K-check minimum
// or amountOut above the maximum; V3: amountIn below what the pool charges, or amountOut above
// what it pays), and V3 split by whether the swap crosses initialized ticks.
// TORQ_EXACTNESS_DEBUG=1 lists the V3 cases with a relative error above 1e-3 on stderr.
// This is a measurement tool, not a product path: nothing outside this file uses the double code.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "torq/bench/args.hpp"
#include "torq/strategy/amm_v2.hpp"
#include "torq/strategy/tick_math.hpp"
#include "torq/strategy/v3_pool_sim.hpp"

#ifndef TORQ_STRATEGY_SOURCE_DIR
#define TORQ_STRATEGY_SOURCE_DIR "."
#endif

namespace {

using namespace torq::strategy;
using torq::num::I256;
using torq::num::U256;
using torq::num::i128;
using torq::num::u128;

// ------------------------------------------------------------------ conversions
double to_double(const U256& v) {
  double r = 0.0;
  for (int i = 3; i >= 0; --i) r = r * 18446744073709551616.0 + static_cast<double>(v.limb[i]);
  return r;
}
double to_double(i128 v) {
  const bool neg = v < 0;
  const u128 m = neg ? static_cast<u128>(0) - static_cast<u128>(v) : static_cast<u128>(v);
  const double d = static_cast<double>(static_cast<std::uint64_t>(m >> 64)) * 18446744073709551616.0 +
                   static_cast<double>(static_cast<std::uint64_t>(m));
  return neg ? -d : d;
}
// Exact integer value of a finite, non-negative, already-rounded double (saturating at 2^256-1).
U256 from_double(double x) {
  if (!(x >= 1.0)) return U256::zero();
  int e = 0;
  const double m = std::frexp(x, &e);  // x = m * 2^e, m in [0.5, 1)
  if (e > 256) return U256::max();
  const U256 mant(static_cast<std::uint64_t>(std::ldexp(m, 53)));
  return e >= 53 ? (mant << static_cast<unsigned>(e - 53)) : (mant >> static_cast<unsigned>(53 - e));
}

// ------------------------------------------------------------------ statistics
struct Errors {
  std::size_t n = 0, differ = 0;
  std::vector<double> abs_wei, rel;
  void add(const U256& exact, const U256& approx) {
    ++n;
    const U256 d = exact > approx ? exact - approx : approx - exact;
    if (!d.is_zero()) ++differ;
    abs_wei.push_back(to_double(d));
    rel.push_back(exact.is_zero() ? (d.is_zero() ? 0.0 : 1.0) : to_double(d) / to_double(exact));
  }
};
double quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  const std::size_t i = static_cast<std::size_t>(q * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}
std::string dist_json(const std::vector<double>& v) {
  char b[160];
  std::snprintf(b, sizeof b, "{\"median\": %.6g, \"p99\": %.6g, \"max\": %.6g}", quantile(v, 0.5), quantile(v, 0.99),
                v.empty() ? 0.0 : *std::max_element(v.begin(), v.end()));
  return b;
}
std::string errors_json(const Errors& e) {
  char b[96];
  std::snprintf(b, sizeof b, "\"cases\": %zu, \"differ\": %zu, \"differ_fraction\": %.4f", e.n, e.differ,
                e.n ? static_cast<double>(e.differ) / static_cast<double>(e.n) : 0.0);
  return std::string(b) + ", \"abs_error_wei\": " + dist_json(e.abs_wei) + ", \"rel_error\": " + dist_json(e.rel);
}

// ------------------------------------------------------------------ the double implementation
double dbl_v2_out(double in, double rin, double rout) { return std::floor(in * 997.0 * rout / (rin * 1000.0 + in * 997.0)); }
double dbl_v2_in(double out, double rin, double rout) {
  return std::floor(rin * out * 1000.0 / ((rout - out) * 997.0)) + 1.0;
}

struct DTick {
  std::int32_t tick;
  double net;
};
struct DSwap {
  double amount_in, amount_out;  // magnitudes, rounded (in up, out down)
};

// One swap in real-number units (sqrtP = sqrtPriceX96 / 2^96), everything double.
DSwap dbl_v3_swap(double sqrt_p, double liq, std::int32_t tick, const std::vector<DTick>& ticks, std::uint32_t fee,
                  bool zfo, bool exact_in, double amount, double limit) {
  const double f = static_cast<double>(fee);
  double rem = amount, used = 0.0, calc = 0.0;
  for (int guard = 0; guard < 100000 && rem > 0.0 && sqrt_p != limit; ++guard) {
    // Next initialized tick in the direction of the swap (or the end of the tick range).
    std::int32_t next = zfo ? kMinTick : kMaxTick;
    bool initialized = false;
    double net = 0.0;
    if (zfo) {
      for (auto it = ticks.rbegin(); it != ticks.rend(); ++it)
        if (it->tick <= tick) { next = it->tick; net = it->net; initialized = true; break; }
    } else {
      for (const DTick& t : ticks)
        if (t.tick > tick) { next = t.tick; net = t.net; initialized = true; break; }
    }
    const double sqrt_next = std::pow(1.0001, next / 2.0);
    const double target = zfo ? std::max(sqrt_next, limit) : std::min(sqrt_next, limit);
    double p_new = target, a_in = 0.0, a_out = 0.0, fee_amt = 0.0;
    bool reached = true;
    if (liq > 0.0) {
      const double P = sqrt_p, T = target, L = liq;
      if (exact_in) {
        const double rem_less_fee = rem * (1e6 - f) / 1e6;
        const double in_to_t = zfo ? L * (P - T) / (P * T) : L * (T - P);
        if (rem_less_fee >= in_to_t) {
          a_in = in_to_t;
        } else {
          reached = false;
          a_in = rem_less_fee;
          p_new = zfo ? L * P / (L + a_in * P) : P + a_in / L;
        }
        a_out = zfo ? L * (P - p_new) : L * (p_new - P) / (P * p_new);
        fee_amt = reached ? a_in * f / (1e6 - f) : rem - a_in;
      } else {
        const double out_to_t = zfo ? L * (P - T) : L * (T - P) / (P * T);
        if (rem >= out_to_t) {
          a_out = out_to_t;
        } else {
          reached = false;
          a_out = rem;
          p_new = zfo ? P - a_out / L : L * P / (L - a_out * P);
        }
        a_in = zfo ? L * (P - p_new) / (P * p_new) : L * (p_new - P);
        fee_amt = a_in * f / (1e6 - f);
      }
    }
    sqrt_p = p_new;
    if (exact_in) {
      rem -= a_in + fee_amt;
      used += a_in + fee_amt;
      calc += a_out;
    } else {
      rem -= a_out;
      used += a_out;
      calc += a_in + fee_amt;
    }
    if (!reached || target != sqrt_next) break;  // amount used up or price limit reached
    if (!initialized) break;                     // end of the tick range
    liq += zfo ? -net : net;
    tick = zfo ? next - 1 : next;
  }
  const double in = exact_in ? used : calc, out = exact_in ? calc : used;
  return {std::ceil(in), std::max(0.0, std::floor(out))};
}

// ------------------------------------------------------------------ case file
U256 pu(const std::string& s) { return U256::parse(s).value_or(U256::zero()); }
I256 pi(const std::string& s) { return I256::parse(s).value_or(I256::zero()); }

}  // namespace

int main(int argc, char** argv) {
  // Every value that reaches the generator's command line is a checked integer (no shell quoting).
  torq::bench::ArgReader args(argc, argv, "usage: bench_amm_exactness [--cases FILE] [--seed N] [--v2 N] [--v3 N]");
  std::uint64_t seed = args.env_u64("TORQ_AMM_SEED", 1, 0, 0xFFFF'FFFFu), v2 = 2000, v3 = 1000;
  std::string file;
  while (args.next()) {
    if (args.is("--cases")) file = args.str();
    else if (args.is("--seed")) seed = args.u64(0, 0xFFFF'FFFFu);
    else if (args.is("--v2")) v2 = args.u64(0, 1'000'000);
    else if (args.is("--v3")) v3 = args.u64(0, 1'000'000);
    else args.unknown();
  }
  if (file.empty()) {
    const char* src_env = std::getenv("TORQ_SOURCE_DIR");
    const std::filesystem::path src = src_env != nullptr ? src_env : TORQ_STRATEGY_SOURCE_DIR;
    file = (std::filesystem::temp_directory_path() / ("torq_amm_exactness_cases_" + std::to_string(seed) + ".txt"))
               .string();
    const std::string cmd = "node '" + (src / "tests" / "strategy" / "amm_chain_cases.mjs").string() + "' --out '" +
                            file + "' --v2 " + std::to_string(v2) + " --v3 " + std::to_string(v3) + " --seed " +
                            std::to_string(seed) + " 1>&2";
    if (std::system(cmd.c_str()) != 0) {
      std::fprintf(stderr, "case generator failed: %s\n", cmd.c_str());
      return 1;
    }
  }
  std::ifstream in(file);
  if (!in) {
    std::fprintf(stderr, "cannot read %s\n", file.c_str());
    return 1;
  }

  std::string header;
  Errors v2_out, v2_in;
  std::size_t v2_cases = 0, v2_skipped = 0, v2_exact_vs_chain_mismatch = 0, v2_nonfinite = 0;
  std::size_t v2_in_too_small = 0, v2_in_too_large = 0, v2_out_too_large = 0, v2_out_too_small = 0;
  Errors v3_all, v3_cross0, v3_cross1, v3_cross10, v3_other_side;
  std::size_t v3_cases = 0, v3_swaps = 0, v3_exact_out = 0, v3_crossing = 0, v3_exact_vs_chain_mismatch = 0;
  std::size_t v3_in_too_small = 0, v3_out_too_large = 0, v3_any_differ = 0;
  std::uint32_t v3_max_crossed = 0;

  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    if (line[0] == '#') {
      header = line;
      continue;
    }
    std::istringstream ss(line);
    std::string tag;
    ss >> tag;
    if (tag == "V2") {
      std::string r0s, r1s, amts, formulas;
      int zfo = 0, eo = 0, fok = 0, pa = 0, pb = 0;
      ss >> r0s >> r1s >> zfo >> eo >> amts >> fok >> formulas >> pa >> pb;
      if (ss.fail()) continue;
      ++v2_cases;
      const U256 r0 = pu(r0s), r1 = pu(r1s), amount = pu(amts);
      const U256& rin = zfo ? r0 : r1;
      const U256& rout = zfo ? r1 : r0;
      const V2Quote q = eo ? v2_get_amount_in(amount, rin, rout) : v2_get_amount_out(amount, rin, rout);
      if (q.ok() != (fok == 1) || (q.ok() && q.amount != pu(formulas))) ++v2_exact_vs_chain_mismatch;
      if (!q.ok()) {
        ++v2_skipped;
        continue;
      }
      const double a = to_double(amount), ri = to_double(rin), ro = to_double(rout);
      const double d = eo ? dbl_v2_in(a, ri, ro) : dbl_v2_out(a, ri, ro);
      if (!std::isfinite(d) || d < 0.0) {
        ++v2_nonfinite;
        continue;
      }
      const U256 approx = from_double(d);
      if (eo) {
        v2_in.add(q.amount, approx);
        // Smallest input the pair's K check accepts: ceil(n / d) = library answer, minus one when exact.
        const U256 num = rin * amount * U256(1000);
        const U256 den = (rout - amount) * U256(997);
        const U256 min_in = (num % den).is_zero() ? q.amount - U256::one() : q.amount;
        if (approx < min_in) ++v2_in_too_small;
        if (approx > q.amount) ++v2_in_too_large;
      } else {
        v2_out.add(q.amount, approx);
        if (approx > q.amount) ++v2_out_too_large;  // the largest accepted output is the exact one
        if (approx < q.amount) ++v2_out_too_small;
      }
    } else if (tag == "V3") {
      std::uint32_t fee = 0;
      std::int32_t spacing = 0;
      std::string sqrt_init_s, amount_s, limit_s;
      int zfo = 0;
      std::size_t npos = 0;
      ss >> fee >> spacing >> sqrt_init_s >> zfo >> amount_s >> limit_s >> npos;
      if (ss.fail()) continue;
      ++v3_cases;
      V3Pool pool(2 * npos + 2);
      V3PoolState st{};
      st.sqrt_price_x96 = pu(sqrt_init_s);
      st.tick_spacing = spacing;
      st.fee_pips = fee;
      st.tick = get_tick_at_sqrt_ratio(st.sqrt_price_x96).value_or(0);
      pool.set_state(st);
      bool setup_ok = true;
      for (std::size_t k = 0; k < npos; ++k) {
        std::int32_t lo = 0, hi = 0;
        std::string ls;
        ss >> lo >> hi >> ls;
        const auto l = pu(ls).to_u128();
        if (!l || pool.apply_position_delta(lo, hi, static_cast<i128>(*l)) != V3Error::ok) setup_ok = false;
      }
      std::int32_t chain_tick0 = 0, chain_tick1 = 0;
      std::string l0s, a0s, a1s, p1s, l1s;
      int swap_ok = 0;
      ss >> chain_tick0 >> l0s >> swap_ok >> a0s >> a1s >> p1s >> chain_tick1 >> l1s;
      if (ss.fail() || !setup_ok) continue;
      const I256 amount = pi(amount_s);
      const U256 limit = pu(limit_s);
      const V3SwapResult r = pool.simulate_swap(zfo == 1, amount, limit);
      if (r.ok() != (swap_ok == 1) ||
          (r.ok() && (r.amount0 != pi(a0s) || r.amount1 != pi(a1s) || r.sqrt_price_x96 != pu(p1s))))
        ++v3_exact_vs_chain_mismatch;
      if (!r.ok()) continue;
      ++v3_swaps;
      const bool exact_in = !amount.is_negative();
      if (!exact_in) ++v3_exact_out;
      if (r.ticks_crossed > 0) ++v3_crossing;
      v3_max_crossed = std::max(v3_max_crossed, r.ticks_crossed);

      std::vector<DTick> dticks;
      for (const V3Tick& t : pool.ticks()) dticks.push_back({t.tick, to_double(t.liquidity_net)});
      constexpr double kQ96 = 79228162514264337593543950336.0;  // 2^96
      const DSwap d = dbl_v3_swap(to_double(st.sqrt_price_x96) / kQ96, to_double(static_cast<i128>(pool.state().liquidity)),
                                  st.tick, dticks, fee, zfo == 1, exact_in, to_double(amount.abs()),
                                  to_double(limit) / kQ96);
      const U256 ex_in = (zfo ? r.amount0 : r.amount1).abs();
      const U256 ex_out = (zfo ? r.amount1 : r.amount0).abs();
      const U256 dbl_in = from_double(d.amount_in), dbl_out = from_double(d.amount_out);
      // The quote: what the caller computes (output for exact input, input for exact output).
      const U256& ex_q = exact_in ? ex_out : ex_in;
      const U256& dbl_q = exact_in ? dbl_out : dbl_in;
      v3_all.add(ex_q, dbl_q);
      (r.ticks_crossed == 0 ? v3_cross0 : v3_cross1).add(ex_q, dbl_q);
      if (r.ticks_crossed >= 10) v3_cross10.add(ex_q, dbl_q);
      v3_other_side.add(exact_in ? ex_in : ex_out, exact_in ? dbl_in : dbl_out);
      if (ex_in != dbl_in || ex_out != dbl_out) ++v3_any_differ;
      if (std::getenv("TORQ_EXACTNESS_DEBUG") != nullptr && v3_all.rel.back() > 1e-3)
        std::fprintf(stderr, "rel %.3g crossed %u L0 %s in %s/%s out %s/%s | %s\n", v3_all.rel.back(), r.ticks_crossed,
                     U256::from_u128(pool.state().liquidity).to_string().c_str(), ex_in.to_string().c_str(),
                     dbl_in.to_string().c_str(), ex_out.to_string().c_str(), dbl_out.to_string().c_str(),
                     line.substr(0, 160).c_str());
      if (dbl_in < ex_in) ++v3_in_too_small;    // paying this in the callback: the pool reverts 'IIA'
      if (dbl_out > ex_out) ++v3_out_too_large;  // amountOutMinimum at this value: the swap reverts
    }
  }

  std::printf("{\n  \"cases_file\": \"%s\",\n  \"header\": \"%s\",\n", file.c_str(), header.c_str());
  std::printf("  \"v2\": {\"cases\": %zu, \"skipped_reverting\": %zu, \"exact_vs_chain_mismatch\": %zu, "
              "\"double_nonfinite\": %zu,\n", v2_cases, v2_skipped, v2_exact_vs_chain_mismatch, v2_nonfinite);
  std::printf("    \"exact_input\": {%s, \"double_out_too_large_reverts\": %zu, \"double_out_too_small\": %zu},\n",
              errors_json(v2_out).c_str(), v2_out_too_large, v2_out_too_small);
  std::printf("    \"exact_output\": {%s, \"double_in_too_small_reverts_k\": %zu, \"double_in_too_large\": %zu}},\n",
              errors_json(v2_in).c_str(), v2_in_too_small, v2_in_too_large);
  std::printf("  \"v3\": {\"cases\": %zu, \"swaps\": %zu, \"exact_output\": %zu, \"crossing_ticks\": %zu, "
              "\"max_crossed\": %u, \"exact_vs_chain_mismatch\": %zu, \"any_amount_differs\": %zu,\n",
              v3_cases, v3_swaps, v3_exact_out, v3_crossing, v3_max_crossed, v3_exact_vs_chain_mismatch,
              v3_any_differ);
  std::printf("    \"double_in_too_small_reverts\": %zu, \"double_out_too_large_reverts\": %zu,\n", v3_in_too_small,
              v3_out_too_large);
  std::printf("    \"quote\": {%s},\n", errors_json(v3_all).c_str());
  std::printf("    \"quote_no_crossing\": {%s},\n", errors_json(v3_cross0).c_str());
  std::printf("    \"quote_crossing\": {%s},\n", errors_json(v3_cross1).c_str());
  std::printf("    \"quote_crossing_10_plus\": {%s},\n", errors_json(v3_cross10).c_str());
  std::printf("    \"specified_side\": {%s}}\n}\n", errors_json(v3_other_side).c_str());
  return (v2_exact_vs_chain_mismatch == 0 && v3_exact_vs_chain_mismatch == 0) ? 0 : 2;
}
