#!/usr/bin/env bash
# Builds and runs every libFuzzer target, test/fuzz/fuzz_<name>.cc, for FUZZ_SECONDS (default
# 20) each, one per core at a time, starting from a copy of its seed corpus
# test/fuzz/corpus/<name>/ (so the run's discoveries never dirty the tree). protocol/*.cc (pure
# code: no sockets) is compiled once with clang into build/fuzz/obj/; each target links those
# objects and the two libraries the WebSocket handshake uses (libcrypto's SHA-1, abseil's base64).
# Prints one line per target and then "fuzz: N passed, M failed"; a compile failure, crash,
# sanitizer report or a slow input (-timeout=5) fails the target, and the script exits non-zero.
# Usage: tools/run_fuzz.sh [name...]   (default: every target)
set -uo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-20}
cxx=${FUZZ_CXX:-clang++}
out=build/fuzz
mkdir -p "$out"
common=(-std=c++20 -g -O1 -fno-sanitize-recover=undefined -I.)
flags=("${common[@]}" -fsanitize=fuzzer,address,undefined)
# The shared objects get the coverage instrumentation, but not libFuzzer's main.
obj_flags=("${common[@]}" -fsanitize=fuzzer-no-link,address,undefined)
libs=($(pkg-config --libs libcrypto absl_strings))
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

targets=()
if [ $# -gt 0 ]; then
  for name in "$@"; do targets+=("test/fuzz/fuzz_$name.cc"); done
else
  targets=(test/fuzz/fuzz_*.cc)
fi

jobs=$(nproc)
throttle() { while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n; done; }  # one per core
passed=0
failed=0

# protocol/*.cc once, shared by every target.
rm -rf "$out/obj" "$out/obj.log"
mkdir -p "$out/obj"
for src in protocol/*.cc; do
  throttle
  nice "$cxx" "${obj_flags[@]}" -c "$src" -o "$out/obj/$(basename "$src" .cc).o" >>"$out/obj.log" 2>&1 &
done
wait
for src in protocol/*.cc; do
  if [ ! -f "$out/obj/$(basename "$src" .cc).o" ]; then
    echo "fuzz: $src did not compile"
    head -30 "$out/obj.log"
    echo "fuzz: 0 passed, ${#targets[@]} failed"
    exit 1
  fi
done
objs=("$out"/obj/*.o)

fuzz_one() {  # fuzz_one SRC: compile, run for $seconds, print one line; exit status = verdict
  local src=$1 name bin log corpus rc runs
  name=$(basename "$src" .cc)
  name=${name#fuzz_}
  bin=$out/fuzz_$name
  log=$out/fuzz_$name.log
  if ! nice "$cxx" "${flags[@]}" "$src" "${objs[@]}" "${libs[@]}" -o "$bin" >"$log" 2>&1; then
    printf '%-28s FAIL (compile)\n' "fuzz/$name"
    head -30 "$log"
    return 1
  fi
  corpus=$out/corpus/$name
  rm -rf "$corpus"
  mkdir -p "$corpus"
  [ -d "test/fuzz/corpus/$name" ] && cp test/fuzz/corpus/"$name"/* "$corpus"/ 2>/dev/null
  nice "$bin" -max_total_time="$seconds" -timeout=5 -print_final_stats=1 \
    -artifact_prefix="$out/fuzz_$name-" "$corpus" >>"$log" 2>&1
  rc=$?
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  if [ $rc -eq 0 ]; then
    printf '%-28s ok   %s runs in %s s, corpus %s\n' "fuzz/$name" "${runs:-?}" "$seconds" \
      "$(ls "$corpus" | wc -l)"
    return 0
  fi
  printf '%-28s FAIL (exit %d; input saved as %s)\n' "fuzz/$name" "$rc" \
    "$(grep -o "$out/fuzz_$name-[a-z]*-[0-9a-f]*" "$log" | tail -1)"
  grep -E 'ERROR|runtime error|SUMMARY|deadly signal| in percore| in LLVMFuzzer' "$log" | head -20
  return 1
}

# Each target's report is printed in the targets' order.
pids=()
for i in "${!targets[@]}"; do
  throttle
  fuzz_one "${targets[$i]}" >"$out/report.$i" 2>&1 &
  pids[$i]=$!
done
for i in "${!targets[@]}"; do
  if wait "${pids[$i]}"; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
  cat "$out/report.$i"
  rm -f "$out/report.$i"
done

echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
