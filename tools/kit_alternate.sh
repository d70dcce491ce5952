#!/usr/bin/env bash
# Tells small differences apart on a noisy machine, as the kit's README advises: every server
# runs side by side (all pinned to CPU 0, idle when not driven), and short runs of the kit's
# loadgen (CPU 1) alternate between them for ROUNDS rounds; the first server is the baseline
# and each round's ratio to it is kept. Prints the median ratio and msgs/s per server, and the
# median per-round ratio of server CPU per operation (cpu_ratio: below 1 is cheaper than the
# baseline). With --churn in the loadgen args an operation is a connection (conns/s).
# ROUNDS_OUT=FILE keeps the per-round rows (round server ops_per_s server_us_per_op errors).
# The loadgen reads the server's CPU from /proc/PID/stat in 10 ms ticks: a 2 s run of a server
# at 20% CPU is then +-2.5% in CPU per op. CPU=sched reads the nanosecond run time of all the
# server's threads (/proc/PID/task/*/schedstat) at the loadgen's warm-up end and run end
# instead (timed from here; exact for --churn, whose load starts at once; with echo the
# connect phase before the warm-up shifts the window).
#
#   tools/kit_alternate.sh KIT_DIR "LOADGEN ARGS" SERVER...
#     SERVER: percore-epoll | percore-io_uring | a peer in KIT_DIR/bin |
#             NAME=COMMAND with a {PORT} placeholder, run by sh (e.g. another percore build:
#             'exp=env X=1 /tmp/exp/percore serve --app echo --port {PORT} --threads 1')
#   env: ROUNDS=8 DUR=2 WARM=0.5 PERCORE=build/release/tools/percore
# e.g. tools/kit_alternate.sh ../shared/kit "--conns 50 --size 64 --depth 32" \
#        raw_epoll_echo percore-epoll libuv_echo
#      tools/kit_alternate.sh ../shared/kit "--churn --conns 32 --size 64 --spread 16" \
#        libuv_echo percore-epoll raw_epoll_echo
set -uo pipefail
cd "$(dirname "$0")/.."
kit=$1 args=$2
shift 2
ROUNDS=${ROUNDS:-8} DUR=${DUR:-2} WARM=${WARM:-0.5}
PERCORE=${PERCORE:-build/release/tools/percore}
ulimit -n "$(ulimit -Hn)"
specs=("$@") names=() ports=() pids=()
for spec in "${specs[@]}"; do names+=("${spec%%=*}"); done
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done' EXIT
base=$((10000 + RANDOM % 20000))
for i in "${!names[@]}"; do
  port=$((base + i))
  case ${specs[$i]} in
    *=*) cmd=${specs[$i]#*=}
         taskset -c 0 sh -c "exec ${cmd//\{PORT\}/$port}" >/dev/null 2>&1 & ;;
    percore-*) taskset -c 0 "$PERCORE" serve --app echo --port $port --threads 1 \
                 --backend "${names[$i]#percore-}" 2>/dev/null & ;;
    *) taskset -c 0 "$kit/bin/${names[$i]}" $port 1 >/dev/null 2>&1 & ;;
  esac
  pids+=($!)
  ports+=($port)
done
for port in "${ports[@]}"; do
  for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
done
sched_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{s += $1} END {print s + 0}'; }
results=$(mktemp)
for round in $(seq "$ROUNDS"); do
  for i in "${!names[@]}"; do
    # shellcheck disable=SC2086
    out=$(mktemp)
    taskset -c 1 "$kit/bin/loadgen" --port "${ports[$i]}" $args --duration "$DUR" \
      --warmup "$WARM" --server-pid "${pids[$i]}" >"$out" &
    lpid=$!
    if [ "${CPU:-}" = sched ]; then
      sleep "$WARM"
      ns0=$(sched_ns "${pids[$i]}")
      sleep "$DUR"
      ns1=$(sched_ns "${pids[$i]}")
    fi
    wait $lpid
    line=$(grep '^RESULT' "$out")
    rm -f "$out"
    mps=$(echo "$line" | grep -oE '(msgs|conns)_per_s=[0-9]*' | cut -d= -f2)
    us=$(echo "$line" | grep -o 'server_us_per_op=[0-9.]*' | cut -d= -f2)
    if [ "${CPU:-}" = sched ] && [ "${mps:-0}" -gt 0 ]; then
      us=$(awk "BEGIN{printf \"%.3f\", ($ns1 - $ns0) / 1000 / ($mps * $DUR)}")
    fi
    errs=$(echo "$line" | grep -o 'errors=[0-9]*' | cut -d= -f2)
    echo "$round ${names[$i]} ${mps:-0} ${us:-0} ${errs:-1}" >>"$results"
  done
done
echo "ALTERNATE args=\"$args\" rounds=$ROUNDS dur=$DUR baseline=${names[0]}"
python3 - "$results" "${names[@]}" <<'EOF'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
names = sys.argv[2:]
by = {(int(r[0]), r[1]): (float(r[2]), float(r[3]), int(r[4])) for r in rows}
rounds = sorted({int(r[0]) for r in rows})
for n in names:
    ratios = [by[(k, n)][0] / by[(k, names[0])][0] for k in rounds if by[(k, names[0])][0] > 0]
    cpu = [by[(k, n)][1] / by[(k, names[0])][1] for k in rounds if by[(k, names[0])][1] > 0]
    mps = statistics.median(by[(k, n)][0] for k in rounds)
    us = statistics.median(by[(k, n)][1] for k in rounds)
    errs = sum(by[(k, n)][2] for k in rounds)
    med = lambda v: f"{statistics.median(v):.3f}" if v else "NA"
    print(f"ALTERNATE server={n} median_ratio={med(ratios)} "
          f"ratio_min={min(ratios, default=0):.3f} ratio_max={max(ratios, default=0):.3f} "
          f"median_msgs_per_s={mps:.0f} median_server_us_per_msg={us:.2f} "
          f"cpu_ratio={med(cpu)} cpu_ratios={','.join(f'{r:.3f}' for r in cpu)} errors={errs}")
EOF
[ -n "${ROUNDS_OUT:-}" ] && cp "$results" "$ROUNDS_OUT"
rm -f "$results"
