#!/usr/bin/env bash
# Measures percore's backends against the reference loops of an external load kit (a folder with
# bin/loadgen and peer servers called as "bin/NAME PORT THREADS", like ../shared/kit), in one
# run: each server pinned to CPU 0, the load to CPU 1, servers interleaved within each round.
# Adds what the kit does not: syscalls per message, counted with perf on the raw_syscalls:sys_enter
# tracepoint of the server process over the middle of the measured window.
#
#   tools/kit_compare.sh KIT_DIR [SERVER ...]
#     SERVER: percore-epoll | percore-io_uring | a peer in KIT_DIR/bin (raw_epoll_echo, ...)
#   env: CASES="50:1 50:32 1000:1 1000:32 15000:1 15000:32" (conns:depth), SIZE=64, REPS=1,
#        DUR=5, WARM=1, IDLE_N=10000 (0 skips the idle RSS case), PERCORE=build/release/tools/percore
#
# Prints one line per run: "KIT case=... server=... msgs_per_s=... p99_us=... syscalls_per_msg=..."
# and "KIT case=idle ... bytes_per_conn=...". Needs perf (linux-perf) for the syscall column.
set -uo pipefail
cd "$(dirname "$0")/.."
kit=${1:?usage: tools/kit_compare.sh KIT_DIR [SERVER ...]}
shift
servers=("$@")
[ ${#servers[@]} -eq 0 ] && servers=(percore-epoll percore-io_uring raw_epoll_echo raw_uring_echo)
CASES=${CASES:-"50:1 50:32 1000:1 1000:32 15000:1 15000:32"}
SIZE=${SIZE:-64} REPS=${REPS:-1} DUR=${DUR:-5} WARM=${WARM:-1} IDLE_N=${IDLE_N:-10000}
PERCORE=${PERCORE:-build/release/tools/percore}
lg=$kit/bin/loadgen
[ -x "$lg" ] || { echo "no $lg: build the kit first" >&2; exit 1; }
ulimit -n "$(ulimit -Hn)"
have_perf=0
perf stat -e raw_syscalls:sys_enter -- true >/dev/null 2>&1 && have_perf=1

spid=""
start_server() {  # start_server NAME PORT
  local cmd
  case $1 in
    percore-*) cmd=("$PERCORE" serve --app echo --port "$2" --threads 1 --backend "${1#percore-}") ;;
    *) cmd=("$kit/bin/$1" "$2" 1) ;;
  esac
  taskset -c 0 "${cmd[@]}" >>/tmp/kit_compare_server.log 2>&1 &
  spid=$!
  for _ in $(seq 50); do
    if (exec 3<>/dev/tcp/127.0.0.1/"$2") 2>/dev/null; then sleep 0.2; return 0; fi
    kill -0 "$spid" 2>/dev/null || break
    sleep 0.1
  done
  echo "server $1 did not start" >&2
  return 1
}
stop_server() {
  kill "$spid" 2>/dev/null
  for _ in $(seq 30); do kill -0 "$spid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$spid" 2>/dev/null
  wait "$spid" 2>/dev/null
}
field() { echo "$2" | grep -o "$1=[^ ]*" | head -1 | cut -d= -f2; }

run_echo() {  # run_echo SERVER CONNS DEPTH
  local port=$((10000 + RANDOM % 20000)) spread=1
  [ "$2" -gt 5000 ] && spread=4
  start_server "$1" $port || return
  local out=/tmp/kit_compare_lg.$$
  taskset -c 1 "$lg" --port $port --conns "$2" --size "$SIZE" --depth "$3" --duration "$DUR" \
    --warmup "$WARM" --spread $spread --server-pid "$spid" --label "$1" >"$out" 2>&1 &
  local lpid=$! calls=""
  if [ $have_perf = 1 ]; then
    # Count over DUR-1 seconds inside the measured window, after connecting and warm-up.
    local win=$((DUR - 1))
    # Large connection counts take a while to open: the load starts when all are connected.
    for _ in $(seq 300); do
      [ "$(ls /proc/"$spid"/fd 2>/dev/null | wc -l)" -ge "$2" ] && break
      sleep 0.1
    done
    sleep "$(awk "BEGIN{print $WARM + 0.3}")"
    calls=$(perf stat -x, -e raw_syscalls:sys_enter -p "$spid" -- sleep "$win" 2>&1 |
      awk -F, '/raw_syscalls/{print $1}')
  fi
  wait $lpid
  local res
  res=$(grep '^RESULT' "$out" | sed 's/^RESULT //')
  rm -f "$out"
  stop_server
  local mps per=""
  mps=$(field msgs_per_s "$res")
  if [ -n "$calls" ] && [ -n "$mps" ] && [ "$mps" != 0 ]; then
    per=$(awk "BEGIN{printf \"%.3f\", $calls / $win / $mps}")
  fi
  echo "KIT case=${2}c/d$3 server=$1 msgs_per_s=${mps:-NA} p50_us=$(field p50_us "$res")" \
    "p99_us=$(field p99_us "$res") server_us_per_op=$(field server_us_per_op "$res")" \
    "errors=$(field errors "$res") syscalls_per_msg=${per:-NA}"
}

run_idle() {  # run_idle SERVER
  local port=$((10000 + RANDOM % 20000))
  start_server "$1" $port || return
  sleep 0.5
  local before after log=/tmp/kit_compare_idle.$$
  before=$(awk '/^VmRSS:/{print $2}' /proc/$spid/status)
  taskset -c 1 timeout 120 "$lg" --port $port --idle "$IDLE_N" --hold 3 --spread 2 >"$log" 2>&1 &
  local lpid=$!
  for _ in $(seq 600); do grep -q IDLE_READY "$log" && break; kill -0 $lpid 2>/dev/null || break; sleep 0.1; done
  sleep 1
  after=$(awk '/^VmRSS:/{print $2}' /proc/$spid/status)
  wait $lpid
  local ready
  ready=$(grep -c IDLE_READY "$log")
  rm -f "$log"
  stop_server
  echo "KIT case=idle${IDLE_N} server=$1 rss_before_kb=$before rss_after_kb=$after" \
    "bytes_per_conn=$(((after - before) * 1024 / IDLE_N)) ready=$ready"
}

for rep in $(seq "$REPS"); do
  for c in $CASES; do
    for s in "${servers[@]}"; do run_echo "$s" "${c%%:*}" "${c##*:}"; done
  done
  if [ "$IDLE_N" -gt 0 ]; then
    for s in "${servers[@]}"; do run_idle "$s"; done
  fi
done
