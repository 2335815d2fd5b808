"""The supervisor on stand-in children: readiness order, clean stop, restart, crash loop."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

import bot.supervisor as supervisor_module
from bot.config import Settings
from bot.engine_launch import engine_argv
from bot.supervisor import Child, Supervisor, rasa_command
from tests.utils.engine_runtime import ENGINE_PYTHON, last_line_in_engine
from tests.utils.ports import free_port


def web_child(name: str) -> Child:
    port = free_port()
    return Child(
        name,
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        f"http://127.0.0.1:{port}/",
        dict(os.environ),
    )


async def wait_until(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(20):
        while not condition():  # noqa: ASYNC110 (polling child processes, no event to wait on)
            await asyncio.sleep(0.1)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_stop_ends_every_child_cleanly() -> None:
    children = [web_child("first"), web_child("second")]
    supervisor = Supervisor(Settings(environment="test"), children)
    run = asyncio.create_task(supervisor.run())
    await wait_until(lambda: all(c.process is not None for c in children))
    await asyncio.sleep(1.5)
    pids = [c.process.pid for c in children if c.process]
    supervisor.stop_event.set()
    assert await asyncio.wait_for(run, 30) == 0
    assert not any(alive(pid) for pid in pids)


async def test_crashed_child_is_restarted() -> None:
    child = web_child("only")
    supervisor = Supervisor(Settings(environment="test"), [child])
    run = asyncio.create_task(supervisor.run())
    await wait_until(lambda: child.process is not None)
    await asyncio.sleep(1.5)
    first_pid = child.process.pid  # type: ignore[union-attr]
    os.kill(first_pid, signal.SIGKILL)
    await wait_until(lambda: child.process is not None and child.process.pid != first_pid)
    supervisor.stop_event.set()
    assert await asyncio.wait_for(run, 30) == 0


async def test_crash_loop_stops_the_group_with_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(supervisor_module, "MAX_RESTARTS", 1)
    child = web_child("flaky")
    supervisor = Supervisor(Settings(environment="test"), [child])
    run = asyncio.create_task(supervisor.run())
    for _ in range(2):
        await wait_until(lambda: child.process is not None and child.process.returncode is None)
        await asyncio.sleep(1.0)
        os.kill(child.process.pid, signal.SIGKILL)  # type: ignore[union-attr]
        await asyncio.sleep(0.3)
    assert await asyncio.wait_for(run, 30) == 1


PARSE_WITH_RASA = r"""
import json, os, sys
from rasa.__main__ import create_argument_parser
from bot.engine_launch import engine_argv
command = json.loads(sys.argv[1])
assert command[1:4] == ["-m", "bot.engine_launch", "run"], command
args = create_argument_parser().parse_args(engine_argv(command[3:], os.environ))
print(json.dumps(args.auth_token))
"""


@pytest.mark.skipif(not ENGINE_PYTHON.exists(), reason="the engine runtime is not set up")
@pytest.mark.parametrize("token", ["-Ab3_x-9", "plainToken_42"])
def test_rasa_reads_its_token_from_the_environment_only(token: str, tmp_path: Path) -> None:
    # The launcher and Rasa's own argument parser, as the supervisor starts the engine: the
    # token comes from RASA_TOKEN (a command line is visible to every user in `ps`), joined
    # to its option (a token starting with "-" was once read as an option and the engine
    # refused to start).
    command = rasa_command(tmp_path / "model.tar.gz", tmp_path / "endpoints.yml", 5005)
    assert token not in " ".join(command)
    parsed = last_line_in_engine(PARSE_WITH_RASA, json.dumps(command), env={"RASA_TOKEN": token})
    assert json.loads(parsed) == token


def test_a_token_on_the_launcher_command_line_is_refused() -> None:
    with pytest.raises(SystemExit, match="RASA_TOKEN"):
        engine_argv(["run", "--auth-token=secret"], {})
    for given in (
        ["--auth-token", "secret"],
        ["-t", "secret"],
        ["-tsecret"],
        ["-vtsecret"],
        ["--auth=secret"],
    ):
        with pytest.raises(SystemExit, match="RASA_TOKEN"):
            engine_argv(["run", *given], {"RASA_TOKEN": "from-env"})
    assert engine_argv(["run"], {"RASA_TOKEN": "-x"}) == ["run", "--auth-token=-x"]


def test_the_engine_does_not_start_its_api_without_a_token() -> None:
    # Fail closed: --enable-api without a token lets anyone on the machine use the API.
    for environ in ({}, {"RASA_TOKEN": ""}):
        with pytest.raises(SystemExit, match="RASA_TOKEN is empty"):
            engine_argv(["run", "--enable-api"], environ)
