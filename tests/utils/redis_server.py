"""A throwaway Redis server from Debian's package ``redis-server``, started by a test.

Our own processes never talk to Redis: only Rasa does (its lock store), so the test side
speaks the protocol's two commands it needs over a plain socket.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.utils.ports import free_port

START_TIMEOUT = 20.0


def command(port: int, *args: str) -> bytes:
    """One Redis command (RESP array of bulk strings); the raw reply, read to its end."""
    request = f"*{len(args)}\r\n".encode() + b"".join(
        f"${len(a.encode())}\r\n{a}\r\n".encode() for a in args
    )
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(request)
        reply = b""
        while True:
            chunk = sock.recv(65536)
            reply += chunk
            if not chunk or _complete(reply):
                return reply


def _complete(reply: bytes) -> bool:
    """A simple string or error ends at its first CRLF; a bulk string at its length."""
    if reply[:1] in (b"+", b"-", b":"):
        return reply.endswith(b"\r\n")
    if reply[:1] == b"$" and b"\r\n" in reply:
        head, _, rest = reply.partition(b"\r\n")
        length = int(head[1:])
        return length < 0 or len(rest) >= length + 2
    return False


def command_calls(port: int) -> dict[str, int]:
    """How many times each command ran (``INFO commandstats``): ``{"set": 12, ...}``."""
    text = command(port, "INFO", "commandstats").decode()
    calls: dict[str, int] = {}
    for line in text.splitlines():
        if line.startswith("cmdstat_"):
            name, _, fields = line.removeprefix("cmdstat_").partition(":")
            stats = dict(field.split("=", 1) for field in fields.split(","))
            calls[name] = int(stats["calls"])
    return calls


@contextmanager
def redis_server() -> Iterator[str]:
    """Yield ``redis://127.0.0.1:PORT/0`` of a private, memory-only server; stop it after."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("Redis is not installed: run `make test-deps`")
    root = Path(tempfile.mkdtemp(prefix="relais-redis-"))
    port = free_port()
    log = (root / "redis.log").open("wb")
    process = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(root),
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                if command(port, "PING").startswith(b"+PONG"):
                    break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                output = (root / "redis.log").read_text(errors="replace")
                raise RuntimeError(f"redis-server did not start: {output}")
            time.sleep(0.1)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        shutil.rmtree(root, ignore_errors=True)
