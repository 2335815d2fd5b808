"""The human handoff on the real stack: trained model, action server, gateway, database,
the Telegram channel through the emulator, and a référent using the console's API."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest

from bot.telegram.channel import SEND_ATTEMPTS
from dialogues.directory.partners import load_directory
from handoff.hours import WorkingHours
from tests.conftest import REFERENTS_CHAT_ID, TELEGRAM_TEST_TOKEN
from tests.utils.chat import ChatClient, ask_for_a_person
from tests.utils.console import ConsoleClient, create_referent
from tests.utils.stack import Stack
from tests.utils.telegram import TelegramUser, ask_for_a_person_on_telegram, fail_next

_emails = itertools.count(1)
_chat_ids = itertools.count(515151)


@pytest.fixture
def referent(stack: Stack) -> Iterator[ConsoleClient]:
    email = f"referent{next(_emails)}@example.org"
    create_referent(stack, email, role="supervisor")
    client = ConsoleClient(stack.base_url, email)
    yield client
    client.close()


def own_request(chat: ChatClient, referent: ConsoleClient) -> dict:
    """This conversation's request in the shared queue: a marker written while waiting
    (kept for the référent) finds it."""
    marker = f"ticket {chat.session_id}"
    chat.send(marker)
    return referent.find(marker)


def test_urgent_web_chat_is_claimed_answered_both_ways_closed_and_the_bot_resumes(
    stack: Stack, chat: ChatClient, referent: ConsoleClient, telegram_base_url: str
) -> None:
    reply = chat.send("mon beau-père me frappe")
    first = reply["messages"][0]["text"]
    assert first.startswith("📞"), "the numbers come first"
    assert "119" in first
    assert reply["handoff"]["status"] == "waiting"
    assert reply["handoff"]["priority"] == "urgent"
    consent = reply["messages"][-1]
    assert consent["buttons"][0]["payload"] == "/handoff_share_yes"

    # The référents on duty are alerted in their Telegram chat, without the message text.
    duty = TelegramUser(telegram_base_url, TELEGRAM_TEST_TOKEN, REFERENTS_CHAT_ID)
    alerts = [m["text"] for m in duty.replies(1, timeout=20)]
    duty.close()
    assert any("URGENTE" in a for a in alerts)
    assert all("beau-père" not in a for a in alerts)

    chat.send(payload="/handoff_share_yes")
    marker = f"ticket {chat.session_id}"
    assert chat.send(marker)["messages"] == [], "kept for the référent, the bot is silent"
    item = referent.find(marker)
    assert (item["reason"], item["priority"]) == ("urgent_violence", "urgent")
    assert referent.post(f"/handoffs/{item['id']}/claim").status_code == 200
    chat.events_until("a rejoint la conversation")

    assert (
        referent.post(
            f"/handoffs/{item['id']}/messages", {"text": "Je suis là, on en parle ?"}
        ).status_code
        == 201
    )
    events = chat.events_until("Je suis là, on en parle ?")
    assert events[-1]["from"] == "referent"

    held = chat.send("oui merci")
    assert held["messages"] == [], "the bot is silent while a person holds the conversation"
    transcript = [m["text"] for m in referent.conversation(item["id"])["messages"]]
    assert "mon beau-père me frappe" in transcript, "shared after consent"
    assert transcript[-1] == "oui merci"

    closed = referent.post(f"/handoffs/{item['id']}/close", {"outcome": "urgent_service_contacted"})
    assert closed.status_code == 200
    back = chat.events_until("Relais")
    assert back[-1]["from"] == "bot"
    after = chat.send(payload="/greet")
    assert after["handoff"] is None
    assert "Relais" in after["messages"][0]["text"]


def test_telegram_user_reaches_a_referent_and_back(
    stack: Stack, telegram_base_url: str, referent: ConsoleClient
) -> None:
    user = TelegramUser(telegram_base_url, TELEGRAM_TEST_TOKEN, next(_chat_ids))
    try:
        ask_for_a_person_on_telegram(user)

        marker = f"ticket telegram {user.chat_id}"
        user.send(marker)
        assert user.quiet_for(1) == []
        item = referent.find(marker)
        assert item["channel"] == "telegram"
        assert referent.post(f"/handoffs/{item['id']}/claim").status_code == 200
        (joined,) = user.replies(1)
        assert "a rejoint" in joined["text"]

        referent.post(f"/handoffs/{item['id']}/messages", {"text": "Salut, je t'écoute."})
        (relayed,) = user.replies(1)
        assert relayed["text"] == "Salut, je t'écoute."

        # Telegram refuses the next message past every retry: the référent is told it is
        # not delivered yet, and it reaches the person once Telegram takes messages again.
        fail_next(telegram_base_url, TELEGRAM_TEST_TOKEN, SEND_ATTEMPTS, status=502)
        answer = referent.post(
            f"/handoffs/{item['id']}/messages", {"text": "Tu peux passer jeudi ?"}
        ).json()
        assert answer["delivery"] == "failed"
        (late,) = user.replies(1, timeout=30)
        assert late["text"] == "Tu peux passer jeudi ?"
        assert user.quiet_for(3) == [], "once"
        shown = referent.conversation(item["id"])["messages"]
        assert [m["delivery"] for m in shown if m["text"] == "Tu peux passer jeudi ?"] == ["done"]

        user.send("j'ai besoin d'aide pour mon contrat")
        assert user.quiet_for(2) == [], "the bot stays silent"
        texts = [m["text"] for m in referent.conversation(item["id"])["messages"]]
        assert texts[-1] == "j'ai besoin d'aide pour mon contrat"

        assert referent.post(f"/handoffs/{item['id']}/return-to-bot").status_code == 200
        (back,) = user.replies(1)
        assert "Relais" in back["text"]
    finally:
        user.close()


def test_two_misunderstandings_then_yes_reaches_the_queue(
    chat: ChatClient, referent: ConsoleClient
) -> None:
    chat.send(payload="/nlu_fallback")
    chat.send(payload="/nlu_fallback")
    offer = chat.send(payload="/request_human")
    assert "8 questions rapides" in offer["messages"][-1]["text"], "the questions are offered first"
    reply = chat.send(payload="/request_human")  # "Non, directement"
    assert "quel âge" in reply["messages"][-1]["text"]
    reply = chat.send(payload="/handoff_age_undisclosed")
    assert "montrer cette conversation" in reply["messages"][-1]["text"]
    queued = chat.send(payload="/handoff_share_no")
    assert queued["handoff"]["status"] == "waiting"
    assert own_request(chat, referent)["reason"] == "nlu_fallback"


def test_high_intent_accepted_is_queued_as_high(chat: ChatClient, referent: ConsoleClient) -> None:
    chat.send("mon patron me fait faire que le ménage depuis 2 mois")
    ask_for_a_person(chat)
    queued = chat.send(payload="/handoff_share_yes")
    assert queued["handoff"]["priority"] == "high"
    assert own_request(chat, referent)["reason"] == "apprentice_employer_conflict"


def test_territory_routing_and_its_working_hours(chat: ChatClient, referent: ConsoleClient) -> None:
    """A place given in the conversation routes the request to its territory, whose own
    working hours decide what the person is told (the demo territory: weekdays 9:00-17:30;
    the fixed-clock unit test covers both sides of the hours)."""
    chat.send("elle est où la mission locale la plus proche")
    chat.send("99110")
    ask_for_a_person(chat)
    queued = chat.send(payload="/handoff_share_yes")
    told = "\n".join(m["text"] for m in queued["messages"])
    demo = next(t for t in load_directory() if t.id == "demo")
    paris = ZoneInfo("Europe/Paris")
    if WorkingHours.parse(demo.working_hours).is_open(dt.datetime.now(dt.UTC), paris):
        assert "pas disponible" not in told
    else:
        assert "L'équipe n'est pas disponible en ce moment" in told
        assert "à partir de" in told
    item = own_request(chat, referent)
    assert item["territory"] == "demo"
    assert item["territory_name"].startswith("Val-de-Relais")


def test_a_danger_written_while_waiting_gets_the_numbers_and_raises_the_request(
    chat: ChatClient,
) -> None:
    ask_for_a_person(chat)
    chat.send(payload="/handoff_share_yes")
    assert chat.send("je patiente")["messages"] == [], "the bot is silent while waiting"
    reply = chat.send("en fait j'ai plus envie de vivre")
    assert "3114" in reply["messages"][0]["text"][:80]
    assert reply["handoff"]["priority"] == "urgent"


def test_erasure_asked_while_waiting_is_answered_at_once(chat: ChatClient) -> None:
    ask_for_a_person(chat)
    chat.send(payload="/handoff_share_yes")
    reply = chat.send("supprime toutes mes données")
    buttons = [b["payload"] for m in reply["messages"] for b in m["buttons"]]
    assert "/privacy_erase_confirm" in buttons, "rights are never on hold"
    assert reply["handoff"]["status"] == "waiting"
