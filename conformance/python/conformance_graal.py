"""The graalpy entry point of the conformance suite: the instruction-set interpreter
(conformance_interp.py, shared with the python and python-worker entry points) as Python
workflows run inside ``raftoral node`` by polyglot-graal through GraalPy:

    raftoral node ... --workflows conformance/python/conformance_graal.py

with the conformance module's classes on the node's class path: they give workflows the
side-effect log as the host module "conformance" (EffectLogModule), the only way a sandboxed
workflow reaches a file. The sandbox refuses threads, so the branches of ``parallel`` run one
after another (one of the interleavings threads may take).
"""

from typing import Any

import conformance_interp as interp
from raftoral import host_module, workflow

_effects = host_module("conformance")


def _log_event(wf: str, ev: str, key: str, seq: int, attempt: int, value: Any = None, has_value: bool = False) -> None:
    if has_value:
        _effects.log(wf, ev, key, seq, attempt, value)
    else:
        _effects.log(wf, ev, key, seq, attempt)


interp.log_event = _log_event
interp.node_label = _effects.node


class GraalInterpreter(interp.Interpreter):
    def parallel(self, branches: list[list[Any]]) -> None:
        """Runs the branches one after another (no threads here), each to its end; then the first
        failed branch (in branch order) fails the instruction with its error, as with threads."""
        failures: list[BaseException] = []
        for ops in branches:
            try:
                self.branch().block(ops)
            except interp.raftoral.WorkflowTerminated:
                raise
            except Exception as e:  # noqa: BLE001 - raised below, in branch order
                failures.append(e)
        if failures:
            raise failures[0]


def _conformance(name: str, version: int, **options: Any) -> None:
    def run(ctx: Any, input: Any) -> Any:
        return GraalInterpreter(ctx, version).run(input)

    workflow(name, version, **options)(run)


_conformance("conformance", 1)
_conformance("conformance", 2)
_conformance("conformance_owner_only", 1, mode="owner_only")
_conformance("conformance_keep_last", 1, keep_last_per_key=2)
