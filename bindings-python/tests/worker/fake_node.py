"""A fake node for the worker library's unit tests: an in-process gRPC server implementing
WorkerService whose side of each stream the test scripts message by message."""

from __future__ import annotations

import queue
import threading
from concurrent import futures
from typing import Any, Iterator

import grpc

from raftoral.worker._pb import client_api_pb2 as capi
from raftoral.worker._pb import worker_pb2 as pb
from raftoral.worker._pb import worker_pb2_grpc as pb_grpc

__all__ = ["FakeNode", "FakeStream", "pb", "capi"]

_END = object()


class FakeStream:
    """The node's half of one worker stream."""

    def __init__(self) -> None:
        self.inbound: queue.Queue[pb.WorkerMessage] = queue.Queue()
        self.outbound: queue.Queue[Any] = queue.Queue()
        self.auto_ack_heartbeats = True
        self.heartbeats = 0
        self.worker_closed = threading.Event()  # the worker's side of the stream ended
        self.finished = threading.Event()  # the RPC is over

    def send(self, **kind: Any) -> None:
        self.outbound.put(pb.NodeMessage(**kind))

    def end(self, code: grpc.StatusCode | None = None, details: str = "") -> None:
        self.outbound.put((_END, code, details))

    def recv(self, timeout: float = 10) -> pb.WorkerMessage:
        """The worker's next message other than a heartbeat."""
        try:
            return self.inbound.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"the worker sent nothing within {timeout} s") from None

    def expect(self, kind: str, timeout: float = 10) -> Any:
        message = self.recv(timeout)
        assert message.WhichOneof("kind") == kind, f"expected {kind}, got {message}"
        return getattr(message, kind)

    def pending(self) -> list[pb.WorkerMessage]:
        """Whatever the worker sent and the test has not read (heartbeats aside)."""
        out = []
        while True:
            try:
                out.append(self.inbound.get_nowait())
            except queue.Empty:
                return out

    def register(self, **overrides: Any) -> pb.Register:
        """Reads the Register and answers Registered (short heartbeat deadlines by default)."""
        register = self.expect("register")
        fields: dict[str, Any] = dict(protocol_version=1, node_id=7, cluster_id="fake", heartbeat_interval_ms=100,
                                      heartbeat_timeout_ms=5000, max_concurrent_runs=register.max_concurrent_runs or 256,
                                      max_calls_in_flight=16, max_value_bytes=4 << 20, max_queued_messages=1024)
        fields.update(overrides)
        self.send(registered=pb.Registered(**fields))
        return register

    def execute(self, run: int, type: str, input: bytes = b"null", version: int = 1, workflow_id: str | None = None,
                history: list[tuple[str, int, bytes]] = (), is_owner: bool = True) -> None:  # type: ignore[assignment]
        self.send(execute=pb.Execute(
            run=run, workflow_id=workflow_id or f"wf-{run}", type=type, version=version, input=input, is_owner=is_owner,
            history=[pb.CheckpointValue(key=k, seq=s, value=v) for k, s, v in history], mode=pb.HOT_STANDBY))

    def commit(self, proposal: pb.CheckpointProposal, value: bytes | None = None) -> None:
        self.send(checkpoint_committed=pb.CheckpointCommitted(
            run=proposal.run, key=proposal.key, seq=proposal.seq, value=proposal.value if value is None else value))


class _Servicer(pb_grpc.WorkerServiceServicer):
    def __init__(self, node: FakeNode) -> None:
        self.node = node

    def Connect(self, request_iterator: Iterator[pb.WorkerMessage], context: grpc.ServicerContext) -> Iterator[pb.NodeMessage]:
        stream = FakeStream()
        self.node.streams.put(stream)
        self.node.all_streams.append(stream)

        def read() -> None:
            try:
                for message in request_iterator:
                    if message.WhichOneof("kind") == "heartbeat":
                        stream.heartbeats += 1
                        if stream.auto_ack_heartbeats:
                            stream.send(ack=pb.Ack(run=0))
                        continue
                    stream.inbound.put(message)
            except Exception:  # noqa: BLE001 - the RPC ended
                pass
            finally:
                stream.worker_closed.set()

        threading.Thread(target=read, daemon=True).start()
        try:
            while context.is_active():
                try:
                    item = stream.outbound.get(timeout=0.05)
                except queue.Empty:
                    continue
                if isinstance(item, tuple) and item[0] is _END:
                    if item[1] is not None:
                        context.abort(item[1], item[2])
                    return
                yield item
        finally:
            stream.finished.set()


class FakeNode:
    def __init__(self) -> None:
        self.streams: queue.Queue[FakeStream] = queue.Queue()
        self.all_streams: list[FakeStream] = []
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=32))
        pb_grpc.add_WorkerServiceServicer_to_server(_Servicer(self), self.server)
        self.port = self.server.add_insecure_port("127.0.0.1:0")
        self.target = f"127.0.0.1:{self.port}"
        self.server.start()

    def next_stream(self, timeout: float = 10) -> FakeStream:
        try:
            return self.streams.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no worker connected within {timeout} s") from None

    def close(self) -> None:
        for stream in self.all_streams:
            stream.end()
        self.server.stop(0).wait()
