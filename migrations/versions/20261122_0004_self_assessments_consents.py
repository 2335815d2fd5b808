"""self-assessments, consents and one-time export links

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 13:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.db

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "consents",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column(
            "purpose",
            sa.Enum(
                "keep_self_assessment",
                "share_self_assessment",
                "reminders",
                name="purpose",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.Column("wording_version", sa.String(length=32), nullable=False),
        sa.Column("at", bot.db.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_consents_user_purpose", "consents", ["user_id", "purpose", "id"])
    op.create_table(
        "self_assessments",
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("role", sa.String(length=8), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.Column("shared", sa.Boolean(), nullable=False),
        sa.Column("completed_at", bot.db.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id"),
    )

    op.create_table(
        "export_links",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", bot.db.UtcDateTime(), nullable=False),
        sa.Column("expires_at", bot.db.UtcDateTime(), nullable=False),
        sa.Column("used_at", bot.db.UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    op.create_index("ix_export_links_user_id", "export_links", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_export_links_user_id", table_name="export_links")
    op.drop_table("export_links")
    op.drop_table("self_assessments")
    op.drop_index("ix_consents_user_purpose", table_name="consents")
    op.drop_table("consents")
