#!/usr/bin/env bash
# `make demo`: a local 3-node cluster of real processes started by `./raftoral node` (node 1
# bootstraps, 2 and 3 join), the example workflows run through the CLI against different
# nodes, then every node is stopped with SIGTERM, also when something fails.
# Ports: Raft 7001-7003, API 8001-8003. Data directories live in a temp dir removed at the end.
set -euo pipefail

root="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
raftoral="$root/raftoral"
work="$(mktemp -d -t raftoral-demo-XXXXXX)"
pids=()

stop_nodes() {
  local status=$?
  if [ ${#pids[@]} -gt 0 ]; then
    echo "== stopping the nodes (SIGTERM)"
    kill -TERM "${pids[@]}" 2>/dev/null || true
    for pid in "${pids[@]}"; do
      for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null && echo "node pid $pid did not stop within 30 s; killed" >&2
      wait "$pid" 2>/dev/null || true
    done
  fi
  if [ "$status" -ne 0 ]; then
    echo "demo failed (exit $status); the last lines of each node's log:" >&2
    for log in "$work"/node-*.log; do
      [ -f "$log" ] && { echo "--- $log" >&2; tail -n 20 "$log" >&2; }
    done
  fi
  rm -rf "$work"
  exit "$status"
}
trap stop_nodes EXIT
trap 'exit 130' INT TERM

# Builds on first use, so that the node start-ups below are not racing a build.
"$raftoral" --help >/dev/null

start_node() { # index, mode args...
  local i=$1; shift
  "$raftoral" node --raft-addr "127.0.0.1:700$i" --api-addr "127.0.0.1:800$i" --data-dir "$work/node-$i" \
    --election-timeout 500ms "$@" >"$work/node-$i.out" 2>"$work/node-$i.log" &
  pids+=($!)
  local pid=$!
  for _ in $(seq 1 600); do
    if grep -q serving "$work/node-$i.out"; then
      echo "   $(cat "$work/node-$i.out")"
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

echo "== starting 3 nodes (data under $work)"
start_node 1 --bootstrap
start_node 2 --join 127.0.0.1:8001
start_node 3 --join 127.0.0.1:8001,127.0.0.1:8002

echo "== waiting until the cluster has 3 members"
for attempt in $(seq 1 120); do
  members=$("$raftoral" cluster --output json --api 127.0.0.1:8001 2>/dev/null | grep -o '"raftAddress"' | wc -l || true)
  [ "$members" -ge 3 ] && break
  [ "$attempt" -eq 120 ] && { echo "the cluster did not reach 3 members" >&2; exit 1; }
  sleep 0.5
done
"$raftoral" cluster --api 127.0.0.1:8003

echo
echo "== ping_pong, started on node 2 and awaited there"
echo "\$ raftoral start ping_pong --version 1 --input '\"ping\"' --wait --api 127.0.0.1:8002"
"$raftoral" start ping_pong --version 1 --input '"ping"' --wait --api 127.0.0.1:8002

echo
echo "== an order, started on node 3, its result read on node 1, described on node 2"
order='{"orderId":"A-1001","customer":"alice","items":[{"sku":"book","quantity":2,"unitPriceCents":1500},{"sku":"pen","quantity":3,"unitPriceCents":250}]}'
id="order-A-1001-$$"
echo "\$ raftoral start order --version 1 --input '$order' --id $id --api 127.0.0.1:8003"
"$raftoral" start order --version 1 --input "$order" --id "$id" --api 127.0.0.1:8003
echo "\$ raftoral result $id --api 127.0.0.1:8001"
"$raftoral" result "$id" --timeout 60s --api 127.0.0.1:8001
echo "\$ raftoral describe $id --api 127.0.0.1:8002"
"$raftoral" describe "$id" --api 127.0.0.1:8002

echo
echo "== an order without items fails; the CLI exits 1 and says why"
set +e
"$raftoral" start order --version 1 --input '{"orderId":"A-1002","customer":"bob","items":[]}' --wait --api 127.0.0.1:8001
echo "(exit code $?)"
set -e

echo
echo "== every workflow, listed on node 3"
"$raftoral" list --api 127.0.0.1:8003
