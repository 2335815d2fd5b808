"""handoffs: age band and parent's agreement asked before a non-urgent request

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 17:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("handoffs") as batch:
        batch.add_column(sa.Column("age_band", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("parent_agreed", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("handoffs") as batch:
        batch.drop_column("parent_agreed")
        batch.drop_column("age_band")
