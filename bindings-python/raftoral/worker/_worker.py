"""The worker: registrations, the stream to the node (connect, register, read, heartbeats,
reconnect) and the runs it hands out.

Threads: ``run()`` reads the stream in the calling thread; gRPC's own thread pulls the worker's
messages from a queue (``_Connection.requests``), sending a heartbeat when the queue has been
idle for the node's interval and cancelling the call when the node has been silent past its
timeout. Each run of a plain function has its own thread; ``async def`` functions run as tasks
on one asyncio loop in a thread of the worker.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
import queue
import re
import signal
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass
from types import FrameType
from typing import Any, Callable, Iterator, TypeVar

import grpc

from .._codec import Codec, JsonCodec
from .._errors import AlreadyRegistered, CodecError, InvalidArgument, PermissionDenied, Unauthenticated
from .._types import ExecutionMode
from ._context import AsyncWorkflowContext, WorkflowContext
from ._errors import STREAM_LOST, WORKER_STOPPING, RegistrationRefused, RunCancelled
from ._pb import worker_pb2 as pb
from ._pb import worker_pb2_grpc as pb_grpc
from ._run import COMMITTED, COMPUTE, FAILED, Answer, Run, failure_of

__all__ = ["Worker", "workflow", "WorkflowSpec", "PROTOCOL_VERSION"]

log = logging.getLogger("raftoral.worker")

PROTOCOL_VERSION = 1
LIBRARY = "raftoral-python/0.1.0"
F = TypeVar("F", bound=Callable[..., Any])

_MODES = {ExecutionMode.HOT_STANDBY: pb.HOT_STANDBY, ExecutionMode.OWNER_ONLY: pb.OWNER_ONLY}
_FATAL = {grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.UNIMPLEMENTED}
_TARGET = re.compile(r"^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})$")
_SPEC_ATTR = "__raftoral_workflow__"


@dataclass(frozen=True)
class WorkflowSpec:
    """A workflow function's registration: ``(name, version)``, mode and retention."""

    name: str
    version: int
    fn: Callable[..., Any]
    mode: ExecutionMode = ExecutionMode.HOT_STANDBY
    keep_last_per_key: int = 0

    @property
    def is_async(self) -> bool:
        return inspect.iscoroutinefunction(self.fn)


def _spec(name: object, version: object, fn: object, mode: object, keep_last_per_key: object) -> WorkflowSpec:
    if not isinstance(name, str):
        raise TypeError(f"workflow type must be a str, not {type(name).__name__}")
    if not name.strip():
        raise InvalidArgument("workflow type must not be blank")
    if "\x00" in name:
        raise InvalidArgument("workflow type must not contain NUL characters")
    if not isinstance(version, int) or isinstance(version, bool):
        raise TypeError(f"workflow version must be an int, not {type(version).__name__}")
    if not 1 <= version <= 2**31 - 1:
        raise InvalidArgument(f"workflow version must be in 1..2147483647, not {version}")
    if not callable(fn):
        raise TypeError(f"a workflow must be callable, not {type(fn).__name__}")
    if not isinstance(mode, ExecutionMode):
        raise TypeError(f"mode must be a raftoral.ExecutionMode, not {type(mode).__name__}")
    if not isinstance(keep_last_per_key, int) or isinstance(keep_last_per_key, bool):
        raise TypeError(f"keep_last_per_key must be an int, not {type(keep_last_per_key).__name__}")
    if not 0 <= keep_last_per_key < 2**63:
        raise InvalidArgument(f"keep_last_per_key must be >= 0, not {keep_last_per_key}")
    return WorkflowSpec(name, version, fn, mode, keep_last_per_key)


def workflow(
    name: str, version: int = 1, *, mode: ExecutionMode = ExecutionMode.HOT_STANDBY, keep_last_per_key: int = 0
) -> Callable[[F], F]:
    """Marks a function as the workflow ``(name, version)`` without a worker: pass it (or a list
    of such functions) to :meth:`Worker.add` or to ``python -m raftoral.worker``."""

    def mark(fn: F) -> F:
        setattr(fn, _SPEC_ATTR, _spec(name, version, fn, mode, keep_last_per_key))
        return fn

    return mark


def check_target(target: object) -> str:
    """``host:port`` (a name, IPv4 or ``[IPv6]``) or ``unix:PATH``; InvalidArgument otherwise."""
    if not isinstance(target, str):
        raise TypeError(f"target must be a str, not {type(target).__name__}")
    if target.startswith("unix:") and len(target) > len("unix:"):
        return target
    match = _TARGET.match(target)
    if match is None or not 1 <= int(match.group(1)) <= 65535:
        raise InvalidArgument(
            f"target {target!r} is not host:port (the node's --worker-listen address, e.g. 127.0.0.1:9001) or unix:PATH"
        )
    return target


def _path_option(name: str, value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"{name} must be a path (str or os.PathLike), not {type(value).__name__}")
    path = os.fspath(value)
    if not isinstance(path, str) or not path.strip():
        raise InvalidArgument(f"{name} must be a non-empty path")
    return path


class _Slots:
    """At most ``limit`` functions run at once; the node's Executes past it wait here."""

    def __init__(self, limit: int) -> None:
        self._lock = threading.Lock()
        self._limit = limit
        self._running = 0
        self._waiting: deque[Callable[[], None]] = deque()

    def start(self, begin: Callable[[], None]) -> None:
        with self._lock:
            if self._running >= self._limit:
                self._waiting.append(begin)
                return
            self._running += 1
        begin()

    def release(self) -> None:
        with self._lock:
            if not self._waiting:
                self._running -= 1
                return
            begin = self._waiting.popleft()
        begin()


class _Connection:
    """One stream to the node."""

    _CLOSE = object()

    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        self.out: queue.Queue[Any] = queue.Queue()
        self.closed = False
        self.call: Any = None
        self.registered: pb.Registered | None = None
        self.opened = time.monotonic()
        self.last_received = self.opened
        self.runs: dict[int, Run] = {}
        self.lock = threading.Lock()
        self.slots: _Slots | None = None
        self.silent = False  # the watchdog cancelled the call
        self.refused: str | None = None  # why this worker cannot use the node's answer

    def send(self, message: pb.WorkerMessage) -> bool:
        if self.closed:
            return False
        self.out.put(message)
        return True

    def close(self) -> None:
        self.closed = True
        self.out.put(self._CLOSE)
        if self.call is not None:
            self.call.cancel()

    def requests(self) -> Iterator[pb.WorkerMessage]:
        worker = self.worker
        yield pb.WorkerMessage(register=pb.Register(
            worker_id=worker.worker_id,
            protocol_versions=[PROTOCOL_VERSION],
            types=[
                pb.WorkflowTypeSpec(name=s.name, version=s.version, mode=_MODES[s.mode], keep_last_per_key=s.keep_last_per_key)
                for s in worker._specs.values()
            ],
            max_concurrent_runs=worker.max_concurrent_runs,
            library=LIBRARY,
        ))
        last_sent = time.monotonic()
        while True:
            try:
                message = self.out.get(timeout=0.05)
            except queue.Empty:
                message = None
            if message is self._CLOSE:
                return
            now = time.monotonic()
            registered = self.registered
            if registered is None and now - self.opened > worker.registration_timeout:
                log.warning("no Registered from %s within %.1f s; reconnecting", worker.target, worker.registration_timeout)
                self._give_up()
                return
            if (registered is not None and registered.heartbeat_timeout_ms
                    and (now - self.last_received) * 1000 > registered.heartbeat_timeout_ms):
                log.warning("the node at %s was silent for %d ms; reconnecting", worker.target, registered.heartbeat_timeout_ms)
                self._give_up()
                return
            if message is not None:
                last_sent = now
                yield message
                continue
            if registered is None:
                continue
            interval = (registered.heartbeat_interval_ms or 1000) / 1000
            if now - last_sent >= interval:
                last_sent = now
                yield pb.WorkerMessage(heartbeat=pb.Heartbeat())

    def _give_up(self) -> None:
        self.silent = True
        self.closed = True
        if self.call is not None:
            self.call.cancel()


class Worker:
    """Runs workflow functions for the node at ``target`` (its ``--worker-listen`` address).

    Register functions with :meth:`workflow` (a decorator) or :meth:`register_workflow`, then
    :meth:`run` (blocks until :meth:`stop`, SIGINT or SIGTERM) or :meth:`start` (a background
    thread). A function is ``fn(ctx, input) -> result``: a plain function gets a blocking
    :class:`WorkflowContext` and runs on its own thread; an ``async def`` one gets an
    :class:`AsyncWorkflowContext` and runs on the worker's asyncio loop. Inputs, values and
    results are JSON (``codec``).

    The worker reconnects when its stream ends (backoff from ``reconnect_delay`` doubling up to
    ``max_reconnect_delay`` seconds); runs of the lost stream unwind with :class:`RunCancelled`
    and the node hands them out again with their history. A refusal that retrying cannot cure
    (:class:`RegistrationRefused`) ends :meth:`run` with that error.

    A secured node (docs/SECURITY.md): ``tls_ca`` (default ``$RAFTORAL_TLS_CA``) is the CA of the
    node's certificate, ``tls_cert``/``tls_key`` a client certificate with ``OU=worker``; either
    makes the worker connect with TLS. ``token`` (default ``$RAFTORAL_TOKEN``), a token of role
    ``worker``, is sent as ``authorization: Bearer TOKEN``. A node that refuses the credentials
    ends :meth:`run` with :class:`raftoral.Unauthenticated` or :class:`raftoral.PermissionDenied`.
    """

    def __init__(
        self,
        target: str | None = None,
        *,
        worker_id: str | None = None,
        max_concurrent_runs: int = 0,
        codec: Codec | None = None,
        reconnect_delay: float = 0.1,
        max_reconnect_delay: float = 5.0,
        registration_timeout: float = 10.0,
        stop_grace: float = 10.0,
        on_registered: Callable[[pb.Registered], None] | None = None,
        tls_ca: str | os.PathLike[str] | None = None,
        tls_cert: str | os.PathLike[str] | None = None,
        tls_key: str | os.PathLike[str] | None = None,
        token: str | None = None,
    ) -> None:
        self.target = check_target(target) if target is not None else None
        #: PEM file of the CA that signed the node's certificate (default ``$RAFTORAL_TLS_CA``).
        self.tls_ca = _path_option("tls_ca", tls_ca if tls_ca is not None else os.environ.get("RAFTORAL_TLS_CA") or None)
        #: PEM files of this worker's client certificate (a certificate of the cluster's CA with
        #: ``OU=worker``) and its key.
        self.tls_cert = _path_option("tls_cert", tls_cert)
        self.tls_key = _path_option("tls_key", tls_key)
        if (self.tls_cert is None) != (self.tls_key is None):
            raise InvalidArgument("tls_cert and tls_key go together: give both or neither")
        token = token if token is not None else os.environ.get("RAFTORAL_TOKEN") or None
        if token is not None and (not isinstance(token, str) or not token.strip() or any(c in token for c in "\r\n")):
            raise InvalidArgument("token must be a non-blank str on one line (a token of role worker, rft_...)")
        self._token = token.strip() if token is not None else None
        self.worker_id = worker_id if worker_id is not None else f"{socket.gethostname()}:{os.getpid()}"
        if not isinstance(self.worker_id, str) or not self.worker_id.strip() or len(self.worker_id) > 256:
            raise InvalidArgument("worker_id must be a non-blank str of at most 256 characters")
        if not isinstance(max_concurrent_runs, int) or not 0 <= max_concurrent_runs <= 65536:
            raise InvalidArgument(f"max_concurrent_runs must be in 0..65536 (0: the node's default), not {max_concurrent_runs!r}")
        for name, value in (("reconnect_delay", reconnect_delay), ("max_reconnect_delay", max_reconnect_delay),
                            ("registration_timeout", registration_timeout), ("stop_grace", stop_grace)):
            if not isinstance(value, (int, float)) or not value >= 0:
                raise InvalidArgument(f"{name} must be a number of seconds >= 0, not {value!r}")
        self.max_concurrent_runs = max_concurrent_runs
        self.codec: Codec = codec if codec is not None else JsonCodec()
        self.reconnect_delay = float(reconnect_delay)
        self.max_reconnect_delay = float(max_reconnect_delay)
        self.registration_timeout = float(registration_timeout)
        self.stop_grace = float(stop_grace)
        if on_registered is not None and not callable(on_registered):
            raise InvalidArgument(f"on_registered must be callable, not {on_registered!r}")
        #: Called with the node's Registered after each registration (also after a reconnection).
        self.on_registered = on_registered
        self._specs: dict[tuple[str, int], WorkflowSpec] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._running = False
        self._connection: _Connection | None = None
        self._registered_event = threading.Event()
        self._threads: set[threading.Thread] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: threading.Thread | None = None
        self._background: threading.Thread | None = None
        self._background_error: BaseException | None = None
        #: Registered of the current stream (None while not connected).
        self.registration: pb.Registered | None = None

    # ---- registration ----

    def workflow(
        self, name: str, version: int = 1, *, mode: ExecutionMode = ExecutionMode.HOT_STANDBY, keep_last_per_key: int = 0
    ) -> Callable[[F], F]:
        """``@worker.workflow("order", 1)`` registers the decorated function."""

        def register(fn: F) -> F:
            self.register_workflow(name, version, fn, mode=mode, keep_last_per_key=keep_last_per_key)
            return fn

        return register

    def register_workflow(
        self,
        name: str,
        version: int,
        fn: Callable[..., Any],
        *,
        mode: ExecutionMode = ExecutionMode.HOT_STANDBY,
        keep_last_per_key: int = 0,
    ) -> None:
        self._add(_spec(name, version, fn, mode, keep_last_per_key))

    def add(self, *functions: Callable[..., Any]) -> None:
        """Registers functions marked with :func:`raftoral.worker.workflow`."""
        for fn in functions:
            spec = getattr(fn, _SPEC_ATTR, None)
            if not isinstance(spec, WorkflowSpec):
                raise InvalidArgument(f"{fn!r} is not marked with @raftoral.worker.workflow(name, version)")
            self._add(spec)

    def _add(self, spec: WorkflowSpec) -> None:
        with self._lock:
            if self._running:
                raise InvalidArgument("register workflows before run(): the node learns them when the worker connects")
            if (spec.name, spec.version) in self._specs:
                raise AlreadyRegistered(f"workflow {spec.name!r} version {spec.version} is registered already on this worker")
            self._specs[(spec.name, spec.version)] = spec

    @property
    def workflows(self) -> list[WorkflowSpec]:
        return list(self._specs.values())

    # ---- running ----

    def run(self, target: str | None = None, *, handle_signals: bool = True) -> None:
        """Connects and serves runs until :meth:`stop` (or SIGINT/SIGTERM, when called in the
        main thread with ``handle_signals``); reconnects whenever the stream ends. Raises
        :class:`RegistrationRefused` when the node refuses the registration for good."""
        if target is not None:
            self.target = check_target(target)
        if self.target is None:
            raise InvalidArgument("no target: pass the node's worker address (host:port)")
        with self._lock:
            if not self._specs:
                raise InvalidArgument("register at least one workflow before run()")
            if self._running:
                raise InvalidArgument("this worker is running already")
            self._running = True
        previous: dict[signal.Signals, Any] = {}
        if handle_signals and threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                previous[sig] = signal.signal(sig, self._on_signal)
        try:
            channel = self._channel()
        except BaseException:
            with self._lock:
                self._running = False
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            raise
        try:
            self._serve(channel)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self._shutdown()
            channel.close()
            with self._lock:
                self._running = False

    @property
    def uses_tls(self) -> bool:
        """Whether the worker connects with TLS (it has a CA or a client certificate)."""
        return self.tls_ca is not None or self.tls_cert is not None

    def _channel(self) -> grpc.Channel:
        options = [("grpc.max_send_message_length", -1), ("grpc.max_receive_message_length", -1)]
        assert self.target is not None
        if not self.uses_tls:
            return grpc.insecure_channel(self.target, options=options)

        def read(name: str, path: str | None) -> bytes | None:
            if path is None:
                return None
            try:
                with open(path, "rb") as f:
                    return f.read()
            except OSError as e:
                raise InvalidArgument(f"{name} {path!r} cannot be read: {e}") from e

        credentials = grpc.ssl_channel_credentials(
            root_certificates=read("tls_ca", self.tls_ca),  # None: the system's trusted CAs
            private_key=read("tls_key", self.tls_key),
            certificate_chain=read("tls_cert", self.tls_cert),
        )
        return grpc.secure_channel(self.target, credentials, options=options)

    def _metadata(self) -> tuple[tuple[str, str], ...] | None:
        # Call metadata rather than call credentials: gRPC refuses those on a plaintext channel,
        # and a node may take tokens without TLS (on loopback).
        return (("authorization", f"Bearer {self._token}"),) if self._token is not None else None

    def start(self, target: str | None = None) -> None:
        """Runs the worker in a background thread (``run`` without signal handling)."""

        def main() -> None:
            try:
                self.run(target, handle_signals=False)
            except BaseException as e:  # noqa: BLE001 - kept for join()
                self._background_error = e
                log.error("worker stopped: %s", e)

        self._background = threading.Thread(target=main, name="raftoral-worker", daemon=True)
        self._background.start()

    def join(self, timeout: float | None = None) -> None:
        """Waits for a worker started with :meth:`start`; raises what ended its ``run``."""
        if self._background is not None:
            self._background.join(timeout)
            if self._background_error is not None:
                raise self._background_error

    def stop(self) -> None:
        """Stops the worker from any thread: reading ends, runs are cancelled
        (``RunCancelled("WORKER_STOPPING")``), the stream is closed; ``run`` returns."""
        self._stopping.set()
        connection = self._connection
        if connection is not None:
            connection.close()

    def wait_registered(self, timeout: float | None = None) -> bool:
        """Whether the worker is registered with the node (waits up to ``timeout``)."""
        return self._registered_event.wait(timeout)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        log.info("signal %d: stopping the worker", signum)
        # Not stop() itself: the handler may interrupt the reader inside gRPC's own locks.
        threading.Thread(target=self.stop, name="raftoral-worker-stop", daemon=True).start()

    def _serve(self, channel: grpc.Channel) -> None:
        stub = pb_grpc.WorkerServiceStub(channel)  # type: ignore[no-untyped-call]
        delay = self.reconnect_delay
        while not self._stopping.is_set():
            connection = _Connection(self)
            self._connection = connection
            if self._stopping.is_set():
                break
            code, details = self._stream(stub, connection)
            was_registered = connection.registered is not None
            self._drop(connection)
            if self._stopping.is_set():
                break
            if connection.refused is not None:
                raise RegistrationRefused("INVALID_ARGUMENT", connection.refused)
            if code is not None and code in _FATAL and not connection.silent:
                raise RegistrationRefused(code.name, self._refusal(code, details))
            if code == grpc.StatusCode.UNAUTHENTICATED:
                raise Unauthenticated(
                    f"the node at {self.target} refused this worker's credentials (UNAUTHENTICATED): {details}"
                    + ("" if self._token is not None or self.tls_cert is not None
                       else "; give a token of role worker (token= or RAFTORAL_TOKEN) or a client certificate"))
            if code == grpc.StatusCode.PERMISSION_DENIED:
                raise PermissionDenied(
                    f"the node at {self.target} does not let this worker's credentials run workflows "
                    f"(PERMISSION_DENIED): {details}; a worker needs a token or certificate of role worker")
            if was_registered:
                delay = self.reconnect_delay
            hint = ""
            if not was_registered and code == grpc.StatusCode.UNAVAILABLE:
                hint = (" (does the node's worker port speak TLS? give tls_ca= or RAFTORAL_TLS_CA)" if not self.uses_tls
                        else " (does the node's worker port speak TLS, with a certificate tls_ca trusts for this address?)")
            log.warning("stream to %s ended (%s: %s)%s; reconnecting in %.2f s", self.target,
                        code.name if code else "OK", details, hint, delay)
            self._stopping.wait(delay)
            delay = min(max(delay * 2, 0.01), self.max_reconnect_delay)

    def _refusal(self, code: grpc.StatusCode, details: str) -> str:
        if code == grpc.StatusCode.UNIMPLEMENTED:
            return (f"{self.target} does not serve the worker protocol ({details}); "
                    "give the node's --worker-listen address, not its client API")
        return details

    def _stream(self, stub: pb_grpc.WorkerServiceStub, connection: _Connection) -> tuple[grpc.StatusCode | None, str]:
        call = stub.Connect(connection.requests(), metadata=self._metadata())
        connection.call = call
        if connection.closed:  # stop() or the watchdog ran before the call existed
            call.cancel()
        try:
            for message in call:
                connection.last_received = time.monotonic()
                try:
                    self._handle(connection, message)
                except Exception:  # noqa: BLE001 - one bad message must not end the worker
                    log.exception("a message from the node could not be handled: %s", message)
                if connection.refused is not None:
                    call.cancel()
            return None, "the node ended the stream"
        except grpc.RpcError as e:
            return e.code(), e.details() or ""

    def _drop(self, connection: _Connection) -> None:
        """The stream ended: its runs are the node's to hand out again."""
        connection.closed = True
        connection.out.put(_Connection._CLOSE)
        self.registration = None
        self._registered_event.clear()
        reason = WORKER_STOPPING if self._stopping.is_set() else STREAM_LOST
        with connection.lock:
            runs = list(connection.runs.values())
            connection.runs.clear()
        for run in runs:
            run.cancel(RunCancelled(reason, "the stream to the node ended"))

    # ---- the node's messages ----

    def _handle(self, connection: _Connection, message: pb.NodeMessage) -> None:
        kind = message.WhichOneof("kind")
        if kind == "registered":
            self._on_registered(connection, message.registered)
        elif kind == "execute":
            self._on_execute(connection, message.execute)
        elif kind == "checkpoint_committed":
            m = message.checkpoint_committed
            self._answer(connection, m.run, m.key, m.seq, Answer(COMMITTED, value=m.value), kind)
        elif kind == "run_compute":
            m = message.run_compute
            self._answer(connection, m.run, m.key, m.seq, Answer(COMPUTE), kind)
        elif kind == "call_failed":
            m = message.call_failed
            self._answer(connection, m.run, m.key, m.seq, Answer(FAILED, failed=m), kind)
        elif kind == "cancel":
            self._on_cancel(connection, message.cancel)
        elif kind == "ack":
            log.debug("ack %d", message.ack.run)
        elif kind == "protocol_error":
            m = message.protocol_error
            (log.error if m.fatal else log.warning)("the node reports a protocol error (run %d): %s", m.run, m.message)
        else:
            log.warning("an unknown message from the node (a newer protocol?) is ignored")

    def _on_registered(self, connection: _Connection, registered: pb.Registered) -> None:
        if connection.registered is not None:
            log.warning("a second Registered is ignored")
            return
        if registered.protocol_version != PROTOCOL_VERSION:
            connection.refused = (f"the node answered protocol version {registered.protocol_version}; "
                                  f"this library speaks {PROTOCOL_VERSION}")
            return
        connection.registered = registered
        connection.slots = _Slots(registered.max_concurrent_runs or self.max_concurrent_runs or 256)
        self.registration = registered
        log.info("registered with node %d of cluster %s (protocol %d, %d runs at most)", registered.node_id,
                 registered.cluster_id, registered.protocol_version, registered.max_concurrent_runs)
        self._registered_event.set()
        if self.on_registered is not None:
            try:
                self.on_registered(registered)
            except Exception:  # noqa: BLE001 - the caller's hook must not break the stream
                log.exception("the on_registered hook raised")

    def _on_execute(self, connection: _Connection, execute: pb.Execute) -> None:
        spec = self._specs.get((execute.type, execute.version))
        if spec is None or connection.registered is None or connection.slots is None:
            log.error("Execute of run %d for %s v%d, which this worker did not register, is ignored",
                      execute.run, execute.type, execute.version)
            return
        registered = connection.registered
        run = Run(execute, connection.send, registered.max_calls_in_flight, registered.max_value_bytes)
        with connection.lock:
            if execute.run in connection.runs:
                log.error("a second Execute of run %d is ignored", execute.run)
                return
            connection.runs[execute.run] = run
        log.debug("run %d: %s (%s v%d), %d values of history", run.id, run.workflow_id, run.type, run.version,
                  len(execute.history))
        slots = connection.slots
        input_bytes = execute.input

        if spec.is_async:
            def begin() -> None:
                loop = self._event_loop()
                future = asyncio.run_coroutine_threadsafe(self._run_async(connection, spec, run, input_bytes), loop)
                future.add_done_callback(lambda _: slots.release())
        else:
            def begin() -> None:
                thread = threading.Thread(target=self._run_sync, args=(connection, spec, run, input_bytes, slots),
                                          name=f"raftoral-run-{run.id}", daemon=True)
                with self._lock:
                    self._threads.add(thread)
                thread.start()

        slots.start(begin)

    def _answer(self, connection: _Connection, run_id: int, key: str, seq: int, answer: Answer, kind: str) -> None:
        with connection.lock:
            run = connection.runs.get(run_id)
        if run is None or not run.answer(key, seq, answer):
            log.debug("%s for run %d %s#%d that no call waits for is ignored", kind, run_id, key, seq)

    def _on_cancel(self, connection: _Connection, cancel: pb.Cancel) -> None:
        with connection.lock:
            run = connection.runs.pop(cancel.run, None)
        if run is None:
            log.debug("cancel of unknown run %d ignored", cancel.run)
            return
        reason = pb.Cancel.Reason.Name(cancel.reason) if cancel.reason in pb.Cancel.Reason.values() else str(cancel.reason)
        log.info("run %d (%s) cancelled: %s %s", run.id, run.workflow_id, reason, cancel.message)
        run.cancel(RunCancelled(reason, cancel.message))

    # ---- running functions ----

    def _run_sync(self, connection: _Connection, spec: WorkflowSpec, run: Run, input_bytes: bytes, slots: _Slots) -> None:
        try:
            if run.cancelled is not None:
                return  # cancelled while it waited for a slot
            ctx = WorkflowContext(run, self.codec)
            try:
                result = spec.fn(ctx, self._decode_input(input_bytes))
                outcome = self._result(run, result)
            except RunCancelled:
                return
            except BaseException as e:  # noqa: BLE001 - an exception makes the workflow FAILED
                if run.cancelled is not None:
                    return  # unwinding after a cancel: nothing is sent
                outcome = pb.WorkflowResult(run=run.id, error=failure_of(e))
            self._finish(connection, run, outcome)
        finally:
            slots.release()
            with self._lock:
                self._threads.discard(threading.current_thread())

    async def _run_async(self, connection: _Connection, spec: WorkflowSpec, run: Run, input_bytes: bytes) -> None:
        if run.cancelled is not None:
            return  # cancelled while it waited for a slot
        ctx = AsyncWorkflowContext(run, self.codec)
        try:
            result = await spec.fn(ctx, self._decode_input(input_bytes))
            outcome = self._result(run, result)
        except RunCancelled:
            return
        except BaseException as e:  # noqa: BLE001
            if run.cancelled is not None:
                return
            outcome = pb.WorkflowResult(run=run.id, error=failure_of(e))
        self._finish(connection, run, outcome)

    def _decode_input(self, data: bytes) -> Any:
        try:
            return self.codec.decode(data)
        except (TypeError, ValueError) as e:
            raise CodecError(f"the workflow input cannot be decoded: {e}") from e

    def _result(self, run: Run, result: Any) -> pb.WorkflowResult:
        try:
            data = self.codec.encode(result)
        except (TypeError, ValueError) as e:
            raise CodecError(f"the workflow's result cannot be encoded: {e}") from e
        run.check_value(data, "the workflow's result")
        return pb.WorkflowResult(run=run.id, result=data)

    def _finish(self, connection: _Connection, run: Run, outcome: pb.WorkflowResult) -> None:
        if run.finish(outcome):
            with connection.lock:
                connection.runs.pop(run.id, None)

    def _event_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name="raftoral-worker-asyncio", daemon=True)
                thread.start()
                self._loop, self._loop_thread = loop, thread
            return self._loop

    def _shutdown(self) -> None:
        """After the last stream: wait (up to stop_grace) for functions still unwinding."""
        deadline = time.monotonic() + self.stop_grace
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                log.warning("%s is still running after the stop grace of %.1f s", thread.name, self.stop_grace)
        with self._lock:
            loop, loop_thread = self._loop, self._loop_thread
            self._loop = self._loop_thread = None
        if loop is not None and loop_thread is not None:
            async def drain() -> None:
                tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
                if tasks:
                    await asyncio.wait(tasks, timeout=max(0.0, deadline - time.monotonic()))

            try:
                asyncio.run_coroutine_threadsafe(drain(), loop).result(max(0.0, deadline - time.monotonic()) + 1)
            except Exception:  # noqa: BLE001 - a timeout: left to the daemon thread
                log.warning("async workflow functions still running after the stop grace")
            loop.call_soon_threadsafe(loop.stop)
            loop_thread.join(1)
            if not loop_thread.is_alive():
                loop.close()
