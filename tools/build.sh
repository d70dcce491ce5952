#!/usr/bin/env bash
# Configures and builds one flavour of percore into build/<flavour>. An existing build folder
# is reconfigured, so packages installed since (libseccomp for the tests) are picked up.
# Usage: tools/build.sh [release|asan|tsan]
set -euo pipefail
cd "$(dirname "$0")/.."
flavour=${1:-release}
dir=build/$flavour
case $flavour in
  release) opts=(-Dbuildtype=release) ;;
  # The sanitizer flavours build the tests only (the CLI's checks run on release), at -O1 with
  # line tables (-g1): enough for file:line in every report, and at -O2 -g GCC took 850 s
  # for the ASan+UBSan build on 2 cores, most of the test command's budget.
  asan) opts=(-Dbuildtype=plain -Doptimization=1 -Dcpp_args=-g1 -Db_sanitize=address,undefined
              -Db_lundef=false -Dtools=false) ;;
  tsan) opts=(-Dbuildtype=plain -Doptimization=1 -Dcpp_args=-g1 -Db_sanitize=thread
              -Dtools=false) ;;
  *) echo "unknown flavour $flavour" >&2; exit 2 ;;
esac
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if [ -f "$dir/build.ninja" ]; then
  meson setup --reconfigure "$dir" "${opts[@]}" >"$log" 2>&1 || { cat "$log"; exit 1; }
else
  meson setup "$dir" "${opts[@]}" >"$log" 2>&1 || { cat "$log"; exit 1; }
fi
ninja -C "$dir" >"$log" 2>&1 || { tail -60 "$log"; exit 1; }
