"""Workers against a real node: `./raftoral node --worker-listen ...` as a process, workflows
started and awaited through the node's client API (gRPC). Skipped, with the reason, when the
node is not built or this build's node has no worker listener."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, Iterator

import pytest

from worker_support import NO_GRPC_REASON

grpc = pytest.importorskip("grpc", reason=NO_GRPC_REASON)

from raftoral.worker import (  # noqa: E402
    AsyncWorkflowContext,
    ExecutionMode,
    RegistrationRefused,
    RunCancelled,
    Worker,
    WorkflowContext,
)
from raftoral.worker._pb import client_api_pb2 as capi  # noqa: E402
from raftoral.worker._pb import client_api_pb2_grpc as capi_grpc  # noqa: E402

PACKAGE_ROOT = Path(__file__).resolve().parents[2]
REPO = PACKAGE_ROOT.parent
RAFTORAL = REPO / "raftoral"
sys.path.insert(0, str(PACKAGE_ROOT / "tests"))
from cluster import free_ports, wait_until  # noqa: E402


def _node_unavailable() -> str | None:
    if not (REPO / "examples" / "target" / "classes").is_dir() or not (REPO / "examples" / "target" / "classpath.txt").is_file():
        return ("the node is not built (mvn -q install -DskipTests && mvn -q -pl examples "
                "dependency:build-classpath -Dmdep.outputFile=target/classpath.txt, or run ./raftoral once)")
    try:
        help_text = subprocess.run([str(RAFTORAL), "node", "--help"], capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"./raftoral node --help failed: {e}"
    if "--worker-address" not in help_text.stdout + help_text.stderr and "--worker-listen" not in help_text.stdout + help_text.stderr:
        return "this build's node has no --worker-listen (the node side of the worker protocol)"
    return None


_REASON = _node_unavailable()
pytestmark = pytest.mark.skipif(_REASON is not None, reason=_REASON or "")


class Node:
    def __init__(self, tmp: Path, ports: list[int] | None = None, node_id: int = 1, members: str | None = None) -> None:
        raft, api, worker = ports or free_ports(3)
        self.node_id = node_id
        self.api = f"127.0.0.1:{api}"
        self.worker_address = f"127.0.0.1:{worker}"
        self.log = tmp / f"node-{node_id}.log"
        self._log = open(self.log, "wb")
        cluster = ["--node-id", str(node_id), "--members", members] if members else []
        self.process = subprocess.Popen(
            [str(RAFTORAL), "node", "--bootstrap", *cluster, "--in-memory", "--raft-address", f"127.0.0.1:{raft}",
             "--api-address", self.api, "--worker-listen", self.worker_address],
            stdout=self._log, stderr=subprocess.STDOUT)
        self.channel = grpc.insecure_channel(self.api)
        self.client = capi_grpc.RaftoralApiStub(self.channel)

    def start(self, type: str, input: Any, workflow_id: str, version: int = 1) -> str:
        def attempt() -> str | None:
            try:
                return self.client.Start(capi.StartRequest(type=type, version=version, input=json.dumps(input).encode(),
                                                           workflow_id=workflow_id), timeout=30).workflow_id
            except grpc.RpcError as e:
                if e.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                    return None  # the node is still starting
                raise

        return wait_until(attempt, 120, f"the start of {workflow_id} ({self.log})", interval=0.5)

    def await_outcome(self, workflow_id: str, timeout: float = 120) -> capi.WorkflowOutcome:
        return self.client.Await(capi.AwaitRequest(workflow_id=workflow_id, timeout_millis=int(timeout * 1000)),
                                 timeout=timeout + 10)

    def close(self) -> None:
        self.channel.close()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    # One node for the single-node tests (a JVM start each would double the suite's time); each
    # test uses its own workflow types and ids.
    n = Node(tmp_path_factory.mktemp("node"))
    yield n
    n.close()


COMPUTED: list[str] = []


def order(ctx: WorkflowContext, item: str) -> Any:
    reservation = ctx.checkpoint_compute("reserve", lambda: COMPUTED.append(item) or f"reserved {item}")
    note = ctx.checkpoint("note", f"note for {item}")
    count = ctx.var("count", 1)
    count.update(lambda n: n + 1)
    return {"reservation": reservation, "note": note, "count": count.get()}


def fails(ctx: WorkflowContext, _: Any) -> Any:
    ctx.checkpoint("before", 1)
    raise ValueError("bad order")


class Declined(Exception):
    pass


ATTEMPTS: list[int] = []


def retries(ctx: WorkflowContext, _: Any) -> Any:
    def charge() -> str:
        ATTEMPTS.append(len(ATTEMPTS))
        if len(ATTEMPTS) == 1:
            raise Declined("card declined")
        return "charged"

    try:
        ctx.checkpoint_compute("charge", charge)
    except Declined as e:
        first = f"{type(e).__name__}: {e}"
    # the failed step left its position free: the retry takes it (the node checks the seq)
    return [first, ctx.checkpoint_compute("charge", charge), ctx.checkpoint("after", 1)]


async def shipping(ctx: AsyncWorkflowContext, item: str) -> Any:
    async def label() -> str:
        return f"label {item}"

    return [await ctx.checkpoint_compute("label", label), await ctx.checkpoint("step", 2)]


def test_workflows_run_on_an_in_process_worker(node: Node) -> None:
    worker = Worker(node.worker_address, reconnect_delay=0.2)
    worker.register_workflow("py-order", 1, order)
    worker.register_workflow("py-fails", 1, fails)
    worker.register_workflow("py-shipping", 1, shipping)
    worker.register_workflow("py-retries", 1, retries)
    worker.start()
    try:
        assert worker.wait_registered(120), f"the worker did not register ({node.log})"
        node.start("py-order", "book", "o-1")
        node.start("py-fails", None, "f-1")
        node.start("py-shipping", "lamp", "s-1")
        node.start("py-retries", None, "r-1")
        done = node.await_outcome("o-1")
        assert done.info.status == capi.COMPLETED, done
        assert json.loads(done.result) == {"reservation": "reserved book", "note": "note for book", "count": 2}
        assert COMPUTED == ["book"]
        failed = node.await_outcome("f-1")
        assert failed.info.status == capi.FAILED
        assert (failed.info.error_type, failed.info.error_message) == ("ValueError", "bad order")
        shipped = node.await_outcome("s-1")
        assert shipped.info.status == capi.COMPLETED and json.loads(shipped.result) == ["label lamp", 2]
        retried = node.await_outcome("r-1")
        assert retried.info.status == capi.COMPLETED, retried
        assert json.loads(retried.result) == ["Declined: card declined", "charged", 1]
        assert ATTEMPTS == [0, 1]
    finally:
        worker.stop()
        worker.join(30)


def test_a_type_the_node_runs_embedded_is_refused(node: Node) -> None:
    # `raftoral node` registers the example workflows (order v1 among them) itself.
    worker = Worker(node.worker_address, reconnect_delay=0.2, max_reconnect_delay=1.0)
    worker.register_workflow("order", 1, order)
    worker.start()
    try:
        with pytest.raises(RegistrationRefused) as refused:
            worker.join(180)  # retries while the node starts, then ends with the refusal
        assert refused.value.status == "FAILED_PRECONDITION", refused.value
    finally:
        worker.stop()


def test_an_owner_only_type(node: Node) -> None:
    worker = Worker(node.worker_address, reconnect_delay=0.2, max_reconnect_delay=1.0)
    worker.register_workflow("py-owner-only", 1, order, mode=ExecutionMode.OWNER_ONLY)
    worker.start()
    try:
        assert worker.wait_registered(120), f"the worker did not register ({node.log})"
        node.start("py-owner-only", "pen", "oo-1")
        outcome = node.await_outcome("oo-1")
        assert outcome.info.status == capi.COMPLETED, outcome
        assert json.loads(outcome.result) == {"reservation": "reserved pen", "note": "note for pen", "count": 2}
    finally:
        worker.stop()
        worker.join(30)


def test_terminate_cancels_the_run_on_the_worker(node: Node) -> None:
    import threading  # noqa: PLC0415

    started, cancelled = threading.Event(), []

    def waits(ctx: WorkflowContext, _: Any) -> Any:
        i = 0
        started.set()
        try:
            while True:  # ticks until the node cancels the run
                i = ctx.checkpoint("tick", i) + 1
        except RunCancelled as e:
            cancelled.append((e.reason, ctx.is_terminated()))
            raise

    worker = Worker(node.worker_address)
    worker.register_workflow("py-waits", 1, waits)
    worker.start()
    try:
        assert worker.wait_registered(120), f"the worker did not register ({node.log})"
        node.start("py-waits", None, "w-1")
        assert started.wait(60)
        info = node.client.Terminate(capi.TerminateRequest(workflow_id="w-1", reason="changed my mind"), timeout=30)
        assert info.status == capi.TERMINATED
        outcome = node.await_outcome("w-1")
        assert outcome.info.status == capi.TERMINATED and outcome.info.error_message == "changed my mind"
        wait_until(lambda: cancelled, 60, "the run to unwind")
        assert cancelled == [("TERMINATED", True)]
    finally:
        worker.stop()
        worker.join(30)


WORKER_MODULE = textwrap.dedent(
    """
    import os, time
    import raftoral.worker as rw

    LOG = os.environ["STEP_LOG"]
    GATE = os.environ["STEP_GATE"]

    def note(line):
        with open(LOG, "a") as f:
            f.write(line + "\\n")

    @rw.workflow("py-two-steps", 1)
    def two_steps(ctx, n):
        def first():
            note("first")
            return n + 1

        def second():
            note("second-start")
            while not os.path.exists(GATE):
                time.sleep(0.05)
            note("second-done")
            return n + 2

        a = ctx.checkpoint_compute("first", first)
        b = ctx.checkpoint_compute("second", second)
        return [a, b]

    workflows = [two_steps]
    """
)


def test_a_killed_worker_process_is_replaced_and_committed_steps_do_not_run_again(node: Node, tmp_path: Path) -> None:
    (tmp_path / "two_steps.py").write_text(WORKER_MODULE)
    log, gate = tmp_path / "steps.log", tmp_path / "gate"
    env = dict(os.environ, PYTHONPATH=str(PACKAGE_ROOT), STEP_LOG=str(log), STEP_GATE=str(gate))

    def spawn(name: str) -> subprocess.Popen[bytes]:
        out = open(tmp_path / f"{name}.log", "wb")
        return subprocess.Popen([sys.executable, "-m", "raftoral.worker", "--target", node.worker_address,
                                 "--worker-id", name, "two_steps:workflows"], cwd=tmp_path, env=env,
                                stdout=out, stderr=subprocess.STDOUT)

    def lines() -> list[str]:
        return log.read_text().split() if log.exists() else []

    def registered(name: str) -> bool:
        return "registered with node" in (tmp_path / f"{name}.log").read_text()

    first = spawn("worker-1")
    second = None
    try:
        wait_until(lambda: registered("worker-1"), 120, f"worker-1 to register ({node.log})")
        node.start("py-two-steps", 40, "k-1")
        wait_until(lambda: "second-start" in lines(), 120, "the second step to start")
        first.send_signal(signal.SIGKILL)
        first.wait(30)
        second = spawn("worker-2")
        wait_until(lambda: lines().count("second-start") == 2, 120, "the second step to start again")
        gate.touch()
        outcome = node.await_outcome("k-1")
        assert outcome.info.status == capi.COMPLETED, outcome
        assert json.loads(outcome.result) == [41, 42]
        # the committed first step ran once; the uncommitted second ran again and finished once
        assert lines() == ["first", "second-start", "second-start", "second-done"]
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    process.kill()



def test_the_owner_node_killed_under_its_worker_the_workflow_completes_on_another(tmp_path: Path) -> None:
    import threading  # noqa: PLC0415

    ports = free_ports(9)
    members = ",".join(f"{i + 1}=127.0.0.1:{ports[3 * i]}" for i in range(3))
    nodes = [Node(tmp_path, ports[3 * i: 3 * i + 3], i + 1, members) for i in range(3)]
    computed: list[tuple[int, str]] = []  # (node id of the worker, step)
    gate = threading.Event()
    blocked = threading.Event()
    lock = threading.Lock()

    def make(node_id: int) -> Any:
        def steps(ctx: WorkflowContext, n: int) -> Any:
            def step(name: str) -> Any:
                def run() -> str:
                    with lock:
                        computed.append((node_id, name))
                        first = name == "s2" and not blocked.is_set()
                        if first:
                            blocked.set()
                    if first:
                        gate.wait(120)  # the owner's first s2 hangs until its node is gone
                    return f"{name} by node {node_id}"
                return run

            return [ctx.checkpoint_compute(name, step(name)) for name in ("s0", "s1", "s2", "s3")]

        return steps

    workers = []
    try:
        for node in nodes:
            worker = Worker(node.worker_address, reconnect_delay=0.2, max_reconnect_delay=1.0, stop_grace=5)
            worker.register_workflow("py-failover", 1, make(node.node_id))
            worker.start()
            workers.append(worker)
        for worker in workers:
            assert worker.wait_registered(180), "a worker did not register"
        nodes[0].start("py-failover", 1, "fo-1")
        assert blocked.wait(120), "s2 did not start"
        owner = nodes[0].client.Describe(capi.DescribeRequest(workflow_id="fo-1"), timeout=30).owner_node
        victim = next(n for n in nodes if n.node_id == owner)
        assert computed[-1] == (owner, "s2")
        victim.process.send_signal(signal.SIGKILL)
        victim.process.wait(30)
        gate.set()
        survivor = next(n for n in nodes if n is not victim)
        outcome = survivor.await_outcome("fo-1", timeout=180)
        assert outcome.info.status == capi.COMPLETED, outcome
        result = json.loads(outcome.result)
        assert result[:2] == [f"s0 by node {owner}", f"s1 by node {owner}"]
        assert result[2] != f"s2 by node {owner}"  # the killed owner's s2 was never committed
        steps_run = [name for _, name in computed]
        # committed steps ran once in the cluster; only the uncommitted s2 ran again, on the new owner
        assert sorted(steps_run) == ["s0", "s1", "s2", "s2", "s3"], computed
    finally:
        gate.set()
        for worker in workers:
            worker.stop()
        for worker in workers:
            try:
                worker.join(30)
            except BaseException:  # noqa: BLE001 - a worker of the killed node may end with a refusal
                pass
        for node in nodes:
            node.close()
