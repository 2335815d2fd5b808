"""Start the Rasa server with its API token read from the environment.

``rasa run`` takes its token only as ``--auth-token``, and a command line is readable by
every user of the machine (``ps``, ``/proc/PID/cmdline``). The supervisor therefore runs
this module with the engine's Python (``.venv-rasa``) and passes the token in
``RASA_TOKEN``; the option is added inside the process, so the token never appears in a
command line. Standard library and Rasa only: this file runs in the engine's runtime
(Python 3.10), not the application's.

Usage: ``.venv-rasa/bin/python -m bot.engine_launch run --enable-api --model ...``
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence

TOKEN_VARIABLE = "RASA_TOKEN"  # noqa: S105  (the name of a variable, not a secret)


def engine_argv(arguments: Sequence[str], environ: Mapping[str, str]) -> list[str]:
    """Rasa's arguments with the token from ``environ`` joined to its option.

    Joined (``--auth-token=...``) because a generated url-safe token starts with "-" one
    time in 64 and Rasa's parser would read it as another option."""
    # "-t" (alone or in a cluster of short options, like "-vt") and any abbreviation of
    # "--auth-token" that argparse would accept.
    if any(a.startswith("--a") or (a[:1] == "-" and a[1:2] != "-" and "t" in a) for a in arguments):
        raise SystemExit(f"Pass the engine's token in {TOKEN_VARIABLE}, not on the command line.")
    token = environ.get(TOKEN_VARIABLE, "")
    if not token:
        # Fail closed: --enable-api without a token would let anyone on the machine replace
        # the model or read conversations.
        raise SystemExit(f"{TOKEN_VARIABLE} is empty: the engine's API needs a token.")
    return [*arguments, f"--auth-token={token}"]


def main() -> None:
    sys.argv = ["rasa", *engine_argv(sys.argv[1:], os.environ)]
    from rasa.__main__ import main as rasa_main  # the engine's runtime only

    rasa_main()


if __name__ == "__main__":
    main()
