"""The référent console's JSON API and page (handoff/console/API.md)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import FileResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.conversations.models import User
from bot.db import session_scope, utcnow
from bot.gateway import Gateway
from bot.messages import MAX_TEXT
from bot.self_assessment import store as self_assessment_store
from bot.web.errors import ApiError
from dialogues.directory.partners import load_directory
from handoff import accounts, queue, stats
from handoff.console import audit
from handoff.console.quick_replies import quick_replies
from handoff.desk import CONSOLE, DeskError, message_view
from handoff.models import (
    REFERENT_OUTCOMES,
    ConsoleSession,
    Handoff,
    Outcome,
    Referent,
    Role,
)
from handoff.notify import reason_label
from handoff.queue import ClaimResult

T = TypeVar("T")
COOKIE = "relais_console"
STATIC_DIR = Path(__file__).resolve().parent / "static"
HEARTBEAT_SECONDS = 15.0
NOT_LOGGED_IN = "Vous n'êtes pas connecté·e, ou la session a expiré : connectez-vous."
MAX_STATS_DAYS = 366
OUTCOME_LABELS = {
    Outcome.INFORMATION_GIVEN: "Information donnée",
    Outcome.ORIENTED_TO_SERVICE: "Orienté·e vers un service",
    Outcome.APPOINTMENT_SET: "Rendez-vous fixé",
    Outcome.URGENT_SERVICE_CONTACTED: "Service d'urgence contacté",
    Outcome.FOLLOW_UP: "Suivi à prévoir",
    Outcome.NO_ANSWER: "Pas de réponse",
}
CLAIM_ERRORS = {
    ClaimResult.ALREADY_TAKEN: (
        409,
        "Trop tard : une ou un collègue a déjà pris cette conversation.",
    ),
    ClaimResult.NO_LONGER_WAITING: (
        409,
        "Cette demande n'attend plus : elle a été annulée ou close.",
    ),
    ClaimResult.AT_CAPACITY: (409, "Vous avez déjà le maximum de conversations en cours."),
    ClaimResult.NOT_VISIBLE: (404, "Conversation introuvable."),
    ClaimResult.NOT_FOUND: (404, "Conversation introuvable."),
}

page_router = APIRouter()
router = APIRouter(prefix="/console/api")


@page_router.get("/console", include_in_schema=False)
async def console_page() -> FileResponse:
    return FileResponse(STATIC_DIR / "console.html", headers={"Cache-Control": "no-cache"})


# --- authentication -------------------------------------------------------------------
class Login(BaseModel):
    model_config = ConfigDict(extra="ignore")
    email: str = Field(max_length=254)
    password: str = Field(max_length=256)


def gateway_of(request: Request) -> Gateway:
    gateway: Gateway = request.app.state.gateway
    return gateway


def viewer(request: Request, csrf: str | None = None, *, mutating: bool = False) -> Referent:
    """The logged-in référent; 401 without a session, 403 without the CSRF token."""
    with session_scope(gateway_of(request).sessions) as session:
        found = accounts.session_for(session, request.cookies.get(COOKIE))
        if found is None:
            raise ApiError(401, NOT_LOGGED_IN)
        row, referent = found
        if mutating and not accounts.csrf_ok(row, csrf):
            raise ApiError(403, "Jeton de sécurité manquant ou invalide : rechargez la page.")
        return referent


def supervisor(request: Request, csrf: str | None = None, *, mutating: bool = False) -> Referent:
    referent = viewer(request, csrf, mutating=mutating)
    if not referent.is_supervisor:
        raise ApiError(403, "Réservé aux superviseurs.")
    return referent


CsrfHeader = Annotated[str | None, Header(alias="X-CSRF-Token")]


def me_view(session: Session, referent: Referent, row: ConsoleSession) -> dict[str, Any]:
    return {
        "id": referent.id,
        "display_name": referent.display_name,
        "email": referent.email,
        "role": referent.role.value,
        "territories": referent.territories,
        "serves_under_16": referent.serves_under_16,
        "capacity": referent.capacity,
        "active_count": queue.active_count(session, referent.id),
        "csrf_token": row.csrf_token,
    }


@router.post("/login")
async def login(request: Request, response: Response, body: Login) -> dict[str, Any]:
    gateway = gateway_of(request)
    # Decide inside the transaction, refuse after it: the failure count and the lock
    # must be committed, and an error raised inside would roll them back.
    with session_scope(gateway.sessions) as session:
        result = accounts.authenticate(session, body.email, body.password)
        if result.referent is not None:
            token, row = accounts.open_session(session, result.referent)
            me = me_view(session, result.referent, row)
    if result.locked_until is not None:
        wait = max(1, int((result.locked_until - utcnow()).total_seconds()))
        words = (
            f"Trop d'essais : compte bloqué pendant {(wait + 59) // 60} min. Réessayez plus tard."
        )
        raise LockedError(words, wait)
    if result.referent is None:
        raise ApiError(401, "Adresse ou mot de passe incorrect.")
    response.set_cookie(
        COOKIE,
        token,
        path="/console",
        httponly=True,
        samesite="strict",
        secure=gateway.settings.is_production,
        max_age=int(accounts.SESSION_LIFETIME.total_seconds()),
    )
    return {"me": me}


class LockedError(ApiError):
    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(
            429, message, {"Retry-After": str(retry_after)}, {"retry_after": retry_after}
        )


@router.post("/logout", status_code=204)
async def logout(request: Request, csrf: CsrfHeader = None) -> Response:
    with session_scope(gateway_of(request).sessions) as session:
        found = accounts.session_for(session, request.cookies.get(COOKIE))
        if found is not None:
            if not accounts.csrf_ok(found[0], csrf):
                raise ApiError(403, "Jeton de sécurité manquant ou invalide : rechargez la page.")
            accounts.close_session(session, request.cookies.get(COOKIE))
    # An expired session is logged out too: the cookie goes either way.
    response = Response(status_code=204)
    response.delete_cookie(COOKIE, path="/console")
    return response


@router.get("/me")
async def me(request: Request) -> dict[str, Any]:
    with session_scope(gateway_of(request).sessions) as session:
        found = accounts.session_for(session, request.cookies.get(COOKIE))
        if found is None:
            raise ApiError(401, NOT_LOGGED_IN)
        row, referent = found
        return me_view(session, referent, row)


# --- queue ----------------------------------------------------------------------------
def summary(session: Session, handoff: Handoff, now: dt.datetime | None = None) -> dict[str, Any]:
    now = now or utcnow()
    user = session.get(User, handoff.user_id)
    referent = session.get(Referent, handoff.referent_id) if handoff.referent_id else None
    names = {t.id: t.name for t in load_directory()}
    waiting = (
        int((now - handoff.queued_at).total_seconds())
        if handoff.queued_at and handoff.status.value == "waiting"
        else None
    )
    return {
        "id": handoff.id,
        "status": "waiting" if handoff.status.value == "requested" else handoff.status.value,
        "priority": handoff.priority.value,
        "reason": handoff.reason,
        "reason_label": reason_label(handoff.reason),
        "territory": handoff.territory_id,
        "territory_name": names.get(handoff.territory_id or ""),
        "under_16": handoff.under_16,
        "channel": user.channel.value if user else None,
        "language": user.locale if user else None,
        "queued_at": handoff.queued_at.isoformat() if handoff.queued_at else None,
        "waiting_seconds": waiting,
        "claimed_at": handoff.claimed_at.isoformat() if handoff.claimed_at else None,
        "referent": {"id": referent.id, "display_name": referent.display_name}
        if referent
        else None,
        "escalated": handoff.escalated_at is not None,
        "share_history": handoff.share_history,
        "outcome": handoff.outcome.value if handoff.outcome else None,
    }


@router.get("/queue")
async def get_queue(request: Request) -> dict[str, Any]:
    referent = viewer(request)
    with session_scope(gateway_of(request).sessions) as session:
        now = utcnow()
        others: list[Handoff] = []
        if referent.is_supervisor:
            others = list(
                session.scalars(
                    select(Handoff)
                    .where(Handoff.status == "assigned", Handoff.referent_id != referent.id)
                    .order_by(Handoff.priority_rank, Handoff.queued_at)
                )
            )
        return {
            "waiting": [summary(session, h, now) for h in queue.waiting(session, referent)],
            "mine": [summary(session, h, now) for h in queue.assigned_to(session, referent.id)],
            "others": [summary(session, h, now) for h in others],
        }


@router.get("/events")
async def events(request: Request) -> StreamingResponse:
    """Live queue and messages for this référent (what they may see only)."""
    viewer(request)
    bus = gateway_of(request).desk.bus
    stream = bus.subscribe(CONSOLE)

    async def body() -> AsyncIterator[str]:
        try:
            yield "retry: 3000\n\n"
            while True:
                try:
                    event = await asyncio.wait_for(stream.get(), HEARTBEAT_SECONDS)
                except TimeoutError:
                    event = None
                # The rights of now, not those of when the stream opened: a logout, a
                # deactivation or a new territory take effect at once.
                referent = _still_logged_in(request)
                if referent is None or await request.is_disconnected():
                    return
                if event is None:
                    yield ": keep-alive\n\n"
                elif may_receive(referent, event):
                    public = {k: v for k, v in event.items() if not k.startswith("_")}
                    yield f"data: {json.dumps(public, ensure_ascii=False)}\n\n"
        finally:
            bus.unsubscribe(CONSOLE, stream)

    return StreamingResponse(
        body(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


def _still_logged_in(request: Request) -> Referent | None:
    with session_scope(gateway_of(request).sessions) as session:
        found = accounts.session_for(session, request.cookies.get(COOKIE))
        return found[1] if found else None


def may_receive(referent: Referent, event: dict[str, Any]) -> bool:
    if referent.is_supervisor or "_territory" not in event:
        return True
    if event.get("type") == "message" and event.get("_holder") not in (None, referent.id):
        return False
    territory = event.get("_territory")
    territory_ok = territory is None or territory in (referent.territories or [])
    return territory_ok and (referent.serves_under_16 or not event.get("_under_16"))


# --- one conversation -----------------------------------------------------------------
def _visible(session: Session, referent: Referent, handoff_id: int) -> Handoff:
    handoff = session.get(Handoff, handoff_id)
    if handoff is None or not queue.may_open(referent, handoff):
        raise ApiError(404, "Conversation introuvable.")
    return handoff


async def _desk_call(coroutine: Awaitable[T]) -> T:
    """Run a desk action; its refusals become the console's plain-words errors."""
    try:
        return await coroutine
    except DeskError as exc:
        raise ApiError(exc.status, exc.message) from exc


def _summary_of(request: Request, handoff_id: int) -> dict[str, Any]:
    with session_scope(gateway_of(request).sessions) as session:
        handoff = session.get(Handoff, handoff_id)
        if handoff is None:
            raise ApiError(404, "Conversation introuvable.")
        return summary(session, handoff)


@router.post("/handoffs/{handoff_id}/claim")
async def claim(request: Request, handoff_id: int, csrf: CsrfHeader = None) -> dict[str, Any]:
    referent = viewer(request, csrf, mutating=True)
    result = await _desk_call(gateway_of(request).desk.claim(handoff_id, referent.id))
    if result is not ClaimResult.CLAIMED:
        status, words = CLAIM_ERRORS[result]
        raise ApiError(status, words)
    return _summary_of(request, handoff_id)


@router.get("/handoffs/{handoff_id}")
async def conversation(request: Request, handoff_id: int) -> dict[str, Any]:
    referent = viewer(request)
    with session_scope(gateway_of(request).sessions) as session:
        handoff = _visible(session, referent, handoff_id)
        queue.record_access(session, handoff, referent)
        user = session.get(User, handoff.user_id)
        locale = user.locale if user else "fr"
        colleagues = session.scalars(
            select(Referent).where(Referent.active, Referent.id != referent.id)
        ).all()
        return {
            "handoff": summary(session, handoff),
            "messages": [message_view(m) for m in queue.visible_messages(session, handoff)],
            "notes": [
                {
                    "id": n.id,
                    "author": _name(session, n.referent_id),
                    "text": n.text,
                    "created_at": n.created_at.isoformat(),
                }
                for n in queue.notes(session, handoff.id)
            ],
            # Only what the person agreed to share, and only while they agree.
            "self_assessment": self_assessment_store.shared_view(session, handoff.user_id),
            "quick_replies": quick_replies(locale),
            "outcomes": [{"value": o.value, "label": OUTCOME_LABELS[o]} for o in REFERENT_OUTCOMES],
            "colleagues": [
                {"id": c.id, "display_name": c.display_name}
                for c in colleagues
                if queue.can_see(c, handoff)
            ],
        }


def _name(session: Session, referent_id: str | None) -> str:
    referent = session.get(Referent, referent_id) if referent_id else None
    return referent.display_name if referent else "—"


class Text(BaseModel):
    model_config = ConfigDict(extra="ignore")
    text: str


def _clean(text: str) -> str:
    cleaned = text.strip()
    if not cleaned:
        raise ApiError(422, "Le message est vide.")
    if len(cleaned) > MAX_TEXT:
        raise ApiError(413, f"Le message dépasse {MAX_TEXT} caractères : coupez-le en deux.")
    return cleaned


@router.post("/handoffs/{handoff_id}/messages", status_code=201)
async def send_message(
    request: Request, handoff_id: int, body: Text, csrf: CsrfHeader = None
) -> dict[str, Any]:
    referent = viewer(request, csrf, mutating=True)
    text = _clean(body.text)
    return await _desk_call(gateway_of(request).desk.send(handoff_id, referent.id, text))


@router.post("/handoffs/{handoff_id}/notes", status_code=201)
async def add_note(
    request: Request, handoff_id: int, body: Text, csrf: CsrfHeader = None
) -> dict[str, Any]:
    referent = viewer(request, csrf, mutating=True)
    text = _clean(body.text)
    with session_scope(gateway_of(request).sessions) as session:
        handoff = _visible(session, referent, handoff_id)
        note = queue.add_note(session, handoff, referent, text)
        return {
            "id": note.id,
            "author": referent.display_name,
            "text": note.text,
            "created_at": note.created_at.isoformat(),
        }


@router.post("/handoffs/{handoff_id}/release")
async def release(request: Request, handoff_id: int, csrf: CsrfHeader = None) -> dict[str, Any]:
    referent = viewer(request, csrf, mutating=True)
    await _desk_call(gateway_of(request).desk.release(handoff_id, referent.id))
    return _summary_of(request, handoff_id)


class ToColleague(BaseModel):
    model_config = ConfigDict(extra="ignore")
    referent_id: str = Field(max_length=32)


@router.post("/handoffs/{handoff_id}/transfer")
async def transfer(
    request: Request, handoff_id: int, body: ToColleague, csrf: CsrfHeader = None
) -> dict[str, Any]:
    referent = viewer(request, csrf, mutating=True)
    await _desk_call(gateway_of(request).desk.transfer(handoff_id, referent.id, body.referent_id))
    return _summary_of(request, handoff_id)


@router.post("/handoffs/{handoff_id}/assign")
async def assign(
    request: Request, handoff_id: int, body: ToColleague, csrf: CsrfHeader = None
) -> dict[str, Any]:
    boss = supervisor(request, csrf, mutating=True)
    await _desk_call(
        gateway_of(request).desk.transfer(handoff_id, boss.id, body.referent_id, supervisor=True)
    )
    return _summary_of(request, handoff_id)


@router.post("/handoffs/{handoff_id}/return-to-bot")
async def return_to_bot(
    request: Request, handoff_id: int, csrf: CsrfHeader = None
) -> dict[str, Any]:
    referent = viewer(request, csrf, mutating=True)
    await _desk_call(
        gateway_of(request).desk.close(handoff_id, referent.id, Outcome.RETURNED_TO_BOT)
    )
    return _summary_of(request, handoff_id)


class Closing(BaseModel):
    model_config = ConfigDict(extra="ignore")
    outcome: str


@router.post("/handoffs/{handoff_id}/close")
async def close(
    request: Request, handoff_id: int, body: Closing, csrf: CsrfHeader = None
) -> dict[str, Any]:
    referent = viewer(request, csrf, mutating=True)
    try:
        outcome = Outcome(body.outcome)
    except ValueError:
        outcome = None
    if outcome not in REFERENT_OUTCOMES:
        raise ApiError(422, "Choisissez une issue dans la liste pour clore.")
    assert outcome is not None
    await _desk_call(gateway_of(request).desk.close(handoff_id, referent.id, outcome))
    return _summary_of(request, handoff_id)


# --- accounts (supervisors) -----------------------------------------------------------
def account_view(session: Session, referent: Referent) -> dict[str, Any]:
    return {
        "id": referent.id,
        "email": referent.email,
        "display_name": referent.display_name,
        "role": referent.role.value,
        "territories": referent.territories,
        "serves_under_16": referent.serves_under_16,
        "capacity": referent.capacity,
        "active": referent.active,
        "active_count": queue.active_count(session, referent.id),
    }


@router.get("/referents")
async def list_referents(request: Request) -> list[dict[str, Any]]:
    referent = viewer(request)
    with session_scope(gateway_of(request).sessions) as session:
        rows = session.scalars(select(Referent).order_by(Referent.display_name)).all()
        if referent.is_supervisor:
            return [account_view(session, r) for r in rows]
        return [{"id": r.id, "display_name": r.display_name} for r in rows if r.active]


class NewAccount(BaseModel):
    model_config = ConfigDict(extra="ignore")
    email: str = Field(max_length=254)
    display_name: str = Field(max_length=80)
    password: str = Field(max_length=256)
    role: Role = Role.REFERENT
    territories: list[str] = Field(default_factory=list, max_length=100)
    serves_under_16: bool = False
    capacity: int = Field(default=50, ge=1, le=500)


@router.post("/referents", status_code=201)
async def create_account(
    request: Request, body: NewAccount, csrf: CsrfHeader = None
) -> dict[str, Any]:
    supervisor(request, csrf, mutating=True)
    _known_territories(body.territories)
    with session_scope(gateway_of(request).sessions) as session:
        try:
            created = accounts.create_referent(session, **body.model_dump())
        except accounts.AccountError as exc:
            status = 409 if "existe déjà" in str(exc) else 422
            raise ApiError(status, str(exc)) from exc
        return account_view(session, created)


class AccountChange(BaseModel):
    model_config = ConfigDict(extra="ignore")
    display_name: str | None = Field(default=None, max_length=80)
    role: Role | None = None
    territories: list[str] | None = Field(default=None, max_length=100)
    serves_under_16: bool | None = None
    capacity: int | None = Field(default=None, ge=1, le=500)
    active: bool | None = None
    password: str | None = Field(default=None, max_length=256)


@router.patch("/referents/{referent_id}")
async def change_account(
    request: Request, referent_id: str, body: AccountChange, csrf: CsrfHeader = None
) -> dict[str, Any]:
    boss = supervisor(request, csrf, mutating=True)
    if body.territories is not None:
        _known_territories(body.territories)
    with session_scope(gateway_of(request).sessions) as session:
        target = session.get(Referent, referent_id)
        if target is None:
            raise ApiError(404, "Compte introuvable.")
        if target.id == boss.id and (body.active is False or body.role is Role.REFERENT):
            raise ApiError(409, "Vous ne pouvez pas retirer vos propres droits de superviseur.")
        changes = body.model_dump(exclude_none=True, exclude={"password"})
        for key, value in changes.items():
            setattr(target, key, value)
        if body.password is not None:
            try:
                accounts.set_password(target, body.password)
            except accounts.AccountError as exc:
                raise ApiError(422, str(exc)) from exc
        if body.active is False or body.password is not None:
            accounts.end_sessions_of(session, target.id)
        session.flush()
        # Conversations this account may no longer hold go back to the queue, so nobody
        # is left waiting on a closed account or a territory it left.
        orphans = [
            h.id
            for h in queue.assigned_to(session, target.id)
            if not target.active or not queue.can_see(target, h)
        ]
        view = account_view(session, target)
    for handoff_id in orphans:
        await _desk_call(gateway_of(request).desk.release(handoff_id, boss.id))
    if orphans:
        with session_scope(gateway_of(request).sessions) as session:
            refreshed = session.get(Referent, referent_id)
            assert refreshed is not None
            view = account_view(session, refreshed)
    return view


def _known_territories(ids: list[str]) -> None:
    known = {t.id for t in load_directory()}
    unknown = [t for t in ids if t not in known]
    if unknown:
        raise ApiError(422, f"Territoire inconnu : {', '.join(unknown)[:100]}.")


@router.get("/territories")
async def territories(request: Request) -> list[dict[str, str]]:
    viewer(request)
    return [{"id": t.id, "name": t.name} for t in load_directory()]


# --- supervision ----------------------------------------------------------------------
def _window(days: int) -> tuple[dt.datetime, dt.datetime]:
    until = utcnow()
    return until - dt.timedelta(days=days), until


@router.get("/stats")
async def get_stats(
    request: Request, days: Annotated[int, Query(ge=1, le=MAX_STATS_DAYS)] = 30
) -> dict[str, Any]:
    supervisor(request)
    since, until = _window(days)
    with session_scope(gateway_of(request).sessions) as session:
        return stats.supervision(session, since, until)


@router.get("/stats.csv")
async def get_stats_csv(
    request: Request, days: Annotated[int, Query(ge=1, le=MAX_STATS_DAYS)] = 30
) -> Response:
    supervisor(request)
    since, until = _window(days)
    with session_scope(gateway_of(request).sessions) as session:
        body = stats.handoffs_csv(session, since, until)
    filename = f"relais-handoffs-{until:%Y%m%d}-{days}j.csv"
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


# --- access log (supervisors) ---------------------------------------------------------
# Reading it is not itself recorded: see handoff/console/audit.py.
def _day(value: str | None, words: str) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ApiError(422, f"{words} : indiquez une date au format AAAA-MM-JJ.") from None


def _audit_filter(
    request: Request,
    referent: str | None,
    handoff: int | None,
    since: str | None,
    until: str | None,
) -> audit.AuditFilter:
    """Whole days, from ``since`` to ``until`` included, in the gateway's zone."""
    first, last = _day(since, "Date de début"), _day(until, "Date de fin")
    if first and last and first > last:
        raise ApiError(422, "La date de début est après la date de fin.")
    tz = gateway_of(request).settings.tz
    return audit.AuditFilter(
        referent_id=referent or None,
        handoff_id=handoff,
        since=dt.datetime.combine(first, dt.time(), tz) if first else None,
        until=dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), tz) if last else None,
    )


ReferentFilter = Annotated[str | None, Query(max_length=32)]
HandoffFilter = Annotated[int | None, Query(ge=1)]
DayFilter = Annotated[str | None, Query(max_length=10)]


@router.get("/audit")
async def get_audit(
    request: Request,
    referent: ReferentFilter = None,
    handoff: HandoffFilter = None,
    since: DayFilter = None,
    until: DayFilter = None,
    before: Annotated[int | None, Query(ge=1)] = None,
    limit: Annotated[int, Query(ge=1)] = audit.DEFAULT_LIMIT,
) -> dict[str, Any]:
    supervisor(request)
    filters = _audit_filter(request, referent, handoff, since, until)
    with session_scope(gateway_of(request).sessions) as session:
        events, next_before = audit.page(session, filters, before=before, limit=limit)
    return {"events": events, "next_before": next_before}


@router.get("/audit.csv")
async def get_audit_csv(
    request: Request,
    referent: ReferentFilter = None,
    handoff: HandoffFilter = None,
    since: DayFilter = None,
    until: DayFilter = None,
) -> Response:
    supervisor(request)
    filters = _audit_filter(request, referent, handoff, since, until)
    with session_scope(gateway_of(request).sessions) as session:
        body = audit.audit_csv(session, filters)
    filename = f"relais-journal-acces-{utcnow():%Y%m%d}.csv"
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )
