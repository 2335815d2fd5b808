"""Data maintenance from the command line: ``python -m bot.cli rotate-data-key``.

``rotate-data-key`` re-encrypts every encrypted column (bot/crypto.py) with the first key
of ``DATA_ENCRYPTION_KEYS``. Rotation: put the new key first (keep the old ones after it),
restart, run this, then remove the old keys and restart again. It prints counts per table,
never a value.
"""

from __future__ import annotations

import argparse
import sys

from bot import crypto
from bot.config import get_settings
from bot.db import make_engine
from bot.logging_setup import configure_logging
from bot.models import Base


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Relais data maintenance")
    commands = parser.add_subparsers(dest="command", required=True)
    rotate = commands.add_parser(
        "rotate-data-key", help="re-encrypt every encrypted value with the first data key"
    )
    rotate.add_argument(
        "--batch-size",
        type=int,
        default=crypto.ROTATION_BATCH,
        help="rows per transaction (default %(default)s)",
    )
    args = parser.parse_args(argv)
    if args.batch_size < 1:
        parser.error("--batch-size must be at least 1")
    settings = get_settings()
    configure_logging(settings.log_level)
    try:
        crypto.configure(settings)  # refuses missing (production) or malformed keys
    except crypto.DataKeyError as exc:
        print(f"Refused: {exc}", file=sys.stderr)
        return 2
    engine = make_engine(settings.database_url)
    try:
        counts = crypto.rotate(engine, Base.metadata, args.batch_size)
    except crypto.DecryptionError as exc:
        print(f"Stopped: {exc}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    for table, count in counts.items():
        left = count.rows - count.rotated - count.current
        line = f"{table}: {count.rotated} re-encrypted, {count.current} already with the first key"
        if left:
            line += f", {left} changed meanwhile (written with the current keys)"
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
