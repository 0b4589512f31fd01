#!/usr/bin/env bash
# Tests of tuning/check and tuning/apply against fabricated sysfs/procfs trees (and, read-only,
# the live host). Never changes the host: apply runs only with --dry-run or with --root on a
# temporary tree.
# usage: check_apply_test.sh TUNING_DIR
source "$(dirname "${BASH_SOURCE[0]}")/../common/tool_test.sh"
TUNING=${1:?usage: check_apply_test.sh TUNING_DIR}
CHECK=(bash "$TUNING/check")  # via bash: works without the exec bit
APPLY=(bash "$TUNING/apply")
need_node

ALL_ITEMS='["kernel","isolcpus","nohz_full","rcu_nocbs","irqbalance","irq_affinity","governor","turbo","cstates","thp","swap","swappiness","hugepages","nmi_watchdog","timer_migration","smt","l3"]'

w() { mkdir -p "$(dirname "$1")"; printf '%s\n' "$2" >"$1"; }

# make_tree DIR good|bad: a 4-cpu host meant to run hot threads on cpus 2-3.
make_tree() {
  local r=$1 kind=$2 c s
  if [[ $kind == good ]]; then
    w "$r/proc/cmdline" "BOOT_IMAGE=/vmlinuz root=/dev/sda1 isolcpus=managed_irq,domain,2-3 nohz_full=2-3 rcu_nocbs=2-3 intel_idle.max_cstate=1 -- initarg"
  else
    w "$r/proc/cmdline" "BOOT_IMAGE=/vmlinuz root=/dev/sda1 quiet"
  fi
  w "$r/proc/sys/kernel/osrelease" "6.1.0-18-amd64"
  w "$r/sys/devices/system/cpu/online" "0-3"
  w "$r/proc/1/comm" "systemd"
  w "$r/proc/swaps" "Filename				Type		Size		Used		Priority"
  w "$r/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages" "1024"
  for s in 10 11; do w "$r/proc/irq/$s/smp_affinity_list" "0-1"; done
  w "$r/proc/irq/default_smp_affinity" "3"
  w "$r/sys/devices/system/cpu/smt/control" "notsupported"
  for c in 0 1 2 3; do
    local d="$r/sys/devices/system/cpu/cpu$c"
    w "$d/cpufreq/scaling_governor" performance
    w "$d/topology/thread_siblings_list" "$c"
    w "$d/cache/index0/level" 1; w "$d/cache/index0/shared_cpu_list" "$c"
    w "$d/cache/index3/level" 3; w "$d/cache/index3/shared_cpu_list" "0-3"
    w "$d/cpuidle/state0/name" POLL; w "$d/cpuidle/state0/latency" 0; w "$d/cpuidle/state0/disable" 0
    w "$d/cpuidle/state1/name" C1; w "$d/cpuidle/state1/latency" 1; w "$d/cpuidle/state1/disable" 0
    w "$d/cpuidle/state2/name" C6; w "$d/cpuidle/state2/latency" 133; w "$d/cpuidle/state2/disable" 1
  done
  w "$r/sys/devices/system/cpu/intel_pstate/no_turbo" 1
  w "$r/sys/kernel/mm/transparent_hugepage/enabled" "always madvise [never]"
  w "$r/sys/kernel/mm/transparent_hugepage/defrag" "always defer defer+madvise madvise [never]"
  w "$r/proc/sys/vm/swappiness" 1
  w "$r/proc/sys/kernel/nmi_watchdog" 0
  w "$r/proc/sys/kernel/timer_migration" 0
  if [[ $kind == good ]]; then
    w "$r/sys/devices/system/cpu/isolated" "2-3"
    w "$r/sys/devices/system/cpu/nohz_full" "2-3"
    return
  fi
  # bad: nothing isolated, IRQs everywhere, power saving on, irqbalance running, SMT sibling busy.
  w "$r/sys/devices/system/cpu/isolated" ""
  w "$r/sys/devices/system/cpu/nohz_full" "(null)"
  w "$r/proc/77/comm" "irqbalance"
  for s in 10 11; do w "$r/proc/irq/$s/smp_affinity_list" "0-3"; done
  w "$r/proc/irq/default_smp_affinity" "f"
  for c in 0 1 2 3; do
    local d="$r/sys/devices/system/cpu/cpu$c"
    w "$d/cpufreq/scaling_governor" powersave
    w "$d/cpuidle/state2/disable" 0
  done
  w "$r/sys/devices/system/cpu/cpu0/topology/thread_siblings_list" "0,2"
  w "$r/sys/devices/system/cpu/cpu2/topology/thread_siblings_list" "0,2"
  # cpus 0-2 share one L3, cpu 3 has its own: the hot cores 2-3 span two.
  for c in 0 1 2; do w "$r/sys/devices/system/cpu/cpu$c/cache/index3/shared_cpu_list" "0-2"; done
  w "$r/sys/devices/system/cpu/cpu3/cache/index3/shared_cpu_list" "3"
  w "$r/sys/devices/system/cpu/intel_pstate/no_turbo" 0
  w "$r/sys/kernel/mm/transparent_hugepage/enabled" "[always] madvise never"
  w "$r/proc/swaps" "Filename				Type		Size		Used		Priority
/swapfile                               file		1048572		0		-2"
  w "$r/proc/sys/vm/swappiness" 60
  w "$r/proc/sys/kernel/nmi_watchdog" 1
  w "$r/proc/sys/kernel/timer_migration" 1
  w "$r/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages" 0
}

snapshot() { (cd "$1" && find . -type f -print0 | sort -z | xargs -0 md5sum); }

GOOD="$WORK/good" BAD="$WORK/bad" EMPTY="$WORK/empty"
make_tree "$GOOD" good
make_tree "$BAD" bad
mkdir -p "$EMPTY"

# --- check on the live host: valid JSON with every item; never crashes --------------------------
"${CHECK[@]}" --json >"$WORK/host.json"; rc=$?
if [[ $rc == 0 || $rc == 2 ]] && js "$WORK/host.json" "$ALL_ITEMS.every(n => d.items.some(i => i.item === n)) && d.items.length === 17" >/dev/null; then
  pass ShouldEmitValidJsonWithEveryItemOnTheLiveHost
else
  fail ShouldEmitValidJsonWithEveryItemOnTheLiveHost "rc=$rc"; cat "$WORK/host.json"
fi
"${CHECK[@]}" >"$WORK/host.txt"; rc=$?
if [[ $rc == 0 || $rc == 2 ]] && grep -q '^isolcpus ' "$WORK/host.txt" && grep -q 'pass,.*warn,.*fail' "$WORK/host.txt"; then
  pass ShouldPrintTheTableOnTheLiveHost
else fail ShouldPrintTheTableOnTheLiveHost "rc=$rc"; fi

# --- good tree: all pass, exit 0 -------------------------------------------------------------------
"${CHECK[@]}" --root "$GOOD" --json >"$WORK/good.json"; rc=$?
if [[ $rc == 0 ]] && js "$WORK/good.json" 'd.summary.fail === 0 && d.summary.warn === 0 && d.items.every(i => i.status === "pass") && d.target_cores.join() === "2,3"' >/dev/null; then
  pass ShouldPassEveryItemWhenTheHostIsTuned
else
  fail ShouldPassEveryItemWhenTheHostIsTuned "rc=$rc"; js "$WORK/good.json" 'd.items.filter(i => i.status !== "pass")'
fi
TORQ_SYSROOT="$GOOD" "${CHECK[@]}" --strict >/dev/null; rc=$?
[[ $rc == 0 ]] && pass ShouldHonourTorqSysrootEnvironment || fail ShouldHonourTorqSysrootEnvironment "rc=$rc"

# --- bad tree: fail verdicts with the fix, exit 2 ----------------------------------------------------
"${CHECK[@]}" --root "$BAD" --cores 2-3 --json >"$WORK/bad.json"; rc=$?
expect_fail='["isolcpus","nohz_full","rcu_nocbs","irq_affinity","governor","cstates","thp","nmi_watchdog","smt"]'
expect_warn='["irqbalance","turbo","swap","swappiness","hugepages","timer_migration","l3"]'
if [[ $rc == 2 ]] && js "$WORK/bad.json" "
  const st = n => d.items.find(i => i.item === n).status;
  $expect_fail.every(n => st(n) === 'fail') && $expect_warn.every(n => st(n) === 'warn') &&
  d.items.filter(i => i.status !== 'pass').every(i => i.fix.length > 5 && i.fix !== '-')" >/dev/null; then
  pass ShouldFailWithFixWhenTheHostIsNotTuned
else
  fail ShouldFailWithFixWhenTheHostIsNotTuned "rc=$rc"; js "$WORK/bad.json" 'd.items.map(i => i.item + "=" + i.status).join(" ")'
fi
if js "$WORK/bad.json" 'd.items.find(i => i.item === "isolcpus").fix.includes("isolcpus=managed_irq,domain,2-3")' >/dev/null; then
  pass ShouldNameTheTargetCoresInTheFix
else fail ShouldNameTheTargetCoresInTheFix "$(js "$WORK/bad.json" 'd.items[1].fix')"; fi
if js "$WORK/good.json" 'd.items.find(i => i.item === "l3").value === "one L3 domain: 2-3 (L3 of 0-3)"' >/dev/null &&
   js "$WORK/bad.json" 'd.items.find(i => i.item === "l3").value === "2 L3 domains: 2 (L3 of 0-2); 3 (L3 of 3)"' >/dev/null; then
  pass ShouldNameTheL3DomainsOfTheHotCores
else fail ShouldNameTheL3DomainsOfTheHotCores "$(js "$WORK/good.json" 'd.items.find(i => i.item === "l3").value') / $(js "$WORK/bad.json" 'd.items.find(i => i.item === "l3").value')"; fi
"${CHECK[@]}" --root "$BAD" --cores 2-3 | grep -q 'fix: .*nmi_watchdog=0' && pass ShouldPrintFixLinesInTheTable || fail ShouldPrintFixLinesInTheTable "no fix line"

# --- no isolated cores: isolcpus fails even without --cores ------------------------------------------
"${CHECK[@]}" --root "$BAD" --json >"$WORK/bad2.json"; rc=$?
if [[ $rc == 2 ]] && js "$WORK/bad2.json" 'd.items.find(i => i.item === "isolcpus").status === "fail" && d.target_cores.length === 0' >/dev/null; then
  pass ShouldFailIsolcpusWhenNoCoreIsIsolated
else fail ShouldFailIsolcpusWhenNoCoreIsIsolated "rc=$rc"; fi

# --- empty tree: unknown values, no crash -------------------------------------------------------------
"${CHECK[@]}" --root "$EMPTY" --json >"$WORK/empty.json" 2>"$WORK/empty.err"; rc=$?
if [[ $rc == 2 ]] && [[ ! -s $WORK/empty.err ]] && js "$WORK/empty.json" "$ALL_ITEMS.every(n => d.items.some(i => i.item === n)) && d.items.filter(i => i.value.startsWith('unknown')).length >= 8" >/dev/null; then
  pass ShouldReportUnknownInsteadOfCrashingWhenFilesAreMissing
else fail ShouldReportUnknownInsteadOfCrashingWhenFilesAreMissing "rc=$rc $(cat "$WORK/empty.err")"; fi

# --- usage errors --------------------------------------------------------------------------------------
"${CHECK[@]}" --bogus >/dev/null 2>&1; rc=$?
[[ $rc == 64 ]] && pass ShouldRejectUnknownArguments || fail ShouldRejectUnknownArguments "rc=$rc"
"${APPLY[@]}" --dry-run --root "$WORK/does-not-exist" >/dev/null 2>&1; rc=$?
[[ $rc == 64 ]] && pass ShouldRejectAMissingRoot || fail ShouldRejectAMissingRoot "rc=$rc"

# --- apply --dry-run writes nothing and prints the boot parameters -------------------------------------
before="$(snapshot "$BAD")"
"${APPLY[@]}" --dry-run --root "$BAD" --cores 2-3 >"$WORK/dry.txt"; rc=$?
after="$(snapshot "$BAD")"
if [[ $rc == 0 && $before == "$after" ]] && grep -q 'would write never to /sys/kernel/mm/transparent_hugepage/enabled' "$WORK/dry.txt" \
   && grep -q 'isolcpus=managed_irq,domain,2-3' "$WORK/dry.txt" && grep -q 'nohz_full=2-3' "$WORK/dry.txt" \
   && grep -q 'rcu_nocbs=2-3' "$WORK/dry.txt" && grep -q 'intel_idle.max_cstate=1' "$WORK/dry.txt" \
   && grep -q 'processor.max_cstate=1' "$WORK/dry.txt" && grep -q 'irqaffinity=0-1' "$WORK/dry.txt"; then
  pass ShouldChangeNothingAndPrintBootParametersWhenDryRun; fake_dry_ok=1
else fail ShouldChangeNothingAndPrintBootParametersWhenDryRun "rc=$rc"; cat "$WORK/dry.txt"; fake_dry_ok=0; fi

# Live host, dry run only: the runtime knobs it would touch must be unchanged afterwards.
host_state() {
  local f
  for f in /proc/sys/vm/swappiness /proc/sys/kernel/timer_migration /proc/sys/kernel/nmi_watchdog \
           /sys/kernel/mm/transparent_hugepage/enabled /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages \
           /proc/irq/default_smp_affinity /proc/irq/*/smp_affinity_list; do
    [[ -r $f ]] && printf '%s=%s\n' "$f" "$(cat "$f" 2>/dev/null)"
  done
}
# Safety belt: only touch the live host when the dry run provably wrote nothing on the fake tree.
before="$(host_state)" rc=99
((fake_dry_ok)) && { "${APPLY[@]}" --dry-run --cores 0 >"$WORK/hostdry.txt"; rc=$?; }
after="$(host_state)"
if [[ $rc == 0 && $before == "$after" ]] && grep -q 'nothing was written' "$WORK/hostdry.txt" && grep -q '^recommended: isolcpus=' "$WORK/hostdry.txt"; then
  pass ShouldLeaveTheLiveHostUnchangedWhenDryRun
else fail ShouldLeaveTheLiveHostUnchangedWhenDryRun "rc=$rc"; fi

# --- apply on the fake tree: runtime items pass afterwards, boot items still fail ----------------------
"${APPLY[@]}" --root "$BAD" --cores 2-3 --hugepages 512 >"$WORK/apply.txt"; rc=$?
"${CHECK[@]}" --root "$BAD" --cores 2-3 --min-hugepages 512 --json >"$WORK/after.json"
runtime='["irq_affinity","governor","cstates","thp","swappiness","hugepages","nmi_watchdog","timer_migration"]'
boot='["isolcpus","nohz_full","rcu_nocbs","smt"]'
if [[ $rc == 0 ]] && js "$WORK/after.json" "
  const st = n => d.items.find(i => i.item === n).status;
  $runtime.every(n => st(n) === 'pass') && $boot.every(n => st(n) === 'fail')" >/dev/null \
   && [[ "$(cat "$BAD/proc/irq/10/smp_affinity_list")" == "0-1" ]] \
   && [[ "$(cat "$BAD/sys/devices/system/cpu/cpu2/cpuidle/state2/disable")" == 1 ]] \
   && [[ "$(cat "$BAD/sys/devices/system/cpu/cpu0/cpuidle/state2/disable")" == 0 ]]; then
  pass ShouldFixEveryRuntimeItemWhenApplied
else
  fail ShouldFixEveryRuntimeItemWhenApplied "rc=$rc"; cat "$WORK/apply.txt"
  js "$WORK/after.json" 'd.items.map(i => i.item + "=" + i.status).join(" ")'
fi

# --- an IRQ moved but still effective on a hot core (x86 moves it when it next fires) ---------------
# Seen on a lent VM: two never-firing IRQs kept their old effective affinity after apply.
PEND="$WORK/pend"
cp -r "$BAD" "$PEND"
w "$PEND/proc/irq/12/smp_affinity_list" "0-1"
w "$PEND/proc/irq/12/effective_affinity_list" "3"
"${CHECK[@]}" --root "$PEND" --cores 2-3 --json >"$WORK/pend.json"
if js "$WORK/pend.json" '
  const i = d.items.find(i => i.item === "irq_affinity");
  i.status === "warn" && i.value.includes("(irq 12)") && i.value.includes("next interrupt")' >/dev/null; then
  pass ShouldWarnNotFailForAnIrqMovedButStillEffectiveOnAHotCore
else fail ShouldWarnNotFailForAnIrqMovedButStillEffectiveOnAHotCore "$(cat "$WORK/pend.json")"; fi
w "$PEND/proc/irq/13/smp_affinity_list" "2-3"
w "$PEND/proc/irq/13/effective_affinity_list" "2"
"${CHECK[@]}" --root "$PEND" --cores 2-3 --json >"$WORK/pend2.json"
if js "$WORK/pend2.json" '
  const i = d.items.find(i => i.item === "irq_affinity");
  i.status === "fail" && i.value.startsWith("1 of ") && i.value.includes("(irq 13)") && i.value.includes("(irq 12)")' >/dev/null; then
  pass ShouldFailForAnIrqRequestedOnAHotCoreAndStillNameThePendingOnes
else fail ShouldFailForAnIrqRequestedOnAHotCoreAndStillNameThePendingOnes "$(cat "$WORK/pend2.json")"; fi
APEND="$WORK/apend"
make_tree "$APEND" bad
w "$APEND/proc/irq/14/smp_affinity_list" "0-3"
w "$APEND/proc/irq/14/effective_affinity_list" "2"
"${APPLY[@]}" --root "$APEND" --cores 2-3 --hugepages 0 >"$WORK/apend.txt"; rc=$?
if [[ $rc == 0 && "$(cat "$APEND/proc/irq/14/smp_affinity_list")" == "0-1" ]] \
   && grep -q 'note: 1 IRQs still effective on cpus 2-3 until their next interrupt (irq 14)' "$WORK/apend.txt"; then
  pass ShouldReportAnIrqWhoseMoveIsNotYetEffectiveWhenApplied
else fail ShouldReportAnIrqWhoseMoveIsNotYetEffectiveWhenApplied "rc=$rc: $(cat "$WORK/apend.txt")"; fi

finish
