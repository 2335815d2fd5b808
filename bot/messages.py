"""Channel-neutral message types passed between channels, the router and the engine."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

SenderName = Literal["bot", "referent", "system"]

# The longest message a person may send, on every channel (shared/spec/http-api.md).
MAX_TEXT = 2000


@dataclass(frozen=True, slots=True)
class Button:
    title: str
    payload: str | None = None
    url: str | None = None

    def to_dict(self) -> dict[str, str]:
        data = {"title": self.title}
        if self.payload is not None:
            data["payload"] = self.payload
        if self.url is not None:
            data["url"] = self.url
        return data


class DeliveryRefusedError(Exception):
    """A channel refused a message for good (the person blocked the bot, the message is
    invalid for it): sending it again would fail the same way. ``whole_chat``: every
    message to this person would be refused (blocked), not just this one."""

    def __init__(self, reason: str, *, whole_chat: bool) -> None:
        super().__init__(reason)
        self.whole_chat = whole_chat


class DeliveryUnconfirmedError(Exception):
    """The message left but the channel did not answer in time: it may have arrived.
    Sending it again could show it twice, so it is not."""


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """Something a young person or parent reads."""

    text: str | None
    buttons: tuple[Button, ...] = ()
    sender: SenderName = "bot"
    # The handoff state this message announces (queue position, a référent joined...).
    handoff: HandoffState | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"text": self.text, "buttons": [b.to_dict() for b in self.buttons]}
        if self.handoff is not None:
            data["handoff"] = self.handoff.to_dict()
        return data


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """What a person sent on a channel: free text or a button payload."""

    text: str | None = None
    payload: str | None = None
    client_message_id: str | None = None

    @property
    def engine_text(self) -> str:
        """What the engine receives: a payload is sent as Rasa's ``/intent{...}`` text."""
        return self.payload if self.payload is not None else (self.text or "")


@dataclass(frozen=True, slots=True)
class HandoffState:
    status: Literal["waiting", "assigned", "closed"]
    priority: Literal["urgent", "high", "normal"]
    position: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "priority": self.priority, "position": self.position}


@dataclass(slots=True)
class RouteResult:
    """The answer to one inbound message, as the channel shows it."""

    messages: list[OutboundMessage] = field(default_factory=list)
    handoff: HandoffState | None = None
    set_locale: str | None = None
    # True when the inbound message repeats one already handled (same client id).
    duplicate: bool = False
    # The person's data was erased: the channel forgets what it kept of the conversation
    # (the web chat page clears the tab's copy and starts afresh at the next message).
    forget: bool = False


@dataclass(slots=True)
class DeskReply:
    """What the human desk answers the person, and what the référents' side must hear
    once the change is committed."""

    messages: list[OutboundMessage] = field(default_factory=list)
    queue_changed: bool = False
    urgent_handoff_id: int | None = None
