"""The person's rights in the conversation: what is held and a one-time link to all of it,
and erasure after a confirmation. Through the real web chat API and the real database
(SQLite, and PostgreSQL with ``make postgres-tests``), the engine a stand-in that passes
the two intents to the gateway as the dialogue's ``action_ask_gateway`` does."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from bot.config import Settings
from bot.conversations.models import Channel, Conversation, Message, User
from bot.db import make_engine, session_scope
from bot.gateway import Gateway
from bot.messages import InboundMessage, RouteResult
from bot.privacy import links
from bot.privacy.conversation import (
    PAYLOAD_ERASE_CANCEL,
    PAYLOAD_ERASE_CONFIRM,
    PrivacyConversation,
)
from bot.router import UserRef
from bot.web import privacy_api
from bot.web.app import create_app
from handoff.models import Handoff
from tests.unit.test_privacy_rights import TRACKER_DDL, traces_left
from tests.utils.chat import ChatClient
from tests.utils.console import PASSWORD, create_referent
from tests.utils.fakes import FakeEngine, gateway_with

PUBLIC_URL = "https://relais.example.org"
ALWAYS_OPEN = {"mon-sun": "00:00-23:59"}
GONE = "Ce lien a déjà servi ou a expiré. Redemande tes données dans la conversation."
LINK = re.compile(r"https://relais\.example\.org/privacy/export#t=([A-Za-z0-9_-]+)$")


def keep_assessment(place: str) -> dict[str, Any]:
    """The dialogue's instruction to keep (and share) a self-assessment."""
    return {
        "self_assessment": {
            "save": {
                "role": "young",
                "answers": {"situation": "lycee", "age_band": "15", "place": place},
                "flags": {"under_16": True},
                "share": True,
                "consent_version": "sa-test",
            }
        }
    }


@pytest.fixture
def engine() -> FakeEngine:
    engine = FakeEngine()
    engine.custom_for = {
        "/data_access_request": {"gateway": {"intent": "data_access_request", "entities": {}}},
        "/data_deletion_request": {"gateway": {"intent": "data_deletion_request", "entities": {}}},
        "/stop_messages": {"gateway": {"intent": "stop_messages", "entities": {}}},
        "/keep_assessment_lille": keep_assessment("59350"),
        "/keep_assessment_paris": keep_assessment("75011"),
    }
    return engine


@pytest.fixture
def tracker_url(tmp_path: Path) -> str:
    """Rasa's tracker store (its ``events`` table), in a SQLite file of its own."""
    url = f"sqlite:///{tmp_path / 'tracker.db'}"
    tracker = make_engine(url)
    with tracker.begin() as connection:
        connection.execute(text(TRACKER_DDL))
    tracker.dispose()
    return url


@pytest.fixture
def settings(database_url: str, tracker_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        environment="test",
        working_hours=ALWAYS_OPEN,
        tracker_store_url=tracker_url,
        public_url=PUBLIC_URL,
    )


@pytest.fixture
def client(settings: Settings, engine: FakeEngine) -> Iterator[TestClient]:
    gateway = gateway_with(settings, engine)
    app = create_app(settings, gateway)
    if not any(getattr(r, "path", None) == "/api/privacy/export" for r in app.routes):
        app.include_router(privacy_api.router)
    with TestClient(app) as test_client:
        test_client.gateway = gateway  # type: ignore[attr-defined]
        yield test_client


def gateway_of(client: TestClient) -> Gateway:
    gateway: Gateway = client.gateway  # type: ignore[attr-defined]
    return gateway


def user_id_of(client: TestClient, external_id: str) -> str | None:
    with session_scope(gateway_of(client).sessions) as session:
        return session.scalar(select(User.id).where(User.external_id == external_id))


def conversation_of(client: TestClient, user_id: str) -> str:
    with session_scope(gateway_of(client).sessions) as session:
        return str(session.scalar(select(Conversation.id).where(Conversation.user_id == user_id)))


def texts(reply: dict[str, Any]) -> list[str]:
    return [m["text"] or "" for m in reply["messages"]]


def token_in(reply: dict[str, Any]) -> str:
    found = [m for m in map(LINK.search, texts(reply)) if m is not None]
    assert len(found) == 1, texts(reply)
    return found[0].group(1)


def redeem(client: TestClient, token: str, language: str = "fr-FR") -> Any:
    return client.post(
        "/api/privacy/export", json={"token": token}, headers={"Accept-Language": language}
    )


def said_in(export: dict[str, Any]) -> list[str]:
    return [m.get("text") or "" for c in export["conversations"] for m in c["messages"]]


def add_tracker_events(url: str, sender_id: str, said: str) -> None:
    tracker = make_engine(url)
    with tracker.begin() as connection:
        for kind, data in (("action", "{}"), ("user", f'{{"text": "{said}"}}')):
            connection.execute(
                text(
                    "INSERT INTO events (sender_id, type_name, timestamp, data)"
                    " VALUES (:s, :t, 1.0, :d)"
                ),
                {"s": sender_id, "t": kind, "d": data},
            )
    tracker.dispose()


def tracker_senders(url: str) -> list[str]:
    tracker = make_engine(url)
    with tracker.connect() as connection:
        senders = [row[0] for row in connection.execute(text("SELECT sender_id FROM events"))]
    tracker.dispose()
    return senders


def press_on_telegram(client: TestClient, chat_id: str, payload: str) -> RouteResult:
    """A Telegram person's button, through the same router (callback data is the payload)."""
    result: RouteResult = client.portal.call(  # type: ignore[union-attr]
        gateway_of(client).router.handle,
        Channel.TELEGRAM,
        chat_id,
        InboundMessage(payload=payload),
        "fr",
    )
    return result


# --- access ---------------------------------------------------------------------------


def test_access_gives_a_summary_and_a_link_that_works_once(client: TestClient) -> None:
    person = ChatClient(http=client)
    person.send("j'ai 17 ans et je cherche un CFA à Lille")
    reply = person.send(payload="/data_access_request")
    summary, link, choices = texts(reply)
    assert summary.startswith("Voici ce que Relais garde sur toi :")
    assert "• ton identifiant de chat web et ta langue" in summary
    assert "1 conversation, 3 messages (depuis le " in summary
    assert "CFA" not in summary, "kinds and counts, never the content"
    assert link.startswith("Pour tout télécharger, ouvre ce lien")
    assert "pendant 60 min" in link
    assert choices.startswith("Tes choix, que tu peux changer ici :")
    assert "Rappels de rendez-vous et nouvelles : activés" in choices

    token = token_in(reply)
    with session_scope(gateway_of(client).sessions) as session:
        assert traces_left(session, [token]) == [], "the link is shown, never kept"
        kept = [row.text for row in session.scalars(select(Message).order_by(Message.id))]
    assert kept[-2] == link.replace(
        f"{PUBLIC_URL}/privacy/export#t={token}",
        "[lien personnel, non gardé dans la conversation]",
    )

    first = redeem(client, token)
    assert first.status_code == 200
    assert first.headers["cache-control"] == "no-store"
    export = first.json()
    assert export["profile"]["channel_id"] == person.session_id
    assert "j'ai 17 ans et je cherche un CFA à Lille" in said_in(export)

    assert token not in repr(export)
    again = redeem(client, token)
    assert again.status_code == 410
    assert again.json() == {"error": GONE}
    assert again.headers["cache-control"] == "no-store"


def test_the_export_page_is_static_never_cached_and_sends_no_referrer(client: TestClient) -> None:
    page = client.get("/privacy/export")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert '<script src="/static/privacy.js" defer></script>' in page.text
    assert client.get("/static/privacy.js").status_code == 200


def test_unknown_expired_and_used_links_get_the_same_answer(client: TestClient) -> None:
    person = ChatClient(http=client)
    person.send(payload="/data_access_request")
    user_id = user_id_of(client, person.session_id)
    assert user_id is not None
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)
    with session_scope(gateway_of(client).sessions) as session:
        expired = links.create_link(session, user_id, long_ago, dt.timedelta(minutes=60))
    for token in (expired, "made-up-token", "", "x" * 5000):
        answer = redeem(client, token)
        assert answer.status_code == 410, token[:20]
        assert answer.json() == {"error": GONE}
    english = redeem(client, "made-up-token", language="en-GB,en;q=0.9")
    assert english.status_code == 410
    assert english.json()["error"].startswith("This link has already been used or has expired.")


def test_a_link_only_ever_gives_the_data_of_the_person_who_asked(client: TestClient) -> None:
    ines, noah = ChatClient(http=client), ChatClient(http=client)
    ines.send("Inès : mon père me frappe")
    noah.send("Noah : je veux être boulanger")
    ines_token = token_in(ines.send(payload="/data_access_request"))
    noah_token = token_in(noah.send(payload="/data_access_request"))

    noah_export = redeem(client, noah_token).json()
    assert noah_export["profile"]["channel_id"] == noah.session_id
    assert "Noah : je veux être boulanger" in said_in(noah_export)
    blob = repr(noah_export)
    assert "Inès" not in blob
    assert ines.session_id not in blob

    ines_export = redeem(client, ines_token).json()
    assert "Inès : mon père me frappe" in said_in(ines_export)
    assert "Noah" not in repr(ines_export)


def test_someone_new_still_gets_a_summary_and_a_link(client: TestClient) -> None:
    person = ChatClient(http=client, locale="en")
    summary, link, _choices = texts(person.send(payload="/data_access_request"))
    assert summary.splitlines()[:2] == [
        "Here is what Relais keeps about you:",
        "• your web chat id and your language",
    ]
    assert link.startswith("To download everything, open this link")
    export = redeem(client, token_in(person.send(payload="/data_access_request"))).json()
    assert export["self_assessment"] is None
    assert export["handoffs"] == []


# --- erasure --------------------------------------------------------------------------


def test_erasure_is_asked_first_and_no_keeps_everything(client: TestClient) -> None:
    person = ChatClient(http=client)
    person.send("un secret à garder")
    (question,) = person.send(payload="/data_deletion_request")["messages"]
    assert question["text"] == (
        "Tout supprimer ? Tes messages, ton bilan, tes rendez-vous et rappels… C'est définitif."
    )
    assert [b["payload"] for b in question["buttons"]] == [
        PAYLOAD_ERASE_CONFIRM,
        PAYLOAD_ERASE_CANCEL,
    ]
    assert [b["title"] for b in question["buttons"]] == ["Oui, tout supprimer", "Non, garder"]

    assert texts(person.send(payload=PAYLOAD_ERASE_CANCEL)) == ["D'accord, je ne supprime rien."]
    user_id = user_id_of(client, person.session_id)
    assert user_id is not None
    with session_scope(gateway_of(client).sessions) as session:
        assert session.get(User, user_id) is not None
        kept = traces_left(session, ["un secret à garder"])
        assert kept == [("messages", "un secret à garder")] * 2, "what was said, and its echo"
    assert "echo: encore là" in texts(person.send("encore là"))


def test_yes_erases_every_row_and_the_tracker_events_even_with_a_referent(
    client: TestClient, settings: Settings
) -> None:
    other = ChatClient(http=client)
    other.send("Noah : je veux être boulanger")
    other.send(payload="/keep_assessment_paris")
    other_id = user_id_of(client, other.session_id)
    assert other_id is not None
    add_tracker_events(settings.tracker_store_url, other_id, "Noah : boulanger")

    person = ChatClient(http=client)
    said = "Inès : mon père me frappe"
    person.send(said)
    person.send(payload="/keep_assessment_lille")
    person.send(payload="/stop_messages")
    token = token_in(person.send(payload="/data_access_request"))
    person.send(payload="/request_human")  # the desk asks consent: a request is open
    question = texts(person.send(payload="/data_deletion_request"))[0]
    assert "il ou elle ne verra plus cette conversation" in question
    person.send(payload="/handoff_share_yes")
    user_id = user_id_of(client, person.session_id)
    assert user_id is not None
    conversation_id = conversation_of(client, user_id)
    add_tracker_events(settings.tracker_store_url, user_id, said)

    create_referent(settings.database_url, "alice@example.org")
    alice = TestClient(client.app)
    login = alice.post(
        "/console/api/login", json={"email": "alice@example.org", "password": PASSWORD}
    )
    csrf = {"X-CSRF-Token": login.json()["me"]["csrf_token"]}
    (item,) = alice.get("/console/api/queue").json()["waiting"]
    assert alice.post(f"/console/api/handoffs/{item['id']}/claim", headers=csrf).status_code == 200
    transcript = alice.get(f"/console/api/handoffs/{item['id']}").json()["messages"]
    assert said in [m["text"] for m in transcript], "the history is shared with her"
    assert token not in repr(transcript), "but not the link to everything"

    reply = person.send(payload=PAYLOAD_ERASE_CONFIRM)
    assert texts(reply) == [
        "C'est fait : tout ce qui te concernait est supprimé. "
        "Si tu m'écris à nouveau, on repart de zéro."
    ]
    traces = [
        user_id,
        person.session_id,
        conversation_id,
        said,
        token,
        "59350",
        PAYLOAD_ERASE_CONFIRM,
    ]
    with session_scope(gateway_of(client).sessions) as session:
        assert traces_left(session, traces) == []
        assert session.scalar(select(func.count()).select_from(User)) == 1
        assert session.get(User, other_id) is not None
        left = {table for table, _ in traces_left(session, ["75011", other_id])}
        assert {"users", "conversations", "self_assessments", "consents"} <= left
    assert tracker_senders(settings.tracker_store_url) == [other_id, other_id]
    assert alice.get(f"/console/api/handoffs/{item['id']}").status_code == 404
    assert alice.get("/console/api/queue").json()["waiting"] == []
    assert redeem(client, token).status_code == 410


def test_yes_pressed_twice_is_harmless_on_the_web(client: TestClient) -> None:
    person = ChatClient(http=client)
    person.send("bonjour")
    person.send(payload="/data_deletion_request")
    person.send(payload=PAYLOAD_ERASE_CONFIRM)
    again = client.post(
        f"/api/chat/sessions/{person.session_id}/messages",
        headers=person.headers,
        json={"payload": PAYLOAD_ERASE_CONFIRM},
    )
    assert again.status_code == 401, "the chat session went with everything else"
    assert "error" in again.json()
    # The chat page then opens a new session and sends it again: someone new, never asked.
    newcomer = ChatClient(http=client)
    assert texts(newcomer.send(payload=PAYLOAD_ERASE_CONFIRM)) == ["Il n'y a rien à supprimer."]
    assert user_id_of(client, person.session_id) is None


def test_yes_pressed_again_on_telegram_finds_nothing_to_erase(
    client: TestClient, settings: Settings
) -> None:
    chat_id = "424242"
    press_on_telegram(client, chat_id, "/data_deletion_request")
    first_id = user_id_of(client, chat_id)
    assert first_id is not None
    add_tracker_events(settings.tracker_store_url, first_id, "bonjour")

    done = press_on_telegram(client, chat_id, PAYLOAD_ERASE_CONFIRM)
    assert done.messages[0].text is not None
    assert done.messages[0].text.startswith("C'est fait")
    assert user_id_of(client, chat_id) is None
    assert tracker_senders(settings.tracker_store_url) == []

    for _ in range(2):
        again = press_on_telegram(client, chat_id, PAYLOAD_ERASE_CONFIRM)
        assert [m.text for m in again.messages] == ["Il n'y a rien à supprimer."]
    newcomer = user_id_of(client, chat_id)
    assert newcomer not in (None, first_id), "the router knows them as someone new"


def test_two_yeses_before_the_erasure_runs_erase_once(
    client: TestClient, settings: Settings
) -> None:
    person = ChatClient(http=client)
    person.send(payload="/data_deletion_request")
    user_id = user_id_of(client, person.session_id)
    assert user_id is not None
    ref = UserRef(user_id, conversation_of(client, user_id), "fr", Channel.WEB)
    privacy = PrivacyConversation(gateway_of(client).router, settings)
    session: Session
    with session_scope(gateway_of(client).sessions) as session:
        first = privacy.answer(session, ref, PAYLOAD_ERASE_CONFIRM)
        second = privacy.answer(session, ref, PAYLOAD_ERASE_CONFIRM)
    for answer in (first, second):
        assert answer.after is not None
        client.portal.call(answer.after)  # type: ignore[union-attr]
    assert user_id_of(client, person.session_id) is None
    with session_scope(gateway_of(client).sessions) as session:
        assert session.scalar(select(func.count()).select_from(Handoff)) == 0
        assert traces_left(session, [user_id]) == []
