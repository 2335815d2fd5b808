"""Every error leaves the gateway as ``{"error": "<plain words>"}``, never a bare 500."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from bot.emergency import with_emergency_numbers
from bot.i18n import normalise_locale

logger = logging.getLogger(__name__)

# How long a client should wait before sending again when the database is unavailable.
DATABASE_RETRY_AFTER_SECONDS = 5


class ApiError(Exception):
    def __init__(
        self,
        status_code: int,
        message: str,
        headers: dict[str, str] | None = None,
        extra: dict[str, object] | None = None,
    ):
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.headers = headers
        self.extra = extra or {}


def database_unavailable(exc: BaseException) -> bool:
    """True when a database error means "cannot be reached or is busy for now" (server
    stopped or restarting, connection dropped, SQLite file locked past the busy timeout,
    no free pooled connection): worth a retry. A constraint or a bad query is a bug."""
    if isinstance(exc, PoolTimeoutError):
        return True
    return isinstance(exc, DBAPIError) and (
        exc.connection_invalidated or isinstance(exc, OperationalError | InterfaceError)
    )


def unexpected_error(exc: BaseException) -> JSONResponse:
    logger.error("unexpected error", exc_info=exc)
    return JSONResponse(
        {"error": "Something went wrong on our side. Your message is kept; try again."}, 500
    )


def database_unavailable_response(request: Request, exc: BaseException) -> JSONResponse:
    """A 503 in the person's words (the session's locale cannot be read from a database
    that does not answer: the browser's language), with Retry-After. The failing
    transaction was rolled back; a message sent again with its client id is recorded once."""
    # The driver's first line says why ("database is locked", "connection refused"); the
    # SQL and its parameters (ciphertext, ids) stay out of the log, and so does a traceback.
    reason = str(getattr(exc, "orig", None) or type(exc).__name__).splitlines()[0][:200]
    logger.warning("database unavailable (%s): %s", type(exc).__name__, reason)
    gateway = getattr(request.app.state, "gateway", None)
    if gateway is not None:
        gateway.note_database_unavailable()  # /healthz says "db": "down" for a while
    first = request.headers.get("accept-language", "").split(",")[0].split(";")[0].strip()
    message = with_emergency_numbers(normalise_locale(first or None), "error-database-unavailable")
    return JSONResponse(
        {"error": message},
        503,
        headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
    )


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        body = {"error": exc.message, **exc.extra}
        return JSONResponse(body, exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            return JSONResponse({"error": "The request body is not valid JSON."}, 400)
        first = errors[0] if errors else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        detail = first.get("msg", "invalid value")
        return JSONResponse({"error": f"Invalid request: {where} {detail}".strip()}, 422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        messages = {404: "Not found.", 405: "Method not allowed."}
        message = messages.get(exc.status_code, str(exc.detail))
        return JSONResponse({"error": message}, exc.status_code)

    # A database that is briefly unavailable is not "something went wrong": it was a 500
    # with a traceback in the log; it is a 503 the person can act on (try again shortly).
    @app.exception_handler(DBAPIError)
    @app.exception_handler(PoolTimeoutError)
    async def _database(request: Request, exc: Exception) -> JSONResponse:
        if database_unavailable(exc):
            return database_unavailable_response(request, exc)
        return unexpected_error(exc)

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        return unexpected_error(exc)
