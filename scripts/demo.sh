#!/usr/bin/env bash
# The README's demo command: installs what is missing, builds, starts the local chain (Anvil,
# chain id 137) with Uniswap V2 pools on two venues and Uniswap V3 pools, starts the market-activity
# driver, and shows the appliance's pieces that exist today on this host: hardware topology,
# tuning check, and the dataplane latency benchmarks (Protocol V2 frames through the rings).
# Ctrl-C stops everything cleanly.
#
#   scripts/demo.sh [--rate N]     N market actions per second (default 5)
set -euo pipefail
cd "$(dirname "$0")/.."
rate=5
while [ $# -gt 0 ]; do
  case "$1" in
    --rate) rate=$2; shift 2 ;;
    *) echo "usage: scripts/demo.sh [--rate N]" >&2; exit 2 ;;
  esac
done

scripts/setup.sh
cmake -S . -B build/cmake -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/cmake -j "$(nproc)"

demo=build/demo
mkdir -p "$demo"
rm -f "$demo/manifest.json"
pids=()
cleanup() {
  trap - INT TERM EXIT
  echo; echo "demo: stopping"
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup INT TERM EXIT

node chain/fixture.mjs --out "$demo/manifest.json" > "$demo/fixture.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 120); do [ -s "$demo/manifest.json" ] && break; sleep 1; done
[ -s "$demo/manifest.json" ] || { echo "demo: chain fixture did not start, see $demo/fixture.log" >&2; exit 1; }
node -e '
  const m = JSON.parse(require("fs").readFileSync(process.argv[1]));
  console.log(`local chain: ${m.rpc.http}  (chain id ${m.chainId})`);
  console.log(`tokens: ${m.tokens.map(t => t.symbol + "(" + t.decimals + ")").join(" ")}`);
  console.log(`pools: ${m.pools.length} across ${[...new Set(m.pools.map(p => p.venue))].join(", ")}`);
' "$demo/manifest.json"

node chain/driver.mjs --manifest "$demo/manifest.json" --rate "$rate" > "$demo/driver.log" 2>&1 &
pids+=($!)
echo "market driver: $rate actions/s, log in $demo/driver.log"

echo; echo "== host topology (torq-hwinfo)"
build/cmake/hw/torq-hwinfo || true
echo; echo "== host tuning check (tuning/check; warnings are expected on a VM)"
tuning/check || true
echo; echo "== dataplane: Protocol V2 frames through the SPSC ring vs peers (bench_ring)"
if [ -x build/cmake/bench/ring/bench_ring ]; then build/cmake/bench/ring/bench_ring || true; fi

echo; echo "demo: chain and market driver keep running; Ctrl-C to stop."
echo "      recent market activity:"
tail -n 3 -f "$demo/driver.log"
