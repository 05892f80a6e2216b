"""The Idempotency-Key protocol (PRODUCT.md §1), driven through a real state-changing POST."""

import asyncio
import uuid
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from starlette.responses import Response

from openbenefits.kit import idempotency
from openbenefits.kit.encryption import Keyring
from openbenefits.kit.errors import Conflict
from openbenefits.tenancy.models import Partner
from openbenefits.tenancy.principals import AdminPrincipal
from openbenefits.tenancy.service import issue_admin_token
from tests.helpers import admin_headers, create_tenant, expect

KEYRING = Keyring.from_secrets(b"test")


def _token(settings, clock, *, token_id: str, hours: int = 1) -> dict[str, str]:
    token = issue_admin_token(
        settings.signing_key,
        name="tester",
        tenant_id=None,
        now=clock.now(),
        ttl=timedelta(hours=hours),
        token_id=token_id,
    )
    return {"Authorization": f"Bearer {token}"}


async def _partners(db) -> int:
    async with db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(Partner)) or 0)


async def _setup(client, settings, clock):
    headers = admin_headers(settings, clock)
    setup = await create_tenant(client, headers, "Acme")
    return headers, f"/admin/v1/tenants/{setup.tenant_id}/partners"


async def test_a_replay_returns_the_first_response_without_doing_the_work_again(
    client, settings, clock, db
):
    headers, url = await _setup(client, settings, clock)
    keyed = {**headers, "Idempotency-Key": "create-gym-app"}
    first = await client.post(url, json={"name": "Gym App"}, headers=keyed)
    second = await client.post(url, json={"name": "Gym App"}, headers=keyed)
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert await _partners(db) == 2  # the set-up's partner and this one, once


async def test_the_same_key_with_another_body_is_422(client, settings, clock):
    headers, url = await _setup(client, settings, clock)
    keyed = {**headers, "Idempotency-Key": "k1"}
    expect(await client.post(url, json={"name": "One"}, headers=keyed), 201)
    response = await client.post(url, json={"name": "Two"}, headers=keyed)
    assert response.status_code == 422
    assert response.json()["code"] == "IDEMPOTENCY_KEY_REUSED"


async def test_a_failed_request_changes_nothing_so_its_retry_runs_again(client, settings, clock):
    headers, url = await _setup(client, settings, clock)
    keyed = {**headers, "Idempotency-Key": "k1"}
    duplicate = await client.post(url, json={"name": "Sauna App"}, headers=keyed)
    assert duplicate.status_code == 409
    await client.patch(url.rsplit("/", 1)[0], json={"name": "renamed"}, headers=headers)
    retry = await client.post(url, json={"name": "Sauna App"}, headers=keyed)
    assert retry.status_code == 409  # evaluated afresh, not a replay
    assert "idempotent-replayed" not in retry.headers


async def test_keys_expire_after_24_hours(client, settings, clock):
    _, url = await _setup(client, settings, clock)
    keyed = {**_token(settings, clock, token_id="day", hours=48), "Idempotency-Key": "k1"}
    expect(await client.post(url, json={"name": "One"}, headers=keyed), 201)
    clock.advance(timedelta(hours=23, minutes=59))
    assert (await client.post(url, json={"name": "Two"}, headers=keyed)).status_code == 422
    clock.advance(timedelta(minutes=1))
    assert (await client.post(url, json={"name": "Two"}, headers=keyed)).status_code == 201


async def test_a_retry_while_the_first_runs_is_409_until_its_lease_lapses(
    client, settings, clock, db
):
    _, url = await _setup(client, settings, clock)
    headers = _token(settings, clock, token_id="t1", hours=2)
    body = b'{"name":"Slow"}'
    owner = AdminPrincipal("tester", None, "t1").idempotency_owner
    # A first request that has claimed the key and is still working (or has died).
    await idempotency.claim(
        db,
        settings.keyring,
        owner=owner,
        key="k1",
        fingerprint=idempotency.request_fingerprint("POST", url, "", body),
        now=clock.now(),
        ttl=timedelta(hours=24),
        lease=timedelta(seconds=60),
    )
    keyed = {**headers, "Idempotency-Key": "k1", "content-type": "application/json"}
    running = await client.post(url, content=body, headers=keyed)
    assert running.status_code == 409
    assert running.json()["code"] == "IDEMPOTENCY_REQUEST_IN_PROGRESS"
    clock.advance(timedelta(seconds=61))
    assert (await client.post(url, content=body, headers=keyed)).status_code == 201


async def test_a_holder_that_lost_its_lease_cannot_commit(clock, db):
    common = {"owner": "key:x", "key": "k", "fingerprint": "f" * 64, "ttl": timedelta(days=1)}
    stale = await idempotency.claim(
        db, KEYRING, now=clock.now(), lease=timedelta(seconds=1), **common
    )
    clock.advance(timedelta(seconds=2))
    fresh = await idempotency.claim(
        db, KEYRING, now=clock.now(), lease=timedelta(seconds=60), **common
    )
    assert isinstance(stale, idempotency.Claim)
    assert isinstance(fresh, idempotency.Claim)
    assert stale.lease_token != fresh.lease_token
    async with db.session() as session:
        with pytest.raises(Conflict):
            await idempotency.complete(session, KEYRING, stale, Response(b"late", status_code=201))
        await idempotency.complete(session, KEYRING, fresh, Response(b"on time", status_code=201))
        await session.commit()
    replay = await idempotency.claim(
        db, KEYRING, now=clock.now(), lease=timedelta(seconds=60), **common
    )
    assert replay == idempotency.StoredResponse(201, b"on time", None)


async def test_keys_are_per_principal(client, settings, clock):
    _, url = await _setup(client, settings, clock)
    alice = {**admin_headers(settings, clock, name="alice"), "Idempotency-Key": "shared"}
    bob = {**admin_headers(settings, clock, name="bob"), "Idempotency-Key": "shared"}
    first = expect(await client.post(url, json={"name": "One"}, headers=alice), 201)
    second = expect(await client.post(url, json={"name": "Two"}, headers=bob), 201)
    assert first["id"] != second["id"]


async def test_an_invalid_key_is_400(client, settings, clock):
    headers, url = await _setup(client, settings, clock)
    response = await client.post(
        url, json={"name": "One"}, headers={**headers, "Idempotency-Key": "k" * 256}
    )
    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_IDEMPOTENCY_KEY"


async def test_twenty_concurrent_requests_with_one_key_do_the_work_once(
    client, settings, clock, db
):
    headers, url = await _setup(client, settings, clock)
    keyed = {**headers, "Idempotency-Key": "burst"}
    responses = await asyncio.gather(
        *(client.post(url, json={"name": "Burst"}, headers=keyed) for _ in range(20))
    )
    statuses = sorted(r.status_code for r in responses)
    assert set(statuses) <= {201, 409}
    created = [r for r in responses if r.status_code == 201]
    assert len({r.json()["id"] for r in created}) == 1
    assert sum("idempotent-replayed" not in r.headers for r in created) == 1
    assert await _partners(db) == 2


@hypothesis_settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(retries=st.integers(min_value=1, max_value=4), name=st.text(min_size=1, max_size=40))
async def test_replays_never_change_anything(client, settings, clock, db, retries, name):
    headers = admin_headers(settings, clock)
    example = uuid.uuid4().hex
    setup = await create_tenant(client, headers, f"Acme {example}")
    url = f"/admin/v1/tenants/{setup.tenant_id}/partners"
    keyed = {**headers, "Idempotency-Key": example}
    first = await client.post(url, json={"name": name}, headers=keyed)
    assert first.status_code in {201, 422}
    before = await _partners(db)
    for _ in range(retries):
        again = await client.post(url, json={"name": name}, headers=keyed)
        assert again.status_code == first.status_code
        if first.status_code == 201:  # a refused request is evaluated afresh, with a new traceId
            assert again.content == first.content
    assert await _partners(db) == before


async def test_expired_keys_are_purged(clock, db):
    common = {"fingerprint": "f" * 64, "lease": timedelta(seconds=60)}
    await idempotency.claim(
        db, KEYRING, owner="a", key="old", now=clock.now(), ttl=timedelta(hours=1), **common
    )
    await idempotency.claim(
        db, KEYRING, owner="a", key="new", now=clock.now(), ttl=timedelta(days=1), **common
    )
    assert await idempotency.purge_expired(db, clock.now() + timedelta(hours=2)) == 1
    async with db.session() as session:
        keys = (await session.scalars(select(idempotency.IdempotencyRecord.key))).all()
    assert keys == ["new"]


async def _locked_until(db, record_id: int):
    async with db.session() as session:
        return await session.scalar(
            select(idempotency.IdempotencyRecord.locked_until).where(
                idempotency.IdempotencyRecord.id == record_id
            )
        )


async def test_a_working_holder_renews_its_lease_and_a_dead_one_is_taken_over(clock, db):
    lease = timedelta(seconds=0.3)
    common = {"owner": "key:x", "key": "k", "fingerprint": "f" * 64, "ttl": timedelta(days=1)}
    held = await idempotency.claim(db, KEYRING, now=clock.now(), lease=lease, **common)
    assert isinstance(held, idempotency.Claim)
    first_lease = await _locked_until(db, held.record_id)
    async with idempotency.kept(db, held, clock, lease):
        clock.advance(timedelta(seconds=10))  # long past the lease it claimed with
        for _ in range(200):  # a renewal comes every tenth of a second
            if await _locked_until(db, held.record_id) != first_lease:
                break
            await asyncio.sleep(0.05)
        with pytest.raises(Conflict):  # still working, so a retry must wait
            await idempotency.claim(db, KEYRING, now=clock.now(), lease=lease, **common)
    # The holder stopped renewing (as a killed process would): its claim lapses with the lease.
    clock.advance(timedelta(seconds=1))
    taken = await idempotency.claim(db, KEYRING, now=clock.now(), lease=lease, **common)
    assert isinstance(taken, idempotency.Claim)
    assert taken.lease_token != held.lease_token


async def test_a_key_replays_only_to_its_principal_never_across_tenants_or_when_expired(
    client, settings, clock, db
):
    """The finding: every CLI admin token is named "admin", and the replay looked only at the
    name. A token of the same name bound to another tenant, or an expired one, repeating tenant
    1's key on the API-key route must not get tenant 1's new key back."""
    everyone = admin_headers(settings, clock, name="admin")
    first = await create_tenant(client, everyone, "One")
    second = await create_tenant(client, everyone, "Two")
    route = f"/admin/v1/tenants/{first.tenant_id}/api-keys"
    body = {"studioId": first.studio_id, "name": "k", "scopes": ["CUSTOMER_READ"]}
    keyed = {"Idempotency-Key": "issue-key"}
    owner = admin_headers(settings, clock, first.tenant_id, name="admin")
    created = expect(await client.post(route, json=body, headers={**owner, **keyed}), 201)
    elsewhere = admin_headers(settings, clock, second.tenant_id, name="admin")
    foreign = await client.post(route, json=body, headers={**elsewhere, **keyed})
    assert (foreign.status_code, foreign.json()["code"]) == (404, "TENANT_NOT_FOUND")
    assert created["key"] not in foreign.text
    clock.advance(timedelta(hours=2))  # the owner's own token has expired
    expired = await client.post(route, json=body, headers={**owner, **keyed})
    assert (expired.status_code, expired.json()["code"]) == (401, "TOKEN_EXPIRED")
    assert created["key"] not in expired.text
    stored = await _stored_answers(db)
    assert created["key"].encode() not in b"".join(stored)  # sealed, not in clear


async def _stored_answers(db) -> list[bytes]:
    async with db.session() as session:
        rows = await session.scalars(select(idempotency.IdempotencyRecord.response_body))
        return [bytes(row) for row in rows if row is not None]
