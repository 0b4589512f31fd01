// torq/torqd/pool_resolve.hpp — torqd's pool list from the configuration file alone: the
// [[tokens]], [[venues]] and [[pools]] sections resolved on chain at start-up, for deployments
// without a local-chain manifest (Polygon mainnet: config/polygon-mainnet.toml).
//
// Owns: resolve_config_pools(). For every [[pools]] entry it reads token0() and token1() (and
// fee() and tickSpacing() of a V3 pool) with one batched eth_call, takes each token's symbol and
// decimals from [[tokens]] when listed there (the config's symbols are the ones risk limits are
// keyed by: "USDC.e" and "USDC" are both "USDC" on chain) and from the token contract otherwise,
// and writes the result as a pool list in the manifest format (docs/local-chain.md: chainId, rpc,
// tokens, pools) to `out_path` atomically (temporary file + rename). torqd then loads that file as
// it loads a manifest, so recording, replay and the operator surface see the same pool list.
// V2 fees come from the venue's fee (ppm); Algebra pools (dynamic fee) are refused.
// Start-up code: allocates, makes blocking RPC calls, throws std::runtime_error naming the pool
// or token and what went wrong. Thread-safety: none needed (called once, before threads start).
#pragma once

#include <string>

#include "torq/torqd/options.hpp"

namespace torq::torqd {

// Resolves opt.config_pools against the node at opt.rpc_http (or the HTTP form of opt.rpc_ws)
// and writes the pool list to out_path. Returns out_path.
std::string resolve_config_pools(const Options& opt, const std::string& out_path);

// Where torqd writes the resolved list: next to the audit log, "torq-pools-<chain id>.json".
[[nodiscard]] std::string resolved_pool_list_path(const Options& opt);

}  // namespace torq::torqd
