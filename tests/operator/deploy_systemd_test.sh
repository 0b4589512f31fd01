#!/usr/bin/env bash
# Checks the systemd units in deploy/systemd/ (docs/operations.md section 7):
#  - `systemd-analyze verify` on copies of torqd.service and torqd@.service (the template and the
#    instances collector, strategy, executor) whose ExecStart runs the built torqd instead of
#    /usr/bin/torqd: any line verify prints about our units fails the test (verify exits 0 on
#    unknown keys and unparsable values, so its output is what counts). A canary unit with an unknown key
#    proves the output filter catches such lines. User=torq/Group=torq stay as shipped: verify does
#    not resolve users (checked with systemd 252, as root and as an unprivileged user).
#  - the properties torqd depends on: a writable working directory (its default audit log path is
#    relative and / is read-only under ProtectSystem=strict), roles from the config file's [mode]
#    section (the template passes no --role), and torqd accepting the ExecStart flags.
# Usage: deploy_systemd_test.sh SOURCE_DIR TORQD_PATH. Exit 77 (skipped) without systemd-analyze.
set -u

src=${1:?usage: deploy_systemd_test.sh SOURCE_DIR TORQD_PATH}
torqd=${2:?usage: deploy_systemd_test.sh SOURCE_DIR TORQD_PATH}
units_dir="$src/deploy/systemd"
failed=0
fail() { echo "FAIL: $*"; failed=1; }

if ! command -v systemd-analyze >/dev/null 2>&1; then
  echo "SKIP: systemd-analyze is not installed"
  exit 77
fi
[ -x "$torqd" ] || { echo "FAIL: torqd binary '$torqd' is not executable"; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/torq-units.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"

# Copy a unit, running the built torqd instead of /usr/bin/torqd (path quoted: systemd splits on
# whitespace).
copy_unit() {  # SRC DEST
  local line replaced=0
  : >"$2"
  while IFS= read -r line || [ -n "$line" ]; do
    if [[ $line == "ExecStart=/usr/bin/torqd "* ]]; then
      printf 'ExecStart="%s" %s\n' "$torqd" "${line#ExecStart=/usr/bin/torqd }" >>"$2"
      replaced=$((replaced + 1))
    else
      printf '%s\n' "$line" >>"$2"
    fi
  done <"$1"
  [ "$replaced" -eq 1 ] || fail "$(basename "$1"): expected one 'ExecStart=/usr/bin/torqd ...' line, found $replaced"
}

for u in torqd.service torqd@.service; do
  [ -f "$units_dir/$u" ] || { echo "FAIL: $units_dir/$u is missing"; exit 1; }
  copy_unit "$units_dir/$u" "$tmp/$u"
done

# Lines about our units name the copied file (…/torqd.service:17: …) or the unit
# (torqd@collector.service: …); anything else is about a system unit and is only shown.
ours() { awk -v p="$tmp/" 'index($0, p) == 1 || /^torqd[-@a-z0-9_]*\.service/'; }

# One unit per run: which warnings verify prints depends on the order units are loaded in (a
# dependency loaded for another unit is not reported the same way). No --recursive-errors=no: with
# it systemd 252 does not print the dropped-dependency warning.
run_verify() {  # UNIT_PATH
  (cd "$tmp" && systemd-analyze verify --man=no "$1" 2>&1)
}

# Canary: an unknown key must produce a line the filter attributes to our unit.
{ cat "$tmp/torqd.service"; echo 'TorqNoSuchKey=1'; } >"$tmp/torqd-canary.service"
canary_out=$(run_verify "$tmp/torqd-canary.service")
if [ -z "$(printf '%s\n' "$canary_out" | ours)" ]; then
  fail "the canary unit with an unknown key produced no line for our unit; verify printed: $canary_out"
fi
rm -f "$tmp/torqd-canary.service"

for u in torqd.service torqd@.service torqd@collector.service torqd@strategy.service torqd@executor.service; do
  out=$(run_verify "$tmp/$u")
  rc=$?
  echo "systemd-analyze verify $u: rc $rc${out:+
$out}"
  warnings=$(printf '%s\n' "$out" | ours)
  if [ -n "$warnings" ]; then
    fail "systemd-analyze verify warned about our units ($u):
$warnings"
  elif [ "$rc" -ne 0 ] && [ -z "$out" ]; then
    fail "systemd-analyze verify $u exited $rc without a message"
  elif [ "$rc" -ne 0 ]; then
    echo "note: verify $u exited $rc for other units only (ignored)"
  fi
done

# Properties of the shipped units (read from the source files, not the copies).
for u in torqd.service torqd@.service; do
  f="$units_dir/$u"
  grep -qx 'ProtectSystem=strict' "$f" || fail "$u: ProtectSystem=strict is missing"
  grep -qx 'StateDirectory=torq' "$f" || fail "$u: StateDirectory=torq is missing"
  grep -qx 'WorkingDirectory=/var/lib/torq' "$f" ||
    fail "$u: WorkingDirectory=/var/lib/torq is missing (cwd / is read-only; torqd's default audit log path is relative)"
  grep -qx 'User=torq' "$f" || fail "$u: User=torq is missing"
  grep -qx 'Group=torq' "$f" || fail "$u: Group=torq is missing"
  grep -qx 'KillSignal=SIGTERM' "$f" || fail "$u: KillSignal=SIGTERM (drain) is missing"
  grep -qx 'ExecReload=/bin/kill -HUP $MAINPID' "$f" || fail "$u: ExecReload is not SIGHUP"
done
grep -qx 'ExecStart=/usr/bin/torqd --config /etc/torq/torqd.toml' "$units_dir/torqd.service" ||
  fail "torqd.service: ExecStart is not '/usr/bin/torqd --config /etc/torq/torqd.toml'"
grep -qx 'ExecStart=/usr/bin/torqd --config /etc/torq/torqd-%i.toml' "$units_dir/torqd@.service" ||
  fail "torqd@.service: ExecStart is not '/usr/bin/torqd --config /etc/torq/torqd-%i.toml' (roles come from the config's [mode])"
if grep -E '^[^#]*--role' "$units_dir/torqd@.service" >/dev/null; then
  fail "torqd@.service passes --role (the instance name is the config name; roles come from [mode])"
fi

# torqd accepts the ExecStart flags: a missing config file is a configuration error (exit 2,
# naming the file), not a command-line error.
missing="$tmp/torqd-missing.toml"
err=$("$torqd" --config "$missing" 2>&1 >/dev/null)
rc=$?
[ "$rc" -eq 2 ] || fail "torqd --config MISSING exited $rc, expected 2 (configuration error): $err"
case $err in
  *"$missing"*) ;;
  *) fail "torqd --config MISSING does not name the file: $err" ;;
esac
case $err in
  *"command line"*) fail "torqd refused the ExecStart flags: $err" ;;
esac

if [ "$failed" -ne 0 ]; then
  echo "deploy_systemd_test: FAILED"
  exit 1
fi
echo "deploy_systemd_test: ok (torqd.service, torqd@.service + collector/strategy/executor instances)"
