"""Appointments in the référent console: list, set, move, cancel, close, propose times
(handoff/console/API.md, "Appointments").

``bot.appointments.service`` writes; this module checks who may ask, words the refusals,
sends the person the matching text (``bot.appointments.texts``) once the change is
committed, and tells open consoles. Who may change a person's appointments is decided by
the person's current handoff (``_deciding_handoff``): its holder, or a supervisor.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.appointments import service, texts
from bot.appointments.models import Appointment, AppointmentOption, Mode
from bot.appointments.preferences import stopped
from bot.appointments.service import MAX_DURATION_MINUTES, MAX_OPTIONS, AppointmentError
from bot.conversations.models import Message, User
from bot.db import session_scope, utcnow
from bot.i18n import format_when
from bot.messages import OutboundMessage
from bot.web.errors import ApiError
from handoff import queue
from handoff.console.api import CsrfHeader, _visible, gateway_of, viewer
from handoff.desk import CONSOLE, _audience, message_view
from handoff.models import HELD_STATUSES, Handoff, HandoffStatus, Referent

router = APIRouter(prefix="/console/api")

PAST_SHOWN = 5  # settled or past appointments listed after the upcoming ones
MAX_LISTED = 200
MAX_FIELD = 500  # place, what to bring
MIN_DURATION = 5
STOPPED_WHY = "La personne a demandé à ne plus recevoir de messages : dites-lui de vive voix."
NOT_FOUND = "Rendez-vous introuvable."


# --- who may do what ------------------------------------------------------------------
def _deciding_handoff(session: Session, user_id: str) -> Handoff | None:
    """The handoff that says who follows the person now: the one waiting or held, else
    the latest one a référent held (requests not yet consented to say nothing)."""
    held = session.scalar(
        select(Handoff)
        .where(Handoff.user_id == user_id, Handoff.status.in_(list(HELD_STATUSES)))
        .order_by(Handoff.id.desc())
        .limit(1)
    )
    if held is not None:
        return held
    return session.scalar(
        select(Handoff)
        .where(
            Handoff.user_id == user_id,
            Handoff.status == HandoffStatus.CLOSED,
            Handoff.referent_id.is_not(None),
        )
        .order_by(Handoff.id.desc())
        .limit(1)
    )


def _shown_in(handoff: Handoff, appointment: Appointment) -> bool:
    """As for messages: without the shared history, only what was set from the request on."""
    return handoff.share_history is True or appointment.created_at >= handoff.requested_at


def _may_change(referent: Referent, handoff: Handoff | None) -> bool:
    if handoff is None or not queue.may_open(referent, handoff):
        return False
    return referent.is_supervisor or handoff.referent_id == referent.id


def _changeable(session: Session, referent: Referent, appointment_id: str) -> Handoff:
    """The person's deciding handoff, when this référent may change this appointment:
    404 when they may not see it, 409 when they may see it but do not follow the person."""
    appointment = service.get(session, appointment_id)
    handoff = _deciding_handoff(session, appointment.user_id) if appointment else None
    if (
        appointment is None
        or handoff is None
        or not queue.may_open(referent, handoff)
        or not _shown_in(handoff, appointment)
    ):
        raise ApiError(404, NOT_FOUND)
    if not _may_change(referent, handoff):
        raise ApiError(409, "Prenez d'abord la conversation de cette personne.")
    return handoff


def _may_create(referent: Referent, handoff: Handoff) -> bool:
    holder = handoff.status is HandoffStatus.ASSIGNED and handoff.referent_id == referent.id
    return holder or referent.is_supervisor


# --- what the console shows -----------------------------------------------------------
def _when(moment: dt.datetime, tz: dt.tzinfo) -> dict[str, str]:
    return {
        "starts_at": moment.astimezone(tz).isoformat(),
        "starts_label": format_when(moment, "fr", tz),
    }


def _pending_options(session: Session, appointment_id: str) -> list[AppointmentOption]:
    """The times proposed and not picked yet (none once the person picked one)."""
    rows = session.scalars(
        select(AppointmentOption)
        .where(AppointmentOption.appointment_id == appointment_id)
        .order_by(AppointmentOption.starts_at)
    ).all()
    return [] if any(o.chosen_at is not None for o in rows) else list(rows)


def appointment_view(
    session: Session, appointment: Appointment, tz: dt.tzinfo, now: dt.datetime | None = None
) -> dict[str, Any]:
    now = now or utcnow()
    referent = session.get(Referent, appointment.referent_id) if appointment.referent_id else None
    return {
        "id": appointment.id,
        **_when(appointment.starts_at, tz),
        "duration_minutes": appointment.duration_minutes,
        "mode": appointment.mode.value,
        "place": appointment.place,
        "bring": appointment.bring,
        "status": appointment.status.value,
        "referent": referent.display_name if referent else None,
        # "Je ne peux pas" or "un autre moment": new times are awaited.
        "reschedule_wanted": appointment.declined_at is not None,
        "past": appointment.ends_at <= now,
        "options": [
            {"id": o.id, **_when(o.starts_at, tz)}
            for o in _pending_options(session, appointment.id)
        ],
    }


# --- input ----------------------------------------------------------------------------
class NewAppointment(BaseModel):
    model_config = ConfigDict(extra="ignore")
    # Loose types: the checks below answer in French words.
    starts_at: Any = None
    duration_minutes: Any = 30
    mode: Any = None
    place: Any = None
    bring: Any = None


def _moment(value: Any, tz: dt.tzinfo, now: dt.datetime) -> dt.datetime:
    """An ISO time in the future; without an offset, it is read in the gateway's zone."""
    try:
        moment = dt.datetime.fromisoformat(str(value or "").strip())
    except ValueError:
        raise ApiError(422, "Indiquez la date et l'heure du rendez-vous.") from None
    if moment.tzinfo is None:
        local = moment.replace(tzinfo=tz)
        if local.astimezone(dt.UTC).astimezone(tz).replace(tzinfo=None) != moment:
            raise ApiError(422, "Cette heure n'existe pas ce jour-là (changement d'heure).")
        moment = local
    if moment <= now:
        raise ApiError(422, "Le rendez-vous doit être dans le futur.")
    return moment


def _optional_text(value: Any, what: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value.strip()) > MAX_FIELD:
        raise ApiError(422, f"{what} : {MAX_FIELD} caractères au plus.")
    return value.strip() or None


def _duration(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
        raise ApiError(422, "Indiquez la durée en minutes.")
    minutes = int(value)
    if not MIN_DURATION <= minutes <= MAX_DURATION_MINUTES:
        raise ApiError(422, "La durée doit être comprise entre 5 minutes et 8 heures.")
    return minutes


def _mode(value: Any) -> Mode:
    try:
        return Mode(value)
    except ValueError:
        raise ApiError(422, "Choisissez : sur place, par téléphone ou en visio.") from None


# --- telling the person and the consoles ----------------------------------------------
async def _send(
    request: Request, handoff_id: int, user_id: str, message: OutboundMessage | None
) -> dict[str, Any]:
    """Push ``message`` to the person unless they stopped proactive messages and nobody
    holds a live conversation with them; tell the consoles that the appointment changed."""
    gateway = gateway_of(request)
    with session_scope(gateway.sessions) as session:
        handoff = session.get(Handoff, handoff_id)
        live = handoff is not None and handoff.status is HandoffStatus.ASSIGNED
        audience = _audience(handoff) if handoff is not None else {}
        is_open = handoff is not None and handoff.status is not HandoffStatus.CLOSED
        quiet = stopped(session, user_id)
    result: dict[str, Any] = {"delivered": False, "why": None, "stopped_messages": quiet}
    if message is None:
        return result
    if quiet and not live:
        result["why"] = STOPPED_WHY
        return result
    message_id = await gateway.router.push(user_id, message)
    result["delivered"] = message_id is not None
    if message_id is not None and is_open:
        with session_scope(gateway.sessions) as session:
            row = session.get(Message, message_id)
            view = message_view(row) if row else None
        if view is not None:
            gateway.desk.bus.publish(
                CONSOLE, {"type": "message", "handoff_id": handoff_id, "message": view, **audience}
            )
    return result


def _announce(request: Request, appointment_id: str) -> None:
    """Open consoles reload the appointment (ids only, as for the person's answers)."""
    gateway_of(request).desk.bus.publish(
        CONSOLE, {"type": "appointment", "appointment_id": appointment_id, "kind": "updated"}
    )


def _locale(session: Session, user_id: str) -> str:
    user = session.get(User, user_id)
    return user.locale if user else "fr"


# --- endpoints ------------------------------------------------------------------------
@router.get("/handoffs/{handoff_id}/appointments")
async def list_appointments(request: Request, handoff_id: int) -> dict[str, Any]:
    referent = viewer(request)
    tz = gateway_of(request).settings.tz
    now = utcnow()
    with session_scope(gateway_of(request).sessions) as session:
        handoff = _visible(session, referent, handoff_id)
        rows = session.scalars(
            select(Appointment)
            .where(Appointment.user_id == handoff.user_id)
            .order_by(Appointment.starts_at.desc())
            .limit(MAX_LISTED)
        ).all()
        shown = [a for a in rows if _shown_in(handoff, a)]
        upcoming = sorted((a for a in shown if a.ends_at > now), key=lambda a: a.starts_at)
        past = [a for a in shown if a.ends_at <= now][:PAST_SHOWN]
        return {
            "appointments": [appointment_view(session, a, tz, now) for a in [*upcoming, *past]],
            "stopped_messages": stopped(session, handoff.user_id),
            "may_create": _may_create(referent, handoff),
            "may_change": _may_change(referent, _deciding_handoff(session, handoff.user_id)),
        }


@router.post("/handoffs/{handoff_id}/appointments", status_code=201)
async def create_appointment(
    request: Request, handoff_id: int, body: NewAppointment, csrf: CsrfHeader = None
) -> dict[str, Any]:
    referent = viewer(request, csrf, mutating=True)
    gateway = gateway_of(request)
    tz, now = gateway.settings.tz, utcnow()
    with session_scope(gateway.sessions) as session:
        handoff = _visible(session, referent, handoff_id)
        if not _may_create(referent, handoff):
            raise ApiError(409, "Prenez d'abord la conversation pour fixer un rendez-vous.")
        starts_at = _moment(body.starts_at, tz, now)
        try:
            appointment = service.create(
                session,
                user_id=handoff.user_id,
                referent_id=referent.id,
                starts_at=starts_at,
                duration_minutes=_duration(body.duration_minutes),
                mode=_mode(body.mode),
                place=_optional_text(body.place, "Lieu"),
                bring=_optional_text(body.bring, "À apporter"),
                now=now,
                tz=tz,
                config=gateway.reminder_config,
            )
        except AppointmentError as exc:
            raise ApiError(422, str(exc)) from exc
        user_id = handoff.user_id
        message = texts.proposed(appointment, _locale(session, user_id), tz)
        view = appointment_view(session, appointment, tz, now)
    sent = await _send(request, handoff_id, user_id, message)
    _announce(request, view["id"])
    return {**view, **sent}


@router.get("/appointments/{appointment_id}")
async def one_appointment(request: Request, appointment_id: str) -> dict[str, Any]:
    """One appointment and the conversation to open for it (for an event about it)."""
    referent = viewer(request)
    tz = gateway_of(request).settings.tz
    with session_scope(gateway_of(request).sessions) as session:
        handoff = _changeable(session, referent, appointment_id)
        appointment = service.get(session, appointment_id)
        assert appointment is not None
        return {"handoff_id": handoff.id, **appointment_view(session, appointment, tz)}


async def _change(
    request: Request, appointment_id: str, action: str, csrf: str | None, when: Any = None
) -> dict[str, Any]:
    """Move, cancel, done or missed; the person hears of it (nothing is said for "done")."""
    referent = viewer(request, csrf, mutating=True)
    gateway = gateway_of(request)
    tz, now = gateway.settings.tz, utcnow()
    with session_scope(gateway.sessions) as session:
        handoff = _changeable(session, referent, appointment_id)
        try:
            if action == "move":
                moment = _moment(when, tz, now)
                change = service.move(
                    session, appointment_id, moment, now, tz, gateway.reminder_config
                )
            elif action == "cancel":
                change = service.cancel(session, appointment_id, now)
            elif action == "done":
                change = service.mark_done(session, appointment_id, now)
            else:
                change = service.mark_missed(session, appointment_id, now)
        except AppointmentError as exc:
            raise ApiError(409, str(exc)) from exc
        appointment, user_id = change.appointment, change.appointment.user_id
        locale = _locale(session, user_id)
        message: OutboundMessage | None = None
        if change.changed and action == "move":
            message = texts.proposed(appointment, locale, tz, moved=True)
        elif change.changed and action == "cancel":
            message = texts.cancelled(appointment, locale, tz)
        elif change.changed and action == "missed":
            message = texts.missed(appointment.id, locale)
        view = appointment_view(session, appointment, tz, now)
        handoff_id = handoff.id
    sent = await _send(request, handoff_id, user_id, message)
    _announce(request, appointment_id)
    return {**view, **sent}


class NewTime(BaseModel):
    model_config = ConfigDict(extra="ignore")
    starts_at: Any = None


@router.post("/appointments/{appointment_id}/move")
async def move_appointment(
    request: Request, appointment_id: str, body: NewTime, csrf: CsrfHeader = None
) -> dict[str, Any]:
    return await _change(request, appointment_id, "move", csrf, body.starts_at)


@router.post("/appointments/{appointment_id}/cancel")
async def cancel_appointment(
    request: Request, appointment_id: str, csrf: CsrfHeader = None
) -> dict[str, Any]:
    return await _change(request, appointment_id, "cancel", csrf)


@router.post("/appointments/{appointment_id}/done")
async def appointment_done(
    request: Request, appointment_id: str, csrf: CsrfHeader = None
) -> dict[str, Any]:
    return await _change(request, appointment_id, "done", csrf)


@router.post("/appointments/{appointment_id}/missed")
async def appointment_missed(
    request: Request, appointment_id: str, csrf: CsrfHeader = None
) -> dict[str, Any]:
    return await _change(request, appointment_id, "missed", csrf)


class NewTimes(BaseModel):
    model_config = ConfigDict(extra="ignore")
    starts_at: Any = None  # a list of 2 or 3 ISO times


@router.post("/appointments/{appointment_id}/options")
async def propose_times(
    request: Request, appointment_id: str, body: NewTimes, csrf: CsrfHeader = None
) -> dict[str, Any]:
    """Other times, one button each; the person's pick moves the appointment there."""
    referent = viewer(request, csrf, mutating=True)
    gateway = gateway_of(request)
    tz, now = gateway.settings.tz, utcnow()
    values = body.starts_at if isinstance(body.starts_at, list) else []
    with session_scope(gateway.sessions) as session:
        handoff = _changeable(session, referent, appointment_id)
        times = {_moment(v, tz, now).astimezone(dt.UTC) for v in values[: MAX_OPTIONS + 1]}
        if not 2 <= len(times) <= MAX_OPTIONS:
            raise ApiError(422, "Proposez 2 ou 3 créneaux différents.")
        try:
            rows = service.propose_options(session, appointment_id, sorted(times), now)
        except AppointmentError as exc:
            raise ApiError(409, str(exc)) from exc
        appointment = service.get(session, appointment_id)
        assert appointment is not None
        user_id = appointment.user_id
        message = texts.options(rows, _locale(session, user_id), tz)
        view = appointment_view(session, appointment, tz, now)
        handoff_id = handoff.id
    sent = await _send(request, handoff_id, user_id, message)
    _announce(request, appointment_id)
    return {**view, **sent}
