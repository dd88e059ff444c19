#!/usr/bin/env bash
# `make demo-tls`: the secured variant of `make demo` (docs/SECURITY.md). A CA and certificates
# from `raftoral certs init`, tokens from `raftoral token create`, then three `raftoral node`
# processes with TLS on the API, worker and HTTP ports, mutual TLS between them on the Raft port
# and token authentication; node 1 bootstraps, 2 and 3 join over TLS with their certificate.
# Through the CLI: the examples with an operator token, a describe with a reader token, the
# refusals (a reader's terminate, a call without a token, plaintext), the console's /metrics
# over HTTPS with a token, and a node with a certificate of another CA that cannot join.
# Every node is stopped with SIGTERM at the end, also when something fails or on Ctrl-C.
# Ports: Raft 7101-7103, API 8101-8103, workers 9101-9103, HTTP 8181-8183 (beside `make demo`'s).
set -euo pipefail

root="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
raftoral="$root/raftoral"
work="$(mktemp -d -t raftoral-demo-tls-XXXXXX)"
node_pids=()

stop_nodes() {
  local status=$?
  trap - EXIT INT TERM
  if [ ${#node_pids[@]} -gt 0 ]; then
    echo "== stopping the nodes (SIGTERM)"
    kill -TERM "${node_pids[@]}" 2>/dev/null || true
    for pid in "${node_pids[@]}"; do
      for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null && echo "node pid $pid did not stop within 30 s; killed" >&2
      wait "$pid" 2>/dev/null || true
    done
  fi
  if [ "$status" -ne 0 ] && [ "$status" -ne 130 ] && [ "$status" -ne 143 ]; then
    echo "demo-tls failed (exit $status); the last lines of each node's log:" >&2
    for log in "$work"/node-*.log; do
      [ -f "$log" ] && { echo "--- $log" >&2; tail -n 20 "$log" >&2; }
    done
  fi
  rm -rf "$work"
  exit "$status"
}
trap stop_nodes EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"$raftoral" --help >/dev/null # builds on first use

api() { echo "127.0.0.1:810$1"; }
http() { echo "127.0.0.1:818$1"; }
certs="$work/certs"
tokens="$work/tokens"

echo "== a CA and certificates for a local cluster"
echo "\$ raftoral certs init $certs"
"$raftoral" certs init "$certs"
echo "== tokens: an operator's and a reader's (each printed once; the file keeps salted hashes)"
operator=$("$raftoral" token create --role operator --file "$tokens")
reader=$("$raftoral" token create --role reader --file "$tokens")
echo "   operator ${operator:0:12}..., reader ${reader:0:12}..."
sed -E 's/ [^ ]+ [^ ]+$/ <salt> <hash>/' "$tokens" | sed 's/^/   tokens: /'

tls=(--tls-cert "$certs/node.pem" --tls-key "$certs/node-key.pem" --tls-ca "$certs/ca.pem" --auth-tokens "$tokens")

start_node() { # index, mode args...
  local i=$1; shift
  : >"$work/node-$i.out"
  "$raftoral" node --raft-addr "127.0.0.1:710$i" --api-addr "$(api "$i")" --worker-address "127.0.0.1:910$i" \
    --http-address "$(http "$i")" --data-dir "$work/node-$i" --election-timeout 500ms "${tls[@]}" "$@" \
    >>"$work/node-$i.out" 2>>"$work/node-$i.log" &
  local pid=$!
  node_pids+=("$pid")
  local line
  for _ in $(seq 1 600); do
    if line=$(grep -m1 serving "$work/node-$i.out"); then
      echo "   $line"
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "node $i exited before serving:" >&2
      tail -n 20 "$work/node-$i.log" >&2
      return 1
    fi
    sleep 0.1
  done
  echo "node $i did not serve within 60 s" >&2
  return 1
}

# Runs the command, expecting exit code $1; prints what it said.
expect_exit() {
  local want=$1; shift
  local got=0
  "$@" || got=$?
  if [ "$got" -ne "$want" ]; then
    echo "expected exit $want, got $got: $*" >&2
    return 1
  fi
}

echo "== starting 3 nodes with TLS, mutual TLS between them and tokens"
start_node 1 --bootstrap
start_node 2 --join "$(api 1)"
start_node 3 --join "$(api 1),$(api 2)"
grep -h "over TLS\|https://" "$work"/node-1.log | sed 's/^.*INFO [^ ]* - /   /' | head -3

export RAFTORAL_TLS_CA="$certs/ca.pem"
echo
echo "== with the operator's token (RAFTORAL_TOKEN), on each node"
export RAFTORAL_TOKEN="$operator"
for i in 1 2 3; do
  echo "\$ raftoral start ping_pong --version 1 --input '\"ping\"' --wait --api $(api "$i")"
  result=$("$raftoral" start ping_pong --version 1 --input '"ping"' --wait --api "$(api "$i")")
  echo "$result"
  [ "$result" = '"pong"' ]
done
order='{"orderId":"T-1","customer":"alice","items":[{"sku":"book","quantity":2,"unitPriceCents":1500}]}'
echo "\$ raftoral start order --version 1 --input '$order' --wait --api $(api 2)"
"$raftoral" start order --version 1 --input "$order" --wait --api "$(api 2)"
"$raftoral" start countdown --version 1 --input 600 --id tls-countdown --api "$(api 1)"

echo
echo "== with the reader's token: it reads, it may not terminate (exit 6)"
export RAFTORAL_TOKEN="$reader"
"$raftoral" describe tls-countdown --api "$(api 3)"
expect_exit 6 "$raftoral" terminate tls-countdown --reason "not mine" --api "$(api 3)"

echo
echo "== without a token (exit 6), and in plaintext (exit 3)"
unset RAFTORAL_TOKEN
expect_exit 6 "$raftoral" describe tls-countdown --api "$(api 2)"
expect_exit 3 env -u RAFTORAL_TLS_CA "$raftoral" describe tls-countdown --api "$(api 2)"
echo "   (plaintext against a TLS port: unreachable)"

echo
echo "== the HTTP port: health for anyone, /metrics with a reader's token, over HTTPS"
curl -sS --cacert "$certs/ca.pem" "https://$(http 1)/health/ready"; echo
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$certs/ca.pem" "https://$(http 1)/metrics")
echo "   /metrics without a token: HTTP $code"
[ "$code" = 401 ]
metrics=$(curl -sS --cacert "$certs/ca.pem" -H "Authorization: Bearer $reader" "https://$(http 1)/metrics")
echo "   /metrics with the reader's token: $(grep -c '^raftoral_' <<<"$metrics") raftoral series, e.g."
grep -m3 '^raftoral_workflows_' <<<"$metrics" | sed 's/^/   /'

echo
echo "== the operator terminates the countdown"
RAFTORAL_TOKEN="$operator" "$raftoral" terminate tls-countdown --reason "demo over" --api "$(api 1)"

echo
echo "== a node with a certificate of another CA cannot join"
"$raftoral" certs init "$work/other" >/dev/null
refused=0
"$raftoral" node --raft-addr 127.0.0.1:7109 --api-addr 127.0.0.1:8109 --data-dir "$work/intruder" --join "$(api 1)" \
  --tls-cert "$work/other/node.pem" --tls-key "$work/other/node-key.pem" --tls-ca "$certs/ca.pem" \
  >/dev/null 2>"$work/intruder.err" || refused=$?
[ "$refused" -ne 0 ]
grep -m1 -o "refused the join (UNAUTHENTICATED).*CA ([^)]*)" "$work/intruder.err" | sed 's/^/   /'
echo
echo "demo-tls: done"
