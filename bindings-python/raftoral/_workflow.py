"""Running Python workflow functions for the engine: the callback trampolines, the workflow
context and replicated variables.

The engine calls workflows on its own threads (JVM platform threads); ctypes takes the GIL for
each callback. Each callback is a module-level CFUNCTYPE object that lives as long as the
process, and the ``env`` the engine passes back is an integer key into a table of Python
objects, so no Python object's address is ever handed to C. Every callback catches
``BaseException``: an exception escaping a ctypes callback would only be printed.
"""

from __future__ import annotations

import ctypes
import itertools
import sys
import threading
import traceback
from dataclasses import dataclass
from typing import Any, Callable, Generic, TypeVar

from . import _native
from ._calls import encode_str, read_string, take_buf
from ._codec import Codec
from ._errors import Aborted, InvalidHandle, RunAborted, take_error

__all__ = ["WorkflowContext", "ReplicatedVar", "WorkflowFunction"]

T = TypeVar("T")

#: A workflow: called with its context and decoded input; returns the result to encode.
WorkflowFunction = Callable[["WorkflowContext", Any], Any]


@dataclass
class _Registration:
    fn: WorkflowFunction
    codec: Codec
    type: str
    version: int


@dataclass
class _ComputeCall:
    fn: Callable[[], Any]
    codec: Codec
    exception: BaseException | None = None


# env keys -> Python objects the engine may call back with. Dict operations are atomic under
# the GIL, so the callbacks need no lock (a lock here could deadlock with a node_close that
# runs finalizers while its caller holds it).
_registrations: dict[int, _Registration] = {}
_computes: dict[int, _ComputeCall] = {}
_keys = itertools.count(1)  # 0 would reach Python as None


def add_registration(registration: _Registration) -> int:
    key = next(_keys)
    _registrations[key] = registration
    return key


def drop_registration(key: int) -> None:
    _registrations.pop(key, None)


def error_type_name(error: BaseException) -> str:
    """``ValueError`` for builtins, ``module.QualName`` otherwise."""
    cls = type(error)
    if cls.__module__ == "builtins":
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"


def _fail_output(output: int, error: BaseException) -> None:
    try:
        message = str(error)
    except BaseException:  # a broken __str__ must not lose the failure
        message = repr(type(error))
    err = ctypes.c_void_p()
    status = _native.lib().raftoral_output_fail(
        output,
        error_type_name(error).encode("utf-8", "replace"),
        message.encode("utf-8", "replace"),
        ctypes.byref(err),
    )
    if status != _native.OK:
        _report(take_error(status, err), "raftoral_output_fail")


def _set_output(output: int, data: bytes) -> None:
    """Puts a callback's result in ``output``; raises when the engine refuses it (too large)."""
    err = ctypes.c_void_p()
    status = _native.lib().raftoral_output_set(output, data, len(data), ctypes.byref(err))
    if status != _native.OK:
        raise take_error(status, err)


def _report(error: BaseException, where: str) -> None:
    """Last resort for an error that has nowhere to go: print it, as Python does for
    exceptions it cannot raise."""
    try:
        print(f"raftoral: exception ignored in {where}:", file=sys.stderr)
        traceback.print_exception(type(error), error, error.__traceback__, file=sys.stderr)
    except BaseException:  # noqa: BLE001 - stderr may be closed at exit
        pass


def _workflow_callback(env: int | None, ctx: int | None, data: Any, length: int, output: int | None) -> None:
    try:
        registration = _registrations[env or 0]
        payload = ctypes.string_at(data, length) if length else b""
        _run_workflow(registration, ctx, payload, output)
    except BaseException as e:  # noqa: BLE001 - nothing may escape into the engine's thread
        _report(e, "raftoral workflow callback")


def _run_workflow(registration: _Registration, ctx_ptr: int | None, payload: bytes, output: int | None) -> None:
    """One run of a workflow function: decode, call, encode, set the outcome."""
    assert output is not None
    ctx = WorkflowContext(ctx_ptr, registration.codec)
    try:
        try:
            result = registration.fn(ctx, registration.codec.decode(payload))
            data = registration.codec.encode(result)
            _set_output(output, data)
        except RunAborted:
            return  # the engine ignores this run's outcome
        except BaseException as e:  # noqa: BLE001 - SPEC §11: an exception makes the workflow FAILED
            _fail_output(output, e)
    finally:
        ctx._invalidate()


def _compute_callback(env: int | None, output: int | None) -> None:
    try:
        call = _computes[env or 0]
        assert output is not None
        try:
            data = call.codec.encode(call.fn())
            _set_output(output, data)
        except BaseException as e:  # noqa: BLE001 - re-raised by checkpoint_compute on return
            call.exception = e
            _fail_output(output, e)
    except BaseException as e:  # noqa: BLE001
        _report(e, "raftoral compute callback")


def _finalizer_callback(env: int | None) -> None:
    try:
        drop_registration(env or 0)
    except BaseException as e:  # noqa: BLE001
        _report(e, "raftoral finalizer")


# The C function pointers the engine calls; module globals, so they live as long as the process.
_workflow_trampoline = _native.WORKFLOW_FN(_workflow_callback)
_compute_trampoline = _native.COMPUTE_FN(_compute_callback)
_finalizer_trampoline = _native.FINALIZER_FN(_finalizer_callback)


class WorkflowContext:
    """What a running workflow uses to checkpoint. Valid only during the run that received it:
    afterwards its methods raise :class:`InvalidHandle`.

    Determinism: every member of an execution group may run the function (``HOT_STANDBY``)
    and a new owner may replay it (``OWNER_ONLY``), so whatever must be done once, or may
    differ between nodes (I/O, time, randomness), belongs in :meth:`checkpoint_compute`.

    When the workflow is terminated, checkpoint calls raise :class:`WorkflowTerminated`; when
    this run is no longer wanted (the workflow ended elsewhere, the node stops) they raise
    :class:`RunAborted`, a ``BaseException`` — let both propagate.
    """

    __slots__ = ("_ptr", "_codec", "_workflow_id")

    def __init__(self, ptr: int | None, codec: Codec) -> None:
        self._ptr = ptr
        self._codec = codec
        self._workflow_id: str | None = None

    def _invalidate(self) -> None:
        self._ptr = None

    def _handle(self) -> int:
        if self._ptr is None:
            raise InvalidHandle("this workflow context is used outside the run that received it")
        return self._ptr

    def _check(self, status: int, err: ctypes.c_void_p) -> None:
        if status == _native.OK:
            return
        error = take_error(status, err)
        if isinstance(error, Aborted):
            raise RunAborted(error.message)
        raise error

    @property
    def workflow_id(self) -> str:
        """The id of the running workflow."""
        if self._workflow_id is None:
            try:
                self._workflow_id = read_string(_native.lib().raftoral_ctx_workflow_id, self._handle())
            except Aborted as e:
                raise RunAborted(e.message) from None
        return self._workflow_id

    def checkpoint(self, key: str, value: Any) -> Any:
        """Records ``value`` as the next value of ``key`` and returns the committed value.

        Every member computes a value; only the owner's is committed, so a member replaying
        the workflow gets the owner's value back. Repeated calls with one key append.
        """
        key_bytes = encode_str(key, "checkpoint key")
        data = self._codec.encode(value)
        buf = _native.Buf()
        err = ctypes.c_void_p()
        status = _native.lib().raftoral_ctx_checkpoint(
            self._handle(), key_bytes, data, len(data), ctypes.byref(buf), ctypes.byref(err)
        )
        self._check(status, err)
        return self._codec.decode(take_buf(buf))

    def checkpoint_compute(self, key: str, fn: Callable[[], T]) -> T:
        """Runs ``fn`` (on the owner only, and only if the next value of ``key`` is not
        committed yet), records its result, and returns the committed value.

        Without failures ``fn`` runs once in the whole cluster; around an owner crash it may run
        again only if its result was never committed. When ``fn`` raises, that same exception
        is raised here; the workflow should let it propagate (and fail).
        """
        key_bytes = encode_str(key, "checkpoint key")
        if not callable(fn):
            raise TypeError(f"checkpoint_compute needs a callable, not {type(fn).__name__}")
        call = _ComputeCall(fn, self._codec)
        call_key = next(_keys)
        _computes[call_key] = call
        buf = _native.Buf()
        err = ctypes.c_void_p()
        try:
            status = _native.lib().raftoral_ctx_checkpoint_compute(
                self._handle(), key_bytes, _compute_trampoline, call_key, ctypes.byref(buf), ctypes.byref(err)
            )
        finally:
            del _computes[call_key]
        if status == _native.ERR_CALLBACK_FAILED and call.exception is not None:
            take_error(status, err)  # frees it
            exception, call.exception = call.exception, None
            raise exception
        self._check(status, err)
        return self._codec.decode(take_buf(buf))  # type: ignore[no-any-return]

    def var(self, key: str, initial: T) -> ReplicatedVar[T]:
        """A replicated variable under ``key``, starting at ``initial`` (committed as its first
        value). Each :meth:`ReplicatedVar.set` commits the next value of ``key``."""
        return ReplicatedVar(self, key, initial)

    def is_terminated(self) -> bool:
        """Whether the workflow has been terminated; a long wait should check it regularly."""
        flag = ctypes.c_int32()
        err = ctypes.c_void_p()
        self._check(_native.lib().raftoral_ctx_is_terminated(self._handle(), ctypes.byref(flag), ctypes.byref(err)), err)
        return bool(flag.value)

    def is_owner(self) -> bool:
        """Whether this node owns the workflow right now (runs its side effects)."""
        flag = ctypes.c_int32()
        err = ctypes.c_void_p()
        self._check(_native.lib().raftoral_ctx_is_owner(self._handle(), ctypes.byref(flag), ctypes.byref(err)), err)
        return bool(flag.value)

    def __repr__(self) -> str:
        state = "finished" if self._ptr is None else "running"
        return f"<WorkflowContext {self._workflow_id or '?'} {state}>"


class ReplicatedVar(Generic[T]):
    """A value replicated through checkpoints of one key (SPEC §3): ``get`` is local, ``set``
    and ``update`` commit the next value and return the committed one. Safe to use from several
    threads: ``update`` reads and writes under one lock, so concurrent updates are not lost."""

    __slots__ = ("_ctx", "_key", "_value", "_lock")

    def __init__(self, ctx: WorkflowContext, key: str, initial: T) -> None:
        self._ctx = ctx
        self._key = key
        self._lock = threading.RLock()
        self._value: T = ctx.checkpoint(key, initial)

    @property
    def key(self) -> str:
        return self._key

    def get(self) -> T:
        return self._value

    def set(self, value: T) -> T:
        with self._lock:
            self._value = self._ctx.checkpoint(self._key, value)
            return self._value

    def update(self, fn: Callable[[T], T]) -> T:
        with self._lock:
            return self.set(fn(self._value))

    def __repr__(self) -> str:
        return f"ReplicatedVar({self._key!r}, {self._value!r})"
