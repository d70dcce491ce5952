#!/usr/bin/env bash
# The http app against real clients: curl (bodies, HEAD, status codes, keep-alive reuse),
# raw bash /dev/tcp sockets (pipelining, Connection: close, HTTP/1.0, codec errors answered
# with their status then closed) and wrk (a short load run without errors).
# Usage: test/clients_http.sh PATH/TO/percore
# Prints one line per check and "http: N passed, M failed"; exit status = failures.
set -u
bin=$1
tmp=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$tmp"' EXIT
trap '' PIPE  # a write to a connection the server closed must fail, not end this script
pass=0
fail=0
source "$(dirname "$0")/checks.sh"
for tool in curl wrk timeout; do
  command -v "$tool" >/dev/null || { echo "FAIL $tool is not installed (tools/setup.sh --test)"; echo "http: 0 passed, 1 failed"; exit 1; }
done

port=$(free_port)
url=http://127.0.0.1:$port
# A small send buffer, so that the flood below backs up in user space (above the high
# watermark) on any host: with autotuned loopback buffers the kernel alone can hold all of it.
"$bin" serve --app http --port "$port" --threads 2 --sndbuf 16384 >"$tmp/out" 2>"$tmp/err" &
pid=$!
pids+=($pid)
check "serve --app http starts" wait_listening "$port"
c() { timeout 5 curl -s "$@"; }

# A long-lived client opened first; it must keep being served while others misbehave.
exec 5<>/dev/tcp/127.0.0.1/"$port"
keeper() {  # one request on the long-lived connection; the answer must be whole
  printf 'GET / HTTP/1.1\r\nHost: k\r\n\r\n' >&5
  local got
  got=$(timeout 5 head -c 84 <&5)  # 65-byte head + 19-byte body
  [[ $got == "HTTP/1.1 200 OK"*"Content-Length: 19"*"hello from percore" ]]
}
check "a long-lived keep-alive client is answered" keeper

# curl: bodies, HEAD, statuses.
check "GET / body" [ "$(c "$url/")" = "hello from percore" ]
c -I "$url/" | tr -d '\r' >"$tmp/head"
check "HEAD / is 200" grep -q '^HTTP/1.1 200 OK$' "$tmp/head"
check "HEAD / has the true Content-Length" grep -q '^Content-Length: 19$' "$tmp/head"
check "HEAD / has no body" [ "$(c -I -o /dev/null -w '%{size_download}' "$url/")" = 0 ]
check "GET /nope is 404" [ "$(c -o /dev/null -w '%{http_code}' "$url/nope")" = 404 ]
check "POST / is 405" [ "$(c -o /dev/null -w '%{http_code}' -X POST -d x "$url/")" = 405 ]
check "... with Allow: GET, HEAD" bash -c "timeout 5 curl -si -X DELETE '$url/metrics' | tr -d '\r' | grep -q '^Allow: GET, HEAD$'"
c -D "$tmp/mhead" "$url/metrics" >"$tmp/metrics"
check "/metrics has percore_connections_accepted_total" grep -q '^percore_connections_accepted_total [0-9]' "$tmp/metrics"
check "/metrics has per-reactor lines" grep -q '^percore_reactor_frames_in_total{reactor="1"} [0-9]' "$tmp/metrics"
check "/metrics is text/plain; version=0.0.4" grep -qi '^Content-Type: text/plain; version=0.0.4' "$tmp/mhead"

# Keep-alive: three URLs on one curl command line reuse one connection.
check "curl reuses one connection for three requests" \
  [ "$(c -o /dev/null -o /dev/null -o /dev/null -w '%{num_connects}' "$url/" "$url/" "$url/")" = 100 ]
accepted() { c "$url/metrics" | sed -n 's/^percore_connections_accepted_total //p'; }
before=$(accepted)
c -o /dev/null -o /dev/null -o /dev/null -o /dev/null "$url/" "$url/nope" "$url/" "$url/"
after=$(accepted)
check "... and the server counts one accept for them" [ $((after - before)) -eq 2 ]  # +1: /metrics

# Raw sockets. raw REQUEST: sends it in one write, reads until EOF (5 s at most) into $tmp/raw;
# returns 0 only if the server closed the connection (124 if it was still open after WAIT s).
raw() {  # raw REQUEST [WAIT]
  exec 3<>/dev/tcp/127.0.0.1/"$port" || return 1
  printf '%b' "$1" >&3 2>/dev/null
  timeout "${2:-5}" cat <&3 >"$tmp/raw"
  local rc=$?
  exec 3<&-
  return $rc
}
raw 'GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /nope HTTP/1.1\r\nHost: a\r\n\r\nHEAD / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n'
closed=$?
check "pipelined: three answers, in order" \
  [ "$(grep -ao '^HTTP/1.1 [0-9]*' "$tmp/raw" | tr '\n' ' ')" = "HTTP/1.1 200 HTTP/1.1 404 HTTP/1.1 200 " ]
check "pipelined: the last (Connection: close) ends the connection" [ $closed -eq 0 ]
raw 'GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n'
closed=$?
check "Connection: close: answered, then EOF" bash -c "[ $closed -eq 0 ] && grep -q 'hello from percore' '$tmp/raw' && grep -qa '^Connection: close' '$tmp/raw'"
raw 'GET / HTTP/1.0\r\n\r\n'
closed=$?
check "HTTP/1.0 without keep-alive: answered, then EOF" bash -c "[ $closed -eq 0 ] && grep -q 'hello from percore' '$tmp/raw'"
raw 'GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n' 1
kept=$?
check "HTTP/1.0 keep-alive: kept open, confirmed" bash -c "[ $kept -eq 124 ] && grep -qai '^Connection: keep-alive' '$tmp/raw'"
raw 'GARBAGE\r\n\r\n'
closed=$?
check "malformed request line: 400, then EOF" bash -c "[ $closed -eq 0 ] && grep -qa '^HTTP/1.1 400 ' '$tmp/raw'"
raw "GET / HTTP/1.1\r\nHost: a\r\nX-Big: $(head -c 20480 /dev/zero | tr '\0' a)\r\n\r\n"
closed=$?
check "a 20 KiB header: 431, then EOF" bash -c "[ $closed -eq 0 ] && grep -qa '^HTTP/1.1 431 ' '$tmp/raw'"
raw 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n'
closed=$?
check "a chunked POST: 501, then EOF" bash -c "[ $closed -eq 0 ] && grep -qa '^HTTP/1.1 501 ' '$tmp/raw'"
raw "GET /$(head -c 9000 /dev/zero | tr '\0' a) HTTP/1.1\r\nHost: a\r\n\r\n"
closed=$?
check "a 9000-byte target: 414, then EOF" bash -c "[ $closed -eq 0 ] && grep -qa '^HTTP/1.1 414 ' '$tmp/raw'"
raw 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2000000\r\n\r\n'
closed=$?
check "a 2 MB Content-Length: 413, then EOF" bash -c "[ $closed -eq 0 ] && grep -qa '^HTTP/1.1 413 ' '$tmp/raw'"
raw 'GET / HTTP/2.0\r\nHost: a\r\n\r\n'
check "HTTP/2.0 request line: 505" grep -qa '^HTTP/1.1 505 ' "$tmp/raw"
# Backpressure: 20,000 pipelined requests written while nobody reads the answers pause the
# connection's reading (output above the high watermark); reading them resumes it, and every
# answer arrives, whole and in order.
flood() {
  local n=20000
  exec 4<>/dev/tcp/127.0.0.1/"$port" || return 1
  awk -v n=$n 'BEGIN { for (i = 0; i < n; i++) printf "GET / HTTP/1.1\r\nHost: f\r\n\r\n" }' >&4 &
  local writer=$!
  sleep 0.5
  local got
  got=$(timeout 10 head -c $((84 * n)) <&4 | grep -ac '^hello from percore$')
  wait "$writer"
  exec 4<&-
  [ "$got" -eq "$n" ]
}
check "20,000 pipelined requests, answers read late: all answered" flood
bp=$(c "$url/metrics" | sed -n 's/^percore_backpressure_events_total //p')
check "... and output backpressure was seen" [ "${bp:-0}" -gt 0 ]
check "the long-lived client is still served" keeper
exec 5<&-

# wrk: a short run, 50 keep-alive connections, no errors and no non-2xx answers.
timeout 15 wrk -t1 -c50 -d2s "$url/" >"$tmp/wrk" 2>&1
rps=$(sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' "$tmp/wrk")
echo "     wrk: ${rps:-?} requests/s"
check "wrk -t1 -c50 -d2s: non-zero Requests/sec" awk -v r="${rps:-0}" 'BEGIN { exit !(r > 0) }'
check "wrk: no Non-2xx or socket errors" bash -c "! grep -qE 'Non-2xx|Socket errors' '$tmp/wrk'"

kill -TERM "$pid"
timeout 10 tail --pid="$pid" -f /dev/null
check "SIGTERM stops the server" bash -c "! kill -0 $pid 2>/dev/null"

echo "http: $pass passed, $fail failed"
exit "$fail"
