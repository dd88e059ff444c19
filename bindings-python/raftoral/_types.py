"""Plain value types of the API: statuses, execution modes, workflow info, list pages and history entries."""

from __future__ import annotations

import base64
import enum
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Iterator, Mapping

from . import _native

__all__ = ["ExecutionMode", "WorkflowStatus", "WorkflowInfo", "WorkflowPage", "HistoryEntry", "HistoryPage"]


class ExecutionMode(enum.IntEnum):
    """How the members of an execution group run a workflow type (SPEC §3)."""

    #: Every member runs the function; only the owner proposes. Failover continues at once.
    HOT_STANDBY = _native.MODE_HOT_STANDBY
    #: Only the owner runs the function; a new owner replays it from committed checkpoints.
    OWNER_ONLY = _native.MODE_OWNER_ONLY


class WorkflowStatus(str, enum.Enum):
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    TERMINATED = "TERMINATED"

    def __str__(self) -> str:
        return self.value


def _instant(value: Any) -> datetime | None:
    """An instant of the engine's JSON (ISO-8601 text or epoch milliseconds) as an aware datetime."""
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value / 1000, tz=timezone.utc)
    text = str(value)
    if text.endswith("Z"):  # fromisoformat accepts "Z" only from Python 3.11 on
        text = text[:-1] + "+00:00"
    # Python < 3.11 reads at most 6 fractional digits; the JVM may print 9.
    head, dot, rest = text.partition(".")
    if dot:
        digits = len(rest) - len(rest.lstrip("0123456789"))
        text = head + "." + rest[: min(digits, 6)] + rest[digits:]
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


@dataclass(frozen=True)
class WorkflowInfo:
    """What :meth:`Node.describe` tells about one workflow (SPEC §5)."""

    workflow_id: str
    type: str
    version: int
    status: WorkflowStatus
    owner_node: int | None
    execution_group: str | None
    started_at: datetime | None
    ended_at: datetime | None
    checkpoint_count: int
    #: For FAILED: the type and message of the error the workflow raised; for TERMINATED the
    #: engine may put the reason in ``error_message``.
    error_type: str | None
    error_message: str | None
    #: The engine's JSON object as received, for fields this version does not know.
    raw: Mapping[str, Any] = field(repr=False, compare=False, default_factory=dict)

    @property
    def duration(self) -> timedelta | None:
        if self.started_at is None or self.ended_at is None:
            return None
        return self.ended_at - self.started_at

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> WorkflowInfo:
        owner = obj.get("ownerNode")
        group = obj.get("executionGroup")
        return cls(
            workflow_id=str(obj["workflowId"]),
            type=str(obj.get("type", "")),
            version=int(obj.get("version", 0)),
            status=WorkflowStatus(obj["status"]),
            owner_node=int(owner) if owner not in (None, "", 0) else None,
            execution_group=str(group) if group is not None else None,
            started_at=_instant(obj.get("startedAt")),
            ended_at=_instant(obj.get("endedAt")),
            checkpoint_count=int(obj.get("checkpointCount") or 0),
            error_type=obj.get("errorType") or None,
            error_message=obj.get("errorMessage") or None,
            raw=dict(obj),
        )


@dataclass(frozen=True)
class WorkflowPage:
    """One page of :meth:`Node.list_workflows`; pass ``next_page_token`` to get the next one."""

    workflows: list[WorkflowInfo]
    next_page_token: str | None

    def __iter__(self) -> Iterator[WorkflowInfo]:
        return iter(self.workflows)

    def __len__(self) -> int:
        return len(self.workflows)


@dataclass(frozen=True)
class HistoryEntry:
    """One committed checkpoint of a workflow's history (:meth:`Node.history`)."""

    key: str
    #: The 0-based position of the value among the values of its key.
    seq: int
    #: The value decoded from JSON when its bytes are one JSON value (as :class:`JsonCodec`
    #: writes them), else the bytes themselves.
    value: Any
    #: The owner's clock when it proposed the value (UTC); None when the store does not know it
    #: (a value committed by a version that did not record it).
    committed_at: datetime | None
    #: The node that owned the workflow and proposed the value, and the Raft term of that
    #: ownership; 0 when unknown.
    owner_node: int
    owner_term: int
    #: The engine's JSON object as received, for fields this version does not know.
    raw: Mapping[str, Any] = field(repr=False, compare=False, default_factory=dict)

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> HistoryEntry:
        encoded = obj.get("valueBase64")
        millis = int(obj.get("committedAtMillis") or 0)
        return cls(
            key=str(obj["key"]),
            seq=int(obj["seq"]),
            value=base64.b64decode(encoded) if encoded is not None else obj.get("value"),
            committed_at=datetime.fromtimestamp(millis / 1000, tz=timezone.utc) if millis else None,
            owner_node=int(obj.get("ownerNode") or 0),
            owner_term=int(obj.get("ownerTerm") or 0),
            raw=dict(obj),
        )


@dataclass(frozen=True)
class HistoryPage:
    """One page of :meth:`Node.history_page`; pass ``next_page_token`` to get the next one."""

    entries: list[HistoryEntry]
    next_page_token: str | None

    def __iter__(self) -> Iterator[HistoryEntry]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)
