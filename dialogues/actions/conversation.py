"""Actions of the first conversation: session start, language, parents, fallback, menu."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

SUPPORTED_LANGUAGES = ("fr", "en")
ENGLISH_HINTS = ("english", "anglais", "inglés", "ingles", "englisch")
FALLBACK_INTENT = "nlu_fallback"
URGENT_PREFIX = "urgent_"
# An unclear message where the urgent intents together score at least this much is asked
# about. Summed rather than the highest one: a danger the classifier spreads over two urgent
# intents (0.09 violence + 0.08 no shelter) is still a danger. Chosen on folds 1-2 of the
# cross-validation of relais-0076af13 and checked on fold 3 (2026-12-07): 13 more of 871
# dangers asked about over the three folds, for 82 more questions on 10,595 everyday
# messages (1.2-1.7% asked before, 1.8-2.6% after); no change on the held-out and fresh sets.
DANGER_DOUBT = 0.15


# Not carried into a new session: the self-assessment is offered again before a handoff
# in a later session, and an offer or a pending handoff does not outlive its session.
PER_SESSION_SLOTS = (
    "session_started_metadata",
    "sa_offered_before_handoff",
    "sa_offer_pending",
    "sa_then_handoff",
    "sa_handoff_request",
    "requested_slot",
)


class ActionSessionStart(Action):
    """Start a session in the user's language, carried by the gateway in the metadata."""

    def name(self) -> str:
        return "action_session_start"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        events: list[EventType] = [SessionStarted()]
        # Carry slots over from the previous session (the user's language and register).
        for key, value in tracker.slots.items():
            if value is not None and key not in PER_SESSION_SLOTS:
                events.append(SlotSet(key, value))
        metadata = tracker.get_slot("session_started_metadata") or {}
        locale = metadata.get("locale")
        if locale in SUPPORTED_LANGUAGES:
            events.append(SlotSet("language", locale))
        events.append(ActionExecuted("action_listen"))
        return events


class ActionChangeLanguage(Action):
    """Switch between French and English, and tell the gateway (its own strings follow)."""

    def name(self) -> str:
        return "action_change_language"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        wanted = requested_language(tracker)
        dispatcher.utter_message(json_message={"set_locale": wanted})
        # The rule's next step (utter_language_changed) is rendered in the new language.
        return [SlotSet("language", wanted)]


def requested_language(tracker: Tracker) -> str:
    """The language asked for: an entity, else a word in the message, else the other one."""
    for entity in tracker.latest_message.get("entities") or []:
        if entity.get("entity") == "language" and entity.get("value") in SUPPORTED_LANGUAGES:
            return str(entity["value"])
    text = (tracker.latest_message.get("text") or "").lower()
    if any(hint in text for hint in ENGLISH_HINTS):
        return "en"
    if any(word in text for word in ("français", "francais", "french")):
        return "fr"
    current = tracker.get_slot("language") or "fr"
    return "en" if current == "fr" else "fr"


class ActionIdentifyParent(Action):
    """A parent is writing: vouvoiement and parent-oriented answers from now on."""

    def name(self) -> str:
        return "action_identify_parent"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        return [SlotSet("role", "parent"), SlotSet("register", "vous")]


class ActionHandleFallback(Action):
    """Not understood: suggest rephrasing; the second time in a row, offer a person.

    Safety first: when the message was not understood but looked like a danger, ask
    about it plainly, with a button that leads to the emergency answer.
    """

    def name(self) -> str:
        return "action_handle_fallback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        danger = possible_danger(tracker)
        if danger is not None:
            dispatcher.utter_message(response="utter_check_danger", danger_payload=f"/{danger}")
            events = [SlotSet("human_offered_after_fallback", False)]
        else:
            twice = previous_user_intent(tracker) == FALLBACK_INTENT
            dispatcher.utter_message(response="utter_default_twice" if twice else "utter_default")
            events = [SlotSet("human_offered_after_fallback", twice)]
        # The gateway marks the message: the supervision page lists what was not understood.
        # A button press is not a question, so only typed text counts.
        if not (tracker.latest_message.get("text") or "").startswith("/"):
            dispatcher.utter_message(json_message={"not_understood": True})
        return events


def possible_danger(tracker: Tracker) -> str | None:
    """The urgent intent the unclear message may mean (the likeliest one), when the urgent
    intents together scored at least ``DANGER_DOUBT``."""
    urgent = [
        (float(candidate.get("confidence") or 0), str(candidate.get("name")))
        for candidate in tracker.latest_message.get("intent_ranking") or []
        if str(candidate.get("name") or "").startswith(URGENT_PREFIX)
    ]
    if not urgent or sum(confidence for confidence, _ in urgent) < DANGER_DOUBT:
        return None
    return max(urgent)[1]


def previous_user_intent(tracker: Tracker) -> str | None:
    """The intent of the user turn before the latest one, within this session."""
    user_turns = [e for e in tracker.events if e.get("event") == "user"]
    if len(user_turns) < 2:
        return None
    intent = (user_turns[-2].get("parse_data") or {}).get("intent") or {}
    return intent.get("name")
