#!/usr/bin/env bash
# Tests of the torq-jitter executable: JSON shape and consistency on cpu 0 (about 200 ms), the
# unavailable-cyclictest path, a real cyclictest run (rt-tests; SKIP when cyclictest is not on PATH
# or we are not root: it runs SCHED_FIFO priority 95), and error exits. Asserts structure, not timing.
# usage: jitter_tool_test.sh PATH/TO/torq-jitter
source "$(dirname "${BASH_SOURCE[0]}")/../common/tool_test.sh"
JITTER=${1:?usage: jitter_tool_test.sh PATH/TO/torq-jitter}
need_node

"$JITTER" --cores 0 --duration-ms 200 --threshold-ns 100 --json >"$WORK/j.json"; rc=$?
if [[ $rc == 0 ]] && js "$WORK/j.json" '
  const c = d.cores[0];
  const fields = ["cpu","pinned","samples","elapsed_ns","count","dropped","p50_ns","p99_ns","p999_ns",
                  "max_ns","lost_ns","percent_lost","histogram","threshold_ns","mean_loop_ns"];
  d.tool === "torq-jitter" && d.duration_ms === 200 && d.threshold_ns === 100 && d.cores.length === 1 &&
  fields.every(f => f in c) && c.cpu === 0 && c.pinned === true && c.error === null && c.samples > 0 &&
  c.elapsed_ns >= 150e6 && c.p50_ns <= c.p99_ns && c.p99_ns <= c.p999_ns && c.p999_ns <= c.max_ns &&
  (c.count === 0 || c.p50_ns >= 100) &&
  c.histogram.reduce((s, b) => s + b.count, 0) === c.count &&
  c.histogram.every(b => b.lo_ns < b.hi_ns && b.count > 0) &&
  c.percent_lost >= 0 && c.percent_lost <= 100 && d.cyclictest.status === "not_requested"' >/dev/null; then
  pass ShouldEmitConsistentJsonForCpu0
else
  fail ShouldEmitConsistentJsonForCpu0 "rc=$rc"; cat "$WORK/j.json"
fi

"$JITTER" --cores 0 --duration-ms 20 >"$WORK/j.txt"; rc=$?
[[ $rc == 0 ]] && grep -q 'p99.9_ns' "$WORK/j.txt" && pass ShouldPrintATableWithoutJson || fail ShouldPrintATableWithoutJson "rc=$rc"

PATH=/nonexistent "$JITTER" --cores 0 --duration-ms 20 --cyclictest --json >"$WORK/u.json"; rc=$?
if [[ $rc == 0 ]] && js "$WORK/u.json" 'd.cyclictest.status === "unavailable" && d.cyclictest.threads.length === 0' >/dev/null; then
  pass ShouldReportCyclictestUnavailableWhenNotOnPath
else fail ShouldReportCyclictestUnavailableWhenNotOnPath "rc=$rc"; fi

# A real cyclictest run on (up to) two allowed cpus for 300 ms: 300 ms / 200 us interval = 1500 loops.
# cyclictest stops every thread as soon as the first one reaches -l, and a thread woken late skips the
# intervals it missed, so only the first thread to finish is sure to report exactly 1500 cycles; a thread
# that was held off (a loaded 2-vCPU CI machine) reports fewer.
skip() { echo "SKIP $1: $2"; }
if ! command -v cyclictest >/dev/null; then
  skip ShouldRunCyclictestAndParseItsSummary "cyclictest not on PATH (Debian package rt-tests)"
elif [[ $(id -u) != 0 ]]; then
  skip ShouldRunCyclictestAndParseItsSummary "cyclictest needs root for SCHED_FIFO priority 95"
else
  # The first two cpus this process may run on (Cpus_allowed_list, e.g. "0-1" or "2,4-7").
  ct_cores=$(awk '/^Cpus_allowed_list/ {print $2}' /proc/self/status | tr ',' '\n' |
    while IFS=- read -r lo hi; do for ((c = lo; c <= ${hi:-$lo}; c++)); do echo "$c"; done; done | head -n 2 | paste -sd,)
  "$JITTER" --cores "$ct_cores" --duration-ms 20 --cyclictest --cyclictest-ms 300 --json >"$WORK/c.json"; rc=$?
  if [[ $rc == 0 ]] && js "$WORK/c.json" '
    const ct = d.cyclictest, cpus = d.cores.map(c => c.cpu);
    ct.status === "ok" && !("detail" in ct) && ct.command.includes(" -l 1500") &&
    ct.command.includes(" -t " + cpus.length) && ct.threads.length === cpus.length &&
    new Set(ct.threads.map(t => t.thread)).size === cpus.length &&
    new Set(ct.threads.map(t => t.cpu)).size === cpus.length &&
    ct.threads.every(t => cpus.includes(t.cpu) && t.priority === 95 && t.interval_us === 200 &&
      t.cycles >= 1 && t.cycles <= 1500 && t.min_us <= t.avg_us && t.avg_us <= t.max_us && t.max_us < 10e6) &&
    Math.max(...ct.threads.map(t => t.cycles)) === 1500' >/dev/null; then
    pass ShouldRunCyclictestAndParseItsSummary
  else
    fail ShouldRunCyclictestAndParseItsSummary "rc=$rc"; cat "$WORK/c.json"
  fi
fi

"$JITTER" --cores 100000 --duration-ms 10 --json >"$WORK/e.json" 2>/dev/null; rc=$?
if [[ $rc == 64 ]]; then pass ShouldRejectCpuNumbersBeyondTheParserLimit
else fail ShouldRejectCpuNumbersBeyondTheParserLimit "rc=$rc"; fi

bad_cpu=$(( $(getconf _NPROCESSORS_CONF) + 7 ))
"$JITTER" --cores "$bad_cpu" --duration-ms 10 --json >"$WORK/e.json"; rc=$?
if [[ $rc == 1 ]] && js "$WORK/e.json" 'd.cores[0].pinned === false && d.cores[0].error.includes("cannot pin")' >/dev/null; then
  pass ShouldFailWhenACoreCannotBePinned
else fail ShouldFailWhenACoreCannotBePinned "rc=$rc"; fi

# --retention: per core, one point per idle spell (the first the baseline, ratio 1); without it null.
"$JITTER" --cores 0 --duration-ms 10 --retention --retention-kib 64 --retention-idle-us 0,50,5 --retention-walks 20 --json >"$WORK/r.json"; rc=$?
if [[ $rc == 0 ]] && js "$WORK/r.json" '
  const r = d.cores[0].retention;
  r !== null && r.lines === 1024 && r.bytes === 65536 && r.points.length === 3 &&
  r.points.map(p => p.idle_us).join() === "0,50,5" && r.points.every(p => p.walks === 20 &&
    p.p50_walk_ns > 0 && p.p50_walk_ns <= p.p90_walk_ns && Math.abs(p.p50_ns_per_line - p.p50_walk_ns / 1024) < 0.01) &&
  r.points[0].ratio === 1' >/dev/null && js "$WORK/j.json" 'd.cores[0].retention === null' >/dev/null; then
  pass ShouldMeasureCacheRetentionPerIdleSpell
else
  fail ShouldMeasureCacheRetentionPerIdleSpell "rc=$rc"; cat "$WORK/r.json"
fi
"$JITTER" --cores 0 --duration-ms 10 --retention --retention-kib 16 --retention-idle-us 0,10 --retention-walks 5 >"$WORK/r.txt"; rc=$?
[[ $rc == 0 ]] && grep -q 'cache retention, 16 KiB' "$WORK/r.txt" && pass ShouldPrintTheRetentionTable || fail ShouldPrintTheRetentionTable "rc=$rc"

bad_args=""
for args in "--duration-ms 0" "--duration-ms abc" "--cores" "--threshold-ns -5" "--frobnicate" "--cyclictest-ms 0" \
  "--retention-kib 0" "--retention-walks 0" "--retention-idle-us 1,,2" "--retention-idle-us 5," "--retention-idle-us abc" \
  "--retention-idle-us 2000000" "--retention-idle-us"; do
  # shellcheck disable=SC2086
  "$JITTER" $args >/dev/null 2>&1; rc=$?
  [[ $rc == 64 ]] || bad_args+=" '$args' gave rc=$rc;"
done
[[ -z $bad_args ]] && pass ShouldRejectBadArguments || fail ShouldRejectBadArguments "$bad_args"

finish
