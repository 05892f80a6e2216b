"""Bounded history (webhooks/retention.py): finished deliveries and dispatched events older than
the retention go, in batches; pending deliveries, their events and undispatched events stay; no
statement of the purge touches any other table (the ledgers above all)."""

import re
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from openbenefits.kit.clock import FixedClock
from openbenefits.kit.db import Database
from openbenefits.kit.outbox import OutboxEvent
from openbenefits.webhooks import retention
from openbenefits.webhooks.models import DeliveryState, WebhookAttempt, WebhookDelivery
from tests.benefits.statements import statements
from tests.chain import Chain
from tests.webhooks.conftest import Deliver
from tests.webhooks.receiver import Receiver

RETENTION = timedelta(days=30)


async def _event_of(db: Database, customer: dict[str, Any]) -> OutboxEvent | None:
    async with db.session() as session:
        found: OutboxEvent | None = await session.scalar(
            select(OutboxEvent).where(OutboxEvent.entity_id == customer["id"])
        )
        return found


async def _event_id(db: Database, customer: dict[str, Any]) -> int:
    found = await _event_of(db, customer)
    assert found is not None
    return found.id


async def _delivery_of(db: Database, event_id: int) -> WebhookDelivery | None:
    async with db.session() as session:
        found: WebhookDelivery | None = await session.scalar(
            select(WebhookDelivery).where(WebhookDelivery.event_id == event_id)
        )
        return found


async def _count(db: Database, table: Any) -> int:
    async with db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(table)) or 0)


async def _created_times(db: Database) -> list[datetime]:
    async with db.session() as session:
        events = await session.scalars(select(OutboxEvent.created_at))
        deliveries = await session.scalars(select(WebhookDelivery.created_at))
        return [*events, *deliveries]


@pytest.fixture
def one_row_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Batches of one row, so that every purge here runs several batches."""
    monkeypatch.setattr(retention, "BATCH", 1)


@pytest.mark.usefixtures("subscription", "one_row_batches")
async def test_old_finished_history_goes_and_the_rest_stays(
    chain: Chain, deliver: Deliver, receiver: Receiver, db: Database, clock: FixedClock
) -> None:
    delivered = await chain.customer()
    assert await deliver() == 1
    pending = await chain.customer()
    receiver.fail_next(500)
    assert await deliver() == 1  # refused: waits for its retry
    given_up = await chain.customer()
    receiver.fail_next(500)
    assert await deliver() == 1
    events = {c["id"]: await _event_id(db, c) for c in (delivered, pending, given_up)}
    async with db.session() as session:
        # As if its last attempt had failed too.
        await session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.event_id == events[given_up["id"]])
            .values(state=DeliveryState.FAILED)
        )
        await session.commit()
    undispatched = await chain.customer()
    assert await _count(db, WebhookAttempt) == 3
    # Events take the database's time, deliveries the service's (the tests' clock): at the
    # retention's end from the oldest nothing is old yet; just after the newest's, all of it is.
    created = await _created_times(db)

    nothing = await retention.purge_history(db, min(created) + RETENTION, RETENTION)
    assert nothing == retention.Purged(deliveries=0, events=0)
    later = max(created) + RETENTION + timedelta(microseconds=1)
    purged = await retention.purge_history(db, later, RETENTION)

    assert purged == retention.Purged(deliveries=2, events=2)
    for gone in (delivered, given_up):
        assert await _event_of(db, gone) is None
        assert await _delivery_of(db, events[gone["id"]]) is None
    waiting = await _delivery_of(db, events[pending["id"]])
    assert waiting is not None
    assert waiting.state == DeliveryState.PENDING
    assert await _event_of(db, pending) is not None
    assert await _count(db, WebhookAttempt) == 1  # the waiting delivery's
    assert await _event_of(db, undispatched) is not None


@pytest.mark.usefixtures("subscription", "one_row_batches")
async def test_the_purge_deletes_from_the_history_tables_only(
    chain: Chain, deliver: Deliver, db: Database
) -> None:
    """Whatever else holds rows (the usage and points ledgers, the audit log), the purge's
    statements name only the outbox and the deliveries (attempts go with their delivery)."""
    await chain.customer()
    await deliver()
    created = await _created_times(db)

    async with statements(db) as ran:
        purged = await retention.purge_history(db, max(created) + RETENTION * 2, RETENTION)

    assert purged == retention.Purged(deliveries=1, events=1)
    deletes = [s for s in ran.through_sqlalchemy if s.lstrip().upper().startswith("DELETE")]
    assert deletes, ran.through_sqlalchemy
    assert {re.match(r"\s*DELETE FROM (\w+)", s, re.I)[1] for s in deletes} == {  # type: ignore[index]
        "webhook_deliveries",
        "outbox_events",
    }
    assert all(s.lstrip().upper().startswith(("SELECT", "DELETE")) for s in ran.through_sqlalchemy)
