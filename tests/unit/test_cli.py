"""The command that creates the first supervisor of the référent console."""

from __future__ import annotations

import os
import subprocess
import sys

from sqlalchemy import select

from bot.config import PROJECT_ROOT
from handoff import accounts
from handoff.models import Referent, Role


def run_cli(database_url: str, password: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "handoff.cli", *args],
        input=password + "\n",
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        env={**os.environ, "DATABASE_URL": database_url, "PYTHONPATH": str(PROJECT_ROOT)},
        check=False,
    )


def test_create_supervisor_then_log_in(database_url: str, sessions) -> None:
    done = run_cli(
        database_url,
        "a-long-enough-password",
        "create-supervisor",
        "--email",
        "Chef@Example.org",
        "--name",
        "Cheffe",
    )
    assert done.returncode == 0, done.stderr
    assert "a-long-enough-password" not in done.stdout + done.stderr
    with sessions.begin() as session:
        referent = session.scalar(select(Referent))
        assert (referent.email, referent.role) == ("chef@example.org", Role.SUPERVISOR)
        assert accounts.authenticate(session, "chef@example.org", "a-long-enough-password").referent


def test_a_short_password_is_refused_and_nothing_is_created(database_url: str, sessions) -> None:
    refused = run_cli(
        database_url, "short", "create-supervisor", "--email", "a@b.fr", "--name", "A"
    )
    assert refused.returncode == 2
    assert "12 caractères" in refused.stderr
    with sessions.begin() as session:
        assert session.scalar(select(Referent)) is None
