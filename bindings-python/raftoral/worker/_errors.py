"""Errors of the worker library that the embedded binding has no class for. Everything else a
worker raises is a :class:`raftoral.RaftoralError` of the embedded binding's table (the node's
CallFailed codes are the same ErrorCode numbers)."""

from __future__ import annotations

from .._errors import RaftoralError, RunAborted

__all__ = ["RunCancelled", "RegistrationRefused", "STREAM_LOST", "WORKER_STOPPING"]

#: Local cancel reasons (the node's are the names of ``Cancel.Reason``: ``TERMINATED``,
#: ``ENDED_ELSEWHERE``, ``OWNERSHIP_LOST``, ``NODE_STOPPING``).
STREAM_LOST = "STREAM_LOST"
WORKER_STOPPING = "WORKER_STOPPING"


class RunCancelled(RunAborted):
    """Unwinds a workflow function whose run the node cancelled (``reason``: ``TERMINATED``,
    ``ENDED_ELSEWHERE``, ``OWNERSHIP_LOST``, ``NODE_STOPPING``), whose stream to the node was lost
    (``STREAM_LOST``: the node executes the workflow again from its history) or whose worker stops
    (``WORKER_STOPPING``). A ``BaseException`` (through :class:`raftoral.RunAborted`) so that
    ``except Exception`` cannot swallow it; the library sends nothing more for the run."""

    def __init__(self, reason: str, message: str = "") -> None:
        super().__init__(f"run cancelled ({reason})" + (f": {message}" if message else ""))
        self.reason = reason
        self.message = message


class RegistrationRefused(RaftoralError):
    """The node refused this worker for good: the registration is invalid (``INVALID_ARGUMENT``),
    conflicts with how the node runs a type (``FAILED_PRECONDITION``), or the target does not
    serve the worker protocol (``UNIMPLEMENTED``: e.g. the client API's port). ``status`` is the
    gRPC status code's name."""

    def __init__(self, status: str, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status


for _cls in (RunCancelled, RegistrationRefused):
    _cls.__module__ = "raftoral.worker"
