"""Start the whole assistant as one supervised group: ``python -m bot.supervisor``.

Children: the action server, the Rasa server and the gateway. Each child's output is
prefixed with its name. Readiness is checked in dependency order. Ctrl-C or SIGTERM stops
every child (SIGTERM, then SIGKILL after a grace period).

Crash policy: a child that exits is restarted after a short back-off; if one crashes
more than ``MAX_RESTARTS`` times within ``RESTART_WINDOW`` seconds, the whole group stops
with a non-zero status, since a crash loop needs a person to look.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from pydantic import SecretStr

from bot import crypto
from bot.config import PROJECT_ROOT, Settings, get_settings
from bot.engine_config import (
    lock_store_password,
    model_path,
    tracker_password,
    write_endpoints,
)
from bot.logging_setup import configure_logging
from bot.tracker_crypto import KEYS_VARIABLE as TRACKER_KEYS_VARIABLE
from bot.tracker_crypto import TrackerKeyring

logger = logging.getLogger("relais.supervisor")

MAX_RESTARTS = 3
RESTART_WINDOW = 120.0
READY_TIMEOUT = 300.0
STOP_GRACE = 10.0
APP_PYTHON = PROJECT_ROOT / ".venv" / "bin" / "python"
ENGINE_PYTHON = PROJECT_ROOT / ".venv-rasa" / "bin" / "python"


@dataclass
class Child:
    name: str
    argv: list[str]
    ready_url: str
    env: dict[str, str]
    process: asyncio.subprocess.Process | None = None
    crashes: list[float] = field(default_factory=list)
    stopping: bool = False


def child_env(
    settings: Settings,
    extra: dict[str, str] | None = None,
    *,
    database: bool = False,
    tracker: bool = False,
) -> dict[str, str]:
    """A child's environment. The data keys go only to a child that opens the application
    database (``database``): the gateway. The tracker keys go only to the child that reads
    and writes Rasa's tracker events (``tracker``): the Rasa server. No child holds a key
    it does not use, even when the supervisor's own environment has it."""
    env = dict(os.environ)
    env.pop("DATA_ENCRYPTION_KEYS", None)
    env.pop(TRACKER_KEYS_VARIABLE, None)
    if database and settings.data_encryption_keys is not None:
        env["DATA_ENCRYPTION_KEYS"] = settings.data_encryption_keys.get_secret_value()
    if tracker and settings.tracker_encryption_keys is not None:
        env[TRACKER_KEYS_VARIABLE] = settings.tracker_encryption_keys.get_secret_value()
    env.update(
        {
            "PYTHONPATH": str(PROJECT_ROOT),
            "PYTHONUNBUFFERED": "1",
            "ADMIN_API_TOKEN": settings.admin_api_token or "",
            "RASA_TOKEN": settings.rasa_token or "",
            "RASA_TELEMETRY_ENABLED": "false",
            "TF_CPP_MIN_LOG_LEVEL": "2",
            "TRACKER_DB_PASSWORD": tracker_password(settings.tracker_store_url),
            "LOCK_STORE_PASSWORD": lock_store_password(settings.lock_store_url),
        }
    )
    env.update(extra or {})
    return env


def rasa_command(model: Path, endpoints: Path, port: int) -> list[str]:
    """The Rasa server's command line, without its token: ``bot.engine_launch`` adds the
    token from ``RASA_TOKEN`` inside the process, so it never shows in ``ps``."""
    return [
        str(ENGINE_PYTHON),
        "-m",
        "bot.engine_launch",
        "run",
        "--enable-api",
        "--model",
        str(model),
        "--endpoints",
        str(endpoints),
        "--interface",
        "127.0.0.1",
        "--port",
        str(port),
    ]


def plan(settings: Settings) -> list[Child]:
    """The children in start order: each needs the ones before it."""
    endpoints = write_endpoints(settings)
    model = model_path(settings)
    if not model.exists():
        raise SystemExit(f"No trained model at {model}: run `make model` (or `make run`).")
    rasa_token = settings.rasa_token or ""
    return [
        Child(
            "actions",
            [
                str(APP_PYTHON),
                "-m",
                "rasa_sdk",
                "--actions",
                "dialogues.actions",
                "--port",
                str(settings.actions_port),
            ],
            f"{settings.action_server_url}/health",
            # rasa_sdk listens on 0.0.0.0 unless told: it runs our actions for any caller,
            # and only Rasa, on this machine, needs it.
            child_env(settings, extra={"SANIC_HOST": "127.0.0.1"}),
        ),
        Child(
            "rasa",
            rasa_command(model, endpoints, settings.rasa_port),
            f"{settings.engine_url}/status?token={rasa_token}",
            child_env(settings, tracker=True),
        ),
        Child(
            "gateway",
            [str(APP_PYTHON), "-m", "bot.serve"],
            f"http://{settings.host}:{settings.port}/healthz",
            child_env(settings, database=True),
        ),
    ]


class Supervisor:
    def __init__(self, settings: Settings, children: list[Child]) -> None:
        self.settings = settings
        self.children = children
        self.stop_event = asyncio.Event()
        self.exit_code = 0
        self._tasks: set[asyncio.Task[None]] = set()

    async def start_child(self, child: Child) -> None:
        child.process = await asyncio.create_subprocess_exec(
            *child.argv,
            cwd=PROJECT_ROOT,
            env=child.env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches the supervisor only; it stops the rest
        )
        for coroutine in (self.pipe_output(child, child.process), self.watch(child, child.process)):
            task = asyncio.create_task(coroutine)
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def pipe_output(self, child: Child, process: asyncio.subprocess.Process) -> None:
        assert process.stdout is not None
        width = max(len(c.name) for c in self.children)
        async for raw in process.stdout:
            line = raw.decode(errors="replace").rstrip()
            if line:
                sys.stdout.write(f"{child.name:<{width}} | {line}\n")
                sys.stdout.flush()

    async def watch(self, child: Child, process: asyncio.subprocess.Process) -> None:
        code = await process.wait()
        # A child may leave workers of its own (Sanic forks them): end its whole group, so
        # nothing orphaned keeps the port or answers in its place.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        if child.stopping or self.stop_event.is_set():
            return
        now = time.monotonic()
        child.crashes = [t for t in child.crashes if now - t < RESTART_WINDOW] + [now]
        logger.error("%s exited with status %s", child.name, code)
        if len(child.crashes) > MAX_RESTARTS:
            logger.error("%s keeps crashing: stopping everything", child.name)
            self.exit_code = 1
            self.stop_event.set()
            return
        delay = 2.0 * len(child.crashes)
        logger.warning("restarting %s in %.0f s", child.name, delay)
        await asyncio.sleep(delay)
        if not self.stop_event.is_set():
            await self.start_child(child)

    async def wait_ready(self, child: Child) -> bool:
        deadline = time.monotonic() + READY_TIMEOUT
        async with httpx.AsyncClient(timeout=3.0) as client:
            while time.monotonic() < deadline and not self.stop_event.is_set():
                try:
                    response = await client.get(child.ready_url)
                    if response.status_code == 200 and (
                        child.name != "rasa" or response.json().get("model_file")
                    ):
                        return True
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.5)
        return False

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.stop_event.set)
        for child in self.children:
            await self.start_child(child)
            started = time.monotonic()
            if not await self.wait_ready(child):
                if not self.stop_event.is_set():
                    logger.error("%s did not become ready", child.name)
                    self.exit_code = 1
                await self.stop_all()
                return self.exit_code
            logger.info("%s ready in %.1f s", child.name, time.monotonic() - started)
        self.announce()
        await self.stop_event.wait()
        await self.stop_all()
        return self.exit_code

    def announce(self) -> None:
        base = f"http://{self.settings.host}:{self.settings.port}"
        lines = [
            "",
            "Relais is running.",
            f"  Chat:        {base}/",
            f"  Console:     {base}/console  (first account: make supervisor EMAIL=... NAME=...)",
            f"  Admin token: {self.settings.admin_api_token}",
            "Press Ctrl-C to stop.",
            "",
        ]
        sys.stdout.write("\n".join(lines) + "\n")
        sys.stdout.flush()

    async def stop_all(self) -> None:
        """Stop in reverse order: the gateway first, so nobody talks to a stopped engine."""
        for child in reversed(self.children):
            child.stopping = True
            process = child.process
            if process is None or process.returncode is not None:
                continue
            try:
                os.killpg(process.pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
            try:
                await asyncio.wait_for(process.wait(), STOP_GRACE)
            except TimeoutError:
                logger.warning("%s did not stop in %.0f s: killing it", child.name, STOP_GRACE)
                os.killpg(process.pid, signal.SIGKILL)
                await process.wait()
            logger.info("%s stopped", child.name)


def with_data_keys(settings: Settings) -> Settings:
    """The settings with the data keys resolved once, here: in development without
    ``DATA_ENCRYPTION_KEYS`` the local key file is read (or made) by the supervisor alone,
    and every restart of the gateway gets the very same keys through its environment."""
    keys = crypto.resolve_keys(settings)
    crypto.Keyring(keys)  # a malformed key stops everything now, not at the first message
    return settings.model_copy(update={"data_encryption_keys": SecretStr(",".join(keys))})


def with_tracker_keys(settings: Settings) -> Settings:
    """The settings with the tracker keys resolved once, like the data keys: in
    development without ``TRACKER_ENCRYPTION_KEYS`` the local key file (``var/dev-tracker-key``)
    is read or made here, and the Rasa server and its restarts get that very key."""
    keys = crypto.resolve_tracker_keys(settings)
    TrackerKeyring(keys)  # a malformed key stops everything now, not in the engine
    return settings.model_copy(update={"tracker_encryption_keys": SecretStr(",".join(keys))})


def main() -> None:
    settings = get_settings()
    settings.check_secrets()
    settings = settings.with_generated_secrets()
    configure_logging(settings.log_level)
    Path(settings.var_dir).mkdir(parents=True, exist_ok=True)
    settings = with_tracker_keys(with_data_keys(settings))
    supervisor = Supervisor(settings, plan(settings))
    sys.exit(asyncio.run(supervisor.run()))


if __name__ == "__main__":
    main()
