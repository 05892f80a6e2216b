"""Loyalty surface authentication: client-credentials tokens and bearer checks."""

import base64
from datetime import timedelta
from urllib.parse import quote_plus

import httpx
import jwt
import pytest
from pydantic import ValidationError

from openbenefits.app import create_app
from openbenefits.config import Settings
from tests.helpers import admin_headers, create_tenant, expect


async def _token(client, setup, **overrides):
    form = {
        "grant_type": "client_credentials",
        "client_id": setup.client_id,
        "client_secret": setup.client_secret,
        "audience": "openbenefits-loyalty",
        **overrides,
    }
    return await client.post("/oauth/token", data=form)


async def test_client_credentials_grant_returns_a_short_lived_bearer_token(client, settings, clock):
    setup = await create_tenant(client, admin_headers(settings, clock), "Acme")
    body = expect(await _token(client, setup), 200)
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 900
    assert body["scope"] == "LOYALTY_READ LOYALTY_WRITE"
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["org"] == setup.tenant_id
    assert claims["sub"] == setup.client_id
    assert claims["exp"] - claims["iat"] == 900


async def test_token_request_may_be_json(client, settings, clock):
    setup = await create_tenant(client, admin_headers(settings, clock), "Acme")
    response = await client.post(
        "/oauth/token",
        json={
            "grant_type": "client_credentials",
            "client_id": setup.client_id,
            "client_secret": setup.client_secret,
            "scope": "LOYALTY_READ",
        },
    )
    assert expect(response, 200)["scope"] == "LOYALTY_READ"


@pytest.mark.parametrize(
    ("overrides", "status", "error"),
    [
        ({"client_secret": "wrong"}, 401, "invalid_client"),
        ({"client_id": "nobody"}, 401, "invalid_client"),
        ({"grant_type": "password"}, 400, "unsupported_grant_type"),
        ({"audience": "someone-else"}, 400, "invalid_target"),
        ({"scope": "LOYALTY_READ ADMIN"}, 400, "invalid_scope"),
    ],
)
async def test_bad_token_requests(client, settings, clock, overrides, status, error):
    setup = await create_tenant(client, admin_headers(settings, clock), "Acme")
    response = await _token(client, setup, **overrides)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["error"] == error


async def test_malformed_token_requests(client):
    missing = await client.post("/oauth/token", data={"grant_type": "client_credentials"})
    assert missing.status_code == 400
    assert missing.json()["error"] == "invalid_request"
    garbage = await client.post(
        "/oauth/token", content=b"{", headers={"content-type": "application/json"}
    )
    assert garbage.status_code == 400
    plain = await client.post("/oauth/token", content=b"x", headers={"content-type": "text/plain"})
    assert plain.status_code == 415


def _basic(client_id: str, secret: str) -> dict[str, str]:
    # RFC 6749 §2.3.1: each part form-urlencoded before the pair is base64-encoded.
    pair = f"{quote_plus(client_id)}:{quote_plus(secret)}".encode()
    return {"Authorization": f"Basic {base64.b64encode(pair).decode()}"}


async def test_a_client_may_authenticate_with_http_basic(client, settings, clock):
    setup = await create_tenant(client, admin_headers(settings, clock), "Acme")
    grant = {"grant_type": "client_credentials", "scope": "LOYALTY_READ"}
    basic = _basic(setup.client_id, setup.client_secret)
    token = expect(await client.post("/oauth/token", data=grant, headers=basic), 200)
    assert token["scope"] == "LOYALTY_READ"
    programs = await client.get(
        "/customers/v2/benefits/loyaltyprograms",
        headers={"Authorization": f"Bearer {token['access_token']}"},
    )
    assert programs.status_code == 200
    # The body may name the same client; JSON bodies work as forms do.
    named = {**grant, "client_id": setup.client_id}
    assert expect(await client.post("/oauth/token", json=named, headers=basic), 200)


async def test_http_basic_refusals_name_the_basic_scheme(client, settings, clock):
    setup = await create_tenant(client, admin_headers(settings, clock), "Acme")
    grant = {"grant_type": "client_credentials"}
    wrong = await client.post("/oauth/token", data=grant, headers=_basic(setup.client_id, "x"))
    assert expect(wrong, 401)["error"] == "invalid_client"
    assert wrong.headers["www-authenticate"] == "Basic"
    garbled = {"Authorization": "Basic not-base64!"}
    refused = await client.post("/oauth/token", data=grant, headers=garbled)
    assert expect(refused, 401)["error"] == "invalid_client"
    assert refused.headers["www-authenticate"] == "Basic"
    # One way to authenticate, not two; and the body cannot name another client.
    basic = _basic(setup.client_id, setup.client_secret)
    both = {**grant, "client_id": setup.client_id, "client_secret": setup.client_secret}
    twice = await client.post("/oauth/token", data=both, headers=basic)
    assert expect(twice, 400)["error"] == "invalid_request"
    other = await client.post("/oauth/token", data={**grant, "client_id": "x"}, headers=basic)
    assert expect(other, 400)["error"] == "invalid_request"


async def test_the_accepted_audiences_are_configurable(settings, db, clock, blobs):
    audiences = ["openbenefits-loyalty", "https://partner.example/loyalty"]
    app = create_app(
        settings.model_copy(update={"oauth_audiences": audiences}), db=db, clock=clock, blobs=blobs
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        setup = await create_tenant(client, admin_headers(settings, clock), "Acme")
        # Asked for, an accepted audience is granted; unasked, the first is.
        form = {
            "grant_type": "client_credentials",
            "client_id": setup.client_id,
            "client_secret": setup.client_secret,
        }
        for asked, granted in ((audiences[1], audiences[1]), (None, audiences[0])):
            body = form if asked is None else {**form, "audience": asked}
            token = expect(await client.post("/oauth/token", data=body), 200)["access_token"]
            assert jwt.decode(token, options={"verify_signature": False})["aud"] == granted
            used = await client.get(
                "/customers/v2/benefits/loyaltyprograms",
                headers={"Authorization": f"Bearer {token}"},
            )
            assert used.status_code == 200
        unknown = await _token(client, setup, audience="https://elsewhere.example")
        assert expect(unknown, 400)["error"] == "invalid_target"


def test_the_admin_audience_cannot_be_a_loyalty_audience(settings):
    with pytest.raises(ValidationError):
        Settings.model_validate(
            {**settings.model_dump(), "oauth_audiences": ["openbenefits-admin"]}
        )


async def test_bearer_token_authenticates_on_the_loyalty_surface(probe_client, settings, clock):
    setup = await create_tenant(probe_client, admin_headers(settings, clock), "Acme")
    token = expect(await _token(probe_client, setup), 200)["access_token"]
    response = await probe_client.get(
        "/customers/v2/benefits/probe", headers={"Authorization": f"Bearer {token}"}
    )
    assert expect(response, 200) == {"organisationId": setup.tenant_id, "clientId": setup.client_id}


async def test_expired_token_is_refused(probe_client, settings, clock):
    setup = await create_tenant(probe_client, admin_headers(settings, clock), "Acme")
    token = expect(await _token(probe_client, setup), 200)["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    clock.advance(timedelta(seconds=899))
    assert (
        await probe_client.get("/customers/v2/benefits/probe", headers=headers)
    ).status_code == 200
    clock.advance(timedelta(seconds=1))
    response = await probe_client.get("/customers/v2/benefits/probe", headers=headers)
    assert response.status_code == 401
    assert response.json()["code"] == "TOKEN_EXPIRED"
    assert response.headers["www-authenticate"] == "Bearer"


async def test_missing_forged_and_foreign_tokens_are_refused(probe_client, settings, clock):
    setup = await create_tenant(probe_client, admin_headers(settings, clock), "Acme")
    token = expect(await _token(probe_client, setup), 200)["access_token"]
    forged = jwt.encode(
        {**jwt.decode(token, options={"verify_signature": False}), "org": 999},
        "a-guessed-signing-key-of-enough-length",
    )
    cases = {
        "TOKEN_MISSING": {},
        "INVALID_TOKEN": {"Authorization": f"Bearer {forged}"},
    }
    for code, headers in cases.items():
        response = await probe_client.get("/customers/v2/benefits/probe", headers=headers)
        assert response.status_code == 401
        assert response.json()["code"] == code
    # An admin token is signed by us but meant for another audience.
    admin = await probe_client.get(
        "/customers/v2/benefits/probe", headers=admin_headers(settings, clock)
    )
    assert admin.status_code == 401


async def test_token_without_the_scope_is_forbidden(probe_client, settings, clock):
    admin = admin_headers(settings, clock)
    setup = await create_tenant(probe_client, admin, "Acme")
    writer = expect(
        await probe_client.post(
            f"/admin/v1/tenants/{setup.tenant_id}/oauth-clients",
            json={"name": "writer", "scopes": ["LOYALTY_WRITE"]},
            headers=admin,
        ),
        201,
    )
    token = expect(
        await probe_client.post(
            "/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": writer["clientId"],
                "client_secret": writer["clientSecret"],
            },
        ),
        200,
    )["access_token"]
    response = await probe_client.get(
        "/customers/v2/benefits/probe", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 403
    assert response.json()["code"] == "MISSING_SCOPE"


async def test_revoked_client_gets_no_token(client, settings, clock):
    admin = admin_headers(settings, clock)
    setup = await create_tenant(client, admin, "Acme")
    clients = expect(
        await client.get(f"/admin/v1/tenants/{setup.tenant_id}/oauth-clients", headers=admin), 200
    )
    row_id = clients["items"][0]["id"]
    assert "clientSecret" not in clients["items"][0]
    revoked = await client.delete(
        f"/admin/v1/tenants/{setup.tenant_id}/oauth-clients/{row_id}", headers=admin
    )
    assert revoked.status_code == 204
    assert (await _token(client, setup)).status_code == 401
