"""A workflow's checkpoint history through the C ABI on a real node: values, order, paging, errors."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any, Iterator

import pytest

import raftoral
from cluster import free_ports

RAW = b"\xff\x00not json"


class MixedCodec:
    """JSON, except that bytes pass through raw: so a history holds values that are not JSON."""

    def encode(self, value: Any) -> bytes:
        if isinstance(value, bytes):
            return value
        return json.dumps(value, separators=(",", ":"), sort_keys=True).encode("utf-8")

    def decode(self, data: bytes) -> Any:
        try:
            return json.loads(data)
        except ValueError:
            return data


def several_keys(ctx: raftoral.WorkflowContext, _: Any) -> str:
    ctx.checkpoint("a", 1)
    ctx.checkpoint("b", "x")
    ctx.checkpoint("a", 2)
    ctx.checkpoint("c", {"n": [1, 2]})
    ctx.checkpoint("raw", RAW)
    ctx.checkpoint("a", 3)
    return "done"


def many(ctx: raftoral.WorkflowContext, count: int) -> int:
    for i in range(count):
        ctx.checkpoint("k", i)
    return count


@pytest.fixture(scope="module")
def node() -> Iterator[raftoral.Node]:
    (port,) = free_ports(1)
    created = raftoral.Node(
        node_id=1, members={1: f"127.0.0.1:{port}"}, election_timeout=timedelta(seconds=1), codec=MixedCodec()
    )
    created.register_workflow("several-keys", 1, several_keys)
    created.register_workflow("many", 1, many)
    with created:
        yield created


def run(node: raftoral.Node, type: str, input: Any) -> str:
    handle = node.start_workflow(type, 1, input, workflow_id=f"{type}-{uuid.uuid4().hex[:8]}")
    handle.result(timeout=60)
    return handle.workflow_id


def test_history_of_one_key_and_of_every_key(node: raftoral.Node) -> None:
    before = datetime.now(timezone.utc) - timedelta(seconds=5)
    workflow_id = run(node, "several-keys", None)
    after = datetime.now(timezone.utc) + timedelta(seconds=5)

    a = list(node.history(workflow_id, key="a"))
    assert [(e.key, e.seq, e.value) for e in a] == [("a", 0, 1), ("a", 1, 2), ("a", 2, 3)]

    every = list(node.history(workflow_id))
    assert [(e.key, e.seq, e.value) for e in every] == [
        ("a", 0, 1),
        ("b", 0, "x"),
        ("a", 1, 2),
        ("c", 0, {"n": [1, 2]}),
        ("raw", 0, RAW),
        ("a", 2, 3),
    ]
    for e in every:
        assert e.committed_at is not None and before <= e.committed_at <= after
        assert e.committed_at.tzinfo == timezone.utc
        assert e.owner_node == node.node_id
        assert e.owner_term >= 1
    times = [e.committed_at for e in every]
    assert times == sorted(times)  # one owner, one clock
    assert isinstance(every[4].value, bytes) and every[4].raw["valueBase64"]
    assert list(node.history(workflow_id, key="never-written")) == []


def test_history_reads_pages_lazily(node: raftoral.Node, monkeypatch: pytest.MonkeyPatch) -> None:
    workflow_id = run(node, "many", 25)
    calls: list[str | None] = []
    real = node.history_page

    def counting(*args: Any, **kwargs: Any) -> raftoral.HistoryPage:
        calls.append(kwargs.get("page_token"))
        return real(*args, **kwargs)

    monkeypatch.setattr(node, "history_page", counting)
    entries = node.history(workflow_id, key="k", page_size=10)
    assert len(calls) == 1  # the first page is read by the call itself
    first_ten = [next(entries) for _ in range(10)]
    assert len(calls) == 1
    rest = list(entries)
    assert len(calls) == 3 and calls[0] is None and None not in calls[1:]
    assert [e.value for e in first_ten + rest] == list(range(25))
    assert [e.seq for e in first_ten + rest] == list(range(25))
    # Every key, three pages as well, the same values once each.
    assert [e.value for e in node.history(workflow_id, page_size=10)] == list(range(25))


def test_history_page_by_page(node: raftoral.Node) -> None:
    workflow_id = run(node, "many", 5)
    page = node.history_page(workflow_id, key="k", limit=2)
    assert [e.seq for e in page] == [0, 1] and page.next_page_token is not None
    page = node.history_page(workflow_id, key="k", limit=2, page_token=page.next_page_token)
    assert [e.seq for e in page] == [2, 3]
    token = page.next_page_token
    page = node.history_page(workflow_id, key="k", limit=2, page_token=token)
    assert [e.seq for e in page] == [4] and page.next_page_token is None
    # A token belongs to the query that returned it.
    with pytest.raises(raftoral.InvalidArgument, match="another key|every key"):
        node.history_page(workflow_id, limit=2, page_token=token)
    with pytest.raises(raftoral.InvalidArgument, match="malformed page token"):
        node.history_page(workflow_id, key="k", page_token="not a token")


def test_history_of_unknown_workflow_and_bad_arguments(node: raftoral.Node) -> None:
    with pytest.raises(raftoral.NotFound, match="no-such-workflow"):
        node.history("no-such-workflow")  # raised by the call, not by the first next()
    workflow_id = run(node, "many", 1)
    for size in (0, -1, 1001):
        with pytest.raises(raftoral.InvalidArgument, match="page_size"):
            node.history(workflow_id, page_size=size)
    with pytest.raises(raftoral.InvalidArgument, match="limit"):
        node.history_page(workflow_id, limit=2**32)
    with pytest.raises(TypeError):
        node.history(workflow_id, page_size="10")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        node.history(workflow_id, page_size=True)  # type: ignore[arg-type]
    with pytest.raises(raftoral.InvalidArgument, match="key must not be empty"):
        node.history(workflow_id, key="")
    with pytest.raises(TypeError):
        node.history(workflow_id, key=5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        node.history(None)  # type: ignore[arg-type]
    with pytest.raises(raftoral.InvalidArgument, match="NUL"):
        node.history(workflow_id, key="a\x00b")
    with pytest.raises(raftoral.InvalidArgument):
        node.history("")
    # The node goes on answering.
    assert [e.value for e in node.history(workflow_id)] == [0]


def test_text_with_a_lone_surrogate_is_invalid_argument(node: raftoral.Node) -> None:
    # Python str can hold an unpaired surrogate, UTF-8 cannot: every call taking text refuses it
    # with the binding's typed error (not UnicodeEncodeError), and the node goes on answering.
    workflow_id = run(node, "many", 1)
    for call in (
        lambda: node.history(workflow_id, key="k\ud800"),
        lambda: node.history_page(workflow_id, page_token="\udc00"),
        lambda: node.history("wf\ud800"),
        lambda: node.describe("wf\udfff"),
        lambda: node.start_workflow("many\ud800", 1, 1),
        lambda: node.start_workflow("many", 1, 1, workflow_id="w\ud800"),
        lambda: node.terminate(workflow_id, reason="r\ud800"),
    ):
        with pytest.raises(raftoral.InvalidArgument, match="surrogate"):
            call()
    assert [e.value for e in node.history(workflow_id)] == [0]
