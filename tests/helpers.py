"""Set-up through the admin API, as an operator would do it."""

from dataclasses import dataclass
from datetime import timedelta

import httpx

from openbenefits.config import Settings
from openbenefits.kit.clock import Clock
from openbenefits.tenancy.service import issue_admin_token


def admin_headers(
    settings: Settings, clock: Clock, tenant_id: int | None = None, *, name: str = "tester"
) -> dict[str, str]:
    token = issue_admin_token(
        settings.signing_key,
        name=name,
        tenant_id=tenant_id,
        now=clock.now(),
        ttl=timedelta(hours=1),
    )
    return {"Authorization": f"Bearer {token}"}


@dataclass(frozen=True)
class TenantSetup:
    tenant_id: int
    studio_id: int
    partner_id: int
    integration_id: int
    api_key: str
    client_id: str
    client_secret: str


def expect(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text
    body: dict[str, object] = response.json()
    return body


async def create_tenant(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    name: str,
    *,
    scopes: list[str] | None = None,
) -> TenantSetup:
    """A tenant with one studio, one partner integrated there, a partner API key and an OAuth
    client."""
    tenant = expect(
        await client.post("/admin/v1/tenants", json={"name": name}, headers=headers), 201
    )
    base = f"/admin/v1/tenants/{tenant['id']}"
    studio = expect(
        await client.post(
            f"{base}/studios",
            json={
                "name": f"{name} Studio",
                "timeZone": "Europe/Berlin",
                "currency": "EUR",
                "locale": "de-DE",
            },
            headers=headers,
        ),
        201,
    )
    partner = expect(
        await client.post(f"{base}/partners", json={"name": "Sauna App"}, headers=headers), 201
    )
    integration = expect(
        await client.post(
            f"{base}/partner-integrations",
            json={"partnerId": partner["id"], "studioId": studio["id"]},
            headers=headers,
        ),
        201,
    )
    key = expect(
        await client.post(
            f"{base}/api-keys",
            json={
                "studioId": studio["id"],
                "partnerIntegrationId": integration["id"],
                "name": "partner key",
                "scopes": scopes or ["CUSTOMER_READ", "CUSTOMER_BENEFIT_READ"],
            },
            headers=headers,
        ),
        201,
    )
    oauth = expect(
        await client.post(
            f"{base}/oauth-clients",
            json={"name": "loyalty", "scopes": ["LOYALTY_READ", "LOYALTY_WRITE"]},
            headers=headers,
        ),
        201,
    )
    return TenantSetup(
        tenant_id=int(str(tenant["id"])),
        studio_id=int(str(studio["id"])),
        partner_id=int(str(partner["id"])),
        integration_id=int(str(integration["id"])),
        api_key=str(key["key"]),
        client_id=str(oauth["clientId"]),
        client_secret=str(oauth["clientSecret"]),
    )


def without_nulls(value: object) -> object:
    """``value`` with null members left out at every depth, as the studio surface sends it."""
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nulls(v) for v in value]
    return value
