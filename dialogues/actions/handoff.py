"""Handing the conversation to a person, and taking it back.

The dialogue only raises the handoff: ``action_request_handoff`` sends the gateway a custom
instruction, ``{"handoff": {"priority", "reason", "place", "age"}}``. The gateway owns the
queue and writes every message about it (consent to share, place in the queue, hours).
When a référent closes or hands back, the gateway triggers the intent ``handoff_ended``.
"""

from __future__ import annotations

from typing import Any, Literal

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from dialogues.actions.conversation import (
    DANGER_CHECK_SLOT,
    URGENT_PREFIX,
    confirmed_danger,
    pending_check,
    understood_intent,
)
from dialogues.assessment import scoring
from handoff.levels import level_of

Priority = Literal["urgent", "high", "normal"]

REQUEST_HUMAN = "request_human"
FALLBACK_INTENT = "nlu_fallback"
# A yes to an offer of a person: the reason is what came before it.
FOLLOW_UPS = (REQUEST_HUMAN, "affirm")
# How many user turns before a follow-up may hold its reason.
LOOKBACK = 3
RANK: dict[str, int] = {"urgent": 2, "high": 1}
OUTCOME_ENTITY = "outcome"


def session_user_intents(tracker: Tracker) -> list[str]:
    """The intents of the user turns of this session, the latest first."""
    intents: list[str] = []
    for event in reversed(tracker.events):
        kind = event.get("event")
        if kind == "session_started":
            break
        if kind == "user":
            intents.append(understood_intent(event.get("parse_data") or {}))
    return intents


def handoff_request(intents: list[str]) -> tuple[Priority, str]:
    """Priority and reason of a handoff, from the session's user intents (latest first)."""
    latest = intents[0] if intents and intents[0] else REQUEST_HUMAN
    level = level_of(latest)
    if level == "urgent" or level == "high":
        return level, latest
    if latest not in FOLLOW_UPS:
        return "normal", latest
    earlier = intents[1 : 1 + LOOKBACK]
    # The most serious of the few turns before; the most recent one among equals.
    serious = [(RANK[level_of(i)], -pos, i) for pos, i in enumerate(earlier) if level_of(i) in RANK]
    if serious:
        intent = max(serious)[2]
        return ("urgent" if level_of(intent) == "urgent" else "high"), intent
    if earlier[:2] == [FALLBACK_INTENT, FALLBACK_INTENT]:
        return "normal", FALLBACK_INTENT
    if earlier and level_of(earlier[0]) == "offer":  # e.g. appointment_book, then "yes"
        return "normal", earlier[0]
    return "normal", REQUEST_HUMAN


def _text_slot(tracker: Tracker, name: str) -> str | None:
    value = tracker.get_slot(name)
    if value is None or str(value).strip() == "":
        return None
    return str(value).strip()


class ActionRequestHandoff(Action):
    """Ask the gateway for a person; it tells the person what happens next."""

    def name(self) -> str:
        return "action_request_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        check = pending_check(tracker)
        latest = understood_intent(tracker.latest_message)
        if check is not None and not latest.startswith(URGENT_PREFIX):
            # "Je veux parler à quelqu'un" in reply to "are you in danger?": a yes, urgent,
            # with that danger's numbers first (never the self-assessment before it).
            return confirmed_danger(dispatcher, tracker, str(check["danger"]))
        priority: str
        priority, reason = handoff_request(session_user_intents(tracker))
        saved = tracker.get_slot("sa_handoff_request")
        # "No, straight away" to the questions: the request keeps the reason it had when
        # they were offered, unless this turn is more serious.
        if (
            tracker.get_slot("sa_offer_pending")
            and isinstance(saved, dict)
            and RANK.get(str(saved.get("priority")), 0) >= RANK.get(priority, 0)
        ):
            priority, reason = saved["priority"], saved["reason"]
        if priority != "urgent" and offer_assessment_first(tracker):
            # "Pour que la personne sache déjà où tu en es": the questions first, if they
            # want; the handoff follows them (action_self_assessment_done) or a "no".
            dispatcher.utter_message(response="utter_sa_offer_before_handoff")
            return [
                SlotSet("sa_offered_before_handoff", True),
                SlotSet("sa_offer_pending", True),
                SlotSet("sa_then_handoff", True),
                SlotSet("sa_handoff_request", {"priority": priority, "reason": reason}),
            ]
        answers = shared_assessment(tracker)
        if answers is not None:
            priority = scoring.handoff_priority(priority, scoring.flags(answers))
        dispatcher.utter_message(json_message=handoff_message(tracker, priority, reason))
        return [
            SlotSet("sa_offer_pending", False),
            SlotSet("sa_then_handoff", False),
            SlotSet(DANGER_CHECK_SLOT, None),
        ]


def handoff_message(tracker: Tracker, priority: str, reason: str) -> dict[str, Any]:
    """The gateway's instruction to queue the conversation for a person."""
    return {
        "handoff": {
            "priority": priority,
            "reason": reason,
            "place": _text_slot(tracker, "place"),
            "age": _text_slot(tracker, "age") or assessed_age(tracker),
            # A parent asks for themselves: the gateway asks them no age band.
            "role": _text_slot(tracker, "role") or "young",
        }
    }


def shared_assessment(tracker: Tracker) -> scoring.Answers | None:
    """The self-assessment's answers when the person kept it and agreed to share it: its
    flags may raise the priority of a request (``scoring.handoff_priority``)."""
    if tracker.get_slot("sa_keep") != "yes" or tracker.get_slot("sa_share") != "yes":
        return None
    return {
        q.name: tracker.get_slot(q.slot)
        for q in scoring.load_content().questions.values()
        if tracker.get_slot(q.slot) is not None
    }


def assessed_age(tracker: Tracker) -> str | None:
    """An age from the self-assessment's age band, for routing (under 16 or not)."""
    band = tracker.get_slot("sa_age_band")
    return scoring.age_for_routing({"age_band": band}) if band else None


def offer_assessment_first(tracker: Tracker) -> bool:
    """Offer the self-assessment before a non-urgent handoff: once per session, and only
    to someone who has not started or done it (a half-done one is not pushed again)."""
    if tracker.get_slot("sa_offered_before_handoff") or tracker.get_slot("sa_status"):
        return False
    return tracker.active_loop_name is None


class ActionHandoffEnded(Action):
    """A référent closed the handoff or handed the conversation back to the assistant."""

    def name(self) -> str:
        return "action_handoff_ended"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        events: list[EventType] = [SlotSet("handled_by_human", True)]
        for entity in tracker.latest_message.get("entities") or []:
            if entity.get("entity") == OUTCOME_ENTITY and entity.get("value"):
                events.append(SlotSet("human_outcome", str(entity["value"])))
                break
        return events
