// Compiles every strategy AMM header in one translation unit (header self-sufficiency check)
// and anchors the torq_strategy library; the AMM math itself is header-only (constexpr, inlined).
#include "torq/strategy/amm_v2.hpp"
#include "torq/strategy/sqrt_price_math.hpp"
#include "torq/strategy/swap_math.hpp"
#include "torq/strategy/tick_math.hpp"
#include "torq/strategy/v3_pool_sim.hpp"

namespace torq::strategy {
// Compile-time spot checks of the published TickMath bounds.
static_assert(*get_sqrt_ratio_at_tick(kMinTick) == kMinSqrtRatio);
static_assert(*get_sqrt_ratio_at_tick(kMaxTick) == kMaxSqrtRatio);
static_assert(*get_sqrt_ratio_at_tick(0) == U256::pow2(96));
}  // namespace torq::strategy
