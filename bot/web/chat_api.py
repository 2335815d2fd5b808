"""The web chat API (shared/spec/http-api.md): sessions, messages, events."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from bot import timing
from bot.conversations.models import Channel, Conversation, Delivery, Direction, Message
from bot.db import session_scope
from bot.gateway import Gateway
from bot.i18n import format_number, gettext, normalise_locale
from bot.messages import MAX_TEXT, InboundMessage
from bot.web import sessions as web_sessions
from bot.web.errors import ApiError

MAX_PAYLOAD = 500
TOKEN_COOKIE = "relais_chat_token"  # noqa: S105 (a cookie name)
HEARTBEAT_SECONDS = 15.0
# Control characters other than tab and newline say nothing and break some channels.
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")

router = APIRouter(prefix="/api/chat")


class NewSession(BaseModel):
    model_config = ConfigDict(extra="ignore")
    locale: str | None = None


class NewMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")
    text: str | None = None
    payload: str | None = None
    client_message_id: str | None = Field(default=None, max_length=64)


def gateway_of(request: Request) -> Gateway:
    gateway: Gateway = request.app.state.gateway
    return gateway


def bearer(authorization: str | None) -> str | None:
    if authorization and authorization.lower().startswith("bearer "):
        return authorization[7:].strip() or None
    return None


def authenticate(gateway: Gateway, session_id: str, token: str | None) -> tuple[str, str]:
    """(user id, locale) of the session, or 401 without telling which part was wrong."""
    with session_scope(gateway.sessions) as session:
        person = web_sessions.person_of(session, session_id, token)
    if person is None:
        raise ApiError(401, "Unknown session or wrong token.")
    return person


@router.post("/sessions", status_code=201)
async def create_session(
    request: Request, response: Response, body: Annotated[NewSession | None, Body()] = None
) -> dict[str, str]:
    """Open a web chat session; the token authenticates every later call."""
    gateway = gateway_of(request)
    raw_locale = body.locale if body else None
    if raw_locale is not None and normalise_locale(raw_locale) != raw_locale.split("-")[0].lower():
        raise ApiError(422, f"Unsupported locale {raw_locale[:16]!r}: use 'fr' or 'en'.")
    locale = normalise_locale(raw_locale)
    session_id, token = web_sessions.new_session_credentials()
    # Database work in a worker thread, off the event loop every conversation shares.
    await asyncio.to_thread(_open_session, gateway, session_id, token, locale)
    # EventSource cannot send headers: the stream also accepts this cookie, scoped to the
    # session's own path, so the token never travels in a URL.
    response.set_cookie(
        TOKEN_COOKIE,
        token,
        path=f"/api/chat/sessions/{session_id}",
        httponly=True,
        samesite="strict",
        secure=gateway.settings.is_production,
    )
    return {"session_id": session_id, "token": token}


def _open_session(gateway: Gateway, session_id: str, token: str, locale: str) -> None:
    ref = gateway.router.open_user(Channel.WEB, session_id, locale)
    with session_scope(gateway.sessions) as session:
        web_sessions.create(session, session_id, ref.user_id, token)


def validate_message(body: NewMessage, locale: str) -> InboundMessage:
    if (body.text is None) == (body.payload is None):
        raise ApiError(422, gettext(locale, "error-text-or-payload"))
    if body.text is not None:
        text = CONTROL_CHARS.sub("", body.text).strip()
        if not text:
            raise ApiError(422, gettext(locale, "error-empty-message"))
        if len(text) > MAX_TEXT:
            raise ApiError(
                413,
                gettext(locale, "error-message-too-long", limit=format_number(MAX_TEXT, locale)),
            )
        return InboundMessage(text=text, client_message_id=body.client_message_id)
    payload = (body.payload or "").strip()
    if not payload.startswith("/") or len(payload) > MAX_PAYLOAD or CONTROL_CHARS.search(payload):
        raise ApiError(422, gettext(locale, "error-bad-payload"))
    return InboundMessage(payload=payload, client_message_id=body.client_message_id)


@router.post("/sessions/{session_id}/messages")
async def post_message(
    request: Request,
    response: Response,
    session_id: str,
    body: NewMessage,
    authorization: Annotated[str | None, Header()] = None,
) -> dict[str, Any]:
    """Send the young person's message; answer with the bot's replies."""
    gateway = gateway_of(request)
    # Stage timings only when asked for (the stages are no-ops otherwise).
    stages = timing.start() if gateway.settings.server_timing else None
    with timing.stage("total"):
        _user_id, locale = await timing.in_thread(
            "auth", authenticate, gateway, session_id, bearer(authorization)
        )
        inbound = validate_message(body, locale)
        result = await gateway.router.handle(Channel.WEB, session_id, inbound, locale)
    if stages is not None:
        # Durations per stage, no content: how the benchmark explains a slow reply.
        response.headers["Server-Timing"] = timing.header(stages)
    return {
        "messages": [{**m.to_dict(), "from": m.sender} for m in result.messages],
        "handoff": result.handoff.to_dict() if result.handoff else None,
        **({"locale": result.set_locale} if result.set_locale else {}),
        # Extension of the spec'd reply: after an erasure, the page forgets its copy.
        **({"forget": True} if result.forget else {}),
    }


@router.get("/sessions/{session_id}/events")
async def stream_events(
    request: Request,
    session_id: str,
    authorization: Annotated[str | None, Header()] = None,
    last_event_id: Annotated[str | None, Header()] = None,
) -> StreamingResponse:
    """Server-Sent Events of messages that arrive later (référent, reminders, queue)."""
    gateway = gateway_of(request)
    token = bearer(authorization) or request.cookies.get(TOKEN_COOKIE)
    # Database work in worker threads, off the event loop every conversation shares.
    user_id, _locale = await asyncio.to_thread(authenticate, gateway, session_id, token)
    queue = gateway.bus.subscribe(user_id)  # before reading what was missed: no gap
    try:
        missed = await asyncio.to_thread(_missed_messages, gateway, user_id, last_event_id)
    except BaseException:
        gateway.bus.unsubscribe(user_id, queue)
        raise

    async def events() -> AsyncIterator[str]:
        try:
            yield "retry: 3000\n\n"
            for event in missed:
                yield _sse(event)
            while True:
                try:
                    event = await asyncio.wait_for(queue.get(), HEARTBEAT_SECONDS)
                except TimeoutError:
                    if await request.is_disconnected():
                        return
                    yield ": keep-alive\n\n"
                    continue
                yield _sse(event)
        finally:
            gateway.bus.unsubscribe(user_id, queue)

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


def _sse(event: dict[str, Any]) -> str:
    event_id = event.get("id")
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}data: {json.dumps(event, ensure_ascii=False)}\n\n"


def _missed_messages(
    gateway: Gateway, user_id: str, last_event_id: str | None
) -> list[dict[str, Any]]:
    """Proactive messages the person has not seen: after Last-Event-ID, or still pending."""
    with session_scope(gateway.sessions) as session:
        query = (
            select(Message)
            .join(Conversation, Conversation.id == Message.conversation_id)
            .where(
                Conversation.user_id == user_id,
                Message.direction == Direction.OUTBOUND,
                Message.reply_to_id.is_(None),
            )
            .order_by(Message.id)
        )
        if last_event_id and last_event_id.isdigit():
            query = query.where(Message.id > int(last_event_id))
        else:
            query = query.where(Message.delivery == Delivery.PENDING)
        rows = list(session.scalars(query.limit(200)))
        for row in rows:
            row.delivery = Delivery.DONE
        return [
            {"text": r.text, "buttons": r.buttons or [], "from": r.sender.value, "id": r.id}
            for r in rows
        ]
