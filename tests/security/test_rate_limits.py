"""Rate limits (kit/rate_limits.py): per credential and per address on every surface, failed
authentications per address, the tighter limit on uploads, counters shared through Redis.

Set-up goes through the suite's app (limits far out of reach); the limited apps under test
share its database and clock. Windows are long (an hour) so that no burst straddles one, and
the clock is moved, not waited for, to let one pass."""

import os
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import timedelta

import httpx
import pytest
import redis.asyncio as aioredis
from fastapi import FastAPI
from redis.exceptions import RedisError
from structlog.testing import capture_logs

from openbenefits.app import create_app
from openbenefits.config import Settings
from openbenefits.kit.blobstore import LocalBlobStore
from openbenefits.kit.clock import FixedClock
from openbenefits.kit.db import Database
from openbenefits.kit.rate_limits import parse_limits
from openbenefits.tenancy.scopes import StudioScope
from tests.chain import Chain
from tests.console.conftest import PASSWORD, add_operator, csrf_in
from tests.contract.reference import validate_response
from tests.customers.uploads import PDF, image
from tests.helpers import admin_headers, expect

HOUR = 3600
HERE = "192.0.2.1"
ELSEWHERE = "198.51.100.7"
REDIS_URL = (
    os.environ.get("OPENBENEFITS_REDIS_URL")
    or os.environ.get("REDIS_URL")
    or "redis://127.0.0.1:6379/0"
)

EVERY_SCOPE = [scope.value for scope in StudioScope]

Limited = Callable[..., FastAPI]


@pytest.fixture
def limited(settings: Settings, db: Database, clock: FixedClock, blobs: LocalBlobStore) -> Limited:
    """An app of the suite's settings with the given limits (``studio_per_credential="3/hour"``
    sets ``rate_limit_studio_per_credential``) or other settings changed."""

    def make(**changes: str) -> FastAPI:
        update = {
            name if name in Settings.model_fields else f"rate_limit_{name}": value
            for name, value in changes.items()
        }
        return create_app(settings.model_copy(update=update), db=db, clock=clock, blobs=blobs)

    return make


def client_of(app: FastAPI, address: str = HERE, scheme: str = "http") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 50000))
    return httpx.AsyncClient(transport=transport, base_url=f"{scheme}://testserver")


def assert_refused(response: httpx.Response, *, window: int = HOUR) -> None:
    """429 with Retry-After in the surface's error shape, carrying the request's id."""
    assert response.status_code == 429, response.text
    assert 1 <= int(response.headers["retry-after"]) <= window
    body = response.json()
    request_id = response.headers["x-request-id"]
    if response.request.url.path.startswith("/v1/"):
        assert body["errorCode"] == "RATE_LIMITED"
        assert body["traceId"] == request_id
        assert "Retry after" in body["errorMessage"]
        validate_response(response.request.method, response.request.url.path, 429, body)
    else:
        assert response.headers["content-type"] == "application/problem+json"
        assert body["status"] == 429
        assert body["code"] == "RATE_LIMITED"
        assert body["traceId"] == request_id


@dataclass
class Caller:
    """A read on one surface and two credentials of that surface."""

    path: str
    first: dict[str, str]
    second: dict[str, str]


def bearer(token: object) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class OAuthClient:
    client_id: str
    secret: str

    def form(self, secret: str | None = None) -> dict[str, str]:
        return {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": secret or self.secret,
        }

    async def token(self, client: httpx.AsyncClient) -> dict[str, str]:
        answer = expect(await client.post("/oauth/token", data=self.form()), 200)
        return bearer(answer["access_token"])


@pytest.fixture
async def oauth_clients(chain: Chain) -> tuple[OAuthClient, OAuthClient]:
    made = []
    for name in ("first", "second"):
        created = expect(
            await chain.client.post(
                f"/admin/v1/tenants/{chain.tenant_id}/oauth-clients",
                json={"name": name, "scopes": ["LOYALTY_READ"]},
                headers=chain.admin,
            ),
            201,
        )
        made.append(OAuthClient(str(created["clientId"]), str(created["clientSecret"])))
    return made[0], made[1]


@pytest.fixture
async def callers(
    chain: Chain,
    oauth_clients: tuple[OAuthClient, OAuthClient],
    settings: Settings,
    clock: FixedClock,
) -> dict[str, Caller]:
    customer = await chain.customer()
    another_key = await chain.key(chain.studio_a, EVERY_SCOPE)
    first, second = oauth_clients
    return {
        "studio": Caller(
            f"/v1/customers/{customer['id']}/benefits?key=SAUNA", chain.key_a, another_key
        ),
        "loyalty": Caller(
            "/customers/v2/benefits/loyaltyprograms",
            await first.token(chain.client),
            await second.token(chain.client),
        ),
        "admin": Caller(
            f"/admin/v1/tenants/{chain.tenant_id}/studios",
            admin_headers(settings, clock, name="first"),
            admin_headers(settings, clock, name="second"),
        ),
    }


SURFACES = ["studio", "loyalty", "admin"]


@pytest.mark.parametrize("surface", SURFACES)
async def test_a_burst_from_one_credential_is_refused(
    limited: Limited, callers: dict[str, Caller], surface: str
) -> None:
    caller = callers[surface]
    app = limited(**{f"{surface}_per_credential": "3/hour"})
    async with client_of(app) as client:
        for _ in range(3):
            assert (await client.get(caller.path, headers=caller.first)).status_code == 200
        assert_refused(await client.get(caller.path, headers=caller.first))
        assert (await client.get(caller.path, headers=caller.second)).status_code == 200


@pytest.mark.parametrize("surface", SURFACES)
async def test_a_burst_from_one_address_is_refused(
    limited: Limited, callers: dict[str, Caller], surface: str
) -> None:
    caller = callers[surface]
    app = limited(**{f"{surface}_per_address": "3/hour"})
    async with client_of(app) as here, client_of(app, ELSEWHERE) as elsewhere:
        for headers in (caller.first, caller.second, caller.first):
            assert (await here.get(caller.path, headers=headers)).status_code == 200
        assert_refused(await here.get(caller.path, headers=caller.second))
        assert (await elsewhere.get(caller.path, headers=caller.first)).status_code == 200


async def test_the_token_endpoint_limits_each_client_id_whatever_the_body_type(
    limited: Limited, oauth_clients: tuple[OAuthClient, OAuthClient]
) -> None:
    first, second = oauth_clients
    app = limited(token_per_client="3/hour")
    async with client_of(app) as client:
        assert (await client.post("/oauth/token", data=first.form())).status_code == 200
        assert (await client.post("/oauth/token", json=first.form())).status_code == 200
        # A wrong secret still presents the client id.
        wrong = await client.post("/oauth/token", data=first.form(secret="wrong"))
        assert wrong.status_code == 401
        assert_refused(await client.post("/oauth/token", json=first.form()))
        # The same client authenticated with Authorization: Basic is the same credential.
        basic = httpx.BasicAuth(first.client_id, first.secret)
        grant = {"grant_type": "client_credentials"}
        assert_refused(await client.post("/oauth/token", data=grant, auth=basic))
        assert (await client.post("/oauth/token", data=second.form())).status_code == 200


async def test_the_token_endpoint_limits_each_address(
    limited: Limited, oauth_clients: tuple[OAuthClient, OAuthClient]
) -> None:
    first, second = oauth_clients
    app = limited(token_per_address="3/hour")
    async with client_of(app) as here, client_of(app, ELSEWHERE) as elsewhere:
        for oauth_client in (first, second, first):
            assert (await here.post("/oauth/token", data=oauth_client.form())).status_code == 200
        assert_refused(await here.post("/oauth/token", data=second.form()))
        assert (await elsewhere.post("/oauth/token", data=first.form())).status_code == 200


async def test_paths_outside_the_surfaces_are_limited_per_address(limited: Limited) -> None:
    app = limited(other_per_address="2/hour")
    async with client_of(app) as here, client_of(app, ELSEWHERE) as elsewhere:
        for _ in range(2):
            assert (await here.get("/healthz")).status_code == 200
        assert_refused(await here.get("/healthz"))
        assert (await elsewhere.get("/healthz")).status_code == 200


async def test_an_ipv6_client_is_counted_by_its_64_bit_prefix(limited: Limited) -> None:
    app = limited(other_per_address="2/hour")
    async with (
        client_of(app, "2001:db8::1") as one,
        client_of(app, "2001:db8::2") as neighbour,
        client_of(app, "2001:db8:0:1::1") as other_network,
    ):
        assert (await one.get("/healthz")).status_code == 200
        assert (await neighbour.get("/healthz")).status_code == 200
        assert_refused(await one.get("/healthz"))
        assert (await other_network.get("/healthz")).status_code == 200


async def test_failed_authentications_lock_an_address_out_until_the_window_passes(
    limited: Limited,
    callers: dict[str, Caller],
    oauth_clients: tuple[OAuthClient, OAuthClient],
    clock: FixedClock,
) -> None:
    studio, loyalty, admin = callers["studio"], callers["loyalty"], callers["admin"]
    first, _ = oauth_clients
    app = limited(failed_auth_per_address="3/minute")
    async with client_of(app) as here, client_of(app, ELSEWHERE) as elsewhere:
        unknown_key = await here.get(studio.path, headers={"X-API-KEY": "guess"})
        assert unknown_key.status_code == 401
        bad_token = await here.get(loyalty.path, headers=bearer("forged"))
        assert bad_token.status_code == 401
        invalid_client = await here.post("/oauth/token", data=first.form(secret="guess"))
        assert invalid_client.status_code == 401
        assert invalid_client.json()["error"] == "invalid_client"

        # Valid credentials from that address are refused now, on every surface...
        locked_out = await here.get(studio.path, headers=studio.first)
        assert_refused(locked_out, window=60)
        assert "failed authentications" in locked_out.json()["errorMessage"]
        assert_refused(await here.get(loyalty.path, headers=loyalty.first), window=60)
        assert_refused(await here.get(admin.path, headers=admin.first), window=60)
        assert_refused(await here.post("/oauth/token", data=first.form()), window=60)
        # ... but not elsewhere, nor where nobody authenticates.
        assert (await elsewhere.get(studio.path, headers=studio.first)).status_code == 200
        assert (await here.get("/healthz")).status_code == 200

        clock.advance(timedelta(minutes=1))
        assert (await here.get(studio.path, headers=studio.first)).status_code == 200


async def _sign_in_attempt(browser: httpx.AsyncClient, password: str) -> httpx.Response:
    page = await browser.get("/console/login")
    assert page.status_code == 200, page.text
    form = {"csrf": csrf_in(page.text), "email": "ops@chain.example", "password": password}
    return await browser.post("/console/login", data=form)


def assert_console_refused(response: httpx.Response, *, window: int = HOUR) -> None:
    """429 with Retry-After, as the console's page."""
    assert response.status_code == 429, response.text
    assert 1 <= int(response.headers["retry-after"]) <= window
    assert response.headers["content-type"].startswith("text/html")
    assert "RATE_LIMITED" in response.text
    assert response.headers["x-request-id"] in response.text


async def test_console_sign_ins_are_limited_per_address(
    limited: Limited, chain: Chain, db: Database
) -> None:
    await add_operator(db, chain.tenant_id, "ops@chain.example")
    app = limited(console_sign_in_per_address="3/hour")
    async with (
        client_of(app, scheme="https") as here,
        client_of(app, ELSEWHERE, scheme="https") as elsewhere,
    ):
        for password in ("wrong password", "wrong again", PASSWORD):
            assert (await _sign_in_attempt(here, password)).status_code in {401, 303}
        assert_console_refused(await _sign_in_attempt(here, PASSWORD))
        # The pages themselves are counted apart; another address signs in.
        assert (await here.get("/console")).status_code == 200
        assert (await _sign_in_attempt(elsewhere, PASSWORD)).status_code == 303


async def test_failed_console_sign_ins_count_as_failed_authentications(
    limited: Limited, chain: Chain, db: Database, clock: FixedClock
) -> None:
    await add_operator(db, chain.tenant_id, "ops@chain.example")
    app = limited(failed_auth_per_address="3/minute")
    async with client_of(app, scheme="https") as here:
        for _ in range(3):
            assert (await _sign_in_attempt(here, "a wrong password")).status_code == 401
        assert_console_refused(await here.get("/console/login"), window=60)
        assert_refused(await here.get("/v1/customers/1", headers=chain.key_a), window=60)
        clock.advance(timedelta(minutes=1))
        assert (await _sign_in_attempt(here, PASSWORD)).status_code == 303


async def test_uploads_have_a_tighter_limit_per_credential(limited: Limited, chain: Chain) -> None:
    customer = await chain.customer()
    other_key = await chain.key(chain.studio_a, EVERY_SCOPE)
    app = limited(uploads_per_credential="2/hour")
    images = f"/v1/customers/{customer['id']}/images"
    documents = f"/v1/customers/{customer['id']}/documents"
    png = {"image": ("me.png", image("PNG", (5, 5)), "image/png")}
    pdf = {"file": ("contract.pdf", PDF, "application/pdf")}
    async with client_of(app) as client:
        assert (await client.put(images, files=png, headers=chain.key_a)).status_code == 200
        assert (await client.post(documents, files=pdf, headers=chain.key_a)).status_code == 200
        assert_refused(await client.put(images, files=png, headers=chain.key_a))
        assert_refused(await client.post(documents, files=pdf, headers=chain.key_a))
        # Other requests of that key, and other keys' uploads, go on.
        assert (await client.get(documents, headers=chain.key_a)).status_code == 200
        assert (await client.put(images, files=png, headers=other_key)).status_code == 200


@pytest.fixture
async def redis_prefix() -> AsyncIterator[str]:
    """A key prefix of this test's own in the Redis the suite needs (CI starts one), removed
    afterwards."""
    client = aioredis.from_url(REDIS_URL)
    try:
        await client.ping()
    except RedisError as error:
        pytest.fail(f"These tests need Redis at {REDIS_URL}: {error}")
    prefix = f"openbenefits-test-{uuid.uuid4().hex}"
    yield prefix
    keys = [key async for key in client.scan_iter(f"{prefix}*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


async def test_limits_are_shared_across_processes_through_redis(
    limited: Limited, chain: Chain, redis_prefix: str
) -> None:
    customer = await chain.customer()
    path = f"/v1/customers/{customer['id']}/benefits?key=SAUNA"
    shared = {"redis_url": REDIS_URL, "key_prefix": redis_prefix, "studio_per_credential": "3/hour"}
    async with client_of(limited(**shared)) as one, client_of(limited(**shared)) as two:
        for client in (one, two, one):
            assert (await client.get(path, headers=chain.key_a)).status_code == 200
        assert_refused(await two.get(path, headers=chain.key_a))

    redis = aioredis.from_url(REDIS_URL)
    keys = [key.decode() async for key in redis.scan_iter(f"{redis_prefix}*")]
    await redis.aclose()
    assert any("studio/credential" in key for key in keys)
    assert not any(chain.key_a["X-API-KEY"] in key for key in keys)


async def test_while_redis_is_unreachable_each_process_counts_alone(
    limited: Limited, chain: Chain
) -> None:
    customer = await chain.customer()
    path = f"/v1/customers/{customer['id']}/benefits?key=SAUNA"
    app = limited(redis_url="redis://127.0.0.1:1/0", studio_per_credential="2/hour")
    with capture_logs() as logs:
        async with client_of(app) as client:
            for _ in range(2):
                assert (await client.get(path, headers=chain.key_a)).status_code == 200
            assert_refused(await client.get(path, headers=chain.key_a))
    warnings = [entry for entry in logs if entry["log_level"] == "warning"]
    assert [entry["event"] for entry in warnings] == [
        "rate limits: Redis unreachable, counting in this process"
    ]


async def test_every_operation_documents_the_429(client: httpx.AsyncClient) -> None:
    document = expect(await client.get("/openapi.json"), 200)
    schemas = document["components"]["schemas"]
    for path, item in document["paths"].items():
        for method, operation in item.items():
            refused = operation["responses"].get("429")
            assert refused is not None, f"{method.upper()} {path}"
            assert "Retry-After" in refused["headers"]
            (content,) = refused["content"].values()
            assert content["schema"]["$ref"].removeprefix("#/components/schemas/") in schemas


def test_the_default_limits_are_on_and_well_formed() -> None:
    fields = Settings.model_fields
    assert fields["rate_limits_enabled"].default is True
    limits = [name for name in fields if name.startswith("rate_limit_") and "_per_" in name]
    assert len(limits) == 13
    for name in limits:
        assert parse_limits(name, fields[name].default), name
