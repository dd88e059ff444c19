"""``python -m raftoral.worker --target 127.0.0.1:9001 module:attr``

``attr`` names, in the importable module ``module``, either a :class:`raftoral.worker.Worker`
(with its workflows registered; ``--target`` overrides its own target) or a list/tuple of
functions marked with ``@raftoral.worker.workflow(name, version)``. Runs until SIGINT/SIGTERM.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from typing import Any, Sequence

from .._errors import PermissionDenied, RaftoralError, Unauthenticated
from ._errors import RegistrationRefused
from ._worker import Worker


def load(reference: str, worker_options: dict[str, Any]) -> Worker:
    module_name, sep, attr = reference.partition(":")
    if not sep or not module_name or not attr:
        raise SystemExit(f"error: {reference!r} is not module:attr (e.g. myapp.workflows:worker)")
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise SystemExit(f"error: cannot import {module_name!r}: {e}") from e
    value: Any = module
    for part in attr.split("."):
        if not hasattr(value, part):
            raise SystemExit(f"error: {module_name!r} has no attribute {attr!r}")
        value = getattr(value, part)
    if isinstance(value, Worker):
        return value
    if isinstance(value, (list, tuple)):
        worker = Worker(**worker_options)
        worker.add(*value)
        return worker
    raise SystemExit(f"error: {reference} is a {type(value).__name__}: expected a raftoral.worker.Worker "
                     "or a list of functions marked with @raftoral.worker.workflow")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m raftoral.worker",
                                     description="Runs the workflow functions of module:attr for a Raftoral node.")
    parser.add_argument("--target", help="the node's worker address (its --worker-listen), e.g. 127.0.0.1:9001")
    parser.add_argument("--worker-id", help="this worker's name in the node's logs (default host:pid)")
    parser.add_argument("--max-concurrent-runs", type=int, default=0, help="runs at once (0: the node's default)")
    parser.add_argument("--tls-ca", help="PEM file of the CA that signed the node's certificate: connect with TLS "
                        "(default $RAFTORAL_TLS_CA)")
    parser.add_argument("--tls-cert", help="PEM file of this worker's client certificate (OU=worker), with --tls-key")
    parser.add_argument("--tls-key", help="PEM file of the client certificate's key")
    parser.add_argument("--token", help="a token of role worker, sent as 'authorization: Bearer TOKEN' "
                        "(default $RAFTORAL_TOKEN)")
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING, ERROR (default INFO)")
    parser.add_argument("workflows", metavar="module:attr", help="a Worker, or a list of @workflow functions")
    args = parser.parse_args(argv)
    if (args.tls_cert is None) != (args.tls_key is None):
        parser.error("--tls-cert and --tls-key go together")
    if args.token is not None and not args.token.strip():
        parser.error("--token must not be blank")
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    options: dict[str, Any] = {"max_concurrent_runs": args.max_concurrent_runs}
    if args.worker_id:
        options["worker_id"] = args.worker_id
    security = {"tls_ca": args.tls_ca, "tls_cert": args.tls_cert, "tls_key": args.tls_key, "token": args.token}
    options.update({k: v for k, v in security.items() if v is not None})
    sys.path.insert(0, "")  # modules of the current directory, as `python -m` users expect
    try:
        worker = load(args.workflows, options)
        if args.worker_id:
            worker.worker_id = args.worker_id
        if args.max_concurrent_runs:
            worker.max_concurrent_runs = args.max_concurrent_runs
        # A Worker of the module: the flags override its own settings.
        if args.tls_ca is not None:
            worker.tls_ca = args.tls_ca
        if args.tls_cert is not None:
            worker.tls_cert, worker.tls_key = args.tls_cert, args.tls_key
        if args.token is not None:
            worker._token = args.token.strip()
        worker.run(args.target)
    except (Unauthenticated, PermissionDenied) as e:
        logging.getLogger("raftoral.worker").error("the node refused this worker's credentials: %s", e)
        return 6
    except RegistrationRefused as e:
        logging.getLogger("raftoral.worker").error("the node refused this worker: %s", e)
        return 3
    except RaftoralError as e:
        logging.getLogger("raftoral.worker").error("%s", e)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
