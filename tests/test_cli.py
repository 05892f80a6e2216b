"""The command line and the demo tenant, against the test database."""

import asyncio
import json

import pytest
from click.testing import Result
from typer.testing import CliRunner

from openbenefits.cli import CliContext, app
from openbenefits.demo import OAUTH_CLIENT_ID
from openbenefits.kit.clock import FixedClock
from openbenefits.tenancy import key_cache
from tests.conftest import SECRET, START

# The command line stands on the tests' clock, like the app the tests read its work through:
# what the demo dates "yesterday" must be yesterday for the app too, whatever the real date.
_CONTEXT = CliContext(clock=FixedClock(START))


@pytest.fixture
def cli_env(monkeypatch, database_url, tmp_path):
    monkeypatch.setenv("OPENBENEFITS_DATABASE_URL", database_url)
    monkeypatch.setenv("OPENBENEFITS_SECRET_KEY", SECRET)
    monkeypatch.setenv("OPENBENEFITS_DATA_DIR", str(tmp_path))


def _invoke(*args: str) -> Result:
    result = CliRunner().invoke(app, list(args), obj=_CONTEXT)
    assert result.exit_code == 0, result.output
    return result


def _run(*args: str) -> str:
    return _invoke(*args).stdout


def test_demo_prints_working_credentials_and_is_repeatable(cli_env):
    first = json.loads(_run("demo"))
    second = json.loads(_run("demo"))
    assert first["apiKeys"] == second["apiKeys"]
    assert first["tenantId"] == second["tenantId"]
    assert first["customers"] == second["customers"]
    assert first["loyaltyContracts"] == second["loyaltyContracts"]
    assert set(first["customers"]) == {"A-1001", "A-1002", "A-1003", "B-2001"}
    assert set(first["studios"]) == {"Studio A", "Studio B"}
    assert set(first["apiKeys"]) == {"studio-a", "studio-b", "sauna-a", "sauna-b", "body-scan-a"}
    assert first["oauthClient"]["clientId"] == OAUTH_CLIENT_ID


async def test_demo_credentials_work_against_the_api(cli_env, client):
    credentials = json.loads(await asyncio.to_thread(_run, "demo"))
    for key in credentials["apiKeys"].values():
        response = await client.head("/v1/customers", headers={"X-API-KEY": key})
        assert response.status_code == 200
    token = await client.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": credentials["oauthClient"]["clientId"],
            "client_secret": credentials["oauthClient"]["clientSecret"],
        },
    )
    assert token.status_code == 200
    bearer = {"Authorization": f"Bearer {token.json()['access_token']}"}
    number = credentials["loyaltyCustomerNumber"]
    entitlements = await client.get(
        f"/customers/v2/benefits/entitlements/{number}/by-customer-number", headers=bearer
    )
    assert sorted(e["contractExternalRef"] for e in entitlements.json()) == [
        "DEMO-10-DAY-CARD",
        "DEMO-CUSTOMER-CARD",
        "DEMO-GIFT-CARD",
    ]
    gift = credentials["loyaltyContracts"]["DEMO-GIFT-CARD"]
    balance = await client.get(
        f"/customers/v2/benefits/contracts/{gift}/points-balance", headers=bearer
    )
    assert balance.json()["balance"] == "500.00"
    admin = {"Authorization": f"Bearer {credentials['adminToken']}"}
    tenants = (await client.get("/admin/v1/tenants", headers=admin)).json()
    assert [t["slug"] for t in tenants["items"]] == ["demo"]
    integrations = await client.get(
        f"/admin/v1/tenants/{credentials['tenantId']}/partner-integrations", headers=admin
    )
    assert integrations.json()["totalItems"] == 3
    studio_a = {"X-API-KEY": credentials["apiKeys"]["studio-a"]}
    anna = (
        await client.get("/v1/customers/by", params={"cardNumber": "168496141"}, headers=studio_a)
    ).json()
    assert (anna["firstName"], anna["customerNumber"]) == ("Anna", "A-1001")
    contracts = (await client.get(f"/v1/customers/{anna['id']}/contracts", headers=studio_a)).json()
    assert [c["contractStatus"] for c in contracts] == ["ACTIVE"]
    visits = await client.get(f"/v1/customers/{anna['id']}/activities/checkins", headers=studio_a)
    assert len(visits.json()["result"]) == 1
    studio_b = {"X-API-KEY": credentials["apiKeys"]["studio-b"]}
    david = credentials["customers"]["B-2001"]
    assert (await client.get(f"/v1/customers/{david}", headers=studio_b)).status_code == 200
    assert (await client.get(f"/v1/customers/{david}", headers=studio_a)).status_code == 404
    ben = credentials["customers"]["A-1002"]
    (contract,) = (await client.get(f"/v1/customers/{ben}/contracts", headers=studio_a)).json()
    purchasable = await client.get(
        f"/v1/memberships/{contract['id']}/self-service/additional-modules/purchasable",
        headers=studio_a,
    )
    assert [m["name"] for m in purchasable.json()] == ["Sauna"]  # Anna holds it already


async def test_keys_create_and_admin_token(cli_env, client):
    credentials = json.loads(await asyncio.to_thread(_run, "demo"))
    studio_b = credentials["studios"]["Studio B"]
    created = json.loads(
        await asyncio.to_thread(
            _run, "keys", "create", "--studio-id", str(studio_b), "--scope", "CUSTOMER_READ"
        )
    )
    assert created["tenantId"] == credentials["tenantId"]
    assert (
        await client.head("/v1/customers", headers={"X-API-KEY": created["key"]})
    ).status_code == 200
    token = _run("admin-token", "--tenant-id", str(credentials["tenantId"])).strip()
    listing = await client.get("/admin/v1/tenants", headers={"Authorization": f"Bearer {token}"})
    assert listing.json()["totalItems"] == 1


def test_keys_create_for_an_unknown_studio_fails(cli_env):
    _run("migrate")
    result = CliRunner().invoke(
        app, ["keys", "create", "--studio-id", "999", "--scope", "CUSTOMER_READ"], obj=_CONTEXT
    )
    assert result.exit_code == 1
    assert "Studio 999 not found" in result.output


async def test_the_demo_holds_the_seeds_benefit_scene(cli_env, client):
    credentials = json.loads(await asyncio.to_thread(_run, "demo"))
    keys = {label: {"X-API-KEY": key} for label, key in credentials["apiKeys"].items()}
    anna, ben = credentials["customers"]["A-1001"], credentials["customers"]["A-1002"]
    in_b = await client.get(f"/v1/customers/{anna}/benefits", headers=keys["sauna-b"])
    assert in_b.json() == [{"key": "SAUNA", "valid": True}]
    by_card = await client.get(
        "/v1/customers/benefits", params={"cardNumber": "168496141"}, headers=keys["sauna-a"]
    )
    assert by_card.json() == [{"key": "SAUNA", "valid": True}]
    without_module = await client.get(f"/v1/customers/{ben}/benefits", headers=keys["sauna-a"])
    assert without_module.json() == [{"key": "SAUNA", "valid": False}]
    used = await client.post(f"/v1/customers/{anna}/benefits/SAUNA/use", headers=keys["sauna-b"])
    assert used.status_code == 200
    weighing = {"weight": 70.1, "rawResults": "{}"}
    path = f"/v1/customers/{anna}/weighing"
    scans = [
        await client.post(
            path, params={"benefitKey": "BODY_SCAN"}, json=weighing, headers=keys["body-scan-a"]
        )
        for _ in range(2)
    ]
    assert [r.status_code for r in scans] == [200, 400]
    assert scans[1].json()["errorCode"] == "BENEFIT_CONTINGENT_EXHAUSTED"


async def test_an_admin_token_revoked_on_the_command_line_stops_working(
    cli_env, client, settings, monkeypatch
):
    now = [1000.0]
    monkeypatch.setattr(key_cache, "monotonic", lambda: now[0])
    await asyncio.to_thread(_run, "migrate")
    issued = await asyncio.to_thread(_invoke, "admin-token", "--name", "ops")
    token_id = issued.stderr.split()[2]
    admin = {"Authorization": f"Bearer {issued.stdout.strip()}"}
    assert (await client.get("/admin/v1/tenants", headers=admin)).status_code == 200
    await asyncio.to_thread(_run, "revoke-admin-token", token_id)
    # This server process remembers the token as in force for the cache's few seconds.
    assert (await client.get("/admin/v1/tenants", headers=admin)).status_code == 200
    now[0] += settings.api_key_cache_seconds
    refused = await client.get("/admin/v1/tenants", headers=admin)
    assert (refused.status_code, refused.json()["code"]) == (401, "INVALID_TOKEN")


async def test_reencrypt_seals_everything_under_the_first_key(cli_env, client, monkeypatch):
    credentials = json.loads(await asyncio.to_thread(_run, "demo"))
    admin = {"Authorization": f"Bearer {credentials['adminToken']}"}
    base = f"/admin/v1/tenants/{credentials['tenantId']}"
    subscription = await client.post(
        f"{base}/webhook-subscriptions",
        json={
            "partnerIntegrationId": 1,
            "url": "https://hooks.example.org/x",
            "eventTypes": ["TEST"],
            "apiKey": "their-key",
        },
        headers={**admin, "Idempotency-Key": "subscribe"},
    )
    assert subscription.status_code == 201
    monkeypatch.setenv("OPENBENEFITS_ENCRYPTION_KEYS", "a-new-key-of-plenty-entropy-0123456789")
    counts = json.loads(await asyncio.to_thread(_run, "reencrypt"))
    assert counts == {"webhookSubscriptions": 1, "idempotentAnswers": 1}
    again = json.loads(await asyncio.to_thread(_run, "reencrypt"))
    assert again == {"webhookSubscriptions": 0, "idempotentAnswers": 0}
