"""The self-assessment on the real stack (trained model, action server, gateway, database),
through the web chat API as the chat page uses it."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from bot.conversations.models import User
from bot.db import make_engine, make_session_factory
from bot.privacy.models import Consent
from bot.self_assessment.models import SelfAssessment
from tests.utils.chat import ChatClient
from tests.utils.console import ConsoleClient, create_referent
from tests.utils.stack import Stack

_emails = itertools.count(1)


def stored(stack: Stack, chat: ChatClient) -> tuple[SelfAssessment | None, list[Consent]]:
    """What the application database holds for this chat's person."""
    engine = make_engine(stack.database_url)
    try:
        with make_session_factory(engine)() as session:
            user_id = session.scalar(select(User.id).where(User.external_id == chat.session_id))
            row = session.get(SelfAssessment, user_id) if user_id else None
            consents = list(session.scalars(select(Consent).where(Consent.user_id == user_id)))
            if row is not None:
                session.expunge(row)
            for consent in consents:
                session.expunge(consent)
            return row, consents
    finally:
        engine.dispose()


def texts(reply: dict[str, Any]) -> str:
    return "\n".join(m["text"] or "" for m in reply["messages"])


def payloads(reply: dict[str, Any]) -> list[str]:
    return [b.get("payload", "") for m in reply["messages"] for b in m.get("buttons", [])]


def press(chat: ChatClient, question: str, choice: str) -> dict[str, Any]:
    return chat.send(payload=f"/sa_answer:sa_question={question},sa_choice={choice}")


def answer_all(chat: ChatClient) -> tuple[dict[str, Any], int]:
    """Start and answer the 8 questions with buttons and typed words; return the last
    reply (the summary card and the keep question) and the number of messages sent."""
    sent = 0
    replies = []
    for step in (
        lambda: chat.send(payload="/start_self_assessment"),
        lambda: press(chat, "situation", "rien"),
        lambda: chat.send("j'ai 19 ans"),
        lambda: chat.send("cuisine et sport"),
        lambda: press(chat, "experiences", "benevolat"),
        lambda: press(chat, "confidence", "1"),
        lambda: chat.send("le permis et l'argent"),
        lambda: press(chat, "wants", "parler"),
        lambda: chat.send("99110"),
    ):
        replies.append(step())
        sent += 1
    return replies[-1], sent


def test_completed_kept_and_shared_in_under_12_messages_and_shown_to_the_referent(
    stack: Stack, chat: ChatClient
) -> None:
    start = chat.send(payload="/start_self_assessment")
    assert "8 petites questions" in texts(start)
    assert "/sa_answer:sa_question=situation,sa_choice=skip" in payloads(start)
    # (start again: the form resumes at the first question, nothing lost)
    card, sent = answer_all(chat)
    said = texts(card)
    strengths = said.index("Tes forces")
    assert strengths < said.index("Ce qui peut freiner") < said.index("Je garde ce bilan")
    assert "Bénévolat" in said
    assert "Cuisine" in said
    assert "Transport" in said
    steps = payloads(card)
    assert steps[0] == "/request_human", "wanting to talk and low confidence: a person first"
    assert "/ask_topic:topic=mobility_aid" in steps
    assert stored(stack, chat)[0] is None, "nothing stored before the person agrees"

    asked_share = press(chat, "keep", "yes")
    assert "conseiller" in texts(asked_share)
    done = press(chat, "share", "yes")
    sent += 2
    assert sent < 12, f"{sent} messages to complete it"
    assert "ton bilan est gardé" in texts(done)
    assert "/sa_answer:sa_question=manage,sa_choice=delete" in payloads(done)

    row, consents = stored(stack, chat)
    assert row is not None
    assert row.shared is True
    assert row.answers["situation"] == "rien"
    assert row.answers["age_band"] == "18_21"
    assert row.answers["barriers"] == ["transport", "argent"]
    assert row.flags == {
        "several_barriers": True,
        "low_confidence": True,
        "wants_to_talk": True,
        "under_16": False,
    }
    assert {(c.purpose.value, c.granted) for c in consents} == {
        ("keep_self_assessment", True),
        ("share_self_assessment", True),
    }
    assert all(c.wording_version.startswith("sa-") for c in consents)

    # The référent who picks the conversation up sees it, in French labels.
    email = f"sa-referent{next(_emails)}@example.org"
    create_referent(stack, email, role="supervisor")
    referent = ConsoleClient(stack.base_url, email)
    try:
        offer = chat.send(payload="/request_human")
        assert "montrer cette conversation" in texts(offer), "done already: no second offer"
        chat.send(payload="/handoff_share_no")
        marker = f"ticket {chat.session_id}"
        chat.send(marker)
        item = referent.find(marker)
        assert item["priority"] == "high", "three shared concerns raise the priority"
        opened = referent.conversation(item["id"])
        assessment = opened["self_assessment"]
        assert assessment["Situation"] == "Rien en ce moment"
        assert "Transport" in assessment["Freins possibles"]
        assert "plusieurs freins" in assessment["Points d'attention"]
    finally:
        referent.close()


def test_not_kept_stores_nothing_and_a_parent_is_not_asked_sensitive_questions(
    stack: Stack, chat: ChatClient
) -> None:
    chat.send("je suis le père d'un garçon de 15 ans")
    start = chat.send(payload="/start_self_assessment")
    assert "6 questions" in texts(start)
    assert "votre enfant" in texts(start)
    press(chat, "situation", "college")
    press(chat, "age_band", "15")
    press(chat, "interests", "numerique")
    fourth = press(chat, "experiences", "skip")
    assert "5/6" in texts(fourth), "confidence and barriers are not asked of a parent"
    press(chat, "wants", "informer")
    card = press(chat, "place", "skip")
    assert "Rien de sensible" in texts(card)
    done = press(chat, "keep", "no")
    assert "je ne garde rien" in texts(done)
    row, consents = stored(stack, chat)
    assert row is None
    assert consents == []


def test_a_question_in_the_middle_is_answered_then_the_form_resumes(chat: ChatClient) -> None:
    chat.send(payload="/start_self_assessment")
    press(chat, "situation", "lycee")
    reply = chat.send("c'est quoi un CFA ?")
    said = texts(reply)
    assert "Source" in said, "the question gets its knowledge answer"
    assert "CFA" in said
    assert "2/8" in reply["messages"][-1]["text"], "then the same question again"
    assert "3/8" in texts(chat.send("16"))


def test_a_danger_in_the_middle_stops_the_questions_numbers_first(chat: ChatClient) -> None:
    chat.send(payload="/start_self_assessment")
    reply = chat.send("mon beau-père me frappe quand ma mère est pas là")
    first = reply["messages"][0]["text"]
    assert first.startswith("📞")
    assert "119" in first
    assert reply["handoff"]["priority"] == "urgent"
    assert not any(
        "1/8" in (m["text"] or "") or "2/8" in (m["text"] or "") for m in reply["messages"]
    )


def test_stop_then_resume_where_it_stopped_then_redo(chat: ChatClient) -> None:
    chat.send(payload="/start_self_assessment")
    press(chat, "situation", "emploi")
    stopped = chat.send("stop")
    assert "on s'arrête là" in texts(stopped)
    resumed = chat.send(payload="/start_self_assessment")
    assert "On reprend" in texts(resumed)
    assert "2/8" in resumed["messages"][-1]["text"], "resumes at the question it stopped on"
    redone = chat.send(payload="/start_self_assessment:sa_choice=redo")
    assert "1/8" in redone["messages"][-1]["text"]


def test_skipped_questions_and_a_button_pressed_twice(chat: ChatClient) -> None:
    chat.send(payload="/start_self_assessment")
    press(chat, "situation", "skip")
    again = press(chat, "situation", "lycee")  # the first question's button, late
    assert "déjà noté" in texts(again)
    assert "2/8" in again["messages"][-1]["text"]
    unclear = chat.send("🙃")
    assert "pas bien compris" in texts(unclear)
    assert "2/8" in unclear["messages"][-1]["text"]


@pytest.fixture
def second_chat(stack: Stack) -> Iterator[ChatClient]:
    client = ChatClient(stack.base_url)
    yield client
    client.close()


def test_questions_before_a_person_then_the_handoff_follows(
    stack: Stack, second_chat: ChatClient
) -> None:
    chat = second_chat
    offer = chat.send(payload="/request_human")
    assert "8 questions rapides" in texts(offer)
    start = chat.send("oui")
    assert "1/8" in start["messages"][-1]["text"]
    for question in ("situation", "age_band", "interests", "experiences", "confidence"):
        press(chat, question, "skip")
    press(chat, "barriers", "skip")
    press(chat, "wants", "stage")
    press(chat, "place", "skip")
    press(chat, "keep", "yes")
    done = press(chat, "share", "no")
    said = texts(done)
    assert "rien que pour toi" in said
    assert "quel âge" in said, "the handoff follows the questions; the age was skipped"
    consent = chat.send(payload="/handoff_age_18_plus")
    assert "/handoff_share_yes" in payloads(consent)
    row, _ = stored(stack, chat)
    assert row is not None
    assert row.shared is False
