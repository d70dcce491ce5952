#!/usr/bin/env bash
# End-to-end checks of the `percore` binary: TOML config + flag overrides, bad config values,
# a port in use, graceful SIGTERM, where serve listens (loopback unless asked), probe,
# --version and the defaults help shows, the bench command (and its --fanout and --client-pool
# modes). Usage: test/cli_test.sh PATH/TO/percore
# Prints one line per check and "cli: N passed, M failed"; exit status = failures.
set -u
bin=$1
tmp=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$tmp"' EXIT
pass=0
fail=0
source "$(dirname "$0")/checks.sh"
echo_roundtrip() {  # echo_roundtrip PORT MSG
  exec 3<>/dev/tcp/127.0.0.1/"$1" || return 1
  printf '%s' "$2" >&3
  local got
  got=$(timeout 5 head -c ${#2} <&3)
  exec 3<&-
  [ "$got" = "$2" ]
}

# 1. A TOML file, with a flag overriding one of its keys.
port=$(free_port)
cat >"$tmp/server.toml" <<TOML
listen = "127.0.0.1:1"
threads = 2
backend = "epoll"
idle-timeout = "30s"
out-high-watermark = 131072
TOML
"$bin" serve --config "$tmp/server.toml" --listen "127.0.0.1:$port" --stats >"$tmp/out" 2>"$tmp/err" &
pid=$!
pids+=($pid)
check "serve starts from a TOML file" wait_listening "$port"
check "it echoes" echo_roundtrip "$port" "hello percore"
check "startup line names the backend and reactors" grep -q "2 reactor(s), backend epoll" "$tmp/err"
sleep 1.2
check "--stats prints a line per second" grep -q "open=" "$tmp/out"

# 2. The same port again: a clear error, the first server unharmed.
"$bin" serve --listen "127.0.0.1:$port" --accept-mode round_robin >/dev/null 2>"$tmp/err2"
check "a port in use fails with exit 1" [ $? -eq 1 ]
check "... and says so" grep -q "Address already in use" "$tmp/err2"
check "the first server still echoes" echo_roundtrip "$port" "still here"

# 3. SIGTERM: graceful stop, exit 0.
kill -TERM "$pid"
wait "$pid"
check "SIGTERM drains and exits 0" [ $? -eq 0 ]
check "... reporting the drain" grep -q "stopped" "$tmp/err"

# 4. Bad values, from flags and from the file.
"$bin" serve --idle-timeout 5 --port "$(free_port)" >/dev/null 2>"$tmp/err3"
check "a duration without unit is refused" [ $? -ne 0 ]
check "... naming the option" grep -q "idle-timeout" "$tmp/err3"
printf 'backend = "kqueue"\n' >"$tmp/bad.toml"
"$bin" serve --config "$tmp/bad.toml" >/dev/null 2>"$tmp/err4"
check "an unknown backend in the file is refused" [ $? -ne 0 ]
check "... naming the choices" grep -q "epoll, io_uring, auto" "$tmp/err4"
printf 'no-such-key = 1\n' >"$tmp/bad2.toml"
"$bin" serve --config "$tmp/bad2.toml" >/dev/null 2>&1
check "an unknown key in the file is refused" [ $? -ne 0 ]
"$bin" serve --out-low-watermark 999999999 --port "$(free_port)" >/dev/null 2>"$tmp/err5"
check "an inconsistent config is refused" [ $? -eq 1 ]
check "... explaining it" grep -q "out_low_watermark" "$tmp/err5"

# 5. Where serve listens: --port alone is loopback only, --listen 0.0.0.0 is every interface.
connects() {  # connects HOST PORT: a TCP connect succeeds
  timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null
}
port=$(free_port)
"$bin" serve --port "$port" --threads 1 >/dev/null 2>"$tmp/err6" &
pid=$!
pids+=($pid)
check "--port alone: reachable on 127.0.0.1" wait_listening "$port"
check "... not on another local address (127.0.0.2)" bash -c "! timeout 2 bash -c 'exec 3<>/dev/tcp/127.0.0.2/$port' 2>/dev/null"
check "... the startup line shows 127.0.0.1:P" grep -q "listening on 127.0.0.1:$port," "$tmp/err6"
check "... and says it is loopback only, naming --listen 0.0.0.0:P" \
  grep -q "loopback only.*--listen 0.0.0.0:$port" "$tmp/err6"
kill -TERM "$pid"; wait "$pid" 2>/dev/null
port=$(free_port)
"$bin" serve --listen "0.0.0.0:$port" --threads 1 >/dev/null 2>"$tmp/err7" &
pid=$!
pids+=($pid)
check "--listen 0.0.0.0:P: reachable on 127.0.0.1" wait_listening "$port"
check "... and on 127.0.0.2" connects 127.0.0.2 "$port"
check "... without the loopback note" bash -c "! grep -q 'loopback only' '$tmp/err7'"
kill -TERM "$pid"; wait "$pid" 2>/dev/null
port=$(free_port)
printf 'listen = "0.0.0.0:1"\n' >"$tmp/any.toml"
"$bin" serve --config "$tmp/any.toml" --port "$port" --threads 1 >/dev/null 2>"$tmp/err8" &
pid=$!
pids+=($pid)
check "--port with the file's listen keeps its host (0.0.0.0)" wait_listening "$port"
check "... reachable on 127.0.0.2" connects 127.0.0.2 "$port"
kill -TERM "$pid"; wait "$pid" 2>/dev/null

# percore probe, --version and the defaults serve --help shows (no server needed).
"$bin" probe >"$tmp/probe" 2>"$tmp/probe.err"
check "probe exits 0" [ $? -eq 0 ]
probe_sections() {  # every heading, and a line of each, as on this machine
  local h
  for h in percore kernel io_uring 'open files' network memory; do
    grep -qx "$h" "$tmp/probe" || { echo "  no section '$h'"; return 1; }
  done
  grep -Eq '^  release +[0-9]' "$tmp/probe" &&
    grep -Eq '^  status +(available|incomplete|unavailable)' "$tmp/probe" &&
    grep -Eq '^  open files, hard \(ulimit -Hn\) +([0-9,]+|unlimited)' "$tmp/probe" &&
    grep -Eq '^  fs.nr_open +[0-9,]+' "$tmp/probe" && grep -Eq '^  fs.file-max +[0-9,]+' "$tmp/probe" &&
    grep -Eq '^  net.core.somaxconn +[0-9,]+' "$tmp/probe" &&
    grep -Eq '^  net.ipv4.tcp_max_syn_backlog +[0-9,]+' "$tmp/probe" &&
    grep -Eq '^  net.ipv4.ip_local_port_range +[0-9]+ [0-9]+' "$tmp/probe" &&
    grep -Eq '^  net.ipv4.tcp_tw_reuse +[0-9]' "$tmp/probe" &&
    grep -Eq '^  net.ipv4.tcp_mem +[0-9]+ [0-9]+ [0-9]+ pages' "$tmp/probe" &&
    grep -Eq '^  MemAvailable +[0-9.]+ [KMGT]iB' "$tmp/probe" &&
    grep -Eq '^  percore per connection +[0-9]+ B' "$tmp/probe" &&
    grep -Eq '^  kernel per TCP socket +[0-9,]+ B .*measured here' "$tmp/probe" &&
    per_socket_sane
}
per_socket_sane() {  # a few KB per idle socket (about 4-5 KB on x86-64), not a sum or a slice
  local b
  b=$(sed -nE 's/^  kernel per TCP socket +([0-9,]+) B.*/\1/p' "$tmp/probe" | tr -d ,)
  [ -n "$b" ] && [ "$b" -ge 1000 ] && [ "$b" -le 16000 ] || { echo "  per socket: '$b' B"; return 1; }
}
check "... with every section: kernel, io_uring, limits, network, memory (socket cost measured)" \
  probe_sections
# A hard limit of 4096 open files (lowering it needs no privilege) cannot hold a million.
(ulimit -n 4096 && "$bin" probe --target-conns 1000000) >"$tmp/probe2" 2>&1
check "probe --target-conns 1000000 under ulimit -n 4096 exits 0" [ $? -eq 0 ]
check "... says it cannot, with the open-files shortfall" \
  bash -c "grep -Eq '^  can hold them +no' '$tmp/probe2' &&
    grep -Eq '^  open files \(hard\) +SHORT +4,096 < 1,001,024' '$tmp/probe2'"
check "... and the lines to change: sysctl.d, limits.conf, LimitNOFILE, ulimit" \
  bash -c "grep -q '/etc/sysctl.d/99-percore.conf' '$tmp/probe2' &&
    grep -Eq '^ +\* +soft +nofile +1048576$' '$tmp/probe2' &&
    grep -Eq '^ +\* +hard +nofile +1048576$' '$tmp/probe2' &&
    grep -Eq '^ +LimitNOFILE=1048576$' '$tmp/probe2' && grep -Eq '^ +ulimit -n 1048576$' '$tmp/probe2'"
check "... with the memory a million idle connections take" \
  grep -Eq '^  memory, percore +[0-9.]+ MiB' "$tmp/probe2"
json_ok() {  # the JSON parses, and holds the sections and the verdict
  python3 -c '
import json, sys
d = json.load(sys.stdin)
for k in ("kernel", "io_uring", "open_files", "network", "memory", "target"):
    assert k in d, k
assert d["target"]["can_hold"] is False and d["target"]["nofile_hard"]["have"] == 4096
assert isinstance(d["network"]["tcp_mem_pages"], list) and d["memory"]["percore_per_conn"] > 0
'
}
(ulimit -n 4096 && "$bin" probe --json --target-conns 1000000) >"$tmp/probe.json" 2>&1
check "probe --json prints one object that parses" json_ok <"$tmp/probe.json"
"$bin" probe --target-conns -5 >/dev/null 2>"$tmp/probe3"
check "probe with a bad flag value exits 1" [ $? -eq 1 ]
check "... naming the flag and its range" grep -q -- "--target-conns: .*not in range 1 to" "$tmp/probe3"
check "--version prints the version and commit" \
  bash -c "'$bin' --version | grep -Eqx 'percore [0-9]+\.[0-9]+\.[0-9]+ \(git [0-9a-f]{7,}(-dirty)?\)|percore [0-9]+\.[0-9]+\.[0-9]+ \(git unknown\)'"
check "... and so does 'percore version'" bash -c "[ \"\$('$bin' version)\" = \"\$('$bin' --version)\" ]"
"$bin" serve --help >"$tmp/help"
# The defaults of reactor/config.h, as help shows them.
check "serve --help: --[no-]tcp-nodelay defaults to true" grep -Eq '^  --\[no-\]tcp-nodelay=true ' "$tmp/help"
check "... --[no-]keepalive to false, --backlog to 4096, --write-timeout to 30s" \
  bash -c "grep -Eq '^  --\[no-\]keepalive=false ' '$tmp/help' && grep -Eq '^  --backlog INT=4096 ' '$tmp/help' &&
    grep -Eq '^  --write-timeout DURATION=30s' '$tmp/help'"
"$bin" serve --max-connections -1 --port "$(free_port)" >/dev/null 2>"$tmp/err9"
check "a negative count is refused" [ $? -ne 0 ]
check "... naming the flag and the accepted values" \
  grep -q -- "--max-connections: '-1' is not a whole number from 0 to 4294967295" "$tmp/err9"
"$bin" serve --tcp-nodelay=maybe --port "$(free_port)" >/dev/null 2>"$tmp/err10"
check "a switch given a value that is not a boolean is refused" [ $? -ne 0 ]
check "... naming the flag and the accepted values" \
  grep -q -- "--tcp-nodelay: 'maybe' is not true or false" "$tmp/err10"

# 6. The README's main job. Its plan with no case flags: the sweep a user needs to choose a
# backend (four cases, then idle memory at 10,000 connections).
"$bin" bench --compare epoll,io_uring --dry-run >"$tmp/plan" 2>&1
check "bench with no case flags plans the sweep: 50/1,000 conns x depth 1/32, idle at 10,000" \
  grep -q '^bench: cases 50x1, 50x32, 1000x1, 1000x32 (CONNSxDEPTH), then idle memory at 10,000 connections; servers epoll, io_uring; 3 round(s)' "$tmp/plan"
# The same sweep, shortened through its case flags (what is measured is unchanged): a table per
# case and one verdict line per case, no machine lines.
short=(--duration 0.3 --warmup 0.1 --rounds 1)
"$bin" bench --compare epoll,io_uring --cases 2x1,4x2 --idle 100 "${short[@]}" >"$tmp/bench" \
  2>"$tmp/bench.err"
check "bench --cases 2x1,4x2 --idle 100 exits 0" [ $? -eq 0 ]
verdicts() {  # one verdict line per case, in order, naming the cheaper server and the figures
  local cpu='(epoll|io_uring) spent [0-9]+% less server CPU per message than (epoll|io_uring) \([0-9.]+ vs [0-9.]+ us\); throughput [0-9.]+x; lower in [01] of 1 rounds'
  grep -Eq "^2 conns, depth 1: $cpu\$" "$1" && grep -Eq "^4 conns, depth 2: $cpu\$" "$1" &&
    grep -Eq '^idle memory at 100 connections: (epoll|io_uring) took -?[0-9]+% less memory per connection than (epoll|io_uring) \([0-9,-]+ vs [0-9,-]+ B\)$' "$1" &&
    [ "$(grep -Ec ': (epoll|io_uring) (spent|took) ' "$1")" -eq 3 ]
}
check "... one verdict line per case (CPU per message; idle: memory per connection)" verdicts "$tmp/bench"
table_cols() {  # the final table's columns, and a row per backend per case
  [ "$(grep -c '^server .*msgs/s .*MB/s .*p50 us .*p90 us .*p99 us .*p99.9 us .*max us .*conn p50 .*conn max .*errors' "$1")" -eq 2 ] &&
    [ "$(grep -Ec '^(epoll|io_uring) +[0-9]+ ' "$1")" -eq 4 ]
}
check "... a table per case: msgs/s, MB/s, p50/p90/p99/p99.9/max, connect, errors" table_cols "$tmp/bench"
check "... no machine lines without --json/--csv" bash -c "! grep -q '^BENCH' '$tmp/bench'"
check "... progress on stderr, a line per round" \
  [ "$(grep -c '^bench \[ *[0-9]* s\] ([0-9]/3) ' "$tmp/bench.err")" -eq 4 ]
# --json: one document with every figure; --hdr-out and --plot on the same run.
"$bin" bench --compare epoll,io_uring --cases 2x1,2x4 --idle 50 "${short[@]}" --json \
  --hdr-out "$tmp/lat.hgrm" --plot "$tmp/plot.png" >"$tmp/bench.json" 2>"$tmp/bench.json.err"
check "bench --json exits 0" [ $? -eq 0 ]
bench_json_ok() {
  python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["ok"] is True and d["rounds"] == 1, d
cs = d["cases"]
assert [(c["kind"], c["conns"], c["depth"]) for c in cs] == [("load", 2, 1), ("load", 2, 4), ("idle", 50, 0)], cs
for c in cs:
    assert c["verdict"].startswith(c["title"] + ": "), c["verdict"]
    assert [r["server"] for r in c["rows"]] == ["epoll", "io_uring"]
    for r in c["rows"]:
        for k in ("msgs_per_s", "mb_per_s", "p50_us", "p90_us", "p99_us", "p999_us", "max_us",
                  "connect_p50_us", "connect_max_us", "errors", "server_us_per_msg",
                  "syscalls_per_msg", "ratio", "idle_bytes_per_conn"):
            assert k in r, k
        assert r["errors"] == 0 and r["errors_by_kind"] == {} and r["ok"] is True
        if c["kind"] == "load":
            assert r["msgs_per_s"] > 0 and r["server_us_per_msg"] > 0, r
        else:
            assert isinstance(r["idle_bytes_per_conn"], int), r
    if c["kind"] == "load":
        assert c["rows"][0]["ratio"] == 1.0
'
}
check "... one document that parses, with cases, rows, every figure and errors by kind" \
  bench_json_ok <"$tmp/bench.json"
check "... nothing but the document on stdout" \
  bash -c "[ \"\$(head -c1 '$tmp/bench.json')\" = '{' ] && ! grep -q '^bench' '$tmp/bench.json'"
hdr_files() {  # a file per row, in HdrHistogram's percentile format
  local f
  for f in epoll.c2.d1 io_uring.c2.d1 epoll.c2.d4 io_uring.c2.d4; do
    head -1 "$tmp/lat.$f.hgrm" 2>/dev/null | grep -Eq '^ +Value +Percentile +TotalCount +1/\(1-Percentile\)$' ||
      { echo "  no $tmp/lat.$f.hgrm"; return 1; }
  done
}
check "--hdr-out: one HdrHistogram percentile file per row, named by server and case" hdr_files
is_png() { [ "$(head -c 4 "$1" 2>/dev/null | od -An -c | tr -d ' ')" = '211PNG' ]; }
check "--plot writes the throughput PNG" is_png "$tmp/plot.png"
check "... and the latency PNG" is_png "$tmp/plot-latency.png"
PATH=/nonexistent "$bin" bench --cases 2x1 "${short[@]}" --plot "$tmp/none.png" >"$tmp/noplot" 2>&1
check "--plot without gnuplot on PATH fails" [ $? -ne 0 ]
check "... saying gnuplot is missing and its package" \
  grep -q -- '--plot needs gnuplot, which is not on PATH: install the Debian package gnuplot-nox' "$tmp/noplot"
# --compare with a server percore only knows as a command, and one already running; --csv.
port=$(free_port)
"$bin" serve --port "$port" --threads 1 >/dev/null 2>&1 &
running_pid=$!
pids+=($running_pid)
wait_listening "$port"
: >"$tmp/second.toml"  # an empty config: its path marks the command's server in ps
"$bin" bench --compare "epoll,second=$bin serve --config $tmp/second.toml --threads 1 --port {port},there@127.0.0.1:$port" \
  --cases 2x1 "${short[@]}" >"$tmp/bench4" 2>"$tmp/bench4.err"
check "bench --compare with NAME=COMMAND and NAME@HOST:PORT exits 0" [ $? -eq 0 ]
check "... the command's server in the table, its CPU measured" \
  grep -Eq '^second +[0-9]+ .* [0-9]+\.[0-9]{2} +[0-9.-]+ +[0-9.]+$' "$tmp/bench4"
check "... the running server in the table, no CPU figure" \
  grep -Eq '^there +[0-9]+ .* 0 +- +- +[0-9.]+$' "$tmp/bench4"
check "... the command's server was stopped" \
  bash -c "! pgrep -f -- '[-]-config $tmp/second.toml' >/dev/null"
"$bin" bench --compare "epoll,second=$bin serve --app echo --backend io_uring --threads 1 --port {port}" \
  --cases 2x1,2x2 "${short[@]}" --csv >"$tmp/bench.csv" 2>"$tmp/bench.csv.err"
check "bench --csv exits 0" [ $? -eq 0 ]
csv_ok() {
  python3 -c '
import csv, sys
rows = list(csv.DictReader(sys.stdin))
assert [(r["server"], r["server_kind"], r["conns"], r["depth"]) for r in rows] == [
    ("epoll", "builtin", "2", "1"), ("second", "command", "2", "1"),
    ("epoll", "builtin", "2", "2"), ("second", "command", "2", "2")], rows
for r in rows:
    assert float(r["msgs_per_s"]) > 0 and r["errors"] == "0" and float(r["server_us_per_msg"]) > 0
    for k in ("p90_us", "max_us", "connect_p50_us", "errors_by_kind", "ratio"):
        assert k in r, k
'
}
check "... a header and one row per server per case" csv_ok <"$tmp/bench.csv"
kill "$running_pid"; wait "$running_pid" 2>/dev/null
# A bench killed mid-run takes the servers it started with it.
"$bin" bench --compare "epoll,second=$bin serve --config $tmp/second.toml --threads 1 --port {port}" \
  --cases 2x1 --duration 5 --warmup 0 --rounds 1 >/dev/null 2>&1 &
bench_pid=$!
for _ in $(seq 50); do pgrep -f -- "[-]-config $tmp/second.toml" >/dev/null && break; sleep 0.1; done
sleep 0.3
kill -KILL "$bench_pid"; wait "$bench_pid" 2>/dev/null
gone() {  # gone PATTERN: within 2 s no process matches
  for _ in $(seq 40); do pgrep -f -- "$1" >/dev/null || return 0; sleep 0.05; done
  pgrep -af -- "$1"; return 1
}
check "a bench killed with SIGKILL leaves none of its servers running" gone "[-]-config $tmp/second.toml"
# Errors are shown and fail the run: a server that corrupts a byte in every 1,000.
"$bin" bench --compare "epoll,bad=python3 $(dirname "$0")/bad_echo_server.py {port}" --cases 2x1 \
  "${short[@]}" >"$tmp/bench5" 2>&1
check "a run with errors exits non-zero" [ $? -ne 0 ]
check "... and shows them under the table" grep -Eq '^  bad: [1-9][0-9]* errors' "$tmp/bench5"
# --live when piped: a plain line per second of the run, with rate, p99 and open connections.
"$bin" bench --compare epoll --cases 2x1 --duration 2.2 --warmup 0.1 --rounds 1 --live \
  2>"$tmp/bench.live" >/dev/null
check "bench --live prints a line per second when piped" \
  bash -c "[ \$(grep -Ec ' s +[0-9,]+ msgs/s .*p99 .*open 2\$' '$tmp/bench.live') -ge 2 ]"
# On a terminal, figures get thousands separators.
script -qec "'$bin' bench --cases 20x8 ${short[*]}" /dev/null >"$tmp/bench.tty" 2>&1
check "on a terminal, msgs/s has thousands separators" \
  grep -Eq '^epoll +[0-9]{1,3}(,[0-9]{3})+ ' "$tmp/bench.tty"
# The framed app against the plain echo, frames checked byte for byte by the load client.
"$bin" bench --compare echo@epoll,framed@epoll,framed@io_uring --frame-header 2 --size 64 \
  --conns 20 --depth 4 --duration 0.3 --warmup 0.1 --rounds 2 --csv >"$tmp/bench3" 2>"$tmp/bench3.err"
check "bench --frame-header 2 drives the framed app (both backends) and exits 0" [ $? -eq 0 ]
check "... with every frame echoed intact" \
  bash -c "[ \$(grep -Ec '^\"20 conns, depth 4\",load,\"framed@[a-z_]+\",builtin,.*,0,\"\",' '$tmp/bench3') -eq 2 ]"
"$bin" bench --compare epoll,kqueue --conns 2 --depth 1 --duration 0.3 --warmup 0 \
  >"$tmp/bench2" 2>&1
check "an unknown backend in --compare is refused" [ $? -ne 0 ]
check "... naming the choices" grep -q "kqueue.*epoll, io_uring, auto" "$tmp/bench2"
"$bin" bench --compare 'epoll,raw=/bin/true' --dry-run >"$tmp/bench6" 2>&1
check "a --compare command without {port} is refused" [ $? -ne 0 ]
check "... naming the flag and the accepted forms" \
  grep -q -- "--compare: 'raw=/bin/true': the command has no {port} placeholder; each entry is BACKEND .*APP@BACKEND.*NAME=COMMAND with {port}.*NAME@HOST:PORT" "$tmp/bench6"
"$bin" bench --conns 0 >/dev/null 2>"$tmp/bench3"
check "a bad --conns is refused by name" grep -q -- "--conns" "$tmp/bench3"

# start_on_port WHAT COMMAND... (use "$port", already set): runs it in the background and checks
# that it listens; stop_server ends it.
start_on_port() {
  "${@:2}" >/dev/null 2>&1 &
  server_pid=$!
  pids+=($server_pid)
  check "$1 starts" wait_listening "$port"
}
stop_server() { kill "$server_pid"; wait "$server_pid" 2>/dev/null; }

# The line app: CRLF or LF lines come back with LF; a line over 64 KiB is refused and closed.
port=$(free_port)
start_on_port "serve --app line" "$bin" serve --app line --port "$port" --threads 1
line_roundtrip() {
  exec 3<>/dev/tcp/127.0.0.1/"$port" || return 1
  printf 'hello\r\nwor' >&3
  sleep 0.1
  printf 'ld\n' >&3
  local got
  got=$(timeout 5 head -c 12 <&3 | od -An -c | tr -s ' ')
  exec 3<&-
  [ "$got" = " h e l l o \n w o r l d \n" ]
}
check "line app frames lines across writes" line_roundtrip
too_long() {
  exec 3<>/dev/tcp/127.0.0.1/"$port" || return 1
  head -c 70000 /dev/zero | tr '\0' x >&3
  local got
  got=$(timeout 5 cat <&3)
  exec 3<&-
  [ "$got" = "-ERR line too_large" ]
}
check "a line over max_line gets an error and a close" too_long
stop_server

# The README's game server example (docs/examples/game_server.cc), built by the test build.
port=$(free_port)
start_on_port "the game server example" "$(dirname "$bin")/../test/game_server_example" "$port"
game_session() {
  exec 3<>/dev/tcp/127.0.0.1/"$port" || return 1
  printf '\x00\x02\x00\x02' >&3                         # move before login
  printf '\x00\x07\x00\x01alice\x00\x06\x00\x02\x00\x03\x00\xfe' >&3  # login, move (+3, -2)
  local got
  # 3 replies, [u16 len][u16 id][body]: 16 + 17 + 8 bytes; ids 255, 101, 102.
  got=$(timeout 5 head -c 41 <&3 | od -An -tx1 | tr -d ' \n')
  exec 3<&-
  [ "$got" = "000e00ff$(printf 'log in first' | od -An -tx1 | tr -d ' \n')000f0065$(
    printf 'welcome alice' | od -An -tx1 | tr -d ' \n')00060066$(printf '3,-2' | od -An -tx1 | tr -d ' \n')" ]
}
check "it answers by message id, with per-connection state" game_session
stop_server

# The README's rooms example (docs/examples/room_chat.cc): two members of one room and one
# outsider, each on its own connection (spread over the reactors).
port=$(free_port)
start_on_port "the rooms example" "$(dirname "$bin")/../test/room_chat_example" "$port"
room_session() {
  exec 3<>/dev/tcp/127.0.0.1/"$port" || return 1
  exec 4<>/dev/tcp/127.0.0.1/"$port" || return 1
  exec 6<>/dev/tcp/127.0.0.1/"$port" || return 1
  printf 'join lobby\n' >&3
  printf 'join lobby\n' >&4
  printf 'join garden\n' >&6
  sleep 0.2
  printf 'say lobby hello all\n' >&3
  local a b c
  a=$(timeout 5 head -n 1 <&3)
  b=$(timeout 5 head -n 1 <&4)
  c=$(timeout 0.5 head -n 1 <&6)
  exec 3<&- 4<&- 6<&-
  [ "$a" = "lobby: hello all" ] && [ "$b" = "lobby: hello all" ] && [ -z "$c" ]
}
check "a said line reaches the room's members and nobody else" room_session
stop_server

# The fan-out bench (percore bench --fanout): 50 members, every delivery checked for order and
# uniqueness, against redis-server and the chat app, burst 1 and 16; then against a pub/sub
# stand-in that duplicates one message, which must be named and fail the run.
fanout_clean() {  # fanout_clean FILE ROWS: ROWS result lines, all without errors, deliveries > 0
  [ "$(grep -c '^FANOUT server=' "$1")" -eq "$2" ] && ! grep '^FANOUT' "$1" | grep -qv ' errors=0 ' &&
    ! grep -q 'deliveries_per_s=0 ' "$1" && grep -q 'deliveries/s' "$1"
}
if command -v redis-server >/dev/null; then
  timeout 60 "$bin" bench --fanout --compare redis --members 50 --duration 1 --warmup 0.2 \
    --rounds 1 --burst 1,16 >"$tmp/fanout" 2>"$tmp/fanout.err"
  check "bench --fanout against redis-server exits 0" [ $? -eq 0 ]
  check "... a table and a clean row per burst" fanout_clean "$tmp/fanout" 2
else
  echo "skip bench --fanout against redis-server (tools/setup.sh --test installs it)"
fi
if "$bin" serve --help 2>&1 | grep -q 'chat'; then
  timeout 90 "$bin" bench --fanout --compare chat@epoll,chat@io_uring --members 50 --rooms 2 \
    --duration 1 --warmup 0.2 --rounds 1 --burst 1,16 >"$tmp/fanout2" 2>"$tmp/fanout2.err"
  check "bench --fanout against the chat app (both backends) exits 0" [ $? -eq 0 ]
  check "... a clean row per backend and burst" fanout_clean "$tmp/fanout2" 4
  timeout 60 "$bin" bench --fanout --compare chat@epoll --protocol ws-chat --members 50 \
    --duration 1 --warmup 0.2 --rounds 1 --burst 4 >"$tmp/fanout3" 2>"$tmp/fanout3.err"
  check "... and over WebSocket" fanout_clean "$tmp/fanout3" 1
  timeout 60 "$bin" bench --fanout --idle-members 200 --protocol ws-chat --compare chat@epoll \
    >"$tmp/fanout4" 2>"$tmp/fanout4.err"
  check "bench --fanout --idle-members reports bytes per member" \
    grep -q '^FANOUT_IDLE server=chat@epoll protocol=ws-chat members=200 .*bytes_per_member=' "$tmp/fanout4"
else
  echo "skip bench --fanout against the chat app (no serve --app chat in this build)"
fi
port=$(free_port)
start_on_port "a pub/sub stand-in that duplicates one message" \
  python3 "$(dirname "$0")/fanout_dup_server.py" "$port"
timeout 60 "$bin" bench --fanout --port "$port" --protocol redis --members 20 --duration 0.5 \
  --warmup 0.1 --burst 1 >"$tmp/fanout5" 2>&1
check "bench --fanout fails on a duplicated message" [ $? -ne 0 ]
check "... naming it at each of the 20 members" grep -q 'errors=20 duplicate=20$' "$tmp/fanout5"
stop_server

# The ClientPool bench (percore bench --client-pool): a short run per depth against its own echo
# server, every answer checked against its request; the kit's loadgen is no part of the
# project, so the pool alone.
cpool_rows() {  # cpool_rows FILE ROWS: ROWS clean result lines with answers
  [ "$(grep -c '^CLIENT_POOL depth=.* ok=1$' "$1")" -eq "$2" ] && ! grep -q 'pool_rps=0 ' "$1"
}
timeout 60 "$bin" bench --client-pool --loadgen none --conns 4 --depth 1,16 --duration 0.4 \
  --warmup 0.1 --rounds 1 >"$tmp/cpool" 2>"$tmp/cpool.err"
check "bench --client-pool exits 0" [ $? -eq 0 ]
check "... a clean row per depth" cpool_rows "$tmp/cpool" 2
# percore bench as a load generator (--target): each protocol against the app that speaks it,
# every reply checked; Redis and nginx as real third-party servers; a wrong expectation fails
# by name; the open loop counts a server stall from each request's scheduled time.
quick=(--duration 0.5 --warmup 0.2 --conns 4 --depth 4)
csv_field() {  # csv_field FILE FIELD: the field of the one CSV row in FILE
  python3 -c 'import csv, sys; rows = list(csv.DictReader(open(sys.argv[1]))); assert len(rows) == 1, rows; print(rows[0][sys.argv[2]])' "$1" "$2" 2>/dev/null
}
bench_ok() {  # bench_ok FILE ARGS...: exit 0, one result row, messages, no errors
  "$bin" bench "${@:2}" --csv >"$1" 2>"$1.err" && [ "$(csv_field "$1" errors)" = 0 ] &&
    python3 -c 'import sys; assert float(sys.argv[1]) > 0' "$(csv_field "$1" msgs_per_s)" 2>/dev/null
}
for pa in echo:raw line:line framed:length kv:resp http:http ws:ws; do
  app=${pa%%:*} proto=${pa##*:}
  port=$(free_port)
  start_on_port "serve --app $app" "$bin" serve --app "$app" --port "$port" --threads 1
  extra=()
  [ "$proto" = ws ] && extra=(--path /ws)
  check "bench --protocol $proto against serve --app $app: exit 0, 0 errors" \
    bench_ok "$tmp/lg-$proto" --target "127.0.0.1:$port" --protocol "$proto" "${quick[@]}" "${extra[@]}"
  if [ "$proto" = http ]; then
    "$bin" bench --target "127.0.0.1:$port" --protocol http --expect-status 404 "${quick[@]}" \
      >"$tmp/lg-404" 2>&1
    check "bench --expect-status 404 against a 200 server exits non-zero" [ $? -ne 0 ]
    check "... naming the error kind" grep -Eq '^  server: [0-9]+ errors: bad status [0-9]+' "$tmp/lg-404"
  fi
  if [ "$proto" = raw ]; then
    "$bin" bench --target "127.0.0.1:$port" --protocol raw --rate 2000 --conns 10 --depth 1 \
      --duration 1 --warmup 0.2 --csv >"$tmp/lg-open" 2>/dev/null
    check "bench --rate 2000 (open loop) exits 0" [ $? -eq 0 ]
    "$bin" bench --target "127.0.0.1:$port" --protocol raw --rate 2000 --conns 10 --depth 1 \
      --duration 2 --warmup 0.2 --csv >"$tmp/lg-stall" 2>/dev/null &
    bench_pid=$!
    # 0.5 s into the measured window the server stops for 1 s; the backlog is answered within it.
    sleep 0.7
    kill -STOP "$server_pid"
    sleep 1
    kill -CONT "$server_pid"
    wait "$bench_pid"
    check "bench --rate with the server stopped for 1 s exits 0" [ $? -eq 0 ]
    p99_fast=$(csv_field "$tmp/lg-open" p99_us | cut -d. -f1)
    p99_stall=$(csv_field "$tmp/lg-stall" p99_us | cut -d. -f1)
    check "... its p99 counts the stall from the scheduled times (above 500 ms: $p99_stall us)" \
      [ "${p99_stall:-0}" -gt 500000 ]
    check "... while the same run without the stall stays far below it ($p99_fast us)" \
      [ -n "$p99_fast" ] && [ $((p99_fast * 4)) -lt "${p99_stall:-0}" ]
  fi
  stop_server
done
if command -v redis-server >/dev/null; then
  port=$(free_port)
  start_on_port "redis-server" redis-server --port "$port" --bind 127.0.0.1 --save '' \
    --appendonly no
  check "bench --protocol resp against redis-server: SET/GET checked, exit 0, 0 errors" \
    bench_ok "$tmp/lg-redis" --target "127.0.0.1:$port" --protocol resp --keyspace 100 \
    --command 'SET key:__rand__ val:__rand__' --command 'GET key:__rand__' --command PING \
    --command 'INCR n:__rand__' "${quick[@]}"
  stop_server
else
  check "redis-server is installed (tools/setup.sh --test installs it)" false
fi
if command -v nginx >/dev/null; then
  port=$(free_port)
  mkdir -p "$tmp/nginx/www"
  echo "hello from nginx" >"$tmp/nginx/www/index.html"
  chmod 755 "$tmp" "$tmp/nginx" "$tmp/nginx/www"  # nginx's worker may run as another user
  cat >"$tmp/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/error.log warn;
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path $tmp/nginx/body;
    proxy_temp_path $tmp/nginx/proxy;
    fastcgi_temp_path $tmp/nginx/fastcgi;
    uwsgi_temp_path $tmp/nginx/uwsgi;
    scgi_temp_path $tmp/nginx/scgi;
    server {
        listen 127.0.0.1:$port;
        root $tmp/nginx/www;
    }
}
CONF
  start_on_port "nginx" nginx -e "$tmp/nginx/error.log" -c "$tmp/nginx.conf"
  check "bench --protocol http against nginx: exit 0, 0 errors" \
    bench_ok "$tmp/lg-nginx" --target "127.0.0.1:$port" --protocol http --path /index.html \
    "${quick[@]}"
  stop_server
else
  check "nginx is installed (tools/setup.sh --test installs nginx-light)" false
fi
"$bin" bench --protocol smtp --target 127.0.0.1:1 >/dev/null 2>"$tmp/lg-bad"
check "an unknown --protocol is refused, naming the choices" \
  grep -q "smtp.*raw.*line.*length.*resp.*http.*ws" "$tmp/lg-bad"

echo "cli: $pass passed, $fail failed"
exit "$fail"
