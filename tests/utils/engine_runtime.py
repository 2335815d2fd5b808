"""Run a short script in the engine's own runtime (.venv-rasa, Python 3.10)."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ENGINE_PYTHON = ROOT / ".venv-rasa" / "bin" / "python"


def last_line_in_engine(script: str, *args: str, env: dict[str, str] | None = None) -> str:
    """Run ``script`` with ``args`` in the engine's runtime (with ``env`` added to a bare
    environment); the last line it printed."""
    result = subprocess.run(
        [str(ENGINE_PYTHON), "-c", script, *args],
        cwd=ROOT,
        env={
            "PYTHONPATH": str(ROOT),
            "TF_CPP_MIN_LOG_LEVEL": "3",
            "PATH": "/usr/bin:/bin",
            **(env or {}),
        },
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return result.stdout.strip().splitlines()[-1]
