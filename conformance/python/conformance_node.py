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
import copy
import json
import os
import sys
import threading
import time
from datetime import datetime, timedelta
from typing import Any, Callable

import raftoral

# The protocol owns the original stdout; anything the engine or a library prints goes to stderr.
_protocol = os.fdopen(os.dup(1), "w", buffering=1)
os.dup2(2, 1)
_write_lock = threading.Lock()

NODE = os.environ.get("CONFORMANCE_NODE", "?")
_log_fd = os.open(os.environ["CONFORMANCE_LOG"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

#: How long wait_terminated waits at most before it fails the workflow.
WAIT_TERMINATED_SECONDS = 120


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


# ---- the interpreter ----


class ConformanceError(Exception):
    """What the ``fail`` instruction raises; a failed workflow records its simple name."""


#: The C ABI's status names without prefix, indexed by status code (raftoral.h; ErrorCodeTablesTest checks them).
CODES = [
    "OK", "INVALID_ARGUMENT", "INVALID_HANDLE", "NOT_INITIALIZED", "SHUT_DOWN", "BUFFER_TOO_SMALL", "NOT_FOUND",
    "ALREADY_EXISTS", "NOT_REGISTERED", "ALREADY_REGISTERED", "TIMEOUT", "WORKFLOW_FAILED", "WORKFLOW_TERMINATED",
    "PAYLOAD_TOO_LARGE", "UNAVAILABLE", "NODE_CLOSED", "ABORTED", "CALLBACK_FAILED", "JVM", "INTERNAL",
    "FORKED", "NODE_REMOVED", "CODEC",
]


def canonical(error: BaseException) -> str:
    """The suite's name of an error of this surface: the C ABI's status name without prefix.

    A raftoral.RaftoralError carries its status code; a ValueError or TypeError raised by the
    package before it calls the library (text that cannot be encoded as UTF-8, a NUL byte) is
    the package's way of refusing an invalid argument."""
    if isinstance(error, raftoral.RaftoralError):
        return CODES[error.code] if 0 < error.code < len(CODES) else "INTERNAL"
    if isinstance(error, (ValueError, TypeError)):
        return "INVALID_ARGUMENT"
    return "INTERNAL"


def from_hex(text: str) -> str:
    """Raw bytes given as hex, as Python text: bytes that are not UTF-8 become lone surrogates
    (surrogateescape), which no UTF-8 encoder accepts."""
    return bytes.fromhex(text).decode("utf-8", "surrogateescape")


class Interpreter:
    """Runs one program; one instance per run of a workflow, and one more per branch of a
    ``parallel`` instruction: the branches share the run's results (under ``lock``), each has
    its own loop indices."""

    def __init__(self, ctx: raftoral.WorkflowContext, version: int) -> None:
        self.ctx = ctx
        self.version = version
        self.lock = threading.Lock()
        self.values: dict[str, list[Any]] = {}
        self.vars: dict[str, raftoral.ReplicatedVar[Any]] = {}
        self.errors: list[str] = []
        self.seq: dict[str, int] = {}
        self.loops: list[int] = []

    def branch(self) -> Interpreter:
        """A branch of ``parallel``: the shared results, a copy of the loop indices where it starts."""
        b = copy.copy(self)
        b.loops = list(self.loops)
        return b

    def run(self, input: Any) -> dict[str, Any]:
        program = input.get("program") if isinstance(input, dict) else None
        if not isinstance(program, list):
            raise ConformanceError("the input has no program array")
        self.block(program)
        result: dict[str, Any] = {"version": self.version, "values": self.values}
        if self.vars:
            result["vars"] = {k: v.get() for k, v in self.vars.items()}
        if self.errors:
            result["errors"] = self.errors
        return result

    def block(self, ops: list[Any]) -> None:
        for op in ops:
            self.step(op)

    def step(self, op: dict[str, Any]) -> None:
        name = op.get("op")
        if name == "checkpoint":
            key = self.key(op)
            n = self.position(key)
            committed = self.ctx.checkpoint(key, self.eval(op.get("value")))
            self.wrote(key, committed)
            if op.get("observe"):
                log_event(self.ctx.workflow_id, "observe", key, n, 0, committed, True)
        elif name == "compute":
            self.compute(op)
        elif name == "var":
            key = self.key(op)
            var = self.ctx.var(key, self.eval(op.get("initial")))
            with self.lock:
                self.vars[key] = var
            self.wrote(key, var.get())
        elif name == "var_set":
            key = self.key(op)
            self.wrote(key, self.var(key).set(self.eval(op.get("value"))))
        elif name == "var_add":
            key = self.key(op)
            delta = op.get("delta", 0)
            self.wrote(key, self.var(key).update(lambda v: v + delta))
        elif name == "fail":
            raise ConformanceError(op.get("message", ""))
        elif name == "panic":
            _ = 1 // len([])  # ZeroDivisionError: Python's unplanned fault
        elif name == "wait_terminated":
            deadline = time.monotonic() + WAIT_TERMINATED_SECONDS
            while not self.ctx.is_terminated():
                if time.monotonic() > deadline:
                    raise ConformanceError(f"not terminated within {WAIT_TERMINATED_SECONDS} s")
                time.sleep(0.02)
            log_event(self.ctx.workflow_id, "terminated_seen", "", 0, 0)
        elif name == "loop":
            for i in range(op.get("times", 0)):
                self.loops.append(i)
                try:
                    self.block(op.get("body", []))
                finally:
                    self.loops.pop()
        elif name == "parallel":
            self.parallel(op.get("branches", []))
        elif name == "sleep":
            time.sleep(op.get("ms", 0) / 1000)
        elif name == "try":
            try:
                self.block(op.get("body", []))
            except raftoral.WorkflowTerminated:
                raise  # the function must unwind
            except (raftoral.RaftoralError, ValueError, TypeError) as e:
                with self.lock:
                    self.errors.append(canonical(e))
        else:
            raise ConformanceError(f"unknown op {name!r}")

    def parallel(self, branches: list[list[Any]]) -> None:
        """Runs each branch on a thread of its own, all at once, and returns when every one has
        ended; then the first failed branch (in branch order) fails the instruction with its error."""
        failures: list[BaseException | None] = [None] * len(branches)

        def run(index: int, branch: Interpreter, ops: list[Any]) -> None:
            try:
                branch.block(ops)
            except BaseException as e:  # noqa: BLE001 - handed to the joining thread
                failures[index] = e

        threads = [
            threading.Thread(target=run, args=(i, self.branch(), ops), name=f"conformance-branch-{i}")
            for i, ops in enumerate(branches)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for e in failures:
            if e is not None:
                raise e

    def compute(self, op: dict[str, Any]) -> None:
        key = self.key(op)
        n = self.position(key)
        fail_attempts = op.get("fail_attempts", 0)
        fail_always = op.get("fail_always", False)
        sleep_ms = op.get("sleep_ms", 0)
        wf = self.ctx.workflow_id
        attempt = 0

        def effect() -> Any:
            nonlocal attempt
            attempt += 1
            log_event(wf, "begin", key, n, attempt)
            if sleep_ms:
                time.sleep(sleep_ms / 1000)
            if fail_always or attempt <= fail_attempts:
                log_event(wf, "fail", key, n, attempt)
                raise ConformanceError(f"compute {key} failed (attempt {attempt})")
            value = self.eval(op.get("value"))
            log_event(wf, "end", key, n, attempt, value, True)
            return value

        while True:
            try:
                committed = self.ctx.checkpoint_compute(key, effect)
            except ConformanceError:
                if fail_always or attempt > fail_attempts:
                    raise
                continue  # the failed attempt consumed no position: retry the same key (SPEC §3)
            self.wrote(key, committed)
            return

    def var(self, key: str) -> raftoral.ReplicatedVar[Any]:
        with self.lock:
            var = self.vars.get(key)
        if var is None:
            raise ConformanceError(f"no var {key!r} was created")
        return var

    def position(self, key: str) -> int:
        with self.lock:
            return self.seq.get(key, 0)

    def wrote(self, key: str, committed: Any) -> None:
        try:
            key.encode("utf-8")
            name = key
        except UnicodeEncodeError:
            name = "hex:" + key.encode("utf-8", "surrogateescape").hex()
        with self.lock:
            self.seq[key] = self.seq.get(key, 0) + 1
            self.values.setdefault(name, []).append(committed)

    def key(self, op: dict[str, Any]) -> str:
        """The op's key; ``{i}`` in it stands for the innermost loop's index."""
        if "key_hex" in op:
            return from_hex(op["key_hex"])
        return str(op.get("key", "")).replace("{i}", str(self.loops[-1] if self.loops else 0))

    def eval(self, e: Any) -> Any:
        if isinstance(e, dict) and "$" in e:
            what = e["$"]
            if what == "i":
                return self.loops[-1] if self.loops else 0
            if what == "node":
                return NODE
            if what == "pad":
                return "x" * e.get("n", 0)
            raise ConformanceError(f"unknown expression {e!r}")
        if isinstance(e, list):
            return [self.eval(x) for x in e]
        if isinstance(e, dict):
            return {k: self.eval(v) for k, v in e.items()}
        return e


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
