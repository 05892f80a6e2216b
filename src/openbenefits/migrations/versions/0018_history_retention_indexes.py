"""history retention: the outbox's events and the webhook deliveries indexed by age, for the
purge of what is older than the retention (webhooks/retention.py)

The indexes are built inside the migrations' transaction, which holds writes to the two tables
while they build: seconds for tens of millions of events, once.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-01 14:23:26.677963
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_outbox_events_created_at", "outbox_events", ["created_at"])
    op.create_index("ix_webhook_deliveries_created_at", "webhook_deliveries", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_webhook_deliveries_created_at", "webhook_deliveries")
    op.drop_index("ix_outbox_events_created_at", "outbox_events")
