"""A chain with Studio A and Studio B, a full-scope key for each, and ways to add customers,
rates and contracts through the admin API."""

from dataclasses import dataclass
from typing import Any

from openbenefits.tenancy.scopes import StudioScope
from tests.helpers import admin_headers, create_tenant, expect


@dataclass
class Chain:
    client: Any
    admin: dict[str, str]
    tenant_id: int
    studio_a: int
    studio_b: int
    key_a: dict[str, str]
    key_b: dict[str, str]
    integration_a: int = 0  # the partner integration in Studio A

    async def customer(self, studio: int | None = None, **fields: Any) -> dict[str, Any]:
        body = {
            "studioId": studio or self.studio_a,
            "firstName": "Anna",
            "lastName": "Berg",
            **fields,
        }
        response = await self.client.post(
            f"/admin/v1/tenants/{self.tenant_id}/customers", json=body, headers=self.admin
        )
        return expect(response, 201)

    async def key(
        self, studio: int, scopes: list[str], integration: int | None = None
    ) -> dict[str, str]:
        body = {"studioId": studio, "name": "k", "scopes": scopes}
        created = expect(
            await self.client.post(
                f"/admin/v1/tenants/{self.tenant_id}/api-keys",
                json={**body, "partnerIntegrationId": integration},
                headers=self.admin,
            ),
            201,
        )
        return {"X-API-KEY": created["key"]}


async def make_chain(client, settings, clock) -> Chain:
    admin = admin_headers(settings, clock)
    setup = await create_tenant(client, admin, "Chain")
    studio_b = expect(
        await client.post(
            f"/admin/v1/tenants/{setup.tenant_id}/studios",
            json={
                "name": "Studio B",
                "timeZone": "Europe/Berlin",
                "currency": "EUR",
                "locale": "de-DE",
            },
            headers=admin,
        ),
        201,
    )["id"]
    chain = Chain(
        client, admin, setup.tenant_id, setup.studio_id, studio_b, {}, {}, setup.integration_id
    )
    everything = [scope.value for scope in StudioScope]
    chain.key_a = await chain.key(chain.studio_a, everything)
    chain.key_b = await chain.key(chain.studio_b, everything)
    return chain


MONTHLY_RATE = {
    "name": "Premium 12",
    "term": {"value": 12, "unit": "MONTH"},
    "extensionTerm": {"value": 1, "unit": "MONTH"},
    "cancellationPeriod": {"value": 1, "unit": "MONTH"},
    "paymentFrequencies": [
        {
            "type": "RECURRING",
            "term": {"value": 1, "unit": "MONTH"},
            "price": "29.90",
            "currency": "EUR",
        }
    ],
}


async def create_rate(chain: Chain, **changes: Any) -> dict[str, Any]:
    response = await chain.client.post(
        f"/admin/v1/tenants/{chain.tenant_id}/rates",
        json={**MONTHLY_RATE, **changes},
        headers=chain.admin,
    )
    return expect(response, 201)


async def create_contract(
    chain: Chain, customer: dict[str, Any], rate: dict[str, Any], start: str
) -> dict[str, Any]:
    response = await chain.client.post(
        f"/admin/v1/tenants/{chain.tenant_id}/contracts",
        json={
            "customerId": customer["id"],
            "rateId": rate["id"],
            "paymentFrequencyId": rate["paymentFrequencies"][0]["id"],
            "startDate": start,
        },
        headers=chain.admin,
    )
    return expect(response, 201)


MONTHLY_MODULE_PRICE = {
    "type": "RECURRING",
    "term": {"value": 1, "unit": "MONTH"},
    "price": "9.90",
    "currency": "EUR",
}


async def create_module(chain: Chain, rate_ids: list[int], **fields: Any) -> dict[str, Any]:
    body = {
        "name": "Sauna",
        "imageUrl": "https://example.org/sauna.png",
        "term": {"value": 1, "unit": "MONTH"},
        "extension": {
            "extensionType": "TERM_EXTENSION",
            "termExtension": {"value": 1, "unit": "MONTH"},
        },
        "cancelationPeriod": {"value": 14, "unit": "DAY"},
        "trialPeriod": {"value": 7, "unit": "DAY"},
        "paymentFrequencies": [MONTHLY_MODULE_PRICE],
        "rateIds": rate_ids,
        **fields,
    }
    response = await chain.client.post(
        f"/admin/v1/tenants/{chain.tenant_id}/additional-modules", json=body, headers=chain.admin
    )
    return expect(response, 201)


async def purchase_module(chain: Chain, contract: dict[str, Any], module: dict[str, Any]) -> int:
    """Book ``module`` onto ``contract`` (no trial) with Studio A's key: the new contract's id."""
    bought = await chain.client.post(
        f"/v1/memberships/{contract['id']}/self-service/additional-modules/purchase",
        json={
            "additionalModuleId": module["id"],
            "paymentFrequencyId": module["module"]["paymentFrequencies"][0]["id"],
            "bookTrialPeriod": False,
        },
        headers=chain.key_a,
    )
    return int(expect(bought, 200)["id"])


# A partner's key that also books modules for its customers.
PARTNER_SCOPES = [
    "CUSTOMER_READ",
    "CUSTOMER_BENEFIT_READ",
    "CUSTOMER_BENEFIT_WRITE",
    "MEMBERSHIP_SELF_SERVICE_READ",
    "MEMBERSHIP_SELF_SERVICE_ADDITIONAL_MODULE_READ",
    "MEMBERSHIP_SELF_SERVICE_ADDITIONAL_MODULE_CONTRACT_READ",
    "MEMBERSHIP_SELF_SERVICE_ADDITIONAL_MODULE_CONTRACT_WRITE",
]


async def partner_benefit(chain: Chain, key: str = "SAUNA", **fields: Any) -> dict[str, Any]:
    """A benefit of the partner integrated in Studio A (cross-facility unless told)."""
    base = f"/admin/v1/tenants/{chain.tenant_id}"
    integration = await chain.client.get(
        f"{base}/partner-integrations/{chain.integration_a}", headers=chain.admin
    )
    partner_id = expect(integration, 200)["partnerId"]
    body = {"key": key, "name": key.title(), "crossFacility": True, **fields}
    response = await chain.client.post(
        f"{base}/partners/{partner_id}/benefits", json=body, headers=chain.admin
    )
    return expect(response, 201)


async def grant_by_module(
    chain: Chain, benefit: dict[str, Any], module: dict[str, Any], **contingent: Any
) -> None:
    """``module`` grants ``benefit``: unlimited, or ``uses`` per ``period``."""
    body = {
        "additionalModuleId": module["id"],
        **({"contingent": contingent} if contingent else {}),
    }
    response = await chain.client.post(
        f"/admin/v1/tenants/{chain.tenant_id}/benefits/{benefit['id']}/grants",
        json=body,
        headers=chain.admin,
    )
    expect(response, 201)
