#!/usr/bin/env python3
"""The seq10 workload as a Python worker (bench/run --workers python): type seq10-worker v1, input
n, ten sequential compute steps of key "step", step i returning the previous value + i; the result
is n + 55, as the embedded seq10. Prints {"event": "registered"} each time it has registered.

    python3 bench/workers/seq10_worker.py --target 127.0.0.1:9001
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bindings-python"))

from raftoral.worker import Worker, WorkflowContext  # noqa: E402


def seq10(ctx: WorkflowContext, n: int) -> int:
    value = n
    for i in range(1, 11):
        value = ctx.checkpoint_compute("step", lambda previous=value, step=i: previous + step)
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--target", default="127.0.0.1:9001")
    parser.add_argument("--max-concurrent-runs", type=int, default=1024)
    args = parser.parse_args()
    worker = Worker(args.target, worker_id="bench-seq10-python", max_concurrent_runs=args.max_concurrent_runs,
                    reconnect_delay=0.05, max_reconnect_delay=1.0,
                    on_registered=lambda r: print(json.dumps({"event": "registered"}), flush=True))
    worker.register_workflow("seq10-worker", 1, seq10)
    worker.run()


if __name__ == "__main__":
    main()
