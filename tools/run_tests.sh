#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: the unit tests and the integration
# suite once per backend, in a normal build, again under ASan+UBSan, and the threaded suite
# under TSan; after the release flavour, the CLI checks, the gateway example end to end
# (test/gateway_e2e.sh), the kv app against redis-cli and
# redis-benchmark (test/clients_kv.sh), the http app against curl and wrk
# (test/clients_http.sh) and the libFuzzer targets (tools/run_fuzz.sh, FUZZ_SECONDS each).
# Ends with "tests: N passed, M failed" (Catch2 test cases over all runs, CLI and client
# checks, fuzz targets; a binary that crashes counts as one failure) and exits non-zero on
# any failure.
set -uo pipefail
cd "$(dirname "$0")/.."
# When each step ended, so a slow CI run shows where its time went.
stamp() { echo "[at $SECONDS s]"; }
tools/setup.sh --test || exit 1
echo "setup $(stamp)"
passed=0
failed=0
mkdir -p build/test-results

run() {  # run NAME BINARY [ENV...]
  local name=$1 bin=$2; shift 2
  local xml=build/test-results/$name.xml
  mkdir -p "$(dirname "$xml")"
  rm -f "$xml"
  env "$@" "$bin" -r xml -o "$xml" >"build/test-results/$name.log" 2>&1
  local rc=$?
  local line ok=0 bad=0
  line=$(grep -o 'OverallResultsCases successes="[0-9]*" failures="[0-9]*"' "$xml" 2>/dev/null | tail -1)
  if [ -n "$line" ]; then
    ok=$(echo "$line" | sed 's/.*successes="\([0-9]*\)".*/\1/')
    bad=$(echo "$line" | sed 's/.*failures="\([0-9]*\)".*/\1/')
  fi
  if [ $rc -ne 0 ] && [ "$bad" -eq 0 ]; then bad=1; fi  # crashed, or a sanitizer report
  passed=$((passed + ok))
  failed=$((failed + bad))
  printf '%-28s %4d passed, %d failed (exit %d) %s\n' "$name" "$ok" "$bad" "$rc" "$(stamp)"
  if [ "$bad" -ne 0 ]; then
    grep -B2 -A8 'success="false"' "$xml" 2>/dev/null | head -60
    tail -30 "build/test-results/$name.log"
  fi
}

script() {  # script NAME PREFIX COMMAND...: a check script ending "PREFIX: N passed, M failed"
  local name=$1 prefix=$2; shift 2
  out=$("$@" 2>&1)
  local line ok bad
  line=$(echo "$out" | grep -E "^$prefix: [0-9]+ passed, [0-9]+ failed\$" | tail -1)
  ok=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed.*/\1/')
  bad=$(echo "$line" | sed -E 's/.* ([0-9]+) failed/\1/')
  [ -z "$line" ] && ok=0 && bad=1  # it died before its summary
  passed=$((passed + ok))
  failed=$((failed + bad))
  printf '%-28s %4d passed, %d failed %s\n' "$name" "$ok" "$bad" "$(stamp)"
  [ "$bad" -ne 0 ] && [ "$prefix" != fuzz ] && echo "$out" | grep -A3 FAIL
  return 0
}

for flavour in release asan tsan; do
  if ! tools/build.sh $flavour; then
    echo "build $flavour FAILED"
    failed=$((failed + 1))
    continue
  fi
  echo "build $flavour $(stamp)"
  dir=build/$flavour/test
  san=()
  [ $flavour = asan ] && san=(ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1)
  [ $flavour = tsan ] && san=(TSAN_OPTIONS=halt_on_error=0:second_deadlock_stack=1)
  # The unit tests are single-threaded: TSan has nothing to find there.
  if [ $flavour != tsan ]; then
    run "$flavour/unit" "$dir/unit_tests" "${san[@]}"
    run "$flavour/backend-select" "$dir/backend_tests" "${san[@]}"
  fi
  for backend in epoll io_uring; do
    run "$flavour/server-$backend" "$dir/server_tests" PERCORE_TEST_BACKEND=$backend "${san[@]}"
  done
  if [ $flavour = release ]; then
    script "release/cli" cli test/cli_test.sh build/release/tools/percore
    # docs/examples/gateway.cc against a backend that dies and comes back (Python peers).
    script "release/gateway" gateway test/gateway_e2e.sh build/release/test/gateway_example
    # The kv app against the real Redis clients (redis-cli, redis-benchmark).
    script "release/kv-clients" kv test/clients_kv.sh build/release/tools/percore
    # The http app against real clients (curl, wrk, raw sockets).
    script "release/http-clients" http test/clients_http.sh build/release/tools/percore
    # The ws app against Python's websockets library and raw frames (python3-websockets).
    script "release/ws-clients" ws test/clients_ws.sh build/release/tools/percore
    # The chat app over TCP lines and WebSocket (Python clients), on both backends.
    script "release/chat-clients" chat test/clients_chat.sh build/release/tools/percore
    # The chat page in headless Chromium (two tabs and a TCP client in one room).
    script "release/chat-browser" chat-browser test/chat_browser.sh build/release/tools/percore
    # libFuzzer targets over protocol/ (clang, its own build in build/fuzz): one per target,
    # each target's line shown even when it passed.
    script "release/fuzz" fuzz tools/run_fuzz.sh
    echo "$out" | grep -v '^fuzz: ' | sed 's/^/  /'
  fi
done

echo "total $SECONDS s"
echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
