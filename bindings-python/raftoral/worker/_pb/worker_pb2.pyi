from . import client_api_pb2 as _client_api_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ExecutionMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EXECUTION_MODE_UNSPECIFIED: _ClassVar[ExecutionMode]
    HOT_STANDBY: _ClassVar[ExecutionMode]
    OWNER_ONLY: _ClassVar[ExecutionMode]
EXECUTION_MODE_UNSPECIFIED: ExecutionMode
HOT_STANDBY: ExecutionMode
OWNER_ONLY: ExecutionMode

class WorkerMessage(_message.Message):
    __slots__ = ("register", "checkpoint", "compute_result", "workflow_result", "heartbeat")
    REGISTER_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    COMPUTE_RESULT_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_RESULT_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_FIELD_NUMBER: _ClassVar[int]
    register: Register
    checkpoint: CheckpointProposal
    compute_result: ComputeResult
    workflow_result: WorkflowResult
    heartbeat: Heartbeat
    def __init__(self, register: _Optional[_Union[Register, _Mapping]] = ..., checkpoint: _Optional[_Union[CheckpointProposal, _Mapping]] = ..., compute_result: _Optional[_Union[ComputeResult, _Mapping]] = ..., workflow_result: _Optional[_Union[WorkflowResult, _Mapping]] = ..., heartbeat: _Optional[_Union[Heartbeat, _Mapping]] = ...) -> None: ...

class Register(_message.Message):
    __slots__ = ("worker_id", "protocol_versions", "types", "max_concurrent_runs", "library")
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    PROTOCOL_VERSIONS_FIELD_NUMBER: _ClassVar[int]
    TYPES_FIELD_NUMBER: _ClassVar[int]
    MAX_CONCURRENT_RUNS_FIELD_NUMBER: _ClassVar[int]
    LIBRARY_FIELD_NUMBER: _ClassVar[int]
    worker_id: str
    protocol_versions: _containers.RepeatedScalarFieldContainer[int]
    types: _containers.RepeatedCompositeFieldContainer[WorkflowTypeSpec]
    max_concurrent_runs: int
    library: str
    def __init__(self, worker_id: _Optional[str] = ..., protocol_versions: _Optional[_Iterable[int]] = ..., types: _Optional[_Iterable[_Union[WorkflowTypeSpec, _Mapping]]] = ..., max_concurrent_runs: _Optional[int] = ..., library: _Optional[str] = ...) -> None: ...

class WorkflowTypeSpec(_message.Message):
    __slots__ = ("name", "version", "mode", "keep_last_per_key")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    KEEP_LAST_PER_KEY_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: int
    mode: ExecutionMode
    keep_last_per_key: int
    def __init__(self, name: _Optional[str] = ..., version: _Optional[int] = ..., mode: _Optional[_Union[ExecutionMode, str]] = ..., keep_last_per_key: _Optional[int] = ...) -> None: ...

class CheckpointProposal(_message.Message):
    __slots__ = ("run", "key", "seq", "value", "compute")
    RUN_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    COMPUTE_FIELD_NUMBER: _ClassVar[int]
    run: int
    key: str
    seq: int
    value: bytes
    compute: bool
    def __init__(self, run: _Optional[int] = ..., key: _Optional[str] = ..., seq: _Optional[int] = ..., value: _Optional[bytes] = ..., compute: _Optional[bool] = ...) -> None: ...

class ComputeResult(_message.Message):
    __slots__ = ("run", "key", "seq", "value", "error")
    RUN_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    run: int
    key: str
    seq: int
    value: bytes
    error: Failure
    def __init__(self, run: _Optional[int] = ..., key: _Optional[str] = ..., seq: _Optional[int] = ..., value: _Optional[bytes] = ..., error: _Optional[_Union[Failure, _Mapping]] = ...) -> None: ...

class WorkflowResult(_message.Message):
    __slots__ = ("run", "result", "error")
    RUN_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    run: int
    result: bytes
    error: Failure
    def __init__(self, run: _Optional[int] = ..., result: _Optional[bytes] = ..., error: _Optional[_Union[Failure, _Mapping]] = ...) -> None: ...

class Failure(_message.Message):
    __slots__ = ("type", "message")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    type: str
    message: str
    def __init__(self, type: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class Heartbeat(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class NodeMessage(_message.Message):
    __slots__ = ("registered", "execute", "checkpoint_committed", "run_compute", "cancel", "ack", "call_failed", "protocol_error")
    REGISTERED_FIELD_NUMBER: _ClassVar[int]
    EXECUTE_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_COMMITTED_FIELD_NUMBER: _ClassVar[int]
    RUN_COMPUTE_FIELD_NUMBER: _ClassVar[int]
    CANCEL_FIELD_NUMBER: _ClassVar[int]
    ACK_FIELD_NUMBER: _ClassVar[int]
    CALL_FAILED_FIELD_NUMBER: _ClassVar[int]
    PROTOCOL_ERROR_FIELD_NUMBER: _ClassVar[int]
    registered: Registered
    execute: Execute
    checkpoint_committed: CheckpointCommitted
    run_compute: RunCompute
    cancel: Cancel
    ack: Ack
    call_failed: CallFailed
    protocol_error: ProtocolError
    def __init__(self, registered: _Optional[_Union[Registered, _Mapping]] = ..., execute: _Optional[_Union[Execute, _Mapping]] = ..., checkpoint_committed: _Optional[_Union[CheckpointCommitted, _Mapping]] = ..., run_compute: _Optional[_Union[RunCompute, _Mapping]] = ..., cancel: _Optional[_Union[Cancel, _Mapping]] = ..., ack: _Optional[_Union[Ack, _Mapping]] = ..., call_failed: _Optional[_Union[CallFailed, _Mapping]] = ..., protocol_error: _Optional[_Union[ProtocolError, _Mapping]] = ...) -> None: ...

class Registered(_message.Message):
    __slots__ = ("protocol_version", "node_id", "cluster_id", "heartbeat_interval_ms", "heartbeat_timeout_ms", "max_concurrent_runs", "max_calls_in_flight", "max_value_bytes", "max_queued_messages")
    PROTOCOL_VERSION_FIELD_NUMBER: _ClassVar[int]
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    CLUSTER_ID_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_INTERVAL_MS_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_TIMEOUT_MS_FIELD_NUMBER: _ClassVar[int]
    MAX_CONCURRENT_RUNS_FIELD_NUMBER: _ClassVar[int]
    MAX_CALLS_IN_FLIGHT_FIELD_NUMBER: _ClassVar[int]
    MAX_VALUE_BYTES_FIELD_NUMBER: _ClassVar[int]
    MAX_QUEUED_MESSAGES_FIELD_NUMBER: _ClassVar[int]
    protocol_version: int
    node_id: int
    cluster_id: str
    heartbeat_interval_ms: int
    heartbeat_timeout_ms: int
    max_concurrent_runs: int
    max_calls_in_flight: int
    max_value_bytes: int
    max_queued_messages: int
    def __init__(self, protocol_version: _Optional[int] = ..., node_id: _Optional[int] = ..., cluster_id: _Optional[str] = ..., heartbeat_interval_ms: _Optional[int] = ..., heartbeat_timeout_ms: _Optional[int] = ..., max_concurrent_runs: _Optional[int] = ..., max_calls_in_flight: _Optional[int] = ..., max_value_bytes: _Optional[int] = ..., max_queued_messages: _Optional[int] = ...) -> None: ...

class Execute(_message.Message):
    __slots__ = ("run", "workflow_id", "type", "version", "input", "is_owner", "history", "mode")
    RUN_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    IS_OWNER_FIELD_NUMBER: _ClassVar[int]
    HISTORY_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    run: int
    workflow_id: str
    type: str
    version: int
    input: bytes
    is_owner: bool
    history: _containers.RepeatedCompositeFieldContainer[CheckpointValue]
    mode: ExecutionMode
    def __init__(self, run: _Optional[int] = ..., workflow_id: _Optional[str] = ..., type: _Optional[str] = ..., version: _Optional[int] = ..., input: _Optional[bytes] = ..., is_owner: _Optional[bool] = ..., history: _Optional[_Iterable[_Union[CheckpointValue, _Mapping]]] = ..., mode: _Optional[_Union[ExecutionMode, str]] = ...) -> None: ...

class CheckpointValue(_message.Message):
    __slots__ = ("key", "seq", "value")
    KEY_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    key: str
    seq: int
    value: bytes
    def __init__(self, key: _Optional[str] = ..., seq: _Optional[int] = ..., value: _Optional[bytes] = ...) -> None: ...

class CheckpointCommitted(_message.Message):
    __slots__ = ("run", "key", "seq", "value")
    RUN_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    run: int
    key: str
    seq: int
    value: bytes
    def __init__(self, run: _Optional[int] = ..., key: _Optional[str] = ..., seq: _Optional[int] = ..., value: _Optional[bytes] = ...) -> None: ...

class RunCompute(_message.Message):
    __slots__ = ("run", "key", "seq")
    RUN_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    run: int
    key: str
    seq: int
    def __init__(self, run: _Optional[int] = ..., key: _Optional[str] = ..., seq: _Optional[int] = ...) -> None: ...

class Cancel(_message.Message):
    __slots__ = ("run", "reason", "message")
    class Reason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        REASON_UNSPECIFIED: _ClassVar[Cancel.Reason]
        TERMINATED: _ClassVar[Cancel.Reason]
        ENDED_ELSEWHERE: _ClassVar[Cancel.Reason]
        OWNERSHIP_LOST: _ClassVar[Cancel.Reason]
        NODE_STOPPING: _ClassVar[Cancel.Reason]
    REASON_UNSPECIFIED: Cancel.Reason
    TERMINATED: Cancel.Reason
    ENDED_ELSEWHERE: Cancel.Reason
    OWNERSHIP_LOST: Cancel.Reason
    NODE_STOPPING: Cancel.Reason
    RUN_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    run: int
    reason: Cancel.Reason
    message: str
    def __init__(self, run: _Optional[int] = ..., reason: _Optional[_Union[Cancel.Reason, str]] = ..., message: _Optional[str] = ...) -> None: ...

class Ack(_message.Message):
    __slots__ = ("run",)
    RUN_FIELD_NUMBER: _ClassVar[int]
    run: int
    def __init__(self, run: _Optional[int] = ...) -> None: ...

class CallFailed(_message.Message):
    __slots__ = ("run", "key", "seq", "code", "message", "failure")
    RUN_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    FAILURE_FIELD_NUMBER: _ClassVar[int]
    run: int
    key: str
    seq: int
    code: _client_api_pb2.ErrorCode
    message: str
    failure: Failure
    def __init__(self, run: _Optional[int] = ..., key: _Optional[str] = ..., seq: _Optional[int] = ..., code: _Optional[_Union[_client_api_pb2.ErrorCode, str]] = ..., message: _Optional[str] = ..., failure: _Optional[_Union[Failure, _Mapping]] = ...) -> None: ...

class ProtocolError(_message.Message):
    __slots__ = ("run", "message", "fatal")
    RUN_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    FATAL_FIELD_NUMBER: _ClassVar[int]
    run: int
    message: str
    fatal: bool
    def __init__(self, run: _Optional[int] = ..., message: _Optional[str] = ..., fatal: _Optional[bool] = ...) -> None: ...
