# shellcheck shell=bash
# tuning/lib/common.sh — helpers shared by tuning/check and tuning/apply (sourced, not run).
#
# Owns: reading /proc and /sys under an optional sysroot prefix (TORQ_SYSROOT / --root), cpu-list
# parsing and formatting, kernel command line lookup and JSON string escaping.
# Only bash builtins, coreutils and awk. Nothing here writes to the host.

# Sysroot prefix: "" for the live host, or a directory holding a fabricated proc/ and sys/ tree.
TORQ_ROOT="${TORQ_SYSROOT:-}"

# rd PATH: read the first line of $TORQ_ROOT$PATH into REPLY; false if missing or unreadable.
rd() {
  REPLY=""
  local f="${TORQ_ROOT}$1"
  [[ -r $f && -f $f ]] || return 1
  { IFS= read -r REPLY || [[ -n $REPLY ]]; } <"$f" 2>/dev/null || return 1
  return 0
}

# rd_all PATH: whole file into REPLY (newlines kept); false if missing.
rd_all() {
  REPLY=""
  local f="${TORQ_ROOT}$1"
  [[ -r $f && -f $f ]] || return 1
  REPLY="$(cat -- "$f" 2>/dev/null)" || return 1
  return 0
}

# exists PATH: true if $TORQ_ROOT$PATH exists.
exists() { [[ -e "${TORQ_ROOT}$1" ]]; }

# expand_cpulist "0-3,8": prints "0 1 2 3 8" (sorted, unique). Ignores non-numeric words such as
# the isolcpus flags "domain", "managed_irq", "nohz" and the "(null)" some kernels print.
expand_cpulist() {
  local list="${1// /}" part a b i out=()
  local -a parts
  IFS=, read -ra parts <<<"$list"
  for part in "${parts[@]}"; do
    if [[ $part =~ ^([0-9]+)-([0-9]+)(:([0-9]+)/([0-9]+))?$ ]]; then
      a=$((10#${BASH_REMATCH[1]})); b=$((10#${BASH_REMATCH[2]}))
      local used=${BASH_REMATCH[4]:-1} group=${BASH_REMATCH[5]:-1}
      (( group < 1 )) && group=1
      for ((i = a; i <= b && i - a < 65536; i++)); do
        (( (i - a) % group < used )) && out+=("$i")
      done
    elif [[ $part =~ ^[0-9]+$ ]]; then
      out+=("$((10#$part))")
    fi
  done
  ((${#out[@]})) || return 0
  printf '%s\n' "${out[@]}" | sort -n -u | tr '\n' ' ' | sed 's/ $//'
}

# hexmask_to_cpus "ff,00000003": prints the cpus whose bits are set (as expand_cpulist).
hexmask_to_cpus() {
  local m="${1//,/}" out=() n i bit nib
  m="${m#0x}"
  [[ $m =~ ^[0-9a-fA-F]+$ ]] || return 0
  n=${#m}
  for ((i = 0; i < n; i++)); do
    nib=$((16#${m:n-1-i:1}))
    for ((bit = 0; bit < 4; bit++)); do
      (( nib >> bit & 1 )) && out+=("$((i * 4 + bit))")
    done
  done
  ((${#out[@]})) && printf '%s ' "${out[@]}" | sed 's/ $//'
  return 0
}

# cpus_to_hexmask "0 1 8": prints the kernel's comma-grouped hex mask ("00000103").
cpus_to_hexmask() {
  local c max=0 groups i mask=""
  local -a words
  for c in $1; do (( c > max )) && max=$c; done
  groups=$((max / 32 + 1))
  for ((i = 0; i < groups; i++)); do words[i]=0; done
  for c in $1; do words[c / 32]=$(( words[c / 32] | (1 << (c % 32)) )); done
  for ((i = groups - 1; i >= 0; i--)); do
    mask+=$(printf '%08x' "${words[i]}")
    (( i > 0 )) && mask+=","
  done
  printf '%s' "$mask"
}

# to_cpulist "0 1 2 5": prints "0-2,5" ("" for an empty set).
to_cpulist() {
  local c start=-1 prev=-1 res=""
  # shellcheck disable=SC2086 # word splitting of the set is intended
  for c in $(printf '%s\n' $1 | sort -n -u); do
    if (( start < 0 )); then start=$c
    elif (( c != prev + 1 )); then
      res+="${res:+,}$start$([[ $prev != "$start" ]] && printf -- '-%s' "$prev")"
      start=$c
    fi
    prev=$c
  done
  (( start >= 0 )) && res+="${res:+,}$start$([[ $prev != "$start" ]] && printf -- '-%s' "$prev")"
  printf '%s' "$res"
}

# set_minus A B: members of A not in B. set_and A B: members of A in B. set_has SET X.
set_has() { [[ " $1 " == *" $2 "* ]]; }
set_minus() { local c out=(); for c in $1; do set_has "$2" "$c" || out+=("$c"); done; printf '%s' "${out[*]}"; }
set_and() { local c out=(); for c in $1; do set_has "$2" "$c" && out+=("$c"); done; printf '%s' "${out[*]}"; }
# list_hits_target LIST: true if the cpu list (kernel format, "0-3,8") names a core of $TARGET.
list_hits_target() { [[ -n "$(set_and "$(expand_cpulist "$1")" "$TARGET")" ]]; }

# Kernel command line, tokenised once; arguments after "--" belong to init and are dropped.
CMDLINE_TOKENS=()
load_cmdline() {
  CMDLINE_TOKENS=()
  rd /proc/cmdline || return 1
  local t
  for t in $REPLY; do
    [[ $t == "--" ]] && break
    CMDLINE_TOKENS+=("$t")
  done
  return 0
}
# cmdline_get NAME: value of the last NAME=value (REPLY); true if NAME or NAME=... is present.
cmdline_get() {
  local t found=1
  REPLY=""
  for t in "${CMDLINE_TOKENS[@]}"; do
    if [[ $t == "$1="* ]]; then REPLY="${t#*=}"; found=0
    elif [[ $t == "$1" ]]; then REPLY=""; found=0
    fi
  done
  return $found
}

# online_cpus: prints the online cpu set.
online_cpus() {
  if rd /sys/devices/system/cpu/online; then expand_cpulist "$REPLY"; return; fi
  local d out=()
  for d in "${TORQ_ROOT}"/sys/devices/system/cpu/cpu[0-9]*; do
    [[ -d $d ]] && out+=("${d##*/cpu}")
  done
  ((${#out[@]})) && printf '%s\n' "${out[@]}" | sort -n | tr '\n' ' ' | sed 's/ $//'
  return 0
}

# isolated_cpus: cpus isolated at boot (sysfs, else isolcpus= on the command line).
isolated_cpus() {
  if rd /sys/devices/system/cpu/isolated; then expand_cpulist "$REPLY"; return; fi
  cmdline_get isolcpus && expand_cpulist "$REPLY"
  return 0
}

# json_str S: S as a JSON string literal.
json_str() {
  local s=$1
  s=${s//\\/\\\\}; s=${s//\"/\\\"}
  s=${s//$'\n'/\\n}; s=${s//$'\t'/\\t}; s=${s//$'\r'/\\r}
  s=${s//[[:cntrl:]]/}
  printf '"%s"' "$s"
}

# json_cpus "0 1 2": prints [0,1,2].
json_cpus() { local c res=""; for c in $1; do res+="${res:+,}$c"; done; printf '[%s]' "$res"; }
