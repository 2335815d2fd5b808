"""Tables owned by ``bot.conversations``: users, conversations, messages."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.crypto import EncryptedText
from bot.db import Base, str_enum, utcnow


def new_id() -> str:
    """A pseudonymous internal id (also the Rasa sender id): reveals nothing about the person."""
    return uuid.uuid4().hex


class Channel(enum.StrEnum):
    WEB = "web"
    TELEGRAM = "telegram"


class Direction(enum.StrEnum):
    INBOUND = "inbound"  # from the young person or parent
    OUTBOUND = "outbound"  # to them


class Sender(enum.StrEnum):
    USER = "user"
    BOT = "bot"
    REFERENT = "referent"
    SYSTEM = "system"


class Delivery(enum.StrEnum):
    """Inbound: did the bot get it? Outbound: did the channel take it?"""

    PENDING = "pending"
    DONE = "done"
    ENGINE_UNAVAILABLE = "engine_unavailable"  # kept; the engine never saw it
    HELD_FOR_HUMAN = "held_for_human"  # a human holds the conversation
    FAILED = "failed"  # the channel did not take it: sent again (bot/conversations/redelivery.py)
    REFUSED = "refused"  # the channel refused it for good (bot blocked, invalid): not retried
    # The channel did not answer in time after the message left: it may have arrived, so
    # it is not sent again (a double is worse); the console says so.
    UNCONFIRMED = "unconfirmed"
    EXPIRED = "expired"  # not taken within the redelivery window: too late, not sent again


class User(Base):
    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    channel: Mapped[Channel] = mapped_column(str_enum(Channel, 16))
    # Web: the chat session id; Telegram: the chat id. Never shown in logs.
    external_id: Mapped[str] = mapped_column(String(64))
    locale: Mapped[str] = mapped_column(String(8), default="fr")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    conversations: Mapped[list[Conversation]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )

    def __repr__(self) -> str:
        return f"User(id={self.id!r}, channel={self.channel.value!r})"


class Conversation(Base):
    __tablename__ = "conversations"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    opened_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_activity_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(back_populates="conversations")
    messages: Mapped[list[Message]] = relationship(
        back_populates="conversation", cascade="all, delete-orphan", order_by="Message.id"
    )

    def __repr__(self) -> str:
        return f"Conversation(id={self.id!r})"


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("conversation_id", "client_message_id"),
        Index("ix_messages_conversation_id_id", "conversation_id", "id"),
        # Redelivery looks for the few failed sends among all messages, every minute.
        Index("ix_messages_delivery_id", "delivery", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    direction: Mapped[Direction] = mapped_column(str_enum(Direction, 16))
    sender: Mapped[Sender] = mapped_column(str_enum(Sender, 16))
    # Encrypted at rest (bot/crypto.py): never filtered or sorted in SQL.
    text: Mapped[str | None] = mapped_column(EncryptedText())
    payload: Mapped[str | None] = mapped_column(Text)
    buttons: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    # Set by the client to make a retried send (double click, network retry) idempotent.
    client_message_id: Mapped[str | None] = mapped_column(String(64))
    # The inbound message this outbound one answers (replay of idempotent sends).
    reply_to_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    delivery: Mapped[Delivery] = mapped_column(str_enum(Delivery, 24), default=Delivery.PENDING)
    # Inbound: the assistant did not understand it (the content team's to-do list).
    not_understood: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    conversation: Mapped[Conversation] = relationship(back_populates="messages")

    def __repr__(self) -> str:
        return f"Message(id={self.id}, direction={self.direction.value!r})"
