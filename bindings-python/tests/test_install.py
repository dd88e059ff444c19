"""`pip install ./bindings-python` gives a working package: installed into a fresh virtual
environment (pip fetches the build backend, setuptools, from PyPI as for any user) and used
from outside the source tree, it runs a workflow on an embedded node."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from cluster import PACKAGE_ROOT, free_ports

SCRIPT = textwrap.dedent(
    """
    import sys
    import raftoral

    assert "site-packages" in raftoral.__file__, raftoral.__file__
    with raftoral.Node(node_id=1, raft_address=f"127.0.0.1:{sys.argv[1]}") as node:
        @node.workflow("double", version=1)
        def double(ctx, n):
            return ctx.checkpoint_compute("twice", lambda: n * 2)

        print(node.start_workflow("double", 1, 21).result(timeout=60))
    """
)


def library() -> str:
    return os.environ.get("RAFTORAL_LIBRARY") or str(
        PACKAGE_ROOT.parent / "ffi-c-api" / "target" / "native" / "libraftoral.so"
    )


def test_pip_install_into_a_fresh_venv(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", str(PACKAGE_ROOT)],
        capture_output=True,
        text=True,
    )
    assert install.returncode == 0, install.stdout + install.stderr

    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["RAFTORAL_LIBRARY"] = library()
    (port,) = free_ports(1)
    run = subprocess.run(
        [str(python), "-c", SCRIPT, str(port)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.strip().splitlines()[-1] == "42"
