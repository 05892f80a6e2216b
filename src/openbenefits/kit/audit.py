"""The audit log: who changed what, when, under which request id (PRODUCT.md §1)."""

from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import JSON, BigInteger, String, func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from openbenefits.kit.context import request_id_var
from openbenefits.kit.db import Base, BigIntId


class Actor(Protocol):
    """Anything that can act: an API key, an OAuth client, an operator with an admin token."""

    @property
    def audit_ref(self) -> str: ...


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    tenant_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(100))
    entity_type: Mapped[str] = mapped_column(String(100))
    entity_id: Mapped[str] = mapped_column(String(100))
    request_id: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    at: Mapped[datetime] = mapped_column(server_default=func.current_timestamp())


def record(
    session: AsyncSession,
    *,
    actor: Actor,
    action: str,
    entity_type: str,
    entity_id: object,
    tenant_id: int | None,
    details: dict[str, Any] | None = None,
) -> None:
    session.add(
        AuditEntry(
            tenant_id=tenant_id,
            actor=actor.audit_ref,
            action=action,
            entity_type=entity_type,
            entity_id=str(entity_id),
            request_id=request_id_var.get(),
            details=details,
        )
    )


class TenantRow(Protocol):
    @property
    def id(self) -> int: ...

    @property
    def tenant_id(self) -> int: ...


def record_change(
    session: AsyncSession, actor: Actor, action: str, row: TenantRow, **details: object
) -> None:
    """Record ``action`` (``<entity_type>.<verb>``) on a tenant's row."""
    record(
        session,
        actor=actor,
        action=action,
        entity_type=action.rsplit(".", 1)[0],
        entity_id=row.id,
        tenant_id=row.tenant_id,
        details=details or None,
    )


class SystemActor:
    """The service itself acting (the demo loader, the command line)."""

    def __init__(self, name: str) -> None:
        self.name = name

    @property
    def audit_ref(self) -> str:
        return f"system:{self.name}"
