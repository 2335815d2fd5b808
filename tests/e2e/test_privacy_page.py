"""The export page in Debian's headless chromium: the one-time link from the conversation
turns into a readable view and a JSON download; the token leaves the address bar; the
person's words are shown as text. The gateway runs in this process with a stand-in engine
(no trained model needed)."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from playwright.sync_api import Page, expect

from bot.config import Settings
from bot.privacy.conversation import register
from bot.web import privacy_api
from bot.web.app import create_app
from tests.conftest import migrate
from tests.utils.browser import chromium_page
from tests.utils.chat import ChatClient
from tests.utils.fakes import FakeEngine, gateway_with
from tests.utils.ports import free_port

pytestmark = pytest.mark.browser

XSS = "<img src=x onerror=\"document.title='pwned'\">"
LINK = re.compile(r"(http://127\.0\.0\.1:\d+/privacy/export#t=[A-Za-z0-9_-]+)$")


@pytest.fixture
def base_url(tmp_path: Path) -> Iterator[str]:
    """The gateway (web chat API and export page) on a loopback port."""
    database_url = f"sqlite:///{tmp_path / 'app.db'}"
    migrate(database_url)
    port = free_port()
    settings = Settings(
        database_url=database_url,
        environment="test",
        port=port,
        tracker_store_url=f"sqlite:///{tmp_path / 'tracker.db'}",
    )
    engine = FakeEngine()
    engine.custom_for = {
        "/data_access_request": {"gateway": {"intent": "data_access_request", "entities": {}}}
    }
    gateway = gateway_with(settings, engine)
    register(gateway.router, settings)
    app = create_app(settings, gateway)
    if not any(getattr(r, "path", None) == "/api/privacy/export" for r in app.routes):
        app.include_router(privacy_api.router)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the gateway did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def export_link(base_url: str, said: str) -> str:
    person = ChatClient(base_url)
    try:
        person.send(said)
        reply = person.send(payload="/data_access_request")
    finally:
        person.close()
    # The summary, the link, then the person's choices: the link is one of them.
    (match,) = [m for m in (LINK.search(x["text"] or "") for x in reply["messages"]) if m]
    return match.group(1)


@pytest.fixture
def page() -> Iterator[Page]:
    with chromium_page(390, 844) as page:  # a phone
        yield page


def test_the_link_shows_the_data_offers_a_download_then_is_spent(base_url: str, page: Page) -> None:
    link = export_link(base_url, f"mon secret {XSS}")
    page.goto(link)
    expect(page.get_by_test_id("privacy-status")).to_have_text(
        "Voici tout ce que Relais garde sur toi.", timeout=15_000
    )
    assert "#" not in page.url, "the token leaves the address bar"
    view = page.get_by_test_id("privacy-view")
    expect(view).to_contain_text(f"mon secret {XSS}")
    assert page.locator("#view img").count() == 0, "the person's words are text, not HTML"
    assert page.title() != "pwned"

    with page.expect_download() as download_info:
        page.get_by_test_id("privacy-download").click()
    saved = download_info.value.path()
    data = json.loads(Path(saved).read_text(encoding="utf-8"))
    texts = [m.get("text") for c in data["conversations"] for m in c["messages"]]
    assert f"mon secret {XSS}" in texts

    spent = "Ce lien a déjà servi ou a expiré. Redemande tes données dans la conversation."
    page.goto(link)  # the same link again, in the same tab: only the fragment changes
    expect(page.get_by_test_id("privacy-status")).to_have_text(spent, timeout=15_000)
    expect(page.get_by_test_id("privacy-download")).to_be_hidden()
    page.goto("about:blank")
    page.goto(link)  # and in a new page
    expect(page.get_by_test_id("privacy-status")).to_have_text(spent, timeout=15_000)
    expect(page.get_by_test_id("privacy-view")).to_be_empty()


def test_the_page_without_a_token_says_the_link_does_not_work(base_url: str, page: Page) -> None:
    page.goto(f"{base_url}/privacy/export")
    expect(page.get_by_test_id("privacy-status")).to_contain_text("Ce lien a déjà servi")
    assert httpx.get(f"{base_url}/privacy/export").headers["cache-control"] == "no-store"
