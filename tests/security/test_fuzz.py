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
from tests.security.world import build_tenant

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
    world = await build_tenant(client, settings, clock, "fuzzed")
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
