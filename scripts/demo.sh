#!/usr/bin/env bash
# `make demo`: a local 3-node cluster of real processes started by `./raftoral node` (node 1
# bootstraps, 2 and 3 join), the example workflows run through the CLI against different
# nodes (the Java ones, and the order in JavaScript that every node loads from
# examples/js/order.mjs and runs inside itself through polyglot-graal), then the main promise: a
# countdown keeps running when the node that runs it is killed with SIGKILL, completes on a
# survivor, and the killed node restarts and takes its place back.
# Every node is stopped with SIGTERM at the end, also when something fails or on Ctrl-C.
# Then the order workflow in Python, Go and TypeScript worker processes, one of each beside every
# node, one of them killed mid-workflow.
# Ports: Raft 7001-7003, API 8001-8003, workers 9001-9003. Data directories live in a temp dir removed at the end.
# Every wait below waits for a condition (bounded), never for a fixed time.
set -euo pipefail

root="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
raftoral="$root/raftoral"
work="$(mktemp -d -t raftoral-demo-XXXXXX)"
declare -A node_pid=()   # index -> pid of the node process while it runs
declare -A node_mode=()  # index -> its mode arguments, to restart it the same way
declare -A node_id=()    # index -> the node id it printed when it started serving
worker_pids=()           # worker processes (Python, Go, TypeScript) beside the nodes
# A node that is back within this time keeps its place; one down longer is removed from the
# cluster. Long enough for the failover below to finish on a loaded machine.
failure_timeout=120s

stop_nodes() {
  local status=$?
  trap - EXIT INT TERM
  if [ ${#worker_pids[@]} -gt 0 ]; then
    kill -TERM "${worker_pids[@]}" 2>/dev/null || true
    for pid in "${worker_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  fi
  if [ ${#node_pid[@]} -gt 0 ]; then
    echo "== stopping the nodes (SIGTERM)"
    kill -TERM "${node_pid[@]}" 2>/dev/null || true
    for pid in "${node_pid[@]}"; do
      for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null && echo "node pid $pid did not stop within 30 s; killed" >&2
      wait "$pid" 2>/dev/null || true
    done
  fi
  if [ "$status" -eq 130 ] || [ "$status" -eq 143 ]; then
    echo "demo interrupted" >&2
  elif [ "$status" -ne 0 ]; then
    echo "demo failed (exit $status); the last lines of each node's log:" >&2
    for log in "$work"/node-*.log "$work"/worker-*.log; do
      [ -f "$log" ] && { echo "--- $log" >&2; tail -n 20 "$log" >&2; }
    done
  fi
  rm -rf "$work"
  exit "$status"
}
trap stop_nodes EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Builds on first use, so that the node start-ups below are not racing a build.
"$raftoral" --help >/dev/null

api() { echo "127.0.0.1:800$1"; }
http() { echo "127.0.0.1:808$1"; } # the console, /metrics and health

start_node() { # index, mode args...
  local i=$1; shift
  node_mode[$i]="$*"
  # The file exists before the node starts, so that the wait below never reads a missing file.
  : >"$work/node-$i.out"
  "$raftoral" node --raft-addr "127.0.0.1:700$i" --api-addr "$(api "$i")" --worker-address "127.0.0.1:900$i" \
    --http-address "$(http "$i")" --data-dir "$work/node-$i" \
    --election-timeout 500ms --node-failure-timeout "$failure_timeout" \
    --workflows "$root/examples/js/order.mjs" "$@" \
    >>"$work/node-$i.out" 2>>"$work/node-$i.log" &
  local pid=$!
  node_pid[$i]=$pid
  local line
  for _ in $(seq 1 600); do
    if line=$(grep -m1 serving "$work/node-$i.out"); then
      node_id[$i]=$(awk '{print $2}' <<<"$line") # "node 2 serving api ..."
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

wait_until() { # seconds, what, command...: runs the command until it succeeds
  local limit=$1 what=$2; shift 2
  local deadline=$((SECONDS + limit))
  until "$@"; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "gave up waiting for $what after ${limit}s" >&2
      return 1
    fi
    sleep 0.5
  done
}

# JSON field of stdin, e.g. `json ownerNode`; python3 is needed for the rest of `make demo` anyway.
json() { python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

# Node $1 answers and sees $2 members, and every execution group has $2 members, a leader and
# a Raft configuration equal to its members (no member change under way).
settled() {
  local answer
  answer=$("$raftoral" cluster --output json --api "$(api "$1")" 2>/dev/null) || return 1
  python3 -c '
import json, sys
n, c = int(sys.argv[1]), json.loads(sys.argv[2])
groups = c["executionGroups"]
sys.exit(0 if len(c["nodes"]) == n and groups and all(
    g["leaderNode"] != 0 and len(g["members"]) == n and sorted(g["raftMembers"]) == sorted(g["members"])
    for g in groups) else 1)' "$2" "$answer"
}

# Workflow $1, described by node $2, has at least $3 checkpoints; the description stays in $described.
described=""
steps_at_least() {
  described=$("$raftoral" describe "$1" --output json --api "$(api "$2")" 2>/dev/null) || return 1
  [ "$(json checkpointCount <<<"$described")" -ge "$3" ]
}

echo "== starting 3 nodes (data under $work)"
start_node 1 --bootstrap
start_node 2 --join "$(api 1)"
start_node 3 --join "$(api 1),$(api 2)"

echo "== waiting until the cluster has 3 members and its execution groups have all three"
wait_until 120 "a settled 3-node cluster" settled 1 3
"$raftoral" cluster --api "$(api 3)"

echo
echo "== ping_pong, started on node 2 and awaited there"
echo "\$ raftoral start ping_pong --version 1 --input '\"ping\"' --wait --api $(api 2)"
"$raftoral" start ping_pong --version 1 --input '"ping"' --wait --api "$(api 2)"

echo
echo "== an order, started on node 3, its result read on node 1, described on node 2"
order='{"orderId":"A-1001","customer":"alice","items":[{"sku":"book","quantity":2,"unitPriceCents":1500},{"sku":"pen","quantity":3,"unitPriceCents":250}]}'
id="order-A-1001-$$"
echo "\$ raftoral start order --version 1 --input '$order' --id $id --api $(api 3)"
"$raftoral" start order --version 1 --input "$order" --id "$id" --api "$(api 3)"
echo "\$ raftoral result $id --api $(api 1)"
"$raftoral" result "$id" --timeout 60s --api "$(api 1)"
echo "\$ raftoral describe $id --api $(api 2)"
"$raftoral" describe "$id" --api "$(api 2)"

echo
echo "== an order without items fails; the CLI exits 1 and says why"
set +e
"$raftoral" start order --version 1 --input '{"orderId":"A-1002","customer":"bob","items":[]}' --wait --api "$(api 1)"
echo "(exit code $?)"
set -e

echo
echo "== the order in JavaScript (order-js, examples/js/order.mjs, run inside the nodes), started on node 1, its result read on node 2"
js_order='{"orderId":"J-1001","customer":"alice","items":[{"sku":"book","quantity":2,"unitPriceCents":1500},{"sku":"pen","quantity":3,"unitPriceCents":250}]}'
js_id="order-js-J-1001-$$"
echo "\$ raftoral start order-js --version 1 --input '$js_order' --id $js_id --api $(api 1)"
"$raftoral" start order-js --version 1 --input "$js_order" --id "$js_id" --api "$(api 1)"
echo "\$ raftoral result $js_id --api $(api 2)"
"$raftoral" result "$js_id" --timeout 60s --api "$(api 2)"

echo
echo "== an order-js without items fails with the JavaScript error it threw; the CLI exits 1 and says why"
set +e
"$raftoral" start order-js --version 1 --input '{"orderId":"J-1002","customer":"bob","items":[]}' --wait --api "$(api 3)"
code=$?
echo "(exit code $code)"
set -e
# 1 is a failed workflow; anything else (e.g. 2: the type is not registered) is the demo failing.
[ "$code" -eq 1 ] || { echo "expected the order-js without items to fail its workflow (exit 1), got $code" >&2; exit 1; }

echo
echo "== failover: a countdown of 20 steps (one a second, each a checkpoint), its owner killed mid-way"
steps=20
countdown="countdown-$$"
echo "\$ raftoral start countdown --version 1 --input $steps --id $countdown --api $(api 1)"
"$raftoral" start countdown --version 1 --input "$steps" --id "$countdown" --api "$(api 1)"
# Kill as soon as a few steps are done, with the owner and the count of that same description.
wait_until 120 "3 steps of $countdown" steps_at_least "$countdown" 1 3
owner=$(json ownerNode <<<"$described")
before=$(json checkpointCount <<<"$described")
victim=""
for i in "${!node_id[@]}"; do [ "${node_id[$i]}" = "$owner" ] && victim=$i; done
if [ -z "$victim" ] || [ "$(json status <<<"$described")" != RUNNING ]; then
  echo "expected $countdown RUNNING on one of the nodes, got: $described" >&2
  exit 1
fi
survivor=$(( victim % 3 + 1 ))
echo "\$ raftoral describe $countdown --output json --api $(api 1)"
echo "$described"
echo
echo "== SIGKILL node $owner (pid ${node_pid[$victim]}), which runs $countdown: $before of $steps steps done"
kill -KILL "${node_pid[$victim]}"
wait "${node_pid[$victim]}" 2>/dev/null || true
unset "node_pid[$victim]"
echo "\$ raftoral result $countdown --timeout 120s --api $(api "$survivor")"
"$raftoral" result "$countdown" --timeout 120s --api "$(api "$survivor")"
after=$("$raftoral" describe "$countdown" --output json --api "$(api "$survivor")")
new_owner=$(json ownerNode <<<"$after")
if [ "$new_owner" = "$owner" ] || [ "$(json status <<<"$after")" != COMPLETED ]; then
  echo "expected $countdown COMPLETED on a node other than $owner, got: $after" >&2
  exit 1
fi
echo "\$ raftoral describe $countdown --api $(api "$survivor")"
"$raftoral" describe "$countdown" --api "$(api "$survivor")"
echo "   before the kill: $before of $steps steps done, on node $owner; after it: the rest, on node $new_owner, which resumed after the last committed step"

echo
echo "== restarting node $owner with its command line and data directory; it takes its place back"
start_node "$victim" ${node_mode[$victim]}
wait_until 120 "node $owner back in its groups" settled "$victim" 3
echo "\$ raftoral cluster --api $(api "$victim")"
"$raftoral" cluster --api "$(api "$victim")"

echo
echo "== workers: the order workflow in Python, Go and TypeScript, in worker processes beside every node"
# Each registers its type (order-python, order-go, order-ts v1) with the node beside it; the nodes
# keep the workflows' state and checkpoints, the workers only run the code.
start_worker() { # name, command...
  local name=$1; shift
  "$@" >>"$work/worker-$name.log" 2>&1 &
  worker_pids+=($!)
}
# The TypeScript library is built by npm (not by Maven's -DskipTests build).
[ -f "$root/bindings-ts/dist/src/index.js" ] \
  || (cd "$root/bindings-ts" && npm ci --no-audit --no-fund --silent && npm run --silent build) >"$work/npm.log" 2>&1 \
  || { cat "$work/npm.log" >&2; exit 1; }
(cd "$root/examples/go-worker" && go build -o "$work/order-go-worker" .)
for i in 1 2 3; do
  start_worker "python-$i" python3 "$root/examples/python/order_worker.py" --target "127.0.0.1:900$i"
  start_worker "go-$i" "$work/order-go-worker" --target "127.0.0.1:900$i"
  start_worker "ts-$i" node "$root/examples/ts-worker/order_worker.mjs" --target "127.0.0.1:900$i"
done
order_of() { # language
  echo "{\"orderId\":\"W-$1\",\"customer\":\"grace\",\"items\":[{\"sku\":\"cable\",\"quantity\":4,\"unitPriceCents\":799}]}"
}
for lang in python go ts; do
  wid="order-$lang-$$"
  echo "\$ raftoral start order-$lang --version 1 --input '$(order_of "$lang")' --id $wid --api $(api 2)"
  # Refused (not registered) until the worker beside the group's leader has registered: ask again.
  wait_until 60 "a worker of order-$lang" "$raftoral" start "order-$lang" --version 1 --input "$(order_of "$lang")" \
    --id "$wid" --api "$(api 2)" 2>/dev/null
  echo "\$ raftoral result $wid --api $(api 3)"
  "$raftoral" result "$wid" --timeout 60s --api "$(api 3)"
done

echo
echo "== every workflow, listed on node $survivor"
"$raftoral" list --api "$(api "$survivor")"

echo
echo "== the console and the metrics, over HTTP on every node"
echo "\$ curl http://$(http "$survivor")/api/v1/counts"
curl -fsS "http://$(http "$survivor")/api/v1/counts"
echo
echo "\$ curl -s http://$(http "$survivor")/metrics | grep '^raftoral_workflows_completed_total'"
curl -fsS "http://$(http "$survivor")/metrics" | grep '^raftoral_workflows_completed_total' || true
echo "   the console: http://$(http "$survivor")/console/ (while the nodes run)"
