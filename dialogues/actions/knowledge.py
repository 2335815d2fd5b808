"""Knowledge answers: every ``faq/<topic>``, and where to go for ``nearest_service``."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from dialogues.directory.partners import find_partners, known_place_in
from dialogues.knowledge.base import load_topics, topic_of

NEAREST = "nearest_service"
MAX_PARTNERS = 3
MAX_PLACE = 80
# Services shown first for a young person; the order of the directory decides ties.
TYPE_ORDER = (
    "mission_locale",
    "cio",
    "cfa",
    "france_travail",
    "info_jeunes",
    "psad",
    "e2c",
    "epide",
)


def faq_topic(tracker: Tracker) -> str | None:
    """The knowledge topic the ResponseSelector chose for the latest message."""
    selector = (tracker.latest_message.get("response_selector") or {}).get("faq") or {}
    return topic_of((selector.get("response") or {}).get("intent_response_key"))


def place_in(tracker: Tracker) -> str | None:
    """The place in the latest message: the NLU's entity, else a postcode or a commune the
    directory knows (the NLU misses names it never saw)."""
    for entity in tracker.latest_message.get("entities") or []:
        if entity.get("entity") == "place" and entity.get("value"):
            return str(entity["value"])[:MAX_PLACE]
    return known_place_in(tracker.latest_message.get("text") or "")


class ActionAnswerFaq(Action):
    """Answer a knowledge question from the knowledge base, or say where to go."""

    def name(self) -> str:
        return "action_answer_faq"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        topic = chosen_topic(tracker)
        if topic == NEAREST:
            return where_to_go(dispatcher, tracker)
        if topic in load_topics():
            dispatcher.utter_message(response=f"utter_faq/{topic}")
        else:  # an old or broken button: show what the assistant can do
            dispatcher.utter_message(response="utter_menu")
        return [SlotSet("topic", None)]


def chosen_topic(tracker: Tracker) -> str | None:
    """The topic to answer now: the one waiting for the place form when that form just
    ended, else a menu button's topic, else what the latest message asked. A topic left
    waiting by an interrupted form never hijacks a later question."""
    if tracker.latest_action_name == "place_form" and tracker.get_slot("pending_topic"):
        return str(tracker.get_slot("pending_topic"))
    return tracker.get_slot("topic") or faq_topic(tracker)


def where_to_go(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
    """Partners for the place given; ask for the place when there is none yet."""
    place = place_in(tracker) or tracker.get_slot("place")
    if not place:
        # The place form asks for it, then the rule after the form comes back here.
        return [
            SlotSet("pending_topic", NEAREST),
            SlotSet("topic", None),
            FollowupAction("place_form"),
        ]
    partners = sorted(
        find_partners(place),
        key=lambda p: TYPE_ORDER.index(p.type) if p.type in TYPE_ORDER else len(TYPE_ORDER),
    )[:MAX_PARTNERS]
    if partners:
        dispatcher.utter_message(response="utter_partners_intro", place=place)
        for partner in partners:
            dispatcher.utter_message(
                response="utter_partner_card",
                partner_name=partner.name,
                partner_address=partner.address,
                partner_phone=partner.phone,
                partner_hours=partner.hours,
                partner_url=partner.url,
            )
    else:
        dispatcher.utter_message(response="utter_partners_unknown_place", place=place)
    return [SlotSet("pending_topic", None), SlotSet("topic", None), SlotSet("place", place)]


# Answers to "which town?" that are not a place.
REFUSALS = {"non", "nan", "no", "nope", "pas envie", "je sais pas", "jsp", "stop", "laisse tomber"}
# Intents that must never be swallowed as a place: they have their own answer.
NOT_A_PLACE = ("urgent_", "request_human", "stop_messages")


class ValidatePlaceForm(FormValidationAction):
    """Keep what the person wrote as their place, within reason."""

    def name(self) -> str:
        return "validate_place_form"

    async def extract_place(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Take the answer to "which town?" as the place, whatever the NLU made of an
        unknown town name (it may read "Trifouillis-les-Oies" as a "no")."""
        if tracker.get_slot("requested_slot") != "place" or tracker.get_slot("place"):
            return {}
        intent = (tracker.latest_message.get("intent") or {}).get("name") or ""
        text = (tracker.latest_message.get("text") or "").strip()
        if intent.startswith(NOT_A_PLACE) or text.lower().strip(" .!") in REFUSALS:
            return {}
        return {"place": text} if text and not text.startswith("/") else {}

    async def validate_place(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        text = str(value or "").strip()
        if not text or len(text) > MAX_PLACE:
            dispatcher.utter_message(response="utter_ask_place_again")
            return {"place": None}
        return {"place": text}
