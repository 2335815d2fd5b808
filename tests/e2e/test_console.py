"""The référent console in Debian's headless chromium, against the real stack.

A young person writes through the web chat API (tests.utils.chat); a référent, signed in
in the browser, sees the request arrive live, takes it and answers.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect

from bot.telegram.channel import SEND_ATTEMPTS
from tests.conftest import TELEGRAM_TEST_TOKEN
from tests.utils.browser import chromium_page
from tests.utils.chat import ChatClient
from tests.utils.console import ConsoleClient, create_referent
from tests.utils.stack import Stack
from tests.utils.telegram import TelegramUser, ask_for_a_person_on_telegram, fail_next

pytestmark = pytest.mark.browser
_chat_ids = itertools.count(737373)

LIVE_TIMEOUT = 20_000  # ms: an event through the gateway to the page
SSE_TIMEOUT = 30.0  # s: the référent's reply on the young person's stream


@pytest.fixture
def console_page(stack: Stack) -> Iterator[Page]:
    with chromium_page(1280, 900) as page:
        yield page


@pytest.fixture
def young_person(stack: Stack) -> Iterator[ChatClient]:
    client = ChatClient(stack.base_url)
    yield client
    client.close()


def new_referent(stack: Stack) -> tuple[str, str]:
    """A fresh account (the stack is shared by the whole run): (email, password)."""
    suffix = uuid.uuid4().hex[:10]
    email = f"referent-{suffix}@example.org"
    password = f"mot-de-passe-solide-{suffix}"
    create_referent(stack, email, password, territories=["demo"], serves_under_16=True)
    return email, password


def log_in(page: Page, stack: Stack, email: str, password: str) -> None:
    """Sign in and wait until the queue is read and the live stream is open."""
    page.goto(f"{stack.base_url}/console")
    page.get_by_test_id("login-email").fill(email)
    page.get_by_test_id("login-password").fill(password)
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("queue-waiting")).to_have_attribute(
        "data-loaded", "true", timeout=15_000
    )
    expect(page.get_by_test_id("connection")).to_have_attribute(
        "data-state", "open", timeout=15_000
    )
    # The stream is open on the browser's side; give the server a moment to subscribe it.
    page.wait_for_timeout(1000)


def waiting_ids(page: Page) -> set[str]:
    items = page.get_by_test_id("queue-waiting").get_by_test_id("queue-item")
    ids: list[str] = items.evaluate_all("els => els.map(e => e.dataset.handoffId)")
    return set(ids)


def new_waiting_item(page: Page, before: set[str]) -> Locator:
    """The one request that entered the waiting list after ``before`` was read."""
    unseen = "".join(f':not([data-handoff-id="{i}"])' for i in sorted(before))
    item = page.get_by_test_id("queue-waiting").locator(f'[data-testid="queue-item"]{unseen}')
    expect(item).to_have_count(1, timeout=LIVE_TIMEOUT)
    return item


def open_urgent_request(young_person: ChatClient) -> None:
    young_person.send(payload="/greet")
    young_person.send(payload="/urgent_violence")


def read_chat_stream_until(young_person: ChatClient, needle: str) -> dict[str, object]:
    """Read the young person's event stream until a message containing ``needle``."""
    deadline = time.monotonic() + SSE_TIMEOUT
    url = f"/api/chat/sessions/{young_person.session_id}/events"
    headers = {**young_person.headers, "Accept": "text/event-stream"}
    timeout = httpx.Timeout(10.0, read=SSE_TIMEOUT)
    seen: list[str] = []
    with young_person.http.stream("GET", url, headers=headers, timeout=timeout) as response:
        assert response.status_code == 200, response.read()
        for line in response.iter_lines():
            seen.append(line)
            if line.startswith("data:") and needle in line:
                event: dict[str, object] = json.loads(line.removeprefix("data:").strip())
                return event
            if time.monotonic() > deadline:
                break
    raise AssertionError(f"{needle!r} not received by the young person; stream: {seen[-20:]}")


def test_referent_sees_urgent_request_live_claims_it_and_answers(
    stack: Stack, console_page: Page, young_person: ChatClient
) -> None:
    page = console_page
    email, password = new_referent(stack)
    log_in(page, stack, email, password)
    page.evaluate("window.__sameDocument = true")
    before = waiting_ids(page)

    open_urgent_request(young_person)
    worry = "j'ai peur de rentrer chez moi ce soir"
    young_person.send(text=worry)  # held for the référent

    item = new_waiting_item(page, before)
    handoff_id = item.get_attribute("data-handoff-id")
    assert handoff_id
    expect(item).to_have_attribute("data-priority", "urgent")
    expect(item).to_contain_text("Urgent")
    expect(page.get_by_test_id("banner")).to_contain_text(re.compile("urgent", re.IGNORECASE))
    assert page.evaluate("window.__sameDocument") is True  # appeared live, no reload

    item.get_by_test_id("claim-button").click()
    conversation = page.get_by_test_id("conversation")
    expect(conversation).to_be_visible()
    expect(conversation).to_have_attribute("data-handoff-id", handoff_id)
    transcript = page.get_by_test_id("transcript")
    expect(transcript.locator('[data-sender="user"]', has_text=worry)).to_be_visible(timeout=10_000)
    mine = page.get_by_test_id("queue-mine").locator(f'[data-handoff-id="{handoff_id}"]')
    expect(mine).to_be_visible(timeout=LIVE_TIMEOUT)

    token = uuid.uuid4().hex[:8]
    reply = f"Bonjour, je suis conseillère à la Mission locale, je suis là ({token})."
    page.get_by_test_id("reply-input").fill(reply)
    page.get_by_test_id("reply-send").click()
    sent = transcript.locator('[data-sender="referent"]', has_text=token)
    expect(sent).to_have_count(1, timeout=10_000)
    expect(page.get_by_test_id("reply-input")).to_have_value("")
    expect(page.get_by_test_id("reply-error")).to_be_empty()

    event = read_chat_stream_until(young_person, token)
    assert event.get("from") == "referent"
    assert reply in str(event.get("text"))


def test_referent_is_told_when_telegram_has_not_taken_a_message_yet(
    stack: Stack, console_page: Page, telegram_base_url: str
) -> None:
    page = console_page
    email, password = new_referent(stack)
    log_in(page, stack, email, password)
    before = waiting_ids(page)
    person = TelegramUser(telegram_base_url, TELEGRAM_TEST_TOKEN, next(_chat_ids))
    try:
        ask_for_a_person_on_telegram(person)
        item = new_waiting_item(page, before)
        handoff_id = item.get_attribute("data-handoff-id")
        item.get_by_test_id("claim-button").click()
        (joined,) = person.replies(1)
        assert "a rejoint" in joined["text"]

        # Telegram refuses the référent's message past every retry, and redelivery's first
        # two runs too: the message stays "failed" for several seconds (redelivery runs every
        # 2 s in tests), long enough for a loaded machine's browser to show it.
        fail_next(telegram_base_url, TELEGRAM_TEST_TOKEN, 3 * SEND_ATTEMPTS, status=502)
        page.get_by_test_id("reply-input").fill("Tu peux passer jeudi à 14 h ?")
        page.get_by_test_id("reply-send").click()
        sent = page.get_by_test_id("transcript").locator(
            '[data-sender="referent"]', has_text="Tu peux passer jeudi"
        )
        expect(sent).to_have_count(1, timeout=15_000)
        note = sent.get_by_test_id("message-delivery")
        expect(note).to_have_attribute("data-delivery", "failed")
        expect(note).to_contain_text("Pas encore remis")

        # It reaches the person once Telegram takes messages again, and the note goes,
        # live; reopened, the conversation does not show it either.
        (late,) = person.replies(1, timeout=45)
        assert late["text"] == "Tu peux passer jeudi à 14 h ?"
        expect(note).to_have_count(0, timeout=LIVE_TIMEOUT)
        page.reload()
        expect(page.get_by_test_id("queue-waiting")).to_have_attribute(
            "data-loaded", "true", timeout=15_000
        )
        mine = page.get_by_test_id("queue-mine").locator(f'[data-handoff-id="{handoff_id}"]')
        mine.get_by_test_id("open-button").click()
        expect(sent).to_have_count(1, timeout=10_000)
        expect(sent.get_by_test_id("message-delivery")).to_have_count(0)
    finally:
        person.close()


def test_message_html_from_the_young_person_is_shown_as_text(
    stack: Stack, console_page: Page, young_person: ChatClient
) -> None:
    page = console_page
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    email, password = new_referent(stack)
    log_in(page, stack, email, password)
    before = waiting_ids(page)

    open_urgent_request(young_person)
    written = "<script>alert(1)</script><script>window.__xss=1</script><b>gras</b>"
    young_person.send(text=written)  # held for the référent: the bot does not answer

    item = new_waiting_item(page, before)
    handoff_id = item.get_attribute("data-handoff-id")
    item.get_by_test_id("claim-button").click()
    transcript = page.get_by_test_id("transcript")
    expect(transcript).to_contain_text(written, timeout=10_000)

    # And a message that arrives live, while the conversation is open.
    live = '<img src=x onerror=alert(2)><img src="x" onerror="window.__xss=2"><i>penché</i>'
    young_person.send(text=live)
    expect(transcript).to_contain_text(live, timeout=LIVE_TIMEOUT)

    # Both again when the transcript is read afresh (reload, then "Ouvrir").
    page.reload()
    expect(page.get_by_test_id("queue-waiting")).to_have_attribute(
        "data-loaded", "true", timeout=15_000
    )
    mine = page.get_by_test_id("queue-mine").locator(f'[data-handoff-id="{handoff_id}"]')
    mine.get_by_test_id("open-button").click()
    expect(transcript).to_contain_text(written, timeout=10_000)
    expect(transcript).to_contain_text(live)

    assert transcript.locator("script, b, img, i").count() == 0
    assert page.evaluate("window.__xss") is None
    assert dialogs == [], "no script of the young person ran"


def test_supervisor_reads_in_the_access_log_that_a_referent_opened_a_conversation(
    stack: Stack, console_page: Page, young_person: ChatClient
) -> None:
    page = console_page
    email, password = new_referent(stack)
    suffix = uuid.uuid4().hex[:10]
    boss_email, boss_password = f"chef-{suffix}@example.org", f"mot-de-passe-chef-{suffix}"
    create_referent(stack, boss_email, boss_password, role="supervisor")

    open_urgent_request(young_person)
    marker = f"je ne sais plus quoi faire ({uuid.uuid4().hex[:8]})"
    young_person.send(text=marker)  # held for the référent
    referent = ConsoleClient(stack.base_url, email, password)
    try:
        handoff_id = referent.find(marker)["id"]  # opens the conversations of the queue
        referent.conversation(handoff_id)
        name = referent.me["display_name"]
    finally:
        referent.close()

    log_in(page, stack, boss_email, boss_password)
    page.get_by_test_id("tab-audit").click()
    panel = page.get_by_test_id("audit")
    expect(panel).to_be_visible()
    expect(page.get_by_test_id("audit-row").first).to_be_visible(timeout=10_000)
    chooser = page.get_by_test_id("audit-referent")
    expect(chooser.locator("option", has_text=name)).to_have_count(1, timeout=10_000)
    chooser.select_option(label=name)
    page.get_by_test_id("audit-handoff").fill(str(handoff_id))
    page.get_by_test_id("audit-submit").click()

    rows = page.get_by_test_id("audit-row")
    opened = page.locator(
        f'[data-testid="audit-row"][data-kind="opened"][data-handoff-id="{handoff_id}"]'
    )
    expect(opened.first).to_be_visible(timeout=10_000)
    expect(rows).to_have_count(2)  # find() opened it, then conversation() again
    first = opened.first
    expect(first).to_contain_text(name)
    expect(first).to_contain_text("Ouverture de la conversation")
    expect(first).to_contain_text(f"n° {handoff_id}")
    moment = first.locator("time").get_attribute("datetime")
    assert moment is not None
    age = dt.datetime.now(dt.UTC) - dt.datetime.fromisoformat(moment)
    assert dt.timedelta(0) <= age < dt.timedelta(minutes=5)
    expect(first.locator("time")).to_contain_text(f"{dt.datetime.now().year}")
    expect(page.get_by_test_id("audit-csv")).to_have_attribute(
        "href", re.compile(rf"/console/api/audit\.csv\?.*handoff={handoff_id}")
    )
    expect(panel).not_to_contain_text(marker)


def test_wrong_password_does_not_say_whether_the_account_exists(
    stack: Stack, console_page: Page
) -> None:
    page = console_page
    email, _password = new_referent(stack)
    page.goto(f"{stack.base_url}/console")
    error = page.get_by_test_id("login-error")

    def failed_login(address: str) -> str:
        page.get_by_test_id("login-email").fill(address)
        page.get_by_test_id("login-password").fill("pas-le-bon-mot-de-passe")
        with page.expect_response(lambda r: r.url.endswith("/console/api/login")) as answer:
            page.get_by_test_id("login-submit").click()
        assert answer.value.status == 401
        expect(error).to_have_text(re.compile(r"\S"))
        return error.inner_text().strip()

    known = failed_login(email)
    unknown = failed_login(f"personne-{uuid.uuid4().hex[:10]}@example.org")

    assert known == unknown
    assert email not in known
    expect(page.get_by_test_id("login-submit")).to_be_visible()
    expect(page.get_by_test_id("queue-waiting")).to_be_hidden()
    expect(page.get_by_test_id("logout")).to_be_hidden()
