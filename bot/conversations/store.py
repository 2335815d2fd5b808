"""The only code that writes users, conversations and messages."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence

from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.orm import Session

from bot.conversations.models import (
    Channel,
    Conversation,
    Delivery,
    Direction,
    Message,
    Sender,
    User,
)
from bot.db import utcnow
from bot.messages import Button, OutboundMessage, SenderName


def get_user(session: Session, channel: Channel, external_id: str) -> User | None:
    return session.scalar(
        select(User).where(User.channel == channel, User.external_id == external_id)
    )


def get_or_create_user(
    session: Session, channel: Channel, external_id: str, locale: str = "fr"
) -> User:
    user = get_user(session, channel, external_id)
    if user is None:
        user = User(channel=channel, external_id=external_id, locale=locale)
        session.add(user)
        session.flush()
    return user


def set_locale(session: Session, user_id: str, locale: str) -> None:
    session.execute(update(User).where(User.id == user_id).values(locale=locale))


def current_conversation(session: Session, user: User) -> Conversation:
    """The user's latest conversation, opened on first contact."""
    conversation = session.scalar(
        select(Conversation)
        .where(Conversation.user_id == user.id)
        .order_by(Conversation.opened_at.desc())
        .limit(1)
    )
    if conversation is None:
        conversation = Conversation(user_id=user.id)
        session.add(conversation)
        session.flush()
    return conversation


def was_ever_answered(session: Session, user_id: str) -> bool:
    """True once anything was sent to the person (so the first contact is behind them)."""
    found = session.scalar(
        select(Message.id)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(Conversation.user_id == user_id, Message.direction == Direction.OUTBOUND)
        .limit(1)
    )
    return found is not None


def find_by_client_id(
    session: Session, conversation_id: str, client_message_id: str
) -> Message | None:
    return session.scalar(
        select(Message).where(
            Message.conversation_id == conversation_id,
            Message.client_message_id == client_message_id,
        )
    )


def record_inbound(
    session: Session,
    conversation: Conversation,
    *,
    text: str | None,
    payload: str | None,
    client_message_id: str | None = None,
) -> Message:
    now = utcnow()
    message = Message(
        conversation_id=conversation.id,
        direction=Direction.INBOUND,
        sender=Sender.USER,
        text=text,
        payload=payload,
        client_message_id=client_message_id,
        delivery=Delivery.PENDING,
        created_at=now,
    )
    session.add(message)
    conversation.last_activity_at = now
    session.execute(update(User).where(User.id == conversation.user_id).values(last_seen_at=now))
    session.flush()
    return message


def record_outbound(
    session: Session,
    conversation_id: str,
    messages: Sequence[OutboundMessage],
    *,
    reply_to_id: int | None = None,
    delivery: Delivery = Delivery.DONE,
) -> list[Message]:
    rows = [
        Message(
            conversation_id=conversation_id,
            direction=Direction.OUTBOUND,
            sender=Sender(m.sender),
            text=m.text,
            buttons=[b.to_dict() for b in m.buttons] or None,
            reply_to_id=reply_to_id,
            delivery=delivery,
        )
        for m in messages
    ]
    session.add_all(rows)
    session.flush()
    return rows


def set_delivery(session: Session, message_id: int, delivery: Delivery) -> None:
    session.execute(update(Message).where(Message.id == message_id).values(delivery=delivery))


def mark_not_understood(session: Session, message_id: int) -> None:
    session.execute(update(Message).where(Message.id == message_id).values(not_understood=True))


def replies_to(session: Session, message_id: int) -> list[Message]:
    return list(
        session.scalars(
            select(Message).where(Message.reply_to_id == message_id).order_by(Message.id)
        )
    )


SENDER_NAMES: dict[Sender, SenderName] = {
    Sender.BOT: "bot",
    Sender.REFERENT: "referent",
    Sender.SYSTEM: "system",
}


def as_outbound(row: Message) -> OutboundMessage:
    """A recorded outbound message as the channel shows it again (an idempotent replay, or
    a send again after the channel failed)."""
    buttons = tuple(
        Button(b["title"], payload=b.get("payload"), url=b.get("url")) for b in row.buttons or []
    )
    return OutboundMessage(
        text=row.text, buttons=buttons, sender=SENDER_NAMES.get(row.sender, "bot")
    )


def _undelivered_where(
    channels: Collection[Channel], since: dt.datetime, pending_before: dt.datetime
) -> list[ColumnElement[bool]]:
    """Outbound messages on ``channels`` since ``since`` that a channel did not take:
    ``FAILED``, or still ``PENDING`` at ``pending_before`` (recorded while no sender for
    their channel ran here, e.g. an instance without the Telegram token)."""
    return [
        Message.direction == Direction.OUTBOUND,
        Message.created_at >= since,
        or_(
            Message.delivery == Delivery.FAILED,
            and_(Message.delivery == Delivery.PENDING, Message.created_at < pending_before),
        ),
        User.channel.in_(channels),
    ]


def undelivered(
    session: Session,
    channels: Collection[Channel],
    since: dt.datetime,
    pending_before: dt.datetime,
    limit: int,
    *,
    external_id: str | None = None,
) -> list[tuple[Message, User]]:
    """What a channel did not take (see ``_undelivered_where``), for one person when
    ``external_id`` is given, oldest first, each with its person."""
    if not channels:
        return []
    query = (
        select(Message, User)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .join(User, User.id == Conversation.user_id)
        .where(
            *_undelivered_where(channels, since, pending_before),
            *([User.external_id == external_id] if external_id is not None else []),
        )
        .order_by(Message.id)
        .limit(limit)
    )
    return [(message, user) for message, user in session.execute(query).tuples()]


def expire_undelivered(
    session: Session, channels: Collection[Channel], before: dt.datetime, limit: int
) -> list[int]:
    """Mark ``EXPIRED`` what a channel did not take and is older than ``before`` (no longer
    sent again); the ids marked."""
    if not channels:
        return []
    ids = list(
        session.scalars(
            select(Message.id)
            .join(Conversation, Conversation.id == Message.conversation_id)
            .join(User, User.id == Conversation.user_id)
            .where(
                Message.direction == Direction.OUTBOUND,
                Message.created_at < before,
                Message.delivery.in_([Delivery.FAILED, Delivery.PENDING]),
                User.channel.in_(channels),
            )
            .order_by(Message.id)
            .limit(limit)
        )
    )
    if ids:
        session.execute(
            update(Message).where(Message.id.in_(ids)).values(delivery=Delivery.EXPIRED)
        )
    return ids


def mark_answers(
    session: Session,
    channel: Channel,
    external_id: str,
    client_message_id: str,
    answers: int,
    positions: slice,
    delivery: Delivery,
) -> int:
    """Mark with ``delivery`` the answers at ``positions`` among the last ``answers``
    replies to a person's message (found by its client id); how many were marked."""
    user = get_user(session, channel, external_id)
    if user is None or answers <= 0:
        return 0
    inbound = session.scalar(
        select(Message)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(Conversation.user_id == user.id, Message.client_message_id == client_message_id)
        .order_by(Message.id.desc())
        .limit(1)
    )
    if inbound is None:
        return 0
    marked = replies_to(session, inbound.id)[-answers:][positions]
    for reply in marked:
        reply.delivery = delivery
    return len(marked)


def transcript(session: Session, conversation_id: str) -> list[Message]:
    return list(
        session.scalars(
            select(Message).where(Message.conversation_id == conversation_id).order_by(Message.id)
        )
    )
