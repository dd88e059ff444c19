"""One cluster node in its own process, for the multi-process tests (see cluster.py).

Usage: node_process.py CONFIG_JSON. CONFIG_JSON has "node" (keyword arguments of
raftoral.Node), "effects" (the side-effect log every compute step appends a line to) and
"gates" (a directory: a gated workflow waits for the file named after its id).

Once started it prints {"event": "ready", "node_id": N} and then answers JSON commands read
from stdin, one per line, with one JSON line each: start, result, describe, quit.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import raftoral

# The protocol owns the original stdout; anything the engine or a library prints goes to stderr.
_protocol = os.fdopen(os.dup(1), "w", buffering=1)
os.dup2(2, 1)


def reply(obj: dict[str, Any]) -> None:
    _protocol.write(json.dumps(obj) + "\n")
    _protocol.flush()


def main() -> None:
    config = json.loads(sys.argv[1])
    effects = os.open(config["effects"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    gates = Path(config["gates"])
    node_id = config["node"]["node_id"]

    def effect(workflow_id: str, step: int, value: int) -> int:
        # One write(2) with O_APPEND: lines of concurrent writers never interleave.
        os.write(effects, f"{workflow_id} {step} {node_id} {os.getpid()}\n".encode())
        return value

    def steps(ctx: raftoral.WorkflowContext, spec: dict[str, Any]) -> dict[str, Any]:
        """spec: {"n": steps, "gate_after": step index or absent}. Step i computes i * i."""
        workflow_id = ctx.workflow_id
        total = 0
        for i in range(spec["n"]):
            total += ctx.checkpoint_compute("step", lambda i=i: effect(workflow_id, i, i * i))
            if spec.get("gate_after") == i:
                wait_for_gate(ctx, gates / workflow_id)
        return {"total": total, "finished_on": node_id}

    with raftoral.Node(**config["node"]) as node:
        node.register_workflow("steps", 1, steps, mode=raftoral.ExecutionMode.HOT_STANDBY)
        node.register_workflow("steps", 2, steps, mode=raftoral.ExecutionMode.OWNER_ONLY)
        reply({"event": "ready", "node_id": node.node_id})
        for line in sys.stdin:
            command = json.loads(line)
            if command["op"] == "quit":
                break
            reply(execute(node, command))
    reply({"event": "closed"})


def wait_for_gate(ctx: raftoral.WorkflowContext, gate: Path) -> None:
    """Blocks until the gate file exists; bounded, and stops when the workflow is terminated."""
    deadline = time.monotonic() + 120
    while not gate.exists():
        if ctx.is_terminated():
            raise raftoral.WorkflowTerminated("terminated while waiting at the gate")
        if time.monotonic() > deadline:
            raise TimeoutError(f"gate {gate} never opened")
        time.sleep(0.05)


def execute(node: raftoral.Node, command: dict[str, Any]) -> dict[str, Any]:
    try:
        op = command["op"]
        if op == "start":
            handle = node.start_workflow(command["type"], command["version"], command["input"], command.get("workflow_id"))
            return {"ok": True, "workflow_id": handle.workflow_id}
        if op == "result":
            return {"ok": True, "result": node.result(command["workflow_id"], timeout=command["timeout"])}
        if op == "describe":
            info = node.describe(command["workflow_id"])
            return {
                "ok": True,
                "status": info.status.value,
                "owner_node": info.owner_node,
                "checkpoint_count": info.checkpoint_count,
            }
        return {"ok": False, "error": "UnknownCommand", "message": op}
    except Exception as e:  # the test decides whether an error is expected
        return {"ok": False, "error": type(e).__name__, "message": str(e)}


if __name__ == "__main__":
    main()
