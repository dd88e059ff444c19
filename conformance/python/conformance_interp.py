"""The conformance suite's instruction-set interpreter in Python (conformance/README.md), shared
by the python entry point (conformance_node.py, over the ctypes binding), python-worker
(conformance_worker.py) and graalpy (conformance_graal.py, inside the node through GraalPy).

It needs only the standard library and a module named ``raftoral`` with ``RaftoralError`` and
``WorkflowTerminated``; the process that hosts it sets ``log_event`` and ``NODE`` (or ``node_label``)."""

from __future__ import annotations

import copy
import threading
import time
from typing import Any, Callable

import raftoral

#: How long wait_terminated waits at most before it fails the workflow.
WAIT_TERMINATED_SECONDS = 120

#: The side-effect log: log_event(wf, ev, key, seq, attempt, value=None, has_value=False); set by the host process.
log_event: Callable[..., None] = lambda *args, **kwargs: None  # noqa: E731

#: The node's label (n1..n3), for the {"$": "node"} expression; set by the host process.
NODE = "?"

#: Where the {"$": "node"} expression reads the label; a host that learns it per run sets this
#: once instead of changing NODE in every run (graalpy reuses a context only while runs leave the
#: module's globals as loaded).
node_label: Callable[[], str] = lambda: NODE  # noqa: E731


class ConformanceError(Exception):
    """What the ``fail`` instruction raises; a failed workflow records its simple name."""


#: The C ABI's status names without prefix, indexed by status code (raftoral.h; ErrorCodeTablesTest checks them).
CODES = [
    "OK", "INVALID_ARGUMENT", "INVALID_HANDLE", "NOT_INITIALIZED", "SHUT_DOWN", "BUFFER_TOO_SMALL", "NOT_FOUND",
    "ALREADY_EXISTS", "NOT_REGISTERED", "ALREADY_REGISTERED", "TIMEOUT", "WORKFLOW_FAILED", "WORKFLOW_TERMINATED",
    "PAYLOAD_TOO_LARGE", "UNAVAILABLE", "NODE_CLOSED", "ABORTED", "CALLBACK_FAILED", "JVM", "INTERNAL",
    "FORKED", "NODE_REMOVED", "CODEC", "UNAUTHENTICATED", "PERMISSION_DENIED",
]


def canonical(error: BaseException) -> str:
    """The suite's name of an error of this surface: the C ABI's status name without prefix.

    A raftoral.RaftoralError carries its status code; a ValueError or TypeError raised by the
    package before it calls the library (text that cannot be encoded as UTF-8, a NUL byte) is
    the package's way of refusing an invalid argument."""
    if isinstance(error, raftoral.RaftoralError):
        if isinstance(error.code, str):  # GraalPy's raftoral module names its codes
            return error.code
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
            # Polls are counted, not timed: GraalPy refuses the clock outside checkpoint_compute.
            polls = 0
            while not self.ctx.is_terminated():
                polls += 1
                if polls > WAIT_TERMINATED_SECONDS * 50:
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
                return node_label()
            if what == "pad":
                return "x" * e.get("n", 0)
            raise ConformanceError(f"unknown expression {e!r}")
        if isinstance(e, list):
            return [self.eval(x) for x in e]
        if isinstance(e, dict):
            return {k: self.eval(v) for k, v in e.items()}
        return e
