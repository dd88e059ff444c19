"""Blocks the main thread in WorkflowHandle.result(timeout=60) on a workflow that waits;
test_interrupt.py sends SIGINT and expects KeyboardInterrupt to end the process."""

from __future__ import annotations

import sys
import time

import raftoral


def wait_forever(ctx: raftoral.WorkflowContext, _: None) -> str:
    deadline = time.monotonic() + 60  # bounded, in case nothing stops it
    while time.monotonic() < deadline and not ctx.is_terminated():
        time.sleep(0.05)
    return "done"


def main() -> None:
    with raftoral.Node(node_id=1, members={1: f"127.0.0.1:{sys.argv[1]}"}) as node:
        node.register_workflow("wait", 1, wait_forever)
        handle = node.start_workflow("wait", 1, None)
        print("waiting", flush=True)
        handle.result(timeout=60)
    print("result returned", flush=True)


if __name__ == "__main__":
    main()
