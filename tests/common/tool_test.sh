# tests/common/tool_test.sh — sourced by the shell tests of Torq's executables (torq-hwinfo,
# torq-jitter, tuning/check and apply, the benchmarks' command lines).
# Provides: pass NAME / fail NAME WHY (counted), WORK (a scratch directory removed at exit),
# js FILE EXPR [ARG] (evaluates the JavaScript EXPR with d = the parsed JSON of FILE and arg = ARG;
# prints the result, returns 1 when it is falsy; needs node: call need_node first) and
# finish (prints the summary and exits 1 if any test failed, else 0).
set -u
failed=0
pass() { echo "ok   $1"; }
fail() { echo "FAIL $1: $2"; failed=$((failed + 1)); }

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

need_node() { command -v node >/dev/null || { echo "FAIL: node is needed to parse JSON"; exit 1; }; }
js() { node -e 'const d = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const arg = process.argv[3]; const r = eval(process.argv[2]);
  console.log(typeof r === "string" ? r : JSON.stringify(r)); process.exit(r ? 0 : 1);' "$1" "$2" "${3:-}"; }

finish() {
  echo
  if ((failed)); then echo "$failed test(s) failed"; exit 1; fi
  echo "all tests passed"
  exit 0
}
