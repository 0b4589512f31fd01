#!/usr/bin/env bash
# The README's demo command. On a fresh Debian machine: installs what is missing, builds, starts
# the local chain (Anvil, chain id 137) with Uniswap V2 pools on two venues and Uniswap V3 pools,
# deploys Torq's TorqArbitrage contract, starts the market-activity driver and torqd (monolith by
# default), prints the dashboard URL and torqctl examples, and shows realized P&L as trades land.
# Ctrl-C stops everything cleanly (torqd drains its rings and flushes the audit log).
#
#   scripts/demo.sh [--distributed] [--rate N] [--port P]
#     --distributed   collector, strategy and executor as three torqd processes over shm rings
#     --rate N        market-driver actions per second (default 8)
#     --port P        operator API / dashboard port (default 8787)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
rate=8
port=8787
distributed=0
while [ $# -gt 0 ]; do
  case "$1" in
    --distributed) distributed=1; shift ;;
    --rate) rate=$2; shift 2 ;;
    --port) port=$2; shift 2 ;;
    *) echo "usage: scripts/demo.sh [--distributed] [--rate N] [--port P]" >&2; exit 2 ;;
  esac
done

scripts/setup.sh
cmake -S . -B build/cmake -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/cmake -j "$(nproc)" --target torqd torqctl torq-audit

demo="$root/build/demo"
rm -rf "$demo"
mkdir -p "$demo"
chmod 700 "$demo"
bin="$root/build/cmake"
pids=()
cleanup() {
  trap - INT TERM EXIT
  echo
  echo "demo: stopping (torqd drains and flushes its audit log)"
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill -TERM "${pids[i]}" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -f "$demo/audit.log" ]; then
    echo "demo: audit log $demo/audit.log — verify with: $bin/strategy/risk/torq-audit $demo/audit.log"
  fi
}
# Ctrl-C / SIGTERM: stop everything and exit 0 (a trap that only cleaned up would return into the
# monitoring loop below, which then reported the stopped components as crashed and exited 1).
on_signal() {
  cleanup
  exit 0
}
trap on_signal INT TERM
trap cleanup EXIT

echo "demo: starting the local chain"
node chain/fixture.mjs --out "$demo/manifest.json" > "$demo/fixture.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 120); do
  grep -q '"event":"ready"' "$demo/fixture.log" 2>/dev/null && break
  kill -0 "${pids[0]}" 2>/dev/null || break
  sleep 1
done
grep -q '"event":"ready"' "$demo/fixture.log" || { echo "demo: chain fixture did not start, see $demo/fixture.log" >&2; exit 1; }
node -e '
  const m = JSON.parse(require("fs").readFileSync(process.argv[1]));
  console.log(`demo: chain ${m.rpc.http} (chain id ${m.chainId}); tokens ${m.tokens.map(t => t.symbol + "/" + t.decimals).join(" ")}`);
  console.log(`demo: ${m.pools.length} pools on ${[...new Set(m.pools.map(p => p.venue))].join(", ")}`);
' "$demo/manifest.json"

deploy=$(node tests/e2e/chain_tool.mjs deploy --manifest "$demo/manifest.json" --key-out "$demo/executor.key")
contract=$(node -e 'console.log(JSON.parse(process.argv[1]).contract)' "$deploy")
echo "demo: TorqArbitrage deployed at $contract (owner = the executor account; key in a 0600 file)"

umask 077
head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$demo/api.token"
umask 022
export TORQ_CHAIN_MANIFEST="$demo/manifest.json" TORQ_API_TOKEN_FILE="$demo/api.token" TORQ_STATE_DIR="$demo"
sed "s/^port = 8787/port = $port/" config/local.toml > "$demo/torqd.toml"

common=(--config "$demo/torqd.toml" --manifest "$demo/manifest.json")
if [ "$distributed" -eq 1 ]; then
  echo "demo: torqd distributed: collector, strategy, executor over shm rings"
  "$bin/control/torqd/torqd" "${common[@]}" --role executor --signal-link shm:/torq-demo-signals \
    --key-file "$demo/executor.key" --contract "$contract" --audit "$demo/audit.log" > "$demo/executor.log" 2>&1 &
  pids+=($!)
  "$bin/control/torqd/torqd" --manifest "$demo/manifest.json" --role strategy --md-link shm:/torq-demo-md \
    --signal-link shm:/torq-demo-signals > "$demo/strategy.log" 2>&1 &
  pids+=($!)
  "$bin/control/torqd/torqd" --manifest "$demo/manifest.json" --role collector --md-link shm:/torq-demo-md \
    > "$demo/collector.log" 2>&1 &
  pids+=($!)
else
  echo "demo: torqd monolith"
  "$bin/control/torqd/torqd" "${common[@]}" --key-file "$demo/executor.key" --contract "$contract" \
    --audit "$demo/audit.log" > "$demo/torqd.log" 2>&1 &
  pids+=($!)
fi

node chain/driver.mjs --manifest "$demo/manifest.json" --rate "$rate" > "$demo/driver.log" 2>&1 &
pids+=($!)

token=$(cat "$demo/api.token")
torqctl=("$bin/control/operator/torqctl" --url "http://127.0.0.1:$port" --token-file "$demo/api.token")
cat <<EOM

  dashboard:  http://127.0.0.1:$port/#token=$token
  torqctl:    $bin/control/operator/torqctl --url http://127.0.0.1:$port --token-file $demo/api.token pnl
              (also: status, pools, opportunities, trades, risk show, latency, kill, resume; --json)
  logs:       $demo/*.log      audit log: $demo/audit.log

demo: market driver at $rate actions/s; trades appear as dislocations open. Ctrl-C to stop.
EOM

while true; do
  sleep 10
  for p in "${pids[@]}"; do
    kill -0 "$p" 2>/dev/null || { echo "demo: a component exited (pid $p); see $demo/*.log" >&2; exit 1; }
  done
  "${torqctl[@]}" pnl 2>/dev/null | head -n 8 || echo "demo: (operator API not answering yet)"
done
