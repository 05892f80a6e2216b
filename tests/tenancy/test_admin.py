"""Admin API: bearer admin tokens, tenant-bound operators, and tenant isolation."""

from datetime import timedelta

import pytest

from tests.helpers import admin_headers, create_tenant, expect


async def test_admin_api_requires_an_admin_token(client, settings, clock):
    assert (await client.get("/admin/v1/tenants")).status_code == 401
    garbage = await client.get("/admin/v1/tenants", headers={"Authorization": "Bearer nonsense"})
    assert garbage.status_code == 401
    assert garbage.headers["content-type"] == "application/problem+json"
    basic = await client.get("/admin/v1/tenants", headers={"Authorization": "Basic dXNlcjpwdw=="})
    assert basic.status_code == 401


async def test_admin_token_expires(client, settings, clock):
    headers = admin_headers(settings, clock)
    assert (await client.get("/admin/v1/tenants", headers=headers)).status_code == 200
    clock.advance(timedelta(hours=1))
    expired = await client.get("/admin/v1/tenants", headers=headers)
    assert expired.status_code == 401
    assert expired.json()["code"] == "TOKEN_EXPIRED"


async def test_loyalty_token_is_not_an_admin_token(client, settings, clock):
    setup = await create_tenant(client, admin_headers(settings, clock), "Acme")
    token = expect(
        await client.post(
            "/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": setup.client_id,
                "client_secret": setup.client_secret,
            },
        ),
        200,
    )["access_token"]
    response = await client.get("/admin/v1/tenants", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


async def test_tenant_bound_operator_sees_only_its_tenant(client, settings, clock):
    root = admin_headers(settings, clock)
    mine = await create_tenant(client, root, "Mine")
    await create_tenant(client, root, "Theirs")
    bound = admin_headers(settings, clock, tenant_id=mine.tenant_id)
    listing = expect(await client.get("/admin/v1/tenants", headers=bound), 200)
    assert [t["id"] for t in listing["items"]] == [mine.tenant_id]
    assert listing["totalItems"] == 1
    refused = await client.post("/admin/v1/tenants", json={"name": "New"}, headers=bound)
    assert refused.status_code == 403


def _resources(setup):
    base = f"/admin/v1/tenants/{setup.tenant_id}"
    return [
        base,
        f"{base}/studios",
        f"{base}/studios/{setup.studio_id}",
        f"{base}/partners",
        f"{base}/partners/{setup.partner_id}",
        f"{base}/partner-integrations",
        f"{base}/partner-integrations/{setup.integration_id}",
        f"{base}/api-keys",
        f"{base}/api-keys/1",
        f"{base}/oauth-clients",
        f"{base}/audit-log",
    ]


async def test_every_resource_of_another_tenant_answers_404(client, settings, clock):
    root = admin_headers(settings, clock)
    mine = await create_tenant(client, root, "Mine")
    theirs = await create_tenant(client, root, "Theirs")
    bound = admin_headers(settings, clock, tenant_id=mine.tenant_id)
    for path in _resources(theirs):
        response = await client.get(path, headers=bound)
        assert response.status_code == 404, path
    for path in _resources(mine):
        assert (await client.get(path, headers=bound)).status_code == 200, path
    writes = [
        (
            "PATCH",
            f"/admin/v1/tenants/{theirs.tenant_id}/studios/{theirs.studio_id}",
            {"name": "X"},
        ),
        ("POST", f"/admin/v1/tenants/{theirs.tenant_id}/partners", {"name": "X"}),
        ("DELETE", f"/admin/v1/tenants/{theirs.tenant_id}/api-keys/2", None),
    ]
    for method, path, body in writes:
        response = await client.request(method, path, json=body, headers=bound)
        assert response.status_code == 404, path


@pytest.mark.parametrize(
    "path",
    [
        "studios/{studio_id}",
        "partners/{partner_id}",
        "partner-integrations/{integration_id}",
    ],
)
async def test_ids_of_another_tenant_under_my_tenant_answer_404(client, settings, clock, path):
    root = admin_headers(settings, clock)
    mine = await create_tenant(client, root, "Mine")
    theirs = await create_tenant(client, root, "Theirs")
    foreign = path.format(
        studio_id=theirs.studio_id,
        partner_id=theirs.partner_id,
        integration_id=theirs.integration_id,
    )
    response = await client.get(f"/admin/v1/tenants/{mine.tenant_id}/{foreign}", headers=root)
    assert response.status_code == 404


async def test_integration_cannot_reference_another_tenants_studio(client, settings, clock):
    root = admin_headers(settings, clock)
    mine = await create_tenant(client, root, "Mine")
    theirs = await create_tenant(client, root, "Theirs")
    response = await client.post(
        f"/admin/v1/tenants/{mine.tenant_id}/partner-integrations",
        json={"partnerId": mine.partner_id, "studioId": theirs.studio_id},
        headers=root,
    )
    assert response.status_code == 404
    assert response.json()["code"] == "STUDIO_NOT_FOUND"


async def test_studio_key_of_one_tenant_finds_nothing_of_another(probe_client, settings, clock):
    root = admin_headers(settings, clock)
    mine = await create_tenant(probe_client, root, "Mine")
    theirs = await create_tenant(probe_client, root, "Theirs")
    response = await probe_client.get(
        f"/v1/probe/studios/{theirs.studio_id}", headers={"X-API-KEY": mine.api_key}
    )
    assert response.status_code == 404
    assert response.json()["errorCode"] == "STUDIO_NOT_FOUND"


async def test_studio_settings_are_validated_and_updatable(client, settings, clock):
    root = admin_headers(settings, clock)
    setup = await create_tenant(client, root, "Acme")
    base = f"/admin/v1/tenants/{setup.tenant_id}/studios"
    bad = await client.post(
        base,
        json={"name": "Bad", "timeZone": "Mars/Olympus", "currency": "euro", "locale": "German"},
        headers=root,
    )
    assert bad.status_code == 422
    assert {e["location"] for e in bad.json()["errors"]} == {
        "body.timeZone",
        "body.currency",
        "body.locale",
    }
    updated = await client.patch(
        f"{base}/{setup.studio_id}", json={"timeZone": "America/New_York"}, headers=root
    )
    assert expect(updated, 200)["timeZone"] == "America/New_York"
    assert updated.json()["currency"] == "EUR"
    duplicate = await client.post(
        base,
        json={"name": "Acme Studio", "timeZone": "UTC", "currency": "EUR", "locale": "en"},
        headers=root,
    )
    assert duplicate.status_code == 409
    assert duplicate.json()["code"] == "STUDIO_EXISTS"


async def test_every_change_is_audited_with_actor_and_request_id(client, settings, clock):
    root = admin_headers(settings, clock)
    setup = await create_tenant(client, root, "Acme")
    response = await client.patch(
        f"/admin/v1/tenants/{setup.tenant_id}/partner-integrations/{setup.integration_id}",
        json={"directCancelation": True},
        headers=root,
    )
    assert expect(response, 200)["directCancelation"] is True
    log = expect(
        await client.get(f"/admin/v1/tenants/{setup.tenant_id}/audit-log", headers=root), 200
    )
    latest = log["items"][0]
    assert latest["action"] == "partner_integration.updated"
    assert latest["actor"] == "admin:tester"
    assert latest["entityId"] == str(setup.integration_id)
    assert latest["details"] == {"directCancelation": True}
    assert latest["requestId"] == response.headers["x-request-id"]
    actions = {entry["action"] for entry in log["items"]}
    assert {
        "tenant.created",
        "studio.created",
        "api_key.created",
        "oauth_client.created",
    } <= actions


async def test_a_partial_update_cannot_null_a_required_field(client, settings, clock):
    root = admin_headers(settings, clock)
    setup = await create_tenant(client, root, "Acme")
    response = await client.patch(
        f"/admin/v1/tenants/{setup.tenant_id}/studios/{setup.studio_id}",
        json={"name": None, "locale": "en"},
        headers=root,
    )
    assert response.status_code == 422
    (error,) = response.json()["errors"]
    assert (error["location"], error["type"]) == ("body.name", "NULL_NOT_ALLOWED")
    studio = expect(
        await client.get(
            f"/admin/v1/tenants/{setup.tenant_id}/studios/{setup.studio_id}", headers=root
        ),
        200,
    )
    assert studio["locale"] == "de-DE"
