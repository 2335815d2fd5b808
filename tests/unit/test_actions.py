"""Custom actions with a dispatcher and tracker snapshots (no engine needed)."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from dialogues.actions.conversation import (
    ActionChangeLanguage,
    ActionHandleFallback,
    ActionNoAfterFallback,
    ActionSessionStart,
    ActionYesAfterFallback,
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
        {
            "event": "slot",
            "timestamp": None,
            "name": "human_offered_after_fallback",
            "value": False,
        },
        {"event": "slot", "timestamp": None, "name": "danger_check", "value": None},
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


def suspected(topic: str | None) -> dict[str, Any]:
    """A message the danger detector marked (nlu/components/danger_detector.py)."""
    event = user_event(
        "nlu_fallback",
        "jme brule les poignets avec un briquet le soir",
        [
            {"name": "nlu_fallback", "confidence": 0.62},
            {"name": "faq", "confidence": 0.7},
            {"name": "urgent_suicidal_thoughts", "confidence": 0.04},
            {"name": "urgent_violence", "confidence": 0.05},
        ],
    )
    event["parse_data"]["danger_suspected"] = {
        "name": "urgent_suicidal_thoughts",
        "confidence": 0.62,
        "understood": "faq" if topic else "nlu_fallback",
        "topic": topic,
    }
    return event


async def test_a_message_the_danger_detector_marked_is_asked_about_its_danger() -> None:
    # The urgent intents together are below DANGER_DOUBT: the detector's mark decides, and
    # its danger (not the ranking's likeliest) is behind the button.
    messages, events = await run(ActionHandleFallback(), tracker([suspected("faq/cfa_what")]))
    assert messages[0]["response"] == "utter_check_danger"
    assert messages[0]["danger_payload"] == "/urgent_suicidal_thoughts"
    check = next(e for e in events if e["name"] == "danger_check")
    # "turn": the user message it was asked after, so that only the next one is its reply.
    assert check["value"] == {
        "danger": "urgent_suicidal_thoughts",
        "intent": "faq",
        "topic": "cfa_what",
        "turn": 1,
    }


@pytest.mark.parametrize(
    ("check", "responses", "offers_person"),
    [
        # "Non, ça va" to the danger question on a message read as a knowledge question:
        # glad, then the answer it had been read as.
        (
            {"danger": "urgent_violence", "topic": "cfa_what"},
            ["utter_glad_not_in_danger", "utter_faq/cfa_what"],
            False,
        ),
        # On a message not understood, or read as where to go (it needs the place): glad,
        # then please say it again.
        (
            {"danger": "urgent_violence", "topic": None},
            ["utter_glad_not_in_danger", "utter_rephrase_after_danger_check"],
            False,
        ),
        (
            {"danger": "urgent_violence", "topic": "nearest_service"},
            ["utter_glad_not_in_danger", "utter_rephrase_after_danger_check"],
            False,
        ),
        # Read as an intent with a response of its own: that response, and when its own rule
        # offers a person (handoff level high), the rule after the action offers one too.
        (
            {"danger": "urgent_violence", "intent": "apprentice_employer_conflict", "topic": None},
            ["utter_glad_not_in_danger", "utter_apprentice_employer_conflict"],
            True,
        ),
        # An intent with a response of its own and no handoff level: no offer.
        (
            {"danger": "urgent_violence", "intent": "self_devaluation", "topic": None},
            ["utter_glad_not_in_danger", "utter_self_devaluation"],
            False,
        ),
        # Read as an intent whose answer is a whole flow (no response of its own): ask again.
        (
            {"danger": "urgent_violence", "intent": "start_self_assessment", "topic": None},
            ["utter_glad_not_in_danger", "utter_rephrase_after_danger_check"],
            False,
        ),
        # A "no" after a plain "not understood": no worries, as before.
        (None, ["utter_no_human_ok"], False),
    ],
)
async def test_no_after_the_danger_question_gets_the_answer_or_a_rephrase(
    check: dict[str, Any] | None, responses: list[str], offers_person: bool
) -> None:
    asked = {**check, "turn": 1} if check else None
    snapshot = tracker(
        [suspected(None), user_event("deny", "non ça va")], slots={"danger_check": asked}
    )
    domain = {
        "responses": {
            "utter_apprentice_employer_conflict": [{"text": "..."}],
            "utter_self_devaluation": [{"text": "..."}],
        }
    }
    dispatcher = CollectingDispatcher()
    events = await ActionNoAfterFallback().run(dispatcher, snapshot, domain)
    messages = dispatcher.messages
    assert [m["response"] for m in messages] == responses
    assert events == [
        {"event": "slot", "timestamp": None, "name": "danger_check", "value": None},
        {
            "event": "slot",
            "timestamp": None,
            "name": "person_offered_after_check",
            "value": offers_person,
        },
    ]


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
    assert [e["name"] for e in returned] == ["sa_offer_pending", "sa_then_handoff", "danger_check"]
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


async def test_a_danger_question_is_not_listed_as_not_understood() -> None:
    # Its words may say a danger: they must not reach the supervision page's examples.
    messages, _ = await run(ActionHandleFallback(), tracker([suspected("faq/cfa_what")]))
    assert not any(m.get("custom") for m in messages)
    assert messages[0]["response"] == "utter_check_danger"


def test_a_message_turned_into_the_danger_question_ranks_a_handoff_by_what_it_said() -> None:
    from dialogues.actions.handoff import handoff_request, session_user_intents

    marked = suspected(None)
    marked["parse_data"]["danger_suspected"]["understood"] = "mental_health_struggle"
    snapshot = tracker([marked, user_event("deny", "non ça va"), user_event("request_human")])
    intents = session_user_intents(snapshot)
    assert intents == ["request_human", "deny", "mental_health_struggle"]
    assert handoff_request(intents)[0] == "high"


async def test_a_typed_yes_to_the_danger_question_gets_the_numbers_and_an_urgent_request() -> None:
    check = {"danger": "urgent_no_food_money", "intent": None, "topic": None, "turn": 1}
    asked = [suspected(None), user_event("affirm", "oui")]
    messages, events = await run(ActionYesAfterFallback(), tracker(asked, {"danger_check": check}))
    assert messages[0]["response"] == "utter_urgent_no_food_money"
    handoff = messages[1]["custom"]["handoff"]
    assert (handoff["priority"], handoff["reason"]) == ("urgent", "urgent_no_food_money")
    assert {"event": "slot", "timestamp": None, "name": "danger_check", "value": None} in events
    # A "oui" after a plain "not understood": asked to say it again, no request.
    messages, _ = await run(ActionYesAfterFallback(), tracker([user_event("affirm", "oui")]))
    assert [m["response"] for m in messages] == ["utter_rephrase_ok"]


async def test_the_danger_question_is_answered_only_by_the_next_message() -> None:
    # Asked at turn 1; a "non" two messages later is a plain no, not "not in danger".
    check = {"danger": "urgent_violence", "intent": "faq", "topic": "cfa_what", "turn": 1}
    later = [suspected(None), user_event("greet", "re"), user_event("deny", "non")]
    messages, _ = await run(ActionNoAfterFallback(), tracker(later, {"danger_check": check}))
    assert [m["response"] for m in messages] == ["utter_no_human_ok"]


async def test_an_unclear_reply_to_the_danger_question_gets_it_once_more() -> None:
    check = {"danger": "urgent_violence", "intent": None, "topic": None, "turn": 1}
    unclear = [suspected(None), user_event("nlu_fallback", "wi")]
    messages, events = await run(ActionHandleFallback(), tracker(unclear, {"danger_check": check}))
    assert messages[0]["response"] == "utter_check_danger"
    assert messages[0]["danger_payload"] == "/urgent_violence"
    again = next(e for e in events if e["name"] == "danger_check")["value"]
    assert (again["again"], again["turn"]) == (True, 2)
    # Not a third time: the usual "not understood" (twice: a person is offered).
    third = [*unclear, user_event("nlu_fallback", "wiii")]
    messages, _ = await run(ActionHandleFallback(), tracker(third, {"danger_check": again}))
    assert messages[0]["response"] == "utter_default_twice"


async def test_asking_for_a_person_in_reply_to_the_danger_question_is_urgent() -> None:
    check = {"danger": "urgent_suicidal_thoughts", "intent": None, "topic": None, "turn": 1}
    reply = [suspected(None), user_event("request_human", "aidez moi je veux parler a qqn")]
    slots = {"danger_check": check}
    messages, _ = await run(ActionRequestHandoff(), tracker(reply, slots))
    assert messages[0]["response"] == "utter_urgent_suicidal_thoughts", "numbers first"
    handoff = messages[1]["custom"]["handoff"]
    assert (handoff["priority"], handoff["reason"]) == ("urgent", "urgent_suicidal_thoughts")
    # The "Oui" button (its urgent rule already gave the numbers): no second answer.
    pressed = [suspected(None), user_event("urgent_suicidal_thoughts", "/urgent_suicidal_thoughts")]
    messages, _ = await run(ActionRequestHandoff(), tracker(pressed, slots))
    assert len(messages) == 1
    assert messages[0]["custom"]["handoff"]["priority"] == "urgent"
