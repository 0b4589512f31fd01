// CycleIndex construction: enumerate 2-pool and triangular cycles over the token graph.
#include "torq/arb/cycle_index.hpp"

#include <algorithm>
#include <unordered_map>

#include "torq/protocol/tlv_types.hpp"

namespace torq::arb {

namespace {
[[nodiscard]] std::uint64_t pair_key(std::uint32_t a, std::uint32_t b) noexcept {
  if (a > b) std::swap(a, b);
  return (std::uint64_t{a} << 32) | b;
}
}  // namespace

CycleIndex::CycleIndex(const PoolBook& book, const CycleConfig& cfg) {
  const std::size_t np = book.pool_count();
  const std::size_t nt = book.token_count();
  std::vector<std::uint32_t> rank(nt, UINT32_MAX);
  for (std::size_t i = 0; i < cfg.base_tokens.size(); ++i)
    if (cfg.base_tokens[i] < nt && rank[cfg.base_tokens[i]] == UINT32_MAX) rank[cfg.base_tokens[i]] = static_cast<std::uint32_t>(i);
  auto better = [&](std::uint32_t a, std::uint32_t b) { return rank[a] != rank[b] ? rank[a] < rank[b] : a < b; };

  std::vector<std::uint32_t> per_pool(np, 0);
  auto other = [&](std::uint32_t pool, std::uint32_t tok) {
    const PoolMeta& m = book.meta(pool);
    return m.token0 == tok ? m.token1 : m.token0;
  };
  // Adds both directions of the undirected cycle whose hops are pools[0..n) visiting tokens
  // toks[0] -> toks[1] -> ... -> toks[0], rotated so that the start token is the best ranked.
  auto add = [&](const std::uint32_t* pools, const std::uint32_t* toks, unsigned n) {
    for (unsigned i = 0; i < n; ++i)
      if (per_pool[pools[i]] + 2 > cfg.max_cycles_per_pool) {
        stats_.dropped += 2;
        return;
      }
    if (cycles_.size() + 2 > cfg.max_cycles) {
      stats_.dropped += 2;
      return;
    }
    unsigned start = 0;
    for (unsigned i = 1; i < n; ++i)
      if (better(toks[i], toks[start])) start = i;
    for (int dir = 0; dir < 2; ++dir) {
      Cycle c{};
      c.hops = static_cast<std::uint8_t>(n);
      c.kind = static_cast<std::uint8_t>(n == 2 ? protocol::PathKind::TwoPoolCross : protocol::PathKind::Triangular);
      c.all_v2 = 1;
      for (unsigned h = 0; h < n; ++h) {
        // Forward: hop h uses pools[(start+h)%n] from toks[(start+h)%n].
        // Backward: from toks[start - h] through the pool that ends there.
        std::uint32_t pool, tin;
        if (dir == 0) {
          pool = pools[(start + h) % n];
          tin = toks[(start + h) % n];
        } else {
          const unsigned t = (start + n - h) % n;
          pool = pools[(t + n - 1) % n];
          tin = toks[t];
        }
        c.pool[h] = pool;
        c.token[h] = tin;
        if (book.meta(pool).token0 == tin) c.zero_for_one = static_cast<std::uint8_t>(c.zero_for_one | (1U << h));
        if (book.meta(pool).type != PoolType::V2) c.all_v2 = 0;
      }
      c.id = static_cast<std::uint32_t>(cycles_.size());
      cycles_.push_back(c);
    }
    for (unsigned i = 0; i < n; ++i) per_pool[pools[i]] += 2;
    (n == 2 ? stats_.two_pool : stats_.triangular) += 2;
  };

  std::unordered_map<std::uint64_t, std::vector<std::uint32_t>> by_pair;
  std::vector<std::vector<std::uint32_t>> adj(nt);
  for (std::uint32_t p = 0; p < np; ++p) {
    const PoolMeta& m = book.meta(p);
    by_pair[pair_key(m.token0, m.token1)].push_back(p);
    adj[m.token0].push_back(p);
    adj[m.token1].push_back(p);
  }
  if (cfg.two_pool) {
    for (std::uint32_t p = 0; p < np; ++p) {
      const PoolMeta& m = book.meta(p);
      for (std::uint32_t q : by_pair[pair_key(m.token0, m.token1)]) {
        if (q <= p) continue;
        const std::uint32_t pools[2] = {p, q};
        const std::uint32_t toks[2] = {m.token0, m.token1};
        add(pools, toks, 2);
      }
    }
  }
  if (cfg.triangular) {
    // Each triangle once: p is its lowest pool; walk p (u->v), q at v (v->w), r closing w->u.
    for (std::uint32_t p = 0; p < np; ++p) {
      const std::uint32_t u = book.meta(p).token0, v = book.meta(p).token1;
      for (std::uint32_t q : adj[v]) {
        if (q <= p) continue;
        const std::uint32_t w = other(q, v);
        if (w == u || w == v) continue;
        const auto it = by_pair.find(pair_key(w, u));
        if (it == by_pair.end()) continue;
        for (std::uint32_t r : it->second) {
          if (r <= p || r == q) continue;
          const std::uint32_t pools[3] = {p, q, r};
          const std::uint32_t toks[3] = {u, v, w};
          add(pools, toks, 3);
        }
      }
    }
  }
  // CSR pool -> cycles.
  offsets_.assign(np + 1, 0);
  for (const Cycle& c : cycles_)
    for (unsigned h = 0; h < c.hops; ++h) ++offsets_[c.pool[h] + 1];
  for (std::size_t i = 0; i < np; ++i) offsets_[i + 1] += offsets_[i];
  by_pool_.resize(offsets_[np]);
  std::vector<std::uint32_t> fill(offsets_.begin(), offsets_.end() - 1);
  for (const Cycle& c : cycles_)
    for (unsigned h = 0; h < c.hops; ++h) by_pool_[fill[c.pool[h]]++] = c;
  cycles_.shrink_to_fit();
}

}  // namespace torq::arb
