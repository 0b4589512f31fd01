// torq/arb/pricing.hpp — USD valuation of token amounts and of gas, in exact integer arithmetic.
//
// Owns: UsdPricer (per token, a route of at most two reference pools into a USD stable; an amount
// is carried through each pool at its mid price — V2 floor(x * r_out / r_in), V3 floor(floor(x *
// sqrtP / 2^96) * sqrtP / 2^96) or the inverse — and the stable amount becomes UsdFixedPoint8 at
// exactly 1 USD per whole stable token via num::from_token_amount) and GasModel (gas units per
// path kind; gas price = base fee of the latest BlockHeader + the configured priority fee, raised
// to the chain's floor, 25 gwei on Polygon; the wei cost is valued in the native token through
// the pricer). Routes: explicit ones from the configuration win; the other tokens get the
// shortest route found by breadth-first search from the stables (ties: lowest pool index).
// Thread-safety: UsdPricer const calls may run concurrently with each other but not with book
// writes; GasModel (including cost_usd, which fills a per-block cache) is for the owning thread. Allocation: constructor only; value calls are noexcept.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "torq/arb/pool_book.hpp"
#include "torq/num/usd_fixed.hpp"
#include "torq/protocol/instrument_id.hpp"

namespace torq::arb {

using num::UsdFixedPoint8;

struct StableToken {
  std::uint32_t token;     // dense token index
  std::uint8_t decimals;   // e.g. 6 for USDC
};

struct ExplicitRoute {
  std::uint32_t token;
  std::vector<std::uint32_t> pools;  // 1 or 2 pools from `token` ending in a stable
};

struct PricingConfig {
  std::vector<StableToken> stables;
  std::vector<ExplicitRoute> routes;
};

struct UsdRoute {
  std::uint32_t pool[2];
  std::uint8_t hops;          // 0: the token is a stable; 0xFF: no route
  std::uint8_t zero_for_one;  // bit i
  std::uint8_t decimals;      // of the stable at the end
  std::uint8_t reserved;
};
static_assert(sizeof(UsdRoute) == 12);

class UsdPricer {
 public:
  static constexpr std::uint8_t kNoRoute = 0xFF;
  // Start-up; throws std::invalid_argument for an explicit route that does not connect.
  UsdPricer(const PoolBook& book, const PricingConfig& cfg);

  [[nodiscard]] const UsdRoute& route(std::uint32_t token) const noexcept { return routes_[token]; }
  [[nodiscard]] bool priced(std::uint32_t token) const noexcept {
    return token < routes_.size() && routes_[token].hops != kNoRoute;
  }
  // USD value of `amount` raw units of `token`; nullopt without a route, when a route pool has
  // no usable state, or on overflow.
  [[nodiscard]] std::optional<UsdFixedPoint8> value(std::uint32_t token, const U256& amount) const noexcept;
  // State versions of the token's route pools (0 where the route has fewer hops): a value
  // computed through the route is still exact while these are unchanged.
  void route_versions(std::uint32_t token, std::uint64_t out[2]) const noexcept {
    out[0] = 0;
    out[1] = 0;
    if (!priced(token)) return;
    const UsdRoute& r = routes_[token];
    for (unsigned i = 0; i < r.hops && i < 2; ++i) out[i] = book_->state(r.pool[i]).version;
  }
  // A stable token amount (`decimals`) at 1 USD: equal to num::from_token_amount(amount, decimals,
  // 1 USD) for every input (tested), without its 512-bit mul_div when the amount fits 128 bits:
  // 10^8 / 10^d is an exact multiplier for d <= 8 and floor(a / 10^(d-8)) a 128/64-bit division
  // for d <= 27.
  [[nodiscard]] static std::optional<UsdFixedPoint8> stable_usd(const U256& amount, unsigned decimals) noexcept;
  // `amount` carried through one pool at its mid price.
  [[nodiscard]] static std::optional<U256> mid_convert(const PoolState& s, const PoolMeta& m, bool zero_for_one,
                                                       const U256& amount) noexcept;

 private:
  const PoolBook* book_;
  std::vector<UsdRoute> routes_;
};

struct GasConfig {
  std::uint64_t gas_units_two_pool = 180'000;
  std::uint64_t gas_units_triangular = 260'000;
  U256 priority_fee_wei = U256(30'000'000'000ULL);  // configured tip
  protocol::Chain chain = protocol::Chain::Polygon;
  std::uint32_t native_token = 0;  // dense index of the wrapped native token (WMATIC)
};

// Lowest priority fee the chain's nodes accept (Polygon Bor: 25 gwei); 0 elsewhere.
[[nodiscard]] U256 priority_fee_floor(protocol::Chain chain) noexcept;

class GasModel {
 public:
  GasModel(const GasConfig& cfg, const UsdPricer& pricer) noexcept : cfg_(cfg), pricer_(&pricer) {}

  // The base fee of the latest BlockHeader. Until the first one the base fee is unknown and the
  // gas cost cannot be valued (cost_usd: nullopt), not valued at a base fee of 0.
  void set_base_fee(const U256& base_fee_wei) noexcept {
    if (!base_fee_known_ || base_fee_wei != base_fee_) cache_valid_ = false;
    base_fee_ = base_fee_wei;
    base_fee_known_ = true;
  }
  [[nodiscard]] const U256& base_fee() const noexcept { return base_fee_; }
  // The configured tip (a reload): the cached USD cost is recomputed on next use.
  void set_priority_fee(const U256& wei) noexcept {
    if (wei != cfg_.priority_fee_wei) cache_valid_ = false;
    cfg_.priority_fee_wei = wei;
  }
  [[nodiscard]] U256 priority_fee() const noexcept {
    const U256 floor = priority_fee_floor(cfg_.chain);
    return cfg_.priority_fee_wei < floor ? floor : cfg_.priority_fee_wei;
  }
  // base fee + priority fee; nullopt when it exceeds 2^256 (a header's base fee is any U256).
  [[nodiscard]] std::optional<U256> gas_price() const noexcept {
    U256 p;
    if (num::add_overflow(base_fee_, priority_fee(), p)) return std::nullopt;
    return p;
  }
  [[nodiscard]] std::uint64_t gas_units(std::uint8_t hops) const noexcept {
    return hops == 2 ? cfg_.gas_units_two_pool : cfg_.gas_units_triangular;
  }
  // units * (base fee + priority fee), in wei of the native token; nullopt on overflow (a wrapped
  // product would value an absurd base fee as a cheap one).
  [[nodiscard]] std::optional<U256> cost_wei(std::uint8_t hops) const noexcept {
    const std::optional<U256> price = gas_price();
    U256 c;
    if (!price || num::mul_overflow(U256(gas_units(hops)), *price, c)) return std::nullopt;
    return c;
  }
  // nullopt before the first BlockHeader (base fee unknown). Cached per block: recomputed only
  // when the base fee changes (BlockHeader) or a pool of the native token's USD route changes (its
  // state version), so the result always equals pricer.value(native, *cost_wei(hops)) on the
  // current book (nullopt when cost_wei overflows).
  [[nodiscard]] std::optional<UsdFixedPoint8> cost_usd(std::uint8_t hops) const noexcept {
    if (!base_fee_known_) [[unlikely]] return std::nullopt;  // no BlockHeader yet
    std::uint64_t v[2];
    pricer_->route_versions(cfg_.native_token, v);
    if (!cache_valid_ || v[0] != cache_versions_[0] || v[1] != cache_versions_[1]) {
      const std::optional<U256> w2 = cost_wei(2), w3 = cost_wei(3);
      cache_usd_[0] = w2 ? pricer_->value(cfg_.native_token, *w2) : std::nullopt;
      cache_usd_[1] = w3 ? pricer_->value(cfg_.native_token, *w3) : std::nullopt;
      cache_versions_[0] = v[0];
      cache_versions_[1] = v[1];
      cache_valid_ = true;
      ++cache_refreshes_;
    }
    return cache_usd_[hops == 2 ? 0 : 1];
  }
  [[nodiscard]] std::uint64_t cache_refreshes() const noexcept { return cache_refreshes_; }
  [[nodiscard]] const GasConfig& config() const noexcept { return cfg_; }

 private:
  GasConfig cfg_;
  const UsdPricer* pricer_;
  U256 base_fee_ = U256::zero();
  bool base_fee_known_ = false;  // a BlockHeader gave base_fee_
  // Owning thread only (see the class comment): const calls fill the cache.
  mutable std::optional<UsdFixedPoint8> cache_usd_[2];
  mutable std::uint64_t cache_versions_[2] = {0, 0};
  mutable std::uint64_t cache_refreshes_ = 0;
  mutable bool cache_valid_ = false;
};

}  // namespace torq::arb
