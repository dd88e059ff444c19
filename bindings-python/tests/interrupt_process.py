"""Blocks the main thread, then test_interrupt.py sends SIGINT and expects KeyboardInterrupt to
end the process. Usage: interrupt_process.py result|start PORT PORT PORT.

result: WorkflowHandle.result(timeout=60) on a workflow that waits.
start: Node.start() of a bootstrap whose two peers are down, with a start timeout of 600 s."""

from __future__ import annotations

import signal
import sys
import time

import raftoral


def wait_forever(ctx: raftoral.WorkflowContext, _: None) -> str:
    deadline = time.monotonic() + 60  # bounded, in case nothing stops it
    while time.monotonic() < deadline and not ctx.is_terminated():
        time.sleep(0.05)
    return "done"


def main() -> None:
    # Python installs its SIGINT handler only when SIGINT is not ignored at start-up, and a
    # process started in the background of a shell without job control (a CI runner's) inherits
    # it ignored: the test is about the engine's waits, not about how its parent was started.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    during, ports = sys.argv[1], sys.argv[2:]
    if during == "start":
        members = {i + 1: f"127.0.0.1:{port}" for i, port in enumerate(ports)}
        node = raftoral.Node(node_id=1, members=members, start_timeout=600)
        print("waiting", flush=True)
        with node:
            print("started", flush=True)
        return
    with raftoral.Node(node_id=1, members={1: f"127.0.0.1:{ports[0]}"}) as node:
        node.register_workflow("wait", 1, wait_forever)
        handle = node.start_workflow("wait", 1, None)
        print("waiting", flush=True)
        handle.result(timeout=60)
    print("result returned", flush=True)


if __name__ == "__main__":
    main()
