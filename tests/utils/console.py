"""Référent accounts and a logged-in console client, for tests of the console."""

from __future__ import annotations

from typing import Any

import httpx

from bot.db import make_engine, make_session_factory, session_scope
from handoff import accounts
from handoff.models import Role
from tests.utils.stack import Stack

PASSWORD = "correct-horse-battery-staple"


def create_referent(
    stack: Stack | str,
    email: str,
    password: str = PASSWORD,
    *,
    role: str = "referent",
    territories: list[str] | None = None,
    serves_under_16: bool = False,
    capacity: int = 50,
) -> str:
    """Create an account directly in the database (of a running stack, or a URL)."""
    url = stack if isinstance(stack, str) else stack.database_url
    engine = make_engine(url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            referent = accounts.create_referent(
                session,
                email=email,
                display_name=email.split("@")[0].replace(".", " ").title(),
                password=password,
                role=Role(role),
                territories=territories,
                serves_under_16=serves_under_16,
                capacity=capacity,
            )
            return referent.id
    finally:
        engine.dispose()


class ConsoleClient:
    """A référent using the console's API, as the console page does."""

    def __init__(self, base_url: str, email: str, password: str = PASSWORD) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=30)
        response = self.http.post("/console/api/login", json={"email": email, "password": password})
        assert response.status_code == 200, response.text
        self.me: dict[str, Any] = response.json()["me"]
        self.http.headers["X-CSRF-Token"] = self.me["csrf_token"]

    def queue(self) -> dict[str, Any]:
        response = self.http.get("/console/api/queue")
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    def post(self, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        return self.http.post(f"/console/api{path}", json=body or {})

    def conversation(self, handoff_id: int) -> dict[str, Any]:
        response = self.http.get(f"/console/api/handoffs/{handoff_id}")
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    def find(self, marker: str) -> dict[str, Any]:
        """The waiting or held request whose visible transcript contains ``marker`` (the
        stack is shared: other tests' requests are in the queue too)."""
        queue = self.queue()
        for item in [*queue["waiting"], *queue["mine"], *queue["others"]]:
            texts = [m["text"] for m in self.conversation(item["id"])["messages"]]
            if any(marker in t for t in texts):
                return item
        raise AssertionError(f"no request with {marker!r} in the queue")

    def close(self) -> None:
        self.http.close()
