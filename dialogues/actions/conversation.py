"""Actions of the first conversation: session start, language, parents, fallback, menu."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from dialogues.actions.knowledge import NEAREST
from dialogues.knowledge.base import load_topics, topic_of
from handoff.levels import level_of

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
# Set on the parsed message by the danger detector (nlu/components/danger_detector.py): a
# message it found dangerous and the classifiers did not read as urgent.
SUSPECTED_KEY = "danger_suspected"
# Remembers, until the next answer, that the danger question was asked and what the
# message had been understood as: "Non, ça va" then gets that answer, or a rephrase.
DANGER_CHECK_SLOT = "danger_check"
# Set by action_no_after_fallback: whether the rule after it offers a person.
PERSON_OFFERED_SLOT = "person_offered_after_check"


# Not carried into a new session: the self-assessment is offered again before a handoff
# in a later session, and an offer or a pending handoff does not outlive its session.
PER_SESSION_SLOTS = (
    "session_started_metadata",
    "sa_offered_before_handoff",
    "sa_offer_pending",
    "sa_then_handoff",
    "sa_handoff_request",
    "requested_slot",
    DANGER_CHECK_SLOT,
    PERSON_OFFERED_SLOT,
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
        again = pending_check(tracker)
        if danger is None and again is not None and not again.get("again"):
            # A reply to the danger question that was not understood ("wi", "ouii"): the
            # question once more, rather than "not understood" and a question forgotten.
            danger = str(again["danger"])
            check = {**again, "again": True}
        else:
            check = {"danger": danger, **understood_as(tracker)}
        if danger is not None:
            dispatcher.utter_message(response="utter_check_danger", danger_payload=f"/{danger}")
            events = [
                SlotSet("human_offered_after_fallback", False),
                SlotSet(DANGER_CHECK_SLOT, {**check, "turn": user_turns(tracker)}),
            ]
        else:
            twice = previous_user_intent(tracker) == FALLBACK_INTENT
            dispatcher.utter_message(response="utter_default_twice" if twice else "utter_default")
            events = [
                SlotSet("human_offered_after_fallback", twice),
                SlotSet(DANGER_CHECK_SLOT, None),
            ]
        # The gateway marks the message: the supervision page lists what was not understood.
        # A button press is not a question, so only typed text counts; nor is a message that
        # may say a danger (its words must not reach a list of examples).
        typed = not (tracker.latest_message.get("text") or "").startswith("/")
        if typed and danger is None:
            dispatcher.utter_message(json_message={"not_understood": True})
        return events


def user_events(tracker: Tracker) -> list[dict[str, Any]]:
    """The conversation's user messages, oldest first (the latest included)."""
    return [event for event in tracker.events if event.get("event") == "user"]


def user_turns(tracker: Tracker) -> int:
    """How many user messages the conversation has had (the latest included)."""
    return len(user_events(tracker))


def pending_check(tracker: Tracker) -> dict[str, Any] | None:
    """The danger question, when it was asked right after the message before this one (so
    the latest message is the reply to it); None otherwise, however long the slot stayed."""
    check = tracker.get_slot(DANGER_CHECK_SLOT)
    if not isinstance(check, dict) or not str(check.get("danger") or "").startswith(URGENT_PREFIX):
        return None
    return check if check.get("turn") == user_turns(tracker) - 1 else None


def possible_danger(tracker: Tracker) -> str | None:
    """The urgent intent the unclear latest message may mean (see ``danger_to_ask_about``)."""
    return danger_to_ask_about(tracker.latest_message)


def danger_to_ask_about(parse_data: dict[str, Any]) -> str | None:
    """The urgent intent an unclear message may mean (the likeliest one): the danger
    detector's, else the highest urgent intent when the urgent intents together scored at
    least ``DANGER_DOUBT``. (Also what `nlu.report` counts as asked.)"""
    suspected = parse_data.get(SUSPECTED_KEY) or {}
    if str(suspected.get("name") or "").startswith(URGENT_PREFIX):
        return str(suspected["name"])
    urgent = [
        (float(candidate.get("confidence") or 0), str(candidate.get("name")))
        for candidate in parse_data.get("intent_ranking") or []
        if str(candidate.get("name") or "").startswith(URGENT_PREFIX)
    ]
    if not urgent or sum(confidence for confidence, _ in urgent) < DANGER_DOUBT:
        return None
    return max(urgent)[1]


def understood_intent(parse_data: dict[str, Any]) -> str:
    """The intent a user message was read as: the one served, or, when the danger detector
    turned it into the danger question, the one the classifiers had read (so that a later
    request for a person is ranked by it, and a "no" to the question answers it)."""
    served = str((parse_data.get("intent") or {}).get("name") or "")
    understood = str((parse_data.get(SUSPECTED_KEY) or {}).get("understood") or "")
    return understood if served == FALLBACK_INTENT and understood else served


def understood_as(tracker: Tracker) -> dict[str, str | None]:
    """What the message was read as before the danger detector turned it into the danger
    question: the intent, and the knowledge topic when it was one (None when the message
    was not understood in the first place)."""
    intent = understood_intent(tracker.latest_message)
    topic = (tracker.latest_message.get(SUSPECTED_KEY) or {}).get("topic")
    return {
        "intent": intent if intent and intent != FALLBACK_INTENT else None,
        "topic": topic_of(topic),
    }


class ActionNoAfterFallback(Action):
    """A "no" right after "not understood": to the danger question, glad (with the emergency
    numbers, should that change), then the answer the message had been read as (a knowledge
    topic's, or the intent's own response: "mon patron me hurle dessus" gets the
    employer-conflict answer) or a request to rephrase; otherwise, no worries. When that
    intent's own rule offers a person, so does the rule after this action
    (``person_offered_after_check``)."""

    def name(self) -> str:
        return "action_no_after_fallback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        check = pending_check(tracker)
        offers_person = False
        if check is None:
            dispatcher.utter_message(response="utter_no_human_ok")
        else:
            dispatcher.utter_message(response="utter_glad_not_in_danger")
            offers_person = answer_understood(dispatcher, check, domain)
        return [
            SlotSet(DANGER_CHECK_SLOT, None),
            SlotSet(PERSON_OFFERED_SLOT, offers_person),
        ]


def answer_understood(
    dispatcher: CollectingDispatcher, check: dict[str, Any], domain: dict[str, Any]
) -> bool:
    """The answer a message turned into the danger question had been read as; True when
    that intent's own rule would have offered a person after it (handoff level offer or
    high: the rule after action_no_after_fallback offers it)."""
    topic = check.get("topic")
    intent = check.get("intent")
    own_response = f"utter_{intent}"
    if topic and topic != NEAREST and topic in load_topics():
        dispatcher.utter_message(response=f"utter_faq/{topic}")
        return False
    if intent and own_response in (domain.get("responses") or {}):
        dispatcher.utter_message(response=own_response)
        return level_of(str(intent)) in ("offer", "high")
    # Where to go needs the place, an intent without a response of its own its own flow,
    # and a message not understood its words again: ask again.
    dispatcher.utter_message(response="utter_rephrase_after_danger_check")
    return False


class ActionYesAfterFallback(Action):
    """A typed "oui" right after "not understood". To the danger question: what its "Oui"
    button gives (that danger's emergency answer, numbers first, and an urgent request for a
    person); otherwise, please say it again."""

    def name(self) -> str:
        return "action_yes_after_fallback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        check = pending_check(tracker)
        if check is None:
            dispatcher.utter_message(response="utter_rephrase_ok")
            return [SlotSet(DANGER_CHECK_SLOT, None)]
        return confirmed_danger(dispatcher, tracker, str(check["danger"]))


def confirmed_danger(
    dispatcher: CollectingDispatcher, tracker: Tracker, danger: str
) -> list[EventType]:
    """ "Yes" to the danger question, however it was said: what its "Oui" button gives, that
    danger's emergency answer (numbers first) and an urgent request for a person."""
    # Imported here: the handoff actions import this module's helpers.
    from dialogues.actions.handoff import handoff_message

    dispatcher.utter_message(response=f"utter_{danger}")
    dispatcher.utter_message(json_message=handoff_message(tracker, "urgent", danger))
    return [
        SlotSet(DANGER_CHECK_SLOT, None),
        SlotSet("sa_offer_pending", False),
        SlotSet("sa_then_handoff", False),
    ]


def previous_user_intent(tracker: Tracker) -> str | None:
    """The intent of the user turn before the latest one, within this session."""
    users = user_events(tracker)
    if len(users) < 2:
        return None
    intent = (users[-2].get("parse_data") or {}).get("intent") or {}
    return intent.get("name")
