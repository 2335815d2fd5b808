"""The person's data export, through the one-time link the conversation gives.

``GET /privacy/export`` is a static page: it reads the token from the link's fragment
(never sent to a server, so never in a log or a ``Referer``), removes it from the address
bar, and posts it to ``POST /api/privacy/export``, which redeems it once and answers with
the whole export as JSON. A used, expired or unknown link gets the same ``410``: the
answer never tells which. Nothing here is cached (``no-store``).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel, ConfigDict

from bot.db import session_scope, utcnow
from bot.i18n import DEFAULT_LOCALE, gettext, normalise_locale
from bot.privacy import links, rights
from bot.web.chat_api import gateway_of
from bot.web.errors import ApiError

logger = logging.getLogger(__name__)

PAGE = Path(__file__).resolve().parent / "static" / "privacy.html"
NO_STORE = {"Cache-Control": "no-store"}
PAGE_HEADERS = {
    **NO_STORE,
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    ),
}

router = APIRouter()


class ExportRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    token: str = ""


def browser_locale(accept_language: str | None) -> str:
    """The browser's first language, as one of ours (nobody is known before the redeem)."""
    first = (accept_language or "").split(",")[0].split(";")[0].strip()
    return normalise_locale(first) if first else DEFAULT_LOCALE


@router.get("/privacy/export", include_in_schema=False)
async def export_page() -> FileResponse:
    """The page that turns the link into a download (the token stays in the fragment)."""
    return FileResponse(PAGE, headers=PAGE_HEADERS)


@router.post("/api/privacy/export")
async def download_export(
    request: Request,
    body: ExportRequest,
    accept_language: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    """Everything held about the link's owner, once; 410 for any link that does not work."""
    gateway = gateway_of(request)
    with session_scope(gateway.sessions) as session:
        user_id = links.redeem(session, body.token, utcnow())
        try:
            data = rights.export(session, user_id) if user_id is not None else None
        except rights.UnknownPersonError:
            data = None
    if data is None:
        logger.info("privacy: export link refused")
        message = gettext(browser_locale(accept_language), "privacy-export-link-gone")
        raise ApiError(410, message, headers=NO_STORE)
    logger.info("privacy: export given")
    return JSONResponse(data, headers=NO_STORE)
