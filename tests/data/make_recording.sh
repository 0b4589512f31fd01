#!/usr/bin/env bash
# Regenerates tests/data/torqd-recording.trec (docs/record-replay.md): starts the local chain
# (chain/fixture.mjs), records torqd's node session (--role collector --record) while
# chain/driver.mjs trades (with one reorg of depth 2 in between), stops torqd, then replays the recording once to add the replay's
# signals and decisions (--replay-out: the "blessed" file the regression test compares with) and
# once more to check that the blessed file replays identically.
#
#   tests/data/make_recording.sh BUILD_DIR [OUT_FILE] [DRIVER_SECONDS]
#
# Exit 0 on success, 77 when chain/node_modules or anvil is missing (skipped), else 1.
# Also used by the integration;chain test torqd_record_replay_chain (OUT_FILE in a temp dir).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="${1:?usage: make_recording.sh BUILD_DIR [OUT_FILE] [DRIVER_SECONDS]}"
out="${2:-$here/torqd-recording.trec}"
seconds="${3:-4}"
torqd="$build/control/torqd/torqd"
[ -x "$torqd" ] || torqd="$build/torqd"
[ -x "$torqd" ] || { echo "make_recording: no torqd under $build" >&2; exit 1; }
if [ ! -x "$root/chain/node_modules/.bin/anvil" ] && ! command -v anvil >/dev/null; then
  echo "make_recording: chain/node_modules or anvil missing: skipped" >&2
  exit 77
fi

work="$(mktemp -d /tmp/torq-recording.XXXXXX)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
  rm -f "/dev/shm/torq-rec-md-$$"  # the collector role's md ring (nobody consumed it)
}
trap cleanup EXIT

# 1. The chain.
node "$root/chain/fixture.mjs" --out "$work/chain.json" >"$work/fixture.out" 2>"$work/fixture.err" &
pids+=($!)
for _ in $(seq 1 600); do grep -q '"event":"ready"' "$work/fixture.out" 2>/dev/null && break; sleep 0.1; done
grep -q '"event":"ready"' "$work/fixture.out" || { echo "make_recording: fixture not ready" >&2; cat "$work/fixture.err" >&2; exit 1; }

# 2. torqd records its node session (collector role: no key, no contract).
"$torqd" --role collector --manifest "$work/chain.json" --md-link "shm:/torq-rec-md-$$" \
  --record "$work/live.trec" >"$work/torqd.out" 2>"$work/torqd.err" &
tpid=$!
pids+=($tpid)
for _ in $(seq 1 600); do grep -q '"event":"ready"' "$work/torqd.out" 2>/dev/null && break; sleep 0.1; done
grep -q '"event":"ready"' "$work/torqd.out" || { echo "make_recording: torqd not ready" >&2; cat "$work/torqd.err" >&2; exit 1; }

# 3. Trades on the chain (deterministic seed), a reorg of depth 2 (anvil_reorg: the session
#    resolves it with eth_getBlockByNumber and publishes a ReorgNotice + snapshots), more trades,
#    then a quiet second.
node "$root/chain/driver.mjs" --manifest "$work/chain.json" --rate 8 --duration-s "$seconds" --seed 7 >"$work/driver.out" 2>&1
rpc="$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).rpc.http)' "$work/chain.json")"
node -e 'fetch(process.argv[1],{method:"POST",headers:{"content-type":"application/json"},body:JSON.stringify({jsonrpc:"2.0",id:1,method:"anvil_reorg",params:[2,[]]})}).then(r=>r.json()).then(j=>{if(j.error){console.error(JSON.stringify(j.error));process.exit(1)}})' "$rpc"
node "$root/chain/driver.mjs" --manifest "$work/chain.json" --rate 8 --duration-s 2 --seed 8 >>"$work/driver.out" 2>&1
sleep 1
kill -TERM "$tpid"
wait "$tpid" || { echo "make_recording: torqd exited with an error" >&2; cat "$work/torqd.err" >&2; exit 1; }

# 4. Replay the live recording: every frame must match; write the blessed file.
"$torqd" --replay "$work/live.trec" --replay-out "$out" >"$work/replay1.json" || {
  echo "make_recording: the live recording does not replay identically:" >&2; cat "$work/replay1.json" >&2; exit 1; }
# 5. The blessed file replays identically (frames, signals, decisions).
"$torqd" --replay "$out" >"$work/replay2.json" || {
  echo "make_recording: the blessed recording does not replay identically:" >&2; cat "$work/replay2.json" >&2; exit 1; }
cat "$work/replay2.json"
echo "make_recording: $(stat -c %s "$out") bytes in $out" >&2
