"""The python-worker entry point of the conformance suite: a worker process beside one
``raftoral node``, running the instruction-set interpreter of conformance_node.py as
worker-hosted workflows through ``raftoral.worker`` (conformance/README.md, "Worker entry points").

Usage: conformance_worker.py --target HOST:PORT (the node's worker address). $CONFORMANCE_LOG
names the side-effect log, $CONFORMANCE_NODE the node's label. Prints {"event": "registered"}
each time the worker has registered with its node; exits on SIGTERM.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any, Callable

import raftoral
from raftoral.worker import RunCancelled, Worker, WorkflowContext

# Importing the interpreter moves the original stdout aside (send() writes there) and opens the log.
import conformance_node as interp


class WorkerInterpreter(interp.Interpreter):
    """The embedded interpreter, with the worker's cancellation unwinding through ``try``."""

    def step(self, op: dict[str, Any]) -> None:
        if op.get("op") != "try":
            super().step(op)
            return
        try:
            self.block(op.get("body", []))
        except (raftoral.WorkflowTerminated, RunCancelled):
            raise  # the function must unwind
        except (raftoral.RaftoralError, ValueError, TypeError) as e:
            with self.lock:
                self.errors.append(interp.canonical(e))


def workflow(version: int) -> Callable[[WorkflowContext, Any], Any]:
    def run(ctx: WorkflowContext, input: Any) -> Any:
        return WorkerInterpreter(ctx, version).run(input)  # type: ignore[arg-type]

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--target", required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    worker = Worker(args.target, worker_id=f"conformance-{interp.NODE}", reconnect_delay=0.1, max_reconnect_delay=1.0,
                    on_registered=lambda registered: interp.send({"event": "registered", "node_id": registered.node_id}))
    worker.register_workflow("conformance", 1, workflow(1))
    worker.register_workflow("conformance", 2, workflow(2))
    worker.register_workflow("conformance_owner_only", 1, workflow(1), mode=raftoral.ExecutionMode.OWNER_ONLY)
    worker.register_workflow("conformance_keep_last", 1, workflow(1), keep_last_per_key=2)
    worker.run()


if __name__ == "__main__":
    main()
