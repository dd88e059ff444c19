#!/usr/bin/env python3
"""The `ffi` workload of BENCHMARK.md with the steps in Python: seq10 on 3 Python processes,
each embedding one node through libraftoral.so (ctypes), the driver inside the first.

seq10: input n; 10 sequential checkpoint_compute steps, step i returns previous + i; the result
is n + 55; a unique workflow id per run. Closed loop: C client threads in the driver each start
a workflow, wait for its result, check it and start the next. Latency is start-to-result,
counted for workflows that start after the warm-up and end before the measurement does. Every
row gets a fresh cluster with its Raft logs in a new temporary directory (on disk, fsync on),
as the Java load generator does (bench/README.md).

    RAFTORAL_LIBRARY=ffi-c-api/target/native/libraftoral.so python3 bench/ffi/seq10.py --clients 1,32
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bindings-python"))  # the package from this source tree if not installed

import raftoral  # noqa: E402

JVM_OPTIONS = ["-Xmx1g"]  # as the Java node processes of `bench/run --mode processes`


def seq10(ctx: raftoral.WorkflowContext, n: int) -> int:
    value = n
    for i in range(1, 11):
        previous = value
        value = ctx.checkpoint_compute("step", lambda: previous + i)
    return value


def serve(config: dict[str, Any]) -> None:
    """A non-driver node process: start, say ready, run until stdin closes."""
    raftoral.init(jvm_options=JVM_OPTIONS)
    with raftoral.Node(**config) as node:
        node.register_workflow("seq10", 1, seq10)
        print(json.dumps({"ready": node.node_id}), flush=True)
        sys.stdin.read()


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(p / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[index]


@dataclass
class Row:
    workload: str
    nodes: int
    mode: str
    clients: int
    completed: int
    wf_per_s: float
    steps_per_s: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    cpu_percent: float
    rss_mb: float
    errors: int


def run_row(clients: int, warmup: float, seconds: float, nodes: int = 3) -> Row:
    root = Path(tempfile.mkdtemp(prefix="raftoral-ffi-bench-"))
    ports = free_ports(nodes)
    members = {str(i + 1): f"127.0.0.1:{p}" for i, p in enumerate(ports)}
    children: list[subprocess.Popen[str]] = []
    try:
        for node_id in range(2, nodes + 1):
            config = {"node_id": node_id, "members": members, "data_dir": str(root / f"node-{node_id}")}
            children.append(
                subprocess.Popen(
                    [sys.executable, __file__, "--serve", json.dumps(config)],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=open(root / f"node-{node_id}.log", "wb"),
                    text=True,
                )
            )
        # This process is node 1; the bootstrap returns once a majority is up.
        with raftoral.Node(node_id=1, members=members, data_dir=root / "node-1") as node:
            node.register_workflow("seq10", 1, seq10)
            for child in children:
                assert child.stdout is not None
                line = child.stdout.readline()
                if not line:
                    raise RuntimeError(f"a node process failed; see {root}")
            return closed_loop(node, clients, warmup, seconds, [os.getpid()] + [c.pid for c in children], nodes)
    finally:
        for child in children:
            if child.stdin:
                child.stdin.close()
        for child in children:
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        shutil.rmtree(root, ignore_errors=True)


def closed_loop(node: raftoral.Node, clients: int, warmup: float, seconds: float, pids: list[int], nodes: int) -> Row:
    start = time.perf_counter()
    measure_from = start + warmup
    measure_until = measure_from + seconds
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    cpu_before: list[float] = []

    def client(index: int) -> None:
        n = index * 1_000_000
        while True:
            began = time.perf_counter()
            if began >= measure_until:
                return
            n += 1
            try:
                handle = node.start_workflow("seq10", 1, n)
                result = handle.result(timeout=60)
                if result != n + 55:
                    raise AssertionError(f"seq10({n}) = {result}")
            except Exception as e:  # counted and shown; a benchmark keeps going
                errors[index] += 1
                if errors[index] <= 3:
                    print(f"client {index}: {type(e).__name__}: {e}", file=sys.stderr)
                continue
            ended = time.perf_counter()
            if began >= measure_from and ended <= measure_until:
                latencies[index].append(ended - began)

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    time.sleep(max(0.0, measure_from - time.perf_counter()))
    cpu_before = [cpu_seconds(p) for p in pids]
    time.sleep(max(0.0, measure_until - time.perf_counter()))
    cpu_after = [cpu_seconds(p) for p in pids]
    rss = sum(rss_mb(p) for p in pids)
    for t in threads:
        t.join()

    all_latencies = sorted(x for per_client in latencies for x in per_client)
    completed = len(all_latencies)
    return Row(
        workload="seq10",
        nodes=nodes,
        mode="python-ffi-processes",
        clients=clients,
        completed=completed,
        wf_per_s=round(completed / seconds, 1),
        steps_per_s=round(completed * 10 / seconds, 1),
        p50_ms=round(percentile(all_latencies, 50) * 1000, 2),
        p90_ms=round(percentile(all_latencies, 90) * 1000, 2),
        p99_ms=round(percentile(all_latencies, 99) * 1000, 2),
        cpu_percent=round(sum(a - b for a, b in zip(cpu_after, cpu_before)) / seconds * 100, 1),
        rss_mb=round(rss, 1),
        errors=sum(errors),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", default="1,32", help="concurrent clients per row, e.g. 1,8,32 (default 1,32)")
    parser.add_argument("--warmup", type=float, default=10, help="warm-up seconds per row (default 10)")
    parser.add_argument("--seconds", type=float, default=20, help="measured seconds per row (default 20)")
    parser.add_argument("--json", action="store_true", help="print one JSON object per row")
    parser.add_argument("--serve", metavar="CONFIG", help=argparse.SUPPRESS)  # a non-driver node process
    args = parser.parse_args()
    if args.serve:
        serve(json.loads(args.serve))
        return

    raftoral.init(jvm_options=JVM_OPTIONS)
    header = "| workload | nodes | mode | C | wf/s | steps/s | p50 ms | p90 ms | p99 ms | CPU % | RSS MB | errors |"
    if not args.json:
        print(header)
        print("|" + "---|" * (header.count("|") - 1))
    for clients in (int(c) for c in args.clients.split(",")):
        row = run_row(clients, args.warmup, args.seconds)
        if args.json:
            print(json.dumps(asdict(row)), flush=True)
        else:
            print(
                f"| {row.workload} | {row.nodes} | {row.mode} | {row.clients} | {row.wf_per_s} | {row.steps_per_s} "
                f"| {row.p50_ms} | {row.p90_ms} | {row.p99_ms} | {row.cpu_percent} | {row.rss_mb:.0f} | {row.errors} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
