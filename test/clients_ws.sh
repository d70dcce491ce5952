#!/usr/bin/env bash
# The ws app against real clients: Python's websockets library (test/ws_client.py: echo of
# text, binary, fragments, ping/pong, close codes, raw frames the codec refuses, 200 concurrent
# clients) and curl for the HTTP side of the same port (GET /, 404, refused upgrades).
# Usage: test/clients_ws.sh PATH/TO/percore
# Prints one line per check and "ws: N passed, M failed"; exit status = failures.
set -u
bin=$1
tmp=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$tmp"' EXIT
pass=0
fail=0
source "$(dirname "$0")/checks.sh"
# Debian's python3-websockets is for /usr/bin/python3; a python3 earlier on PATH (pyenv) may
# not have it.
py=${PYTHON:-/usr/bin/python3}
for tool in curl timeout "$py"; do
  command -v "$tool" >/dev/null || { echo "FAIL $tool is not installed (tools/setup.sh --test)"; echo "ws: 0 passed, 1 failed"; exit 1; }
done
"$py" -c 'import websockets' 2>/dev/null || { echo "FAIL python3-websockets is not installed (tools/setup.sh --test)"; echo "ws: 0 passed, 1 failed"; exit 1; }

port=$(free_port)
url=http://127.0.0.1:$port
"$bin" serve --app ws --port "$port" --threads 2 >"$tmp/out" 2>"$tmp/err" &
pid=$!
pids+=($pid)
check "serve --app ws starts" wait_listening "$port"
c() { timeout 5 curl -s "$@"; }

# The websockets library; each of its checks counts here.
timeout 180 "$py" "$(dirname "$0")/ws_client.py" "$port" >"$tmp/py" 2>&1
sed -n '/^\(ok  \|FAIL\) /!p' "$tmp/py" | grep -v '^ws_client: done$' | sed 's/^/     /'
while read -r line; do
  echo "$line"
  case $line in
    "ok   "*) pass=$((pass + 1)) ;;
    FAIL*) fail=$((fail + 1)) ;;
  esac
done < <(grep -E '^(ok  |FAIL) ' "$tmp/py")
check "ws_client.py ran to the end" grep -q '^ws_client: done$' "$tmp/py"

# HTTP on the same port.
check "GET / is answered" bash -c "timeout 5 curl -s '$url/' | grep -q '^hello from percore'"
check "GET /nope is 404" [ "$(c -o /dev/null -w '%{http_code}' "$url/nope")" = 404 ]
upgrade=(-H 'Upgrade: websocket' -H 'Connection: Upgrade' -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==')
check "an upgrade with Sec-WebSocket-Version 8 is 426" \
  [ "$(c -o /dev/null -w '%{http_code}' "${upgrade[@]}" -H 'Sec-WebSocket-Version: 8' "$url/ws")" = 426 ]
check "... naming version 13" bash -c "timeout 5 curl -si -H 'Upgrade: websocket' -H 'Connection: Upgrade' -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' -H 'Sec-WebSocket-Version: 8' '$url/ws' | tr -d '\r' | grep -q '^Sec-WebSocket-Version: 13$'"
check "a plain GET /ws is 400" [ "$(c -o /dev/null -w '%{http_code}' "$url/ws")" = 400 ]

kill -TERM "$pid"
timeout 10 tail --pid="$pid" -f /dev/null
check "SIGTERM stops the server" bash -c "! kill -0 $pid 2>/dev/null"

echo "ws: $pass passed, $fail failed"
exit "$fail"
