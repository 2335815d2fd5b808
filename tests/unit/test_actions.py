"""Custom actions with a dispatcher and tracker snapshots (no engine needed)."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from dialogues.actions.conversation import (
    ActionChangeLanguage,
    ActionHandleFallback,
    ActionSessionStart,
)
from dialogues.actions.handoff import ActionHandoffEnded, ActionRequestHandoff
from dialogues.actions.knowledge import ActionAnswerFaq, ValidatePlaceForm


def user_event(intent: str, text: str = "", ranking: list[dict[str, Any]] | None = None) -> dict:
    return {
        "event": "user",
        "text": text,
        "parse_data": {
            "intent": {"name": intent, "confidence": 0.3},
            "intent_ranking": ranking or [],
            "entities": [],
            "text": text,
        },
    }


def tracker(
    events: list[dict], slots: dict[str, Any] | None = None, after: str = "action_listen"
) -> Tracker:
    latest = events[-1]["parse_data"] if events else {}
    return Tracker("u1", slots or {}, latest, events, False, None, {}, after)


async def run(action: Any, snapshot: Tracker) -> tuple[list[dict], list[dict]]:
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, snapshot, {})
    return dispatcher.messages, events


async def test_first_misunderstanding_asks_to_rephrase() -> None:
    messages, events = await run(ActionHandleFallback(), tracker([user_event("nlu_fallback")]))
    assert messages[0]["response"] == "utter_default"
    assert messages[1]["custom"] == {"not_understood": True}, "kept for the content team"
    assert events == [
        {"event": "slot", "timestamp": None, "name": "human_offered_after_fallback", "value": False}
    ]


async def test_second_misunderstanding_in_a_row_offers_a_person() -> None:
    snapshot = tracker([user_event("nlu_fallback"), user_event("nlu_fallback")])
    messages, events = await run(ActionHandleFallback(), snapshot)
    assert messages[0]["response"] == "utter_default_twice"
    assert events[0]["value"] is True


async def test_unclear_message_that_may_mean_danger_is_asked_about() -> None:
    ranking = [
        {"name": "nlu_fallback", "confidence": 0.45},
        {"name": "urgent_no_shelter", "confidence": 0.31},
        {"name": "housing_young", "confidence": 0.2},
    ]
    snapshot = tracker([user_event("nlu_fallback", "je sais pas ou aller ce soir", ranking)])
    messages, _ = await run(ActionHandleFallback(), snapshot)
    assert messages[0]["response"] == "utter_check_danger"
    assert messages[0]["danger_payload"] == "/urgent_no_shelter"


@pytest.mark.parametrize(
    ("violence", "no_shelter", "response", "payload"),
    [
        # Spread over two urgent intents: still a danger, asked as the likelier one.
        (0.07, 0.09, "utter_check_danger", "/urgent_no_shelter"),
        # Faint together: not asked.
        (0.06, 0.05, "utter_default", None),
    ],
)
async def test_urgent_intents_are_summed_before_asking_about_a_danger(
    violence: float, no_shelter: float, response: str, payload: str | None
) -> None:
    ranking = [
        {"name": "nlu_fallback", "confidence": 0.4},
        {"name": "faq", "confidence": 0.3},
        {"name": "urgent_violence", "confidence": violence},
        {"name": "urgent_no_shelter", "confidence": no_shelter},
    ]
    snapshot = tracker([user_event("nlu_fallback", "il m'a foutu dehors en me cognant", ranking)])
    messages, _ = await run(ActionHandleFallback(), snapshot)
    assert messages[0]["response"] == response
    assert messages[0].get("danger_payload") == payload


async def test_session_starts_in_the_language_the_gateway_sent() -> None:
    snapshot = tracker([], slots={"session_started_metadata": {"locale": "en"}, "register": "tu"})
    _, events = await run(ActionSessionStart(), snapshot)
    assert {"event": "slot", "timestamp": None, "name": "language", "value": "en"} in events
    assert events[0]["event"] == "session_started"
    assert (events[-1]["event"], events[-1]["name"]) == ("action", "action_listen")


async def test_asking_for_english_sets_english_and_tells_the_gateway() -> None:
    snapshot = tracker(
        [user_event("change_language", "can we speak english")], slots={"language": "fr"}
    )
    messages, events = await run(ActionChangeLanguage(), snapshot)
    assert messages[0]["custom"] == {"set_locale": "en"}
    assert events[0]["value"] == "en"


async def test_menu_topic_answers_from_the_knowledge_base() -> None:
    messages, _ = await run(ActionAnswerFaq(), tracker([], slots={"topic": "cfa_what"}))
    assert messages[0]["response"] == "utter_faq/cfa_what"
    messages, _ = await run(ActionAnswerFaq(), tracker([], slots={"topic": "nope"}))
    assert messages[0]["response"] == "utter_menu"


def faq_event(topic: str, text: str, entities: list[dict] | None = None) -> dict:
    event = user_event("faq", text)
    event["parse_data"]["entities"] = entities or []
    event["parse_data"]["response_selector"] = {
        "faq": {"response": {"intent_response_key": f"faq/{topic}"}}
    }
    return event


async def test_knowledge_question_is_answered_from_its_topic() -> None:
    messages, _ = await run(ActionAnswerFaq(), tracker([faq_event("bafa", "le bafa c koi")]))
    assert messages[0]["response"] == "utter_faq/bafa"


async def test_where_to_go_without_a_place_asks_for_it() -> None:
    snapshot = tracker([faq_event("nearest_service", "la mission locale la plus proche")])
    messages, events = await run(ActionAnswerFaq(), snapshot)
    assert messages == []
    assert {"event": "followup", "timestamp": None, "name": "place_form"} in events


async def test_where_to_go_with_a_demo_postcode_gives_the_demo_partners() -> None:
    snapshot = tracker([faq_event("nearest_service", "mission locale 99110")])
    messages, _ = await run(ActionAnswerFaq(), snapshot)
    assert messages[0]["response"] == "utter_partners_intro"
    cards = [m for m in messages if m["response"] == "utter_partner_card"]
    assert cards[0]["partner_name"].startswith("Mission locale du Val-de-Relais")


async def test_where_to_go_for_an_unknown_place_points_to_the_official_locator() -> None:
    snapshot = tracker(
        [faq_event("nearest_service", "cio a Lyon", [{"entity": "place", "value": "Lyon"}])]
    )
    messages, _ = await run(ActionAnswerFaq(), snapshot)
    assert messages[0]["response"] == "utter_partners_unknown_place"
    assert messages[0]["place"] == "Lyon"


async def test_place_form_refuses_an_empty_or_endless_place() -> None:
    form = ValidatePlaceForm()
    dispatcher = CollectingDispatcher()
    assert await form.validate_place("  ", dispatcher, tracker([]), {}) == {"place": None}
    assert await form.validate_place("x" * 200, dispatcher, tracker([]), {}) == {"place": None}
    assert await form.validate_place(" 99110 ", dispatcher, tracker([]), {}) == {"place": "99110"}


async def test_an_unknown_town_name_is_taken_as_the_place() -> None:
    snapshot = tracker(
        [user_event("deny", "Trifouillis-les-Oies")], slots={"requested_slot": "place"}
    )
    extracted = await ValidatePlaceForm().extract_place(CollectingDispatcher(), snapshot, {})
    assert extracted == {"place": "Trifouillis-les-Oies"}


async def test_an_urgent_message_or_a_no_is_never_taken_as_a_place() -> None:
    for intent, text in (("urgent_no_shelter", "je dors dehors"), ("deny", "non")):
        snapshot = tracker([user_event(intent, text)], slots={"requested_slot": "place"})
        assert await ValidatePlaceForm().extract_place(CollectingDispatcher(), snapshot, {}) == {}


async def test_the_place_form_ending_answers_the_waiting_topic() -> None:
    snapshot = tracker(
        [user_event("nlu_fallback", "99110")],
        slots={"pending_topic": "nearest_service", "place": "99110"},
        after="place_form",
    )
    messages, _ = await run(ActionAnswerFaq(), snapshot)
    assert messages[0]["response"] == "utter_partners_intro"


async def test_a_topic_left_waiting_never_hijacks_a_later_question() -> None:
    snapshot = tracker(
        [faq_event("bafa", "le bafa c koi")], slots={"pending_topic": "nearest_service"}
    )
    messages, _ = await run(ActionAnswerFaq(), snapshot)
    assert messages[0]["response"] == "utter_faq/bafa"


async def handoff_asked(events: list[dict], slots: dict[str, Any] | None = None) -> dict:
    """The handoff instruction, once the self-assessment was already offered this session
    (its offer is tested in test_assessment_actions.py)."""
    slots = {"sa_offered_before_handoff": True, **(slots or {})}
    messages, returned = await run(ActionRequestHandoff(), tracker(events, slots=slots))
    assert [e["name"] for e in returned] == ["sa_offer_pending", "sa_then_handoff"]
    assert len(messages) == 1
    return messages[0]["custom"]["handoff"]


async def test_an_urgent_message_asks_for_a_person_urgently() -> None:
    handoff = await handoff_asked([user_event("urgent_violence", "mon beau-pere me frappe")])
    assert handoff == {
        "priority": "urgent",
        "reason": "urgent_violence",
        "place": None,
        "age": None,
        "role": "young",
    }


async def test_yes_to_the_offer_after_a_high_intent_is_high_priority() -> None:
    events = [user_event("apprentice_employer_conflict"), user_event("request_human")]
    handoff = await handoff_asked(events)
    assert (handoff["priority"], handoff["reason"]) == ("high", "apprentice_employer_conflict")
    events = [user_event("mental_health_struggle"), user_event("affirm", "oui")]
    handoff = await handoff_asked(events)
    assert (handoff["priority"], handoff["reason"]) == ("high", "mental_health_struggle")


async def test_asking_for_a_person_out_of_the_blue_is_normal_priority() -> None:
    handoff = await handoff_asked([user_event("greet"), user_event("request_human")])
    assert (handoff["priority"], handoff["reason"]) == ("normal", "request_human")


async def test_urgent_outranks_high_among_the_previous_turns() -> None:
    events = [
        user_event("urgent_no_shelter"),
        user_event("mental_health_struggle"),
        user_event("request_human"),
    ]
    handoff = await handoff_asked(events)
    assert (handoff["priority"], handoff["reason"]) == ("urgent", "urgent_no_shelter")


async def test_only_the_few_previous_turns_of_this_session_count() -> None:
    old = [user_event("apprentice_wants_to_quit")]
    chat = [
        user_event("greet"),
        user_event("thank"),
        user_event("faq"),
        user_event("request_human"),
    ]
    handoff = await handoff_asked(old + chat)
    assert (handoff["priority"], handoff["reason"]) == ("normal", "request_human")
    new_session = [*old, {"event": "session_started"}, user_event("request_human")]
    assert (await handoff_asked(new_session))["priority"] == "normal"


async def test_a_yes_after_two_misunderstandings_gives_the_fallback_as_reason() -> None:
    for answer in (user_event("affirm", "oui"), user_event("request_human")):
        events = [user_event("nlu_fallback"), user_event("nlu_fallback"), answer]
        handoff = await handoff_asked(events)
        assert (handoff["priority"], handoff["reason"]) == ("normal", "nlu_fallback")


async def test_a_yes_to_the_offer_after_an_appointment_request_names_it() -> None:
    handoff = await handoff_asked([user_event("appointment_book"), user_event("affirm", "oui")])
    assert (handoff["priority"], handoff["reason"]) == ("normal", "appointment_book")


async def test_place_and_age_are_passed_to_the_person() -> None:
    handoff = await handoff_asked(
        [user_event("request_human")], slots={"place": "99110", "age": "17"}
    )
    assert handoff == {
        "priority": "normal",
        "reason": "request_human",
        "place": "99110",
        "age": "17",
        "role": "young",
    }


async def test_the_end_of_a_handoff_is_remembered() -> None:
    ended = user_event("handoff_ended", "EXTERNAL: handoff_ended")
    ended["parse_data"]["entities"] = [{"entity": "outcome", "value": "returned_to_bot"}]
    messages, events = await run(ActionHandoffEnded(), tracker([ended]))
    assert messages == []
    assert events == [
        {"event": "slot", "timestamp": None, "name": "handled_by_human", "value": True},
        {"event": "slot", "timestamp": None, "name": "human_outcome", "value": "returned_to_bot"},
    ]
    _, events = await run(ActionHandoffEnded(), tracker([user_event("handoff_ended")]))
    assert events == [
        {"event": "slot", "timestamp": None, "name": "handled_by_human", "value": True}
    ]
