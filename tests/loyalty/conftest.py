"""An organisation on the loyalty API: its bearer token, its customers and programs."""

from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx
import pytest

from openbenefits.config import Settings
from openbenefits.kit.clock import FixedClock
from tests.helpers import admin_headers, create_tenant, expect

BASE = "/customers/v2/benefits"

TIMED_PROGRAM = {
    "loyaltyProgramType": "TIMED",
    "productId": "ENT:DemoProduct:Demo",
    "productVersion": "ENT:ProductVersion:V1",
    "internalDescription": "Free coffee program",
    "startDate": "2020-03-13T10:26:44.118Z",
    "endDate": "2030-11-22T01:55:56+00:00",
    "usageValidityPeriod": "P365D",
    "descriptions": [
        {
            "languageCode": "ENG",
            "description": "Show your ticket, get free coffee",
            "displayName": "Demo Coffee Program",
        },
        {
            "languageCode": "NOB",
            "description": "Kaffeprogrammet til Entur gir deg gratis kaffe hos lokfører!",
            "displayName": "Demo kaffe-program",
        },
    ],
}


@dataclass
class Org:
    client: httpx.AsyncClient
    admin: dict[str, str]
    tenant_id: int
    studio_id: int
    client_id: str
    client_secret: str
    clock: FixedClock
    _token: tuple[object, str] | None = None

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token[1]}"} if self._token else {}

    async def refresh(self) -> None:
        """A token from the token endpoint, fetched again once the test clock has moved."""
        if self._token and self._token[0] == self.clock.now():
            return
        form = {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self.client_secret,
        }
        token = expect(await self.client.post("/oauth/token", data=form), 200)["access_token"]
        self._token = (self.clock.now(), str(token))

    async def customer(
        self, number: int, first_name: str = "Anders", birth: date | None = None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "studioId": self.studio_id,
            "customerNumber": str(number),
            "firstName": first_name,
            "lastName": "Jensen",
        }
        if birth:
            body["dateOfBirth"] = birth.isoformat()
        return expect(
            await self.client.post(
                f"/admin/v1/tenants/{self.tenant_id}/customers", json=body, headers=self.admin
            ),
            201,
        )

    async def post(self, path: str, json: object) -> httpx.Response:
        await self.refresh()
        return await self.client.post(f"{BASE}{path}", json=json, headers=self.headers)

    async def put(self, path: str, json: object) -> httpx.Response:
        await self.refresh()
        return await self.client.put(f"{BASE}{path}", json=json, headers=self.headers)

    async def get(self, path: str, **params: Any) -> httpx.Response:
        await self.refresh()
        return await self.client.get(f"{BASE}{path}", params=params, headers=self.headers)

    async def delete(self, path: str) -> httpx.Response:
        await self.refresh()
        return await self.client.delete(f"{BASE}{path}", headers=self.headers)

    async def program(self, **changes: Any) -> dict[str, Any]:
        return expect(await self.post("/loyaltyprograms", {**TIMED_PROGRAM, **changes}), 201)

    async def contract(self, program_id: int, **fields: Any) -> dict[str, Any]:
        body = {"consumableFrom": "2026-01-01T00:00:00+01:00", **fields}
        return expect(await self.post(f"/loyaltyprograms/{program_id}/contracts", body), 201)

    async def connect(self, uuid: str, number: int, **fields: Any) -> httpx.Response:
        body = {
            "customerOrganisationId": self.tenant_id,
            "customerNumber": number,
            "isContractHolder": False,
            **fields,
        }
        return await self.post(f"/contracts/{uuid}/contract-consumer", body)


async def make_org(
    client: httpx.AsyncClient, settings: Settings, clock: FixedClock, name: str
) -> Org:
    admin = admin_headers(settings, clock)
    setup = await create_tenant(client, admin, name)
    return Org(
        client,
        admin,
        setup.tenant_id,
        setup.studio_id,
        setup.client_id,
        setup.client_secret,
        clock,
    )


@pytest.fixture
async def org(client, settings, clock) -> Org:
    return await make_org(client, settings, clock, "Entur")


@pytest.fixture
async def other_org(client, settings, clock) -> Org:
    return await make_org(client, settings, clock, "Vy")
