"""A scheduler process killed with SIGKILL between planning and firing loses nothing and
repeats nothing: after a restart, each reminder is delivered exactly once.

Real processes (``tests/utils/reminder_worker.py``), a real database file, APScheduler's
persistent job store and the leader lease, the real clock. The first worker plans nine
reminders and registers their wake-up jobs: three due after 1.5 s fire in it, then it is
killed. Three are due at 4 s, while no process runs; a second worker (a new lease holder,
once the dead one's lease has expired) starts after that and must send them at once; the
last three, due at 9 s, it sends on time. Each person gets exactly one message.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

from bot.config import PROJECT_ROOT

EARLY, WHILE_DOWN, LATE = 1.5, 4.0, 9.0
PLAN = [EARLY] * 3 + [WHILE_DOWN] * 3 + [LATE] * 3


def start_worker(
    database_url: str, tmp_path: Path, name: str, plan: list[float]
) -> subprocess.Popen[bytes]:
    command = [
        sys.executable,
        "-m",
        "tests.utils.reminder_worker",
        "--db",
        database_url,
        "--out",
        str(tmp_path / "delivered.txt"),
        "--ready",
        str(tmp_path / f"{name}.ready"),
        "--lease-ttl",
        "2",
    ]
    if plan:
        command += ["--plan", ",".join(str(x) for x in plan)]
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    with (tmp_path / f"{name}.log").open("wb") as log:  # the child keeps its own descriptor
        return subprocess.Popen(
            command, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )


def wait_for(condition: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def delivered(tmp_path: Path) -> list[str]:
    path = tmp_path / "delivered.txt"
    return path.read_text().split("\n")[:-1] if path.exists() else []


def test_killed_scheduler_sends_each_reminder_exactly_once_after_restart(
    database_url: str, tmp_path: Path
) -> None:
    first = start_worker(database_url, tmp_path, "first", PLAN)
    try:
        wait_for((tmp_path / "first.ready").exists, 30, "the first worker to lead")
        planned_at = datetime.fromisoformat((tmp_path / "first.ready").read_text()).timestamp()
        wait_for(lambda: len(delivered(tmp_path)) >= 3, 10, "the early reminders")
        assert len(delivered(tmp_path)) == 3  # the others are not due yet
    finally:
        first.send_signal(signal.SIGKILL)  # no clean-up: lease held, jobs left in the store
        first.wait()

    time.sleep(max(0.0, planned_at + WHILE_DOWN + 0.5 - time.time()))  # down past 4 s
    assert len(delivered(tmp_path)) == 3
    second = start_worker(database_url, tmp_path, "second", [])
    try:
        wait_for(lambda: len(delivered(tmp_path)) >= 6, 30, "the reminders due while down")
        assert time.time() < planned_at + LATE  # caught up before the last ones are due
        wait_for(lambda: len(delivered(tmp_path)) >= 9, 30, "the last reminders")
        time.sleep(2.5)  # a sweep runs every second: time for any duplicate to appear
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=15)

    lines = delivered(tmp_path)
    per_user = Counter(line.split()[0] for line in lines)
    assert len(per_user) == len(PLAN), lines
    assert set(per_user.values()) == {1}, lines
    log = (tmp_path / "second.log").read_text()
    assert "leads reminders" in log
