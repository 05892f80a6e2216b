"""Bounded history: finished webhook deliveries (with their attempts) and dispatched outbox
events are deleted once they are older than the retention; pending deliveries and the events
they carry are kept however old. The usage and points ledgers are records, not history, and are
never purged.

Age is the row's ``created_at`` (a delivery's retries end within two days of its creation, so a
delivery is always finished long before it ages out). Deletion goes in batches of ``BATCH`` rows,
each its own short transaction, oldest first, so no lock is held for long and the purge never
competes with requests for more than one batch at a time. Deliveries go first: an event is
deleted only once no delivery points at it.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Delete, delete, exists, select

from openbenefits.kit.db import Database
from openbenefits.kit.outbox import OutboxEvent
from openbenefits.webhooks.models import DeliveryState, WebhookDelivery

BATCH = 1000


@dataclass(frozen=True)
class Purged:
    deliveries: int
    events: int


def _batch_of(table: type[OutboxEvent | WebhookDelivery], old: ColumnElement[bool]) -> Delete:
    """Delete up to ``BATCH`` of the oldest rows meeting ``old``; the condition is repeated on
    the deleted rows, so that a row changed meanwhile (a delivery sent again) is rechecked."""
    oldest = select(table.id).where(old).order_by(table.created_at).limit(BATCH)
    return delete(table).where(table.id.in_(oldest.scalar_subquery()), old)


async def _in_batches(db: Database, statement: Delete) -> int:
    purged = 0
    while True:
        async with db.session() as session:
            result = await session.execute(statement)
            await session.commit()
        deleted = int(getattr(result, "rowcount", 0))
        purged += deleted
        if deleted < BATCH:
            return purged


async def purge_history(db: Database, now: datetime, retention: timedelta) -> Purged:
    """Delete what is older than ``retention`` at ``now``; how many rows of each went."""
    cutoff = now - retention
    finished = _batch_of(
        WebhookDelivery,
        (WebhookDelivery.created_at < cutoff) & (WebhookDelivery.state != DeliveryState.PENDING),
    )
    dispatched = _batch_of(
        OutboxEvent,
        (OutboxEvent.created_at < cutoff)
        & OutboxEvent.dispatched_at.is_not(None)
        & ~exists().where(WebhookDelivery.event_id == OutboxEvent.id),
    )
    return Purged(
        deliveries=await _in_batches(db, finished), events=await _in_batches(db, dispatched)
    )
