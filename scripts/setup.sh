#!/usr/bin/env bash
# Idempotent set-up of everything Torq needs on a fresh Debian 12 machine:
# apt packages (compilers, libraries, tools) and the npm packages of the local chain (chain/).
# Safe to run again: it installs only what is missing and re-runs `npm ci` only when the lockfile changed.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  build-essential cmake ninja-build meson pkg-config git
  clang libclang-rt-14-dev                       # libFuzzer + sanitizer runtimes
  libboost-dev libboost-system-dev               # Beast, Asio, lockfree, multiprecision (tests)
  libssl-dev openssl libsimdjson-dev             # openssl: the TLS verification test's server
  libdpdk-dev dpdk                               # DPDK 22.11 (virtual devices in tests)
  libhwloc-dev libnuma-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libsecp256k1-dev libtomlplusplus-dev libcli11-dev
  rt-tests iproute2 procps
  chromium                                       # dashboard browser test (headless)
  nodejs npm
)

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi

missing=()
for p in "${APT_PACKAGES[@]}"; do
  # nodejs/npm may come from another source (nvm, NodeSource); accept any working binary.
  case "$p" in
    nodejs) command -v node >/dev/null 2>&1 && continue ;;
    npm) command -v npm >/dev/null 2>&1 && continue ;;
  esac
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing apt packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "setup: apt packages present"
fi

# npm packages (pinned by each package-lock.json): the local chain, and playwright-core for the
# dashboard's browser test. `npm ci` runs again only when a lockfile changed.
for dir in chain tests/operator/web; do
  [ -f "$dir/package-lock.json" ] || continue
  stamp="$dir/node_modules/.torq-lock-sha256"
  want=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "setup: npm ci in $dir/"
    npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error
    echo "$want" > "$stamp"
  else
    echo "setup: npm packages present in $dir/"
  fi
done
