#!/usr/bin/env bash
# The kv app against redis-server (Debian's, 7.x) with redis-benchmark, pinned like the kit:
# every server on CPU 0, redis-benchmark on CPU 1. Servers are started once and alternated
# within each round; per run it records requests/s of SET and GET and the server's CPU time
# per request (sum of /proc/PID/task/*/schedstat run time, ns, before/after the run, over the
# run's 2*N requests), redis-benchmark's own CPU per request, and how often the server went to
# sleep per request (its voluntary context switches): at -P 1 the client sets the pace, and on
# a virtual machine every wake-up of a sleeping server costs the client an interrupt to send.
# Prints every run, then medians as a markdown table.
# Usage: [PIPELINES="1 16"] [BUSY_POLL=20us] tools/bench_kv.sh [ROUNDS=3] [N=200000]   (needs
# build/release, redis-tools, redis-server). BUSY_POLL adds both backends with --busy-poll.
set -uo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
n=${2:-200000}
pipelines=${PIPELINES:-1 16}
percore=build/release/tools/percore
busy=${BUSY_POLL:-}
names=() ports=() pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done' EXIT
percore_kv() {  # percore_kv NAME BACKEND [FLAGS...]
  local name=$1 backend=$2 port=$((16371 + ${#ports[@]}))
  shift 2
  taskset -c 0 "$percore" serve --app kv --port $port --threads 1 --backend "$backend" "$@" \
    2>/dev/null &
  names+=("$name") ports+=($port) pids+=($!)
}
percore_kv percore-epoll epoll
percore_kv percore-io_uring io_uring
if [ -n "$busy" ]; then
  percore_kv "percore-epoll-busy-$busy" epoll --busy-poll "$busy"
  percore_kv "percore-io_uring-busy-$busy" io_uring --busy-poll "$busy"
fi
port=$((16371 + ${#ports[@]}))
taskset -c 0 redis-server --port $port --bind 127.0.0.1 --save '' --appendonly no \
  --daemonize no --logfile '' >/dev/null 2>&1 &
names+=(redis-server) ports+=($port) pids+=($!)
for p in "${ports[@]}"; do
  for _ in $(seq 100); do timeout 1 redis-cli -p $p PING >/dev/null 2>&1 && break; sleep 0.05; done
done
cpu_ns() {  # run time of all threads of PID, ns
  # %.0f: mawk's %d stops at 2^31-1 ns (2.1 s)
  cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{s += $1} END {printf "%.0f", s}'
}
sleeps() {  # voluntary context switches of all threads of PID
  cat /proc/"$1"/task/*/status 2>/dev/null | awk '/^voluntary_ctxt_switches/ {s += $2} END {print s}'
}
results=$(mktemp)
echo "# server P round SET_rps GET_rps cpu_us_per_req client_cpu_us_per_req server_sleeps_per_req"
for r in $(seq "$rounds"); do
  for P in $pipelines; do
    for i in "${!names[@]}"; do
      before=$(cpu_ns ${pids[$i]})
      slept=$(sleeps ${pids[$i]})
      # The client's CPU too: at -P 1 redis-benchmark's one thread may set the pace.
      out=$({ TIMEFORMAT='client-cpu %U %S'; time timeout 300 taskset -c 1 redis-benchmark \
        -p ${ports[$i]} -t set,get -d 256 -r 100000 -n "$n" -c 50 -P $P -q; } 2>&1 | tr '\r' '\n')
      after=$(cpu_ns ${pids[$i]})
      slept=$(($(sleeps ${pids[$i]}) - slept))
      set_rps=$(echo "$out" | sed -nE 's/^SET: ([0-9.]+) requests per second.*/\1/p' | tail -1)
      get_rps=$(echo "$out" | sed -nE 's/^GET: ([0-9.]+) requests per second.*/\1/p' | tail -1)
      us=$(awk -v d=$((after - before)) -v n="$n" 'BEGIN {printf "%.2f", d / (2 * n) / 1000}')
      cus=$(echo "$out" | awk -v n="$n" '$1 == "client-cpu" {printf "%.2f", ($2 + $3) * 1e6 / (2 * n)}')
      spr=$(awk -v s="$slept" -v n="$n" 'BEGIN {printf "%.3f", s / (2 * n)}')
      echo "${names[$i]} $P $r ${set_rps:-NA} ${get_rps:-NA} $us ${cus:-NA} $spr" | tee -a "$results"
    done
  done
done
echo
echo "| server | -P | SET req/s (median) | GET req/s (median) | server CPU µs/request (median) | client CPU µs/request (median) | server sleeps/request (median) |"
echo "|---|---|---|---|---|---|---|"
for P in $pipelines; do
  for name in "${names[@]}"; do
    med() {  # med COLUMN
      awk -v s="$name" -v p=$P -v c="$1" '$1 == s && $2 == p {print $c}' "$results" | sort -g |
        awk '{a[NR] = $1} END {if (NR % 2) print a[(NR + 1) / 2]; else printf "%.2f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2}'
    }
    printf '| %s | %s | %.0f | %.0f | %s | %s | %s |\n' "$name" $P "$(med 4)" "$(med 5)" "$(med 6)" \
      "$(med 7)" "$(med 8)"
  done
done
rm -f "$results"
