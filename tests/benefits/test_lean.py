"""The lean lane (kit/lean.py, benefits/lean.py) answers exactly as the framework's routes do,
and leaves everything out of the common case to them. On PostgreSQL only: that is where it is
installed."""

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
from tests.benefits.conftest import Scene
from tests.benefits.statements import Statements, statements
from tests.helpers import expect

Request = tuple[str, str, dict[str, Any]]


def test_installed_on_postgresql_only(app, db: Database):
    installed = any(middleware.cls is LeanRoutes for middleware in app.user_middleware)
    assert installed is not db.is_sqlite


@pytest.fixture
async def framework(
    db: Database, settings: Settings, clock: FixedClock, tmp_path: Path
) -> httpx.AsyncClient:
    """A client of an app that never remembers keys, so that its lean lane always defers."""
    if db.is_sqlite:
        pytest.skip("the lean lane is installed on PostgreSQL only")
    app = create_app(
        settings.model_copy(update={"api_key_cache_seconds": 0}),
        db=db,
        clock=clock,
        blobs=LocalBlobStore(tmp_path / "framework-blobs"),
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        yield client


async def _send(client: httpx.AsyncClient, db: Database, request: Request):
    method, path, options = request
    async with statements(db) as ran:
        response = await client.request(method, path, **options)
    return response, ran


def _answer(response: httpx.Response) -> tuple[int, Any, str | None]:
    body = response.json() if response.content else None
    if isinstance(body, dict):
        body.pop("traceId", None)  # differs per request
    return response.status_code, body, response.headers.get("content-type")


async def _same_answer(
    scene: Scene, framework: httpx.AsyncClient, db: Database, request: Request
) -> tuple[httpx.Response, Statements]:
    """Send ``request`` through the lean lane and through the framework; both must answer the
    same. The lean lane's answer and what it ran."""
    lean, ran = await _send(scene.chain.client, db, request)
    answered, framework_ran = await _send(framework, db, request)
    assert _answer(lean) == _answer(answered), request
    assert framework_ran.on_driver == []
    return lean, ran


async def test_checks_answer_as_the_framework(scene: Scene, framework, db: Database):
    await scene.benefit("GYM")  # not granted, not cross-facility
    customer = scene.customer["id"]
    expect(
        await scene.chain.client.post(
            f"/v1/customers/{customer}/access-mediums",
            json={"type": "CARD_NUMBER", "value": "168496141"},
            headers=scene.chain.key_a,
        ),
        200,
    )
    a, b = {"headers": scene.key_a}, {"headers": scene.key_b}
    await scene.check()  # the key is remembered from here on
    await scene.check(studio="b")
    served = [
        ("GET", f"/v1/customers/{customer}/benefits", a),
        ("GET", f"/v1/customers/{customer}/benefits", b),
        ("GET", f"/v1/customers/{customer}/benefits", {**a, "params": [("key", "GYM")]}),
        ("GET", f"/v1/customers/{customer}/benefits", {**a, "params": [("key", "NOPE")]}),
        ("GET", f"/v1/customers/{customer}/benefits", {**b, "params": {"key": "GYM"}}),
        ("GET", "/v1/customers/999999/benefits", a),  # 404
        ("GET", "/v1/customers/benefits", {**a, "params": {"cardNumber": "168496141"}}),
        (
            "GET",
            "/v1/customers/benefits",
            {**a, "params": {"cardNumber": "0A0B0C0D", "cardNumberFormat": "HEX_MSB"}},
        ),
        ("GET", "/v1/customers/benefits", {**a, "params": {"cardNumber": "1"}}),  # 404
    ]
    for request in served:
        _, ran = await _same_answer(scene, framework, db, request)
        assert len(ran.on_driver) == 1, request
        assert ran.through_sqlalchemy == [], request
    deferred = [
        ("GET", f"/v1/customers/{customer}/benefits", {"headers": {"X-API-KEY": "unknown"}}),
        ("GET", f"/v1/customers/{customer}/benefits", {**a, "params": {"key": "K" * 101}}),
        ("GET", "/v1/customers/benefits", {**a, "params": {"cardNumberFormat": "OCTAL"}}),
        ("GET", "/v1/customers/benefits", a),  # no card number: 422
        ("GET", f"/v1/customers/{'9' * 19}/benefits", a),
    ]
    for request in deferred:
        _, ran = await _same_answer(scene, framework, db, request)
        assert ran.on_driver == [], request


async def test_uses_answer_as_the_framework(scene: Scene, framework, db: Database):
    customer = scene.customer["id"]
    use = f"/v1/customers/{customer}/benefits/SAUNA/use"
    await scene.check()  # the key is remembered from here on
    lean_uses = 0
    for attempt in range(6):  # a contingent of 5: the sixth is refused by both
        lean, ran = await _send(scene.chain.client, db, ("POST", use, {"headers": scene.key_a}))
        lean_uses += len(ran.on_driver) == 2 and lean.status_code == 200
        answered, framework_ran = await _send(
            framework, db, ("POST", use, {"headers": scene.key_a})
        )
        assert framework_ran.on_driver == []
        if attempt < 2:
            assert (lean.status_code, answered.status_code) == (200, 200)
            assert lean.content == answered.content == b""
        elif attempt == 2:
            assert (lean.status_code, answered.status_code) == (200, 400)
        else:
            assert _answer(lean) == _answer(answered)
            assert lean.json()["errorCode"] == "BENEFIT_CONTINGENT_EXHAUSTED"
    assert lean_uses == 3
    history = expect(
        await scene.chain.client.get(
            f"/v1/customers/{customer}/benefit-usages", headers=scene.key_a
        ),
        200,
    )
    assert len(history["result"]) == 5
    refusals = [
        ("POST", f"/v1/customers/{customer}/benefits/NOPE/use", {"headers": scene.key_a}),
        ("POST", "/v1/customers/999999/benefits/SAUNA/use", {"headers": scene.key_a}),
    ]
    for request in refusals:
        lean, ran = await _same_answer(scene, framework, db, request)
        assert len(ran.on_driver) == 1, request  # refused after the read


async def test_a_retried_use_goes_to_the_idempotency_protocol(scene: Scene, framework, db):
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
