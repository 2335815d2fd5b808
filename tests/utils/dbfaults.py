"""The application database made briefly unavailable, by a real other process."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# Another program holding the SQLite file's write lock (a backup, someone in the sqlite3
# shell): an exclusive transaction kept open until told to end it (a line on stdin).
_LOCKER = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
db.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.readline()
db.execute("ROLLBACK")
db.close()
"""


class SqliteLock:
    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process

    def release(self) -> None:
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.write("release\n")
            self.process.stdin.flush()
            self.process.wait(timeout=30)


@contextmanager
def sqlite_locked(database: Path) -> Iterator[SqliteLock]:
    """Hold an exclusive transaction on ``database`` from another process until
    ``release()`` (or the end of the block)."""
    process = subprocess.Popen(
        [sys.executable, "-c", _LOCKER, str(database)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    lock = SqliteLock(process)
    try:
        line = process.stdout.readline()
        if line.strip() != "locked":
            raise RuntimeError(f"the lock was not taken: {line!r}")
        yield lock
    finally:
        lock.release()
        if process.poll() is None:
            process.kill()
            process.wait()
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                stream.close()
