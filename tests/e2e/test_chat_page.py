"""The web chat page in Debian's headless chromium, against the real stack."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.utils.browser import chromium_page
from tests.utils.stack import Stack

pytestmark = pytest.mark.browser


@pytest.fixture
def page(stack: Stack) -> Iterator[Page]:
    with chromium_page(390, 844) as page:  # a phone
        page.goto(f"{stack.base_url}/")
        yield page


def test_page_greets_in_french_with_real_buttons(page: Page) -> None:
    log = page.get_by_test_id("chat-log")
    expect(log).to_contain_text("Relais", timeout=30_000)
    notice, greeting = page.locator(".msg-bot").all()
    expect(notice).to_contain_text("Avant de commencer")  # the first-contact notice first
    expect(greeting).to_contain_text("Salut")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    button = page.locator(".msg-button", has_text="Parler à quelqu'un").first
    expect(button).to_be_visible()
    assert button.evaluate("el => el.tagName") == "BUTTON"


def test_typing_a_message_and_pressing_enter_gets_an_answer(page: Page) -> None:
    expect(page.get_by_test_id("chat-log")).to_contain_text("Relais", timeout=30_000)
    box = page.get_by_test_id("chat-input")
    box.fill("c'est quoi la mission locale")
    box.press("Enter")
    expect(page.locator(".msg-user")).to_contain_text("mission locale")
    expect(page.locator(".msg-bot")).to_have_count(3, timeout=30_000)


def test_clicking_a_button_sends_it_once(page: Page) -> None:
    expect(page.get_by_test_id("chat-log")).to_contain_text("Relais", timeout=30_000)
    button = page.locator(".msg-button", has_text="Parler à quelqu'un").first
    button.click()
    expect(page.locator(".msg-user")).to_have_count(1)
    expect(page.locator(".msg-bot")).to_have_count(3, timeout=30_000)
    button.click(force=True)
    page.wait_for_timeout(1500)
    expect(page.locator(".msg-user")).to_have_count(1)


def test_keyboard_only_user_can_send(page: Page) -> None:
    expect(page.get_by_test_id("chat-log")).to_contain_text("Relais", timeout=30_000)
    page.get_by_test_id("chat-input").focus()
    page.keyboard.type("merci")
    page.keyboard.press("Enter")
    expect(page.locator(".msg-bot")).to_have_count(3, timeout=30_000)


def test_message_html_is_shown_as_text(page: Page) -> None:
    expect(page.get_by_test_id("chat-log")).to_contain_text("Relais", timeout=30_000)
    page.get_by_test_id("chat-input").fill("<img src=x onerror=alert(1)>")
    page.get_by_test_id("chat-send").click()
    expect(page.locator(".msg-user")).to_contain_text("<img src=x onerror=alert(1)>")
    assert page.locator(".msg-user img").count() == 0


def test_after_erasure_the_tab_forgets_the_conversation(page: Page) -> None:
    expect(page.get_by_test_id("chat-log")).to_contain_text("Relais", timeout=30_000)
    box = page.get_by_test_id("chat-input")
    box.fill("supprime mes données")
    box.press("Enter")
    confirm = page.locator(".msg-button", has_text="Oui, tout supprimer").last
    expect(confirm).to_be_visible(timeout=30_000)
    confirm.click()
    expect(page.get_by_test_id("chat-log")).to_contain_text("C'est fait", timeout=30_000)
    page.reload()
    # A new session greets afresh; nothing of the erased conversation comes back.
    expect(page.locator(".msg-bot").first).to_contain_text("Avant de commencer", timeout=30_000)
    expect(page.locator(".msg-user")).to_have_count(0)  # what they wrote is gone
    expect(page.get_by_test_id("chat-log")).not_to_contain_text("C'est fait")
