"""The contexts a worker hands its workflow functions: :class:`WorkflowContext` (blocking, for
plain functions, each run on its own thread) and :class:`AsyncWorkflowContext` (awaitable, for
``async def`` functions, run on the worker's asyncio loop). Same names as the embedded binding's
``raftoral.WorkflowContext``."""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import threading
from typing import Any, Awaitable, Callable, Generic, TypeVar, Union

from .._codec import Codec
from .._errors import CodecError, InvalidArgument
from ._run import COMMITTED, COMPUTE, Run, check_key

__all__ = ["WorkflowContext", "AsyncWorkflowContext", "ReplicatedVar", "AsyncReplicatedVar"]

T = TypeVar("T")

# The run whose compute function runs in this thread or task: its context calls are refused
# (the node would refuse them too, and waiting for them would deadlock the step).
_computing: contextvars.ContextVar[Run | None] = contextvars.ContextVar("raftoral_worker_computing", default=None)


class _Base:
    __slots__ = ("_run", "_codec")

    def __init__(self, run: Run, codec: Codec) -> None:
        self._run = run
        self._codec = codec

    @property
    def workflow_id(self) -> str:
        return self._run.workflow_id

    @property
    def workflow_type(self) -> str:
        return self._run.type

    @property
    def workflow_version(self) -> int:
        return self._run.version

    @property
    def run_id(self) -> int:
        """The node's id of this run (a new one each time the node hands the workflow out)."""
        return self._run.id

    def is_owner(self) -> bool:
        """Whether the node owned the workflow when it handed out this run (informational: the
        node decides which calls propose and which wait for the owner's values)."""
        return self._run.is_owner

    def is_terminated(self) -> bool:
        """Whether the node cancelled this run because a client terminated the workflow; a long
        wait should check it regularly."""
        return self._run.terminated

    def _prepare(self, key: str, value: Any, compute: bool) -> tuple[str, bytes]:
        if _computing.get() is self._run:
            raise InvalidArgument("a checkpoint_compute function cannot use the workflow context")
        check_key(key)
        if self._run.cancelled is not None:
            raise self._run.cancelled
        data = b"" if compute else self._encode(value, f"the value of {key!r}")
        return key, data

    def _encode(self, value: Any, what: str) -> bytes:
        try:
            data = self._codec.encode(value)
        except (TypeError, ValueError) as e:
            raise CodecError(f"{what} cannot be encoded: {e}") from e
        self._run.check_value(data, what)
        return data

    def _decode(self, data: bytes) -> Any:
        try:
            return self._codec.decode(data)
        except (TypeError, ValueError) as e:
            raise CodecError(f"a committed value cannot be decoded: {e}") from e

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._run.workflow_id} run {self._run.id}>"


class WorkflowContext(_Base):
    """What a plain (blocking) workflow function uses to checkpoint; its calls block the
    function's thread until the node answers. Whatever must be done once, or may differ between
    runs (I/O, time, randomness), belongs in :meth:`checkpoint_compute`.

    Calls raise :class:`raftoral.worker.RunCancelled` once the run is cancelled; a refused call
    raises the :class:`raftoral.RaftoralError` of the node's error code."""

    __slots__ = ()

    def checkpoint(self, key: str, value: Any) -> Any:
        """Records ``value`` as the next value of ``key``; returns the committed value."""
        key, data = self._prepare(key, value, compute=False)
        return self._decode(self._call(key, data, None))

    def checkpoint_compute(self, key: str, fn: Callable[[], T]) -> T:
        """Runs ``fn`` only when the node asks for it (this node owns the workflow and the
        position is not committed), records its result and returns the committed value. An
        exception of ``fn`` is raised here unchanged (the position stays free)."""
        if not callable(fn):
            raise TypeError(f"checkpoint_compute needs a callable, not {type(fn).__name__}")
        key, _ = self._prepare(key, None, compute=True)
        return self._decode(self._call(key, b"", fn))  # type: ignore[no-any-return]

    def var(self, key: str, initial: T) -> ReplicatedVar[T]:
        """A replicated variable under ``key``, starting at ``initial`` (its first checkpoint)."""
        return ReplicatedVar(self, key, initial)

    def _call(self, key: str, data: bytes, fn: Callable[[], Any] | None) -> bytes:
        run = self._run
        slot = run.acquire_slot()
        if slot is not None:
            slot.result()
        replayed, call = run.begin(key, data, compute=fn is not None)
        if call is None:
            assert replayed is not None
            return replayed
        while True:
            answer = call.future.result()
            if answer.kind == COMMITTED:
                return answer.value
            if answer.kind != COMPUTE:
                assert answer.failed is not None
                raise run.failure(call, answer.failed)
            assert fn is not None
            token = _computing.set(run)
            try:
                result, error = self._encode(fn(), f"the result of {key!r}"), None
            except BaseException as e:  # noqa: BLE001 - sent to the node, re-raised on its answer
                result, error = None, e
            finally:
                _computing.reset(token)
            run.send_compute_result(call, result, error)


class AsyncWorkflowContext(_Base):
    """What an ``async def`` workflow function uses: the same calls as :class:`WorkflowContext`,
    awaited (``await ctx.checkpoint(...)``). ``checkpoint_compute`` takes a plain function or an
    ``async`` one (a plain one runs on the event loop: keep it short, or use
    ``asyncio.to_thread`` inside an async one)."""

    __slots__ = ()

    async def checkpoint(self, key: str, value: Any) -> Any:
        key, data = self._prepare(key, value, compute=False)
        return self._decode(await self._call(key, data, None))

    async def checkpoint_compute(self, key: str, fn: Callable[[], Union[T, Awaitable[T]]]) -> T:
        if not callable(fn):
            raise TypeError(f"checkpoint_compute needs a callable, not {type(fn).__name__}")
        key, _ = self._prepare(key, None, compute=True)
        return self._decode(await self._call(key, b"", fn))  # type: ignore[no-any-return]

    async def var(self, key: str, initial: T) -> AsyncReplicatedVar[T]:
        """``await ctx.var(key, initial)``: a replicated variable whose first value is committed."""
        var: AsyncReplicatedVar[T] = AsyncReplicatedVar(self, key)
        await var._init(initial)
        return var

    async def _call(self, key: str, data: bytes, fn: Callable[[], Any] | None) -> bytes:
        run = self._run
        slot = run.acquire_slot()
        if slot is not None:
            await asyncio.wrap_future(slot)
        replayed, call = run.begin(key, data, compute=fn is not None)
        if call is None:
            assert replayed is not None
            return replayed
        while True:
            answer = await asyncio.wrap_future(call.future)
            if answer.kind == COMMITTED:
                return answer.value
            if answer.kind != COMPUTE:
                assert answer.failed is not None
                raise run.failure(call, answer.failed)
            assert fn is not None
            token = _computing.set(run)
            try:
                value = fn()
                if inspect.isawaitable(value):
                    value = await value
                result, error = self._encode(value, f"the result of {key!r}"), None
            except BaseException as e:  # noqa: BLE001 - sent to the node, re-raised on its answer
                result, error = None, e
            finally:
                _computing.reset(token)
            run.send_compute_result(call, result, error)


class ReplicatedVar(Generic[T]):
    """A value replicated through the checkpoints of one key: ``get`` is local, ``set`` and
    ``update`` commit the next value and return the committed one."""

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


class AsyncReplicatedVar(Generic[T]):
    """The async variant: ``get()`` is local; ``await set(v)``, ``await update(fn)``."""

    __slots__ = ("_ctx", "_key", "_value", "_lock")

    def __init__(self, ctx: AsyncWorkflowContext, key: str) -> None:
        self._ctx = ctx
        self._key = key
        self._lock = asyncio.Lock()
        self._value: Any = None

    async def _init(self, initial: T) -> None:
        self._value = await self._ctx.checkpoint(self._key, initial)

    @property
    def key(self) -> str:
        return self._key

    def get(self) -> T:
        return self._value  # type: ignore[no-any-return]

    async def set(self, value: T) -> T:
        async with self._lock:
            self._value = await self._ctx.checkpoint(self._key, value)
            return self._value  # type: ignore[no-any-return]

    async def update(self, fn: Callable[[T], T]) -> T:
        async with self._lock:
            self._value = await self._ctx.checkpoint(self._key, fn(self._value))
            return self._value  # type: ignore[no-any-return]

    def __repr__(self) -> str:
        return f"AsyncReplicatedVar({self._key!r}, {self._value!r})"
