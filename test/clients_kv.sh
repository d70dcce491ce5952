#!/usr/bin/env bash
# The kv app against the real Redis clients (Debian's redis-tools: redis-cli, redis-benchmark):
# answers, not exit codes. Starts `percore serve --app kv` on a free port.
# Usage: test/clients_kv.sh PATH/TO/percore
# Prints one line per check and "kv: N passed, M failed"; exit status = failures.
set -u
bin=$1
tmp=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
pass=0
fail=0
source "$(dirname "$0")/checks.sh"
finish() {
  echo "kv: $pass passed, $fail failed"
  exit "$fail"
}
for tool in redis-cli redis-benchmark; do
  if ! command -v $tool >/dev/null; then
    fail=$((fail + 1)); echo "FAIL $tool is not installed (tools/setup.sh --test)"; finish
  fi
done
port=$(free_port)
"$bin" serve --app kv --port "$port" --threads 2 >"$tmp/out" 2>"$tmp/err" &
pid=$!
check "kv serves" wait_listening "$port"
cli() { timeout 10 redis-cli -p "$port" "$@" 2>&1; }
is() {  # is EXPECTED CMD...: the command's output equals EXPECTED
  local want=$1; shift
  local got; got=$("$@")
  [ "$got" = "$want" ] || { echo "     want [$want] got [$got]"; return 1; }
}

check "PING -> PONG" is "PONG" cli PING
check "SET -> OK" is "OK" cli SET greeting "hello world"
check "GET round trip" is "hello world" cli GET greeting
check "GET of a missing key -> nil" is "" cli GET nosuchkey
cli SET shortlived v EX 100 >/dev/null
ttl=$(cli TTL shortlived)
in_range() { [[ "$1" =~ ^[0-9]+$ ]] && [ "$1" -ge "$2" ] && [ "$1" -le "$3" ]; }
check "SET EX 100, then TTL in 99..100" in_range "$ttl" 99 100
cli SET swapped a >/dev/null
check "SET GET -> the old value" is "a" cli SET swapped b GET
check "SET NX GET refused -> still the old value" is "b" cli SET swapped c NX GET
check "... and nothing written" is "b" cli GET swapped
check "SET XX GET of a missing key -> nil, nothing written" is $'\n0' \
  bash -c "timeout 10 redis-cli -p $port SET nokey v XX GET; timeout 10 redis-cli -p $port EXISTS nokey"
# EXPIRE's NX XX GT LT (Redis 7): a key without a TTL counts as one of infinity.
cli SET ek v >/dev/null
check "EXPIRE NX on a key without TTL -> 1" is "1" cli EXPIRE ek 100 NX
check "EXPIRE NX again -> 0" is "0" cli EXPIRE ek 100 NX
check "EXPIRE GT to a nearer deadline -> 0" is "0" cli EXPIRE ek 50 GT
check "EXPIRE GT to a later one -> 1" is "1" cli EXPIRE ek 200 GT
check "... TTL 200" is "200" cli TTL ek
check "EXPIRE LT to a nearer one -> 1" is "1" cli EXPIRE ek 10 LT
check "PEXPIRE options are case-insensitive and may repeat" is "1" cli PEXPIRE ek 5000 xx Xx lt
cli SET nottl v >/dev/null
check "EXPIRE GT on a key without TTL -> 0" is "0" cli EXPIRE nottl 10 GT
check "EXPIRE XX on a key without TTL -> 0" is "0" cli EXPIRE nottl 10 XX
check "... and it still has none" is "-1" cli TTL nottl
check "EXPIRE LT on a key without TTL -> 1" is "1" cli EXPIRE nottl 10 LT
check "EXPIRE NX on a missing key -> 0" is "0" cli EXPIRE nokey 10 NX
check "EXPIRE NX XX -> Redis's error" \
  is "ERR NX and XX, GT or LT options at the same time are not compatible" cli EXPIRE ek 10 NX XX
check "EXPIRE GT LT -> Redis's error" \
  is "ERR GT and LT options at the same time are not compatible" cli EXPIRE ek 10 GT lt
check "EXPIRE with another word -> Unsupported option" \
  is "ERR Unsupported option FoO" cli EXPIRE ek 10 FoO
check "INCR -> 1" is "1" cli INCR counter
check "INCR again -> 2" is "2" cli INCR counter
check "INCR on a non-integer -> Redis's error" \
  is "ERR value is not an integer or out of range" cli INCR greeting
check "MSET -> OK" is "OK" cli MSET k1 v1 k2 v2 k3 v3
check "MGET, a missing key as nil" is $'v1\nv2\n\nv3' cli MGET k1 k2 nokey k3
check "MSET: a later duplicate key wins" is $'OK\nsecond' \
  bash -c "timeout 10 redis-cli -p $port MSET dup first dup second; timeout 10 redis-cli -p $port GET dup"
check "DEL counts what it deleted" is "2" cli DEL k1 k2 nokey
check "EXISTS counts (repeats too)" is "2" cli EXISTS k3 k3 k1
check "unknown command -> Redis 7's words" \
  is "ERR unknown command 'foo', with args beginning with: 'bar' " cli foo bar
check "wrong arity -> Redis's words" is "ERR wrong number of arguments for 'get' command" cli GET
check "command names are case-insensitive" is "hello world" cli gEt greeting

# A 100 KiB value through redis-cli -x (the value is its stdin), back byte-exact.
head -c 102400 /dev/urandom | base64 -w0 | head -c 102400 >"$tmp/big"
check "SET of a 100 KiB value (-x)" is "OK" bash -c "timeout 10 redis-cli -p $port -x SET big <'$tmp/big'"
printf '%s' "$(cli GET big)" >"$tmp/big.back"
check "GET returns it byte-exact (sha256)" \
  [ "$(sha256sum <"$tmp/big" | cut -d' ' -f1)" = "$(sha256sum <"$tmp/big.back" | cut -d' ' -f1)" ]

# redis-benchmark: both tests complete, a rate for each, no errors.
bench() {  # bench PIPELINE
  timeout 30 redis-benchmark -p "$port" -t set,get -n 20000 -P "$1" -d 256 -r 10000 -q 2>&1 |
    tr '\r' '\n' >"$tmp/bench$1"
  grep -Eq '^SET: [0-9.]+ requests per second' "$tmp/bench$1" &&
    grep -Eq '^GET: [0-9.]+ requests per second' "$tmp/bench$1" &&
    ! grep -Eiq 'error|warning' "$tmp/bench$1" || { sed 's/^/     /' "$tmp/bench$1" | tail -5; return 1; }
}
check "redis-benchmark -t set,get -P 1 completes without errors" bench 1
check "redis-benchmark -t set,get -P 16 completes without errors" bench 16

# Malformed input on a raw socket: Redis's protocol error, then the close; others unharmed.
malformed() {
  exec 3<>/dev/tcp/127.0.0.1/"$port" || return 1
  printf '*1\r\n$x\r\n' >&3
  local got rc
  got=$(timeout 5 cat <&3)
  rc=$?
  exec 3<&-
  [ $rc -eq 0 ] && [ "$got" = $'-ERR Protocol error: invalid bulk length\r' ] ||
    { echo "     rc $rc got [$got]"; return 1; }
}
exec 4<>/dev/tcp/127.0.0.1/"$port"  # a client that stays connected across the bad one
check "malformed input -> -ERR Protocol error, then closed" malformed
check "another redis-cli client keeps working" is "hello world" cli GET greeting
printf '*1\r\n$4\r\nPING\r\n' >&4
check "... and so does a connection opened before" is $'+PONG\r' timeout 5 head -n 1 <&4
exec 4<&-

kill -TERM "$pid"
wait "$pid"
check "SIGTERM stops it, exit 0" [ $? -eq 0 ]
pid=
finish
