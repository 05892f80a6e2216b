"""No secret in clear at rest (PRODUCT.md §8): every secret the service hands out or is handed,
through every path that makes one, with and without ``Idempotency-Key``, is looked for in every
column of every table (and, on SQLite, in the database file's bytes)."""

import json
import re
import secrets
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.engine import make_url

from openbenefits.demo import load_demo
from openbenefits.kit.db import Database
from openbenefits.models import Base
from tests.console.conftest import PASSWORD, add_operator, browser, sign_in
from tests.helpers import admin_headers, create_tenant, expect
from tests.loyalty.conftest import BASE, TIMED_PROGRAM

# Members of a response that show a secret once; a route answering one of them must be driven
# below (test_every_route_that_shows_a_secret_is_scanned).
SECRET_MEMBERS = {
    "key": "ApiKeyCreated",
    "clientSecret": None,
    "secret": None,
    "access_token": None,
}
SHOWN_BY = {
    ("POST", "/admin/v1/tenants/{tenantId}/api-keys"),
    ("POST", "/admin/v1/tenants/{tenantId}/oauth-clients"),
    ("POST", "/admin/v1/tenants/{tenantId}/webhook-subscriptions"),
    ("POST", "/admin/v1/tenants/{tenantId}/webhook-subscriptions/{subscriptionId}/rotate-secret"),
    ("POST", "/oauth/token"),
}


async def _everything_stored(db: Database, database_url: str) -> str:
    parts: list[str] = []
    async with db.session() as session:
        for table in Base.metadata.sorted_tables:
            for row in await session.execute(select(table)):
                parts.extend(_text(value) for value in row if value is not None)
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database:
        for path in (Path(url.database), Path(f"{url.database}-wal")):
            if path.exists():
                parts.append(path.read_bytes().decode("latin-1"))
    return "\n".join(parts)


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("latin-1")
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


async def test_no_secret_is_stored_in_clear(
    app, client, settings, clock, db, database_url, tmp_path
):
    admin = admin_headers(settings, clock)
    setup = await create_tenant(client, admin, "Vault")
    base = f"/admin/v1/tenants/{setup.tenant_id}"
    shown: list[str] = [setup.api_key, setup.client_secret]
    for keyed in (False, True):

        def headers(credential: dict[str, str], keyed: bool = keyed) -> dict[str, str]:
            once = {"Idempotency-Key": secrets.token_hex(8)} if keyed else {}
            return {**credential, **once}

        key = await client.post(
            f"{base}/api-keys",
            json={"studioId": setup.studio_id, "name": "k", "scopes": ["CUSTOMER_READ"]},
            headers=headers(admin),
        )
        shown.append(expect(key, 201)["key"])
        oauth = await client.post(
            f"{base}/oauth-clients",
            json={"name": "c", "scopes": ["LOYALTY_READ"]},
            headers=headers(admin),
        )
        shown.append(expect(oauth, 201)["clientSecret"])
        partner_key = f"partner-key-{secrets.token_hex(8)}"
        shown.append(partner_key)
        subscription = expect(
            await client.post(
                f"{base}/webhook-subscriptions",
                json={
                    "partnerIntegrationId": setup.integration_id,
                    "url": "https://hooks.example.org/vault",
                    "eventTypes": ["TEST"],
                    "apiKey": partner_key,
                },
                headers=headers(admin),
            ),
            201,
        )
        shown.append(subscription["secret"])
        rotated = await client.post(
            f"{base}/webhook-subscriptions/{subscription['id']}/rotate-secret",
            headers=headers(admin),
        )
        shown.append(expect(rotated, 200)["secret"])
        new_partner_key = f"partner-key-{secrets.token_hex(8)}"
        shown.append(new_partner_key)
        expect(
            await client.patch(
                f"{base}/webhook-subscriptions/{subscription['id']}",
                json={"apiKey": new_partner_key},
                headers=admin,
            ),
            200,
        )
        form = {
            "grant_type": "client_credentials",
            "client_id": setup.client_id,
            "client_secret": setup.client_secret,
        }
        token = expect(await client.post("/oauth/token", data=form), 200)["access_token"]
        shown.append(token)
        bearer = {"Authorization": f"Bearer {token}"}
        program = expect(
            await client.post(
                f"{BASE}/loyaltyprograms", json=TIMED_PROGRAM, headers=headers(bearer)
            ),
            201,
        )
        policy = f"policy-{secrets.token_hex(8)}"
        shown.append(policy)
        contract = await client.post(
            f"{BASE}/loyaltyprograms/{program['id']}/contracts",
            json={
                "consumableFrom": "2026-01-01T00:00:00Z",
                "policies": [{"key": "pin", "value": policy}],
            },
            headers=headers(bearer),
        )
        expect(contract, 201)
    credentials = await load_demo(db, settings.signing_key, clock)
    shown += [*credentials["apiKeys"].values(), credentials["oauthClient"]["clientSecret"]]
    shown += credentials["operators"].values()
    # An operator's password and the console's session token.
    await add_operator(db, setup.tenant_id, "vault@console.example", password=PASSWORD)
    shown.append(PASSWORD)
    async with browser(app) as console:
        await sign_in(console, "vault@console.example")
        assert "openbenefits_console" in console.cookies
        shown += [console.cookies[name] for name in console.cookies]
    stored = await _everything_stored(db, database_url)
    blobs = "".join(
        path.read_bytes().decode("latin-1") for path in tmp_path.rglob("*") if path.is_file()
    )
    leaked = [secret for secret in shown if secret in stored or secret in blobs]
    assert not leaked


def _response_members(schema: dict[str, Any], schemas: dict[str, Any]) -> set[tuple[str, str]]:
    """(member, schema name) of a response, one level below its named schemas."""
    found: set[tuple[str, str]] = set()
    name = ""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        schema = schemas[name]
    for member in schema.get("properties", {}):
        found.add((member, name))
    return found


def test_every_route_that_shows_a_secret_is_scanned(app: FastAPI) -> None:
    document = app.openapi()
    schemas = document["components"]["schemas"]
    showing = set()
    for path, methods in document["paths"].items():
        for method, op in methods.items():
            for status, answer in op.get("responses", {}).items():
                if not re.match(r"2\d\d", status):
                    continue
                for content in answer.get("content", {}).values():
                    for member, name in _response_members(content.get("schema", {}), schemas):
                        if member in SECRET_MEMBERS and SECRET_MEMBERS[member] in (None, name):
                            showing.add((method.upper(), path))
    assert showing == SHOWN_BY
