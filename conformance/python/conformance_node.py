"""The Python entry point of the conformance suite: one node of a cluster, embedded in this
process through the ``raftoral`` package, with the instruction-set interpreter registered as
its workflows (conformance/README.md).

Usage: conformance_node.py CONFIG_JSON, where CONFIG_JSON is the node's configuration in the C
ABI's shape (node_id, members, api_address, data_dir, ...). $CONFORMANCE_LOG names the
side-effect log, $CONFORMANCE_NODE this node's label. Once the node is started it prints
{"event": "ready", ...}; then it answers the driver's requests, one JSON object per line on
stdin, each with one JSON line on stdout, in any order (each request runs on its own thread).
"""

from __future__ import annotations

import base64
import json
import os
import sys
import threading
from datetime import datetime, timedelta
from typing import Any, Callable

import raftoral

import conformance_interp as interp
from conformance_interp import ConformanceError, Interpreter, canonical, from_hex  # noqa: F401 - conformance_worker uses them

# The protocol owns the original stdout; anything the engine or a library prints goes to stderr.
_protocol = os.fdopen(os.dup(1), "w", buffering=1)
os.dup2(2, 1)
_write_lock = threading.Lock()

NODE = os.environ.get("CONFORMANCE_NODE", "?")
_log_fd = os.open(os.environ["CONFORMANCE_LOG"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)


def send(obj: dict[str, Any]) -> None:
    line = json.dumps(obj) + "\n"
    with _write_lock:
        _protocol.write(line)
        _protocol.flush()


def log_event(wf: str, ev: str, key: str, seq: int, attempt: int, value: Any = None, has_value: bool = False) -> None:
    line: dict[str, Any] = {"wf": wf, "node": NODE, "ev": ev, "key": key, "seq": seq, "attempt": attempt}
    if has_value:
        line["value"] = value
    # One write(2) on an O_APPEND file: lines of concurrent processes never interleave.
    os.write(_log_fd, (json.dumps(line) + "\n").encode())


interp.log_event = log_event
interp.NODE = NODE


def workflow(version: int) -> Callable[[raftoral.WorkflowContext, Any], Any]:
    def run(ctx: raftoral.WorkflowContext, input: Any) -> Any:
        return Interpreter(ctx, version).run(input)

    return run


# ---- the control protocol ----


def info(i: raftoral.WorkflowInfo) -> dict[str, Any]:
    return {
        "workflowId": i.workflow_id,
        "type": i.type,
        "version": i.version,
        "status": i.status.value,
        "ownerNode": i.owner_node,
        "checkpointCount": i.checkpoint_count,
        "errorType": i.error_type,
        "errorMessage": i.error_message,
    }


def instant(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text.replace("Z", "+00:00"))


def execute(node: raftoral.Node, request: dict[str, Any]) -> dict[str, Any]:
    op = request["op"]
    if op == "start":
        type_ = from_hex(request["type_hex"]) if "type_hex" in request else request["type"]
        wid = from_hex(request["workflow_id_hex"]) if "workflow_id_hex" in request else request.get("workflow_id")
        handle = node.start_workflow(type_, request["version"], json.loads(request["input"]), workflow_id=wid)
        return {"workflow_id": handle.workflow_id}
    if op == "await":
        return {"result": node.result(request["workflow_id"], timeout=timedelta(milliseconds=request["timeout_ms"]))}
    if op == "describe":
        return {"info": info(node.describe(request["workflow_id"]))}
    if op == "terminate":
        return {"info": info(node.terminate(request["workflow_id"], request.get("reason")))}
    if op == "list":
        q = request.get("query") or {}
        page = node.list_workflows(
            statuses=q.get("statuses"),
            type=q.get("type"),
            version=q.get("version"),
            started_after=instant(q.get("started_after")),
            started_before=instant(q.get("started_before")),
            limit=q.get("limit"),
            page_token=q.get("page_token"),
        )
        return {"workflows": [info(w) for w in page.workflows], "next_page_token": page.next_page_token}
    if op == "history":
        entries = node.history(request["workflow_id"], key=request.get("key"), page_size=request.get("page_size"))
        return {"entries": [history_entry(e) for e in entries]}
    raise ValueError(f"unknown request {op!r}")


def history_entry(e: raftoral.HistoryEntry) -> dict[str, Any]:
    """An entry in the C ABI's shape, from the package's HistoryEntry."""
    out: dict[str, Any] = {
        "key": e.key,
        "seq": e.seq,
        "committedAtMillis": 0 if e.committed_at is None else round(e.committed_at.timestamp() * 1000),
        "ownerNode": e.owner_node,
        "ownerTerm": e.owner_term,
    }
    if isinstance(e.value, bytes):
        out["value"] = None
        out["valueBase64"] = base64.b64encode(e.value).decode("ascii")
    else:
        out["value"] = e.value
    return out


def answer(node: raftoral.Node, request: dict[str, Any]) -> None:
    rid = request.get("rid")
    try:
        send({"rid": rid, "ok": execute(node, request)})
    except raftoral.WorkflowFailed as e:
        send({"rid": rid, "error": {"code": "WORKFLOW_FAILED", "message": e.error_message, "detail": e.error_type}})
    except raftoral.WorkflowTerminated as e:
        send({"rid": rid, "error": {"code": "WORKFLOW_TERMINATED", "message": e.reason}})
    except Exception as e:  # noqa: BLE001 - every error is an answer
        send({"rid": rid, "error": {"code": canonical(e), "message": f"{type(e).__name__}: {e}"}})


def main() -> None:
    config = json.loads(sys.argv[1])
    node = raftoral.Node(
        node_id=config["node_id"],
        members={int(k): v for k, v in config["members"].items()},
        api_address=config["api_address"],
        data_dir=config["data_dir"],
        node_failure_timeout=timedelta(milliseconds=config["node_failure_timeout_ms"]),
        retention=timedelta(milliseconds=config["retention_ms"]),
    )
    try:
        node.register_workflow("conformance", 1, workflow(1))
        node.register_workflow("conformance", 2, workflow(2))
        node.register_workflow("conformance_owner_only", 1, workflow(1), mode=raftoral.ExecutionMode.OWNER_ONLY)
        node.register_workflow("conformance_keep_last", 1, workflow(1), keep_last_per_key=2)
        node.start()
        send({"event": "ready", "node_id": node.node_id, "api_address": node.api_address})
        for line in sys.stdin:
            request = json.loads(line)
            if request.get("op") == "quit":
                break
            threading.Thread(target=answer, args=(node, request), daemon=True).start()
    finally:
        node.close()
        raftoral.shutdown()


if __name__ == "__main__":
    main()
