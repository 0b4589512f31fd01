#!/usr/bin/env bash
# hot_path_string_ops.sh ARCHIVE... — fails when a function of the strategy core's per-frame path
# contains `rep stos` or `rep movs`.
#
# GCC's generic tuning expands fixed-size zeroing and copies above ~32 bytes as rep string
# instructions, whose microcode start-up costs tens of cycles per call on Intel cores (6-30 % of
# a dislocating tick in one thread, docs/strategy.md "String operations"). The build passes
# -mmemset-strategy/-mmemcpy-strategy to GCC so that they become vector stores; this test is
# registered only when it does, and fails if those flags stop reaching these functions.
set -euo pipefail
[[ $# -ge 1 ]] || { echo "usage: $0 ARCHIVE..." >&2; exit 64; }
command -v objdump >/dev/null || { echo "objdump not found (binutils)" >&2; exit 1; }

# Demangled name prefixes of the functions a market-data frame runs through on the strategy core.
hot=(
  'torq::arb::ArbEngine::ingest('
  'torq::arb::ArbEngine::apply_tlv('
  'torq::arb::ArbEngine::passes_prefilter('
  'torq::arb::ArbEngine::search_cycle('
  'torq::arb::ArbEngine::publish('
  'torq::arb::ArbEngine::poll('
  'torq::arb::ArbEngine::on_frame('
  'torq::arb::PoolBook::apply('
  'torq::arb::PoolBook::journal_push('
  'torq::arb::optimize_closed_form('
  'torq::arb::simulate_path_cached('
  'torq::arb::v3_segments_prepare('
  'torq::arb::v3_segment_swap('
  'torq::arb::(anonymous namespace)::hop_map('
  'torq::arb::(anonymous namespace)::compose('
  'torq::strategy::compute_swap_step('
)

listing=$(mktemp)
trap 'rm -f "$listing"' EXIT
for a in "$@"; do
  [[ -r $a ]] || { echo "cannot read $a" >&2; exit 1; }
  objdump -d --no-show-raw-insn -C "$a" >>"$listing"
done

# Per function: whether it was found, and its rep string instructions.
report=$(awk -v names="$(printf '%s\n' "${hot[@]}")" '
  BEGIN { n = split(names, want, "\n") }
  /^[0-9a-f]+ <.*>:$/ {
    fn = ""
    name = substr($0, index($0, "<") + 1)
    for (i = 1; i <= n; ++i)
      if (want[i] != "" && index(name, want[i]) == 1) { fn = want[i]; found[fn] = 1 }
    next
  }
  fn != "" && /rep[a-z]* +(stos|movs)/ { bad[fn] = bad[fn] "\n    " $0 }
  END {
    for (i = 1; i <= n; ++i) {
      if (want[i] == "") continue
      if (!(want[i] in found)) print "MISSING " want[i]
      else if (want[i] in bad) print "REP " want[i] bad[want[i]]
      else print "OK " want[i]
    }
  }' "$listing")

echo "$report"
status=0
if grep -q '^MISSING ' <<<"$report"; then
  echo "some hot-path functions were not found in $*: renamed or inlined? Update the list." >&2
  status=1
fi
if grep -q '^REP ' <<<"$report"; then
  echo "rep stos/movs on the strategy core's per-frame path: are -mmemset-strategy/-mmemcpy-strategy still passed?" >&2
  status=1
fi
exit $status
