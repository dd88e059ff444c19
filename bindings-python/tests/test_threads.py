"""One workflow context used from several threads at once (raftoral.h: any thread may call)."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any, Iterator

import pytest

import raftoral
from cluster import free_ports

THREADS = 8
WRITES = 300


def many_threads(ctx: raftoral.WorkflowContext, _: Any) -> dict[str, Any]:
    """8 threads, each writing its own key 300 times and 300 keys of its own: 4,800 checkpoints."""
    failures: list[BaseException] = []
    mismatches: list[str] = []

    def writer(t: int) -> None:
        try:
            for i in range(WRITES):
                if ctx.checkpoint(f"own-{t}", f"{t}#{i}") != f"{t}#{i}":
                    mismatches.append(f"own-{t} #{i}")
                if ctx.checkpoint(f"unique-{t}-{i}", i) != i:
                    mismatches.append(f"unique-{t}-{i}")
        except BaseException as e:  # noqa: BLE001 - reported in the result
            failures.append(e)

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"failures": [repr(e) for e in failures], "mismatches": mismatches}


@pytest.fixture(scope="module")
def node() -> Iterator[raftoral.Node]:
    (port,) = free_ports(1)
    with raftoral.Node(node_id=1, members={1: f"127.0.0.1:{port}"}, election_timeout=timedelta(seconds=1)) as created:
        created.register_workflow("many-threads", 1, many_threads)
        yield created


def test_a_context_used_from_eight_threads_commits_every_write_once(node: raftoral.Node) -> None:
    handle = node.start_workflow("many-threads", 1, None)
    assert handle.result(timeout=120) == {"failures": [], "mismatches": []}
    info = handle.describe()
    assert info.status == raftoral.WorkflowStatus.COMPLETED
    assert info.checkpoint_count == THREADS * WRITES * 2
