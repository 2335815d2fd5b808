"""A throwaway PostgreSQL server from Debian's packages, started by the test fixture."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.utils.ports import free_port


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise RuntimeError("PostgreSQL is not installed: run `make test-deps`")
    return found[-1]


def _as_postgres_user() -> list[str]:
    """initdb refuses to run as root: run the server as the 'postgres' system user."""
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


@contextmanager
def postgres_server() -> Iterator[str]:
    """Yield a SQLAlchemy URL to a fresh database on a private server; remove it after."""
    root = Path(tempfile.mkdtemp(prefix="relais-pg-"))
    data = root / "data"
    port = free_port()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    prefix = _as_postgres_user()
    subprocess.run(
        [*prefix, _bin("initdb"), "-D", str(data), "-U", "relais", "--auth=trust", "-E", "UTF8"],
        check=True,
        capture_output=True,
    )
    log = root / "server.log"
    subprocess.run(
        [
            *prefix,
            _bin("pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(log),
            "-w",
            "-o",
            f"-p {port} -k {root} -h 127.0.0.1 -c fsync=off",
            "start",
        ],
        check=True,
        capture_output=True,
    )
    try:
        for _ in range(50):
            ready = subprocess.run(
                [_bin("pg_isready"), "-h", "127.0.0.1", "-p", str(port)], capture_output=True
            )
            if ready.returncode == 0:
                break
            time.sleep(0.2)
        for database in ("relais", "relais_tracker"):
            subprocess.run(
                [_bin("createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "relais", database],
                check=True,
                capture_output=True,
            )
        yield f"postgresql+psycopg://relais@127.0.0.1:{port}/relais"
    finally:
        subprocess.run(
            [*prefix, _bin("pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)
