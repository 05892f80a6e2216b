"""The transactional outbox: an event is a row written in the same transaction as the change that
causes it, so a rolled-back change emits nothing and a committed one is never lost. Consumers
(the webhook worker) read it afterwards; this module knows nothing about them."""

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ColumnElement,
    Index,
    Insert,
    String,
    bindparam,
    cast,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql import FromClause

from openbenefits.kit.db import Base, BigIntId
from openbenefits.kit.tracing import current_traceparent


class OutboxEvent(Base):
    __tablename__ = "outbox_events"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(BigInteger)
    event_type: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[int] = mapped_column(BigInteger)
    # Where the event happened, when its consumers route by it (a customer's studio).
    studio_id: Mapped[int | None] = mapped_column(BigInteger)
    content: Mapped[dict[str, Any]]
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    created_at: Mapped[datetime] = mapped_column(server_default=func.current_timestamp())
    # Set once a consumer has taken the event.
    dispatched_at: Mapped[datetime | None]
    # The W3C traceparent of the span that caused the event, when it was traced: its consumers
    # continue that trace (the webhook delivery's span).
    traceparent: Mapped[str | None] = mapped_column(String(55))

    # The events still waiting, in id order: consumers take the oldest without reading the
    # dispatched ones (an index on dispatched_at left them to a scan of the whole table).
    __table_args__ = (
        Index(
            "ix_outbox_events_undispatched",
            "id",
            postgresql_where=text("dispatched_at IS NULL"),
            sqlite_where=text("dispatched_at IS NULL"),
        ),
        # The retention purge finds old events by age (webhooks/retention.py).
        Index("ix_outbox_events_created_at", "created_at"),
    )


# Built once: events are written on hot paths (every benefit use), where the ORM's unit of work
# would cost more than the insert.
_INSERT_EVENT = (
    insert(OutboxEvent)
    .values(
        tenant_id=bindparam("tenant_id"),
        event_type=bindparam("event_type"),
        entity_id=bindparam("entity_id"),
        studio_id=bindparam("studio_id"),
        content=bindparam("content", type_=OutboxEvent.content.type),
        uuid=bindparam("uuid"),
        traceparent=bindparam("traceparent", type_=String),
        created_at=func.coalesce(
            bindparam("at", type_=OutboxEvent.created_at.type), func.current_timestamp()
        ),
    )
    .returning(OutboxEvent.id)
)


def insert_event_from(
    source: FromClause,
    entity_id: ColumnElement[int],
    content: ColumnElement[Any] | None = None,
    *,
    where: ColumnElement[bool] | None = None,
    name: str = "event",
) -> Insert:
    """An event for each row of ``source`` (data-modifying CTEs on PostgreSQL) that meets
    ``where``, so that a change and its event are written by one statement. Parameters:
    ``event_params`` with the same ``name`` (one statement may write several kinds of event);
    the content is theirs unless ``content`` builds it from the row."""
    rows = select(
        bindparam(f"{name}_tenant_id", type_=BigInteger),
        bindparam(f"{name}_type", type_=String),
        entity_id,
        bindparam(f"{name}_studio_id", type_=BigInteger),
        # JSON text, cast by the database: the statement may run on the bare driver, which
        # binds no Python structures.
        cast(bindparam(f"{name}_content", type_=String), JSON) if content is None else content,
        bindparam(f"{name}_uuid", type_=String),
        bindparam(f"{name}_traceparent", type_=String),
        bindparam(f"{name}_at", type_=OutboxEvent.created_at.type),
    ).select_from(source)
    columns = ["tenant_id", "event_type", "entity_id", "studio_id", "content", "uuid"]
    return insert(OutboxEvent).from_select(
        [*columns, "traceparent", "created_at"],
        rows if where is None else rows.where(where),
    )


def event_params(
    *,
    tenant_id: int,
    event_type: str,
    content: dict[str, Any],
    at: datetime,
    studio_id: int | None = None,
    name: str = "event",
) -> dict[str, Any]:
    """The parameters of ``insert_event_from``."""
    return {
        f"{name}_tenant_id": tenant_id,
        f"{name}_type": str(event_type),
        f"{name}_studio_id": studio_id,
        f"{name}_content": json.dumps(content),
        f"{name}_uuid": str(uuid.uuid4()),
        f"{name}_traceparent": current_traceparent(),
        f"{name}_at": at,
    }


async def emit(
    session: AsyncSession,
    *,
    tenant_id: int,
    event_type: str,
    entity_id: int,
    content: dict[str, Any],
    at: datetime | None = None,
    studio_id: int | None = None,
) -> int:
    """Write an event in the caller's transaction; its id. Without ``at`` the database's time is
    used, as for the audit log, so services without a clock at hand need not grow one."""
    connection = await session.connection()
    inserted = await connection.execute(
        _INSERT_EVENT,
        {
            "tenant_id": tenant_id,
            "event_type": str(event_type),
            "entity_id": entity_id,
            "studio_id": studio_id,
            "content": content,
            "uuid": str(uuid.uuid4()),
            "traceparent": current_traceparent(),
            "at": at,
        },
    )
    event_id: int = inserted.scalar_one()
    return event_id


@dataclass(frozen=True)
class TakenEvent:
    """What a consumer needs of an event it took (not its content)."""

    id: int
    tenant_id: int
    studio_id: int | None
    event_type: str
    entity_id: int


async def take_undispatched(session: AsyncSession, limit: int, now: datetime) -> list[TakenEvent]:
    """The oldest events no consumer has taken, marked dispatched at ``now`` in the caller's
    transaction, oldest first. One statement: the rows are locked and written once.

    The lock waits rather than skips: concurrent consumers then take events strictly in id order,
    which is what keeps events of one entity in order downstream."""
    oldest = (
        select(OutboxEvent.id)
        .where(OutboxEvent.dispatched_at.is_(None))
        .order_by(OutboxEvent.id)
        .limit(limit)
        .with_for_update()
    )
    rows = await session.execute(
        update(OutboxEvent)
        .where(OutboxEvent.id.in_(oldest.scalar_subquery()))
        .values(dispatched_at=now)
        .returning(
            OutboxEvent.id,
            OutboxEvent.tenant_id,
            OutboxEvent.studio_id,
            OutboxEvent.event_type,
            OutboxEvent.entity_id,
        )
        .execution_options(synchronize_session=False)
    )
    return sorted((TakenEvent(*row) for row in rows), key=lambda event: event.id)
