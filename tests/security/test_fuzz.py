"""No input gets a 5xx: a bounded schemathesis run over every operation of the service's own
OpenAPI document (the studio, loyalty and admin surfaces, the token endpoint and the rest), with
valid credentials of a tenant built through the admin API, checking every answer against the
document (status, media type, body and headers).

Cases are drawn by hypothesis from schemathesis's strategies, data that fits the document and
data that does not, with a fixed seed; each is sent in-process to the ASGI app on the test's
event loop (hypothesis runs in a worker thread and hands each request to the loop), so the app
runs on the suite's real databases. Each surface's operations are fuzzed one after another in
one tenant, which fills with what they create; each operation is a subtest. An operation added
later is fuzzed without editing this file.
"""

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import hypothesis
import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.generation.case import Case
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from openbenefits.config import Settings
from openbenefits.kit.clock import FixedClock
from openbenefits.tenancy.scopes import StudioScope
from tests.chain import MONTHLY_RATE
from tests.helpers import admin_headers, create_tenant, expect

SEED = 14
# Cases per operation, drawn from both generation modes: about 130 operations make a few
# thousand requests.
EXAMPLES = 16
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
LOYALTY = "/customers/v2/benefits"
SURFACES: dict[str, Callable[[str], bool]] = {
    "studio": lambda path: path.startswith("/v1/"),
    "loyalty": lambda path: path.startswith(LOYALTY),
    "admin": lambda path: path.startswith("/admin/"),
    "the rest": lambda path: not path.startswith(("/v1/", LOYALTY, "/admin/")),
}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Without rate limits: thousands of requests from one credential are the point here."""
    return settings.model_copy(update={"rate_limits_enabled": False})


@dataclass
class World:
    """A tenant with something in it, and credentials for every surface."""

    tenant_id: int
    studio_id: int
    integration_id: int
    admin: dict[str, str]
    studio: dict[str, str]
    loyalty: dict[str, str]

    def credentials(self, path: str) -> dict[str, str]:
        if path.startswith("/v1/"):
            return self.studio
        if path.startswith(LOYALTY):
            return self.loyalty
        return self.admin

    async def renew(self, client: httpx.AsyncClient) -> None:
        """New studio and loyalty credentials: an operation fuzzed before may have revoked the
        ones in use."""
        base = f"/admin/v1/tenants/{self.tenant_id}"
        key = await client.post(
            f"{base}/api-keys",
            json={
                "studioId": self.studio_id,
                "partnerIntegrationId": self.integration_id,
                "name": "fuzzing",
                "scopes": [scope.value for scope in StudioScope],
            },
            headers=self.admin,
        )
        self.studio = {"X-API-KEY": expect(key, 201)["key"]}
        oauth = await client.post(
            f"{base}/oauth-clients",
            json={"name": "fuzzing", "scopes": ["LOYALTY_READ", "LOYALTY_WRITE"]},
            headers=self.admin,
        )
        created = expect(oauth, 201)
        self.loyalty = await _bearer(client, created["clientId"], created["clientSecret"])


async def _bearer(client: httpx.AsyncClient, client_id: object, secret: object) -> dict[str, str]:
    form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    token = expect(await client.post("/oauth/token", data=form), 200)["access_token"]
    return {"Authorization": f"Bearer {token}"}


async def _world(client: httpx.AsyncClient, settings: Settings, clock: FixedClock) -> World:
    """Built through the APIs as an operator and a partner would: a customer under contract
    with a module that grants a benefit, and a program of each loyalty type with a contract."""
    admin = admin_headers(settings, clock)
    setup = await create_tenant(
        client, admin, "Fuzzed", scopes=[scope.value for scope in StudioScope]
    )
    base = f"/admin/v1/tenants/{setup.tenant_id}"
    studio = {"X-API-KEY": setup.api_key}

    async def post(path: str, body: object, headers: dict[str, str]) -> dict[str, Any]:
        return expect(await client.post(path, json=body, headers=headers), 201)

    customer = await post(
        f"{base}/customers",
        {
            "studioId": setup.studio_id,
            "firstName": "Anna",
            "lastName": "Berg",
            "customerNumber": "7",
        },
        admin,
    )
    rate = await post(f"{base}/rates", MONTHLY_RATE, admin)
    contract = await post(
        f"{base}/contracts",
        {
            "customerId": customer["id"],
            "rateId": rate["id"],
            "paymentFrequencyId": rate["paymentFrequencies"][0]["id"],
            "startDate": "2026-01-01",
        },
        admin,
    )
    module = await post(
        f"{base}/additional-modules",
        {
            "name": "Sauna",
            "imageUrl": "https://example.org/sauna.png",
            "term": {"value": 1, "unit": "MONTH"},
            "extension": {
                "extensionType": "TERM_EXTENSION",
                "termExtension": {"value": 1, "unit": "MONTH"},
            },
            "cancelationPeriod": {"value": 14, "unit": "DAY"},
            "paymentFrequencies": [MONTHLY_RATE["paymentFrequencies"][0]],
            "rateIds": [rate["id"]],
        },
        admin,
    )
    benefit = await post(
        f"{base}/partners/{setup.partner_id}/benefits", {"key": "SAUNA", "name": "Sauna"}, admin
    )
    await post(
        f"{base}/benefits/{benefit['id']}/grants",
        {"additionalModuleId": module["id"], "contingent": {"uses": 5, "period": "MONTH"}},
        admin,
    )
    await post(f"{base}/cancelation-reasons", {"name": "Moving away"}, admin)
    bought = await client.post(
        f"/v1/memberships/{contract['id']}/self-service/additional-modules/purchase",
        json={
            "additionalModuleId": module["id"],
            "paymentFrequencyId": module["module"]["paymentFrequencies"][0]["id"],
            "bookTrialPeriod": False,
        },
        headers=studio,
    )
    expect(bought, 200)
    loyalty = await _bearer(client, setup.client_id, setup.client_secret)
    program = {
        "productId": "ENT:Product",
        "startDate": "2026-01-01T00:00:00Z",
        "usageValidityPeriod": "P365D",
        "descriptions": [{"languageCode": "ENG", "description": "Demo"}],
    }
    for kind, extra in (
        ("TIMED", {}),
        ("COUPONS", {"defaultCouponsLimit": 10}),
        ("POINTS", {}),
    ):
        created = await post(
            f"{LOYALTY}/loyaltyprograms", {**program, "loyaltyProgramType": kind, **extra}, loyalty
        )
        await post(
            f"{LOYALTY}/loyaltyprograms/{created['id']}/contracts",
            {"consumableFrom": "2026-01-01T00:00:00Z", "customerNumber": 7},
            loyalty,
        )
    return World(setup.tenant_id, setup.studio_id, setup.integration_id, admin, studio, loyalty)


def _part(part: tuple[Any, ...]) -> tuple[Any, ...]:
    """A multipart part as httpx takes it: its content as text or bytes."""
    name, content, *rest = part
    return (name, content if isinstance(content, str | bytes) else str(content), *rest)


async def _send(client: httpx.AsyncClient, case: Case) -> httpx.Response:
    """The case as schemathesis would send it with requests, through httpx."""
    request = case.as_transport_kwargs(base_url=str(client.base_url))
    request.pop("cookies", None)  # always empty: the document declares no cookie parameter
    if files := request.pop("files", None):
        request["files"] = [(name, _part(part)) for name, part in files]
    if isinstance(request.get("data"), str | bytes):
        request["content"] = request.pop("data")
    response = await client.request(**request)
    await response.request.aread()  # a multipart body streams: the checks read it again
    return response


def _fuzz(
    client: httpx.AsyncClient, loop: asyncio.AbstractEventLoop, cases: st.SearchStrategy[Case]
) -> None:
    """Run in a worker thread: draws cases and has the test's loop send them."""

    @hypothesis.seed(SEED)
    @hypothesis.settings(
        max_examples=EXAMPLES,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    @hypothesis.given(case=cases)
    def answers_fit(case: Case) -> None:
        response = asyncio.run_coroutine_threadsafe(_send(client, case), loop).result()
        case.validate_response(response, checks=CHECKS)

    answers_fit()


@pytest.mark.parametrize("surface", SURFACES)
async def test_no_answer_is_a_server_error_and_every_answer_matches_the_document(
    app: FastAPI,
    client: httpx.AsyncClient,
    settings: Settings,
    clock: FixedClock,
    subtests: pytest.Subtests,
    surface: str,
) -> None:
    document = app.openapi()
    schema = schemathesis.openapi.from_dict(document)
    world = await _world(client, settings, clock)
    loop = asyncio.get_running_loop()
    fuzzed = 0
    for path, item in document["paths"].items():
        if not SURFACES[surface](path):
            continue
        for method in item:
            await world.renew(client)
            fixed: dict[str, Any] = {"headers": world.credentials(path)}
            if "{tenantId}" in path:
                fixed["path_parameters"] = {"tenantId": world.tenant_id}
            operation = schema[path][method.upper()]
            cases = st.one_of(
                [operation.as_strategy(generation_mode=mode, **fixed) for mode in GenerationMode]
            )
            with subtests.test(f"{method.upper()} {path}"):
                await asyncio.to_thread(_fuzz, client, loop, cases)
            fuzzed += 1
    assert fuzzed
