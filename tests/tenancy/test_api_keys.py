"""Studio Open API authentication: X-API-KEY, scopes, HEAD key check, hashing at rest."""

import hashlib
import hmac

from sqlalchemy import select, update

from openbenefits.kit.security import derive_key
from openbenefits.tenancy import key_cache
from openbenefits.tenancy.models import ApiKey
from openbenefits.tenancy.principals import StudioPrincipal
from tests.conftest import SECRET
from tests.helpers import admin_headers, create_tenant, expect


async def test_head_answers_200_for_a_valid_key_on_any_studio_path(client, settings, clock):
    setup = await create_tenant(client, admin_headers(settings, clock), "Acme")
    for path in ("/v1/customers", "/v1/customers/42/benefits", "/v1/memberships/1/self-service"):
        response = await client.head(path, headers={"X-API-KEY": setup.api_key})
        assert response.status_code == 200, path


async def test_head_answers_401_for_a_missing_or_unknown_key(client, settings, clock):
    await create_tenant(client, admin_headers(settings, clock), "Acme")
    assert (await client.head("/v1/customers")).status_code == 401
    wrong = await client.head("/v1/customers", headers={"X-API-KEY": "obk_not-a-real-key"})
    assert wrong.status_code == 401


async def test_401_uses_the_reference_error_shape(probe_client, settings, clock):
    response = await probe_client.get("/v1/probe/studios/1", headers={"X-API-KEY": "wrong"})
    assert response.status_code == 401
    body = response.json()
    assert body["errorCode"] == "API_KEY_INVALID"
    assert body["errorMessage"]
    assert body["traceId"] == response.headers["x-request-id"]
    missing = await probe_client.get("/v1/probe/studios/1")
    assert missing.json()["errorCode"] == "API_KEY_MISSING"


async def test_missing_scope_is_403_and_present_scope_passes(probe_client, settings, clock):
    setup = await create_tenant(probe_client, admin_headers(settings, clock), "Acme")
    headers = {"X-API-KEY": setup.api_key}
    allowed = await probe_client.get(f"/v1/probe/studios/{setup.studio_id}", headers=headers)
    assert allowed.status_code == 200
    assert allowed.json() == {"studioId": setup.studio_id, "keyStudioId": setup.studio_id}
    refused = await probe_client.post("/v1/probe/weighings", json={"weight": 70}, headers=headers)
    assert refused.status_code == 403
    assert refused.json()["errorCode"] == "MISSING_SCOPE"
    assert "CUSTOMER_WRITE" in refused.json()["errorMessage"]


async def test_revoked_key_is_refused(client, settings, clock):
    admin = admin_headers(settings, clock)
    setup = await create_tenant(client, admin, "Acme")
    keys = expect(
        await client.get(f"/admin/v1/tenants/{setup.tenant_id}/api-keys", headers=admin), 200
    )
    key_id = keys["items"][0]["id"]
    # Used first, so this process remembers the key: the revocation must make it forget.
    used = await client.head("/v1/customers", headers={"X-API-KEY": setup.api_key})
    assert used.status_code == 200
    revoked = await client.delete(
        f"/admin/v1/tenants/{setup.tenant_id}/api-keys/{key_id}", headers=admin
    )
    assert revoked.status_code == 204
    response = await client.head("/v1/customers", headers={"X-API-KEY": setup.api_key})
    assert response.status_code == 401
    listed = expect(
        await client.get(f"/admin/v1/tenants/{setup.tenant_id}/api-keys/{key_id}", headers=admin),
        200,
    )
    assert listed["revokedAt"] == clock.now().isoformat().replace("+00:00", "Z")


async def test_keys_are_stored_as_keyed_hashes_and_shown_once(client, settings, clock, db):
    admin = admin_headers(settings, clock)
    setup = await create_tenant(client, admin, "Acme")
    async with db.session() as session:
        stored = (await session.scalars(select(ApiKey))).one()
    expected = hmac.new(
        derive_key(SECRET.encode(), "credential-hash"), setup.api_key.encode(), hashlib.sha256
    )
    assert stored.key_hash == expected.hexdigest()
    assert setup.api_key not in {stored.key_hash, stored.prefix, stored.name}
    assert setup.api_key.startswith(stored.prefix)
    listing = await client.get(f"/admin/v1/tenants/{setup.tenant_id}/api-keys", headers=admin)
    assert setup.api_key not in listing.text
    assert "key" not in listing.json()["items"][0]


async def test_key_for_an_integration_of_another_studio_is_refused(client, settings, clock):
    admin = admin_headers(settings, clock)
    setup = await create_tenant(client, admin, "Acme")
    base = f"/admin/v1/tenants/{setup.tenant_id}"
    other = expect(
        await client.post(
            f"{base}/studios",
            json={"name": "Other", "timeZone": "UTC", "currency": "EUR", "locale": "en"},
            headers=admin,
        ),
        201,
    )
    response = await client.post(
        f"{base}/api-keys",
        json={
            "studioId": other["id"],
            "partnerIntegrationId": setup.integration_id,
            "name": "mismatch",
            "scopes": ["CUSTOMER_READ"],
        },
        headers=admin,
    )
    assert response.status_code == 400
    assert response.json()["code"] == "INTEGRATION_STUDIO_MISMATCH"


async def test_unknown_scope_is_a_validation_error(client, settings, clock):
    admin = admin_headers(settings, clock)
    setup = await create_tenant(client, admin, "Acme")
    response = await client.post(
        f"/admin/v1/tenants/{setup.tenant_id}/api-keys",
        json={"studioId": setup.studio_id, "name": "x", "scopes": ["EVERYTHING"]},
        headers=admin,
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["location"] == "body.scopes.0"


def test_remembered_keys_expire_and_can_be_forgotten(monkeypatch):
    now = [100.0]
    monkeypatch.setattr(key_cache, "monotonic", lambda: now[0])
    cache = key_cache.PrincipalCache(ttl_seconds=5, max_entries=2)
    principal = StudioPrincipal(7, 1, 1, None, None, frozenset())
    cache.put("a", principal)
    assert cache.get("a") is principal
    now[0] += 5
    assert cache.get("a") is None
    cache.put("a", principal)
    cache.put("b", StudioPrincipal(8, 1, 1, None, None, frozenset()))
    cache.forget(7)
    assert (cache.get("a"), cache.get("b").api_key_id) == (None, 8)
    cache.put("c", principal)
    cache.put("d", principal)  # full: starts afresh rather than growing
    assert cache.get("b") is None
    off = key_cache.PrincipalCache(ttl_seconds=0)
    off.put("a", principal)
    assert off.get("a") is None


def test_an_expired_key_is_looked_up_by_one_request_while_the_others_are_served(monkeypatch):
    now = [100.0]
    monkeypatch.setattr(key_cache, "monotonic", lambda: now[0])
    cache = key_cache.PrincipalCache(ttl_seconds=5)
    principal = StudioPrincipal(7, 1, 1, None, None, frozenset())
    cache.put("a", principal)
    now[0] += 5
    assert cache.fresh("a") is None
    assert cache.get("a") is None  # this request looks the key up
    assert cache.get("a") is principal  # the others are served meanwhile
    assert cache.fresh("a") is None  # and the lookup itself is not answered from the cache
    now[0] += key_cache.REFRESH_SECONDS
    assert cache.get("a") is None  # that lookup never came back: another request tries
    renewed = StudioPrincipal(7, 1, 1, None, None, frozenset({"CUSTOMER_READ"}))
    cache.put("a", renewed)
    assert (cache.get("a"), cache.fresh("a")) == (renewed, renewed)
    now[0] += 5
    assert cache.get("a") is None
    cache.discard("a")  # the lookup found the key revoked
    assert cache.get("a") is None
    assert cache.get("a") is None


async def test_a_key_revoked_by_another_process_is_refused_once_remembered_keys_expire(
    client, settings, clock, db, monkeypatch
):
    now = [1000.0]
    monkeypatch.setattr(key_cache, "monotonic", lambda: now[0])
    admin = admin_headers(settings, clock)
    setup = await create_tenant(client, admin, "Acme")
    key = {"X-API-KEY": setup.api_key}
    assert (await client.head("/v1/customers", headers=key)).status_code == 200
    async with db.session() as session:
        await session.execute(update(ApiKey).values(revoked_at=clock.now()))
        await session.commit()
    assert (await client.head("/v1/customers", headers=key)).status_code == 200  # remembered
    now[0] += settings.api_key_cache_seconds
    assert (await client.head("/v1/customers", headers=key)).status_code == 401
    assert (await client.head("/v1/customers", headers=key)).status_code == 401
