"""``python -m raftoral.worker --target T module:attr`` as a process: a list of marked functions
or a Worker object, runs against the fake node, SIGTERM or SIGINT stops it with status 0."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from worker_support import NO_GRPC_REASON

pytest.importorskip("grpc", reason=NO_GRPC_REASON)

from fake_node import FakeNode  # noqa: E402

PACKAGE_ROOT = Path(__file__).resolve().parents[2]

MODULE = textwrap.dedent(
    """
    import raftoral.worker as rw

    @rw.workflow("double", 1)
    def double(ctx, n):
        return ctx.checkpoint_compute("twice", lambda: n * 2)

    @rw.workflow("greet", 1)
    async def greet(ctx, name):
        return await ctx.checkpoint("greeting", f"hello {name}")

    workflows = [double, greet]

    worker = rw.Worker("127.0.0.1:1")   # --target overrides this
    worker.add(double)

    not_a_worker = 42
    """
)


def spawn(tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    (tmp_path / "cli_workflows.py").write_text(MODULE)
    env = dict(os.environ, PYTHONPATH=str(PACKAGE_ROOT))
    return subprocess.Popen([sys.executable, "-m", "raftoral.worker", *args], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("reference", ["cli_workflows:workflows", "cli_workflows:worker"])
def test_the_cli_runs_workflows_until_a_signal(tmp_path: Path, fake_node: FakeNode, reference: str) -> None:
    process = spawn(tmp_path, "--target", fake_node.target, "--worker-id", "cli-1", reference)
    try:
        stream = fake_node.next_stream(30)
        register = stream.register()
        assert register.worker_id == "cli-1"
        names = sorted((t.name, t.version) for t in register.types)
        assert names == ([("double", 1), ("greet", 1)] if reference.endswith("workflows") else [("double", 1)])
        stream.execute(1, "double", b"21")
        proposal = stream.expect("checkpoint")
        stream.send(run_compute=dict(run=1, key="twice", seq=0))
        stream.commit(proposal, stream.expect("compute_result").value)
        assert json.loads(stream.expect("workflow_result").result) == 42
        # SIGTERM or Ctrl-C: the same graceful stop
        process.send_signal(signal.SIGTERM if reference.endswith("workflows") else signal.SIGINT)
        out, err = process.communicate(timeout=30)
        assert process.returncode == 0, err
        assert stream.worker_closed.wait(10)
        assert "registered with node 7" in err
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--target", "127.0.0.1:9001", "cli_workflows"], "is not module:attr"),
        (["--target", "127.0.0.1:9001", "no_such_module:workflows"], "cannot import"),
        (["--target", "127.0.0.1:9001", "cli_workflows:missing"], "has no attribute"),
        (["--target", "127.0.0.1:9001", "cli_workflows:not_a_worker"], "expected a raftoral.worker.Worker"),
        (["--target", "nonsense", "cli_workflows:workflows"], "is not host:port"),
    ],
)
def test_the_cli_names_bad_arguments(tmp_path: Path, args: list[str], message: str) -> None:
    process = spawn(tmp_path, *args)
    out, err = process.communicate(timeout=60)
    assert process.returncode != 0
    assert message in err, err
