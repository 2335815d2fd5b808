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


class PostgresServer:
    """A private server: its URL, and stop/start for the tests of a database that goes away
    and comes back (same data, same port)."""

    def __init__(self, root: Path, port: int) -> None:
        self.root = root
        self.data = root / "data"
        self.port = port
        self.url = f"postgresql+psycopg://relais@127.0.0.1:{port}/relais"

    def start(self) -> None:
        subprocess.run(
            [
                *_as_postgres_user(),
                _bin("pg_ctl"),
                "-D",
                str(self.data),
                "-l",
                str(self.root / "server.log"),
                "-w",
                "-o",
                f"-p {self.port} -k {self.root} -h 127.0.0.1 -c fsync=off",
                "start",
            ],
            check=True,
            capture_output=True,
        )
        for _ in range(50):
            ready = subprocess.run(
                [_bin("pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)], capture_output=True
            )
            if ready.returncode == 0:
                break
            time.sleep(0.2)

    def stop(self, mode: str = "fast") -> None:
        """``fast``: clients are disconnected, as in a restart; ``immediate``: a crash."""
        subprocess.run(
            [*_as_postgres_user(), _bin("pg_ctl"), "-D", str(self.data), "-m", mode, "stop"],
            capture_output=True,
        )


@contextmanager
def postgres_server_handle() -> Iterator[PostgresServer]:
    """A fresh private server with the databases ``relais`` and ``relais_tracker``."""
    root = Path(tempfile.mkdtemp(prefix="relais-pg-"))
    server = PostgresServer(root, free_port())
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    subprocess.run(
        [
            *_as_postgres_user(),
            _bin("initdb"),
            "-D",
            str(server.data),
            "-U",
            "relais",
            "--auth=trust",
            "-E",
            "UTF8",
        ],
        check=True,
        capture_output=True,
    )
    server.start()
    try:
        for database in ("relais", "relais_tracker"):
            subprocess.run(
                [
                    _bin("createdb"),
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(server.port),
                    "-U",
                    "relais",
                    database,
                ],
                check=True,
                capture_output=True,
            )
        yield server
    finally:
        server.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def postgres_server() -> Iterator[str]:
    """Yield a SQLAlchemy URL to a fresh database on a private server; remove it after."""
    with postgres_server_handle() as server:
        yield server.url
