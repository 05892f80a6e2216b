"""The benefit routes declared fast (kit/fast.py): a use runs on the bare connection unless the
request holds an ``Idempotency-Key`` claim, whose answer must commit with the use. That the
dispatch answers and acts exactly as the router does is the differential harness's to show
(tests/differential); that every step of the pipeline applies to it, tests/kit/test_pipeline.py."""

from typing import Any

import httpx

from openbenefits.kit.db import Database
from tests.benefits.conftest import Scene
from tests.benefits.statements import statements

Request = tuple[str, str, dict[str, Any]]


async def _send(client: httpx.AsyncClient, db: Database, request: Request):
    method, path, options = request
    async with statements(db) as ran:
        response = await client.request(method, path, **options)
    return response, ran


async def test_a_use_runs_bare_on_postgresql_and_a_claimed_one_in_a_transaction(
    scene: Scene, db: Database
):
    customer = scene.customer["id"]
    use = f"/v1/customers/{customer}/benefits/SAUNA/use"
    await scene.check()
    response, ran = await _send(scene.chain.client, db, ("POST", use, {"headers": scene.key_a}))
    assert response.status_code == 200
    assert bool(ran.on_driver) is not db.is_sqlite
    headers = {**scene.key_a, "Idempotency-Key": "retry-1"}
    answers = []
    for _ in range(2):
        response, ran = await _send(scene.chain.client, db, ("POST", use, {"headers": headers}))
        assert response.status_code == 200
        assert ran.on_driver == []
        answers.append(response.headers.get("idempotent-replayed"))
    assert answers == [None, "true"]
    assert (await scene.contingent())["used"] == 2
