// UsdPricer routes and mid-price conversion; gas price floor.
#include "torq/arb/pricing.hpp"

#include <stdexcept>
#include <string>

namespace torq::arb {

namespace {
const U256 kQ96 = U256::pow2(96);
}

U256 priority_fee_floor(protocol::Chain chain) noexcept {
  return chain == protocol::Chain::Polygon ? U256(25'000'000'000ULL) : U256::zero();
}

std::optional<U256> UsdPricer::mid_convert(const PoolState& s, const PoolMeta& m, bool zero_for_one,
                                           const U256& amount) noexcept {
  if (!s.has_state() || s.quarantined()) return std::nullopt;
  if (m.type == PoolType::V2) {
    const U256 rin = zero_for_one ? s.reserve0() : s.reserve1();
    const U256 rout = zero_for_one ? s.reserve1() : s.reserve0();
    // An emptied side has no price (the engine treats such a pair as unusable too): valued at 0,
    // it made gas through this route free.
    if (rin.is_zero() || rout.is_zero()) return std::nullopt;
    return num::mul_div(amount, rout, rin);
  }
  const U256& sp = s.sqrt_price_x96();
  if (sp.is_zero()) return std::nullopt;
  if (zero_for_one) {  // token1 = token0 * sp^2 / 2^192
    const auto t = num::mul_div(amount, sp, kQ96);
    if (!t) return std::nullopt;
    return num::mul_div(*t, sp, kQ96);
  }
  const auto t = num::mul_div(amount, kQ96, sp);
  if (!t) return std::nullopt;
  return num::mul_div(*t, kQ96, sp);
}

UsdPricer::UsdPricer(const PoolBook& book, const PricingConfig& cfg) : book_(&book) {
  const std::size_t nt = book.token_count();
  routes_.assign(nt, UsdRoute{{0, 0}, kNoRoute, 0, 0, 0});
  std::vector<std::uint8_t> stable_dec(nt, 0xFF);
  for (const StableToken& st : cfg.stables) {
    if (st.token >= nt) throw std::invalid_argument("stable token " + std::to_string(st.token) + " not in the book");
    stable_dec[st.token] = st.decimals;
    routes_[st.token] = UsdRoute{{0, 0}, 0, 0, st.decimals, 0};
  }
  auto other = [&](std::uint32_t pool, std::uint32_t tok) {
    const PoolMeta& m = book.meta(pool);
    return m.token0 == tok ? m.token1 : m.token0;
  };
  for (const ExplicitRoute& r : cfg.routes) {
    if (r.token >= nt || r.pools.empty() || r.pools.size() > 2)
      throw std::invalid_argument("explicit USD route for token " + std::to_string(r.token) + ": 1 or 2 pools");
    UsdRoute u{{0, 0}, static_cast<std::uint8_t>(r.pools.size()), 0, 0, 0};
    std::uint32_t tok = r.token;
    for (std::size_t i = 0; i < r.pools.size(); ++i) {
      const std::uint32_t p = r.pools[i];
      if (p >= book.pool_count() || (book.meta(p).token0 != tok && book.meta(p).token1 != tok))
        throw std::invalid_argument("explicit USD route for token " + std::to_string(r.token) + ": pool does not connect");
      u.pool[i] = p;
      if (book.meta(p).token0 == tok) u.zero_for_one = static_cast<std::uint8_t>(u.zero_for_one | (1U << i));
      tok = other(p, tok);
    }
    if (stable_dec[tok] == 0xFF)
      throw std::invalid_argument("explicit USD route for token " + std::to_string(r.token) + ": does not end in a stable");
    u.decimals = stable_dec[tok];
    routes_[r.token] = u;
  }
  // Breadth-first from the stables, at most two hops.
  std::vector<std::vector<std::uint32_t>> adj(nt);
  for (std::uint32_t p = 0; p < book.pool_count(); ++p) {
    adj[book.meta(p).token0].push_back(p);
    adj[book.meta(p).token1].push_back(p);
  }
  std::vector<std::uint32_t> frontier;
  for (const StableToken& st : cfg.stables) frontier.push_back(st.token);
  for (int depth = 1; depth <= 2; ++depth) {
    std::vector<std::uint32_t> next;
    for (std::uint32_t t : frontier) {
      const UsdRoute& tr = routes_[t];
      for (std::uint32_t p : adj[t]) {
        const std::uint32_t o = other(p, t);
        if (routes_[o].hops != kNoRoute) continue;
        if (tr.hops != 0 && depth == 1) continue;
        UsdRoute u{{p, 0}, 1, 0, tr.decimals, 0};
        if (book.meta(p).token0 == o) u.zero_for_one = 1;
        if (tr.hops == 1) {  // o -> t -> stable
          u.hops = 2;
          u.pool[1] = tr.pool[0];
          u.zero_for_one = static_cast<std::uint8_t>(u.zero_for_one | ((tr.zero_for_one & 1U) << 1));
        } else if (tr.hops != 0) {
          continue;
        }
        routes_[o] = u;
        next.push_back(o);
      }
    }
    frontier.swap(next);
  }
}

std::optional<UsdFixedPoint8> UsdPricer::value(std::uint32_t token, const U256& amount) const noexcept {
  if (!priced(token)) return std::nullopt;
  const UsdRoute& r = routes_[token];
  U256 a = amount;
  for (unsigned i = 0; i < r.hops; ++i) {
    const auto out = mid_convert(book_->state(r.pool[i]), book_->meta(r.pool[i]), ((r.zero_for_one >> i) & 1U) != 0, a);
    if (!out) return std::nullopt;
    a = *out;
  }
  return stable_usd(a, r.decimals);
}

std::optional<UsdFixedPoint8> UsdPricer::stable_usd(const U256& amount, unsigned decimals) noexcept {
  static constexpr std::uint64_t kPow10[20] = {1ULL,
                                               10ULL,
                                               100ULL,
                                               1'000ULL,
                                               10'000ULL,
                                               100'000ULL,
                                               1'000'000ULL,
                                               10'000'000ULL,
                                               100'000'000ULL,
                                               1'000'000'000ULL,
                                               10'000'000'000ULL,
                                               100'000'000'000ULL,
                                               1'000'000'000'000ULL,
                                               10'000'000'000'000ULL,
                                               100'000'000'000'000ULL,
                                               1'000'000'000'000'000ULL,
                                               10'000'000'000'000'000ULL,
                                               100'000'000'000'000'000ULL,
                                               1'000'000'000'000'000'000ULL,
                                               10'000'000'000'000'000'000ULL};
  constexpr u128 kMax = static_cast<u128>(INT64_MAX);
  if (amount.fits_u128() && decimals <= 8 + 19) {
    const u128 a = amount.low_u128();
    u128 q;
    if (decimals <= 8) {  // a * 10^(8-d): exact; overflow-checked against INT64_MAX
      const std::uint64_t k = kPow10[8 - decimals];
      if (a > kMax / k) return std::nullopt;
      q = a * k;
    } else {  // floor(a 10^8 / 10^d) = floor(a / 10^(d-8))
      q = a / kPow10[decimals - 8];
    }
    if (q > kMax) return std::nullopt;
    return UsdFixedPoint8{static_cast<std::int64_t>(q)};
  }
  return num::from_token_amount(amount, decimals, UsdFixedPoint8{UsdFixedPoint8::kScale});
}

}  // namespace torq::arb
