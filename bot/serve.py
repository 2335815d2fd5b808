"""Entry point of the gateway process: ``python -m bot.serve``."""

from __future__ import annotations

import uvicorn

from bot.config import get_settings
from bot.logging_setup import configure_logging
from bot.web.app import create_app


def main() -> None:
    settings = get_settings()
    settings.check_secrets()
    configure_logging(settings.log_level)
    app = create_app(settings)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        access_log=False,  # access lines carry session ids in paths: keep them out
        timeout_graceful_shutdown=5,
    )


if __name__ == "__main__":
    main()
