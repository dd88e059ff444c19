"""Raftoral for Python: durable workflows replicated with Raft among your own processes.

Each process embeds one node of the cluster (``libraftoral.so``, which hosts the Java engine)::

    import raftoral

    with raftoral.Node(node_id=1, members={1: "127.0.0.1:7001"}) as node:

        @node.workflow("greet", version=1)
        def greet(ctx: raftoral.WorkflowContext, name: str) -> str:
            greeting = ctx.checkpoint_compute("greeting", lambda: f"Hello, {name}!")
            return greeting

        print(node.start_workflow("greet", 1, "Ada").result(timeout=30))
"""

from ._codec import BytesCodec, Codec, JsonCodec
from ._errors import (
    Aborted,
    AlreadyExists,
    AlreadyRegistered,
    BufferTooSmall,
    CallbackFailed,
    CodecError,
    InternalError,
    InvalidArgument,
    InvalidHandle,
    JvmError,
    NodeClosed,
    NotFound,
    NotInitialized,
    NotRegistered,
    PayloadTooLarge,
    PermissionDenied,
    ProcessForked,
    NodeRemoved,
    RaftoralError,
    RunAborted,
    ShutDown,
    Timeout,
    Unauthenticated,
    Unavailable,
    WorkflowFailed,
    WorkflowTerminated,
)
from ._native import ABI_VERSION, LibraryError
from ._node import Node, WorkflowHandle, init, shutdown
from ._types import ExecutionMode, HistoryEntry, HistoryPage, WorkflowInfo, WorkflowPage, WorkflowStatus
from ._workflow import ReplicatedVar, WorkflowContext, WorkflowFunction

LibraryError.__module__ = "raftoral"

__version__ = "0.1.0"

__all__ = [
    "ABI_VERSION",
    "Aborted",
    "AlreadyExists",
    "AlreadyRegistered",
    "BufferTooSmall",
    "BytesCodec",
    "CallbackFailed",
    "Codec",
    "CodecError",
    "ExecutionMode",
    "HistoryEntry",
    "HistoryPage",
    "InternalError",
    "InvalidArgument",
    "InvalidHandle",
    "JsonCodec",
    "JvmError",
    "LibraryError",
    "Node",
    "NodeClosed",
    "NotFound",
    "NotInitialized",
    "NotRegistered",
    "PayloadTooLarge",
    "PermissionDenied",
    "ProcessForked",
    "NodeRemoved",
    "RaftoralError",
    "ReplicatedVar",
    "RunAborted",
    "ShutDown",
    "Timeout",
    "Unauthenticated",
    "Unavailable",
    "WorkflowContext",
    "WorkflowFailed",
    "WorkflowFunction",
    "WorkflowHandle",
    "WorkflowInfo",
    "WorkflowPage",
    "WorkflowStatus",
    "WorkflowTerminated",
    "init",
    "shutdown",
]
