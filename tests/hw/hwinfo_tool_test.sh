#!/usr/bin/env bash
# Tests of the torq-hwinfo executable: its JSON agrees with what the kernel says about this host
# (online and allowed cpus, every allowed cpu in exactly one core, NUMA node and package, the TSC
# in Hz with a mult/shift pair that converts it back), the table names the same cpus, --help
# exits 0 and bad usage exits 64 with the reason. Asserts facts, not timing.
# usage: hwinfo_tool_test.sh PATH/TO/torq-hwinfo
source "$(dirname "${BASH_SOURCE[0]}")/../common/tool_test.sh"
HWINFO=${1:?usage: hwinfo_tool_test.sh PATH/TO/torq-hwinfo}
need_node

# The kernel's view: the cpus this process may run on (a 0-3,6 style list) as a JSON array.
allowed=$(grep '^Cpus_allowed_list:' /proc/self/status | awk '{print $2}')
allowed_json=$(node -e 'const out = [];
  for (const part of process.argv[1].split(",")) { const [a, b] = part.split("-").map(Number);
    for (let c = a; c <= (b ?? a); ++c) out.push(c); }
  console.log(JSON.stringify(out));' "$allowed")

"$HWINFO" --json --calibration-ms 100 >"$WORK/h.json" 2>"$WORK/h.err"; rc=$?
if [[ $rc == 0 ]] && js "$WORK/h.json" '
  const allowed = JSON.parse(arg);
  const same = (a, b) => JSON.stringify([...a].sort((x, y) => x - y)) === JSON.stringify([...b].sort((x, y) => x - y));
  const once = (groups) => allowed.every(c => groups.filter(g => g.cpus.includes(c)).length === 1);
  same(d.allowed_cpus, allowed) && allowed.every(c => d.cpus.includes(c)) &&
  once(d.cores) && once(d.numa_nodes) && once(d.packages) &&
  d.cores.every(k => d.packages.some(p => p.os_index === k.package) && d.numa_nodes.some(n => n.os_index === k.numa_node)) &&
  d.numa_nodes.every(n => n.memory_bytes > 0) && d.numa_supported_nodes >= 1 &&
  typeof d.cpu_model === "string" && d.cpu_model === d.cpu_model.trim() &&
  d.smt === d.cores.some(k => k.cpus.length > 1) &&
  d.isolation.online.length >= allowed.length && Array.isArray(d.isolation.warnings) &&
  d.tsc.calibration_ms === 100 && d.tsc.error === null && typeof d.tsc.invariant === "boolean"' "$allowed_json" >/dev/null
then pass ShouldDescribeTheCpusThisProcessMayUse
else fail ShouldDescribeTheCpusThisProcessMayUse "rc=$rc allowed=$allowed $(cat "$WORK/h.err")"; fi

# The calibration itself is checked against CLOCK_MONOTONIC_RAW in hw_test; here: the tool reports
# it in Hz (a unit slip would be off by 10^3 or more) and its mult/shift pair converts 1 s of ticks
# back to 1 s (ns = ticks * mult >> shift, within 0.01 %).
if js "$WORK/h.json" 'const hz = d.tsc.hz; hz > 0.5e9 && hz < 10e9 &&
    Math.abs(Number((BigInt(Math.round(hz)) * BigInt(d.tsc.mult)) >> BigInt(d.tsc.shift)) / 1e9 - 1) < 1e-4' >/dev/null; then
  pass ShouldReportTheTscInHzWithAConsistentScale
else fail ShouldReportTheTscInHzWithAConsistentScale "$(js "$WORK/h.json" 'JSON.stringify(d.tsc)' 2>&1)"; fi

"$HWINFO" --calibration-ms 20 >"$WORK/t.txt" 2>&1; rc=$?
cpus_line=$(grep '^Allowed CPUs' "$WORK/t.txt" | awk '{print $3}')
if [[ $rc == 0 && $cpus_line == "$allowed" ]] && grep -q '^Isolation' "$WORK/t.txt"; then pass ShouldPrintTheSameCpusAsATable
else fail ShouldPrintTheSameCpusAsATable "rc=$rc table '$cpus_line' kernel '$allowed'"; fi

out=$("$HWINFO" --help 2>&1); rc=$?
if [[ $rc == 0 && $out == *"usage: torq-hwinfo"* && $out == *"64 bad usage"* ]]; then pass ShouldPrintUsageForHelp
else fail ShouldPrintUsageForHelp "rc=$rc"; fi

bad_args=""
for args in "--calibration-ms 0" "--calibration-ms 10001" "--calibration-ms abc" "--calibration-ms -5" \
            "--calibration-ms 99999999999999999999" "--calibration-ms" "--frobnicate" "json"; do
  # shellcheck disable=SC2086
  err=$("$HWINFO" $args 2>&1 >/dev/null); rc=$?
  [[ $rc == 64 && $err == *"torq-hwinfo: "* && $err == *"usage: torq-hwinfo"* ]] || bad_args+=" '$args' gave rc=$rc;"
done
[[ -z $bad_args ]] && pass ShouldRejectBadArgumentsWithTheReason || fail ShouldRejectBadArgumentsWithTheReason "$bad_args"

finish
