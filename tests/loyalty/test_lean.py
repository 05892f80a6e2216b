"""The loyalty lean lane (loyalty/lean.py) answers exactly as the framework's routes do and
leaves everything out of its common case to them. On PostgreSQL only: that is where it is
installed."""

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from openbenefits.app import create_app
from openbenefits.config import Settings
from openbenefits.kit.blobstore import LocalBlobStore
from openbenefits.kit.clock import FixedClock
from openbenefits.kit.db import Database
from openbenefits.kit.lean import LeanRoutes
from tests.benefits.statements import Statements, statements
from tests.helpers import expect
from tests.loyalty.conftest import BASE, Org
from tests.loyalty.test_points import GIFT_CARD, _transaction
from tests.loyalty.test_usage import COUPON_CARD

Request = tuple[str, str, dict[str, Any]]


@pytest.fixture
async def framework(
    db: Database, settings: Settings, clock: FixedClock, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the same service without the lean lane."""
    if db.is_sqlite:
        pytest.skip("the lean lane is installed on PostgreSQL only")
    app = create_app(
        settings, db=db, clock=clock, blobs=LocalBlobStore(tmp_path / "framework-blobs")
    )
    app.user_middleware = [m for m in app.user_middleware if m.cls is not LeanRoutes]
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        yield client


async def _send(
    client: httpx.AsyncClient, db: Database, org: Org, request: Request
) -> tuple[httpx.Response, Statements]:
    method, path, options = request
    await org.refresh()
    headers = {**org.headers, **options.pop("headers", {})}
    async with statements(db) as ran:
        response = await client.request(method, f"{BASE}{path}", headers=headers, **options)
    return response, ran


def _answer(response: httpx.Response) -> tuple[int, Any]:
    body = response.json()
    if isinstance(body, dict):
        for varies in ("traceId", "correlationId", "timestamp"):
            body.pop(varies, None)
    return response.status_code, body


async def _same_answer(
    org: Org, framework: httpx.AsyncClient, db: Database, request: Request
) -> tuple[httpx.Response, Statements]:
    """Send ``request`` through the lean lane and through the framework; both must answer the
    same. The lean lane's answer and what it ran."""
    method, path, options = request
    lean, ran = await _send(org.client, db, org, (method, path, dict(options)))
    answered, framework_ran = await _send(framework, db, org, (method, path, dict(options)))
    assert _answer(lean) == _answer(answered), request
    assert framework_ran.on_driver == []
    return lean, ran


async def _traveller(org: Org) -> tuple[str, str]:
    """Customer 7 holding a customer card and a coupon card with one used coupon."""
    await org.customer(7, "Kari", date(1950, 5, 1))
    card = await org.program()
    timed = await org.contract(card["id"], customerNumber=7)
    coupons = await org.program(**COUPON_CARD)
    coupon_card = await org.contract(coupons["id"], customerNumber=7, couponsLimit=10)
    use = {"orderId": "O-1", "orderLineId": "1", "occurredAt": "2026-11-22T09:00:00Z"}
    expect(await org.post(f"/contracts/{coupon_card['uuid']}/order-line-events", use), 201)
    return timed["uuid"], coupon_card["uuid"]


async def test_reads_answer_as_the_framework(org: Org, framework, db: Database):
    timed, coupon_card = await _traveller(org)
    await org.customer(8, "Ola")
    entitlements = "/entitlements/7/by-customer-number"
    pairs = [
        {"contractUUID": timed, "customerNumber": 7},
        {"contractUUID": coupon_card, "customerNumber": 7},
        {"contractUUID": timed, "customerNumber": 8},
        {"contractUUID": "no-such-contract", "customerNumber": 7},
    ]
    served: list[Request] = [
        ("GET", entitlements, {}),
        ("GET", entitlements, {"params": {"excludeSubContracts": "true"}}),
        ("GET", entitlements, {"params": {"travelDate": "2026-11-29"}}),
        ("GET", entitlements, {"params": {"travelDate": "2026-11-22T09:30:00+01:00"}}),
        ("GET", "/entitlements/8/by-customer-number", {}),  # no entitlements
        ("GET", "/entitlements/9/by-customer-number", {}),  # 404
        ("POST", "/contracts/validate-consumptions", {"json": {"consumptions": pairs}}),
        (
            "POST",
            "/contracts/validate-consumptions",
            {"json": {"consumptions": pairs[:2], "travelDate": "2026-11-23"}},
        ),
    ]
    for request in served:
        _, ran = await _same_answer(org, framework, db, request)
        assert ran.on_driver, request
        assert ran.through_sqlalchemy == [], request
    deferred: list[Request] = [
        ("GET", entitlements, {"headers": {"Authorization": "Bearer forged"}}),  # 401
        ("GET", entitlements, {"params": {"excludeSubContracts": "1"}}),  # coerced by the framework
        ("GET", entitlements, {"params": {"travelDate": "tomorrow"}}),  # 422
        ("GET", entitlements, {"params": {"travelDate": ["2026-11-22", "2026-11-23"]}}),
        ("POST", "/contracts/validate-consumptions", {"json": {"consumptions": []}}),  # 422
        ("POST", "/contracts/validate-consumptions", {"content": b"{", "headers": _JSON}),  # 422
    ]
    for request in deferred:
        _, ran = await _same_answer(org, framework, db, request)
        assert ran.on_driver == [], request
    # A body of undeclared length (chunked) is the framework's: it enforces the body limit.
    body = json.dumps({"consumptions": pairs}).encode()
    answers = []
    for client in (org.client, framework):
        async with statements(db) as ran:
            response = await client.post(
                f"{BASE}/contracts/validate-consumptions",
                content=_chunks(body),
                headers={**org.headers, **_JSON},
            )
        assert "content-length" not in response.request.headers
        assert ran.on_driver == []
        answers.append(_answer(response))
    assert answers[0] == answers[1]
    assert answers[0][0] == 200


_JSON = {"Content-Type": "application/json"}


async def _chunks(body: bytes) -> AsyncIterator[bytes]:
    yield body[:10]
    yield body[10:]


async def test_points_answer_as_the_framework(org: Org, framework, db: Database):
    program = await org.program(**GIFT_CARD)
    uuid = (await org.contract(program["id"]))["uuid"]
    path = f"/contracts/{uuid}/points-transactions"

    def post(body: dict[str, Any]) -> Request:
        return ("POST", path, {"json": body})

    no_deposit_yet = post(_transaction("WITHDRAWAL", "1", "w0"))
    deposit_on_unknown = _transaction("DEPOSIT", "1", "x")
    unknown_card = ("POST", "/contracts/unknown/points-transactions", {"json": deposit_on_unknown})
    refusals = [no_deposit_yet, unknown_card]
    for request in refusals:
        await _same_answer(org, framework, db, request)
    deposit, ran = await _send(org.client, db, org, post(_transaction("DEPOSIT", "100", "d1")))
    assert expect(deposit, 201)["balanceAfter"] == "100.00"
    assert len(ran.on_driver) == 2
    assert ran.through_sqlalchemy == []
    withdrawal, _ = await _send(org.client, db, org, post(_transaction("WITHDRAWAL", "40", "w1")))
    assert expect(withdrawal, 201)["balanceAfter"] == "60.00"
    after_writes = [
        post(_transaction("DEPOSIT", "100", "d1")),  # replayed: 200, the first answer
        post(_transaction("DEPOSIT", "5", "d1")),  # the reference was used otherwise
        post(_transaction("WITHDRAWAL", "60.01", "w2")),  # more than the balance
        post(_transaction("DEPOSIT", "5", "d3", points_type="MILES")),
    ]
    for request in after_writes:
        await _same_answer(org, framework, db, request)
    replayed, _ = await _send(org.client, db, org, post(_transaction("WITHDRAWAL", "40", "w1")))
    assert (replayed.status_code, replayed.json()) == (200, withdrawal.json())
    # A refund reads the body in the lane, which leaves it to the framework's route: the route
    # gets the body again.
    refund_of = withdrawal.json()["id"]
    refund = post(_transaction("REFUND", "10", "r1", refundOf=refund_of))
    refunded, ran = await _send(org.client, db, org, refund)
    assert expect(refunded, 201)["balanceAfter"] == "70.00"
    assert ran.on_driver == []
    balance = expect(await org.get(f"/contracts/{uuid}/points-balance"), 200)
    assert balance["balance"] == "70.00"


async def test_concurrent_requests_with_one_reference_record_one_transaction(
    org: Org, framework, db: Database
):
    program = await org.program(**GIFT_CARD)
    uuid = (await org.contract(program["id"]))["uuid"]
    path = f"/contracts/{uuid}/points-transactions"
    await org.refresh()
    deposit = _transaction("DEPOSIT", "25", "the-only-one")
    responses = await asyncio.gather(
        *(
            client.post(f"{BASE}{path}", json=deposit, headers=org.headers)
            for client in [org.client, framework] * 15
        )
    )
    assert sorted(r.status_code for r in responses) == [200] * 29 + [201]
    assert len({r.json()["id"] for r in responses}) == 1
    balance = expect(await org.get(f"/contracts/{uuid}/points-balance"), 200)
    assert balance["balance"] == "25.00"


async def test_a_contract_closed_to_the_caller_is_unknown_on_both_lanes(
    org: Org, other_org: Org, framework, db: Database
):
    program = await org.program(**GIFT_CARD)
    uuid = (await org.contract(program["id"]))["uuid"]
    deposit = _transaction("DEPOSIT", "100", "d1")
    expect(await org.post(f"/contracts/{uuid}/points-transactions", deposit), 201)
    await other_org.customer(3, "Stranger")
    expect(await other_org.get("/age-bands"), 200)  # the lane serves clients the process knows

    async def answers(contract: str) -> list[tuple[int, Any]]:
        pair = {"contractUUID": contract, "customerNumber": 3}
        requests: list[Request] = [
            ("POST", "/contracts/validate-consumptions", {"json": {"consumptions": [pair]}}),
            (
                "POST",
                f"/contracts/{contract}/points-transactions",
                {"json": _transaction("DEPOSIT", "5", "d2")},
            ),
        ]
        answered = []
        for request in requests:
            lean, ran = await _same_answer(other_org, framework, db, request)
            assert ran.on_driver, request
            answered.append(_answer(lean))
        return answered

    unknown = "00000000-0000-4000-8000-000000000000"
    foreign = json.loads(json.dumps(await answers(uuid)).replace(uuid, unknown))
    assert foreign == json.loads(json.dumps(await answers(unknown)))
    assert [status for status, _ in foreign] == [200, 404]
    assert foreign[0][1]["code"] == 3102
    balance = expect(await org.get(f"/contracts/{uuid}/points-balance"), 200)
    assert balance["balance"] == "100.00"
