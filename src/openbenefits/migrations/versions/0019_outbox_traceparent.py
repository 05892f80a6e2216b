"""outbox traceparent: the W3C traceparent of the span that caused an event, continued by the
webhook delivery it leads to (kit/tracing.py)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-01 14:58:41.093563
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("outbox_events", sa.Column("traceparent", sa.String(length=55), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox_events") as batch_op:
        batch_op.drop_column("traceparent")
