"""Buttons become inline keyboards within Telegram's limits."""

from __future__ import annotations

from bot.messages import Button
from bot.telegram.channel import CALLBACK_LIMIT, callback_data_for, keyboard_for


def test_short_payload_is_sent_as_it_is() -> None:
    assert callback_data_for("/request_human", {}) == "/request_human"


def test_long_payload_gets_a_short_key_that_leads_back_to_it() -> None:
    payload = '/ask_topic{"topic": "apprenticeship_vs_professionalisation", "x": "yyyyyy"}'
    long_payloads: dict[str, str] = {}
    data = callback_data_for(payload, long_payloads)
    assert len(data.encode()) <= CALLBACK_LIMIT
    assert long_payloads[data] == payload


def test_url_buttons_open_links_and_payload_buttons_call_back() -> None:
    markup = keyboard_for(
        (Button("Voir le site", url="https://www.onisep.fr"), Button("Oui", payload="/affirm")),
        {},
    )
    assert markup is not None
    link, answer = (row[0] for row in markup.inline_keyboard)
    assert link.url == "https://www.onisep.fr"
    assert answer.callback_data == "/affirm"


def test_no_buttons_no_keyboard() -> None:
    assert keyboard_for((), {}) is None
