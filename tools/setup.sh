#!/usr/bin/env bash
# Installs the Debian packages percore needs, if missing. Safe to run again.
# Usage: tools/setup.sh [--test]   (--test adds clang, libseccomp-dev and the real clients and
# servers the tests talk to: redis-tools/redis-server, curl, wrk, nginx-light, python3-websockets,
# chromium; gnuplot-nox for `percore bench --plot`)
set -euo pipefail
pkgs=(meson ninja-build pkg-config g++ liburing-dev libabsl-dev libssl-dev catch2 libcli11-dev)
[ "${1:-}" = "--test" ] && pkgs+=(clang libclang-rt-14-dev libseccomp-dev redis-tools redis-server curl wrk
  nginx-light python3-websockets chromium gnuplot-nox)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  # Wait for a lock held by another apt (unattended-upgrades on a fresh host) instead of failing.
  lock=(-o DPkg::Lock::Timeout=600)
  $SUDO apt-get "${lock[@]}" update -qq
  $SUDO apt-get "${lock[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
