#!/usr/bin/env bash
# The latency-harness benchmarks' command lines (torq/bench/args.hpp): --help prints the usage and
# exits 0 without measuring; an unknown option, a bad number, a value out of range, a word not in
# the list or a missing value exits 64 (EX_USAGE) with the reason on stderr, before any measurement.
# Usage: bench_cli_test.sh BENCH_BINARY...
source "$(dirname "${BASH_SOURCE[0]}")/../common/tool_test.sh"

# Bad arguments for a given benchmark (each a whole argument list), beyond the common ones.
bad_args_for() {
  case "$1" in
    bench_tick_to_signal) printf '%s\n' "--sizing closedform" "--pools 1000,abc" "--pools 1000," "--events 1e6" \
      "--cache-hints maybe" "--gap-us 0" "--gap-us 5x" ;;
    bench_tick_to_tx) printf '%s\n' "--batch 600" "--batch 0" "--threads 2" "--ticks -5" ;;
    bench_transports) printf '%s\n' "--only udpp" "--only shm,,udp" "--messages 0" ;;
    bench_link_repair) printf '%s\n' "--drop-every 1" "--frames 10k" ;;
    bench_replay) printf '%s\n' "--cpu -1" "--iterations 0" "--file" ;;
    bench_ring) printf '%s\n' "--runs 0" "--torq-ring-bytes 5000" "--consumer-idle sleep" "--frames 99999999999999999999" ;;
    bench_amm_exactness) printf '%s\n' "--seed 1;true" "--v2 x" "--cases" ;;
    bench_modes) printf '%s\n' "--ticks 0" "--ticks" "--cpus 1" "--cpus 1,1" "--cpus 0,4095" "--cpus a,b" ;;
  esac
}

for bin in "$@"; do
  name=$(basename "$bin")
  out=$("$bin" --help 2>&1); rc=$?
  if [[ $rc == 0 && $out == *"usage: $name"* ]]; then pass "$name --help"; else fail "$name --help" "rc=$rc: $out"; fi
  while IFS= read -r args; do
    # shellcheck disable=SC2086
    err=$(timeout 20 "$bin" $args 2>&1 >/dev/null); rc=$?
    if [[ $rc == 64 && $err == *"$name: "* && $err == *"usage: $name"* ]]; then pass "$name $args"
    else fail "$name $args" "rc=$rc: $err"; fi
  done < <(printf '%s\n' "--frobnicate" "-x 1"; bad_args_for "$name")
done
# An environment value that reaches a shell command line is checked too.
for bin in "$@"; do
  [[ $(basename "$bin") == bench_amm_exactness ]] || continue
  err=$(TORQ_AMM_SEED='1; true' timeout 20 "$bin" 2>&1 >/dev/null); rc=$?
  if [[ $rc == 64 && $err == *TORQ_AMM_SEED* ]]; then pass "bench_amm_exactness TORQ_AMM_SEED='1; true'"
  else fail "bench_amm_exactness TORQ_AMM_SEED" "rc=$rc: $err"; fi
done

finish
