"""The self-assessment's actions with tracker snapshots (the trained model's part is in
dialogues/tests and tests/integration/test_self_assessment.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from dialogues.actions.assessment import (
    ActionAskSaKeep,
    ActionManageSelfAssessment,
    ActionSelfAssessmentDone,
    ActionStartSelfAssessment,
    ValidateSelfAssessmentForm,
)
from dialogues.actions.handoff import ActionRequestHandoff
from dialogues.build import DIALOGUES
from dialogues.directory.partners import load_directory

DOMAIN = {
    "forms": yaml.safe_load((Path(DIALOGUES) / "domain.yml").read_text(encoding="utf-8"))["forms"]
}


def message(
    intent: str, text: str = "", entities: dict[str, str] | None = None, confidence: float = 0.9
) -> dict[str, Any]:
    return {
        "intent": {"name": intent, "confidence": confidence},
        "entities": [{"entity": k, "value": v} for k, v in (entities or {}).items()],
        "text": text,
    }


def tracker(latest: dict[str, Any], slots: dict[str, Any] | None = None) -> Tracker:
    events = [{"event": "user", "text": latest.get("text"), "parse_data": latest}]
    return Tracker("u1", slots or {}, latest, events, False, None, {}, "action_listen")


async def validate(latest: dict[str, Any], slots: dict[str, Any]) -> tuple[list, dict]:
    dispatcher = CollectingDispatcher()
    events = await ValidateSelfAssessmentForm().run(dispatcher, tracker(latest, slots), DOMAIN)
    return dispatcher.messages, {e["name"]: e["value"] for e in events}


def button(question: str, choice: str) -> dict[str, Any]:
    return message("sa_answer", entities={"sa_question": question, "sa_choice": choice})


async def test_a_button_answers_and_the_next_question_is_asked() -> None:
    said, slots = await validate(button("situation", "lycee"), {"requested_slot": "sa_situation"})
    assert said == []
    assert slots == {"sa_situation": "lycee", "requested_slot": "sa_age_band"}


async def test_typed_answers_are_understood_whatever_the_nlu_thought() -> None:
    typed = message("faq", "apprentissage", confidence=0.95)
    _, slots = await validate(typed, {"requested_slot": "sa_situation"})
    assert slots["sa_situation"] == "apprentissage"


async def test_skip_moves_on() -> None:
    earlier = {"sa_situation": "lycee", "sa_age_band": "15"}
    _, slots = await validate(
        button("interests", "skip"), {**earlier, "requested_slot": "sa_interests"}
    )
    assert slots == {"sa_interests": "skipped", "requested_slot": "sa_experiences"}


async def test_a_question_in_the_middle_is_left_to_its_own_answer() -> None:
    question = message("faq", "c'est quoi un CFA ?", confidence=0.95)
    before = answered()
    del before["sa_place"]
    said, slots = await validate(question, {**before, "requested_slot": "sa_place"})
    assert said == []
    assert slots == {"requested_slot": "sa_place"}, "no slot set: the form steps aside"


async def test_a_typed_answer_the_nlu_reads_as_a_topic_is_still_the_answer() -> None:
    # "99110" or "le permis et l'argent" may read as a knowledge question: no question asked,
    # so it answers the question being asked.
    before = answered()
    del before["sa_place"]
    place = message("faq", "99110", confidence=1.0)
    _, slots = await validate(place, {**before, "requested_slot": "sa_place"})
    assert slots["sa_place"] == "99110"


async def test_a_question_without_a_question_mark_is_still_a_question() -> None:
    before = answered()
    del before["sa_place"]
    question = message("faq", "c koi un cfa", confidence=0.95)
    _, slots = await validate(question, {**before, "requested_slot": "sa_place"})
    assert "sa_place" not in slots


async def test_a_danger_is_never_taken_for_an_answer() -> None:
    danger = message("urgent_violence", "ma famille me frappe", confidence=0.8)
    _, slots = await validate(danger, {"requested_slot": "sa_barriers"})
    assert "sa_barriers" not in slots


async def test_a_danger_the_detector_suspects_is_asked_about_and_no_is_not_an_answer() -> None:
    marked = message("nlu_fallback", "je tiens plus, j'ai tout préparé pour samedi", confidence=0.6)
    marked["danger_suspected"] = {
        "name": "urgent_suicidal_thoughts",
        "confidence": 0.6,
        "understood": "mental_health_struggle",
        "topic": None,
    }
    said, slots = await validate(marked, {**answered(), "requested_slot": "sa_keep"})
    assert said[0]["response"] == "utter_check_danger"
    assert said[0]["danger_payload"] == "/urgent_suicidal_thoughts"
    assert "sa_keep" not in slots
    assert slots["danger_check"]["danger"] == "urgent_suicidal_thoughts"
    # The reply comes one user message later (these snapshots hold only the latest one).
    asked = {**slots["danger_check"], "turn": 0}
    # "Non, ça va": glad, and keep is asked again ("non" is not a no to keeping).
    said, slots = await validate(
        message("deny", "/deny"),
        {**answered(), "requested_slot": "sa_keep", "danger_check": asked},
    )
    assert [m["response"] for m in said] == ["utter_glad_not_in_danger"]
    assert "sa_keep" not in slots
    assert slots["danger_check"] is None
    assert slots["requested_slot"] == "sa_keep"
    # A typed "oui": that danger's numbers, an urgent request for a person, the form stops.
    said, slots = await validate(
        message("affirm", "oui"), {**answered(), "requested_slot": "sa_keep", "danger_check": asked}
    )
    assert said[0]["response"] == "utter_urgent_suicidal_thoughts"
    assert said[1]["custom"]["handoff"]["priority"] == "urgent"
    assert "sa_keep" not in slots
    assert (slots["sa_stopped"], slots["sa_then_handoff"]) == (True, False)
    # Long after the question, a "non" is the form's answer again.
    _, slots = await validate(
        message("deny", "non"),
        {**answered(), "requested_slot": "sa_keep", "danger_check": {**asked, "turn": -5}},
    )
    assert slots["sa_keep"] == "no"


async def test_an_unclear_answer_is_said_kindly_and_asked_again() -> None:
    said, slots = await validate(message("greet", "wesh"), {"requested_slot": "sa_situation"})
    assert said[0]["response"] == "utter_sa_unclear"
    assert slots == {"sa_retry": 1, "requested_slot": "sa_situation"}


async def test_a_button_of_an_earlier_question_changes_nothing() -> None:
    pressed_twice = button("situation", "lycee")
    said, slots = await validate(
        pressed_twice, {"requested_slot": "sa_age_band", "sa_situation": "lycee"}
    )
    assert said[0]["response"] == "utter_sa_already_noted"
    assert "sa_situation" not in slots
    assert slots["requested_slot"] == "sa_age_band"


async def test_stop_ends_the_form_and_keeps_the_answers_for_later() -> None:
    _, slots = await validate(
        message("stop_messages", "stop"), {"requested_slot": "sa_wants", "sa_situation": "rien"}
    )
    assert slots == {"sa_stopped": True, "requested_slot": None}


def answered(**extra: Any) -> dict[str, Any]:
    return {
        "sa_situation": "rien",
        "sa_age_band": "18_21",
        "sa_interests": ["cuisine"],
        "sa_experiences": ["benevolat"],
        "sa_confidence": "1",
        "sa_barriers": ["transport", "argent"],
        "sa_wants": ["parler"],
        "sa_place": "99110",
        **extra,
    }


async def test_after_the_questions_keep_then_share_are_asked() -> None:
    last = answered()
    del last["sa_place"]
    _, slots = await validate(
        message("nlu_fallback", "99110"), {**last, "requested_slot": "sa_place"}
    )
    assert slots["requested_slot"] == "sa_keep"
    _, slots = await validate(button("keep", "yes"), {**answered(), "requested_slot": "sa_keep"})
    assert slots == {"sa_keep": "yes", "requested_slot": "sa_share"}
    _, slots = await validate(
        message("deny", "non"), {**answered(sa_keep="yes"), "requested_slot": "sa_share"}
    )
    assert slots == {"sa_share": "no", "requested_slot": None}


async def test_no_to_keep_ends_without_the_share_question() -> None:
    _, slots = await validate(
        message("deny", "non merci"), {**answered(), "requested_slot": "sa_keep"}
    )
    assert slots == {"sa_keep": "no", "requested_slot": None}


async def test_a_parent_gets_six_questions() -> None:
    _, slots = await validate(
        button("experiences", "stage"),
        {
            "role": "parent",
            "requested_slot": "sa_experiences",
            "sa_situation": "college",
            "sa_age_band": "under_15",
            "sa_interests": ["soin"],
        },
    )
    assert slots["requested_slot"] == "sa_wants", "confidence and barriers are not asked"


async def run(action: Any, snapshot: Tracker) -> tuple[list[dict], dict[str, Any]]:
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, snapshot, {})
    return dispatcher.messages, {e["name"]: e["value"] for e in events if e["event"] == "slot"}


async def test_the_summary_card_puts_strengths_first_then_barriers_then_steps() -> None:
    demo_postcode = load_directory()[0].partners[0].postcodes[0]
    said, slots = await run(
        ActionAskSaKeep(), tracker(message("sa_answer"), answered(sa_place=demo_postcode))
    )
    responses = [m["response"] for m in said]
    assert responses == [
        "utter_sa_summary_strengths",
        "utter_sa_summary_barriers",
        "utter_sa_summary_steps",
        "utter_ask_sa_keep",
    ]
    assert said[0]["strengths"] == "Bénévolat et Cuisine"
    assert said[1]["barriers"] == "Transport et Argent"
    payloads = [b["payload"] for b in said[2]["buttons"]]
    assert payloads == [
        "/request_human",
        "/ask_topic:topic=mobility_aid",
        "/ask_topic:topic=money_grants",
    ]
    assert slots == {"sa_summary_shown": True}
    again, _ = await run(
        ActionAskSaKeep(), tracker(message("sa_answer"), answered(sa_summary_shown=True))
    )
    assert [m["response"] for m in again] == ["utter_ask_sa_keep"], "not shown twice"


async def test_kept_and_shared_goes_to_the_gateway_with_its_flags() -> None:
    said, slots = await run(
        ActionSelfAssessmentDone(),
        tracker(message("sa_answer"), answered(sa_keep="yes", sa_share="yes")),
    )
    save = said[0]["custom"]["self_assessment"]["save"]
    assert save["share"] is True
    assert save["role"] == "young"
    assert save["answers"]["barriers"] == ["transport", "argent"]
    assert save["flags"] == {
        "several_barriers": True,
        "low_confidence": True,
        "wants_to_talk": True,
        "under_16": False,
    }
    assert said[1]["response"] == "utter_sa_kept_shared"
    assert slots["sa_status"] == "done"


async def test_not_kept_clears_the_answers_and_asks_the_gateway_to_delete() -> None:
    said, slots = await run(
        ActionSelfAssessmentDone(), tracker(message("deny"), answered(sa_keep="no"))
    )
    assert said[0]["custom"] == {"self_assessment": {"delete": True}}
    assert said[1]["response"] == "utter_sa_not_kept"
    assert slots["sa_situation"] is None
    assert slots["sa_barriers"] is None


async def test_stopped_says_how_to_resume_and_stores_nothing() -> None:
    said, slots = await run(
        ActionSelfAssessmentDone(),
        tracker(message("stop_messages"), {"sa_stopped": True, "sa_situation": "rien"}),
    )
    assert [m.get("response") for m in said] == ["utter_sa_stopped"]
    assert slots["sa_status"] == "stopped"


async def test_start_resumes_a_stopped_one_and_redoes_a_finished_one() -> None:
    said, slots = await run(
        ActionStartSelfAssessment(),
        tracker(message("start_self_assessment"), {"sa_situation": "rien", "sa_stopped": True}),
    )
    assert said[0]["response"] == "utter_sa_resume"
    assert slots["sa_stopped"] is False
    assert "sa_situation" not in slots
    said, slots = await run(
        ActionStartSelfAssessment(),
        tracker(message("start_self_assessment"), answered(sa_status="done", sa_keep="yes")),
    )
    assert said[0]["response"] == "utter_sa_intro_again"
    assert slots["sa_situation"] is None
    assert slots["sa_status"] == "in_progress"


async def test_the_questions_are_offered_before_a_normal_handoff_then_it_follows_them() -> None:
    said, slots = await run(ActionRequestHandoff(), tracker(message("request_human")))
    assert said[0]["response"] == "utter_sa_offer_before_handoff"
    assert slots["sa_offer_pending"] is True
    assert slots["sa_handoff_request"] == {"priority": "normal", "reason": "request_human"}

    said, slots = await run(
        ActionSelfAssessmentDone(),
        tracker(
            message("sa_answer"),
            answered(
                sa_keep="yes",
                sa_share="yes",
                sa_then_handoff=True,
                sa_handoff_request={"priority": "normal", "reason": "request_human"},
            ),
        ),
    )
    handoff = said[-1]["custom"]["handoff"]
    assert handoff["priority"] == "high", "three shared concerns raise a normal request"
    assert handoff["place"] == "99110"
    assert handoff["self_assessment_shared"] is True
    assert slots["sa_then_handoff"] is False


async def test_not_shared_flags_do_not_change_the_priority_but_age_still_routes() -> None:
    said, _ = await run(
        ActionSelfAssessmentDone(),
        tracker(
            message("sa_answer"),
            answered(sa_age_band="15", sa_keep="no", sa_then_handoff=True),
        ),
    )
    handoff = said[-1]["custom"]["handoff"]
    assert handoff["priority"] == "normal"
    assert handoff["age"] == "15"


async def test_never_offered_before_an_urgent_handoff_or_twice() -> None:
    said, _ = await run(ActionRequestHandoff(), tracker(message("urgent_violence", "il me frappe")))
    assert "handoff" in said[0]["custom"]
    said, _ = await run(
        ActionRequestHandoff(),
        tracker(message("request_human"), {"sa_offered_before_handoff": True}),
    )
    assert "handoff" in said[0]["custom"]


async def test_delete_and_show_after_the_questions() -> None:
    said, slots = await run(
        ActionManageSelfAssessment(), tracker(button("manage", "delete"), answered())
    )
    assert said[0]["custom"] == {"self_assessment": {"delete": True}}
    assert slots["sa_keep"] is None
    said, _ = await run(ActionManageSelfAssessment(), tracker(button("manage", "show"), {}))
    assert said[0]["response"] == "utter_sa_nothing_kept"


def test_every_response_the_actions_use_exists() -> None:
    import re

    source = (Path(DIALOGUES) / "actions" / "assessment.py").read_text(encoding="utf-8")
    source += (Path(DIALOGUES) / "actions" / "handoff.py").read_text(encoding="utf-8")
    used = set(re.findall(r'"(utter_sa_[a-z_]+|utter_ask_sa_[a-z_]+)"', source))
    written = (Path(DIALOGUES) / "responses" / "assessment.yml").read_text(encoding="utf-8")
    for name in used:
        assert f"\n{name}:" in written, name
