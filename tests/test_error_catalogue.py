"""Every error code is documented where clients look: on each operation of the OpenAPI document
that can answer it, with an example body, and in the catalogue at ``/errors``. Both are read
from the source; these tests hold them to a simpler reading of it and to the service's answers."""

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

import openbenefits
from openbenefits.tenancy.service import NOT_FOUND_CODES
from tests.helpers import admin_headers, create_tenant, expect

SOURCE = Path(openbenefits.__file__).parent
LOYALTY = "/customers/v2/benefits"
# Where the source names a code, written the ways it writes them.
_RAISED = [
    re.compile(r'\bcode="([A-Z][A-Z0-9_]+)"'),
    re.compile(r'PydanticCustomError\(\s*"([A-Z][A-Z0-9_]+)"'),
    re.compile(r'render_error\([^()]*?"([A-Z][A-Z0-9_]{3,})"', re.DOTALL),
    re.compile(r'^CODE = "([A-Z][A-Z0-9_]+)"', re.MULTILINE),
]
_OAUTH = re.compile(r'oauth_error\(\s*"([a-z_]+)"')


def _named_in_source() -> set[str]:
    found: set[str] = set(NOT_FOUND_CODES.values())
    for path in SOURCE.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        text = path.read_text()
        for pattern in _RAISED:
            found |= set(pattern.findall(text))
        found |= {error.upper() for error in _OAUTH.findall(text)}
    return found


def _documented(document: dict[str, Any], method: str, path: str) -> dict[int, set[str]]:
    responses = document["paths"][path][method]["responses"]
    return {
        int(status): set(next(iter(response["content"].values()))["examples"])
        for status, response in responses.items()
        if status[0] in "45"
    }


async def test_every_code_named_in_the_source_is_in_the_catalogue(client: httpx.AsyncClient):
    response = await client.get("/errors")
    assert response.status_code == 200
    entries = response.json()["codes"]
    catalogued = {entry["code"] for entry in entries}
    named = _named_in_source()
    assert len(named) > 100
    assert named - catalogued == set()
    for entry in entries:
        assert entry["statuses"], entry
        assert entry["surfaces"], entry
        assert all(len(meaning) > 5 for meaning in entry["meanings"]), entry


async def test_the_catalogue_reads_as_a_page_in_a_browser_and_the_readme_links_it(
    client: httpx.AsyncClient,
):
    readme = (SOURCE.parent.parent / "README.md").read_text()
    assert "(http://127.0.0.1:8000/errors)" in readme
    page = await client.get("/errors", headers={"accept": "text/html"})
    assert page.headers["content-type"].startswith("text/html")
    assert "<code>POLICY_MISMATCH</code>" in page.text


def test_every_error_status_of_every_operation_lists_its_codes_with_their_bodies(app):
    document = app.openapi()
    operations = 0
    for path, item in document["paths"].items():
        for method, operation in item.items():
            operations += 1
            errors = {s: r for s, r in operation["responses"].items() if s[0] in "45"}
            assert errors, (method, path)
            for status, response in errors.items():
                ((media_type, content),) = response["content"].items()
                assert content["examples"], (method, path, status)
                for code, example in content["examples"].items():
                    body = example["value"]
                    assert f"`{code}`" in response["description"]
                    if path.startswith("/v1/"):
                        assert media_type == "application/json"
                        assert (body["errorCode"], body["errorMessage"]) == (
                            code,
                            example["summary"],
                        )
                    else:
                        assert media_type == "application/problem+json"
                        assert (body["code"], body["status"]) == (code, int(status))
    assert operations > 100


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("post", f"{LOYALTY}/contracts/{{uuid}}/contract-consumer", 401, "POLICY_MISMATCH"),
        ("post", f"{LOYALTY}/contracts/{{uuid}}/contract-consumer", 409, "CONTRACT_HOLDER_EXISTS"),
        (
            "post",
            f"{LOYALTY}/loyaltyprograms/{{loyaltyProgramId}}/contracts",
            409,
            "LOYALTY_PROGRAM_NOT_CURRENT",
        ),
        ("post", f"{LOYALTY}/contracts/{{uuid}}/points-transactions", 409, "POINTS_TYPE_MISMATCH"),
        ("post", f"{LOYALTY}/contracts/{{uuid}}/points-transactions", 400, "WRONG_PROGRAM_TYPE"),
        ("post", f"{LOYALTY}/contracts/claim-personnel-ticket", 409, "ALREADY_CLAIMED"),
        (
            "post",
            "/v1/customers/{customerId}/benefits/{benefitKey}/use",
            400,
            "BENEFIT_CONTINGENT_EXHAUSTED",
        ),
        ("get", "/v1/customers/{customerId}", 401, "API_KEY_MISSING"),
        ("get", "/v1/customers/{customerId}", 429, "RATE_LIMITED"),
        ("post", "/admin/v1/tenants", 422, "VALIDATION_ERROR"),
        ("post", "/v1/customers/search", 400, "VALIDATION_ERROR"),
    ],
)
def test_the_codes_a_replay_of_the_seeds_meets_are_documented_on_their_operation(
    app, method, path, status, code
):
    assert code in _documented(app.openapi(), method, path).get(status, set())


async def test_a_refusal_answers_a_code_its_operation_documents(app, client, settings, clock):
    """The service's own answer, not only its source: a points transaction of another type than
    the card's."""
    setup = await create_tenant(client, admin_headers(settings, clock), "Codes")
    granted = await client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(setup.client_id, setup.client_secret),
    )
    headers = {"Authorization": f"Bearer {expect(granted, 200)['access_token']}"}
    program = expect(
        await client.post(
            f"{LOYALTY}/loyaltyprograms",
            json={
                "loyaltyProgramType": "POINTS",
                "productId": "ENT:GiftCard",
                "startDate": "2020-01-01T00:00:00Z",
            },
            headers=headers,
        ),
        201,
    )
    contract = expect(
        await client.post(
            f"{LOYALTY}/loyaltyprograms/{program['id']}/contracts",
            json={"consumableFrom": "2020-01-01T00:00:00Z"},
            headers=headers,
        ),
        201,
    )
    points = f"{LOYALTY}/contracts/{contract['uuid']}/points-transactions"
    deposit = {
        "transactionType": "DEPOSIT",
        "pointsType": "NOK",
        "amount": "10",
        "externalRef": "1",
    }
    expect(await client.post(points, json=deposit, headers=headers), 201)
    other = await client.post(
        points, json={**deposit, "pointsType": "EUR", "externalRef": "2"}, headers=headers
    )
    refusal = other.json()
    documented = _documented(
        app.openapi(), "post", f"{LOYALTY}/contracts/{{uuid}}/points-transactions"
    )
    assert refusal["code"] in documented[other.status_code]
