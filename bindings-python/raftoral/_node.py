"""The library's lifetime (:func:`init`, :func:`shutdown`), :class:`Node` and :class:`WorkflowHandle`."""

from __future__ import annotations

import atexit
import builtins
import ctypes
import json
import math
import os
import threading
import time
import warnings
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence, TypeVar

from . import _native
from ._calls import encode_str, invoke, invoke_bytes, read_string
from ._codec import Codec, JsonCodec
from ._errors import InvalidArgument, NodeClosed, ProcessForked, RaftoralError, ShutDown, Timeout
from ._types import ExecutionMode, HistoryEntry, HistoryPage, WorkflowInfo, WorkflowPage, WorkflowStatus
from ._workflow import (
    WorkflowFunction,
    _finalizer_trampoline,
    _Registration,
    _workflow_trampoline,
    add_registration,
    drop_registration,
)

__all__ = ["init", "shutdown", "Node", "WorkflowHandle"]

F = TypeVar("F", bound=WorkflowFunction)

#: How long one blocking C call may last at most, so that Ctrl-C is seen soon: a signal
#: reaches Python code only when the main thread returns from the C call it is in.
_SLICE_SECONDS = 0.2

_lifetime_lock = threading.Lock()
_initialized = False
_forked = False


def _after_fork_in_child() -> None:
    """A forked child has none of the engine's threads: the library refuses every call there
    (``ProcessForked``), and :func:`shutdown`, which ``atexit`` calls, does nothing, so the
    child exits normally. The lock is new because its holder may not exist in the child."""
    global _forked, _lifetime_lock
    _forked = True
    _lifetime_lock = threading.Lock()


os.register_at_fork(after_in_child=_after_fork_in_child)


def init(
    *,
    java_home: str | os.PathLike[str] | None = None,
    class_path: str | None = None,
    jvm_options: Sequence[str] = (),
) -> None:
    """Starts the embedded JVM. Called by the first :class:`Node` with the defaults; call it
    first to choose the JDK (default: ``$RAFTORAL_JAVA_HOME``, ``$JAVA_HOME``, the build's),
    the class path or extra JVM options. Later calls do nothing: one JVM per process.
    In a child forked after the library started, raises :class:`ProcessForked`."""
    global _initialized
    with _lifetime_lock:
        if _forked and _initialized:
            raise ProcessForked("this process was forked after raftoral started; the library cannot be used in the child")
        if _initialized:
            return
        lib = _native.lib()
        options = _native.InitOptions()
        options.struct_size = ctypes.sizeof(_native.InitOptions)
        # Kept referenced until the call returns: ctypes does not own what c_char_p points to.
        java_home_bytes = os.fsencode(java_home) if java_home is not None else None
        class_path_bytes = encode_str(class_path, "class_path") if class_path is not None else None
        option_bytes = [encode_str(o, "JVM option") for o in jvm_options]
        options.java_home = java_home_bytes
        options.class_path = class_path_bytes
        options_array = (ctypes.c_char_p * max(len(option_bytes), 1))(*option_bytes)
        options.jvm_options = options_array if option_bytes else None
        options.jvm_options_len = len(option_bytes)
        invoke(lib.raftoral_init, ctypes.byref(options))
        _initialized = True
        # JVM shutdown hooks do not run when Python exits: close the nodes ourselves.
        atexit.register(shutdown)


def shutdown() -> None:
    """Closes every open node (as :meth:`Node.close` does) and stops the library for good
    (registered with ``atexit``). Does nothing in a forked child: its parent owns the engine."""
    with _lifetime_lock:
        if not _initialized or _forked:
            return
        invoke(_native.lib().raftoral_shutdown)


def _milliseconds(value: float | timedelta | None, what: str) -> int | None:
    return None if value is None else round(_seconds(value, what) * 1000)


def _microseconds(value: float | timedelta | None, what: str) -> int | None:
    return None if value is None else round(_seconds(value, what) * 1_000_000)


def _seconds(value: float | timedelta, what: str) -> float:
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    else:
        raise TypeError(f"{what} must be seconds (int or float) or a timedelta, not {type(value).__name__}")
    if math.isnan(seconds) or math.isinf(seconds):
        raise InvalidArgument(f"{what} must be a finite number of seconds, not {seconds}")
    if seconds < 0:
        raise InvalidArgument(f"{what} must not be negative")
    return seconds


def _integer(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an int, not {type(value).__name__}")
    return value


def _page_size(value: Any, what: str) -> int:
    size = _integer(value, what)
    if not 1 <= size <= 1000:
        raise InvalidArgument(f"{what} must be between 1 and 1000, got {size}")
    return size


def _member_id(value: Any) -> str:
    """A member's node id: an int, or its decimal text (as JSON object keys are)."""
    if isinstance(value, str) and value.isdecimal():
        return value
    return str(_integer(value, "a member's node id"))


def _version(value: Any) -> int:
    version = _integer(value, "version")
    if not 0 <= version < 2**32:
        raise InvalidArgument(f"version must be between 0 and 2**32 - 1, not {version}")
    return version


def _instant(value: datetime, what: str) -> str:
    if not isinstance(value, datetime):
        raise TypeError(f"{what} must be a datetime, not {type(value).__name__}")
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)  # naive datetimes are taken as UTC
    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


class Node:
    """A node of a Raftoral cluster, embedded in this process.

    Every keyword is one of the node options (docs/CONFIGURATION.md: defaults, units, ranges),
    named as the library's JSON configuration names them (a duration's key carries its unit:
    ``retention`` is ``retention_ms``); all are optional::

        with raftoral.Node(node_id=1, members={1: "127.0.0.1:7001", 2: "127.0.0.1:7002",
                                                3: "127.0.0.1:7003"}, data_dir="/var/lib/app/raft") as node:
            ...

    ``members`` are the bootstrap members (node id → Raft ``host:port``, this node included);
    ``join`` lists API addresses of a running cluster to join instead; ``data_dir`` absent
    means in memory. Durations are seconds (int or float) or ``timedelta``. ``options`` passes
    further raw configuration keys through unchanged. ``codec`` encodes inputs, results and
    checkpoint values (default: :class:`JsonCodec`).

    ``start_timeout`` bounds :meth:`start` (default 60 s) and ``close_grace`` how long
    :meth:`close` waits for workflow functions still running (default 10 s; 0: not at all).

    Use it as a context manager (start on enter, close on exit) or call :meth:`start` and
    :meth:`close`. Its methods may be called from any thread.
    """

    def __init__(
        self,
        *,
        node_id: int | None = None,
        members: Mapping[int, str] | Mapping[str, str] | None = None,
        raft_address: str | None = None,
        api_address: str | None = None,
        worker_address: str | None = None,
        http_address: str | None = None,
        join: Sequence[str] | None = None,
        data_dir: str | os.PathLike[str] | None = None,
        cluster_id: str | None = None,
        execution_groups: int | None = None,
        election_timeout: float | timedelta | None = None,
        request_timeout: float | timedelta | None = None,
        max_in_flight_entries: int | None = None,
        batch_linger: float | timedelta | None = None,
        max_voters: int | None = None,
        min_group_size: int | None = None,
        target_group_size: int | None = None,
        max_group_size: int | None = None,
        node_failure_timeout: float | timedelta | None = None,
        rejoin_after_removal: bool | None = None,
        retention: float | timedelta | None = None,
        snapshot_threshold: int | None = None,
        payload_limit_bytes: int | None = None,
        snapshot_transfer_rate: int | None = None,
        snapshot_chunk_bytes: int | None = None,
        tls_cert: str | os.PathLike[str] | None = None,
        tls_key: str | os.PathLike[str] | None = None,
        tls_ca: str | os.PathLike[str] | None = None,
        auth_tokens: str | os.PathLike[str] | None = None,
        start_timeout: float | timedelta | None = None,
        close_grace: float | timedelta | None = None,
        codec: Codec | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> None:
        config: dict[str, Any] = {}
        if node_id is not None:
            config["node_id"] = _integer(node_id, "node_id")
        if members is not None:
            if not isinstance(members, Mapping):
                raise TypeError(f"members must be a mapping of node id to address, not {type(members).__name__}")
            config["members"] = {}
            for k, v in members.items():
                member = _member_id(k)
                if member in config["members"]:  # 1 and "1": which address wins would be an accident
                    raise InvalidArgument(f"members names node {member} twice")
                config["members"][member] = _str(v, "a member's address")
        if raft_address is not None:
            config["raft_address"] = _str(raft_address, "raft_address")
        if api_address is not None:
            config["api_address"] = _str(api_address, "api_address")
        if worker_address is not None:
            config["worker_address"] = _str(worker_address, "worker_address")
        if http_address is not None:
            config["http_address"] = _str(http_address, "http_address")
        if join is not None:
            if isinstance(join, str) or not isinstance(join, Sequence):
                raise TypeError("join must be a sequence of API addresses")
            config["join"] = [_str(a, "a join address") for a in join]
        for key, path in (
            ("data_dir", data_dir),
            ("tls_cert", tls_cert),
            ("tls_key", tls_key),
            ("tls_ca", tls_ca),
            ("auth_tokens", auth_tokens),
        ):
            if path is not None:
                config[key] = os.fspath(path)
        if cluster_id is not None:
            config["cluster_id"] = _str(cluster_id, "cluster_id")
        for key, count in (
            ("execution_groups", execution_groups),
            ("max_in_flight_entries", max_in_flight_entries),
            ("max_voters", max_voters),
            ("min_group_size", min_group_size),
            ("target_group_size", target_group_size),
            ("max_group_size", max_group_size),
            ("snapshot_threshold", snapshot_threshold),
            ("payload_limit_bytes", payload_limit_bytes),
            ("snapshot_transfer_rate", snapshot_transfer_rate),
            ("snapshot_chunk_bytes", snapshot_chunk_bytes),
        ):
            if count is not None:
                config[key] = _integer(count, key)
        for key, duration in (
            ("election_timeout", election_timeout),
            ("request_timeout", request_timeout),
            ("node_failure_timeout", node_failure_timeout),
            ("retention", retention),
            ("start_timeout", start_timeout),
            ("close_grace", close_grace),
        ):
            ms = _milliseconds(duration, key)
            if ms is not None:
                config[key + "_ms"] = ms
        us = _microseconds(batch_linger, "batch_linger")
        if us is not None:
            config["batch_linger_us"] = us
        if rejoin_after_removal is not None:
            if not isinstance(rejoin_after_removal, bool):
                raise TypeError(f"rejoin_after_removal must be a bool, not {type(rejoin_after_removal).__name__}")
            config["rejoin_after_removal"] = rejoin_after_removal
        if options is not None:
            if not isinstance(options, Mapping):
                raise TypeError(f"options must be a mapping, not {type(options).__name__}")
            # A key set both ways: either value would be a silent surprise.
            both = sorted(set(options) & set(config))
            if both:
                raise InvalidArgument(f"{', '.join(both)} given both as a keyword and in options")
            config.update(options)
        if codec is not None and not isinstance(codec, Codec):
            raise TypeError("codec must have encode(value) -> bytes and decode(bytes) -> value")
        self._codec: Codec = codec if codec is not None else JsonCodec()
        config_json = json.dumps(config)  # TypeError for values that are not JSON

        init()
        handle = ctypes.c_void_p()
        invoke(_native.lib().raftoral_node_create, config_json.encode("utf-8"), ctypes.byref(handle))
        self._ptr: int | None = handle.value
        self._started = False
        self._registration_keys: list[int] = []

    # ---- lifetime ----

    def _handle(self) -> int:
        ptr = self._ptr
        if ptr is None:
            raise NodeClosed("the node is closed")
        return ptr

    def start(self) -> Node:
        """Starts the node: bootstraps the cluster from ``members``, joins one, or restarts from
        ``data_dir``. Returns once the node is part of a cluster with a quorum (a bootstrap needs
        a majority of the members up); raises :class:`Timeout` when that did not happen within
        ``start_timeout`` (default 60 s), the node then being stopped (close it, create a new one
        to try again). Waits in a helper thread, so Ctrl-C raises ``KeyboardInterrupt`` at once;
        :meth:`close` (which ``with`` calls then) interrupts the start, which raises
        :class:`NodeClosed`."""
        handle = self._handle()
        if self._started:
            return self
        outcome: list[BaseException | None] = []

        def run() -> None:
            try:
                invoke(_native.lib().raftoral_node_start, handle)
                outcome.append(None)
            except BaseException as e:  # noqa: BLE001 - handed to the waiting thread
                outcome.append(e)

        worker = threading.Thread(target=run, name="raftoral-node-start", daemon=True)
        worker.start()
        while worker.is_alive():
            worker.join(_SLICE_SECONDS)
        if outcome and outcome[0] is not None:
            raise outcome[0]
        self._started = True
        return self

    def close(self) -> None:
        """Stops the node (its workflows continue on the other members). Idempotent.

        Waits up to ``close_grace`` (default 10 s) for workflow functions of this node still
        running (their checkpoint calls raise :class:`RunAborted` from the stop on), then
        releases its registrations. Raises :class:`Timeout` when some were still running after
        the grace: the node is closed all the same, and they are released as they return. A
        workflow that closes its own node is not waited for. Interrupts a :meth:`start` in
        progress."""
        ptr, self._ptr = self._ptr, None
        if ptr is None or _forked:
            return  # in a forked child the node belongs to the parent
        try:
            invoke(_native.lib().raftoral_node_close, ptr)
        except ShutDown:
            pass  # raftoral.shutdown() has closed it already
        finally:
            for key in self._registration_keys:
                drop_registration(key)  # normally done by the finalizers already
            self._registration_keys.clear()

    @property
    def closed(self) -> bool:
        return self._ptr is None

    def __enter__(self) -> Node:
        if not self._started:
            try:
                self.start()
            except BaseException:
                self.close()
                raise
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.close()
            return
        # The block's own exception matters more than workflows that outlived the close grace
        # (the node is closed either way): say it, do not replace that exception.
        try:
            self.close()
        except Timeout as e:
            warnings.warn(f"raftoral: {e.message}", RuntimeWarning, stacklevel=2)

    @property
    def node_id(self) -> int:
        """This node's id (known once started)."""
        value = ctypes.c_uint64()
        invoke(_native.lib().raftoral_node_id, self._handle(), ctypes.byref(value))
        return value.value

    @property
    def api_address(self) -> str | None:
        """The ``host:port`` of the node's gRPC client API, or None when it serves none."""
        address = read_string(_native.lib().raftoral_node_api_address, self._handle())
        return address or None

    @property
    def http_address(self) -> str | None:
        """The ``host:port`` of the node's HTTP port (web console, ``/metrics``, health), or None when it serves none."""
        address = read_string(_native.lib().raftoral_node_http_address, self._handle())
        return address or None

    @property
    def codec(self) -> Codec:
        return self._codec

    def __repr__(self) -> str:
        state = "closed" if self._ptr is None else "started" if self._started else "created"
        return f"<raftoral.Node {state}>"

    # ---- registration ----

    def workflow(
        self,
        type: str,
        version: int = 1,
        *,
        mode: ExecutionMode | str = ExecutionMode.HOT_STANDBY,
        keep_last_per_key: int = 0,
    ) -> Callable[[F], F]:
        """Registers the decorated function as workflow ``(type, version)``; before or after
        :meth:`start`. The function is called as ``fn(ctx, input)`` and returns the result::

            @node.workflow("order", version=1)
            def order(ctx: raftoral.WorkflowContext, order: dict) -> dict: ...

        The keywords are those of :meth:`register_workflow`.
        """

        def decorate(fn: F) -> F:
            self.register_workflow(type, version, fn, mode=mode, keep_last_per_key=keep_last_per_key)
            return fn

        return decorate

    def register_workflow(
        self,
        type: str,
        version: int,
        fn: WorkflowFunction,
        *,
        mode: ExecutionMode | str = ExecutionMode.HOT_STANDBY,
        keep_last_per_key: int = 0,
    ) -> None:
        """Registers ``fn`` as workflow ``(type, version)``. Register the same types (with the
        same keywords) on every node of the cluster. :class:`AlreadyRegistered` when the pair is
        registered already.

        ``keep_last_per_key`` is the type's history retention: N > 0 keeps only the last N
        values of each key once a workflow of the type has ended (completed, failed or
        terminated); 0 (the default) keeps every value until the workflow is pruned. It never
        applies while the workflow runs, because a replay reads every value from the first.
        A negative N (or one past 2**63 - 1) raises :class:`InvalidArgument`."""
        type_bytes = encode_str(type, "workflow type")
        version = _version(version)
        if not callable(fn):
            raise TypeError(f"a workflow must be callable, not {builtins.type(fn).__name__}")
        execution_mode = _mode(mode)
        keep = _integer(keep_last_per_key, "keep_last_per_key")
        if not 0 <= keep < 2**63:
            raise InvalidArgument(f"keep_last_per_key must be between 0 (keep everything) and 2**63 - 1, not {keep}")
        options = _native.WorkflowOptions(ctypes.sizeof(_native.WorkflowOptions), int(execution_mode), keep)
        key = add_registration(_Registration(fn, self._codec, type, version))
        try:
            invoke(
                _native.lib().raftoral_node_register_workflow_ex,
                self._handle(),
                type_bytes,
                version,
                ctypes.byref(options),
                _workflow_trampoline,
                key,
                _finalizer_trampoline,
            )
        except BaseException:
            drop_registration(key)
            raise
        self._registration_keys.append(key)

    # ---- workflows (any node answers for any workflow) ----

    def start_workflow(self, type: str, version: int, input: Any = None, workflow_id: str | None = None) -> WorkflowHandle:
        """Starts a workflow and returns once its start is committed. A start is idempotent by
        id: the same type, version and input return the existing workflow; anything else raises
        :class:`AlreadyExists`. Without ``workflow_id`` the library mints one naming the
        least-loaded execution group (``g<index>-<uuid>``) before the start is sent. Every
        error raised has ``workflow_id`` set to the id used: after a :class:`Timeout`, :class:`Unavailable` or :class:`NodeClosed` the workflow may have
        started all the same, and starting that id again is safe."""
        type_bytes = encode_str(type, "workflow type")
        version = _version(version)
        # Without an id the library mints one naming the least-loaded execution group; a failed
        # start names it in the error's detail.
        id_bytes = None if workflow_id is None else encode_str(workflow_id, "workflow_id")
        data = self._codec.encode(input)
        try:
            started = invoke_bytes(
                _native.lib().raftoral_workflow_start, self._handle(), type_bytes, version, data, len(data), id_bytes
            )
        except RaftoralError as e:
            e.workflow_id = workflow_id if workflow_id is not None else e.detail
            raise
        return WorkflowHandle(self, started.decode("utf-8"))

    def get_workflow(self, workflow_id: str) -> WorkflowHandle:
        """A handle for an existing workflow (no call is made)."""
        encode_str(workflow_id, "workflow_id")
        return WorkflowHandle(self, workflow_id)

    def result(self, workflow_id: str, timeout: float | timedelta | None = None) -> Any:
        """The result of a workflow; see :meth:`WorkflowHandle.result`."""
        return WorkflowHandle(self, workflow_id).result(timeout)

    def describe(self, workflow_id: str) -> WorkflowInfo:
        """The workflow's info; :class:`NotFound` for an unknown id."""
        id_bytes = encode_str(workflow_id, "workflow_id")
        data = invoke_bytes(_native.lib().raftoral_workflow_describe, self._handle(), id_bytes)
        return WorkflowInfo.from_json(json.loads(data))

    def list_workflows(
        self,
        *,
        statuses: Iterable[WorkflowStatus | str] | None = None,
        type: str | None = None,
        version: int | None = None,
        started_after: datetime | None = None,
        started_before: datetime | None = None,
        limit: int | None = None,
        page_token: str | None = None,
    ) -> WorkflowPage:
        """One page of the workflows that match every given filter, across all execution groups."""
        query: dict[str, Any] = {}
        if statuses is not None:
            if isinstance(statuses, (str, WorkflowStatus)):
                statuses = [statuses]
            query["statuses"] = [WorkflowStatus(s).value for s in statuses]
        if type is not None:
            query["type"] = _str(type, "type")
        if version is not None:
            query["version"] = _version(version)
        if started_after is not None:
            query["started_after"] = _instant(started_after, "started_after")
        if started_before is not None:
            query["started_before"] = _instant(started_before, "started_before")
        if limit is not None:
            query["limit"] = _integer(limit, "limit")
        if page_token is not None:
            query["page_token"] = _str(page_token, "page_token")
        data = invoke_bytes(_native.lib().raftoral_workflow_list, self._handle(), json.dumps(query).encode("utf-8"))
        page = json.loads(data)
        return WorkflowPage(
            [WorkflowInfo.from_json(w) for w in page.get("workflows", [])],
            page.get("nextPageToken") or None,
        )

    def iter_workflows(self, **filters: Any) -> Iterator[WorkflowInfo]:
        """Every matching workflow, page after page (same filters as :meth:`list_workflows`)."""
        token = filters.pop("page_token", None)
        while True:
            page = self.list_workflows(page_token=token, **filters)
            yield from page.workflows
            token = page.next_page_token
            if token is None:
                return

    def history(self, workflow_id: str, key: str | None = None, page_size: int | None = None) -> Iterator[HistoryEntry]:
        """Every committed checkpoint of a workflow, kept until the workflow is pruned: with
        ``key`` the values of that key in seq order, without it those of every key in the order
        they were committed. Returns an iterator that reads ``page_size`` entries (1..1000,
        default 100) at a time, the next page only when the previous one is consumed; it goes
        on without gap or repeat while the workflow keeps appending. The first page is read
        here, so an unknown id raises :class:`NotFound` and bad arguments
        :class:`InvalidArgument` (or ``TypeError``) at the call, not at the first ``next``."""
        if page_size is not None:
            _page_size(page_size, "page_size")
        first = self.history_page(workflow_id, key=key, limit=page_size)
        return self._history_pages(workflow_id, key, page_size, first)

    def _history_pages(
        self, workflow_id: str, key: str | None, page_size: int | None, page: HistoryPage
    ) -> Iterator[HistoryEntry]:
        while True:
            yield from page.entries
            if page.next_page_token is None:
                return
            page = self.history_page(workflow_id, key=key, limit=page_size, page_token=page.next_page_token)

    def history_page(
        self, workflow_id: str, *, key: str | None = None, limit: int | None = None, page_token: str | None = None
    ) -> HistoryPage:
        """One page of :meth:`history`: at most ``limit`` entries (1..1000, default 100) after
        ``page_token`` (the ``next_page_token`` of the previous page of the same ``key``)."""
        id_bytes = encode_str(workflow_id, "workflow_id")
        key_bytes = None
        if key is not None:
            if _str(key, "key") == "":
                raise InvalidArgument("key must not be empty; pass None for the history of every key")
            key_bytes = encode_str(key, "key")
        size = 0 if limit is None else _page_size(limit, "limit")  # 0: the library's default
        token_bytes = encode_str(_str(page_token, "page_token"), "page_token") if page_token is not None else None
        data = invoke_bytes(
            _native.lib().raftoral_workflow_history, self._handle(), id_bytes, key_bytes, token_bytes, size
        )
        page = json.loads(data)
        return HistoryPage(
            [HistoryEntry.from_json(e) for e in page.get("entries", [])],
            page.get("nextPageToken") or None,
        )

    def terminate(self, workflow_id: str, reason: str | None = None) -> WorkflowInfo:
        """Terminates a running workflow and returns its info afterwards; a finished workflow
        is unchanged. :class:`NotFound` for an unknown id."""
        id_bytes = encode_str(workflow_id, "workflow_id")
        reason_bytes = encode_str(reason, "reason") if reason is not None else None
        data = invoke_bytes(_native.lib().raftoral_workflow_terminate, self._handle(), id_bytes, reason_bytes)
        return WorkflowInfo.from_json(json.loads(data))

    def _await(self, workflow_id: bytes, timeout_ms: int) -> bytes:
        return invoke_bytes(_native.lib().raftoral_workflow_await, self._handle(), workflow_id, timeout_ms)


def _str(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a str, not {builtins.type(value).__name__}")
    return value


def _mode(mode: ExecutionMode | str) -> ExecutionMode:
    if isinstance(mode, ExecutionMode):
        return mode
    if isinstance(mode, str):
        try:
            return ExecutionMode[mode.upper()]
        except KeyError:
            raise InvalidArgument(f"unknown execution mode {mode!r}; use 'hot_standby' or 'owner_only'") from None
    raise TypeError(f"mode must be an ExecutionMode or its name, not {builtins.type(mode).__name__}")


class WorkflowHandle:
    """A started workflow: its id, and the node to ask about it."""

    __slots__ = ("_node", "_workflow_id")

    def __init__(self, node: Node, workflow_id: str) -> None:
        self._node = node
        self._workflow_id = workflow_id

    @property
    def workflow_id(self) -> str:
        return self._workflow_id

    @property
    def node(self) -> Node:
        return self._node

    def result(self, timeout: float | timedelta | None = None) -> Any:
        """Waits for the workflow to end and returns its decoded result.

        Raises :class:`WorkflowFailed` (with the error's type and message) when it failed,
        :class:`WorkflowTerminated` when it was terminated, :class:`Timeout` (a
        ``TimeoutError``) when ``timeout`` (seconds or timedelta) passes first; ``None`` waits
        until it ends. Waits in short slices, so Ctrl-C raises ``KeyboardInterrupt`` promptly.
        """
        limit_ms = _milliseconds(timeout, "timeout")
        deadline = None if limit_ms is None else time.monotonic() + limit_ms / 1000
        id_bytes = encode_str(self._workflow_id, "workflow_id")
        slice_ms = round(_SLICE_SECONDS * 1000)
        while True:
            if deadline is None:
                wait_ms = slice_ms
            else:
                wait_ms = max(0, min(slice_ms, round((deadline - time.monotonic()) * 1000)))
            try:
                data = self._node._await(id_bytes, wait_ms)
            except Timeout:
                if limit_ms is not None and deadline is not None and time.monotonic() >= deadline:
                    raise Timeout(f"workflow {self._workflow_id} still running after {limit_ms / 1000:g} s") from None
                continue
            return self._node.codec.decode(data)

    def describe(self) -> WorkflowInfo:
        return self._node.describe(self._workflow_id)

    def terminate(self, reason: str | None = None) -> WorkflowInfo:
        return self._node.terminate(self._workflow_id, reason)

    def __repr__(self) -> str:
        return f"<WorkflowHandle {self._workflow_id}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, WorkflowHandle) and other._workflow_id == self._workflow_id

    def __hash__(self) -> int:
        return hash(self._workflow_id)
