#!/usr/bin/env bash
# End-to-end check of docs/examples/gateway.cc (its ClientPool on the server's reactors): a
# backend speaking the pool's framing (test/gateway_peer.py), the gateway, clients over TCP
# each getting their own answers (bytes compared); the backend killed: every message answered
# "error: ...", the gateway up; the backend restarted on the same port: reconnected, answers
# again; SIGTERM: a graceful stop. Usage: test/gateway_e2e.sh PATH/TO/gateway_example
# Prints one line per check and "gateway: N passed, M failed"; exit status = failures.
set -u
gw=$1
here=$(dirname "$0")
tmp=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$tmp"' EXIT
pass=0
fail=0
source "$here/checks.sh"

bport=$(free_port)
gport=$(free_port)
while [ "$gport" = "$bport" ]; do gport=$(free_port); done
start_backend() {
  python3 "$here/gateway_peer.py" backend "$bport" >"$tmp/backend.out" 2>&1 &
  bpid=$!
  pids+=($bpid)
  wait_listening "$bport"
}
clients() {  # clients N M: N clients x M messages; the answer counts land in $tmp/clients.out
  timeout 20 python3 "$here/gateway_peer.py" clients "$gport" "$@" >"$tmp/clients.out" 2>&1
}
count() { awk -v k="$1" '$1 == k { print $2 }' "$tmp/clients.out"; }
answers() {  # answers N M KIND: all N*M answers were of KIND
  clients "$1" "$2" && [ "$(count "$3")" = $(($1 * $2)) ]
}
eventually_answers() {  # the backend connections are up: one message gets its answer
  for _ in $(seq 100); do
    answers 1 1 match && return 0
    sleep 0.05
  done
  return 1
}

check "the backend starts" start_backend
"$gw" "$gport" "127.0.0.1:$bport" 2>"$tmp/gw.err" &
gpid=$!
pids+=($gpid)
check "the gateway starts" wait_listening "$gport"
check "... its pool on the server's reactors, one connection each" \
  grep -q "gateway: backend 127.0.0.1:$bport over [0-9]* connection(s)" "$tmp/gw.err"
check "its backend connections come up" eventually_answers
check "8 clients x 50 messages: each client gets its own 50 answers" answers 8 50 match

kill -KILL "$bpid"
wait "$bpid" 2>/dev/null
check "backend killed: 4 clients x 5 messages all answered 'error: ...'" answers 4 5 error
check "... the gateway is still running" kill -0 "$gpid"

check "the backend restarts on the same port" start_backend
check "the gateway reconnects and answers again" eventually_answers
check "... 8 clients x 50 messages, each its own answers" answers 8 50 match

kill -TERM "$gpid"
wait "$gpid"
check "SIGTERM: the gateway stops with exit 0" [ $? -eq 0 ]
check "... saying so" grep -q "gateway: stopped" "$tmp/gw.err"
echo "gateway: $pass passed, $fail failed"
exit "$fail"
