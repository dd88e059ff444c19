"""The worker library against a fake node (tests/worker/fake_node.py): the worker's half of
worker.proto, message by message, for plain and async workflow functions."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any, Callable

import pytest

from worker_support import NO_GRPC_REASON

grpc = pytest.importorskip("grpc", reason=NO_GRPC_REASON)

import raftoral  # noqa: E402
from raftoral.worker import (  # noqa: E402
    AsyncWorkflowContext,
    ExecutionMode,
    RegistrationRefused,
    RunCancelled,
    Worker,
    WorkflowContext,
)
from fake_node import FakeNode, FakeStream, capi, pb  # noqa: E402


def j(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def wait_until(condition: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


def connect(fake_node: FakeNode, start_worker: Callable[..., Any], worker: Worker, **registered: Any) -> FakeStream:
    start_worker(worker)
    stream = fake_node.next_stream()
    stream.register(**registered)
    assert worker.wait_registered(10)
    return stream


class OrderError(Exception):
    pass


# ---- registration ----


def test_register_names_every_type_with_its_mode_and_retention(fake_node: FakeNode, start_worker: Any) -> None:
    worker = Worker(worker_id="orders-1", max_concurrent_runs=3)
    worker.register_workflow("order", 1, lambda ctx, x: x)
    worker.register_workflow("order", 2, lambda ctx, x: x, mode=ExecutionMode.OWNER_ONLY, keep_last_per_key=5)
    start_worker(worker)
    stream = fake_node.next_stream()
    register = stream.register()
    assert register.worker_id == "orders-1"
    assert list(register.protocol_versions) == [1]
    assert register.max_concurrent_runs == 3
    assert register.library.startswith("raftoral-python/")
    types = {(t.name, t.version): (t.mode, t.keep_last_per_key) for t in register.types}
    assert types == {("order", 1): (pb.HOT_STANDBY, 0), ("order", 2): (pb.OWNER_ONLY, 5)}
    assert worker.wait_registered(10)
    assert worker.registration is not None and worker.registration.node_id == 7


def test_bad_registrations_and_targets_raise_typed_errors() -> None:
    worker = Worker()
    worker.register_workflow("order", 1, lambda ctx, x: x)
    with pytest.raises(raftoral.AlreadyRegistered):
        worker.register_workflow("order", 1, lambda ctx, x: x)
    worker.register_workflow("order", 2, lambda ctx, x: x)  # another version is another type
    with pytest.raises(raftoral.InvalidArgument):
        worker.register_workflow(" ", 1, lambda ctx, x: x)
    with pytest.raises(raftoral.InvalidArgument):
        worker.register_workflow("order", 0, lambda ctx, x: x)
    with pytest.raises(TypeError):
        worker.register_workflow("order", 3, "not a function")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        worker.register_workflow("order", 3, lambda ctx, x: x, mode=2)  # type: ignore[arg-type]
    for target in ("localhost", "127.0.0.1:", "127.0.0.1:99999", "http://127.0.0.1:9001", "a b:1", ""):
        with pytest.raises(raftoral.InvalidArgument):
            Worker(target)
    with pytest.raises(raftoral.InvalidArgument):
        Worker().run()  # no target
    with pytest.raises(raftoral.InvalidArgument):
        Worker("127.0.0.1:9001").run()  # nothing registered
    with pytest.raises(raftoral.InvalidArgument):
        Worker(max_concurrent_runs=-1)


def test_a_target_without_the_worker_service_is_refused(start_worker: Any) -> None:
    from concurrent import futures

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))  # serves nothing: UNIMPLEMENTED
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        worker = Worker(f"127.0.0.1:{port}")
        worker.register_workflow("order", 1, lambda ctx, x: x)
        with pytest.raises(RegistrationRefused) as refused:
            worker.run(handle_signals=False)
        assert refused.value.status == "UNIMPLEMENTED"
        assert "--worker-listen" in str(refused.value)
    finally:
        server.stop(0)


def test_a_registration_the_node_refuses_ends_run_with_the_status(fake_node: FakeNode, start_worker: Any) -> None:
    worker = Worker()
    worker.register_workflow("order", 1, lambda ctx, x: x)
    start_worker(worker)
    stream = fake_node.next_stream()
    stream.expect("register")
    stream.end(grpc.StatusCode.FAILED_PRECONDITION, "order v1 runs embedded on this node")
    with pytest.raises(RegistrationRefused) as refused:
        worker.join(10)
    assert refused.value.status == "FAILED_PRECONDITION"
    assert "embedded" in str(refused.value)


def test_a_node_answering_another_protocol_version_is_refused(fake_node: FakeNode, start_worker: Any) -> None:
    worker = Worker()
    worker.register_workflow("order", 1, lambda ctx, x: x)
    start_worker(worker)
    stream = fake_node.next_stream()
    stream.register(protocol_version=2)
    with pytest.raises(RegistrationRefused) as refused:
        worker.join(10)
    assert "protocol version 2" in str(refused.value)
    assert stream.worker_closed.wait(10)


def test_a_message_the_worker_cannot_handle_is_logged_and_the_stream_goes_on(
    fake_node: FakeNode, start_worker: Any, caplog: pytest.LogCaptureFixture
) -> None:
    worker = Worker()
    worker.register_workflow("echo", 1, lambda ctx, x: ctx.checkpoint("k", x))
    stream = connect(fake_node, start_worker, worker)
    stream.execute(1, "unknown-type")  # never registered: logged, ignored
    stream.send(checkpoint_committed=pb.CheckpointCommitted(run=99, key="k", seq=0, value=b"1"))  # no such run
    stream.send(protocol_error=pb.ProtocolError(run=99, message="a result for an unknown run"))
    stream.execute(2, "echo", j("still here"))
    proposal = stream.expect("checkpoint")
    stream.commit(proposal)
    assert json.loads(stream.expect("workflow_result").result) == "still here"
    assert "unknown-type" in caplog.text and "a result for an unknown run" in caplog.text


# ---- checkpoints ----


def test_checkpoints_are_numbered_per_key_from_zero_and_the_result_is_acked(fake_node: FakeNode, start_worker: Any) -> None:
    worker = Worker()
    seen: list[Any] = []

    @worker.workflow("steps", 1)
    def steps(ctx: WorkflowContext, n: int) -> dict[str, Any]:
        assert ctx.workflow_id == "wf-1" and ctx.workflow_type == "steps" and ctx.workflow_version == 1
        seen.append(ctx.is_owner())
        a0 = ctx.checkpoint("a", n)
        b0 = ctx.checkpoint("b", n + 1)
        a1 = ctx.checkpoint("a", n + 2)
        return {"a": [a0, a1], "b": b0}

    stream = connect(fake_node, start_worker, worker)
    stream.execute(1, "steps", j(10), is_owner=False)
    got = []
    for _ in range(3):
        proposal = stream.expect("checkpoint")
        got.append((proposal.key, proposal.seq, proposal.value, proposal.compute))
        # the committed value is the node's (here: another owner's), not the proposed one
        stream.commit(proposal, j(json.loads(proposal.value) * 100))
    assert got == [("a", 0, j(10), False), ("b", 0, j(11), False), ("a", 1, j(12), False)]
    result = stream.expect("workflow_result")
    assert result.run == 1 and json.loads(result.result) == {"a": [1000, 1200], "b": 1100}
    assert seen == [False]
    stream.send(ack=pb.Ack(run=1))
    assert stream.pending() == []


def test_compute_runs_only_on_run_compute_and_once(fake_node: FakeNode, start_worker: Any) -> None:
    worker = Worker()
    calls: list[str] = []

    @worker.workflow("charge", 1)
    def charge(ctx: WorkflowContext, order: str) -> Any:
        first = ctx.checkpoint_compute("charge", lambda: calls.append(order) or f"paid {order}")
        replayed = ctx.checkpoint_compute("charge", lambda: calls.append("again") or "never")
        return [first, replayed]

    stream = connect(fake_node, start_worker, worker)
    stream.execute(1, "charge", j("o-1"))
    proposal = stream.expect("checkpoint")
    assert (proposal.key, proposal.seq, proposal.compute, proposal.value) == ("charge", 0, True, b"")
    assert calls == []
    stream.send(run_compute=pb.RunCompute(run=1, key="charge", seq=0))
    computed = stream.expect("compute_result")
    assert (computed.run, computed.key, computed.seq, computed.value) == (1, "charge", 0, j("paid o-1"))
    assert calls == ["o-1"]
    stream.commit(proposal, computed.value)
    # the second step is committed already (a replay): the node answers the proposal directly
    second = stream.expect("checkpoint")
    assert (second.key, second.seq, second.compute) == ("charge", 1, True)
    stream.commit(second, j("committed elsewhere"))
    result = stream.expect("workflow_result")
    assert json.loads(result.result) == ["paid o-1", "committed elsewhere"]
    assert calls == ["o-1"]


def test_execute_history_is_replayed_locally_and_the_next_call_has_the_right_seq(
    fake_node: FakeNode, start_worker: Any
) -> None:
    worker = Worker()
    computed: list[int] = []

    @worker.workflow("resume", 1)
    def resume(ctx: WorkflowContext, _: Any) -> Any:
        a = ctx.checkpoint("a", "local a0")
        c = ctx.checkpoint_compute("c", lambda: computed.append(0) or "local c0")
        a1 = ctx.checkpoint("a", "local a1")
        c1 = ctx.checkpoint_compute("c", lambda: computed.append(1) or "c1")
        return [a, c, a1, c1]

    stream = connect(fake_node, start_worker, worker)
    stream.execute(5, "resume", history=[("a", 0, j("A0")), ("c", 0, j("C0"))])
    proposal = stream.expect("checkpoint")
    assert (proposal.run, proposal.key, proposal.seq, proposal.value) == (5, "a", 1, j("local a1"))
    stream.commit(proposal)
    compute = stream.expect("checkpoint")
    assert (compute.key, compute.seq, compute.compute) == ("c", 1, True)
    stream.send(run_compute=pb.RunCompute(run=5, key="c", seq=1))
    stream.commit(compute, stream.expect("compute_result").value)
    result = stream.expect("workflow_result")
    assert json.loads(result.result) == ["A0", "C0", "local a1", "c1"]
    assert computed == [1]  # the step in the history did not run again


def test_call_failed_raises_the_error_code_class_in_the_workflow(fake_node: FakeNode, start_worker: Any) -> None:
    worker = Worker()

    @worker.workflow("big", 1)
    def big(ctx: WorkflowContext, _: Any) -> Any:
        try:
            ctx.checkpoint("blob", "x" * 100)
        except raftoral.PayloadTooLarge as e:
            caught = f"{type(e).__name__}: {e.message}"
        # the refused position stays free: the next write of the key has the same seq
        return [caught, ctx.checkpoint("blob", "small")]

    stream = connect(fake_node, start_worker, worker)
    stream.execute(1, "big")
    proposal = stream.expect("checkpoint")
    stream.send(call_failed=pb.CallFailed(run=1, key="blob", seq=0, code=capi.ERR_PAYLOAD_TOO_LARGE, message="too big"))
    again = stream.expect("checkpoint")
    assert (again.key, again.seq) == ("blob", 0)
    stream.commit(again)
    assert json.loads(stream.expect("workflow_result").result) == ["PayloadTooLarge: too big", "small"]


def test_a_failing_compute_reraises_the_original_exception(fake_node: FakeNode, start_worker: Any) -> None:
    worker = Worker()
    raised: list[BaseException] = []
    identical: list[bool] = []

    @worker.workflow("declined", 1)
    def declined(ctx: WorkflowContext, _: Any) -> Any:
        def charge() -> None:
            raised.append(OrderError("card declined"))
            raise raised[0]

        try:
            ctx.checkpoint_compute("charge", charge)
        except OrderError as e:
            identical.append(e is raised[0])
            raise

    stream = connect(fake_node, start_worker, worker)
    stream.execute(1, "declined")
    stream.expect("checkpoint")
    stream.send(run_compute=pb.RunCompute(run=1, key="charge", seq=0))
    result = stream.expect("compute_result")
    assert result.WhichOneof("outcome") == "error"
    assert result.error.type == f"{__name__}.OrderError" and result.error.message == "card declined"
    stream.send(call_failed=pb.CallFailed(run=1, key="charge", seq=0, code=capi.ERR_WORKFLOW_FAILED,
                                          message="card declined", failure=result.error))
    outcome = stream.expect("workflow_result")
    assert outcome.error.type == f"{__name__}.OrderError" and outcome.error.message == "card declined"
    assert identical == [True]


def test_workflow_exceptions_become_workflow_result_errors(fake_node: FakeNode, start_worker: Any) -> None:
    worker = Worker()

    @worker.workflow("bad", 1)
    def bad(ctx: WorkflowContext, what: str) -> Any:
        if what == "value":
            raise ValueError("bad input 3")
        if what == "encode":
            return {1, 2}  # a set is not JSON
        raise OrderError("out of stock")

    stream = connect(fake_node, start_worker, worker)
    stream.execute(1, "bad", j("value"))
    stream.execute(2, "bad", j("own"))
    stream.execute(3, "bad", j("encode"))
    errors = {}
    for _ in range(3):
        result = stream.expect("workflow_result")
        errors[result.run] = (result.error.type, result.error.message)
    assert errors[1] == ("ValueError", "bad input 3")
    assert errors[2] == (f"{__name__}.OrderError", "out of stock")
    assert errors[3][0] == "raftoral.CodecError" and "cannot be encoded" in errors[3][1]


def test_a_non_json_value_raises_codec_error_and_takes_no_seq(fake_node: FakeNode, start_worker: Any) -> None:
    worker = Worker()

    @worker.workflow("codec", 1)
    def codec(ctx: WorkflowContext, _: Any) -> Any:
        with pytest.raises(raftoral.CodecError):
            ctx.checkpoint("k", object())
        with pytest.raises(raftoral.CodecError):
            ctx.checkpoint("k", float("nan"))
        with pytest.raises(raftoral.InvalidArgument):
            ctx.checkpoint("", 1)
        return ctx.checkpoint("k", 1)

    stream = connect(fake_node, start_worker, worker)
    stream.execute(1, "codec")
    proposal = stream.expect("checkpoint")
    assert (proposal.key, proposal.seq) == ("k", 0)
    stream.commit(proposal)
    assert json.loads(stream.expect("workflow_result").result) == 1


def test_a_context_call_inside_a_compute_function_is_refused(fake_node: FakeNode, start_worker: Any) -> None:
    worker = Worker()

    @worker.workflow("nested", 1)
    def nested(ctx: WorkflowContext, _: Any) -> Any:
        def step() -> str:
            try:
                ctx.checkpoint("inner", 1)
            except raftoral.InvalidArgument as e:
                return f"refused: {e}"
            return "allowed"

        return ctx.checkpoint_compute("outer", step)

    stream = connect(fake_node, start_worker, worker)
    stream.execute(1, "nested")
    proposal = stream.expect("checkpoint")
    stream.send(run_compute=pb.RunCompute(run=1, key="outer", seq=0))
    result = stream.expect("compute_result")
    assert json.loads(result.value).startswith("refused: a checkpoint_compute function cannot use")
    stream.commit(proposal, result.value)
    stream.expect("workflow_result")


def test_replicated_var(fake_node: FakeNode, start_worker: Any) -> None:
    worker = Worker()

    @worker.workflow("counter", 1)
    def counter(ctx: WorkflowContext, _: Any) -> Any:
        var = ctx.var("count", 1)
        var.set(5)
        var.update(lambda v: v + 1)
        return var.get()

    stream = connect(fake_node, start_worker, worker)
    stream.execute(1, "counter")
    seqs = []
    for _ in range(3):
        proposal = stream.expect("checkpoint")
        seqs.append((proposal.seq, json.loads(proposal.value)))
        stream.commit(proposal)
    assert seqs == [(0, 1), (1, 5), (2, 6)]
    assert json.loads(stream.expect("workflow_result").result) == 6


# ---- cancel ----


@pytest.mark.parametrize("reason", ["TERMINATED", "ENDED_ELSEWHERE", "OWNERSHIP_LOST"])
def test_cancel_unwinds_the_function_and_nothing_more_is_sent(fake_node: FakeNode, start_worker: Any, reason: str) -> None:
    worker = Worker()
    unwound: list[tuple[str, bool]] = []
    done = threading.Event()

    @worker.workflow("long", 1)
    def long(ctx: WorkflowContext, _: Any) -> Any:
        try:
            ctx.checkpoint("step", 1)
        except RunCancelled as e:
            unwound.append((e.reason, ctx.is_terminated()))
            try:
                ctx.checkpoint("after", 2)  # every later call raises too
            except RunCancelled:
                unwound.append(("again", True))
            raise
        finally:
            done.set()

    stream = connect(fake_node, start_worker, worker)
    stream.execute(1, "long")
    proposal = stream.expect("checkpoint")
    stream.send(cancel=pb.Cancel(run=1, reason=pb.Cancel.Reason.Value(reason), message="by test"))
    assert done.wait(10)
    assert unwound == [(reason, reason == "TERMINATED"), ("again", True)]
    stream.commit(proposal)  # a late answer for the cancelled run is ignored
    # a marker run proves the worker is past the cancelled run's end, and sent nothing for it
    stream.execute(2, "long")
    marker = stream.expect("checkpoint")
    assert marker.run == 2
    assert stream.pending() == []


def test_an_async_workflow_awaits_the_context(fake_node: FakeNode, start_worker: Any) -> None:
    worker = Worker()
    computed: list[str] = []

    @worker.workflow("async-order", 1)
    async def order(ctx: AsyncWorkflowContext, item: str) -> Any:
        async def reserve() -> str:
            await asyncio.sleep(0)
            computed.append(item)
            return f"reserved {item}"

        reservation = await ctx.checkpoint_compute("reserve", reserve)
        plain = await ctx.checkpoint_compute("plain", lambda: "sync fn")
        var = await ctx.var("n", 1)
        await var.update(lambda v: v + 1)
        return [reservation, plain, var.get(), await ctx.checkpoint("note", item)]

    stream = connect(fake_node, start_worker, worker)
    stream.execute(1, "async-order", j("book"))
    reserve = stream.expect("checkpoint")
    stream.send(run_compute=pb.RunCompute(run=1, key="reserve", seq=0))
    stream.commit(reserve, stream.expect("compute_result").value)
    plain = stream.expect("checkpoint")
    stream.send(run_compute=pb.RunCompute(run=1, key="plain", seq=0))
    stream.commit(plain, stream.expect("compute_result").value)
    for expected in ((0, 1), (1, 2)):
        var = stream.expect("checkpoint")
        assert (var.key, var.seq, json.loads(var.value)) == ("n", *expected)
        stream.commit(var)
    stream.commit(stream.expect("checkpoint"))
    result = stream.expect("workflow_result")
    assert json.loads(result.result) == ["reserved book", "sync fn", 2, "book"]
    assert computed == ["book"]


def test_async_cancel_and_failure(fake_node: FakeNode, start_worker: Any) -> None:
    worker = Worker()
    unwound: list[str] = []

    @worker.workflow("async-long", 1)
    async def long(ctx: AsyncWorkflowContext, fail: bool) -> Any:
        if fail:
            raise OrderError("async failure")
        try:
            await ctx.checkpoint("step", 1)
        except RunCancelled as e:
            unwound.append(e.reason)
            raise

    stream = connect(fake_node, start_worker, worker)
    stream.execute(1, "async-long", j(False))
    stream.expect("checkpoint")
    stream.send(cancel=pb.Cancel(run=1, reason=pb.Cancel.TERMINATED))
    wait_until(lambda: unwound == ["TERMINATED"])
    stream.execute(2, "async-long", j(True))
    result = stream.expect("workflow_result")
    assert (result.run, result.error.type, result.error.message) == (2, f"{__name__}.OrderError", "async failure")
    assert stream.pending() == []


# ---- flow control ----


def test_max_concurrent_runs_is_respected(fake_node: FakeNode, start_worker: Any) -> None:
    worker = Worker(max_concurrent_runs=2)
    lock = threading.Lock()
    running = [0, 0]  # now, most at once
    release = threading.Event()

    @worker.workflow("slot", 1)
    def slot(ctx: WorkflowContext, _: Any) -> Any:
        with lock:
            running[0] += 1
            running[1] = max(running[1], running[0])
        release.wait(10)
        with lock:
            running[0] -= 1
        return None

    stream = connect(fake_node, start_worker, worker)
    for run in (1, 2, 3):  # one more than the limit (a misbehaving node)
        stream.execute(run, "slot")
    wait_until(lambda: running[0] == 2)
    assert stream.pending() == []
    release.set()
    runs = sorted(stream.expect("workflow_result").run for _ in range(3))
    assert runs == [1, 2, 3] and running[1] == 2


def test_calls_in_flight_per_run_are_limited(fake_node: FakeNode, start_worker: Any) -> None:
    worker = Worker()

    @worker.workflow("threads", 1)
    def threads(ctx: WorkflowContext, _: Any) -> Any:
        results: list[Any] = []
        workers = [threading.Thread(target=lambda k=k: results.append(ctx.checkpoint(k, k))) for k in ("x", "y")]
        for t in workers:
            t.start()
        for t in workers:
            t.join()
        return sorted(results)

    stream = connect(fake_node, start_worker, worker, max_calls_in_flight=1)
    stream.execute(1, "threads")
    first = stream.expect("checkpoint")
    time.sleep(0.3)  # give the second thread the chance to (wrongly) send its call
    assert stream.pending() == []
    stream.commit(first)
    second = stream.expect("checkpoint")
    assert {first.key, second.key} == {"x", "y"}
    stream.commit(second)
    assert json.loads(stream.expect("workflow_result").result) == ["x", "y"]


# ---- liveness, reconnect, stop ----


def test_heartbeats_are_sent_when_idle(fake_node: FakeNode, start_worker: Any) -> None:
    worker = Worker()
    worker.register_workflow("idle", 1, lambda ctx, x: x)
    stream = connect(fake_node, start_worker, worker, heartbeat_interval_ms=50)
    wait_until(lambda: stream.heartbeats >= 3)
    assert stream.pending() == []  # heartbeats only
    assert not stream.worker_closed.is_set()  # acked: the worker stays


def test_a_silent_node_is_left_and_the_worker_reconnects(fake_node: FakeNode, start_worker: Any) -> None:
    worker = Worker(reconnect_delay=0.05)
    cancelled: list[str] = []

    @worker.workflow("wait", 1)
    def wait(ctx: WorkflowContext, _: Any) -> Any:
        try:
            return ctx.checkpoint("k", 1)
        except RunCancelled as e:
            cancelled.append(e.reason)
            raise

    start_worker(worker)
    silent = fake_node.next_stream()
    silent.auto_ack_heartbeats = False
    silent.register(heartbeat_interval_ms=50, heartbeat_timeout_ms=500)
    silent.execute(1, "wait")
    silent.expect("checkpoint")
    # nothing more from the node: past 500 ms the worker gives the stream up and connects again
    fresh = fake_node.next_stream()
    assert fresh.expect("register").worker_id == worker.worker_id
    assert silent.worker_closed.wait(10)
    wait_until(lambda: cancelled == ["STREAM_LOST"])


def test_a_lost_stream_drops_its_runs_and_the_worker_reconnects_with_backoff(fake_node: FakeNode, start_worker: Any) -> None:
    worker = Worker(reconnect_delay=0.05, max_reconnect_delay=0.2)
    cancelled: list[str] = []

    @worker.workflow("job", 1)
    def job(ctx: WorkflowContext, _: Any) -> Any:
        try:
            return ctx.checkpoint("k", ctx.run_id)
        except RunCancelled as e:
            cancelled.append(e.reason)
            raise

    stream = connect(fake_node, start_worker, worker)
    stream.execute(1, "job")
    stream.expect("checkpoint")
    stream.end(grpc.StatusCode.UNAVAILABLE, "the node restarts")
    # refused connections in a row: the worker keeps trying
    for _ in range(3):
        fake_node.next_stream().end(grpc.StatusCode.UNAVAILABLE, "still starting")
    fresh = fake_node.next_stream()
    fresh.register()
    wait_until(lambda: cancelled == ["STREAM_LOST"])
    fresh.execute(9, "job")  # the node hands the workflow out again, under a new run id
    proposal = fresh.expect("checkpoint")
    assert (proposal.run, proposal.seq, json.loads(proposal.value)) == (9, 0, 9)
    fresh.commit(proposal)
    assert fresh.expect("workflow_result").run == 9
    assert fresh.pending() == []  # nothing of run 1 on the new stream


def test_stop_cancels_runs_and_closes_the_stream(fake_node: FakeNode) -> None:
    worker = Worker(stop_grace=5)
    cancelled: list[str] = []

    @worker.workflow("job", 1)
    def job(ctx: WorkflowContext, _: Any) -> Any:
        try:
            return ctx.checkpoint("k", 1)
        except RunCancelled as e:
            cancelled.append(e.reason)
            raise

    worker.start(fake_node.target)
    stream = fake_node.next_stream()
    stream.register()
    stream.execute(1, "job")
    stream.expect("checkpoint")
    worker.stop()
    worker.join(15)
    assert cancelled == ["WORKER_STOPPING"]
    assert stream.worker_closed.wait(10)
    assert stream.pending() == []


def test_a_run_cancelled_while_it_waits_for_a_slot_never_starts(fake_node: FakeNode, start_worker: Any) -> None:
    worker = Worker(max_concurrent_runs=1)
    started: list[int] = []
    release = threading.Event()

    @worker.workflow("one", 1)
    def one(ctx: WorkflowContext, _: Any) -> Any:
        started.append(ctx.run_id)
        release.wait(10)
        return ctx.run_id

    stream = connect(fake_node, start_worker, worker)
    stream.execute(1, "one")
    stream.execute(2, "one")  # past the limit: waits for run 1
    wait_until(lambda: started == [1])
    stream.send(cancel=pb.Cancel(run=2, reason=pb.Cancel.ENDED_ELSEWHERE))
    stream.execute(3, "one")
    connection = worker._connection
    assert connection is not None
    wait_until(lambda: 2 not in connection.runs and 3 in connection.runs)  # both read while run 1 runs
    release.set()
    assert stream.expect("workflow_result").run == 1
    assert stream.expect("workflow_result").run == 3
    assert started == [1, 3]
    assert stream.pending() == []
