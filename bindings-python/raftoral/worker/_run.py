"""The state of one run the node handed this worker: sequence numbers, the history to replay,
the calls waiting for the node's answer, and cancellation.

The workflow's side (a thread or an asyncio task) and the stream's reader meet here. Every
answer of the node resolves a ``concurrent.futures.Future`` the workflow side waits on: a thread
with ``result()``, a task with ``asyncio.wrap_future`` (so the same state serves both).
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass, field
from typing import Any, Callable

from .._errors import InvalidArgument, PayloadTooLarge, RaftoralError, error_from
from ._errors import RunCancelled
from ._pb import client_api_pb2 as capi
from ._pb import worker_pb2 as pb

log = logging.getLogger("raftoral.worker")

#: What the node answered to one call.
COMMITTED = "committed"
COMPUTE = "compute"
FAILED = "failed"


@dataclass
class Answer:
    kind: str
    value: bytes = b""
    failed: pb.CallFailed | None = None


@dataclass
class Call:
    """One call (key, seq) sent to the node and not answered yet."""

    key: str
    seq: int
    compute: bool
    future: Future[Answer] = field(default_factory=Future)
    #: The compute function's own exception, re-raised when the node echoes it as CallFailed.
    compute_error: BaseException | None = None


def _resolve(future: Future[Any], answer: Answer | None = None, error: BaseException | None = None) -> bool:
    try:
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(answer)
        return True
    except InvalidStateError:  # resolved already (cancelled, or a duplicate answer)
        return False


class Run:
    """One run: what its contexts share with the stream's reader."""

    def __init__(
        self,
        execute: pb.Execute,
        send: Callable[[pb.WorkerMessage], bool],
        max_calls_in_flight: int,
        max_value_bytes: int,
    ) -> None:
        self.id = execute.run
        self.workflow_id = execute.workflow_id
        self.type = execute.type
        self.version = execute.version
        self.is_owner = execute.is_owner
        self._send = send
        self._max_in_flight = max_calls_in_flight if max_calls_in_flight > 0 else 1 << 30
        self.max_value_bytes = max_value_bytes
        self._lock = threading.Lock()
        self._history = {(h.key, h.seq): h.value for h in execute.history}
        self._next_seq: dict[str, int] = {}
        self._pending: dict[tuple[str, int], Call] = {}
        self._in_flight = 0
        self._slot_waiters: deque[Future[None]] = deque()
        self.cancelled: RunCancelled | None = None
        self.terminated = False
        self._finished = False

    # ---- the workflow's side ----

    def check_value(self, data: bytes, what: str) -> None:
        if self.max_value_bytes and len(data) > self.max_value_bytes:
            raise PayloadTooLarge(f"{what} is {len(data)} bytes, over the node's limit of {self.max_value_bytes}")

    def acquire_slot(self) -> Future[None] | None:
        """A place among the run's calls in flight: None when free now, else a future to wait on
        (it fails with RunCancelled when the run is cancelled meanwhile)."""
        with self._lock:
            if self.cancelled is not None:
                raise self.cancelled
            if self._in_flight < self._max_in_flight:
                self._in_flight += 1
                return None
            waiter: Future[None] = Future()
            self._slot_waiters.append(waiter)
            return waiter

    def _release_slot_locked(self) -> None:
        while self._slot_waiters:
            if _resolve(self._slot_waiters.popleft()):
                return  # the slot passes to the waiter
        self._in_flight -= 1

    def begin(self, key: str, data: bytes, compute: bool) -> tuple[bytes | None, Call | None]:
        """Takes the key's next seq (holding a slot from acquire_slot). A position in the
        Execute's history is answered here: (value, None), and nothing is sent; otherwise the
        proposal is sent and (None, call) returned."""
        with self._lock:
            if self.cancelled is not None:
                self._release_slot_locked()
                raise self.cancelled
            seq = self._next_seq.get(key, 0)
            self._next_seq[key] = seq + 1
            replayed = self._history.pop((key, seq), None)
            if replayed is not None:
                self._release_slot_locked()
                return replayed, None
            call = Call(key, seq, compute)
            self._pending[(key, seq)] = call
            # Sent under the lock: the proposals of one key leave in seq order.
            self._send(pb.WorkerMessage(checkpoint=pb.CheckpointProposal(
                run=self.id, key=key, seq=seq, value=b"" if compute else data, compute=compute)))
            return None, call

    def send_compute_result(self, call: Call, data: bytes | None, error: BaseException | None) -> None:
        """Sends the compute step's outcome; the node's answer to it resolves ``call.future`` anew."""
        with self._lock:
            if self.cancelled is not None:
                raise self.cancelled
            call.future = Future()
            if error is None:
                result = pb.ComputeResult(run=self.id, key=call.key, seq=call.seq, value=data or b"")
            else:
                call.compute_error = error
                result = pb.ComputeResult(run=self.id, key=call.key, seq=call.seq, error=failure_of(error))
            self._send(pb.WorkerMessage(compute_result=result))

    def failure(self, call: Call, failed: pb.CallFailed) -> BaseException:
        """The exception a refused call raises: the compute function's own one when the node
        echoes it, else the RaftoralError of the ErrorCode."""
        if call.compute_error is not None and failed.code == capi.ERR_WORKFLOW_FAILED:
            return call.compute_error
        detail = failed.failure.type if failed.HasField("failure") else None
        return error_from(int(failed.code), failed.message or f"the node refused {call.key}#{call.seq}", detail)

    def finish(self, outcome: pb.WorkflowResult) -> bool:
        """Sends the run's result unless the run was cancelled (then nothing is ever sent)."""
        with self._lock:
            if self.cancelled is not None or self._finished:
                return False
            self._finished = True
            return self._send(pb.WorkerMessage(workflow_result=outcome))

    # ---- the reader's side ----

    def answer(self, key: str, seq: int, answer: Answer) -> bool:
        """The node's answer to (key, seq); False when no call waits for it."""
        with self._lock:
            call = self._pending.get((key, seq))
            if call is None or (answer.kind == COMPUTE and not call.compute):
                return False
            if answer.kind != COMPUTE:
                del self._pending[(key, seq)]
                self._release_slot_locked()
            if answer.kind == FAILED and self._next_seq.get(key) == seq + 1:
                # A refused write leaves its position free (the node's count did not move), so the
                # key's next write takes the same seq.
                self._next_seq[key] = seq
            future = call.future
        return _resolve(future, answer)

    def cancel(self, error: RunCancelled) -> None:
        with self._lock:
            if self.cancelled is not None or self._finished:
                return
            self.cancelled = error
            if error.reason == "TERMINATED":
                self.terminated = True
            waiting = [c.future for c in self._pending.values()] + list(self._slot_waiters)
            self._pending.clear()
            self._slot_waiters.clear()
        for future in waiting:
            _resolve(future, error=error)


def failure_of(error: BaseException) -> pb.Failure:
    from .._workflow import error_type_name  # noqa: PLC0415 - shares the embedded binding's naming

    try:
        message = str(error)
    except BaseException:  # noqa: BLE001 - a broken __str__ must not lose the failure
        message = repr(type(error))
    return pb.Failure(type=error_type_name(error)[:256], message=message)


def check_key(key: object) -> str:
    if not isinstance(key, str):
        raise TypeError(f"checkpoint key must be a str, not {type(key).__name__}")
    if not key:
        raise InvalidArgument("checkpoint key must not be empty")
    try:
        size = len(key.encode("utf-8"))
    except UnicodeEncodeError as e:
        raise InvalidArgument(f"checkpoint key is not valid Unicode text (an unpaired surrogate at index {e.start})") from None
    if size > 1024:
        raise InvalidArgument(f"checkpoint key is {size} bytes of UTF-8, over 1024")
    return key


__all__ = ["Run", "Call", "Answer", "COMMITTED", "COMPUTE", "FAILED", "RaftoralError", "failure_of", "check_key"]
