"""Three Python processes, each embedding one node, run Python workflows together (SPEC §3-§4)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Iterator

import pytest

from cluster import Cluster, wait_until

HOT_STANDBY, OWNER_ONLY = 1, 2  # versions of the "steps" workflow in node_process.py


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    started = Cluster(tmp_path)
    try:
        yield started
    finally:
        started.stop()


def test_workflows_complete_and_each_committed_step_runs_once(cluster: Cluster) -> None:
    # Workflows started on every node, of both execution modes, awaited on another node.
    started = []
    for i, version in enumerate([HOT_STANDBY, OWNER_ONLY, HOT_STANDBY, OWNER_ONLY, HOT_STANDBY, OWNER_ONLY]):
        node = cluster.nodes[i % 3 + 1]
        answer = node.call(op="start", type="steps", version=version, input={"n": 5 + i})
        assert answer["ok"], answer
        started.append((answer["workflow_id"], 5 + i))

    for i, (workflow_id, n) in enumerate(started):
        answer = cluster.nodes[(i + 1) % 3 + 1].call(op="result", workflow_id=workflow_id, timeout=60, deadline=90)
        assert answer["ok"], answer
        assert answer["result"]["total"] == sum(k * k for k in range(n))

    counts = cluster.effect_counts()
    for workflow_id, n in started:
        assert [counts[(workflow_id, step)] for step in range(n)] == [1] * n
        described = cluster.nodes[1].call(op="describe", workflow_id=workflow_id)
        assert described["status"] == "COMPLETED"
        assert described["checkpoint_count"] == n
    assert sum(counts.values()) == sum(n for _, n in started)


@pytest.mark.parametrize("version", [HOT_STANDBY, OWNER_ONLY], ids=["hot_standby", "owner_only"])
def test_sigkill_of_the_owner_mid_workflow(cluster: Cluster, version: int) -> None:
    workflow_id = f"kill-{uuid.uuid4()}"
    answer = cluster.nodes[1].call(
        op="start", type="steps", version=version, input={"n": 6, "gate_after": 2}, workflow_id=workflow_id
    )
    assert answer == {"ok": True, "workflow_id": workflow_id}

    # Steps 0-2 are committed and the owner waits at the gate.
    def committed_three() -> dict[str, object] | None:
        described = cluster.nodes[1].call(op="describe", workflow_id=workflow_id)
        return described if described.get("checkpoint_count") == 3 else None

    described = wait_until(committed_three, 60, "three committed steps")
    owner = described["owner_node"]
    assert owner in cluster.nodes
    # Each committed step ran once. Not necessarily on today's owner: the group's leadership (and
    # with it the ownership) may have moved to its preferred leader since, through a hand-off.
    ran_before = cluster.effect_nodes(workflow_id)
    assert sorted(ran_before) == [0, 1, 2]
    assert all(len(nodes) == 1 for nodes in ran_before.values()), ran_before

    cluster.nodes[owner].kill()
    cluster.open_gate(workflow_id)

    survivor = next(node for node_id, node in cluster.nodes.items() if node_id != owner)
    answer = survivor.call(op="result", workflow_id=workflow_id, timeout=90, deadline=120)
    assert answer["ok"], answer
    assert answer["result"]["total"] == sum(k * k for k in range(6))
    assert answer["result"]["finished_on"] != owner

    counts = cluster.effect_counts()
    # Nothing committed before the kill ran again; the rest ran once, on the new owner.
    assert [counts[(workflow_id, step)] for step in range(6)] == [1] * 6
    ran = cluster.effect_nodes(workflow_id)
    new_owners = set().union(*(ran[step] for step in range(3, 6)))
    assert len(new_owners) == 1 and owner not in new_owners
    described = survivor.call(op="describe", workflow_id=workflow_id)
    assert described["status"] == "COMPLETED"
    assert described["owner_node"] in new_owners
