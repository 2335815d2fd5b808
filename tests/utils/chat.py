"""A young person (or parent) using the web chat API, as the chat page does."""

from __future__ import annotations

from typing import Any

import httpx

# Every text a test person wrote to the real stack in this run: none may reach a log
# (checked when the shared stack stops, tests/conftest.py). Short ones ("oui") are left
# out: they could be in a log line by chance without coming from a message.
WRITTEN_TEXTS: set[str] = set()
MIN_CHECKED_LENGTH = 16


def remember_written(text: str | None) -> None:
    if text is not None and len(text.strip()) >= MIN_CHECKED_LENGTH:
        WRITTEN_TEXTS.add(text.strip())


class ChatClient:
    def __init__(
        self,
        base_url: str = "",
        locale: str = "fr",
        http: httpx.Client | None = None,
        greet: bool | None = None,
    ) -> None:
        # Unit tests pass their FastAPI TestClient (an httpx.Client) instead of a URL.
        self.http = http or httpx.Client(base_url=base_url, timeout=60)
        response = self.http.post("/api/chat/sessions", json={"locale": locale})
        assert response.status_code == 201, response.text
        body = response.json()
        self.session_id = body["session_id"]
        self.headers = {"Authorization": f"Bearer {body['token']}"}
        self.last_event_id = 0
        # On a real stack, start as the chat page does: "/greet" first (the first-contact
        # notice and the greeting); unit tests of one flow start straight at their point.
        self.greeting: dict[str, Any] | None = None
        if greet if greet is not None else http is None:
            self.greeting = self.send(payload="/greet")

    def send(self, text: str | None = None, payload: str | None = None) -> dict[str, Any]:
        body = {"text": text} if text is not None else {"payload": payload}
        remember_written(text)
        response = self.http.post(
            f"/api/chat/sessions/{self.session_id}/messages", headers=self.headers, json=body
        )
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    def say(self, text: str) -> str:
        """Send a text; return everything the assistant answered, joined."""
        return "\n".join(m["text"] or "" for m in self.send(text)["messages"])

    def close(self) -> None:
        self.http.close()

    def events_until(self, wanted: str, timeout: float = 30) -> list[dict[str, Any]]:
        """Read the session's event stream until a message containing ``wanted`` arrives;
        return every event read. Messages pushed while nobody listened are replayed."""
        import json
        import time

        events: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        with self.http.stream(
            "GET",
            f"/api/chat/sessions/{self.session_id}/events",
            headers={
                **self.headers,
                **({"Last-Event-ID": str(self.last_event_id)} if self.last_event_id else {}),
            },
            timeout=timeout,
        ) as response:
            assert response.status_code == 200, response.read()
            for line in response.iter_lines():
                if line.startswith("data: "):
                    event = json.loads(line[6:])
                    events.append(event)
                    self.last_event_id = max(self.last_event_id, int(event.get("id") or 0))
                    if wanted in (event.get("text") or ""):
                        return events
                if time.monotonic() > deadline:
                    break
        raise AssertionError(f"no event with {wanted!r} within {timeout} s: {events}")


OFFER_PAYLOAD = "/start_self_assessment:sa_choice=before_handoff"


AGE_PAYLOAD = "/handoff_age_18_plus"


def ask_for_a_person(chat: ChatClient, age_payload: str = AGE_PAYLOAD) -> dict[str, Any]:
    """Ask for a person, answer "no, straight away" to the questions offered first (once
    per session) and the age question when it comes; return the reply that asks consent
    to share."""
    reply = chat.send(payload="/request_human")
    if OFFER_PAYLOAD in payloads_of(reply):
        reply = chat.send(payload="/request_human")
    if age_payload in payloads_of(reply):
        reply = chat.send(payload=age_payload)
    return reply


def payloads_of(reply: dict[str, Any]) -> list[str | None]:
    return [b.get("payload") for m in reply["messages"] for b in m.get("buttons", [])]
