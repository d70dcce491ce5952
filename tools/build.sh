#!/usr/bin/env bash
# Configures (once) and builds one flavour of percore into build/<flavour>.
# Usage: tools/build.sh [release|asan|tsan]
set -euo pipefail
cd "$(dirname "$0")/.."
flavour=${1:-release}
dir=build/$flavour
case $flavour in
  release) opts=(-Dbuildtype=release) ;;
  asan) opts=(-Dbuildtype=debugoptimized -Db_sanitize=address,undefined -Db_lundef=false) ;;
  tsan) opts=(-Dbuildtype=debugoptimized -Db_sanitize=thread -Dtools=false) ;;
  *) echo "unknown flavour $flavour" >&2; exit 2 ;;
esac
[ -f "$dir/build.ninja" ] || meson setup "$dir" "${opts[@]}" >/dev/null
ninja -C "$dir" >/dev/null
