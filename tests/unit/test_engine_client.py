"""What the gateway sends to and reads from Rasa's REST channel."""

from __future__ import annotations

from bot.engine_client import parse_rest_messages, to_engine_text
from bot.messages import Button


def test_short_payloads_become_rasa_payloads() -> None:
    assert to_engine_text("/ask_topic:topic=cfa_what") == '/ask_topic{"topic": "cfa_what"}'
    assert to_engine_text("/x:a=1,b=deux") == '/x{"a": "1", "b": "deux"}'
    assert to_engine_text("/greet") == "/greet"


def test_free_text_is_never_rewritten() -> None:
    for text in ("c koi: un cfa=?", "/ask_topic:topic=a b", "j'ai 17 ans:a=b"):
        assert to_engine_text(text) == text


def test_rest_items_become_messages_and_custom_data() -> None:
    items = [
        {"recipient_id": "u", "text": "Salut", "buttons": [{"title": "Oui", "payload": "/affirm"}]},
        {"recipient_id": "u", "custom": {"set_locale": "en"}},
        {
            "recipient_id": "u",
            "text": "Voir",
            "buttons": [{"title": "Site", "url": "https://a.fr"}],
        },
    ]
    messages, custom = parse_rest_messages(items)
    assert custom == {"set_locale": "en"}
    assert [m.text for m in messages] == ["Salut", "Voir"]
    assert messages[0].buttons == (Button("Oui", "/affirm"),)
    assert messages[1].buttons == (Button("Site", url="https://a.fr"),)
