from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, LargeBinary, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from openbenefits.kit.db import Base, BigIntId, string_enum


class DeliveryState(StrEnum):
    PENDING = "PENDING"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"


class WebhookSubscription(Base):
    """Where a partner integration wants events, which ones, and how they are signed.

    The signing secret and the partner's key must be sent, so they are kept sealed with the
    instance's keyring (``service.seal``), never in clear; the previous secret stays valid
    (deliveries carry both signatures) until its overlap ends."""

    __tablename__ = "webhook_subscriptions"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    partner_integration_id: Mapped[int] = mapped_column(
        ForeignKey("partner_integrations.id"), index=True
    )
    url: Mapped[str] = mapped_column(String(2000))
    event_types: Mapped[list[str]]
    sealed_api_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    sealed_secret: Mapped[bytes] = mapped_column(LargeBinary)
    sealed_previous_secret: Mapped[bytes | None] = mapped_column(LargeBinary)
    previous_secret_expires_at: Mapped[datetime | None]
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Set when the receiver answered 410 Gone; cleared when an operator activates it again.
    disabled_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(server_default=func.current_timestamp())


class WebhookDelivery(Base):
    """One event on its way to one subscription. Deliveries of one entity to one subscription
    go out in id order: a later one waits while an earlier one is pending."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_due", "state", "next_attempt_at"),
        Index("ix_webhook_deliveries_entity", "subscription_id", "entity_key", "id"),
        # The retention purge finds old deliveries by age (webhooks/retention.py).
        Index("ix_webhook_deliveries_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_subscriptions.id", ondelete="CASCADE")
    )
    event_id: Mapped[int] = mapped_column(ForeignKey("outbox_events.id"), index=True)
    event_type: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[int] = mapped_column(BigInteger)
    # The entity's kind and id ("CUSTOMER:42"): the unit of ordering.
    entity_key: Mapped[str] = mapped_column(String(100))
    state: Mapped[DeliveryState] = mapped_column(string_enum(DeliveryState))
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    # A worker's claim: until then no other worker takes the delivery; a worker killed
    # mid-delivery loses it when the lease runs out.
    locked_until: Mapped[datetime | None]
    lease_token: Mapped[str | None] = mapped_column(String(32))
    last_status_code: Mapped[int | None]
    delivered_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class WebhookAttempt(Base):
    """One HTTP request of a delivery and what came of it."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True
    )
    attempted_at: Mapped[datetime]
    status_code: Mapped[int | None]
    duration_ms: Mapped[int]
    response_body: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(String(500))
