"""A first conversation through the web chat API, on the real stack and trained model."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from bot.tracker_crypto import TrackerKeyring
from tests.conftest import TEST_TRACKER_KEY
from tests.utils.chat import ChatClient
from tests.utils.stack import Stack


def test_greeting_shows_the_menu_as_buttons(chat: ChatClient) -> None:
    reply = chat.send(payload="/greet")
    (message,) = reply["messages"]
    assert "Relais" in message["text"]
    payloads = [b["payload"] for b in message["buttons"]]
    assert "/request_human" in payloads
    assert "/start_self_assessment" in payloads
    assert reply["handoff"] is None


def test_first_contact_says_who_runs_it_what_is_kept_and_how_to_delete_before_anything(
    stack: Stack,
) -> None:
    newcomer = ChatClient(stack.base_url, greet=False)
    notice, greeting = newcomer.send(payload="/greet")["messages"]
    assert notice["text"].startswith("🔒 Avant de commencer")
    assert "supprime mes données" in notice["text"]
    assert "Relais" in greeting["text"]
    more = newcomer.send(payload=notice["buttons"][0]["payload"])["messages"][0]
    assert "Un·e conseiller·e ne voit ta conversation que si" in more["text"], "who sees what"
    choices = newcomer.send(payload=more["buttons"][0]["payload"])["messages"]
    assert choices[-1]["text"].startswith("Tes choix"), "and where to change one's mind"
    newcomer.close()


def test_typed_hello_is_understood(chat: ChatClient) -> None:
    assert "Relais" in chat.say("slt")


def test_menu_button_lists_what_the_assistant_does(chat: ChatClient) -> None:
    reply = chat.send(payload="/ask_capabilities")
    assert "apprentissage" in reply["messages"][0]["text"]
    assert len(reply["messages"][0]["buttons"]) >= 3


def test_english_session_is_answered_in_english(stack: Stack) -> None:
    english = ChatClient(stack.base_url, locale="en")
    assert "I'm Relais" in english.send(payload="/greet")["messages"][0]["text"]
    english.close()


def test_not_understood_twice_offers_a_person(chat: ChatClient) -> None:
    first = chat.send(payload="/nlu_fallback")
    assert "pas bien compris" in first["messages"][0]["text"]
    assert "/request_human" in [b["payload"] for b in first["messages"][0]["buttons"]]
    second = chat.send(payload="/nlu_fallback")
    assert "conseiller" in second["messages"][0]["text"]
    third = chat.send(payload="/deny")
    assert "je t'écoute" in third["messages"][0]["text"]


# Words never seen in training, with and without word vectors ("azerty" has one): asked to
# rephrase, never read as out of scope or as a "yes" (both seen with a sure SVM, 2026-12-07).
@pytest.mark.parametrize("text", ["zorglub kwxq plimf", "blorp snarf", "azerty qsdf"])
def test_gibberish_gets_the_fallback(chat: ChatClient, text: str) -> None:
    answer = chat.say(text)
    assert "compris" in answer


def test_urgent_message_gets_the_numbers_first(chat: ChatClient) -> None:
    answer = chat.say("j'ai plus envie de vivre")
    assert answer.index("3114") < 20


# Read by the classifiers as an employer conflict (a late pay), by the danger detector as a
# danger (relais-d2647afa34086ad2, 2026-12-07): asked, never answered as a leaflet at once.
HUNGER_READ_AS_A_PAY_DISPUTE = (
    "ça fait trois jours que je vis avec rien, ma paie d'apprenti arrive pas"
)


def test_a_danger_read_as_an_everyday_message_is_asked_about(stack: Stack) -> None:
    chat = ChatClient(stack.base_url)
    (question,) = chat.send(HUNGER_READ_AS_A_PAY_DISPUTE)["messages"]
    assert "est-ce que tu es en danger" in question["text"]
    yes, no = (b["payload"] for b in question["buttons"])
    assert (yes, no) == ("/urgent_no_food_money", "/deny")
    # "Non, ça va": glad (with the number for a danger after all), then the answer the
    # message had been read as, and the offer of a person that answer always comes with.
    glad, answer, offer = chat.send(payload=no)["messages"]
    assert "tant mieux" in glad["text"]
    assert "112" in glad["text"]
    assert "tu as des droits" in answer["text"]
    assert "conseiller" in offer["text"]
    # A typed "oui" to that offer: on the way to a person, as after the employer-conflict
    # answer itself (the self-assessment's questions offered first).
    assert "8 questions rapides" in chat.send("oui")["messages"][-1]["text"]
    # "oui", typed (the button sends the urgent intent itself): that danger's numbers first,
    # and the urgent request to a person.
    again = ChatClient(stack.base_url)
    again.send(HUNGER_READ_AS_A_PAY_DISPUTE)
    reply = again.send("oui")
    assert reply["messages"][0]["text"].startswith("📞")
    assert "115" in reply["messages"][0]["text"]
    assert reply["handoff"]["priority"] == "urgent"
    # The "Oui" button: the same.
    pressed = ChatClient(stack.base_url)
    pressed.send(HUNGER_READ_AS_A_PAY_DISPUTE)
    reply = pressed.send(payload=yes)
    assert reply["messages"][0]["text"].startswith("📞")
    assert reply["handoff"]["priority"] == "urgent"
    for client in (chat, again, pressed):
        client.close()
    parsed = httpx.post(
        f"{stack.base_url}/api/nlu/parse",
        json={"text": HUNGER_READ_AS_A_PAY_DISPUTE},
        headers={"Authorization": f"Bearer {stack.admin_token}"},
        timeout=30,
    ).json()
    # What the classifiers read, and the danger the person is asked about instead.
    assert (parsed["intent"], parsed["handoff"]) == ("apprentice_employer_conflict", "high")
    assert parsed["danger_question"] == "urgent_no_food_money"


def test_asking_for_english_switches_language(chat: ChatClient) -> None:
    reply = chat.send("can we speak english please")
    assert reply.get("locale") == "en"
    assert "English" in reply["messages"][0]["text"]
    assert "I'm Relais" in chat.send(payload="/greet")["messages"][0]["text"]


def test_parent_is_answered_with_vous(chat: ChatClient) -> None:
    chat.send(payload="/identify_as_parent")
    assert "vous" in chat.send(payload="/greet")["messages"][0]["text"]


def test_emoji_only_message_gets_an_answer(chat: ChatClient) -> None:
    reply = chat.send("🙂🙂🙂")
    assert reply["messages"]
    assert reply["messages"][0]["text"]


def test_nlu_parse_reports_intent_and_handoff(stack: Stack) -> None:
    response = httpx.post(
        f"{stack.base_url}/api/nlu/parse",
        json={"text": "mon beau-père me frappe"},
        headers={"Authorization": f"Bearer {stack.admin_token}"},
        timeout=30,
    )
    assert response.status_code == 200
    body = response.json()
    assert body["intent"] == "urgent_violence"
    assert body["handoff"] == "urgent"


def test_health_reports_every_component(stack: Stack) -> None:
    response = httpx.get(f"{stack.base_url}/healthz", timeout=10)
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "components": {
            "rasa": "ok",
            "actions": "ok",
            "db": "ok",
            "scheduler": "ok",
            "telegram": "ok",
        },
    }


def test_menu_topic_button_answers_from_the_knowledge_base(chat: ChatClient) -> None:
    greeting = chat.send(payload="/greet")["messages"][0]
    topic = next(b for b in greeting["buttons"] if b["payload"].startswith("/ask_topic:"))
    answer = chat.send(payload=topic["payload"])["messages"][0]
    assert "Source" in answer["text"]
    assert answer["buttons"], "every knowledge answer ends with a next step"


def tracker_events(url: str) -> list[tuple[Any, ...]]:
    """Every row of Rasa's ``events`` table, as stored (SQLite or PostgreSQL)."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT id, sender_id, type_name, timestamp, intent_name, action_name, data"
                    " FROM events ORDER BY id"
                )
            ).all()
    finally:
        engine.dispose()
    return [tuple(row) for row in rows]


def test_what_people_write_is_encrypted_in_rasas_tracker_store(stack: Stack) -> None:
    # Words never seen in training (asked to rephrase), in ASCII: Rasa's JSON would hold
    # them as written, so not finding them means they are not stored in clear.
    said = "Quorvelid blantrix zumpfor"
    person = ChatClient(stack.base_url)
    assert "compris" in person.say(said), "the usual answer"

    rows = tracker_events(stack.tracker_store_url)
    stored = json.dumps(rows)
    for fragment in ("Quorvelid", "blantrix", "zumpfor"):
        assert fragment not in stored
    # Rasa's own rows, encrypted with the tracker key: the message is there, readable with
    # the key only, and nothing of this conversation is in clear beside it.
    keyring = TrackerKeyring([TEST_TRACKER_KEY])
    events = {row[0]: json.loads(keyring.read(row[6], row[0])) for row in rows}
    (sender,) = {row[1] for row in rows if events[row[0]].get("text") == said}
    mine = [row for row in rows if row[1] == sender]
    assert {"session_started", "user", "bot"} <= {row[2] for row in mine}
    for _id, _sender, _type, _timestamp, intent_name, action_name, data in mine:
        assert data.startswith("gAAAAA"), "a Fernet token"
        assert (intent_name, action_name) == (None, None)
    log = stack.log()
    assert "InMemoryTrackerStore" not in log, "Rasa never fell back to a store in memory"
    assert "written before encryption" not in log, "no event was ever stored in clear"

    # The second misunderstanding in a row offers a person: the action read the first one
    # from the tracker Rasa decrypted; the "no" that follows reads the slot it set.
    assert "conseiller" in person.say("zorglub kwxq plimf")
    assert "je t'écoute" in person.send(payload="/deny")["messages"][0]["text"]
    assert len(tracker_events(stack.tracker_store_url)) > len(rows)
    person.close()
