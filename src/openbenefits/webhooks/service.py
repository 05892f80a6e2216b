"""Subscriptions, the fan-out of outbox events into deliveries, and the operator's view of them.

Routing rule: an event goes to every active subscription of its tenant that asks for its type
and whose partner integration is active — in the event's studio when the event names one (a
customer's events go to the integrations of the customer's studio), in any studio otherwise. A
TEST event goes only to the subscription it was sent for."""

import base64
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from openbenefits.kit import audit, outbox
from openbenefits.kit.audit import Actor
from openbenefits.kit.errors import NotFound
from openbenefits.kit.outbox import OutboxEvent, TakenEvent
from openbenefits.kit.pagination import PageParams, fetch_page
from openbenefits.tenancy import service as tenancy_service
from openbenefits.tenancy.models import PartnerIntegration
from openbenefits.webhooks import schemas
from openbenefits.webhooks.models import (
    DeliveryState,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)
from openbenefits.webhooks.schemas import EventType

# How long a rotated-out secret still signs deliveries, so receivers can switch without a gap.
SECRET_OVERLAP = timedelta(hours=24)
FAN_OUT_BATCH = 100


def new_signing_secret() -> str:
    """``whsec_`` and base64 of random bytes: the form the Standard Webhooks libraries read."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def signing_secrets(subscription: WebhookSubscription, now: datetime) -> list[str]:
    """The secrets a delivery is signed with now: the current one, and the previous one during
    the overlap after a rotation."""
    expires = subscription.previous_secret_expires_at
    if subscription.previous_secret and expires is not None and expires > now:
        return [subscription.secret, subscription.previous_secret]
    return [subscription.secret]


def entity_key(event_type: str, entity_id: int) -> str:
    return f"{event_type.split('_', 1)[0]}:{entity_id}"


def _audit(
    session: AsyncSession,
    actor: Actor,
    verb: str,
    subscription: WebhookSubscription,
    details: dict[str, object] | None = None,
) -> None:
    audit.record(
        session,
        actor=actor,
        action=f"webhook_subscription.{verb}",
        entity_type="webhook_subscription",
        entity_id=subscription.id,
        tenant_id=subscription.tenant_id,
        details=details,
    )


# Subscriptions


async def create_subscription(
    session: AsyncSession, actor: Actor, tenant_id: int, data: schemas.SubscriptionCreate
) -> WebhookSubscription:
    await tenancy_service.get_integration(session, tenant_id, data.partner_integration_id)
    subscription = WebhookSubscription(
        tenant_id=tenant_id,
        partner_integration_id=data.partner_integration_id,
        url=data.url,
        event_types=data.model_dump(mode="json")["event_types"],
        api_key=data.api_key,
        secret=new_signing_secret(),
        active=data.active,
    )
    session.add(subscription)
    await session.flush()
    _audit(session, actor, "created", subscription, {"url": data.url})
    return subscription


async def get_subscription(
    session: AsyncSession, tenant_id: int, subscription_id: int
) -> WebhookSubscription:
    subscription = await session.scalar(
        select(WebhookSubscription).where(
            WebhookSubscription.id == subscription_id,
            WebhookSubscription.tenant_id == tenant_id,
        )
    )
    if subscription is None:
        raise NotFound(
            f"Webhook subscription {subscription_id} not found.",
            code="WEBHOOK_SUBSCRIPTION_NOT_FOUND",
        )
    return subscription


async def list_subscriptions(
    session: AsyncSession, tenant_id: int, params: PageParams, integration_id: int | None
) -> tuple[list[WebhookSubscription], int]:
    statement = (
        select(WebhookSubscription)
        .where(WebhookSubscription.tenant_id == tenant_id)
        .order_by(WebhookSubscription.id)
    )
    if integration_id is not None:
        statement = statement.where(WebhookSubscription.partner_integration_id == integration_id)
    return await fetch_page(session, statement, params)


async def update_subscription(
    session: AsyncSession,
    actor: Actor,
    subscription: WebhookSubscription,
    data: schemas.SubscriptionUpdate,
) -> WebhookSubscription:
    for field, value in data.model_dump(mode="json", exclude_unset=True).items():
        setattr(subscription, field, value)
    if data.active:
        subscription.disabled_at = None
    # The partner's key is a credential: the audit log only says that it changed.
    changed = data.model_dump(mode="json", by_alias=True, exclude_unset=True, exclude={"api_key"})
    _audit(session, actor, "updated", subscription, changed)
    return subscription


async def rotate_secret(
    session: AsyncSession, actor: Actor, subscription: WebhookSubscription, now: datetime
) -> WebhookSubscription:
    subscription.previous_secret = subscription.secret
    subscription.previous_secret_expires_at = now + SECRET_OVERLAP
    subscription.secret = new_signing_secret()
    _audit(session, actor, "secret_rotated", subscription)
    return subscription


async def delete_subscription(
    session: AsyncSession, actor: Actor, subscription: WebhookSubscription
) -> None:
    """Deleting a subscription deletes its deliveries and their attempts with it."""
    _audit(session, actor, "deleted", subscription)
    await session.delete(subscription)


# Fan-out


async def fan_out(session: AsyncSession, now: datetime) -> int:
    """Turn waiting outbox events into deliveries, oldest first; how many events were taken.
    A fixed number of statements per batch, whatever its size."""
    events = await outbox.take_undispatched(session, FAN_OUT_BATCH, now)
    if not events:
        return 0
    receivers = await _receivers(session, {event.tenant_id for event in events})
    for event in events:
        for subscription, studio_id in receivers.get(event.tenant_id, []):
            at_studio = event.studio_id is None or event.studio_id == studio_id
            if at_studio and event.event_type in subscription.event_types:
                _add_delivery(session, event, subscription.id, now)
    await session.flush()
    return len(events)


async def _receivers(
    session: AsyncSession, tenant_ids: set[int]
) -> dict[int, list[tuple[WebhookSubscription, int]]]:
    """The active subscriptions of active integrations of these tenants, by tenant, each with
    its integration's studio, in subscription order."""
    rows = await session.execute(
        select(WebhookSubscription, PartnerIntegration.studio_id)
        .join(
            PartnerIntegration,
            PartnerIntegration.id == WebhookSubscription.partner_integration_id,
        )
        .where(
            WebhookSubscription.tenant_id.in_(tenant_ids),
            WebhookSubscription.active.is_(True),
            PartnerIntegration.active.is_(True),
        )
        .order_by(WebhookSubscription.id)
    )
    by_tenant: dict[int, list[tuple[WebhookSubscription, int]]] = {}
    for subscription, studio_id in rows:
        by_tenant.setdefault(subscription.tenant_id, []).append((subscription, studio_id))
    return by_tenant


def _add_delivery(
    session: AsyncSession, event: OutboxEvent | TakenEvent, subscription_id: int, now: datetime
) -> WebhookDelivery:
    delivery = WebhookDelivery(
        tenant_id=event.tenant_id,
        subscription_id=subscription_id,
        event_id=event.id,
        event_type=event.event_type,
        entity_id=event.entity_id,
        entity_key=entity_key(event.event_type, event.entity_id),
        state=DeliveryState.PENDING,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(delivery)
    return delivery


async def send_test_event(
    session: AsyncSession, subscription: WebhookSubscription, now: datetime
) -> WebhookDelivery:
    """A TEST event for this subscription alone (the subscription's id is its entity id)."""
    event_id = await outbox.emit(
        session,
        tenant_id=subscription.tenant_id,
        event_type=EventType.TEST,
        entity_id=subscription.id,
        content={"subscriptionId": subscription.id},
        at=now,
    )
    event = await session.get_one(OutboxEvent, event_id)
    event.dispatched_at = now
    await session.flush()
    delivery = _add_delivery(session, event, subscription.id, now)
    await session.flush()
    return delivery


# Deliveries


async def list_deliveries(
    session: AsyncSession,
    tenant_id: int,
    params: PageParams,
    *,
    subscription_id: int | None = None,
    state: DeliveryState | None = None,
    event_type: EventType | None = None,
    entity_id: int | None = None,
) -> tuple[list[WebhookDelivery], int]:
    statement = (
        select(WebhookDelivery)
        .where(WebhookDelivery.tenant_id == tenant_id)
        .order_by(WebhookDelivery.id.desc())
    )
    filters = {
        WebhookDelivery.subscription_id: subscription_id,
        WebhookDelivery.state: state,
        WebhookDelivery.event_type: event_type,
        WebhookDelivery.entity_id: entity_id,
    }
    for column, value in filters.items():
        if value is not None:
            statement = statement.where(column == value)
    return await fetch_page(session, statement, params)


async def get_delivery(session: AsyncSession, tenant_id: int, delivery_id: int) -> WebhookDelivery:
    delivery = await session.scalar(
        select(WebhookDelivery).where(
            WebhookDelivery.id == delivery_id, WebhookDelivery.tenant_id == tenant_id
        )
    )
    if delivery is None:
        raise NotFound(
            f"Webhook delivery {delivery_id} not found.", code="WEBHOOK_DELIVERY_NOT_FOUND"
        )
    return delivery


async def delivery_attempts(
    session: AsyncSession, delivery: WebhookDelivery
) -> list[WebhookAttempt]:
    rows = await session.scalars(
        select(WebhookAttempt)
        .where(WebhookAttempt.delivery_id == delivery.id)
        .order_by(WebhookAttempt.id)
    )
    return list(rows)


async def redeliver(
    session: AsyncSession, actor: Actor, delivery: WebhookDelivery, now: datetime
) -> WebhookDelivery:
    """Send the delivery again from the start of its retry schedule (same event, same
    ``webhook-id``); it keeps its place in its entity's order."""
    delivery.state = DeliveryState.PENDING
    delivery.attempts = 0
    delivery.next_attempt_at = now
    delivery.locked_until = None
    delivery.lease_token = None
    audit.record(
        session,
        actor=actor,
        action="webhook_delivery.redelivered",
        entity_type="webhook_delivery",
        entity_id=delivery.id,
        tenant_id=delivery.tenant_id,
    )
    await session.flush()
    return delivery
