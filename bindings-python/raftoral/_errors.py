"""The ``RaftoralError`` hierarchy: one class per status code of raftoral.h (the Java
``io.raftoral.common.ErrorCode``; ErrorCodeTablesTest checks that every code has its class).

Every failing C call goes through :func:`check`, which turns its error object into the
matching exception (and frees the C object). Classes that have an obvious builtin meaning
also derive from it, so ``except ValueError`` / ``except TimeoutError`` work as expected.
"""

from __future__ import annotations

import ctypes
from typing import ClassVar

from . import _native

__all__ = [
    "RaftoralError",
    "InvalidArgument",
    "InvalidHandle",
    "NotInitialized",
    "ShutDown",
    "BufferTooSmall",
    "NotFound",
    "AlreadyExists",
    "NotRegistered",
    "AlreadyRegistered",
    "Timeout",
    "WorkflowFailed",
    "WorkflowTerminated",
    "PayloadTooLarge",
    "Unavailable",
    "NodeClosed",
    "Aborted",
    "CallbackFailed",
    "JvmError",
    "InternalError",
    "ProcessForked",
    "NodeRemoved",
    "CodecError",
    "Unauthenticated",
    "PermissionDenied",
]


class RaftoralError(Exception):
    """A failure reported by the Raftoral engine: ``code`` is its raftoral.h status code."""

    code: ClassVar[int] = _native.ERR_INTERNAL

    def __init__(self, message: str, *, detail: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        #: Extra information from the engine (raftoral_error_detail), if any.
        self.detail = detail
        #: For an error of :meth:`Node.start_workflow`: the id the start used (generated when
        #: none was given). A start that failed with :class:`Timeout`, :class:`Unavailable` or
        #: :class:`NodeClosed` may have been committed all the same: start this id again (a
        #: start by id is idempotent) or wait for it.
        self.workflow_id: str | None = None


class InvalidArgument(RaftoralError, ValueError):
    """An argument is invalid (bad JSON or UTF-8, an empty key, an unknown config key...)."""

    code = _native.ERR_INVALID_ARGUMENT


class InvalidHandle(RaftoralError):
    """A handle (node, workflow context) is closed or no longer valid."""

    code = _native.ERR_INVALID_HANDLE


class NotInitialized(RaftoralError):
    """The library has not been initialised (or its initialisation failed)."""

    code = _native.ERR_NOT_INITIALIZED


class ShutDown(RaftoralError):
    """:func:`raftoral.shutdown` was called; the library cannot be used again in this process."""

    code = _native.ERR_SHUT_DOWN


class BufferTooSmall(RaftoralError):
    """A buffer was too small (handled inside the binding; should not reach user code)."""

    code = _native.ERR_BUFFER_TOO_SMALL


class NotFound(RaftoralError, LookupError):
    """No workflow has this id."""

    code = _native.ERR_NOT_FOUND


class AlreadyExists(RaftoralError):
    """A workflow with this id exists with another type, version or input."""

    code = _native.ERR_ALREADY_EXISTS


class NotRegistered(RaftoralError):
    """No workflow of this type and version is registered on the node."""

    code = _native.ERR_NOT_REGISTERED


class AlreadyRegistered(RaftoralError):
    """This workflow type and version is registered already."""

    code = _native.ERR_ALREADY_REGISTERED


class Timeout(RaftoralError, TimeoutError):
    """The deadline passed first."""

    code = _native.ERR_TIMEOUT


class WorkflowFailed(RaftoralError):
    """The workflow ended FAILED: ``error_type`` is the type of the error it raised."""

    code = _native.ERR_WORKFLOW_FAILED

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(f"{error_type}: {message}" if error_type else message, detail=error_type)
        self.error_type = error_type
        self.error_message = message


class WorkflowTerminated(RaftoralError):
    """The workflow was terminated; ``reason`` says why."""

    code = _native.ERR_WORKFLOW_TERMINATED

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class PayloadTooLarge(RaftoralError, ValueError):
    """A payload is above the node's payload limit."""

    code = _native.ERR_PAYLOAD_TOO_LARGE


class Unavailable(RaftoralError):
    """The cluster cannot answer now (no leader, no quorum); retrying later may succeed."""

    code = _native.ERR_UNAVAILABLE


class NodeClosed(RaftoralError):
    """The node is closed or stopping."""

    code = _native.ERR_NODE_CLOSED


class Aborted(RaftoralError):
    """This run of a workflow is no longer wanted (inside workflows it unwinds as ``RunAborted``)."""

    code = _native.ERR_ABORTED


class CallbackFailed(RaftoralError):
    """A compute function reported a failure."""

    code = _native.ERR_CALLBACK_FAILED


class JvmError(RaftoralError):
    """The JVM could not be found or started."""

    code = _native.ERR_JVM


class InternalError(RaftoralError):
    """An unexpected internal error of the engine."""

    code = _native.ERR_INTERNAL


class ProcessForked(RaftoralError):
    """This process is a child forked after the library started: the engine's threads stayed
    in the parent, so the library cannot be used here (exec a new program to use it)."""

    code = _native.ERR_FORKED


class NodeRemoved(RaftoralError):
    """The cluster removed this node (unreachable past its failure timeout). It rejoins as a
    new node by itself unless configured not to; the message says what to do."""

    code = _native.ERR_NODE_REMOVED


class CodecError(RaftoralError, ValueError):
    """A value could not be encoded or decoded by the node's payload codec."""

    code = _native.ERR_CODEC


class Unauthenticated(RaftoralError):
    """The caller presented no credentials, or ones the node does not accept (no token, a
    wrong or unknown token, no or an untrusted client certificate)."""

    code = _native.ERR_UNAUTHENTICATED


class PermissionDenied(RaftoralError, PermissionError):
    """The caller is authenticated but its role does not allow the call (e.g. a reader token
    terminating a workflow)."""

    code = _native.ERR_PERMISSION_DENIED


class RunAborted(BaseException):
    """Unwinds a workflow function whose run is no longer wanted (it ended elsewhere, or the
    node stops). A ``BaseException`` so that ``except Exception`` in workflow code cannot
    swallow it; do not catch it."""


_BY_CODE: dict[int, type[RaftoralError]] = {
    cls.code: cls
    for cls in (
        InvalidArgument,
        InvalidHandle,
        NotInitialized,
        ShutDown,
        BufferTooSmall,
        NotFound,
        AlreadyExists,
        NotRegistered,
        AlreadyRegistered,
        Timeout,
        PayloadTooLarge,
        Unavailable,
        NodeClosed,
        Aborted,
        CallbackFailed,
        JvmError,
        InternalError,
        ProcessForked,
        NodeRemoved,
        CodecError,
        Unauthenticated,
        PermissionDenied,
    )
}

# Report the public name (raftoral.NotFound) rather than the private module.
for _cls in (RaftoralError, WorkflowFailed, WorkflowTerminated, RunAborted, *_BY_CODE.values()):
    _cls.__module__ = "raftoral"


def error_from(code: int, message: str, detail: str | None = None) -> RaftoralError:
    """The exception for a status code, message and detail."""
    if code == _native.ERR_WORKFLOW_FAILED:
        return WorkflowFailed(detail or "", message)
    if code == _native.ERR_WORKFLOW_TERMINATED:
        return WorkflowTerminated(message)
    cls = _BY_CODE.get(code)
    if cls is None:
        error = RaftoralError(f"status {code}: {message}", detail=detail)
        error.code = code  # type: ignore[misc]  # an unknown code from a newer library
        return error
    return cls(message, detail=detail)


def take_error(status: int, err: ctypes.c_void_p) -> RaftoralError:
    """Reads and frees a C error object (which may be NULL) and returns its exception."""
    lib = _native.lib()
    if not err.value:
        return error_from(status, f"raftoral call failed with status {status}")
    try:
        code = lib.raftoral_error_code(err)
        raw_message = lib.raftoral_error_message(err)
        raw_detail = lib.raftoral_error_detail(err)
    finally:
        lib.raftoral_error_free(err)
        err.value = None
    message = raw_message.decode("utf-8", "replace") if raw_message else ""
    detail = raw_detail.decode("utf-8", "replace") if raw_detail else None
    return error_from(code or status, message, detail)


def check(status: int, err: ctypes.c_void_p) -> None:
    """Raises the exception for a failed call; does nothing for ``RAFTORAL_OK``."""
    if status != _native.OK:
        raise take_error(status, err)
