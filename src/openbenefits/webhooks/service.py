"""Subscriptions, the fan-out of outbox events into deliveries, and the operator's view of them.

Routing rule: an event goes to every active subscription of its tenant that asks for its type
and whose partner integration is active — in the event's studio when the event names one (a
customer's events go to the integrations of the customer's studio), in any studio otherwise. A
TEST event goes only to the subscription it was sent for."""

import asyncio
import base64
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from openbenefits.kit import audit, network, outbox
from openbenefits.kit.audit import Actor
from openbenefits.kit.encryption import Keyring
from openbenefits.kit.errors import NotFound, Unprocessable
from openbenefits.kit.network import IPNetwork
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


def _context(subscription: WebhookSubscription, what: str) -> str:
    # Bound to the tenant: a sealed value copied into another tenant's row does not open.
    return f"webhook_subscriptions.{what}\n{subscription.tenant_id}"


def _seal(keyring: Keyring, subscription: WebhookSubscription, what: str, plain: str) -> bytes:
    return keyring.seal_text(plain, _context(subscription, what))


def _open(keyring: Keyring, subscription: WebhookSubscription, what: str, sealed: bytes) -> str:
    return keyring.open_text(sealed, _context(subscription, what))


def signing_secrets(
    keyring: Keyring, subscription: WebhookSubscription, now: datetime
) -> list[str]:
    """The secrets a delivery is signed with now: the current one, and the previous one during
    the overlap after a rotation."""
    sealed = [subscription.sealed_secret]
    expires = subscription.previous_secret_expires_at
    if subscription.sealed_previous_secret and expires is not None and expires > now:
        sealed.append(subscription.sealed_previous_secret)
    return [_open(keyring, subscription, "secret", value) for value in sealed]


def partner_key(keyring: Keyring, subscription: WebhookSubscription) -> str | None:
    """The key the partner wants in ``x-api-key``."""
    sealed = subscription.sealed_api_key
    return None if sealed is None else _open(keyring, subscription, "api_key", sealed)


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

# How long subscribing waits for the target's name to resolve (the request's transaction is
# open meanwhile).
TARGET_LOOKUP_SECONDS = 2.0


async def _check_target(url: str, allowed_networks: Sequence[IPNetwork]) -> None:
    """Refuse a target that is, or resolves to, an address deliveries may not reach
    (kit/network.py). This is the early, clear answer; the guard is the worker, which checks
    every connection it makes. So a name that does not resolve now, or not in time, is
    accepted: its DNS may be set up after the subscription, and it is judged at delivery."""
    host = urlsplit(url).hostname or ""
    try:
        async with asyncio.timeout(TARGET_LOOKUP_SECONDS):
            addresses = await network.resolve(host)
    except (OSError, UnicodeError):  # not resolved (TimeoutError is an OSError)
        return
    if not all(network.is_allowed(address, allowed_networks) for address in addresses):
        raise Unprocessable(
            "The webhook URL's host is not a public address, nor in a network the operator "
            "allows (loopback, private, link-local, metadata and reserved addresses are "
            "refused).",
            code="WEBHOOK_TARGET_NOT_ALLOWED",
            reference="url",
        )


async def create_subscription(
    session: AsyncSession,
    actor: Actor,
    keyring: Keyring,
    tenant_id: int,
    data: schemas.SubscriptionCreate,
    allowed_networks: Sequence[IPNetwork],
) -> tuple[WebhookSubscription, str]:
    """The new subscription and its signing secret, in clear this once."""
    await tenancy_service.get_integration(session, tenant_id, data.partner_integration_id)
    await _check_target(data.url, allowed_networks)
    subscription = WebhookSubscription(
        tenant_id=tenant_id,
        partner_integration_id=data.partner_integration_id,
        url=data.url,
        event_types=data.model_dump(mode="json")["event_types"],
        active=data.active,
    )
    secret = new_signing_secret()
    subscription.sealed_secret = _seal(keyring, subscription, "secret", secret)
    if data.api_key is not None:
        subscription.sealed_api_key = _seal(keyring, subscription, "api_key", data.api_key)
    session.add(subscription)
    await session.flush()
    _audit(session, actor, "created", subscription, {"url": data.url})
    return subscription, secret


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
    keyring: Keyring,
    subscription: WebhookSubscription,
    data: schemas.SubscriptionUpdate,
    allowed_networks: Sequence[IPNetwork],
) -> WebhookSubscription:
    if data.url is not None:
        await _check_target(data.url, allowed_networks)
    for field, value in data.model_dump(mode="json", exclude_unset=True).items():
        if field == "api_key":
            subscription.sealed_api_key = _seal(keyring, subscription, "api_key", value)
        else:
            setattr(subscription, field, value)
    if data.active:
        subscription.disabled_at = None
    # The partner's key is a credential: the audit log only says that it changed.
    changed = data.model_dump(mode="json", by_alias=True, exclude_unset=True, exclude={"api_key"})
    _audit(session, actor, "updated", subscription, changed)
    return subscription


async def rotate_secret(
    session: AsyncSession,
    actor: Actor,
    keyring: Keyring,
    subscription: WebhookSubscription,
    now: datetime,
) -> str:
    """A new signing secret (in clear this once); the current one signs on for the overlap."""
    secret = new_signing_secret()
    subscription.sealed_previous_secret = subscription.sealed_secret
    subscription.previous_secret_expires_at = now + SECRET_OVERLAP
    subscription.sealed_secret = _seal(keyring, subscription, "secret", secret)
    _audit(session, actor, "secret_rotated", subscription)
    return secret


async def reseal(session: AsyncSession, keyring: Keyring) -> int:
    """Seal every subscription's secrets under the keyring's first key (after a key
    rotation); how many subscriptions needed it."""
    resealed = 0
    for subscription in await session.scalars(select(WebhookSubscription)):
        changed = False
        for column, what in (
            ("sealed_secret", "secret"),
            ("sealed_previous_secret", "secret"),
            ("sealed_api_key", "api_key"),
        ):
            sealed = getattr(subscription, column)
            if sealed is not None and not keyring.is_current(sealed):
                plain = _open(keyring, subscription, what, sealed)
                setattr(subscription, column, _seal(keyring, subscription, what, plain))
                changed = True
        resealed += changed
    return resealed


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


async def attempts_of(
    session: AsyncSession, deliveries: Sequence[WebhookDelivery]
) -> dict[int, list[WebhookAttempt]]:
    """The attempts of several deliveries in one query."""
    found: dict[int, list[WebhookAttempt]] = {delivery.id: [] for delivery in deliveries}
    for attempt in await session.scalars(
        select(WebhookAttempt)
        .where(WebhookAttempt.delivery_id.in_(list(found)))
        .order_by(WebhookAttempt.id)
    ):
        found[attempt.delivery_id].append(attempt)
    return found


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
