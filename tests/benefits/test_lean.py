"""The lean lane (kit/lean.py, benefits/lean.py): installed on PostgreSQL only, and a retried
use is the idempotency protocol's business. That the lane answers and acts exactly as the
framework's routes do is the differential harness's to show (tests/differential)."""

from typing import Any

import httpx

from openbenefits.kit.db import Database
from openbenefits.kit.lean import LeanRoutes
from tests.benefits.conftest import Scene
from tests.benefits.statements import statements

Request = tuple[str, str, dict[str, Any]]


def test_installed_on_postgresql_only(app, db: Database):
    installed = any(middleware.cls is LeanRoutes for middleware in app.user_middleware)
    assert installed is not db.is_sqlite


async def _send(client: httpx.AsyncClient, db: Database, request: Request):
    method, path, options = request
    async with statements(db) as ran:
        response = await client.request(method, path, **options)
    return response, ran


async def test_a_retried_use_goes_to_the_idempotency_protocol(scene: Scene, db):
    customer = scene.customer["id"]
    await scene.check()
    headers = {**scene.key_a, "Idempotency-Key": "retry-1"}
    for _ in range(2):
        response, ran = await _send(
            scene.chain.client,
            db,
            ("POST", f"/v1/customers/{customer}/benefits/SAUNA/use", {"headers": headers}),
        )
        assert response.status_code == 200
        assert ran.on_driver == []
    assert (await scene.contingent())["used"] == 1
