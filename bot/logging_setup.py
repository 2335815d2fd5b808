"""Logging for entry points only: plain lines, never a user's message text."""

from __future__ import annotations

import logging


def configure_logging(level: str = "INFO") -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # httpx logs every request URL at INFO; URLs carry pseudonymous ids only, but the noise
    # hides what matters.
    logging.getLogger("httpx").setLevel(logging.WARNING)
