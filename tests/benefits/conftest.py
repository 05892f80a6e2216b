"""The seed's scene: Studio A and Studio B of one tenant, the Sauna App partner integrated in
both with a cross-facility SAUNA benefit, and customer A of Studio A whose Sauna module grants
it 5 times per month."""

from dataclasses import dataclass
from typing import Any

import pytest

from tests.chain import Chain, create_contract, create_module, create_rate, purchase_module
from tests.helpers import expect

PARTNER_SCOPES = [
    "CUSTOMER_READ",
    "CUSTOMER_BENEFIT_READ",
    "CUSTOMER_BENEFIT_WRITE",
    "CUSTOMER_WEIGHING_WRITE",
]


@dataclass
class Scene:
    chain: Chain
    partner_id: int
    integration_b: int
    key_a: dict[str, str]  # the partner's key in Studio A
    key_b: dict[str, str]  # ... and in Studio B
    customer: dict[str, Any]
    contract: dict[str, Any]
    rate: dict[str, Any]
    module: dict[str, Any]
    sauna: dict[str, Any]
    module_contract_id: int = 0

    @property
    def admin_base(self) -> str:
        return f"/admin/v1/tenants/{self.chain.tenant_id}"

    async def benefit(self, key: str, *, cross_facility: bool = False) -> dict[str, Any]:
        response = await self.chain.client.post(
            f"{self.admin_base}/partners/{self.partner_id}/benefits",
            json={"key": key, "name": key.title(), "crossFacility": cross_facility},
            headers=self.chain.admin,
        )
        return expect(response, 201)

    async def grant(self, benefit: dict[str, Any], **source: Any) -> dict[str, Any]:
        response = await self.chain.client.post(
            f"{self.admin_base}/benefits/{benefit['id']}/grants",
            json=source,
            headers=self.chain.admin,
        )
        return expect(response, 201)

    async def use(
        self,
        key: str,
        *,
        studio: str = "a",
        customer: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        customer_id = (customer or self.customer)["id"]
        return await self.chain.client.post(
            f"/v1/customers/{customer_id}/benefits/{key}/use",
            headers={**(self.key_a if studio == "a" else self.key_b), **(headers or {})},
        )

    async def check(
        self, *keys: str, studio: str = "a", customer: dict[str, Any] | None = None
    ) -> dict[str, bool]:
        customer_id = (customer or self.customer)["id"]
        response = await self.chain.client.get(
            f"/v1/customers/{customer_id}/benefits",
            params=[("key", k) for k in keys],
            headers=self.key_a if studio == "a" else self.key_b,
        )
        return {row["key"]: row["valid"] for row in expect(response, 200)}

    async def contingent(self, key: str = "SAUNA") -> dict[str, Any]:
        response = await self.chain.client.get(
            f"/v1/customers/{self.customer['id']}/benefits/{key}/contingent", headers=self.key_a
        )
        return expect(response, 200)


@pytest.fixture
async def scene(chain: Chain) -> Scene:
    base = f"/admin/v1/tenants/{chain.tenant_id}"
    integration_a = expect(
        await chain.client.get(
            f"{base}/partner-integrations/{chain.integration_a}", headers=chain.admin
        ),
        200,
    )
    partner_id = integration_a["partnerId"]
    integration_b = expect(
        await chain.client.post(
            f"{base}/partner-integrations",
            json={"partnerId": partner_id, "studioId": chain.studio_b},
            headers=chain.admin,
        ),
        201,
    )["id"]
    rate = await create_rate(chain)
    customer = await chain.customer()
    contract = await create_contract(chain, customer, rate, "2026-01-01")
    module = await create_module(chain, [rate["id"]])
    scene = Scene(
        chain=chain,
        partner_id=partner_id,
        integration_b=integration_b,
        key_a=await chain.key(chain.studio_a, PARTNER_SCOPES, chain.integration_a),
        key_b=await chain.key(chain.studio_b, PARTNER_SCOPES, integration_b),
        customer=customer,
        contract=contract,
        rate=rate,
        module=module,
        sauna={},
    )
    scene.sauna = await scene.benefit("SAUNA", cross_facility=True)
    await scene.grant(
        scene.sauna,
        additionalModuleId=module["id"],
        contingent={"uses": 5, "period": "MONTH"},
    )
    scene.module_contract_id = await purchase_module(chain, contract, module)
    return scene
