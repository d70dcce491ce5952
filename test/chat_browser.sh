#!/usr/bin/env bash
# The chat page in a real browser: headless Chromium (Debian's chromium package) driven over the
# DevTools protocol by test/chat_browser.py: two tabs and a TCP line client in one room exchange
# messages, and each tab's DOM log must show the others'. The screenshot goes to the build
# directory (next to the binary's tools/ folder), and also to $CHAT_SCREENSHOT when set (that is
# how docs/chat.png is made: CHAT_SCREENSHOT=docs/chat.png test/chat_browser.sh ...).
# Usage: test/chat_browser.sh PATH/TO/percore
# Prints one line per check and "chat-browser: N passed, M failed"; exit status = failures.
set -u
bin=$1
here=$(dirname "$0")
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do timeout 10 tail --pid="$p" -f /dev/null; kill -KILL "$p" 2>/dev/null; done
  rm -rf "$tmp"
}
trap cleanup EXIT
pass=0
fail=0
source "$here/checks.sh"
py=${PYTHON:-/usr/bin/python3}
browser=${CHROMIUM:-/usr/bin/chromium}
for tool in timeout "$py" "$browser"; do
  command -v "$tool" >/dev/null || { echo "FAIL $tool is not installed (tools/setup.sh --test)"; echo "chat-browser: 0 passed, 1 failed"; exit 1; }
done
"$py" -c 'import websockets' 2>/dev/null || { echo "FAIL python3-websockets is not installed (tools/setup.sh --test)"; echo "chat-browser: 0 passed, 1 failed"; exit 1; }

port=$(free_port)
"$bin" serve --app chat --port "$port" --threads 2 >"$tmp/serve.out" 2>"$tmp/serve.err" &
pids+=($!)
check "serve --app chat starts" wait_listening "$port"

devtools=$(free_port)
# --no-sandbox: the tests may run as root (in a container), where Chromium's sandbox refuses.
"$browser" --headless=new --no-sandbox --disable-gpu --no-first-run --no-default-browser-check \
  --disable-extensions --user-data-dir="$tmp/profile" --remote-debugging-address=127.0.0.1 \
  --remote-debugging-port="$devtools" about:blank >"$tmp/chromium.log" 2>&1 &
pids+=($!)

shots=("$(dirname "$bin")/../chat.png")
[ -n "${CHAT_SCREENSHOT:-}" ] && shots+=("$CHAT_SCREENSHOT")
timeout 120 "$py" "$here/chat_browser.py" "$port" "$devtools" "${shots[@]}" >"$tmp/py" 2>&1
sed -n '/^\(ok  \|FAIL\) /!p' "$tmp/py" | grep -v '^chat_browser: done$' | sed 's/^/     /'
while read -r line; do
  echo "$line"
  case $line in
    "ok   "*) pass=$((pass + 1)) ;;
    FAIL*) fail=$((fail + 1)) ;;
  esac
done < <(grep -E '^(ok  |FAIL) ' "$tmp/py")
check "chat_browser.py ran to the end" grep -q '^chat_browser: done$' "$tmp/py"
[ "$fail" -ne 0 ] && tail -5 "$tmp/chromium.log" | sed 's/^/     chromium: /'

echo "chat-browser: $pass passed, $fail failed"
exit "$fail"
