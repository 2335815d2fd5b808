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
    # Rasa's tracker store (SQLite in var_dir, or the PostgreSQL one the fixture gives).
    tracker_store_url: str = ""

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def pid_of(self, name: str) -> int:
        """PID of one child (``rasa`` or ``actions``, found by its port; ``gateway``, which
        has no port in its command line, found as this stack's supervisor's child)."""
        if name == "gateway":
            command = ["pgrep", "-P", str(self.process.pid), "-f", "bot[.]serve$"]
        else:
            port = self.rasa_port if name == "rasa" else self.actions_port
            program = "engine_launch run" if name == "rasa" else "rasa_sdk"
            pattern = f"{program}.*--port {port}"
            command = ["pgrep", "-f", pattern]
        out = subprocess.run(command, capture_output=True, text=True)
        pids = [int(p) for p in out.stdout.split()]
        if not pids:
            raise LookupError(f"{name} is not running")
        return pids[0]


def kill_group(pid: int) -> None:
    """Crash a service the way a real crash looks: the process and its workers at once."""
    os.killpg(os.getpgid(pid), signal.SIGKILL)


def wait_component(stack: Stack, name: str, state: str, timeout: float = 30) -> dict:
    """Poll ``/healthz`` until component ``name`` is in ``state``; return the body."""
    deadline = time.monotonic() + timeout
    body: dict = {}
    while time.monotonic() < deadline:
        response = httpx.get(f"{stack.base_url}/healthz", timeout=10)
        body = response.json()
        if body["components"][name] == state:
            return body
        time.sleep(0.3)
    raise AssertionError(f"{name} never became {state}: {body}")


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


def start_stack(tmp: Path, extra_env: dict[str, str] | None = None) -> Stack:
    """Migrate the application database and start one supervisor; do not wait for it."""
    from tests.conftest import migrate

    var_dir = tmp / "var"
    var_dir.mkdir(parents=True, exist_ok=True)
    database_url = (extra_env or {}).get("DATABASE_URL", f"sqlite:///{var_dir / 'app.db'}")
    migrate(database_url)
    tracker_store_url = (extra_env or {}).get(
        "TRACKER_STORE_URL", f"sqlite:///{var_dir / 'rasa-tracker.db'}"
    )
    port, rasa_port, actions_port = free_port(), free_port(), free_port()
    admin_token = "integration-admin-token-0123456789"
    env = {
        **os.environ,
        "PORT": str(port),
        "RASA_PORT": str(rasa_port),
        "ACTIONS_PORT": str(actions_port),
        "DATABASE_URL": database_url,
        "TRACKER_STORE_URL": tracker_store_url,
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
        # Messages Telegram did not take go again every 2 s (every minute in production).
        "REDELIVERY_EVERY_SECONDS": "2",
        # Every web chat reply says where its time went (the benchmark's test reads it).
        "SERVER_TIMING": "true",
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
    return Stack(
        f"http://127.0.0.1:{port}",
        database_url,
        admin_token,
        rasa_port,
        actions_port,
        var_dir,
        log_path,
        process,
        tracker_store_url,
    )


def stop_stacks(stacks: list[Stack]) -> None:
    """SIGTERM every supervisor at once (each stops its children), then wait for each."""
    for stack in stacks:
        stack.process.send_signal(signal.SIGTERM)
    for stack in stacks:
        try:
            stack.process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            stack.process.kill()
            stack.process.wait()


@contextmanager
def running_stack(tmp: Path, extra_env: dict[str, str] | None = None) -> Iterator[Stack]:
    with running_stacks(tmp, [extra_env or {}], subdirs=False) as (stack,):
        yield stack


@contextmanager
def running_stacks(
    tmp: Path, envs: list[dict[str, str]], *, subdirs: bool = True
) -> Iterator[list[Stack]]:
    """Several whole stacks (one supervisor each, in ``tmp/instance-N``), started together
    so that their Rasa servers load in parallel; yielded once every one is healthy."""
    stacks: list[Stack] = []
    try:
        for number, env in enumerate(envs):
            stacks.append(start_stack(tmp / f"instance-{number}" if subdirs else tmp, env))
        deadline = time.monotonic() + READY_TIMEOUT
        for stack in stacks:
            wait_healthy(stack.base_url, max(deadline - time.monotonic(), 1.0))
        yield stacks
    except BaseException:
        for stack in stacks:
            sys.stderr.write(stack.log()[-6000:])
        raise
    finally:
        stop_stacks(stacks)
