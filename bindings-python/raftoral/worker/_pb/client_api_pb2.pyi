from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class WorkflowStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    WORKFLOW_STATUS_UNSPECIFIED: _ClassVar[WorkflowStatus]
    RUNNING: _ClassVar[WorkflowStatus]
    COMPLETED: _ClassVar[WorkflowStatus]
    FAILED: _ClassVar[WorkflowStatus]
    TERMINATED: _ClassVar[WorkflowStatus]

class ReplayDivergenceReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REPLAY_DIVERGENCE_REASON_UNSPECIFIED: _ClassVar[ReplayDivergenceReason]
    DIVERGENCE_KEY_ORDER: _ClassVar[ReplayDivergenceReason]
    DIVERGENCE_MISSING_STEP: _ClassVar[ReplayDivergenceReason]
    DIVERGENCE_UNDECODABLE_VALUE: _ClassVar[ReplayDivergenceReason]
    DIVERGENCE_RESULT_DIFFERS: _ClassVar[ReplayDivergenceReason]
    DIVERGENCE_UNUSED_STEPS: _ClassVar[ReplayDivergenceReason]
    DIVERGENCE_CODE_THREW: _ClassVar[ReplayDivergenceReason]

class ReplayNoteKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REPLAY_NOTE_KIND_UNSPECIFIED: _ClassVar[ReplayNoteKind]
    NOTE_ASSUMED_FAILED: _ClassVar[ReplayNoteKind]

class ManagementRole(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MANAGEMENT_ROLE_UNSPECIFIED: _ClassVar[ManagementRole]
    VOTER: _ClassVar[ManagementRole]
    LISTENER: _ClassVar[ManagementRole]
    JOINING: _ClassVar[ManagementRole]

class NodeMembership(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    NODE_MEMBERSHIP_UNSPECIFIED: _ClassVar[NodeMembership]
    NODE_MEMBER: _ClassVar[NodeMembership]
    NODE_REMOVED: _ClassVar[NodeMembership]
    NODE_UNKNOWN: _ClassVar[NodeMembership]

class ErrorCode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ERROR_CODE_UNSPECIFIED: _ClassVar[ErrorCode]
    ERR_INVALID_ARGUMENT: _ClassVar[ErrorCode]
    ERR_INVALID_HANDLE: _ClassVar[ErrorCode]
    ERR_NOT_INITIALIZED: _ClassVar[ErrorCode]
    ERR_SHUT_DOWN: _ClassVar[ErrorCode]
    ERR_BUFFER_TOO_SMALL: _ClassVar[ErrorCode]
    ERR_NOT_FOUND: _ClassVar[ErrorCode]
    ERR_ALREADY_EXISTS: _ClassVar[ErrorCode]
    ERR_NOT_REGISTERED: _ClassVar[ErrorCode]
    ERR_ALREADY_REGISTERED: _ClassVar[ErrorCode]
    ERR_TIMEOUT: _ClassVar[ErrorCode]
    ERR_WORKFLOW_FAILED: _ClassVar[ErrorCode]
    ERR_WORKFLOW_TERMINATED: _ClassVar[ErrorCode]
    ERR_PAYLOAD_TOO_LARGE: _ClassVar[ErrorCode]
    ERR_UNAVAILABLE: _ClassVar[ErrorCode]
    ERR_NODE_CLOSED: _ClassVar[ErrorCode]
    ERR_ABORTED: _ClassVar[ErrorCode]
    ERR_CALLBACK_FAILED: _ClassVar[ErrorCode]
    ERR_JVM: _ClassVar[ErrorCode]
    ERR_INTERNAL: _ClassVar[ErrorCode]
    ERR_FORKED: _ClassVar[ErrorCode]
    ERR_NODE_REMOVED: _ClassVar[ErrorCode]
    ERR_CODEC: _ClassVar[ErrorCode]
    ERR_UNAUTHENTICATED: _ClassVar[ErrorCode]
    ERR_PERMISSION_DENIED: _ClassVar[ErrorCode]
WORKFLOW_STATUS_UNSPECIFIED: WorkflowStatus
RUNNING: WorkflowStatus
COMPLETED: WorkflowStatus
FAILED: WorkflowStatus
TERMINATED: WorkflowStatus
REPLAY_DIVERGENCE_REASON_UNSPECIFIED: ReplayDivergenceReason
DIVERGENCE_KEY_ORDER: ReplayDivergenceReason
DIVERGENCE_MISSING_STEP: ReplayDivergenceReason
DIVERGENCE_UNDECODABLE_VALUE: ReplayDivergenceReason
DIVERGENCE_RESULT_DIFFERS: ReplayDivergenceReason
DIVERGENCE_UNUSED_STEPS: ReplayDivergenceReason
DIVERGENCE_CODE_THREW: ReplayDivergenceReason
REPLAY_NOTE_KIND_UNSPECIFIED: ReplayNoteKind
NOTE_ASSUMED_FAILED: ReplayNoteKind
MANAGEMENT_ROLE_UNSPECIFIED: ManagementRole
VOTER: ManagementRole
LISTENER: ManagementRole
JOINING: ManagementRole
NODE_MEMBERSHIP_UNSPECIFIED: NodeMembership
NODE_MEMBER: NodeMembership
NODE_REMOVED: NodeMembership
NODE_UNKNOWN: NodeMembership
ERROR_CODE_UNSPECIFIED: ErrorCode
ERR_INVALID_ARGUMENT: ErrorCode
ERR_INVALID_HANDLE: ErrorCode
ERR_NOT_INITIALIZED: ErrorCode
ERR_SHUT_DOWN: ErrorCode
ERR_BUFFER_TOO_SMALL: ErrorCode
ERR_NOT_FOUND: ErrorCode
ERR_ALREADY_EXISTS: ErrorCode
ERR_NOT_REGISTERED: ErrorCode
ERR_ALREADY_REGISTERED: ErrorCode
ERR_TIMEOUT: ErrorCode
ERR_WORKFLOW_FAILED: ErrorCode
ERR_WORKFLOW_TERMINATED: ErrorCode
ERR_PAYLOAD_TOO_LARGE: ErrorCode
ERR_UNAVAILABLE: ErrorCode
ERR_NODE_CLOSED: ErrorCode
ERR_ABORTED: ErrorCode
ERR_CALLBACK_FAILED: ErrorCode
ERR_JVM: ErrorCode
ERR_INTERNAL: ErrorCode
ERR_FORKED: ErrorCode
ERR_NODE_REMOVED: ErrorCode
ERR_CODEC: ErrorCode
ERR_UNAUTHENTICATED: ErrorCode
ERR_PERMISSION_DENIED: ErrorCode

class StartRequest(_message.Message):
    __slots__ = ("type", "version", "input", "workflow_id")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    type: str
    version: int
    input: bytes
    workflow_id: str
    def __init__(self, type: _Optional[str] = ..., version: _Optional[int] = ..., input: _Optional[bytes] = ..., workflow_id: _Optional[str] = ...) -> None: ...

class StartReply(_message.Message):
    __slots__ = ("workflow_id", "execution_group")
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_GROUP_FIELD_NUMBER: _ClassVar[int]
    workflow_id: str
    execution_group: str
    def __init__(self, workflow_id: _Optional[str] = ..., execution_group: _Optional[str] = ...) -> None: ...

class AwaitRequest(_message.Message):
    __slots__ = ("workflow_id", "timeout_millis")
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_MILLIS_FIELD_NUMBER: _ClassVar[int]
    workflow_id: str
    timeout_millis: int
    def __init__(self, workflow_id: _Optional[str] = ..., timeout_millis: _Optional[int] = ...) -> None: ...

class WorkflowOutcome(_message.Message):
    __slots__ = ("info", "result")
    INFO_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    info: WorkflowInfo
    result: bytes
    def __init__(self, info: _Optional[_Union[WorkflowInfo, _Mapping]] = ..., result: _Optional[bytes] = ...) -> None: ...

class DescribeRequest(_message.Message):
    __slots__ = ("workflow_id",)
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    workflow_id: str
    def __init__(self, workflow_id: _Optional[str] = ...) -> None: ...

class WorkflowInfo(_message.Message):
    __slots__ = ("workflow_id", "type", "version", "status", "owner_node", "execution_group", "started_at_millis", "ended_at_millis", "checkpoint_count", "error_type", "error_message")
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    OWNER_NODE_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_GROUP_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_MILLIS_FIELD_NUMBER: _ClassVar[int]
    ENDED_AT_MILLIS_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_COUNT_FIELD_NUMBER: _ClassVar[int]
    ERROR_TYPE_FIELD_NUMBER: _ClassVar[int]
    ERROR_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    workflow_id: str
    type: str
    version: int
    status: WorkflowStatus
    owner_node: int
    execution_group: str
    started_at_millis: int
    ended_at_millis: int
    checkpoint_count: int
    error_type: str
    error_message: str
    def __init__(self, workflow_id: _Optional[str] = ..., type: _Optional[str] = ..., version: _Optional[int] = ..., status: _Optional[_Union[WorkflowStatus, str]] = ..., owner_node: _Optional[int] = ..., execution_group: _Optional[str] = ..., started_at_millis: _Optional[int] = ..., ended_at_millis: _Optional[int] = ..., checkpoint_count: _Optional[int] = ..., error_type: _Optional[str] = ..., error_message: _Optional[str] = ...) -> None: ...

class ListRequest(_message.Message):
    __slots__ = ("statuses", "type", "version", "started_after_millis", "started_before_millis", "limit", "page_token")
    STATUSES_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    STARTED_AFTER_MILLIS_FIELD_NUMBER: _ClassVar[int]
    STARTED_BEFORE_MILLIS_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    statuses: _containers.RepeatedScalarFieldContainer[WorkflowStatus]
    type: str
    version: int
    started_after_millis: int
    started_before_millis: int
    limit: int
    page_token: str
    def __init__(self, statuses: _Optional[_Iterable[_Union[WorkflowStatus, str]]] = ..., type: _Optional[str] = ..., version: _Optional[int] = ..., started_after_millis: _Optional[int] = ..., started_before_millis: _Optional[int] = ..., limit: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListReply(_message.Message):
    __slots__ = ("workflows", "next_page_token")
    WORKFLOWS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    workflows: _containers.RepeatedCompositeFieldContainer[WorkflowInfo]
    next_page_token: str
    def __init__(self, workflows: _Optional[_Iterable[_Union[WorkflowInfo, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class HistoryRequest(_message.Message):
    __slots__ = ("workflow_id", "key", "limit", "page_token")
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    workflow_id: str
    key: str
    limit: int
    page_token: str
    def __init__(self, workflow_id: _Optional[str] = ..., key: _Optional[str] = ..., limit: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class HistoryEntry(_message.Message):
    __slots__ = ("key", "seq", "value", "committed_at_millis", "owner_node", "owner_term")
    KEY_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    COMMITTED_AT_MILLIS_FIELD_NUMBER: _ClassVar[int]
    OWNER_NODE_FIELD_NUMBER: _ClassVar[int]
    OWNER_TERM_FIELD_NUMBER: _ClassVar[int]
    key: str
    seq: int
    value: bytes
    committed_at_millis: int
    owner_node: int
    owner_term: int
    def __init__(self, key: _Optional[str] = ..., seq: _Optional[int] = ..., value: _Optional[bytes] = ..., committed_at_millis: _Optional[int] = ..., owner_node: _Optional[int] = ..., owner_term: _Optional[int] = ...) -> None: ...

class HistoryReply(_message.Message):
    __slots__ = ("entries", "next_page_token")
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[HistoryEntry]
    next_page_token: str
    def __init__(self, entries: _Optional[_Iterable[_Union[HistoryEntry, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ReplayRequest(_message.Message):
    __slots__ = ("workflow_id",)
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    workflow_id: str
    def __init__(self, workflow_id: _Optional[str] = ...) -> None: ...

class ReplayDivergence(_message.Message):
    __slots__ = ("step", "reason", "key", "seq", "expected", "got", "message")
    STEP_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_FIELD_NUMBER: _ClassVar[int]
    GOT_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    step: int
    reason: ReplayDivergenceReason
    key: str
    seq: int
    expected: str
    got: str
    message: str
    def __init__(self, step: _Optional[int] = ..., reason: _Optional[_Union[ReplayDivergenceReason, str]] = ..., key: _Optional[str] = ..., seq: _Optional[int] = ..., expected: _Optional[str] = ..., got: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class ReplayReply(_message.Message):
    __slots__ = ("workflow_id", "type", "version", "status", "steps_replayed", "recorded_steps", "end_of_history", "divergence", "notes")
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    STEPS_REPLAYED_FIELD_NUMBER: _ClassVar[int]
    RECORDED_STEPS_FIELD_NUMBER: _ClassVar[int]
    END_OF_HISTORY_FIELD_NUMBER: _ClassVar[int]
    DIVERGENCE_FIELD_NUMBER: _ClassVar[int]
    NOTES_FIELD_NUMBER: _ClassVar[int]
    workflow_id: str
    type: str
    version: int
    status: WorkflowStatus
    steps_replayed: int
    recorded_steps: int
    end_of_history: bool
    divergence: ReplayDivergence
    notes: _containers.RepeatedCompositeFieldContainer[ReplayNote]
    def __init__(self, workflow_id: _Optional[str] = ..., type: _Optional[str] = ..., version: _Optional[int] = ..., status: _Optional[_Union[WorkflowStatus, str]] = ..., steps_replayed: _Optional[int] = ..., recorded_steps: _Optional[int] = ..., end_of_history: _Optional[bool] = ..., divergence: _Optional[_Union[ReplayDivergence, _Mapping]] = ..., notes: _Optional[_Iterable[_Union[ReplayNote, _Mapping]]] = ...) -> None: ...

class ReplayNote(_message.Message):
    __slots__ = ("step", "kind", "key", "seq", "message")
    STEP_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    step: int
    kind: ReplayNoteKind
    key: str
    seq: int
    message: str
    def __init__(self, step: _Optional[int] = ..., kind: _Optional[_Union[ReplayNoteKind, str]] = ..., key: _Optional[str] = ..., seq: _Optional[int] = ..., message: _Optional[str] = ...) -> None: ...

class TerminateRequest(_message.Message):
    __slots__ = ("workflow_id", "reason")
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    workflow_id: str
    reason: str
    def __init__(self, workflow_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class ClusterInfoRequest(_message.Message):
    __slots__ = ("replica_digests", "group_status")
    REPLICA_DIGESTS_FIELD_NUMBER: _ClassVar[int]
    GROUP_STATUS_FIELD_NUMBER: _ClassVar[int]
    replica_digests: bool
    group_status: bool
    def __init__(self, replica_digests: _Optional[bool] = ..., group_status: _Optional[bool] = ...) -> None: ...

class NodeInfo(_message.Message):
    __slots__ = ("node_id", "raft_address", "api_address", "role")
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    RAFT_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    API_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    node_id: int
    raft_address: str
    api_address: str
    role: ManagementRole
    def __init__(self, node_id: _Optional[int] = ..., raft_address: _Optional[str] = ..., api_address: _Optional[str] = ..., role: _Optional[_Union[ManagementRole, str]] = ...) -> None: ...

class ExecutionGroupInfo(_message.Message):
    __slots__ = ("group_id", "index", "members", "leader_node", "raft_members", "open", "running_workflows", "member_lag", "merged_into", "merge_target", "preferred_leader", "commit_index")
    GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    MEMBERS_FIELD_NUMBER: _ClassVar[int]
    LEADER_NODE_FIELD_NUMBER: _ClassVar[int]
    RAFT_MEMBERS_FIELD_NUMBER: _ClassVar[int]
    OPEN_FIELD_NUMBER: _ClassVar[int]
    RUNNING_WORKFLOWS_FIELD_NUMBER: _ClassVar[int]
    MEMBER_LAG_FIELD_NUMBER: _ClassVar[int]
    MERGED_INTO_FIELD_NUMBER: _ClassVar[int]
    MERGE_TARGET_FIELD_NUMBER: _ClassVar[int]
    PREFERRED_LEADER_FIELD_NUMBER: _ClassVar[int]
    COMMIT_INDEX_FIELD_NUMBER: _ClassVar[int]
    group_id: str
    index: int
    members: _containers.RepeatedScalarFieldContainer[int]
    leader_node: int
    raft_members: _containers.RepeatedScalarFieldContainer[int]
    open: bool
    running_workflows: int
    member_lag: _containers.RepeatedCompositeFieldContainer[MemberLag]
    merged_into: str
    merge_target: str
    preferred_leader: int
    commit_index: int
    def __init__(self, group_id: _Optional[str] = ..., index: _Optional[int] = ..., members: _Optional[_Iterable[int]] = ..., leader_node: _Optional[int] = ..., raft_members: _Optional[_Iterable[int]] = ..., open: _Optional[bool] = ..., running_workflows: _Optional[int] = ..., member_lag: _Optional[_Iterable[_Union[MemberLag, _Mapping]]] = ..., merged_into: _Optional[str] = ..., merge_target: _Optional[str] = ..., preferred_leader: _Optional[int] = ..., commit_index: _Optional[int] = ...) -> None: ...

class MemberLag(_message.Message):
    __slots__ = ("node_id", "match_index", "lag_entries", "millis_since_contact")
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    MATCH_INDEX_FIELD_NUMBER: _ClassVar[int]
    LAG_ENTRIES_FIELD_NUMBER: _ClassVar[int]
    MILLIS_SINCE_CONTACT_FIELD_NUMBER: _ClassVar[int]
    node_id: int
    match_index: int
    lag_entries: int
    millis_since_contact: int
    def __init__(self, node_id: _Optional[int] = ..., match_index: _Optional[int] = ..., lag_entries: _Optional[int] = ..., millis_since_contact: _Optional[int] = ...) -> None: ...

class ClusterInfoReply(_message.Message):
    __slots__ = ("cluster_id", "node_id", "management_leader", "nodes", "execution_groups", "replicas", "removed_nodes")
    CLUSTER_ID_FIELD_NUMBER: _ClassVar[int]
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    MANAGEMENT_LEADER_FIELD_NUMBER: _ClassVar[int]
    NODES_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_GROUPS_FIELD_NUMBER: _ClassVar[int]
    REPLICAS_FIELD_NUMBER: _ClassVar[int]
    REMOVED_NODES_FIELD_NUMBER: _ClassVar[int]
    cluster_id: str
    node_id: int
    management_leader: int
    nodes: _containers.RepeatedCompositeFieldContainer[NodeInfo]
    execution_groups: _containers.RepeatedCompositeFieldContainer[ExecutionGroupInfo]
    replicas: _containers.RepeatedCompositeFieldContainer[ReplicaInfo]
    removed_nodes: _containers.RepeatedCompositeFieldContainer[RemovedNodeInfo]
    def __init__(self, cluster_id: _Optional[str] = ..., node_id: _Optional[int] = ..., management_leader: _Optional[int] = ..., nodes: _Optional[_Iterable[_Union[NodeInfo, _Mapping]]] = ..., execution_groups: _Optional[_Iterable[_Union[ExecutionGroupInfo, _Mapping]]] = ..., replicas: _Optional[_Iterable[_Union[ReplicaInfo, _Mapping]]] = ..., removed_nodes: _Optional[_Iterable[_Union[RemovedNodeInfo, _Mapping]]] = ...) -> None: ...

class RemovedNodeInfo(_message.Message):
    __slots__ = ("node_id", "raft_address", "api_address", "removed_at_millis", "reason")
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    RAFT_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    API_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    REMOVED_AT_MILLIS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    node_id: int
    raft_address: str
    api_address: str
    removed_at_millis: int
    reason: str
    def __init__(self, node_id: _Optional[int] = ..., raft_address: _Optional[str] = ..., api_address: _Optional[str] = ..., removed_at_millis: _Optional[int] = ..., reason: _Optional[str] = ...) -> None: ...

class ReplicaInfo(_message.Message):
    __slots__ = ("group_id", "applied_index", "workflows", "digest")
    GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    APPLIED_INDEX_FIELD_NUMBER: _ClassVar[int]
    WORKFLOWS_FIELD_NUMBER: _ClassVar[int]
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    group_id: str
    applied_index: int
    workflows: int
    digest: str
    def __init__(self, group_id: _Optional[str] = ..., applied_index: _Optional[int] = ..., workflows: _Optional[int] = ..., digest: _Optional[str] = ...) -> None: ...

class JoinRequest(_message.Message):
    __slots__ = ("cluster_id", "raft_address", "api_address", "node_id", "incarnation")
    CLUSTER_ID_FIELD_NUMBER: _ClassVar[int]
    RAFT_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    API_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    INCARNATION_FIELD_NUMBER: _ClassVar[int]
    cluster_id: str
    raft_address: str
    api_address: str
    node_id: int
    incarnation: str
    def __init__(self, cluster_id: _Optional[str] = ..., raft_address: _Optional[str] = ..., api_address: _Optional[str] = ..., node_id: _Optional[int] = ..., incarnation: _Optional[str] = ...) -> None: ...

class JoinReply(_message.Message):
    __slots__ = ("node_id", "cluster_id", "members")
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    CLUSTER_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBERS_FIELD_NUMBER: _ClassVar[int]
    node_id: int
    cluster_id: str
    members: _containers.RepeatedCompositeFieldContainer[NodeInfo]
    def __init__(self, node_id: _Optional[int] = ..., cluster_id: _Optional[str] = ..., members: _Optional[_Iterable[_Union[NodeInfo, _Mapping]]] = ...) -> None: ...

class NodeStatusRequest(_message.Message):
    __slots__ = ("cluster_id", "node_id", "incarnation")
    CLUSTER_ID_FIELD_NUMBER: _ClassVar[int]
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    INCARNATION_FIELD_NUMBER: _ClassVar[int]
    cluster_id: str
    node_id: int
    incarnation: str
    def __init__(self, cluster_id: _Optional[str] = ..., node_id: _Optional[int] = ..., incarnation: _Optional[str] = ...) -> None: ...

class NodeStatusReply(_message.Message):
    __slots__ = ("membership", "cluster_id", "answered_by", "removed_at_millis", "reason")
    MEMBERSHIP_FIELD_NUMBER: _ClassVar[int]
    CLUSTER_ID_FIELD_NUMBER: _ClassVar[int]
    ANSWERED_BY_FIELD_NUMBER: _ClassVar[int]
    REMOVED_AT_MILLIS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    membership: NodeMembership
    cluster_id: str
    answered_by: int
    removed_at_millis: int
    reason: str
    def __init__(self, membership: _Optional[_Union[NodeMembership, str]] = ..., cluster_id: _Optional[str] = ..., answered_by: _Optional[int] = ..., removed_at_millis: _Optional[int] = ..., reason: _Optional[str] = ...) -> None: ...

class LeaveRequest(_message.Message):
    __slots__ = ("cluster_id", "node_id", "incarnation", "reason")
    CLUSTER_ID_FIELD_NUMBER: _ClassVar[int]
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    INCARNATION_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    cluster_id: str
    node_id: int
    incarnation: str
    reason: str
    def __init__(self, cluster_id: _Optional[str] = ..., node_id: _Optional[int] = ..., incarnation: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class LeaveReply(_message.Message):
    __slots__ = ("left",)
    LEFT_FIELD_NUMBER: _ClassVar[int]
    left: bool
    def __init__(self, left: _Optional[bool] = ...) -> None: ...

class ErrorDetail(_message.Message):
    __slots__ = ("code", "workflow_id", "type", "version", "error_type", "error_message", "payload", "size_bytes", "limit_bytes")
    CODE_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    ERROR_TYPE_FIELD_NUMBER: _ClassVar[int]
    ERROR_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    LIMIT_BYTES_FIELD_NUMBER: _ClassVar[int]
    code: ErrorCode
    workflow_id: str
    type: str
    version: int
    error_type: str
    error_message: str
    payload: str
    size_bytes: int
    limit_bytes: int
    def __init__(self, code: _Optional[_Union[ErrorCode, str]] = ..., workflow_id: _Optional[str] = ..., type: _Optional[str] = ..., version: _Optional[int] = ..., error_type: _Optional[str] = ..., error_message: _Optional[str] = ..., payload: _Optional[str] = ..., size_bytes: _Optional[int] = ..., limit_bytes: _Optional[int] = ...) -> None: ...
