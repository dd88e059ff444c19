from __future__ import annotations

import sys
from pathlib import Path

# Tests import the package from this source tree (no install needed) and the helpers beside them.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
