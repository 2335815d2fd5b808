"""Appointments in the référent console, in Debian's headless chromium: set one from the
form, hear live that the person cannot come, propose two other times, see the person's
pick, cancel. The gateway runs in this process with a stand-in engine (no trained model
needed); the young person uses the web chat API."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from playwright.sync_api import Page, expect
from sqlalchemy import select

from bot.appointments.models import AppointmentOption
from bot.appointments.payloads import Action, make
from bot.config import Settings
from bot.db import session_scope
from bot.gateway import Gateway
from bot.web.app import create_app
from handoff.console import appointments_api
from tests.conftest import migrate
from tests.utils.browser import chromium_page
from tests.utils.chat import ChatClient
from tests.utils.console import create_referent
from tests.utils.fakes import FakeEngine, gateway_with
from tests.utils.ports import free_port

pytestmark = pytest.mark.browser

LIVE_TIMEOUT = 15_000  # ms: an event through the gateway to the page
XSS = '<img src=x onerror="window.__xss=1">'
EMAIL, PASSWORD = "claire@example.org", "mot-de-passe-tres-solide"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Gateway]]:
    """The gateway (chat API, console and its appointment routes) on a loopback port."""
    database_url = f"sqlite:///{tmp_path / 'app.db'}"
    migrate(database_url)
    port = free_port()
    settings = Settings(
        database_url=database_url,
        environment="test",
        port=port,
        working_hours={"mon-sun": "00:00-23:59"},
        tracker_store_url=f"sqlite:///{tmp_path / 'tracker.db'}",
    )
    gateway = gateway_with(settings, FakeEngine())
    app = create_app(settings, gateway)
    if not any(
        getattr(r, "path", None) == "/console/api/handoffs/{handoff_id}/appointments"
        for r in app.routes
    ):
        app.include_router(appointments_api.router)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the gateway did not start"
        time.sleep(0.05)
    create_referent(database_url, EMAIL, PASSWORD)
    try:
        yield f"http://127.0.0.1:{port}", gateway
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@pytest.fixture
def page() -> Iterator[Page]:
    with chromium_page(1280, 900) as page:
        yield page


def day(days: int) -> str:
    return (dt.date.today() + dt.timedelta(days=days)).isoformat()


def options_of(gateway: Gateway) -> list[Any]:
    with session_scope(gateway.sessions) as session:
        rows = session.scalars(select(AppointmentOption).order_by(AppointmentOption.starts_at))
        return [(o.id, o.starts_at) for o in rows]


def test_a_referent_sets_an_appointment_and_follows_the_persons_answers(
    served: tuple[str, Gateway], page: Page
) -> None:
    base_url, gateway = served
    person = ChatClient(base_url)
    person.send(payload="/request_human")
    person.send(payload="/handoff_share_yes")

    page.goto(f"{base_url}/console")
    page.get_by_test_id("login-email").fill(EMAIL)
    page.get_by_test_id("login-password").fill(PASSWORD)
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("connection")).to_have_attribute(
        "data-state", "open", timeout=15_000
    )
    page.get_by_test_id("claim-button").click()
    block = page.get_by_test_id("appointments")
    form = page.get_by_test_id("appointment-form")
    expect(form).to_be_visible(timeout=10_000)
    page.wait_for_timeout(500)  # the server subscribes the stream

    page.get_by_test_id("appointment-date").fill(day(3))
    page.get_by_test_id("appointment-time").fill("14:30")
    page.get_by_test_id("appointment-mode-phone").check()
    expect(page.locator("#appt-place-label")).to_have_text("Numéro à appeler (facultatif)")
    page.get_by_test_id("appointment-place").fill("06 12 34 56 78")
    page.get_by_test_id("appointment-bring").fill(f"ton CV {XSS}")
    page.get_by_test_id("appointment-submit").click()
    expect(page.get_by_test_id("appointment-notice")).to_have_text(
        "Rendez-vous proposé à la personne."
    )
    item = block.get_by_test_id("appointment")
    expect(item).to_have_count(1)
    expect(item.get_by_test_id("appointment-status")).to_have_text("Proposé")
    expect(item.get_by_test_id("appointment-when")).to_contain_text("à 14 h 30")
    expect(item).to_contain_text(f"ton CV {XSS}")
    assert block.locator("img").count() == 0, "what was typed is shown as text"
    transcript = page.get_by_test_id("transcript")
    expect(transcript).to_contain_text("06 12 34 56 78", timeout=LIVE_TIMEOUT)

    appointment_id = item.get_attribute("data-appointment-id")
    person.send(payload=make(Action.DECLINE, str(appointment_id)))
    expect(page.get_by_test_id("appointment-alert")).to_have_text(
        "La personne demande un autre moment : proposez d’autres horaires.",
        timeout=LIVE_TIMEOUT,
    )
    expect(item.get_by_test_id("appointment-ask")).to_be_visible()

    item.get_by_test_id("appointment-options").click()
    dates = item.get_by_test_id("appointment-editor-date")
    times = item.get_by_test_id("appointment-editor-time")
    dates.nth(0).fill(day(5))
    times.nth(0).fill("09:00")
    dates.nth(1).fill(day(6))
    times.nth(1).fill("16:15")
    item.get_by_test_id("appointment-editor-submit").click()
    expect(page.get_by_test_id("appointment-notice")).to_have_text(
        "Horaires envoyés : la personne choisit avec les boutons."
    )
    expect(item.locator(".appt-options li")).to_have_count(2)

    (first, _), (second, second_at) = options_of(gateway)
    person.send(payload=make(Action.PICK, second))
    expect(page.get_by_test_id("appointment-alert")).to_have_text(
        "La personne a choisi l’un des horaires proposés.", timeout=LIVE_TIMEOUT
    )
    expect(item.get_by_test_id("appointment-status")).to_have_text("Confirmé")
    expect(item.get_by_test_id("appointment-when")).to_contain_text("à 16 h 15")
    expect(item.locator(".appt-options")).to_have_count(0)

    item.get_by_test_id("appointment-cancel").click()
    page.get_by_test_id("confirm-ok").click()
    expect(item.get_by_test_id("appointment-status")).to_have_text("Annulé")
    expect(item.get_by_test_id("appointment-move")).to_have_count(0)
    assert page.evaluate("window.__xss") is None
    assert first != second
    assert second_at > dt.datetime.now(dt.UTC)
    person.close()
