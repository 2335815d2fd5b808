"""messages: index on (delivery, id) for redelivery

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 17:20:00

The redelivery job (bot/conversations/redelivery.py) looks every minute for the few
messages a channel did not take among all messages. It also brings new delivery states
(refused, unconfirmed, expired: a VARCHAR, no constraint to change).
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_messages_delivery_id", "messages", ["delivery", "id"])


def downgrade() -> None:
    # The states added with redelivery are unknown before it: "failed" is the nearest.
    op.execute(
        "UPDATE messages SET delivery = 'failed'"
        " WHERE delivery IN ('refused', 'unconfirmed', 'expired')"
    )
    op.drop_index("ix_messages_delivery_id", table_name="messages")
