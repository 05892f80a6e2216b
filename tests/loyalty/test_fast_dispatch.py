"""The loyalty routes declared fast (kit/fast.py) served by the dispatch and by the router side
by side: one reference records one transaction whichever way each request comes, and a contract
closed to the caller is unknown both ways. That the dispatch answers and acts exactly as the
router does for any request is the differential harness's to show (tests/differential)."""

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from openbenefits.app import create_app
from openbenefits.config import Settings
from openbenefits.kit.blobstore import LocalBlobStore
from openbenefits.kit.clock import FixedClock
from openbenefits.kit.db import Database
from tests.benefits.statements import Statements, statements
from tests.fast_dispatch import dispatched, without_dispatch
from tests.helpers import expect
from tests.loyalty.conftest import BASE, Org
from tests.loyalty.test_points import GIFT_CARD, _transaction

Request = tuple[str, str, dict[str, Any]]


@pytest.fixture
async def framework(
    db: Database, settings: Settings, clock: FixedClock, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the same service without the fast dispatch."""
    app = create_app(
        settings, db=db, clock=clock, blobs=LocalBlobStore(tmp_path / "framework-blobs")
    )
    without_dispatch(app)
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
    """Send ``request`` through the fast dispatch and through the router; both must answer the
    same. The dispatch's answer and what it ran."""
    method, path, options = request
    with dispatched() as called:
        fast, ran = await _send(org.client, db, org, (method, path, dict(options)))
    assert len(called) == 1, request
    answered, _ = await _send(framework, db, org, (method, path, dict(options)))
    assert _answer(fast) == _answer(answered), request
    return fast, ran


_JSON = {"Content-Type": "application/json"}


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


async def test_a_contract_closed_to_the_caller_is_unknown_both_ways(
    org: Org, other_org: Org, framework, db: Database
):
    program = await org.program(**GIFT_CARD)
    uuid = (await org.contract(program["id"]))["uuid"]
    deposit = _transaction("DEPOSIT", "100", "d1")
    expect(await org.post(f"/contracts/{uuid}/points-transactions", deposit), 201)
    await other_org.customer(3, "Stranger")

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
            fast, ran = await _same_answer(other_org, framework, db, request)
            assert bool(ran.on_driver) is not db.is_sqlite, request
            answered.append(_answer(fast))
        return answered

    unknown = "00000000-0000-4000-8000-000000000000"
    foreign = json.loads(json.dumps(await answers(uuid)).replace(uuid, unknown))
    assert foreign == json.loads(json.dumps(await answers(unknown)))
    assert [status for status, _ in foreign] == [200, 404]
    assert foreign[0][1]["code"] == 3102
    balance = expect(await org.get(f"/contracts/{uuid}/points-balance"), 200)
    assert balance["balance"] == "100.00"
