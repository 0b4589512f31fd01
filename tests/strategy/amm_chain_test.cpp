// Differential test: torq's AMM math against the real Uniswap contracts on a local anvil.
//
// tests/strategy/amm_chain_cases.mjs starts anvil (chain id 137), deploys the real UniswapV2
// pair and UniswapV3 factory from the npm artifacts, generates seeded random cases and records
// the chain's answers; this test recomputes every case with torq::strategy and requires equality
// to the wei: V2 getAmountOut/getAmountIn (and the real pair's K check accepting the answer and
// rejecting one wei more), V3 swap amount0/amount1, price, tick and liquidity after the swap
// (exact input and exact output, many tick crossings), and V3 getTickAtSqrtRatio at initialize.
// Skips only when chain/node_modules is missing. TORQ_AMM_CASES_FILE reuses a generated file.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "torq/strategy/amm_v2.hpp"
#include "torq/strategy/tick_math.hpp"
#include "torq/strategy/v3_pool_sim.hpp"

namespace {

using namespace torq::strategy;
using torq::num::I256;
using torq::num::U256;
using torq::num::i128;
using torq::num::u128;

constexpr int kV2Cases = 2000;
constexpr int kV3Cases = 1000;

U256 pu(const std::string& s) {
  const auto v = U256::parse(s);
  EXPECT_TRUE(v.has_value()) << s;
  return v.value_or(U256::zero());
}
I256 pi(const std::string& s) {
  const auto v = I256::parse(s);
  EXPECT_TRUE(v.has_value()) << s;
  return v.value_or(I256::zero());
}

std::string env_or(const char* name, const std::string& dflt) {
  const char* v = std::getenv(name);
  return v != nullptr ? std::string(v) : dflt;
}

class AmmChainTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::filesystem::path src = env_or("TORQ_SOURCE_DIR", TORQ_STRATEGY_SOURCE_DIR);
    if (!std::filesystem::exists(src / "chain" / "node_modules")) {
      skip_reason_ = "chain/node_modules missing (npm ci --prefix chain)";
      return;
    }
    std::string file = env_or("TORQ_AMM_CASES_FILE", "");
    if (file.empty()) {
      const std::filesystem::path bin = env_or("TORQ_BINARY_DIR", std::filesystem::temp_directory_path().string());
      file = (bin / "amm_chain_cases.txt").string();
      const std::string cmd = "node '" + (src / "tests" / "strategy" / "amm_chain_cases.mjs").string() + "' --out '" +
                              file + "' --v2 " + std::to_string(kV2Cases) + " --v3 " + std::to_string(kV3Cases) +
                              " --seed " + env_or("TORQ_AMM_SEED", "1");
      gen_rc_ = std::system(cmd.c_str());
    }
    std::ifstream in(file);
    for (std::string line; std::getline(in, line);) {
      if (line.empty()) continue;
      if (line[0] == '#') {
        header_ = line;
        continue;
      }
      lines_.push_back(line);
    }
  }
  void SetUp() override {
    if (!skip_reason_.empty()) GTEST_SKIP() << skip_reason_;
    ASSERT_EQ(gen_rc_, 0) << "case generator failed";
  }
  static inline std::string skip_reason_;
  static inline int gen_rc_ = 0;
  static inline std::string header_;
  static inline std::vector<std::string> lines_;
};

TEST_F(AmmChainTest, ShouldMatchRealV2PairToTheWeiForExactInputAndOutput) {
  int n = 0, exact_out = 0, probed = 0;
  for (const std::string& line : lines_) {
    std::istringstream ss(line);
    std::string tag, r0s, r1s, amts, formulas;
    int zfo = 0, eo = 0, fok = 0, pa = 0, pb = 0;
    ss >> tag;
    if (tag != "V2") continue;
    ss >> r0s >> r1s >> zfo >> eo >> amts >> fok >> formulas >> pa >> pb;
    ASSERT_FALSE(ss.fail()) << line;
    ++n;
    const U256 r0 = pu(r0s), r1 = pu(r1s), amount = pu(amts), formula = pu(formulas);
    const U256& rin = zfo ? r0 : r1;
    const U256& rout = zfo ? r1 : r0;
    if (eo == 0) {
      const V2Quote q = v2_get_amount_out(amount, rin, rout, kUniswapV2Fee);
      ASSERT_EQ(q.ok(), fok == 1) << line;
      if (!q.ok()) continue;
      ASSERT_EQ(q.amount, formula) << line << " ours " << q.amount.to_string();
      // The real pair accepts our output (when non-zero) and rejects one wei more.
      EXPECT_EQ(pa == 1, !q.amount.is_zero()) << line;
      EXPECT_EQ(pb, 0) << line;
      probed += pa;
    } else {
      ++exact_out;
      const V2Quote q = v2_get_amount_in(amount, rin, rout, kUniswapV2Fee);
      ASSERT_EQ(q.ok(), fok == 1) << line;
      if (!q.ok()) continue;
      ASSERT_EQ(q.amount, formula) << line << " ours " << q.amount.to_string();
      EXPECT_EQ(pa, 1) << line;  // the real pair pays `amount` for our input
      // One wei less is accepted only when the library's floor(n/d)+1 overshoots (n % d == 0).
      const U256 num = rin * amount * U256(1000);
      const U256 den = (rout - amount) * U256(997);
      EXPECT_EQ(pb == 1, (num % den).is_zero()) << line;
      probed += pa;
    }
  }
  std::printf("[ chain    ] %s\n[ chain    ] V2: %d cases (%d exact output), %d accepted by the real pair\n",
              header_.c_str(), n, exact_out, probed);
  EXPECT_GE(n, kV2Cases * 95 / 100);
  EXPECT_GE(exact_out, n / 4);
}

TEST_F(AmmChainTest, ShouldMatchRealV3PoolSwapToTheWeiIncludingTickCrossings) {
  int n = 0, swaps_ok = 0, exact_out = 0, crossed_any = 0, crossed_10 = 0;
  std::uint32_t max_crossed = 0;
  for (const std::string& line : lines_) {
    std::istringstream ss(line);
    std::string tag;
    ss >> tag;
    if (tag != "V3") continue;
    std::uint32_t fee = 0;
    std::int32_t spacing = 0;
    std::string sqrt_init_s, amount_s, limit_s;
    int zfo = 0;
    std::size_t npos = 0;
    ss >> fee >> spacing >> sqrt_init_s >> zfo >> amount_s >> limit_s >> npos;
    ASSERT_FALSE(ss.fail()) << line;
    V3Pool pool(2 * npos + 2);
    V3PoolState st{};
    st.sqrt_price_x96 = pu(sqrt_init_s);
    st.tick_spacing = spacing;
    st.fee_pips = fee;
    const auto tick0 = get_tick_at_sqrt_ratio(st.sqrt_price_x96);
    ASSERT_TRUE(tick0.has_value()) << line;
    st.tick = *tick0;
    pool.set_state(st);
    for (std::size_t k = 0; k < npos; ++k) {
      std::int32_t lo = 0, hi = 0;
      std::string ls;
      ss >> lo >> hi >> ls;
      const auto l = pu(ls).to_u128();
      ASSERT_TRUE(l.has_value()) << line;
      ASSERT_EQ(pool.apply_position_delta(lo, hi, static_cast<i128>(*l)), V3Error::ok) << line;
    }
    std::int32_t chain_tick0 = 0, chain_tick1 = 0;
    std::string l0s, a0s, a1s, p1s, l1s;
    int swap_ok = 0;
    ss >> chain_tick0 >> l0s >> swap_ok >> a0s >> a1s >> p1s >> chain_tick1 >> l1s;
    ASSERT_FALSE(ss.fail()) << line;
    ++n;
    // initialize(): slot0.tick = getTickAtSqrtRatio(price); in-range liquidity after the mints.
    ASSERT_EQ(st.tick, chain_tick0) << line;
    ASSERT_EQ(U256::from_u128(pool.state().liquidity), pu(l0s)) << line;

    const I256 amount = pi(amount_s);
    const V3SwapResult r = pool.simulate_swap(zfo == 1, amount, pu(limit_s));
    ASSERT_EQ(r.ok(), swap_ok == 1) << line << " our error " << static_cast<int>(r.error);
    if (!r.ok()) continue;
    ++swaps_ok;
    if (amount.is_negative()) ++exact_out;
    EXPECT_EQ(r.amount0, pi(a0s)) << line << "\n ours amount0 " << r.amount0.to_string();
    EXPECT_EQ(r.amount1, pi(a1s)) << line << "\n ours amount1 " << r.amount1.to_string();
    EXPECT_EQ(r.sqrt_price_x96, pu(p1s)) << line << "\n ours price " << r.sqrt_price_x96.to_string();
    EXPECT_EQ(r.tick, chain_tick1) << line;
    EXPECT_EQ(U256::from_u128(r.liquidity), pu(l1s)) << line;
    if (r.ticks_crossed > 0) ++crossed_any;
    if (r.ticks_crossed >= 10) ++crossed_10;
    if (r.ticks_crossed > max_crossed) max_crossed = r.ticks_crossed;
  }
  std::printf("[ chain    ] V3: %d cases, %d swaps executed (%d exact output), %d crossed >= 1 initialized tick, "
              "%d crossed >= 10, max %u\n",
              n, swaps_ok, exact_out, crossed_any, crossed_10, max_crossed);
  // The generator must have produced a meaningful mix (a test that cannot fail is a defect).
  EXPECT_GE(n, kV3Cases * 90 / 100);
  EXPECT_GE(exact_out, swaps_ok / 4);
  EXPECT_GE(crossed_any, swaps_ok / 5);
  EXPECT_GE(crossed_10, 20);
}

}  // namespace
