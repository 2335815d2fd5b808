"""Data maintenance from the command line: ``python -m bot.cli rotate-data-key`` and
``python -m bot.cli rotate-tracker-key``.

``rotate-data-key`` re-encrypts every encrypted column (bot/crypto.py) with the first key
of ``DATA_ENCRYPTION_KEYS``. Rotation: put the new key first (keep the old ones after it),
restart, run this, then remove the old keys and restart again. It prints counts per table,
never a value.

``rotate-tracker-key`` does the same for Rasa's tracker events (``TRACKER_STORE_URL``,
bot/tracker_crypto.py) with ``TRACKER_ENCRYPTION_KEYS``, and encrypts the events written
before the tracker store was encrypted. It prints counts per state, never a value.
"""

from __future__ import annotations

import argparse
import sys

from bot import crypto, tracker_crypto
from bot.config import Settings, get_settings
from bot.db import make_engine
from bot.logging_setup import configure_logging
from bot.models import Base


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Relais data maintenance")
    commands = parser.add_subparsers(dest="command", required=True)
    rotate = commands.add_parser(
        "rotate-data-key", help="re-encrypt every encrypted value with the first data key"
    )
    tracker = commands.add_parser(
        "rotate-tracker-key",
        help="encrypt Rasa's tracker events with the first tracker key (plain ones included)",
    )
    for command in (rotate, tracker):
        command.add_argument(
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
    if args.command == "rotate-tracker-key":
        return rotate_tracker_key(settings, args.batch_size)
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


def rotate_tracker_key(settings: Settings, batch_size: int) -> int:
    """``rotate-tracker-key``: the keys as the supervisor resolves them for the Rasa server
    (the development key file included), then every event under the first one."""
    try:
        keyring = tracker_crypto.TrackerKeyring(crypto.resolve_tracker_keys(settings))
    except (crypto.DataKeyError, tracker_crypto.TrackerKeyError) as exc:
        print(f"Refused: {exc}", file=sys.stderr)
        return 2
    engine = tracker_crypto.tracker_engine(settings.tracker_store_url)
    try:
        count = tracker_crypto.rotate(engine, keyring, batch_size)
    except tracker_crypto.TrackerDecryptionError as exc:
        print(f"Stopped: {exc}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    if not count.table:
        print("events: no table yet (Rasa has written nothing): nothing to do")
        return 0
    line = (
        f"events: {count.encrypted} encrypted (were plain text), {count.rotated} re-encrypted,"
        f" {count.current} already with the first key"
    )
    if count.names_cleared:
        line += f"; intent and action names removed from {count.names_cleared}"
    if count.gone:
        line += f"; {count.gone} deleted meanwhile (erasure or retention)"
    print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
