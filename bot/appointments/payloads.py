"""Button payloads of appointments and reminders.

Written like Rasa's ``/intent{"entity":"value"}`` so that a payload the gateway does not
intercept still reaches the dialogue as an intent with its entity. Each fits Telegram's
64-byte ``callback_data`` (a 32-character id included), so no payload depends on the
channel's in-memory table of long payloads, which a restart empties.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass


class Action(enum.StrEnum):
    CONFIRM = "appointment_confirm"  # "C'est noté"
    DECLINE = "appointment_decline"  # "Je ne peux pas"
    ATTENDED = "appointment_attended"  # after-check: "Oui"
    MISSED = "appointment_missed"  # after-check: "Non"
    RESCHEDULE = "appointment_reschedule"  # "Proposer un autre moment"
    PICK = "appointment_pick"  # one of the times a référent proposed
    CHECK_IN_FINE = "checkin_fine"  # check-in: "Tout va bien"


# The check-in's "Parler à quelqu'un" is the dialogue's own request for a person.
REQUEST_HUMAN = "/request_human"

_PATTERN = re.compile(
    r'^/(?P<action>[a-z_]+)(?:\{"(?P<key>id|option)":"(?P<value>[0-9a-f]{32})"\})?$'
)


@dataclass(frozen=True, slots=True)
class Parsed:
    action: Action
    target: str | None  # an appointment id, or an option id for PICK


def make(action: Action, target: str | None = None) -> str:
    if target is None:
        return f"/{action.value}"
    key = "option" if action is Action.PICK else "id"
    payload = f'/{action.value}{{"{key}":"{target}"}}'
    assert len(payload.encode()) <= 64, "Telegram callback_data is limited to 64 bytes"
    return payload


def parse(payload: str | None) -> Parsed | None:
    """The action and target of one of these payloads; None for any other payload."""
    match = _PATTERN.match(payload or "")
    if match is None:
        return None
    try:
        action = Action(match["action"])
    except ValueError:
        return None
    wants_target = action is not Action.CHECK_IN_FINE
    if wants_target != (match["value"] is not None):
        return None
    if match["value"] is not None and (match["key"] == "option") != (action is Action.PICK):
        return None
    return Parsed(action, match["value"])
