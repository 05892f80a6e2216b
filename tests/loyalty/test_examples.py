"""The loyalty operations' examples in the OpenAPI document: one on every request body and every
answer, each valid by its operation's own schema, and the requests taken by the service."""

from typing import Any

import jsonschema

from openbenefits.loyalty.examples import PREFIX
from tests.helpers import expect
from tests.loyalty.conftest import Org


def _loyalty_operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in document["paths"].items()
        if path.startswith(PREFIX)
        for method, operation in item.items()
    ]


def _valid(document: dict[str, Any], schema: dict[str, Any], value: Any) -> None:
    """``value`` by ``schema``, whose references point into the document's components."""
    validator = jsonschema.Draft202012Validator(
        {**schema, "components": document["components"]},
        format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
    )
    validator.validate(value)


def test_every_loyalty_request_and_answer_has_a_valid_example(app):
    document = app.openapi()
    operations = _loyalty_operations(document)
    assert len(operations) > 20
    for method, path, operation in operations:
        where = f"{method} {path}"
        body = operation.get("requestBody", {}).get("content", {}).get("application/json")
        if body is not None:
            assert "example" in body, where
            _valid(document, body["schema"], body["example"])
        success = next(r for s, r in operation["responses"].items() if s[0] == "2")
        answer = success.get("content", {}).get("application/json")
        if answer is not None and answer.get("schema"):
            assert "example" in answer, where
            _valid(document, answer["schema"], answer["example"])


def _example(document: dict[str, Any], method: str, path: str) -> Any:
    content = document["paths"][f"{PREFIX}{path}"][method]["requestBody"]["content"]
    return content["application/json"]["example"]


async def test_the_request_examples_are_taken_by_the_service(app, org: Org):
    """In the order a partner would send them: the organisation and customer numbers put in
    for the caller's own."""
    document = app.openapi()
    await org.customer(1234567)
    program = expect(
        await org.post("/loyaltyprograms", _example(document, "post", "/loyaltyprograms")), 201
    )
    versions = f"/loyaltyprograms/{program['id']}/versions"
    expect(
        await org.post(
            versions, _example(document, "post", "/loyaltyprograms/{loyaltyProgramId}/versions")
        ),
        201,
    )
    contract_example = _example(document, "post", "/loyaltyprograms/{loyaltyProgramId}/contracts")
    contracts = f"/loyaltyprograms/{program['id']}/contracts"
    held = expect(await org.post(contracts, contract_example), 201)
    assert held["contractConsumers"][0]["customerNumber"] == 1234567
    unheld = {
        k: v for k, v in contract_example.items() if k not in ("customerNumber", "customerRef")
    }
    open_contract = expect(await org.post(contracts, unheld), 201)
    consumer = {
        **_example(document, "post", "/contracts/{uuid}/contract-consumer"),
        "customerOrganisationId": org.tenant_id,
    }
    consumers = f"/contracts/{open_contract['uuid']}/contract-consumer"
    expect(await org.post(consumers, consumer), 201)
    block = _example(
        document,
        "put",
        "/contracts/{uuid}/contract-consumer/{customerOrganisationId}/{customerNumber}",
    )
    expect(await org.put(f"{consumers}/{org.tenant_id}/1234567", block), 200)
    event = _example(document, "post", "/contracts/{uuid}/order-line-events")
    expect(await org.post(f"/contracts/{held['uuid']}/order-line-events", event), 201)
    validation = _example(document, "post", "/contracts/validate-consumptions")
    expect(await org.post("/contracts/validate-consumptions", validation), 200)
    bands = _example(document, "put", "/age-bands")
    expect(await org.put("/age-bands", bands), 200)
