"""The delivery worker: fans outbox events out into deliveries, claims the due ones, POSTs them
and records every attempt.

A claim is a lease (``locked_until``) committed before the HTTP call, so no database lock is held
while a receiver is slow; a worker killed mid-delivery loses its claim when the lease runs out
and the next pass takes the delivery over. On PostgreSQL the claim is ``FOR UPDATE SKIP LOCKED``,
so concurrent workers never take the same delivery; on SQLite writers are serialised anyway.
Delivery is at least once: a worker that outlives its lease may send what its successor sends
again, under the same ``webhook-id``, which receivers use to drop duplicates.

Every connection goes through ``kit.network.GuardedTransport``: a target that is, or resolves
to, a loopback, private, link-local, metadata or other non-public address outside the
operator's ``allowed_networks`` is refused before anything is sent (the attempt logs why), and
redirects are never followed, so a public target cannot point the worker elsewhere."""

import asyncio
import json
import random
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache

import httpx
import structlog
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.trace import Span, TracerProvider
from sqlalchemy import Select, bindparam, exists, or_, select, update
from sqlalchemy.orm import aliased
from standardwebhooks import Webhook

from openbenefits.kit.clock import Clock
from openbenefits.kit.db import Database
from openbenefits.kit.encryption import Keyring
from openbenefits.kit.housekeeping import wait_or_stop
from openbenefits.kit.network import GuardedTransport, IPNetwork, TargetNotAllowed
from openbenefits.kit.outbox import OutboxEvent
from openbenefits.kit.tracing import continued, without_query
from openbenefits.webhooks import service
from openbenefits.webhooks.models import (
    DeliveryState,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)

log = structlog.get_logger()

TIMEOUT_SECONDS = 5.0
LEASE = timedelta(seconds=60)
BATCH = 50
MAX_LOGGED_BODY = 2048
# Backoff: 30 s doubling up to 6 h, each delay shortened by up to a quarter at random so that
# receivers coming back are not hit by every sender at once. 15 attempts span at least 24 h.
BASE_DELAY = timedelta(seconds=30)
MAX_DELAY = timedelta(hours=6)
MIN_JITTER = 0.75
MAX_ATTEMPTS = 15


def _client(
    allowed_networks: Sequence[IPNetwork], tracer_provider: TracerProvider | None
) -> httpx.AsyncClient:
    client = httpx.AsyncClient(
        transport=GuardedTransport(allowed_networks),
        timeout=TIMEOUT_SECONDS,
        follow_redirects=False,
    )
    if tracer_provider is not None:
        # Imported here: it costs every process 8 MB, and an untraced one needs none of it.
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

        # A client span per request, whose traceparent header the receiver may continue.
        HTTPXClientInstrumentor.instrument_client(
            client, tracer_provider=tracer_provider, request_hook=_request_without_query
        )
    return client


async def _request_without_query(span: Span, _request: object) -> None:
    without_query(span)


def retry_delay(failures: int, draw: float) -> timedelta:
    """The wait after the ``failures``-th failed attempt; ``draw`` is uniform in [0, 1)."""
    delay: timedelta = min(BASE_DELAY * 2 ** (failures - 1), MAX_DELAY)
    return delay * (MIN_JITTER + (1 - MIN_JITTER) * draw)


@dataclass(frozen=True)
class Job:
    delivery_id: int
    tenant_id: int
    subscription_id: int
    lease_token: str
    url: str
    api_key: str | None
    secrets: list[str]
    webhook_id: str
    body: str
    # The trace of the change that caused the event (kit/tracing.py).
    traceparent: str | None


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    duration_ms: int
    response_body: str | None
    error: str | None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def payload(event: OutboxEvent) -> str:
    """The reference's ``WebhookEventRequest`` (one event per request)."""
    return json.dumps(
        {
            "entityId": event.entity_id,
            "uuid": event.uuid,
            "payload": [
                {
                    "timestamp": int(event.created_at.timestamp() * 1000),
                    "type": event.event_type,
                    "content": event.content,
                }
            ],
        },
        separators=(",", ":"),
    )


async def deliver_due(
    db: Database, clock: Clock, keyring: Keyring, allowed_networks: Sequence[IPNetwork] = ()
) -> int:
    """One pass: fan out new events, deliver what is due; how many deliveries were attempted.
    ``keyring`` opens the subscriptions' secrets, ``allowed_networks`` are reached although
    not public (kit/network.py)."""
    await fan_out(db, clock)
    return await _deliver_claimed(db, clock, keyring, allowed_networks)


async def fan_out(db: Database, clock: Clock) -> int:
    """One batch of new events turned into deliveries; how many events it took."""
    # Polled every second: its statements are no spans (a delivery's own are, in its trace).
    with suppress_instrumentation():
        async with db.session() as session:
            taken = await service.fan_out(session, clock.now())
            await session.commit()
    return taken


async def _deliver_claimed(
    db: Database, clock: Clock, keyring: Keyring, allowed_networks: Sequence[IPNetwork]
) -> int:
    jobs = await claim(db, keyring, clock.now())
    if jobs:
        async with _client(allowed_networks, db.tracer_provider) as client:
            await asyncio.gather(*(_deliver(db, clock, client, job) for job in jobs))
    return len(jobs)


async def run(
    db: Database,
    clock: Clock,
    keyring: Keyring,
    stop: asyncio.Event,
    allowed_networks: Sequence[IPNetwork] = (),
    idle: timedelta = timedelta(seconds=1),
) -> None:
    """Deliver until ``stop`` is set, resting ``idle`` when nothing was due and no backlog of
    events waits for fan-out. A stop never interrupts a pass: the deliveries in hand are sent
    and recorded first, so none waits out its lease after a clean shutdown."""
    while not stop.is_set():
        try:
            taken = await fan_out(db, clock)
            attempted = await _deliver_claimed(db, clock, keyring, allowed_networks)
            busy = attempted > 0 or taken == service.FAN_OUT_BATCH
        except Exception:  # a failed pass must not end the loop; the next one catches up
            log.exception("webhook delivery pass failed")
            busy = False
        if not busy:
            await wait_or_stop(stop, idle)


@cache
def _claim_statement() -> Select[WebhookDelivery, WebhookSubscription, OutboxEvent]:
    """Built once: the worker claims on every pass, and building the statement cost more than
    running it when nothing is due."""
    now = bindparam("now", type_=WebhookDelivery.next_attempt_at.type)
    earlier = aliased(WebhookDelivery)
    waits = exists().where(
        earlier.subscription_id == WebhookDelivery.subscription_id,
        earlier.entity_key == WebhookDelivery.entity_key,
        earlier.id < WebhookDelivery.id,
        earlier.state == DeliveryState.PENDING,
    )
    return (
        select(WebhookDelivery, WebhookSubscription, OutboxEvent)
        .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
        .join(OutboxEvent, OutboxEvent.id == WebhookDelivery.event_id)
        .where(
            WebhookDelivery.state == DeliveryState.PENDING,
            WebhookDelivery.next_attempt_at <= now,
            or_(WebhookDelivery.locked_until.is_(None), WebhookDelivery.locked_until <= now),
            WebhookSubscription.active.is_(True),
            ~waits,
        )
        .order_by(WebhookDelivery.id)
        .limit(BATCH)
        .with_for_update(of=WebhookDelivery, skip_locked=True)
    )


async def claim(db: Database, keyring: Keyring, now: datetime) -> list[Job]:
    """Lease the due deliveries whose entity waits for no earlier delivery, oldest first."""
    token = secrets.token_hex(16)
    with suppress_instrumentation():  # polled every second, as fan_out is
        async with db.session() as session:
            rows = (await session.execute(_claim_statement(), {"now": now})).all()
            jobs = []
            for delivery, subscription, event in rows:
                delivery.locked_until = now + LEASE
                delivery.lease_token = token
                jobs.append(
                    Job(
                        delivery_id=delivery.id,
                        tenant_id=delivery.tenant_id,
                        subscription_id=subscription.id,
                        lease_token=token,
                        url=subscription.url,
                        api_key=service.partner_key(keyring, subscription),
                        secrets=service.signing_secrets(keyring, subscription, now),
                        webhook_id=event.uuid,
                        body=payload(event),
                        traceparent=event.traceparent,
                    )
                )
            await session.commit()
    return jobs


async def _deliver(db: Database, clock: Clock, client: httpx.AsyncClient, job: Job) -> None:
    with continued(db.tracer, "webhook delivery", job.traceparent) as span:
        if span is not None:
            span.set_attributes({"webhook.delivery_id": job.delivery_id})
        attempted_at = clock.now()
        outcome = await send(client, job)
        await _record(db, clock.now(), job, attempted_at, outcome)


def headers(job: Job, sent_at: datetime) -> dict[str, str]:
    signatures = " ".join(Webhook(s).sign(job.webhook_id, sent_at, job.body) for s in job.secrets)
    result = {
        "content-type": "application/json",
        "webhook-id": job.webhook_id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": signatures,
    }
    if job.api_key:
        result["x-api-key"] = job.api_key
    return result


async def send(client: httpx.AsyncClient, job: Job) -> Outcome:
    """POST the delivery; never raises for what the receiver, the network or the target rule
    does."""
    # The wall clock, not the injected one: receivers check the timestamp against theirs.
    sent_at = datetime.now(UTC)
    started = time.monotonic()
    try:
        async with client.stream(
            "POST",
            job.url,
            content=job.body.encode(),
            headers=headers(job, sent_at),
            timeout=TIMEOUT_SECONDS,
            follow_redirects=False,
        ) as response:
            body = await _head(response)
    except (httpx.HTTPError, TargetNotAllowed) as error:
        return Outcome(None, _elapsed_ms(started), None, f"{type(error).__name__}: {error}"[:500])
    return Outcome(response.status_code, _elapsed_ms(started), body, None)


async def _head(response: httpx.Response) -> str:
    """The start of the response body, for the attempt log; the rest is never read."""
    read = b""
    async for chunk in response.aiter_bytes():
        read += chunk
        if len(read) >= MAX_LOGGED_BODY:
            break
    return read[:MAX_LOGGED_BODY].decode(errors="replace")


def _elapsed_ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)


async def _record(
    db: Database, now: datetime, job: Job, attempted_at: datetime, outcome: Outcome
) -> None:
    """Log the attempt and move the delivery on — unless its lease was lost meanwhile, in which
    case the delivery's state belongs to the worker that took it over."""
    async with db.session() as session:
        delivery = await session.get(WebhookDelivery, job.delivery_id, with_for_update=True)
        if delivery is None:
            return
        session.add(
            WebhookAttempt(
                tenant_id=job.tenant_id,
                delivery_id=job.delivery_id,
                attempted_at=attempted_at,
                status_code=outcome.status_code,
                duration_ms=outcome.duration_ms,
                response_body=outcome.response_body,
                error=outcome.error,
            )
        )
        if delivery.lease_token == job.lease_token:
            _advance(delivery, outcome, now)
            if outcome.status_code == 410:
                await session.execute(
                    update(WebhookSubscription)
                    .where(WebhookSubscription.id == job.subscription_id)
                    .values(active=False, disabled_at=now)
                )
        await session.commit()


def _advance(delivery: WebhookDelivery, outcome: Outcome, now: datetime) -> None:
    delivery.attempts += 1
    delivery.last_status_code = outcome.status_code
    delivery.locked_until = None
    delivery.lease_token = None
    if outcome.ok:
        delivery.state = DeliveryState.DELIVERED
        delivery.delivered_at = now
    elif outcome.status_code == 410 or delivery.attempts >= MAX_ATTEMPTS:
        delivery.state = DeliveryState.FAILED
    else:
        delivery.next_attempt_at = now + retry_delay(delivery.attempts, random.random())  # noqa: S311
