"""Bench scripts run with the project's Python: ``.venv`` at the repository root.

Scripts are not installed, and what they import needs Archivist's dependencies, so a script
started with another Python (``python3 scripts/bench/x.py``) starts again under ``.venv``'s.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent
VENV_PYTHON = REPO / ".venv" / "bin" / "python"


def reexec_in_venv() -> None:
    """Replace this process with the same command under ``.venv``'s Python, when that exists
    and is not the one running already. Returns only when nothing was replaced."""
    if VENV_PYTHON.exists() and Path(sys.prefix) != VENV_PYTHON.parent.parent:
        os.execv(VENV_PYTHON, [str(VENV_PYTHON), *sys.argv])
