"""Starts a node, runs a workflow, then forks. The child tries the library (every call must
raise ProcessForked at once) and exits through sys.exit, so atexit's shutdown and the `with`
block's close run there too and must not hang. The parent waits for the child (and kills it
if it hangs), then checks that its own node still works. Prints one line per outcome, for
test_fork.py. Usage: fork_process.py PORT."""

from __future__ import annotations

import os
import sys
import time

import raftoral


def echo(ctx: raftoral.WorkflowContext, value: str) -> str:
    return ctx.checkpoint("echo", value)


def child(node: raftoral.Node, workflow_id: str) -> None:
    for name, call in [
        ("describe", lambda: node.describe(workflow_id)),
        ("start_workflow", lambda: node.start_workflow("echo", 1, "in the child")),
        ("new node", lambda: raftoral.Node(node_id=2)),
    ]:
        try:
            call()
            print(f"child: {name} returned", flush=True)
        except raftoral.ProcessForked:
            print(f"child: {name} raised ProcessForked", flush=True)
    sys.exit(0)  # not os._exit: the exit path (close, atexit shutdown) is under test


def main() -> None:
    with raftoral.Node(node_id=1, members={1: f"127.0.0.1:{sys.argv[1]}"}) as node:
        node.register_workflow("echo", 1, echo)
        handle = node.start_workflow("echo", 1, "before the fork")
        handle.result(timeout=60)
        sys.stdout.flush()
        pid = os.fork()
        if pid == 0:
            child(node, handle.workflow_id)
        deadline = time.monotonic() + 60
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                print(f"parent: child exited with {os.waitstatus_to_exitcode(status)}", flush=True)
                break
            if time.monotonic() > deadline:
                os.kill(pid, 9)
                os.waitpid(pid, 0)
                print("parent: child hung", flush=True)
                break
            time.sleep(0.05)
        print(f"parent: {node.start_workflow('echo', 1, 'after the fork').result(timeout=60)}", flush=True)


if __name__ == "__main__":
    main()
