#!/usr/bin/env bash
# The README's test command: installs what is missing, builds everything with CMake and with Meson,
# runs the whole test suite once (ctest), then the ASan/UBSan build of the unit tests (clang) and
# each libFuzzer target for a bounded time.
#
#   scripts/test.sh            everything (what CI runs)
#   TORQ_FUZZ_SECONDS=N        seconds per fuzz target (default 50: ten targets, about 9 minutes)
#   TORQ_JOBS=N                build parallelism (default: nproc)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
jobs=${TORQ_JOBS:-$(nproc)}
fuzz_seconds=${TORQ_FUZZ_SECONDS:-50}
step() { printf '\n==== %s (%s)\n' "$*" "$(date +%T)"; }

step "set-up"
scripts/setup.sh

step "CMake release build (gcc)"
cmake -S . -B build/cmake -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/cmake -j "$jobs"

step "Meson release build (gcc)"
if [ ! -f build/meson/build.ninja ]; then meson setup build/meson >/dev/null; fi
meson compile -C build/meson -j "$jobs"

step "test suite (ctest, CMake build)"
(cd build/cmake && ctest --output-on-failure -j 2 --timeout 900)

step "ASan/UBSan + libFuzzer build (clang)"
CC=clang CXX=clang++ cmake -S . -B build/sanitize -G Ninja -DCMAKE_BUILD_TYPE=Debug \
  -DTORQ_SANITIZE=ON -DTORQ_BUILD_FUZZ=ON -DTORQ_BUILD_BENCH=OFF >/dev/null
# Only what the sanitizer run executes: the unit and fuzz tests' binaries and every binary their
# command lines name (an instrumented tree of everything is several GB of disk).
san_targets=$(python3 scripts/ctest_targets.py build/sanitize unit,fuzz chain)
cmake --build build/sanitize -j "$jobs" --target $san_targets

step "unit tests under ASan/UBSan"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
(cd build/sanitize && ctest --output-on-failure -j 2 -L 'unit|fuzz' -LE chain --timeout 900)

step "fuzzing, ${fuzz_seconds}s per target"
mkdir -p build/sanitize/fuzz-artifacts
for fz in $(find build/sanitize -type f -name 'fuzz_*' -perm -u+x | sort); do
  name=$(basename "$fz")
  seeds="$root/tests/fuzz/corpus/${name#fuzz_}"
  work="build/sanitize/fuzz-corpus/${name}"
  mkdir -p "$work"
  echo "-- $name"
  "$fz" -max_total_time="$fuzz_seconds" -print_final_stats=1 \
    -artifact_prefix="build/sanitize/fuzz-artifacts/${name}-" "$work" "$seeds" 2>&1 | tail -n 12
done

step "all tests passed"
