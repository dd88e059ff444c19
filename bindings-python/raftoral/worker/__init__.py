"""Workers: workflow functions in a Python process beside a node, over the gRPC worker protocol
(``worker-protocol/src/main/proto/worker.proto``), with no JVM in the process::

    from raftoral.worker import Worker

    worker = Worker("127.0.0.1:9001")          # the node's --worker-listen address

    @worker.workflow("order", 1)
    def order(ctx, order):
        reservation = ctx.checkpoint_compute("reserve", lambda: stock.reserve(order))
        return {"reservation": reservation}

    @worker.workflow("shipping", 1)
    async def shipping(ctx, order):            # async workflows await the context's calls
        label = await ctx.checkpoint_compute("label", lambda: carrier.label(order))
        return label

    worker.run()                               # until stop(), SIGINT or SIGTERM

Needs the ``worker`` extra (``pip install raftoral[worker]``: grpcio and protobuf).
"""

try:
    import grpc  # noqa: F401
    import google.protobuf  # noqa: F401
except ImportError as e:  # pragma: no cover - depends on the installation
    raise ImportError(f"raftoral.worker needs grpcio and protobuf: pip install 'raftoral[worker]' ({e})") from e

from .._errors import RunAborted
from .._types import ExecutionMode
from ._context import AsyncReplicatedVar, AsyncWorkflowContext, ReplicatedVar, WorkflowContext
from ._errors import STREAM_LOST, WORKER_STOPPING, RegistrationRefused, RunCancelled
from ._worker import PROTOCOL_VERSION, Worker, WorkflowSpec, check_target, workflow

__all__ = [
    "AsyncReplicatedVar",
    "AsyncWorkflowContext",
    "ExecutionMode",
    "PROTOCOL_VERSION",
    "RegistrationRefused",
    "ReplicatedVar",
    "RunAborted",
    "RunCancelled",
    "STREAM_LOST",
    "WORKER_STOPPING",
    "Worker",
    "WorkflowContext",
    "WorkflowSpec",
    "check_target",
    "workflow",
]
