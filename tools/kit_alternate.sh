#!/usr/bin/env bash
# Tells small differences apart on a noisy machine, as the kit's README advises: every server
# runs side by side (all pinned to CPU 0, idle when not driven), and short runs of the kit's
# loadgen (CPU 1) alternate between them for ROUNDS rounds; the first server is the baseline
# and each round's ratio to it is kept. Prints the median ratio and msgs/s per server.
#
#   tools/kit_alternate.sh KIT_DIR "LOADGEN ARGS" SERVER...
#     SERVER: percore-epoll | percore-io_uring | a peer in KIT_DIR/bin
#   env: ROUNDS=8 DUR=2 WARM=0.5 PERCORE=build/release/tools/percore
# e.g. tools/kit_alternate.sh ../shared/kit "--conns 50 --size 64 --depth 32" \
#        raw_epoll_echo percore-epoll libuv_echo
set -uo pipefail
cd "$(dirname "$0")/.."
kit=$1 args=$2
shift 2
ROUNDS=${ROUNDS:-8} DUR=${DUR:-2} WARM=${WARM:-0.5}
PERCORE=${PERCORE:-build/release/tools/percore}
ulimit -n "$(ulimit -Hn)"
names=("$@") ports=() pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done' EXIT
base=$((10000 + RANDOM % 20000))
for i in "${!names[@]}"; do
  port=$((base + i))
  case ${names[$i]} in
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
results=$(mktemp)
for round in $(seq "$ROUNDS"); do
  for i in "${!names[@]}"; do
    # shellcheck disable=SC2086
    line=$(taskset -c 1 "$kit/bin/loadgen" --port "${ports[$i]}" $args --duration "$DUR" \
      --warmup "$WARM" --server-pid "${pids[$i]}" | grep '^RESULT')
    mps=$(echo "$line" | grep -o 'msgs_per_s=[0-9]*' | cut -d= -f2)
    us=$(echo "$line" | grep -o 'server_us_per_op=[0-9.]*' | cut -d= -f2)
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
    mps = statistics.median(by[(k, n)][0] for k in rounds)
    us = statistics.median(by[(k, n)][1] for k in rounds)
    errs = sum(by[(k, n)][2] for k in rounds)
    print(f"ALTERNATE server={n} median_ratio={statistics.median(ratios):.3f} "
          f"ratio_min={min(ratios):.3f} ratio_max={max(ratios):.3f} median_msgs_per_s={mps:.0f} "
          f"median_server_us_per_msg={us:.2f} errors={errs}")
EOF
rm -f "$results"
