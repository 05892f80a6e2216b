"""Withdrawn credentials stop working (PRODUCT.md §8): at once in the process that withdrew them,
and within ``api_key_cache_seconds`` in every other -- on every route, the fast ones
(kit/fast.py) included."""

from datetime import timedelta

import pytest
from sqlalchemy import insert, update

from openbenefits.kit.security import sign_token
from openbenefits.tenancy import key_cache
from openbenefits.tenancy.models import AdminTokenRevocation, OAuthClient
from openbenefits.tenancy.principals import ADMIN_AUDIENCE
from openbenefits.tenancy.service import issue_admin_token
from tests.helpers import admin_headers, create_tenant, expect

ENTITLEMENTS = "/customers/v2/benefits/entitlements/{number}/by-customer-number"


@pytest.fixture
def monotonic(monkeypatch) -> list[float]:
    now = [1000.0]
    monkeypatch.setattr(key_cache, "monotonic", lambda: now[0])
    return now


async def _bearer(client, setup, admin) -> dict[str, str]:
    """A bearer token of the tenant's client, whose customer 4711 exists."""
    customer = {"studioId": setup.studio_id, "customerNumber": "4711"}
    customer |= {"firstName": "Anna", "lastName": "Berg"}
    customers = f"/admin/v1/tenants/{setup.tenant_id}/customers"
    expect(await client.post(customers, json=customer, headers=admin), 201)
    form = {
        "grant_type": "client_credentials",
        "client_id": setup.client_id,
        "client_secret": setup.client_secret,
    }
    token = expect(await client.post("/oauth/token", data=form), 200)["access_token"]
    return {"Authorization": f"Bearer {token}"}


async def _loyalty_answers(client, setup, bearer) -> list[int]:
    """A route of the loyalty API and one of its fast routes (kit/fast.py)."""
    programs = await client.get("/customers/v2/benefits/loyaltyprograms", headers=bearer)
    entitlements = await client.get(ENTITLEMENTS.format(number=4711), headers=bearer)
    return [programs.status_code, entitlements.status_code]


async def test_a_revoked_clients_tokens_stop_at_once_in_the_revoking_process(
    client, settings, clock
):
    admin = admin_headers(settings, clock)
    setup = await create_tenant(client, admin, "Acme")
    bearer = await _bearer(client, setup, admin)
    assert await _loyalty_answers(client, setup, bearer) == [200, 200]
    clients = expect(
        await client.get(f"/admin/v1/tenants/{setup.tenant_id}/oauth-clients", headers=admin), 200
    )
    row_id = clients["items"][0]["id"]
    revoked = await client.delete(
        f"/admin/v1/tenants/{setup.tenant_id}/oauth-clients/{row_id}", headers=admin
    )
    assert revoked.status_code == 204
    assert await _loyalty_answers(client, setup, bearer) == [401, 401]


async def test_a_client_revoked_by_another_process_is_refused_within_the_cache_bound(
    client, settings, clock, db, monotonic
):
    admin = admin_headers(settings, clock)
    setup = await create_tenant(client, admin, "Acme")
    bearer = await _bearer(client, setup, admin)
    assert await _loyalty_answers(client, setup, bearer) == [200, 200]
    async with db.session() as session:  # as the other process's admin API would
        await session.execute(update(OAuthClient).values(revoked_at=clock.now()))
        await session.commit()
    assert await _loyalty_answers(client, setup, bearer) == [200, 200]  # remembered
    monotonic[0] += settings.api_key_cache_seconds + key_cache.REFRESH_SECONDS
    assert await _loyalty_answers(client, setup, bearer) == [401, 401]
    refused = await client.get("/customers/v2/benefits/loyaltyprograms", headers=bearer)
    assert refused.json()["code"] == "INVALID_TOKEN"


async def test_admin_tokens_have_ids_and_can_be_revoked(client, settings, clock, db, monotonic):
    everyone = admin_headers(settings, clock)
    setup = await create_tenant(client, everyone, "Acme")
    token = issue_admin_token(
        settings.signing_key,
        name="ops",
        tenant_id=setup.tenant_id,
        now=clock.now(),
        ttl=timedelta(hours=1),
        token_id="ops-token",
    )
    ops = {"Authorization": f"Bearer {token}"}
    tenant = f"/admin/v1/tenants/{setup.tenant_id}"
    assert (await client.get(tenant, headers=ops)).status_code == 200
    # Only an operator of every tenant revokes tokens.
    refused = await client.delete("/admin/v1/admin-tokens/ops-token", headers=ops)
    assert (refused.status_code, refused.json()["code"]) == (403, "GLOBAL_ADMIN_ONLY")
    revoked = await client.delete("/admin/v1/admin-tokens/ops-token", headers=everyone)
    assert revoked.status_code == 204
    again = await client.delete("/admin/v1/admin-tokens/ops-token", headers=everyone)
    assert again.status_code == 204
    answer = await client.get(tenant, headers=ops)
    assert (answer.status_code, answer.json()["code"]) == (401, "INVALID_TOKEN")
    # Revoked in another process: refused here once the remembered answer lapses.
    other = issue_admin_token(
        settings.signing_key,
        name="ops",
        tenant_id=None,
        now=clock.now(),
        ttl=timedelta(hours=1),
        token_id="other-token",
    )
    other_headers = {"Authorization": f"Bearer {other}"}
    assert (await client.get(tenant, headers=other_headers)).status_code == 200
    async with db.session() as session:
        await session.execute(
            insert(AdminTokenRevocation).values(
                token_id="other-token", revoked_at=clock.now(), revoked_by="admin:elsewhere"
            )
        )
        await session.commit()
    assert (await client.get(tenant, headers=other_headers)).status_code == 200
    monotonic[0] += settings.api_key_cache_seconds
    assert (await client.get(tenant, headers=other_headers)).status_code == 401


async def test_an_admin_token_without_an_id_is_refused(client, settings, clock):
    legacy = sign_token(
        settings.signing_key,
        subject="admin",
        audience=ADMIN_AUDIENCE,
        now=clock.now(),
        ttl=timedelta(hours=1),
        claims={"tenant": None},
    )
    answer = await client.get("/admin/v1/tenants", headers={"Authorization": f"Bearer {legacy}"})
    assert (answer.status_code, answer.json()["code"]) == (401, "INVALID_TOKEN")
