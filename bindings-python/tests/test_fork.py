"""os.fork() after the library started: the child gets ProcessForked from every call and exits
normally (no hang in close or atexit); the parent is unaffected."""

from __future__ import annotations

import subprocess
import sys

from cluster import HERE, child_env, free_ports


def test_a_forked_child_gets_typed_errors_and_exits() -> None:
    (port,) = free_ports(1)
    result = subprocess.run(
        [sys.executable, str(HERE / "fork_process.py"), str(port)],
        capture_output=True,
        env=child_env(),
        text=True,
        timeout=180,
    )
    lines = result.stdout.splitlines()
    assert lines == [
        "child: describe raised ProcessForked",
        "child: start_workflow raised ProcessForked",
        "child: new node raised ProcessForked",
        "parent: child exited with 0",
        "parent: after the fork",
    ], result.stdout + result.stderr[-3000:]
    assert result.returncode == 0, result.stderr[-3000:]
