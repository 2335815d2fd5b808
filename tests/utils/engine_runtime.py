"""Run a short script or module in the engine's own runtime (.venv-rasa, Python 3.10)."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ENGINE_PYTHON = ROOT / ".venv-rasa" / "bin" / "python"


def run_in_engine(
    *args: str, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """``python ARGS`` in the engine's runtime, from the repository root, with ``env`` added
    to a bare environment; its output captured (the caller checks the return code)."""
    return subprocess.run(
        [str(ENGINE_PYTHON), *args],
        cwd=ROOT,
        env={
            "PYTHONPATH": str(ROOT),
            "TF_CPP_MIN_LOG_LEVEL": "3",
            "PATH": "/usr/bin:/bin",
            "RASA_TELEMETRY_ENABLED": "false",
            **(env or {}),
        },
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def last_line_in_engine(script: str, *args: str, env: dict[str, str] | None = None) -> str:
    """Run ``script`` with ``args`` in the engine's runtime (with ``env`` added to a bare
    environment); the last line it printed."""
    result = run_in_engine("-c", script, *args, env=env)
    result.check_returncode()
    return result.stdout.strip().splitlines()[-1]
