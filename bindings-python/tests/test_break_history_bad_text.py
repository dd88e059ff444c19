"""Review of issue 21 (fails): node.history with text Python can hold but UTF-8 cannot (a lone
surrogate) raises UnicodeEncodeError from the binding instead of InvalidArgument, the typed
error the binding documents for values it refuses ("InvalidArgument (or TypeError) at the call").
The node keeps answering afterwards."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any, Iterator

import pytest

import raftoral
from cluster import free_ports


def one(ctx: raftoral.WorkflowContext, _: Any) -> int:
    return ctx.checkpoint("k", 1)


@pytest.fixture(scope="module")
def node() -> Iterator[raftoral.Node]:
    (port,) = free_ports(1)
    created = raftoral.Node(node_id=1, members={1: f"127.0.0.1:{port}"}, election_timeout=timedelta(seconds=1))
    created.register_workflow("one", 1, one)
    with created:
        yield created


def test_a_key_or_token_with_a_lone_surrogate_is_invalid_argument(node: raftoral.Node) -> None:
    handle = node.start_workflow("one", 1, None, workflow_id=f"one-{uuid.uuid4().hex[:8]}")
    handle.result(timeout=60)
    workflow_id = handle.workflow_id
    for call in (
        lambda: node.history(workflow_id, key="k\ud800"),
        lambda: node.history_page(workflow_id, page_token="\udc00"),
        lambda: node.history("wf\ud800"),
    ):
        with pytest.raises(raftoral.InvalidArgument):
            call()
    assert [e.value for e in node.history(workflow_id)] == [1]
