# Shared by the bash test scripts (cli_test.sh, clients_kv.sh, clients_http.sh): counting checks
# and finding ports. Source it after setting pass=0 fail=0.
check() {  # check NAME COND...: runs COND, counts and prints the result
  local name=$1; shift
  if "$@"; then pass=$((pass + 1)); echo "ok   $name"; else fail=$((fail + 1)); echo "FAIL $name"; fi
}
free_port() {  # a port nobody listens on
  local p
  for _ in $(seq 50); do
    p=$((10000 + RANDOM % 20000))
    (exec 3<>/dev/tcp/127.0.0.1/"$p") 2>/dev/null || { echo "$p"; return; }
  done
  echo "$p"
}
wait_listening() {  # wait_listening PORT: true once something accepts on 127.0.0.1:PORT
  for _ in $(seq 100); do
    (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}
