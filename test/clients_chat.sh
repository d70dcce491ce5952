#!/usr/bin/env bash
# The chat app against real clients: test/chat_client.py (asyncio streams for the line protocol,
# Python's websockets for /ws) in one group of checks per server configuration, curl for the
# HTTP side of the same port. The core checks run once per backend.
# Usage: test/clients_chat.sh PATH/TO/percore
# Prints one line per check and "chat: N passed, M failed"; exit status = failures.
set -u
bin=$1
here=$(dirname "$0")
tmp=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$tmp"' EXIT
pass=0
fail=0
source "$here/checks.sh"
# Debian's python3-websockets is for /usr/bin/python3; a python3 earlier on PATH (pyenv) may
# not have it.
py=${PYTHON:-/usr/bin/python3}
for tool in curl timeout "$py"; do
  command -v "$tool" >/dev/null || { echo "FAIL $tool is not installed (tools/setup.sh --test)"; echo "chat: 0 passed, 1 failed"; exit 1; }
done
"$py" -c 'import websockets' 2>/dev/null || { echo "FAIL python3-websockets is not installed (tools/setup.sh --test)"; echo "chat: 0 passed, 1 failed"; exit 1; }

start() {  # start NAME FLAGS...: serve the chat app on a free port; sets $port and $pid
  local name=$1; shift
  port=$(free_port)
  "$bin" serve --app chat --port "$port" --threads 2 "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
  pid=$!
  pids+=($pid)
  check "serve --app chat $* starts" wait_listening "$port"
}
stop() {  # stop: SIGTERM the last server started, which must exit
  kill -TERM "$pid"
  timeout 10 tail --pid="$pid" -f /dev/null
  check "SIGTERM stops it" bash -c "! kill -0 $pid 2>/dev/null"
}
group() {  # group NAME: chat_client.py's checks of that group against $port, each counted here
  local name=$1
  timeout 180 "$py" "$here/chat_client.py" "$port" "$name" >"$tmp/py" 2>&1
  sed -n '/^\(ok  \|FAIL\) /!p' "$tmp/py" | grep -v '^chat_client: done$' | sed 's/^/     /'
  while read -r line; do
    echo "$line"
    case $line in
      "ok   "*) pass=$((pass + 1)) ;;
      FAIL*) fail=$((fail + 1)) ;;
    esac
  done < <(grep -E '^(ok  |FAIL) ' "$tmp/py")
  check "chat_client.py $name ran to the end" grep -q '^chat_client: done$' "$tmp/py"
}

check "serve --help lists the chat app" bash -c "'$bin' serve --help | grep -q 'chat'"
check "--chat-duplicate takes kick or refuse only" bash -c "! '$bin' serve --app chat --chat-duplicate maybe >/dev/null 2>&1"
check "--chat-login-timeout applies to the chat app only" bash -c "! timeout 5 '$bin' serve --app echo --chat-login-timeout 1s >/dev/null 2>&1"

# The protocol on both transports, on each backend; round_robin puts consecutive connections on
# alternate reactors, so the fan-out's members are spread over both for sure.
for backend in epoll io_uring; do
  echo "--- backend $backend"
  start "core-$backend" --backend "$backend" --accept-mode round_robin
  group core
  if [ "$backend" = epoll ]; then
    url=http://127.0.0.1:$port
    c() { timeout 5 curl -s "$@"; }
    check "GET / is the page (text/html; charset=utf-8)" bash -c "timeout 5 curl -si '$url/' | tr -d '\r' | grep -qi '^content-type: text/html; charset=utf-8$'"
    check "... with the log list and the /ws socket" bash -c "timeout 5 curl -s '$url/' | grep -q '<ul id=\"log\">' && timeout 5 curl -s '$url/' | grep -q '/ws'"
    check "HEAD / gives the page's length and no body" bash -c "[ \"\$(timeout 5 curl -sI '$url/' | tr -d '\r' | sed -n 's/^Content-Length: //p')\" = \"\$(timeout 5 curl -s '$url/' | wc -c)\" ]"
    check "GET /nope is 404" [ "$(c -o /dev/null -w '%{http_code}' "$url/nope")" = 404 ]
    check "a plain GET /ws is 400" [ "$(c -o /dev/null -w '%{http_code}' "$url/ws")" = 400 ]
    check "a line client is not taken for HTTP (GET without a version is a command)" \
      bash -c "printf 'GET /\nPING\n' | timeout 5 bash -c 'exec 3<>/dev/tcp/127.0.0.1/$port; cat >&3; head -2 <&3' | tr '\n' '|' | grep -qx 'ERR login first|PONG|'"
  fi
  stop
done

echo "--- --chat-duplicate refuse"
start refuse --chat-duplicate refuse
group refuse
stop

echo "--- --chat-login-timeout 1s"
start login --chat-login-timeout 1s
group login
stop

echo "--- --heartbeat-interval 500ms"
start heartbeat --heartbeat-interval 500ms
group heartbeat
stop

echo "chat: $pass passed, $fail failed"
exit "$fail"
