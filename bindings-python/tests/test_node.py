"""One in-process node: the Python surface over the C ABI, its errors and bad input (SPEC §2-§6, §11-§12)."""

from __future__ import annotations

import math
import threading
import time
import urllib.request
import uuid
from collections import Counter
from datetime import datetime, timedelta, timezone
from typing import Any, Iterator

import pytest

import raftoral
from cluster import free_ports, wait_until

# ---- workflows (module level, so that their type names are stable) ----

RUNS: Counter[str] = Counter()  # compute side effects per token
RELEASE: dict[str, threading.Event] = {}
SAW: dict[str, str] = {}  # what a blocked workflow saw, per token
ORIGINAL_RERAISED: dict[str, bool] = {}


class OrderError(Exception):
    pass


STASHED: list[raftoral.WorkflowContext] = []


def echo(ctx: raftoral.WorkflowContext, value: Any) -> Any:
    return value


def stash_context(ctx: raftoral.WorkflowContext, value: Any) -> str:
    STASHED.append(ctx)
    return ctx.workflow_id


def fail_with_value_error(ctx: raftoral.WorkflowContext, spec: Any) -> None:
    raise ValueError(f"bad input {spec}")


def fail_with_own_error(ctx: raftoral.WorkflowContext, spec: Any) -> None:
    raise OrderError("out of stock")


def compute_fails(ctx: raftoral.WorkflowContext, token: str) -> None:
    created: list[OrderError] = []

    def charge() -> None:
        created.append(OrderError(f"card declined for {token}"))
        raise created[0]

    try:
        ctx.checkpoint_compute("charge", charge)
    except OrderError as e:
        ORIGINAL_RERAISED[token] = e is created[0]
        raise


def checkpoints(ctx: raftoral.WorkflowContext, spec: dict[str, Any]) -> dict[str, Any]:
    def effect() -> str:
        RUNS[spec["token"]] += 1
        return f"effect of {spec['token']}"

    config = ctx.checkpoint("config", {"b": [1, 2.5, None], "a": "été"})
    sequence = [ctx.checkpoint("seq", 1), ctx.checkpoint("seq", 2)]
    counter = ctx.var("counter", 10)
    counter.set(counter.get() + 1)
    updated = counter.update(lambda v: v * 3)
    return {
        "config": config,
        "seq": sequence,
        "var": [updated, counter.get()],
        "computed": ctx.checkpoint_compute("effect", effect),
        "id": ctx.workflow_id,
        "owner": ctx.is_owner(),
        "terminated": ctx.is_terminated(),
    }


def blocker(ctx: raftoral.WorkflowContext, token: str) -> str:
    """Waits for its event; on termination records what a later checkpoint does."""
    release = RELEASE.setdefault(token, threading.Event())
    deadline = time.monotonic() + 60
    while not release.wait(0.05):
        if ctx.is_terminated():
            try:
                ctx.checkpoint("after-terminate", 1)
                SAW[token] = "checkpoint accepted"
            except raftoral.WorkflowTerminated:
                SAW[token] = "WorkflowTerminated"
                raise
        if time.monotonic() > deadline:
            raise TimeoutError("never released")
    return "released"


def misuse(ctx: raftoral.WorkflowContext, kind: str) -> Any:
    if kind == "empty key":
        ctx.checkpoint("", 1)
    elif kind == "key type":
        ctx.checkpoint(5, 1)  # type: ignore[arg-type]
    elif kind == "value":
        ctx.checkpoint("k", object())
    elif kind == "computed value":
        ctx.checkpoint_compute("k", object)
    elif kind == "not callable":
        ctx.checkpoint_compute("k", 5)  # type: ignore[arg-type]
    elif kind == "result":
        return {1, 2}
    return "no error"


@pytest.fixture(scope="module")
def node() -> Iterator[raftoral.Node]:
    (port,) = free_ports(1)
    created = raftoral.Node(node_id=1, members={1: f"127.0.0.1:{port}"}, election_timeout=timedelta(seconds=1),
                            http_address="127.0.0.1:0")
    created.register_workflow("echo", 1, echo)  # before start
    with created:
        created.register_workflow("fail", 1, fail_with_value_error)  # after start
        created.register_workflow("fail", 2, fail_with_own_error, mode="owner_only")
        created.register_workflow("compute-fails", 1, compute_fails)
        created.workflow("checkpoints", version=1, mode=raftoral.ExecutionMode.OWNER_ONLY)(checkpoints)
        created.register_workflow("checkpoints", 2, checkpoints)
        created.register_workflow("blocker", 1, blocker)
        created.register_workflow("misuse", 1, misuse)
        created.register_workflow("stash", 1, stash_context)
        yield created


def test_smoke(node: raftoral.Node) -> None:
    assert node.node_id == 1
    assert node.api_address is None
    http = node.http_address  # the bound port, not 0
    assert http is not None and http.startswith("127.0.0.1:") and not http.endswith(":0")
    with urllib.request.urlopen(f"http://{http}/health/live", timeout=10) as live:
        assert live.status == 200 and b'"UP"' in live.read()
    assert not node.closed
    assert "started" in repr(node)
    for value in [None, 0, -7, 3.25, "ünïcode", [1, [2, {}]], {"z": 1, "a": {"nested": [True, False]}}]:
        handle = node.start_workflow("echo", 1, value)
        assert handle.result(timeout=30) == value
        assert node.describe(handle.workflow_id).status is raftoral.WorkflowStatus.COMPLETED


@pytest.mark.parametrize("version", [1, 2], ids=["owner_only", "hot_standby"])
def test_checkpoints_var_and_context(node: raftoral.Node, version: int) -> None:
    token = str(uuid.uuid4())
    handle = node.start_workflow("checkpoints", version, {"token": token})
    assert handle.result(timeout=30) == {
        "config": {"a": "été", "b": [1, 2.5, None]},
        "seq": [1, 2],
        "var": [33, 33],
        "computed": f"effect of {token}",
        "id": handle.workflow_id,
        "owner": True,
        "terminated": False,
    }
    assert RUNS[token] == 1

    info = node.describe(handle.workflow_id)
    assert (info.workflow_id, info.type, info.version, info.status) == (
        handle.workflow_id,
        "checkpoints",
        version,
        raftoral.WorkflowStatus.COMPLETED,
    )
    assert info.checkpoint_count == 7  # config 1, seq 2, counter 3, effect 1
    assert info.owner_node == 1
    assert info.started_at is not None and info.ended_at is not None
    assert info.started_at <= info.ended_at
    assert info.error_type is None


def test_python_exception_fails_the_workflow(node: raftoral.Node) -> None:
    handle = node.start_workflow("fail", 1, {"order": 7})
    with pytest.raises(raftoral.WorkflowFailed) as failed:
        handle.result(timeout=30)
    assert failed.value.error_type == "ValueError"
    assert "bad input {'order': 7}" in failed.value.error_message
    info = handle.describe()
    assert info.status is raftoral.WorkflowStatus.FAILED
    assert info.error_type == "ValueError"
    assert info.error_message is not None and "bad input" in info.error_message

    with pytest.raises(raftoral.WorkflowFailed) as failed:
        node.start_workflow("fail", 2, None).result(timeout=30)
    assert failed.value.error_type == "test_node.OrderError"
    assert "out of stock" in failed.value.error_message


def test_compute_failure_reraises_the_original_exception(node: raftoral.Node) -> None:
    token = str(uuid.uuid4())
    with pytest.raises(raftoral.WorkflowFailed) as failed:
        node.start_workflow("compute-fails", 1, token).result(timeout=30)
    assert failed.value.error_type == "test_node.OrderError"
    assert f"card declined for {token}" in failed.value.error_message
    assert ORIGINAL_RERAISED[token] is True


@pytest.mark.parametrize(
    ("kind", "error_type"),
    [
        ("empty key", "raftoral.InvalidArgument"),
        ("key type", "TypeError"),
        ("value", "TypeError"),
        ("computed value", "TypeError"),
        ("not callable", "TypeError"),
        ("result", "TypeError"),
    ],
)
def test_misuse_inside_a_workflow_fails_it(node: raftoral.Node, kind: str, error_type: str) -> None:
    with pytest.raises(raftoral.WorkflowFailed) as failed:
        node.start_workflow("misuse", 1, kind).result(timeout=30)
    assert failed.value.error_type == error_type
    assert node.start_workflow("misuse", 1, "nothing").result(timeout=30) == "no error"


def test_bad_arguments_raise_and_the_node_keeps_working(node: raftoral.Node) -> None:
    with pytest.raises(TypeError):
        node.start_workflow(123, 1, None)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        node.start_workflow("echo", "1", None)  # type: ignore[arg-type]
    with pytest.raises(raftoral.InvalidArgument):
        node.start_workflow("echo", -1, None)
    with pytest.raises(TypeError):
        node.start_workflow("echo", 1, object())
    with pytest.raises(ValueError):
        node.start_workflow("echo", 1, math.nan)
    with pytest.raises(TypeError):
        node.start_workflow("echo", 1, None, workflow_id=5)  # type: ignore[arg-type]
    with pytest.raises(raftoral.InvalidArgument):
        node.start_workflow("echo\x00", 1, None)
    with pytest.raises(raftoral.NotRegistered):
        node.start_workflow("no-such-type", 1, None)
    with pytest.raises(raftoral.NotRegistered):
        node.start_workflow("echo", 99, None)
    unknown = f"unknown-{uuid.uuid4()}"
    with pytest.raises(raftoral.NotFound):
        node.describe(unknown)
    with pytest.raises(raftoral.NotFound):
        node.get_workflow(unknown).result(timeout=5)
    with pytest.raises(raftoral.NotFound):
        node.terminate(unknown, "no reason")
    with pytest.raises(ValueError):
        node.list_workflows(statuses=["SLEEPING"])
    with pytest.raises(TypeError):
        node.list_workflows(limit="ten")  # type: ignore[arg-type]
    with pytest.raises(raftoral.InvalidArgument):
        node.list_workflows(limit=0)
    with pytest.raises(TypeError):
        node.describe(None)  # type: ignore[arg-type]
    with pytest.raises(raftoral.InvalidArgument):
        node.describe("")
    with pytest.raises(raftoral.InvalidArgument):
        node.start_workflow("echo", 1, None, workflow_id="")
    with pytest.raises(TypeError):
        node.get_workflow("x").result(timeout="soon")  # type: ignore[arg-type]

    with pytest.raises(raftoral.AlreadyRegistered):
        node.register_workflow("echo", 1, echo)
    with pytest.raises(TypeError):
        node.register_workflow("echo", 2, "not a function")  # type: ignore[arg-type]
    with pytest.raises(raftoral.InvalidArgument):
        node.register_workflow("echo", 3, echo, mode="eventually")

    # A good call afterwards still works, and the first registration stayed.
    assert node.start_workflow("echo", 1, "still alive").result(timeout=30) == "still alive"


def test_history_retention_is_a_registration_keyword_checked_before_the_call(node: raftoral.Node) -> None:
    kind = f"kept-{uuid.uuid4().hex[:8]}"
    for bad in (-1, -(2**63), 2**63):
        with pytest.raises(raftoral.InvalidArgument, match="keep_last_per_key"):
            node.register_workflow(kind, 1, echo, keep_last_per_key=bad)
    for wrong in ("2", 2.0, True, None):
        with pytest.raises(TypeError, match="keep_last_per_key"):
            node.register_workflow(kind, 1, echo, keep_last_per_key=wrong)  # type: ignore[arg-type]
    with pytest.raises(raftoral.InvalidArgument, match="keep_last_per_key"):
        node.workflow(kind, 1, keep_last_per_key=-3)(echo)

    # The refused calls registered nothing; a good one (with a mode too) runs as registered.
    node.register_workflow(kind, 1, echo, mode="owner_only", keep_last_per_key=2)
    node.workflow(kind, 2, keep_last_per_key=2**63 - 1)(echo)
    with pytest.raises(raftoral.AlreadyRegistered):
        node.register_workflow(kind, 1, echo, keep_last_per_key=2)
    assert node.start_workflow(kind, 1, "kept").result(timeout=30) == "kept"
    assert node.start_workflow(kind, 2, "everything").result(timeout=30) == "everything"


def test_context_is_invalid_after_its_run(node: raftoral.Node) -> None:
    handle = node.start_workflow("stash", 1, None)
    assert handle.result(timeout=30) == handle.workflow_id
    stale = STASHED[-1]
    assert stale.workflow_id == handle.workflow_id  # read during the run, kept
    with pytest.raises(raftoral.InvalidHandle, match="outside the run"):
        stale.is_terminated()
    with pytest.raises(raftoral.InvalidHandle, match="outside the run"):
        stale.checkpoint("late", 1)


def test_idempotent_start(node: raftoral.Node) -> None:
    token = str(uuid.uuid4())
    workflow_id = f"order-{token}"
    first = node.start_workflow("checkpoints", 1, {"token": token}, workflow_id=workflow_id)
    again = node.start_workflow("checkpoints", 1, {"token": token}, workflow_id=workflow_id)
    assert first.workflow_id == again.workflow_id == workflow_id
    assert first.result(timeout=30) == again.result(timeout=30)
    assert node.start_workflow("checkpoints", 1, {"token": token}, workflow_id=workflow_id) == first
    assert RUNS[token] == 1  # it never ran twice

    with pytest.raises(raftoral.AlreadyExists):
        node.start_workflow("checkpoints", 1, {"token": "other"}, workflow_id=workflow_id)
    with pytest.raises(raftoral.AlreadyExists):
        node.start_workflow("checkpoints", 2, {"token": token}, workflow_id=workflow_id)


def test_a_failed_start_names_the_id_it_used(node: raftoral.Node) -> None:
    with pytest.raises(raftoral.NotRegistered) as generated:
        node.start_workflow("no-such-type", 1, None)
    assert generated.value.workflow_id is not None
    # Generated before the start was sent, naming the node's only execution group: g0-<uuid4>.
    assert generated.value.workflow_id.startswith("g0-")
    assert uuid.UUID(generated.value.workflow_id[3:]).version == 4
    with pytest.raises(raftoral.NotRegistered) as given:
        node.start_workflow("no-such-type", 1, None, workflow_id="order-77")
    assert given.value.workflow_id == "order-77"
    handle = node.start_workflow("echo", 1, "generated here")
    assert handle.workflow_id.startswith("g0-") and uuid.UUID(handle.workflow_id[3:]).version == 4
    assert handle.result(timeout=30) == "generated here"


def test_terminate_a_running_workflow(node: raftoral.Node) -> None:
    token = str(uuid.uuid4())
    handle = node.start_workflow("blocker", 1, token)
    info = node.terminate(handle.workflow_id, "operator said so")
    assert info.status is raftoral.WorkflowStatus.TERMINATED
    with pytest.raises(raftoral.WorkflowTerminated) as terminated:
        handle.result(timeout=30)
    assert "operator said so" in terminated.value.reason

    # The running function saw it: is_terminated() turned true and a checkpoint then raised.
    assert wait_until(lambda: SAW.get(token), 30, "the workflow to see its termination") == "WorkflowTerminated"
    # Terminating a finished workflow is a no-op that reports its final status.
    assert handle.terminate("again").status is raftoral.WorkflowStatus.TERMINATED
    assert node.describe(handle.workflow_id).status is raftoral.WorkflowStatus.TERMINATED


def test_result_timeout_then_completion(node: raftoral.Node) -> None:
    token = str(uuid.uuid4())
    RELEASE[token] = threading.Event()
    handle = node.start_workflow("blocker", 1, token)
    with pytest.raises(raftoral.Timeout) as timed_out:
        handle.result(timeout=0.3)
    assert isinstance(timed_out.value, TimeoutError)
    assert handle.describe().status is raftoral.WorkflowStatus.RUNNING
    RELEASE[token].set()
    assert handle.result(timeout=timedelta(seconds=30)) == "released"


def test_list_workflows_filters_and_pages(node: raftoral.Node) -> None:
    before = datetime.now(timezone.utc) - timedelta(seconds=5)
    kind = f"listed-{uuid.uuid4().hex[:8]}"
    node.register_workflow(kind, 1, echo)
    node.register_workflow(kind, 2, fail_with_value_error)
    completed = {node.start_workflow(kind, 1, i).workflow_id for i in range(5)}
    failed = {node.start_workflow(kind, 2, i).workflow_id for i in range(2)}
    for workflow_id in completed:
        node.result(workflow_id, timeout=30)
    for workflow_id in failed:
        with pytest.raises(raftoral.WorkflowFailed):
            node.result(workflow_id, timeout=30)

    def ids(**filters: Any) -> set[str]:
        return {info.workflow_id for info in node.iter_workflows(**filters)}

    assert ids(type=kind) == completed | failed
    assert ids(type=kind, version=1) == completed
    assert ids(type=kind, statuses=["FAILED"]) == failed
    assert ids(type=kind, statuses=[raftoral.WorkflowStatus.COMPLETED, "FAILED"]) == completed | failed
    assert ids(type=kind, statuses="RUNNING") == set()
    assert ids(type=kind, started_after=before) == completed | failed
    assert ids(type=kind, started_before=before) == set()

    # Pages of two: every workflow exactly once.
    seen: list[str] = []
    page = node.list_workflows(type=kind, limit=2)
    pages = 1
    while True:
        assert len(page) <= 2
        seen.extend(info.workflow_id for info in page)
        if page.next_page_token is None:
            break
        page = node.list_workflows(type=kind, limit=2, page_token=page.next_page_token)
        pages += 1
    assert sorted(seen) == sorted(completed | failed)
    assert pages >= 4


def test_invalid_configuration(node: raftoral.Node) -> None:
    with pytest.raises(TypeError):
        raftoral.Node(no_such_option=1)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        raftoral.Node(node_id="1")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        raftoral.Node(members=["127.0.0.1:1"])  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        raftoral.Node(election_timeout="fast")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        raftoral.Node(request_timeout=-1)
    with pytest.raises(TypeError):
        raftoral.Node(options={"node_id": object()})
    with pytest.raises(raftoral.InvalidArgument):
        raftoral.Node(options={"no_such_key": 1})
    with pytest.raises(raftoral.InvalidArgument):
        raftoral.Node(node_id=0)
    assert node.start_workflow("echo", 1, "after bad config").result(timeout=30) == "after bad config"


def test_every_node_option_is_a_keyword_checked_by_the_engine(tmp_path: Any) -> None:
    # Out of range: refused by the engine (NodeOptions), naming the configuration key.
    with pytest.raises(raftoral.InvalidArgument, match="snapshot_threshold"):
        raftoral.Node(snapshot_threshold=0)
    with pytest.raises(raftoral.InvalidArgument, match="batch_linger_us"):
        raftoral.Node(batch_linger=2)
    with pytest.raises(raftoral.InvalidArgument, match="max_in_flight_entries"):
        raftoral.Node(max_in_flight_entries=0)
    # The group sizes are checked together: min <= target <= max, max >= 2 * min - 1.
    with pytest.raises(raftoral.InvalidArgument, match="target_group_size"):
        raftoral.Node(min_group_size=4, target_group_size=3, max_group_size=7)
    with pytest.raises(raftoral.InvalidArgument, match="max_group_size"):
        raftoral.Node(target_group_size=5, max_group_size=4)
    with pytest.raises(raftoral.InvalidArgument, match="max_group_size"):
        raftoral.Node(min_group_size=3, target_group_size=3, max_group_size=4)
    with pytest.raises(raftoral.InvalidArgument, match="snapshot_transfer_rate must be >= 0, got -1"):
        raftoral.Node(snapshot_transfer_rate=-1)
    with pytest.raises(raftoral.InvalidArgument, match="snapshot_chunk_bytes must be between 65536 and 8388608, got 65535"):
        raftoral.Node(snapshot_chunk_bytes=65535)
    with pytest.raises(raftoral.InvalidArgument, match="snapshot_chunk_bytes must be between 65536 and 8388608, got 8388609"):
        raftoral.Node(snapshot_chunk_bytes=8388609)
    with pytest.raises(TypeError):
        raftoral.Node(snapshot_chunk_bytes=1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        raftoral.Node(rejoin_after_removal=1)  # type: ignore[arg-type]
    # Within range: a node runs with them (a snapshot every 5 entries, batches sent at once).
    tuned = _one_node(snapshot_threshold=5, batch_linger=0, max_in_flight_entries=4, rejoin_after_removal=False,
                      snapshot_transfer_rate=50 * 1024 * 1024, snapshot_chunk_bytes=65536, data_dir=tmp_path / "tuned")
    tuned.register_workflow("echo", 1, echo)
    with tuned:
        handles = [tuned.start_workflow("echo", 1, f"v{i}") for i in range(12)]
        assert [h.result(timeout=30) for h in handles] == [f"v{i}" for i in range(12)]


def test_second_node_with_a_codec_and_its_lifetime() -> None:
    (port,) = free_ports(1)
    second = raftoral.Node(node_id=7, members={7: f"127.0.0.1:{port}"}, codec=raftoral.BytesCodec())
    with second:

        @second.workflow("reverse")
        def reverse(ctx: raftoral.WorkflowContext, data: bytes) -> bytes:
            return bytes(ctx.checkpoint("reversed", data[::-1]))

        assert second.start_workflow("reverse", 1, b"\x00\x01\xff").result(timeout=30) == b"\xff\x01\x00"
        with pytest.raises(TypeError):
            second.start_workflow("reverse", 1, "text is not bytes")
    assert second.closed
    second.close()  # idempotent
    with pytest.raises(raftoral.NodeClosed):
        second.start_workflow("reverse", 1, b"")
    with pytest.raises(raftoral.NodeClosed):
        second.describe("anything")


def sleepy(ctx: raftoral.WorkflowContext, spec: dict[str, Any]) -> str:
    """Records that it runs, sleeps without checkpoints, then records that it returns."""
    SAW[spec["token"]] = "running"
    time.sleep(spec["seconds"])
    SAW[spec["token"]] = "returned"
    return "slept"


def _one_node(**options: Any) -> raftoral.Node:
    (port,) = free_ports(1)
    return raftoral.Node(node_id=1, members={1: f"127.0.0.1:{port}"}, **options)


def test_close_waits_for_running_workflows_within_its_grace() -> None:
    token = str(uuid.uuid4())
    node = _one_node()
    node.register_workflow("sleepy", 1, sleepy)
    node.start()
    node.start_workflow("sleepy", 1, {"token": token, "seconds": 1.5})
    wait_until(lambda: SAW.get(token), 30, "the workflow to run")
    node.close()
    assert SAW[token] == "returned"  # close returned only after the workflow function did

    late = str(uuid.uuid4())
    graced = _one_node(close_grace=timedelta(milliseconds=200))
    graced.register_workflow("sleepy", 1, sleepy)
    graced.start()
    graced.start_workflow("sleepy", 1, {"token": late, "seconds": 3})
    wait_until(lambda: SAW.get(late), 30, "the workflow to run")
    with pytest.raises(raftoral.Timeout, match="still running"):
        graced.close()
    assert graced.closed
    assert SAW[late] == "running"
    wait_until(lambda: SAW[late] == "returned", 30, "the late workflow to return")


def _dead_peers(start_timeout: float) -> raftoral.Node:
    ports = free_ports(3)
    members = {i + 1: f"127.0.0.1:{port}" for i, port in enumerate(ports)}
    return raftoral.Node(node_id=1, members=members, start_timeout=start_timeout, election_timeout=0.3)


def test_a_bootstrap_without_a_quorum_times_out() -> None:
    node = _dead_peers(start_timeout=2)
    with pytest.raises(raftoral.Timeout, match="quorum"):
        node.start()
    with pytest.raises(raftoral.NodeClosed, match="quorum"):
        node.describe("anything")
    node.close()


def test_close_interrupts_a_blocked_start() -> None:
    node = _dead_peers(start_timeout=600)
    outcome: list[BaseException | None] = []

    def start() -> None:
        try:
            node.start()
            outcome.append(None)
        except BaseException as e:  # noqa: BLE001 - inspected below
            outcome.append(e)

    starter = threading.Thread(target=start, daemon=True)
    starter.start()

    def starting() -> bool:
        try:
            node.node_id
        except raftoral.NodeClosed as e:
            return "starting" in e.message
        return False

    wait_until(starting, 30, "the start to wait for its peers")
    node.close()
    starter.join(60)
    assert not starter.is_alive()
    assert len(outcome) == 1 and isinstance(outcome[0], raftoral.NodeClosed), outcome
    assert "closed while it started" in outcome[0].message


def test_a_duration_that_is_not_a_finite_number_is_refused_naming_the_keyword() -> None:
    # Not an OverflowError from round(inf) nor a ValueError that does not say which keyword.
    for keyword in ("election_timeout", "request_timeout", "retention", "batch_linger", "close_grace"):
        for value in (float("inf"), float("nan"), float("-inf")):
            with pytest.raises(raftoral.InvalidArgument, match=keyword):
                raftoral.Node(**{keyword: value})


def test_a_key_given_as_a_keyword_and_in_options_is_refused() -> None:
    # Which of the two the node would get is not what was asked.
    with pytest.raises(raftoral.InvalidArgument, match="node_id"):
        raftoral.Node(node_id=2, options={"node_id": 3})
    with pytest.raises(raftoral.InvalidArgument, match="election_timeout_ms"):
        raftoral.Node(election_timeout=1, options={"election_timeout_ms": 5})


def test_edge_values_of_the_keywords() -> None:
    with pytest.raises(TypeError):
        raftoral.Node(execution_groups=True)  # a bool is an int in Python, not a count
    with pytest.raises(TypeError):
        raftoral.Node(election_timeout=True)
    with pytest.raises(TypeError):
        raftoral.Node(members={True: "127.0.0.1:7001"})
    with pytest.raises(raftoral.InvalidArgument):
        raftoral.Node(retention=timedelta(seconds=-1))
    with pytest.raises(raftoral.InvalidArgument, match="retention_ms"):
        raftoral.Node(retention=timedelta.max)
    with pytest.raises(raftoral.InvalidArgument, match="execution_groups"):
        raftoral.Node(execution_groups=2**64)
    with pytest.raises(raftoral.InvalidArgument, match="raft_address"):
        raftoral.Node(raft_address="")
    with pytest.raises(raftoral.InvalidArgument, match="members"):
        raftoral.Node(members={0: "127.0.0.1:7001"})
    with pytest.raises(raftoral.InvalidArgument, match="election_timeout_ms"):
        raftoral.Node(election_timeout=0.0004)


def test_a_member_id_given_twice_is_refused() -> None:
    with pytest.raises(raftoral.InvalidArgument, match="members"):
        raftoral.Node(node_id=1, members={1: "127.0.0.1:7001", "1": "127.0.0.1:7002"})
