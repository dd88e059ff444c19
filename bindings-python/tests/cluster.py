"""A cluster of node processes (node_process.py) driven through stdin/stdout JSON lines."""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any, Callable, TypeVar

HERE = Path(__file__).resolve().parent
PACKAGE_ROOT = HERE.parent
T = TypeVar("T")


def free_ports(count: int) -> list[int]:
    """Ports the kernel just handed out; released again for the nodes to bind."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PACKAGE_ROOT), env.get("PYTHONPATH")]))
    return env


def wait_until(condition: Callable[[], T], timeout: float, what: str, interval: float = 0.1) -> T:
    """Polls ``condition`` until it returns something truthy; fails the test after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(interval)


class NodeProcess:
    def __init__(self, node_id: int, config: dict[str, Any], log: Path) -> None:
        self.node_id = node_id
        self.log = log
        self._stderr = open(log, "wb")
        self.process = subprocess.Popen(
            [sys.executable, str(HERE / "node_process.py"), json.dumps(config)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=child_env(),
            text=True,
        )
        # A reader thread, so that every read can have a deadline.
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def receive(self, timeout: float) -> dict[str, Any]:
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"node {self.node_id} did not answer within {timeout} s; log: {self.tail()}") from None
        if line is None:
            raise AssertionError(f"node {self.node_id} exited ({self.process.poll()}); log: {self.tail()}")
        return json.loads(line)  # type: ignore[no-any-return]

    def call(self, deadline: float = 60, **command: Any) -> dict[str, Any]:
        """Sends one command and returns its answer (failing the test after ``deadline`` s)."""
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        return self.receive(deadline)

    def tail(self, lines: int = 30) -> str:
        self._stderr.flush()
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def request_stop(self) -> None:
        stdin = self.process.stdin
        if self.process.poll() is None and stdin is not None and not stdin.closed:
            try:
                stdin.write(json.dumps({"op": "quit"}) + "\n")
                stdin.close()
            except OSError:  # it has just died
                pass

    def stop(self, timeout: float = 60) -> None:
        self.request_stop()
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=30)
        self._stderr.close()


class Cluster:
    """Three node processes started at once (a bootstrap needs a majority up)."""

    def __init__(self, root: Path, size: int = 3) -> None:
        self.effects = root / "effects.log"
        self.gates = root / "gates"
        self.gates.mkdir()
        ports = free_ports(size)
        members = {str(i + 1): f"127.0.0.1:{port}" for i, port in enumerate(ports)}
        self.nodes: dict[int, NodeProcess] = {}
        for i in range(1, size + 1):
            config = {
                "node": {"node_id": i, "members": members, "data_dir": str(root / f"node-{i}")},
                "effects": str(self.effects),
                "gates": str(self.gates),
            }
            self.nodes[i] = NodeProcess(i, config, root / f"node-{i}.log")
        for node in self.nodes.values():
            ready = node.receive(timeout=120)
            assert ready == {"event": "ready", "node_id": node.node_id}, ready

    def effect_counts(self) -> Counter[tuple[str, int]]:
        """How often each (workflow id, step) side effect ran."""
        if not self.effects.exists():
            return Counter()
        return Counter((wf, int(step)) for wf, step, *_ in (line.split() for line in self.effects.read_text().splitlines()))

    def effect_nodes(self, workflow_id: str) -> dict[int, set[int]]:
        """The node ids that ran each step of a workflow."""
        ran: dict[int, set[int]] = {}
        for line in self.effects.read_text().splitlines():
            wf, step, node, _pid = line.split()
            if wf == workflow_id:
                ran.setdefault(int(step), set()).add(int(node))
        return ran

    def open_gate(self, workflow_id: str) -> None:
        (self.gates / workflow_id).touch()

    def stop(self) -> None:
        # Ask all at once: a node that stops last must not wait on peers that are gone.
        for node in self.nodes.values():
            node.request_stop()
        for node in self.nodes.values():
            node.stop()
