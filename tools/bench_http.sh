#!/usr/bin/env bash
# The http app against nginx (Debian nginx-light, one worker): the same small static answer
# over keep-alive, server pinned to CPU 0, wrk -t1 -c50 on CPU 1, servers alternating within
# each round. Per run: wrk's Requests/sec and the server's CPU time per request (utime+stime
# from /proc/PID/stat before/after; for nginx master + worker), whole and split into user and
# kernel (sys) time: the kernel's TCP work per request is the floor no server code goes under.
# Prints each run, then medians.
# nginx-light is a benchmark-only dependency (apt-get install nginx-light), not in setup.sh.
# Usage: tools/bench_http.sh [PATH/TO/percore]   (ROUNDS=3 DURATION=5s CONNS=50 in the env;
# BASELINE=PATH/TO/other/percore adds base-epoll and base-io_uring rows, for a before/after)
set -u
cd "$(dirname "$0")/.."
bin=${1:-build/release/tools/percore}
rounds=${ROUNDS:-3}
duration=${DURATION:-5s}
conns=${CONNS:-50}
tmp=$(mktemp -d)
server_pid=
trap '[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; rm -rf "$tmp"' EXIT
for tool in wrk nginx taskset; do
  command -v "$tool" >/dev/null || { echo "needs $tool (apt-get install wrk nginx-light)" >&2; exit 1; }
done
tck=$(getconf CLK_TCK)
port=$((20000 + RANDOM % 12000))  # below the ephemeral range: no client socket holds it

mkdir -p "$tmp/nginx"
cat >"$tmp/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    keepalive_requests 1000000;
    client_body_temp_path $tmp/nginx/body;
    proxy_temp_path $tmp/nginx/proxy;
    fastcgi_temp_path $tmp/nginx/fastcgi;
    uwsgi_temp_path $tmp/nginx/uwsgi;
    scgi_temp_path $tmp/nginx/scgi;
    server {
        listen 127.0.0.1:$port;
        location / {
            default_type text/plain;
            return 200 'hello from percore\n';
        }
    }
}
CONF

wait_port() {
  for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.05; done
  return 1
}
stop_pid() {  # by PID only
  kill "$1" 2>/dev/null
  for _ in $(seq 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$1" 2>/dev/null
  wait "$1" 2>/dev/null
}
ticks() {  # ticks PID...: "utime stime" of these processes (all their threads)
  local u=0 s=0 p
  for p in "$@"; do
    read -r pu ps < <(awk '{print $14, $15}' "/proc/$p/stat")
    u=$((u + pu)) s=$((s + ps))
  done
  echo "$u $s"
}

start() {  # start NAME: sets server_pid and procs (the PIDs whose CPU counts)
  case $1 in
    percore-epoll | percore-io_uring | base-epoll | base-io_uring)
      local exe=$bin
      [ "${1%%-*}" = base ] && exe=$BASELINE
      taskset -c 0 "$exe" serve --app http --port "$port" --threads 1 --backend "${1#*-}" \
        2>"$tmp/$1.err" &
      server_pid=$!
      wait_port "$port" || { cat "$tmp/$1.err" >&2; return 1; }
      procs=("$server_pid")
      ;;
    nginx)
      taskset -c 0 nginx -p "$tmp/nginx/" -c "$tmp/nginx.conf" 2>"$tmp/nginx.err" &
      server_pid=$!
      wait_port "$port" || { cat "$tmp/nginx.err" "$tmp/nginx/error.log" >&2; return 1; }
      sleep 0.2
      procs=("$server_pid" $(pgrep -P "$server_pid"))
      ;;
  esac
}

servers=(percore-epoll percore-io_uring nginx)
[ -n "${BASELINE:-}" ] && servers=(percore-epoll base-epoll percore-io_uring base-io_uring nginx)
printf '%-18s %5s %12s %14s %8s %8s\n' server round requests/s cpu_us/request user sys
for round in $(seq "$rounds"); do
  for s in "${servers[@]}"; do
    start "$s" || exit 1
    timeout 5 curl -s "http://127.0.0.1:$port/" >/dev/null  # warm up
    read -r u0 s0 < <(ticks "${procs[@]}")
    taskset -c 1 timeout 60 wrk -t1 -c"$conns" -d"$duration" "http://127.0.0.1:$port/" >"$tmp/wrk" 2>&1
    read -r u1 s1 < <(ticks "${procs[@]}")
    stop_pid "$server_pid"
    server_pid=
    rps=$(sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' "$tmp/wrk")
    reqs=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' "$tmp/wrk")
    if grep -qE 'Non-2xx|Socket errors' "$tmp/wrk"; then
      echo "$s round $round: errors" >&2
      cat "$tmp/wrk" >&2
    fi
    # µs per request: all, then user and kernel (system) time apart.
    read -r cpu user sys < <(awk -v u=$((u1 - u0)) -v k=$((s1 - s0)) -v hz="$tck" \
      -v n="${reqs:-0}" 'BEGIN { f = n ? 1e6 / hz / n : 0; printf "%.2f %.2f %.2f", (u + k) * f, u * f, k * f }')
    printf '%-18s %5d %12s %14s %8s %8s\n' "$s" "$round" "$rps" "$cpu" "$user" "$sys"
    echo "$s $rps $cpu $user $sys" >>"$tmp/results"
  done
done

median() {  # median SERVER COLUMN
  awk -v s="$1" -v c="$2" '$1 == s { print $c }' "$tmp/results" | sort -g |
    awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
echo
printf '%-18s %12s %14s %8s %8s %12s %12s\n' "median" requests/s cpu_us/request user sys \
  "rps vs nginx" "cpu vs nginx"
nrps=$(median nginx 2)
ncpu=$(median nginx 3)
for s in "${servers[@]}"; do
  r=$(median "$s" 2)
  c=$(median "$s" 3)
  printf '%-18s %12.0f %14.2f %8.2f %8.2f %12s %12s\n' "$s" "$r" "$c" "$(median "$s" 4)" \
    "$(median "$s" 5)" \
    "$(awk -v a="$r" -v b="$nrps" 'BEGIN { printf "%.2fx", a / b }')" \
    "$(awk -v a="$c" -v b="$ncpu" 'BEGIN { printf "%.2fx", a / b }')"
done
