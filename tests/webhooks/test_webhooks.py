"""Webhook delivery end to end: changes through the API, the worker driven one pass at a time,
a real HTTP receiver on loopback."""

import asyncio
import os
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from standardwebhooks import Webhook
from standardwebhooks.exceptions import WebhookVerificationError

from openbenefits.config import Settings
from openbenefits.kit import outbox
from openbenefits.kit.clock import FixedClock
from openbenefits.kit.db import Database
from openbenefits.kit.outbox import OutboxEvent
from openbenefits.webhooks import service, worker
from tests.chain import Chain, create_contract, create_rate
from tests.helpers import admin_headers, create_tenant, expect
from tests.webhooks.conftest import Deliver
from tests.webhooks.receiver import Receiver
from tests.webhooks.subscriptions import subscribe


def types(receiver: Receiver) -> list[str]:
    return [request.json()["payload"][0]["type"] for request in receiver.requests]


async def deliveries(chain: Chain, **filters: Any) -> list[dict[str, Any]]:
    response = await chain.client.get(
        f"/admin/v1/tenants/{chain.tenant_id}/webhook-deliveries",
        params=filters,
        headers=chain.admin,
    )
    return list(expect(response, 200)["items"])


async def test_a_change_is_delivered_signed_in_the_reference_shape(
    chain: Chain, deliver: Deliver, receiver: Receiver, subscription: dict[str, Any]
) -> None:
    customer = await chain.customer()

    assert await deliver() == 1

    [request] = receiver.requests
    body = Webhook(subscription["secret"]).verify(request.body, request.headers)
    assert body == {
        "entityId": customer["id"],
        "uuid": request.headers["webhook-id"],
        "payload": [
            {
                "timestamp": body["payload"][0]["timestamp"],
                "type": "CUSTOMER_CREATED",
                "content": {"customerId": customer["id"]},
            }
        ],
    }
    assert request.headers["x-api-key"] == "partner-key"
    assert request.headers["content-type"] == "application/json"
    [delivery] = await deliveries(chain)
    assert delivery["state"] == "DELIVERED"
    detail = expect(
        await chain.client.get(
            f"/admin/v1/tenants/{chain.tenant_id}/webhook-deliveries/{delivery['id']}",
            headers=chain.admin,
        ),
        200,
    )
    [attempt] = detail["attemptLog"]
    assert (attempt["statusCode"], attempt["responseBody"]) == (200, "ok")
    assert await deliver() == 0


async def test_events_go_to_the_integrations_of_the_customers_studio(
    chain: Chain, deliver: Deliver, receiver: Receiver, subscription: dict[str, Any]
) -> None:
    await chain.customer(studio=chain.studio_b)

    assert await deliver() == 0
    assert receiver.requests == []


async def test_only_subscribed_event_types_are_delivered(
    chain: Chain, deliver: Deliver, receiver: Receiver
) -> None:
    await subscribe(chain, receiver.url, chain.studio_a, eventTypes=["CONTRACT_CREATED"])
    customer = await chain.customer()
    contract = await create_contract(chain, customer, await create_rate(chain), "2026-11-01")

    await deliver()

    assert types(receiver) == ["CONTRACT_CREATED"]
    assert receiver.requests[0].json()["payload"][0]["content"] == {
        "contractId": contract["id"],
        "customerId": customer["id"],
    }


async def test_services_emit_their_events(
    chain: Chain, deliver: Deliver, receiver: Receiver, subscription: dict[str, Any]
) -> None:
    customer = await chain.customer()
    base = f"/v1/customers/{customer['id']}"
    medium = expect(
        await chain.client.post(
            f"{base}/access-mediums", json={"type": "PIN", "value": "1234"}, headers=chain.key_a
        ),
        200,
    )
    await chain.client.delete(f"{base}/access-mediums/{medium['id']}", headers=chain.key_a)
    contract = await create_contract(chain, customer, await create_rate(chain), "2026-11-01")
    tenant = f"/admin/v1/tenants/{chain.tenant_id}"
    expect(
        await chain.client.post(
            f"{tenant}/check-ins",
            json={"customerId": customer["id"], "studioId": chain.studio_a},
            headers=chain.admin,
        ),
        201,
    )
    expect(
        await chain.client.post(
            f"{tenant}/contracts/{contract['id']}/cancel",
            json={"reason": "moving"},
            headers=chain.admin,
        ),
        200,
    )

    # One pass per event of an entity: each waits for the one before it.
    while await deliver():
        pass

    received = types(receiver)
    assert [kind for kind in received if kind.startswith("CUSTOMER")] == [
        "CUSTOMER_CREATED",
        "CUSTOMER_ACCESS_MEDIUM_CREATED",
        "CUSTOMER_ACCESS_MEDIUM_DELETED",
        "CUSTOMER_CHECKIN",
    ]
    assert [kind for kind in received if kind.startswith("CONTRACT")] == [
        "CONTRACT_CREATED",
        "CONTRACT_CANCELLED",
    ]


async def test_a_rolled_back_change_emits_nothing(db: Database, clock: FixedClock) -> None:
    async with db.session() as session:
        await outbox.emit(
            session, tenant_id=1, event_type="CUSTOMER_CREATED", entity_id=1, content={}, at=None
        )
        await session.flush()
        await session.rollback()

    async with db.session() as session:
        assert await session.scalar(select(func.count()).select_from(OutboxEvent)) == 0


async def test_a_failing_event_holds_back_later_events_of_its_entity_only(
    chain: Chain,
    deliver: Deliver,
    clock: FixedClock,
    receiver: Receiver,
    subscription: dict[str, Any],
) -> None:
    first = await chain.customer()
    await chain.client.post(
        f"/v1/customers/{first['id']}/access-mediums",
        json={"type": "PIN", "value": "1234"},
        headers=chain.key_a,
    )
    other = await chain.customer(firstName="Other")
    receiver.fail_next(500)

    assert await deliver() == 2
    assert [r.json()["entityId"] for r in receiver.requests] == [first["id"], other["id"]]
    assert await deliver() == 0

    clock.advance(timedelta(seconds=31))
    assert await deliver() == 1
    assert await deliver() == 1

    assert types(receiver) == [
        "CUSTOMER_CREATED",
        "CUSTOMER_CREATED",
        "CUSTOMER_CREATED",
        "CUSTOMER_ACCESS_MEDIUM_CREATED",
    ]
    # A retry is the same message: the same webhook-id.
    assert receiver.requests[0].headers["webhook-id"] == receiver.requests[2].headers["webhook-id"]
    [retried] = await deliveries(chain, entityId=first["id"], eventType="CUSTOMER_CREATED")
    detail = expect(
        await chain.client.get(
            f"/admin/v1/tenants/{chain.tenant_id}/webhook-deliveries/{retried['id']}",
            headers=chain.admin,
        ),
        200,
    )
    assert [a["statusCode"] for a in detail["attemptLog"]] == [500, 200]
    assert detail["attempts"] == 2


async def test_gone_disables_the_subscription(
    chain: Chain,
    deliver: Deliver,
    clock: FixedClock,
    receiver: Receiver,
    subscription: dict[str, Any],
) -> None:
    await chain.customer()
    receiver.fail_next(410)

    await deliver()
    await chain.customer(firstName="Later")
    clock.advance(timedelta(minutes=5))
    assert await deliver() == 0

    url = f"/admin/v1/tenants/{chain.tenant_id}/webhook-subscriptions/{subscription['id']}"
    disabled = expect(await chain.client.get(url, headers=chain.admin), 200)
    assert disabled["active"] is False
    assert disabled["disabledAt"] is not None
    assert [d["state"] for d in await deliveries(chain, state="FAILED")] == ["FAILED"]
    assert len(receiver.requests) == 1


async def test_a_reactivated_subscription_gets_what_waited(
    chain: Chain, deliver: Deliver, receiver: Receiver, subscription: dict[str, Any]
) -> None:
    url = f"/admin/v1/tenants/{chain.tenant_id}/webhook-subscriptions/{subscription['id']}"
    customer = await chain.customer()
    await chain.client.post(
        f"/v1/customers/{customer['id']}/access-mediums",
        json={"type": "PIN", "value": "1234"},
        headers=chain.key_a,
    )
    receiver.fail_next(410)
    await deliver()
    assert await deliver() == 0
    await chain.client.patch(url, json={"active": True}, headers=chain.admin)

    assert await deliver() == 1
    assert types(receiver) == ["CUSTOMER_CREATED", "CUSTOMER_ACCESS_MEDIUM_CREATED"]
    reactivated = expect(await chain.client.get(url, headers=chain.admin), 200)
    assert (reactivated["active"], reactivated["disabledAt"]) == (True, None)


async def test_deleting_a_subscription_deletes_its_deliveries(
    chain: Chain, deliver: Deliver, subscription: dict[str, Any]
) -> None:
    await chain.customer()
    await deliver()
    url = f"/admin/v1/tenants/{chain.tenant_id}/webhook-subscriptions/{subscription['id']}"

    assert (await chain.client.delete(url, headers=chain.admin)).status_code == 204
    assert (await chain.client.get(url, headers=chain.admin)).status_code == 404
    assert await deliveries(chain) == []


async def test_a_killed_workers_claim_is_taken_over_after_its_lease(
    chain: Chain,
    deliver: Deliver,
    db: Database,
    clock: FixedClock,
    settings: Settings,
    receiver: Receiver,
    subscription: dict[str, Any],
) -> None:
    await chain.customer()
    async with db.session() as session:
        await service.fan_out(session, clock.now())
        await session.commit()
    assert len(await worker.claim(db, settings.keyring, clock.now())) == 1  # and the worker dies

    assert await deliver() == 0
    clock.advance(worker.LEASE)
    assert await deliver() == 1
    assert types(receiver) == ["CUSTOMER_CREATED"]


async def test_test_event_and_redelivery_through_the_admin_api(
    chain: Chain, deliver: Deliver, receiver: Receiver, subscription: dict[str, Any]
) -> None:
    tenant = f"/admin/v1/tenants/{chain.tenant_id}"
    queued = expect(
        await chain.client.post(
            f"{tenant}/webhook-subscriptions/{subscription['id']}/test", headers=chain.admin
        ),
        202,
    )
    await deliver()
    expect(
        await chain.client.post(
            f"{tenant}/webhook-deliveries/{queued['id']}/redeliver", headers=chain.admin
        ),
        202,
    )
    await deliver()

    assert types(receiver) == ["TEST", "TEST"]
    assert receiver.requests[0].json()["entityId"] == subscription["id"]
    assert receiver.requests[0].headers["webhook-id"] == receiver.requests[1].headers["webhook-id"]
    [delivery] = await deliveries(chain)
    assert (delivery["state"], delivery["attempts"]) == ("DELIVERED", 1)


async def test_a_rotated_secret_keeps_signing_during_the_overlap(
    chain: Chain,
    deliver: Deliver,
    settings: Settings,
    clock: FixedClock,
    receiver: Receiver,
    subscription: dict[str, Any],
) -> None:
    url = f"/admin/v1/tenants/{chain.tenant_id}/webhook-subscriptions/{subscription['id']}"
    rotated = expect(await chain.client.post(f"{url}/rotate-secret", headers=chain.admin), 200)
    old, new = subscription["secret"], rotated["secret"]
    assert old != new
    assert "secret" not in expect(await chain.client.get(url, headers=chain.admin), 200)

    await chain.customer()
    await deliver()
    clock.advance(timedelta(hours=25))
    chain.admin = admin_headers(settings, clock)
    await chain.customer(firstName="Later")
    await deliver()

    during, after = receiver.requests
    for secret in (old, new):
        Webhook(secret).verify(during.body, during.headers)
    Webhook(new).verify(after.body, after.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(after.body, after.headers)


async def test_subscriptions_and_deliveries_are_invisible_to_other_tenants(
    chain: Chain,
    settings: Settings,
    clock: FixedClock,
    receiver: Receiver,
    subscription: dict[str, Any],
) -> None:
    other = await create_tenant(chain.client, chain.admin, "Other")
    outsider = admin_headers(settings, clock, other.tenant_id)
    tenant = f"/admin/v1/tenants/{other.tenant_id}"
    await chain.customer()

    stolen = await chain.client.get(
        f"{tenant}/webhook-subscriptions/{subscription['id']}", headers=outsider
    )
    assert stolen.status_code == 404
    listed = expect(await chain.client.get(f"{tenant}/webhook-deliveries", headers=outsider), 200)
    assert listed["items"] == []
    foreign = await chain.client.post(
        f"{tenant}/webhook-subscriptions",
        json={
            "partnerIntegrationId": subscription["partnerIntegrationId"],
            "url": receiver.url,
            "eventTypes": ["CUSTOMER_CREATED"],
        },
        headers=outsider,
    )
    assert foreign.status_code == 404
    own = f"/admin/v1/tenants/{chain.tenant_id}/webhook-subscriptions"
    assert (await chain.client.get(own, headers=outsider)).status_code == 404


@pytest.mark.parametrize("url", ["ftp://example.org/hooks", "not a url", "http:///path"])
async def test_a_subscription_needs_an_http_url(
    chain: Chain, subscription: dict[str, Any], url: str
) -> None:
    response = await chain.client.patch(
        f"/admin/v1/tenants/{chain.tenant_id}/webhook-subscriptions/{subscription['id']}",
        json={"url": url},
        headers=chain.admin,
    )
    assert response.status_code == 422


def test_retries_span_at_least_a_day_and_give_up_within_two() -> None:
    failures = range(1, worker.MAX_ATTEMPTS)
    shortest = sum((worker.retry_delay(n, 0.0) for n in failures), timedelta())
    longest = sum((worker.retry_delay(n, 0.999) for n in failures), timedelta())
    assert timedelta(hours=24) <= shortest <= longest <= timedelta(hours=48)


@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"), reason="PostgreSQL only")
async def test_concurrent_workers_never_deliver_an_event_twice(
    chain: Chain, deliver: Deliver, receiver: Receiver, subscription: dict[str, Any]
) -> None:
    for number in range(30):
        await chain.customer(firstName=f"C{number}")

    while sum(await asyncio.gather(*(deliver() for _ in range(4)))):
        pass

    ids = Counter(request.headers["webhook-id"] for request in receiver.requests)
    assert len(ids) == 30
    assert set(ids.values()) == {1}
