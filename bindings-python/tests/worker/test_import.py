"""Without grpcio, `import raftoral.worker` names the extra to install; `import raftoral` (the
embedded binding) does not need grpcio at all."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import sys
sys.modules["grpc"] = None          # as if grpcio were not installed
import raftoral                     # the embedded binding imports without it
try:
    import raftoral.worker
except ImportError as e:
    print(e)
else:
    print("imported")
"""


def test_the_worker_package_names_its_missing_extra() -> None:
    env = dict(os.environ, PYTHONPATH=str(PACKAGE_ROOT))
    out = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=60, check=True)
    assert "pip install 'raftoral[worker]'" in out.stdout, out
