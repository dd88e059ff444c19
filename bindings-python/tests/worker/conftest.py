from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

@pytest.fixture
def fake_node() -> Iterator[Any]:
    from fake_node import FakeNode

    node = FakeNode()
    yield node
    node.close()


@pytest.fixture
def start_worker(fake_node: Any) -> Iterator[Callable[..., Any]]:
    """Starts a Worker against the fake node in a background thread; stops it after the test."""
    started: list[Any] = []

    def start(worker: Any) -> Any:
        worker.start(fake_node.target)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()
    for worker in started:
        try:
            worker.join(15)
        except BaseException:  # noqa: BLE001 - a test that expects run() to fail checks it itself
            pass
