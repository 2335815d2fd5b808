"""What the running stack shows to other users and other machines, on the shared stack.

- the Rasa server and the action server listen on loopback only: the action server runs
  our code for any caller and Rasa's API, behind its token, can replace the model; only the
  gateway is meant to be reached (and behind a proxy in production);
- the engine's token is in no command line (``ps`` shows command lines to every user of the
  machine), yet Rasa enforces it: its API refuses a call without it.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.utils.stack import Stack

LISTEN = "0A"


def listening_addresses(port: int) -> set[str]:
    """The local addresses (hex, as the kernel writes them) with a socket listening on
    ``port``, from /proc/net/tcp and tcp6."""
    found: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            address, port_hex = fields[1].rsplit(":", 1)
            if int(port_hex, 16) == port and fields[3] == LISTEN:
                found.add(address)
    return found


# 127.0.0.1 in /proc/net/tcp; ::1 and ::ffff:127.0.0.1 in tcp6.
LOOPBACK = {"0100007F", "00000000000000000000000001000000", "0000000000000000FFFF00000100007F"}


def test_engine_and_action_server_listen_on_loopback_only(stack: Stack) -> None:
    for name, port in (("Rasa", stack.rasa_port), ("action server", stack.actions_port)):
        addresses = listening_addresses(port)
        assert addresses, f"nothing listens on the {name} port {port}"
        assert addresses <= LOOPBACK, f"the {name} listens beyond loopback: {addresses}"


def environment_of(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(entry.decode().split("=", 1) for entry in raw if b"=" in entry)


def test_engine_token_is_in_no_command_line_and_is_enforced(stack: Stack) -> None:
    pid = stack.pid_of("rasa")
    token = environment_of(pid)["RASA_TOKEN"]
    assert len(token) >= 24
    command_line = Path(f"/proc/{pid}/cmdline").read_bytes().decode()
    assert token not in command_line
    assert "--auth-token" not in command_line

    engine = f"http://127.0.0.1:{stack.rasa_port}"
    assert httpx.get(f"{engine}/status", timeout=10).status_code == 401
    assert httpx.get(f"{engine}/status", params={"token": "wrong"}, timeout=10).status_code == 401
    assert httpx.get(f"{engine}/status", params={"token": token}, timeout=10).status_code == 200
