"""outbox: a partial index of the events still waiting, in id order

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-22 18:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WAITING = sa.text("dispatched_at IS NULL")


def upgrade() -> None:
    with op.batch_alter_table("outbox_events", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_events_dispatched_at")
        batch_op.create_index(
            "ix_outbox_events_undispatched",
            ["id"],
            unique=False,
            postgresql_where=WAITING,
            sqlite_where=WAITING,
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox_events", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_events_undispatched")
        batch_op.create_index("ix_outbox_events_dispatched_at", ["dispatched_at"], unique=False)
