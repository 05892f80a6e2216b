"""Operational endpoints and the OpenAPI document."""

import httpx

from openbenefits.app import create_app
from openbenefits.kit.db import Database
from openbenefits.kit.migrations import head_revision
from tests.helpers import admin_headers


async def test_healthz(client):
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_reports_database_and_migration(client):
    response = await client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["database"] == "ok"
    assert body["migration"] == head_revision() is not None


async def test_metrics_count_requests_by_route_template(client, settings, clock):
    await client.get("/admin/v1/tenants/12345", headers=admin_headers(settings, clock))
    text = (await client.get("/metrics")).text
    assert 'route="/admin/v1/tenants/{tenantId}"' in text
    assert "/admin/v1/tenants/12345" not in text
    assert "openbenefits_http_request_duration_seconds_bucket" in text


async def test_openapi_document_and_docs(client):
    spec = (await client.get("/openapi.json")).json()
    schemes = spec["components"]["securitySchemes"]
    assert schemes["ApiKeyAuth"] == {"type": "apiKey", "in": "header", "name": "X-API-KEY"}
    assert "/oauth/token" in spec["paths"]
    create = spec["paths"]["/admin/v1/tenants"]["post"]
    assert {"401", "403", "409", "422"} <= set(create["responses"])
    assert "application/problem+json" in create["responses"]["422"]["content"]
    assert (await client.get("/docs")).status_code == 200


async def test_readyz_is_503_when_migrations_are_behind(client, monkeypatch):
    monkeypatch.setattr("openbenefits.ops.head_revision", lambda: "9999_future")
    response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert response.json()["expectedMigration"] == "9999_future"


async def test_readyz_is_503_when_the_database_is_unreachable(settings, clock):
    unreachable = Database("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    app = create_app(settings, db=unreachable, clock=clock)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        response = await client.get("/readyz")
    await unreachable.dispose()
    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"
