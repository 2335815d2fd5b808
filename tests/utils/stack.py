"""Start the real stack (action server, Rasa server with the trained model, gateway)
through the project's own supervisor, as `make run` does, on free ports."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from bot.config import PROJECT_ROOT
from tests.utils.ports import free_port

READY_TIMEOUT = 420.0


@dataclass
class Stack:
    base_url: str
    database_url: str
    admin_token: str
    rasa_port: int
    actions_port: int
    var_dir: Path
    log_path: Path
    process: subprocess.Popen[bytes]

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def pid_of(self, name: str) -> int:
        """PID of one child (``rasa`` or ``actions``), found by its port."""
        port = self.rasa_port if name == "rasa" else self.actions_port
        pattern = f"rasa run.*--port {port}" if name == "rasa" else f"rasa_sdk.*--port {port}"
        out = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True)
        pids = [int(p) for p in out.stdout.split()]
        if not pids:
            raise LookupError(f"{name} is not running")
        return pids[0]


def wait_healthy(base_url: str, timeout: float = READY_TIMEOUT) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    last: dict[str, object] = {}
    while time.monotonic() < deadline:
        try:
            response = httpx.get(f"{base_url}/healthz", timeout=5)
            last = response.json()
            if response.status_code == 200:
                return last
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise TimeoutError(f"stack not healthy in {timeout:.0f} s: {last}")


@contextmanager
def running_stack(tmp: Path, extra_env: dict[str, str] | None = None) -> Iterator[Stack]:
    from tests.conftest import migrate

    var_dir = tmp / "var"
    var_dir.mkdir(parents=True, exist_ok=True)
    database_url = (extra_env or {}).get("DATABASE_URL", f"sqlite:///{var_dir / 'app.db'}")
    migrate(database_url)
    port, rasa_port, actions_port = free_port(), free_port(), free_port()
    admin_token = "integration-admin-token-0123456789"
    env = {
        **os.environ,
        "PORT": str(port),
        "RASA_PORT": str(rasa_port),
        "ACTIONS_PORT": str(actions_port),
        "DATABASE_URL": database_url,
        "TRACKER_STORE_URL": f"sqlite:///{var_dir / 'rasa-tracker.db'}",
        "VAR_DIR": str(var_dir),
        "ADMIN_API_TOKEN": admin_token,
        "ENVIRONMENT": "test",
        # Someone is always on duty in the shared stack; outside hours is tested on its own.
        "WORKING_HOURS": '{"mon-sun": "00:00-23:59"}',
        # Every test client comes from 127.0.0.1: per-IP limits would count them all as one
        # person (per-session limits stay on; tests/unit/test_ratelimit.py covers both).
        "RATE_LIMIT_IP_MESSAGES_PER_MINUTE": "0",
        "RATE_LIMIT_IP_SESSIONS_PER_MINUTE": "0",
        "RATE_LIMIT_IP_LOGINS_PER_MINUTE": "0",
        **(extra_env or {}),
    }
    log_path = tmp / "stack.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot.supervisor"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    stack = Stack(
        f"http://127.0.0.1:{port}",
        database_url,
        admin_token,
        rasa_port,
        actions_port,
        var_dir,
        log_path,
        process,
    )
    try:
        wait_healthy(stack.base_url)
        yield stack
    except BaseException:
        sys.stderr.write(stack.log()[-6000:])
        raise
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
