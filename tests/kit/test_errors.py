"""Bad input anywhere answers a clear 4xx in the surface's error shape; never a stack trace."""

import re

import httpx
import pytest

from tests.helpers import admin_headers, create_tenant

STUDIO_WRITE = ["CUSTOMER_WRITE"]


@pytest.fixture
async def studio_key(probe_client, settings, clock) -> str:
    setup = await create_tenant(
        probe_client, admin_headers(settings, clock), "Acme", scopes=STUDIO_WRITE
    )
    return setup.api_key


def _studio_error(response: httpx.Response, status: int, code: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body: dict[str, object] = response.json()
    assert set(body) <= {"errorMessage", "errorCode", "traceId", "reference"}
    assert body["errorCode"] == code
    assert body["traceId"] == response.headers["x-request-id"]
    return body


def _problem(response: httpx.Response, status: int, code: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, object] = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["title"]
    assert body["detail"]
    assert body["type"] == "about:blank"
    return body


async def test_studio_malformed_json_is_400(probe_client, studio_key):
    response = await probe_client.post(
        "/v1/probe/weighings",
        content=b'{"weight": ',
        headers={"X-API-KEY": studio_key, "content-type": "application/json"},
    )
    _studio_error(response, 400, "MALFORMED_JSON")


@pytest.mark.parametrize(
    ("body", "reference"),
    [
        ({"weight": "heavy"}, "body.weight"),
        ({"weight": -1}, "body.weight"),
        ({}, "body.weight"),
        ({"weight": 70, "colour": "red"}, "body.colour"),
    ],
)
async def test_studio_validation_errors_are_400_with_a_reference(
    probe_client, studio_key, body, reference
):
    response = await probe_client.post(
        "/v1/probe/weighings", json=body, headers={"X-API-KEY": studio_key}
    )
    assert _studio_error(response, 400, "VALIDATION_ERROR")["reference"] == reference


async def test_studio_unknown_path_is_404_in_the_reference_shape(probe_client, studio_key):
    response = await probe_client.get("/v1/no/such/thing", headers={"X-API-KEY": studio_key})
    _studio_error(response, 404, "NOT_FOUND")


async def test_unexpected_errors_are_500_without_internals(probe_client):
    response = await probe_client.post("/v1/probe/crash")
    body = _studio_error(response, 500, "INTERNAL_ERROR")
    assert "secret internals" not in response.text
    assert "Traceback" not in response.text
    assert body["errorMessage"] == "Unexpected system error."


async def test_admin_malformed_json_is_400_problem(client, settings, clock):
    response = await client.post(
        "/admin/v1/tenants",
        content=b"{nope",
        headers={**admin_headers(settings, clock), "content-type": "application/json"},
    )
    _problem(response, 400, "MALFORMED_JSON")


@pytest.mark.parametrize(
    ("body", "location", "kind"),
    [
        ({"name": 12}, "body.name", "string_type"),
        ({"name": "Acme", "owner": "me"}, "body.owner", "extra_forbidden"),
        ({"name": "Acme", "timeZone": "Nowhere/City"}, "body.timeZone", "value_error"),
        ({"name": ""}, "body.name", "string_too_short"),
        ({"name": "Nul\u0000Byte"}, "body.name", "string_pattern_mismatch"),
        ([], "body", "model_type"),
    ],
)
async def test_admin_validation_errors_are_422_problems(
    client, settings, clock, body, location, kind
):
    response = await client.post(
        "/admin/v1/tenants", json=body, headers=admin_headers(settings, clock)
    )
    problem = _problem(response, 422, "VALIDATION_ERROR")
    assert {"location": location, "type": kind} in [
        {"location": e["location"], "type": e["type"]} for e in problem["errors"]
    ]


async def test_bad_path_and_query_parameters_are_validation_errors(client, settings, clock):
    headers = admin_headers(settings, clock)
    _problem(await client.get("/admin/v1/tenants/abc", headers=headers), 422, "VALIDATION_ERROR")
    _problem(
        await client.get("/admin/v1/tenants?perPage=0", headers=headers), 422, "VALIDATION_ERROR"
    )


async def test_wrong_method_is_405_problem(client, settings, clock):
    response = await client.put("/admin/v1/tenants", headers=admin_headers(settings, clock))
    _problem(response, 405, "METHOD_NOT_ALLOWED")


async def test_a_405_allows_every_method_served_at_the_path(app, client):
    """Generated over the document: where several routes share a path, Allow names the methods
    of all of them (a studio path also answers the HEAD key check), and only methods some
    route serves there."""
    tried = 0
    for path, item in app.openapi()["paths"].items():
        if set(item) == {"head"}:
            continue  # the key check, which answers HEAD alone on any studio path
        url = re.sub(r"{[^}]+}", "1", path)
        response = await client.request("TRACE", url)
        assert response.status_code == 405, path
        allowed = set(response.headers["allow"].split(", "))
        assert {method.upper() for method in item} <= allowed, path
        for method in allowed:
            assert (await client.request(method, url)).status_code != 405, (method, path)
        tried += 1
    assert tried > 80


async def test_declared_huge_body_is_413(client, settings, clock):
    big = b'{"name": "' + b"x" * 70_000 + b'"}'
    response = await client.post(
        "/admin/v1/tenants",
        content=big,
        headers={**admin_headers(settings, clock), "content-type": "application/json"},
    )
    _problem(response, 413, "PAYLOAD_TOO_LARGE")


async def test_streamed_huge_body_is_413(probe_client, studio_key):
    async def chunks():
        yield b'{"weight": 1, "note": "'
        for _ in range(100):
            yield b"y" * 1024
        yield b'"}'

    response = await probe_client.post(
        "/v1/probe/weighings",
        content=chunks(),
        headers={"X-API-KEY": studio_key, "content-type": "application/json"},
    )
    _studio_error(response, 413, "PAYLOAD_TOO_LARGE")


async def test_correlation_id_is_echoed_and_a_request_id_is_given(client):
    response = await client.get("/healthz", headers={"X-Correlation-Id": "abc-123"})
    assert response.headers["x-correlation-id"] == "abc-123"
    assert len(response.headers["x-request-id"]) == 32
    unsafe = await client.get("/healthz", headers={"X-Correlation-Id": "evil\tvalue" + "x" * 200})
    assert unsafe.headers["x-correlation-id"] == unsafe.headers["x-request-id"]
