"""Make the pack's rule package and the components importable without an install."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
for p in (ROOT / "policies", ROOT / "components"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))
