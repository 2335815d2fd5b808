"""Rate limits on the public API: per web chat session and per client address.

What is limited (``POST`` only; limits per minute from ``Settings``, 0 turns one off):

- ``/api/chat/sessions``: new sessions per address;
- ``/api/chat/sessions/{id}/messages``: messages per session and per address;
- ``/console/api/login``: login attempts per address (the account lockout of
  ``handoff.accounts`` comes on top, per account).

A request over a limit is answered ``429`` with ``Retry-After`` and plain words before it
reaches the route, so it changes nothing: the message is not recorded, the engine never
sees it, a login attempt does not count against the account. A refused request is not
counted either, so waiting ``Retry-After`` seconds is always enough.

The windows live in this process's memory: exact for one gateway, which is how Relais runs
today. Several gateways behind a load balancer would each count on their own (a client
could get up to N times the limit); they would need a shared store (Redis ``INCR`` with an
expiry, or a table in the database) so that every gateway sees the same counts. Behind a
reverse proxy, the client address is the one uvicorn takes from ``X-Forwarded-For`` when the
proxy is trusted (``FORWARDED_ALLOW_IPS``, loopback by default); otherwise every young
person would share the proxy's address and its limits.
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from bot.config import Settings
from bot.db import session_scope
from bot.i18n import DEFAULT_LOCALE, gettext, normalise_locale
from bot.web import sessions as web_sessions
from bot.web.chat_api import bearer

logger = logging.getLogger(__name__)

WINDOW_SECONDS = 60.0
# Past this many keys in one window, keys with no hit in the last window are dropped.
MAX_KEYS = 50_000

SESSIONS_PATH = "/api/chat/sessions"
MESSAGES_PATH = re.compile(r"^/api/chat/sessions/([^/]{1,64})/messages$")
LOGIN_PATH = "/console/api/login"

Clock = Callable[[], float]


def words(locale: str, key: str, **params: object) -> str:
    """A refusal in the person's language (the chat's users are French first; the console
    is French only, like its other errors)."""
    return gettext(normalise_locale(locale), key, **params)


class SlidingWindow:
    """At most ``limit`` hits per key in any ``window`` seconds (a log of hit times).

    A hit at time ``t`` counts while ``now < t + window``. ``check`` and ``hit`` are
    separate so that a request checked against several windows is counted in all of
    them or in none.
    """

    def __init__(self, limit: int, window: float = WINDOW_SECONDS, max_keys: int = MAX_KEYS):
        self.limit = limit
        self.window = window
        self.max_keys = max_keys
        self._hits: dict[str, deque[float]] = {}

    @property
    def enabled(self) -> bool:
        return self.limit > 0

    def _live(self, key: str, now: float) -> deque[float] | None:
        hits = self._hits.get(key)
        if hits is None:
            return None
        while hits and hits[0] + self.window <= now:
            hits.popleft()
        if not hits:
            del self._hits[key]
            return None
        return hits

    def retry_after(self, key: str, now: float) -> float:
        """0 when one more hit is allowed now, else the seconds until it is."""
        if not self.enabled:
            return 0.0
        hits = self._live(key, now)
        if hits is None or len(hits) < self.limit:
            return 0.0
        return hits[len(hits) - self.limit] + self.window - now

    def hit(self, key: str, now: float) -> None:
        if not self.enabled:
            return
        hits = self._live(key, now)
        if hits is None:
            if len(self._hits) >= self.max_keys:
                self._forget_idle(now)
            hits = self._hits[key] = deque()
        hits.append(now)

    def _forget_idle(self, now: float) -> None:
        for key in list(self._hits):
            self._live(key, now)

    def __len__(self) -> int:
        return len(self._hits)


@dataclass
class RateLimiter:
    """The public API's windows, and the clock they read (tests move it by hand)."""

    session_messages: SlidingWindow
    ip_messages: SlidingWindow
    ip_sessions: SlidingWindow
    ip_logins: SlidingWindow
    clock: Clock = time.monotonic
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings, clock: Clock = time.monotonic) -> RateLimiter:
        return cls(
            session_messages=SlidingWindow(settings.rate_limit_session_messages_per_minute),
            ip_messages=SlidingWindow(settings.rate_limit_ip_messages_per_minute),
            ip_sessions=SlidingWindow(settings.rate_limit_ip_sessions_per_minute),
            ip_logins=SlidingWindow(settings.rate_limit_ip_logins_per_minute),
            clock=clock,
        )

    def admit(self, checks: list[tuple[SlidingWindow, str]]) -> int:
        """Count the request in every window and return 0, or count it nowhere and return
        the whole seconds to wait (at least 1)."""
        with self._lock:
            now = self.clock()
            wait = max((w.retry_after(key, now) for w, key in checks), default=0.0)
            if wait > 0:
                return max(1, math.ceil(wait))
            for window, key in checks:
                window.hit(key, now)
            return 0


def _token_key(session_id: str, authorization: str | None) -> str | None:
    """A session's window is keyed by its id and a hash of the token presented: requests
    without the right token cannot use up the real session's allowance."""
    if not authorization or not authorization.lower().startswith("bearer "):
        return None
    token = authorization[7:].strip()
    if not token:
        return None
    return f"{session_id}:{hashlib.sha256(token.encode()).hexdigest()[:32]}"


class RateLimitMiddleware:
    """ASGI middleware answering 429 before the limited routes run."""

    def __init__(self, app: ASGIApp, limiter: RateLimiter) -> None:
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        client = scope.get("client")
        address = client[0] if client else "unknown"
        headers = Headers(scope=scope)
        limiter = self.limiter
        match: re.Match[str] | None = None
        if path == SESSIONS_PATH:
            kind, checks = "session", [(limiter.ip_sessions, address)]
        elif path == LOGIN_PATH:
            kind, checks = "login", [(limiter.ip_logins, address)]
        elif (match := MESSAGES_PATH.match(path)) is not None:
            kind, checks = "message", [(limiter.ip_messages, address)]
            key = _token_key(match.group(1), headers.get("authorization"))
            if key is not None:
                checks.append((limiter.session_messages, key))
        else:
            await self.app(scope, receive, send)
            return
        wait = limiter.admit(checks)
        if not wait:
            await self.app(scope, receive, send)
            return
        logger.warning("rate limit: %s refused, retry in %s s", kind, wait)
        if kind == "login":
            locale = "fr"  # the console speaks French
        else:
            locale = self._locale(scope, headers, match.group(1) if match else None)
        seconds = words(locale, "seconds-one" if wait == 1 else "seconds-many", n=wait)
        message = words(locale, f"error-rate-limited-{kind}", seconds=seconds)
        response = JSONResponse(
            {"error": message, "retry_after": wait},
            status_code=429,
            headers={"Retry-After": str(wait)},
        )
        await response(scope, receive, send)

    @staticmethod
    def _locale(scope: Scope, headers: Headers, session_id: str | None) -> str:
        """The session's own locale when its token is right, else the browser's language."""
        if session_id is not None:
            found = _session_locale(scope, session_id, headers.get("authorization"))
            if found is not None:
                return found
        first = headers.get("accept-language", "").split(",")[0].split(";")[0].strip()
        return normalise_locale(first) if first else DEFAULT_LOCALE


def _session_locale(scope: Scope, session_id: str, authorization: str | None) -> str | None:
    gateway: Any = getattr(scope["app"].state, "gateway", None)
    if gateway is None:
        return None
    try:
        with session_scope(gateway.sessions) as session:
            person = web_sessions.person_of(session, session_id, bearer(authorization))
            return person[1] if person is not None else None
    except SQLAlchemyError:
        logger.warning("rate limit: the session's locale could not be read", exc_info=True)
        return None


def install_rate_limits(app: Any, settings: Settings, clock: Clock = time.monotonic) -> RateLimiter:
    """Put the limiter in front of the app; it is also ``app.state.rate_limiter``."""
    limiter = RateLimiter.from_settings(settings, clock)
    app.state.rate_limiter = limiter
    app.add_middleware(RateLimitMiddleware, limiter=limiter)
    return limiter
