"""The differential harness: every hot route answers and acts the same with the fast dispatch
(kit/fast.py) as without it, through the router.

Two worlds of two tenants each are built once, through the API, in a template database. Each
generated example clones the template twice, sends the same sequence of requests to the
service with the fast path on one clone and without it on the other, and compares every answer
(status, the headers that matter, body) and then the database's effects: the usage ledger and
its counters, the points ledger and balances, coupon uses and order-line events, the outbox.
The requests mix the common case the fast path serves with everything it defers: other
tenants' ids and credentials, bad and missing parameters, malformed bodies, refunds,
``Idempotency-Key`` retries with the same and with another body. On PostgreSQL only, where
the databases are cloned from a template and where fast routes run on the bare connection.
"""

import json
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.engine import make_url

from openbenefits.app import create_app
from openbenefits.config import normalise_database_url
from openbenefits.kit.blobstore import LocalBlobStore
from openbenefits.kit.clock import FixedClock
from openbenefits.kit.db import Database
from openbenefits.kit.fast import fast_routes
from openbenefits.kit.migrations import upgrade_to_head
from tests.benefits.statements import statements
from tests.conftest import START, make_settings, pg_admin
from tests.fast_dispatch import dispatched, without_dispatch
from tests.security.world import TenantWorld, build_tenant

SERVER = os.environ.get("TEST_DATABASE_URL")
pytestmark = pytest.mark.skipif(not SERVER, reason="it clones template databases of PostgreSQL")
LOYALTY = "/customers/v2/benefits"
# Answers that name the request, not its outcome.
VARYING_MEMBERS = ("traceId", "correlationId", "timestamp")
COMPARED_HEADERS = ("content-type", "idempotent-replayed", "retry-after")
# What the hot routes change, each table with the columns that identify a row's content (ids
# and uuids of new rows are drawn from sequences and random sources on both sides alike, so
# they are left out; references to rows that existed before, and every figure, are kept).
EFFECTS = {
    "benefit_usages": "customer_id, benefit_key, grant_id, contract_id, period_start, "
    "period_end, studio_id, api_key_id, channel, used_at, idempotency_key",
    "benefit_counters": "grant_id, contract_id, period_start, period_end, uses_limit, used",
    "loyalty_contracts": "uuid, points_balance, coupons_used, last_changed_at",
    "loyalty_points_transactions": "contract_id, transaction_type, points_type, amount, "
    "balance_after, external_ref, refund_of_id, created_at, created_by",
    "loyalty_order_line_events": "contract_id, order_id, order_line_id, created_at",
    "outbox_events": "tenant_id, event_type, entity_id, studio_id, created_at",
    "idempotency_records": "owner, key, request_hash, response_status, expires_at",
}


@dataclass(frozen=True)
class Template:
    """The template database and the two worlds built in it."""

    url: str
    worlds: tuple[TenantWorld, TenantWorld]


def _database_url(name: str) -> str:
    assert SERVER
    return normalise_database_url(
        make_url(SERVER).set(database=name).render_as_string(hide_password=False)
    )


@pytest.fixture(scope="module")
async def template(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Template]:
    assert SERVER
    name = f"openbenefits_world_{uuid.uuid4().hex[:12]}"
    await pg_admin(SERVER, f'CREATE DATABASE "{name}"')
    try:
        url = _database_url(name)
        data_dir = tmp_path_factory.mktemp("world")
        db = Database(url, connections=4)
        try:
            await upgrade_to_head(db.engine)
            clock = FixedClock(START)
            app = create_app(make_settings(url, data_dir), db=db, clock=clock)
            async with _client(app) as client:
                worlds = (
                    await build_tenant(client, app.state.settings, clock, "A"),
                    await build_tenant(client, app.state.settings, clock, "B"),
                )
        finally:
            await db.dispose()
        yield Template(url, worlds)
    finally:
        await pg_admin(SERVER, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@asynccontextmanager
async def _client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@asynccontextmanager
async def _clone(template: Template, data_dir: Path) -> AsyncIterator[tuple[Database, Any]]:
    """A database copied from the template, and the service on it (with the fast path)."""
    assert SERVER
    name = f"openbenefits_clone_{uuid.uuid4().hex[:12]}"
    source = make_url(template.url).database
    await pg_admin(SERVER, f'CREATE DATABASE "{name}" TEMPLATE "{source}"')
    url = _database_url(name)
    db = Database(url, connections=4)
    try:
        settings_ = make_settings(url, data_dir)
        app = create_app(
            settings_, db=db, clock=FixedClock(START), blobs=LocalBlobStore(data_dir / "blobs")
        )
        yield db, app
    finally:
        await db.dispose()
        await pg_admin(SERVER, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- The requests ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    params: tuple[tuple[str, str], ...] = ()
    body: bytes | None = None
    headers: tuple[tuple[str, str], ...] = ()
    # Sent in chunks of unknown total length (Transfer-Encoding: chunked).
    chunked: bool = False

    def __repr__(self) -> str:
        chunked = " chunked" if self.chunked else ""
        return f"{self.method} {self.path} {self.params} {self.body!r}{chunked} {self.headers}"


def _credential(template: Template, kind: str) -> tuple[tuple[str, str], ...]:
    """A credential of the first world unless ``kind`` names the second (``B``)."""
    world = template.worlds[1 if kind.endswith("B") else 0]
    if kind.startswith("studio"):
        return tuple(world.studio_key.items())
    if kind.startswith("loyalty"):
        return tuple(world.loyalty.items())
    return {"bogus": (("X-API-KEY", "obk_bogus"), ("Authorization", "Bearer x.y.z")), "none": ()}[
        kind
    ]


def _calls(template: Template) -> st.SearchStrategy[Call]:
    a, b = template.worlds
    studio_credentials = st.sampled_from(
        ["studio", "studio", "studio", "studioB", "loyalty", "none", "bogus"]
    )
    loyalty_credentials = st.sampled_from(
        ["loyalty", "loyalty", "loyalty", "loyaltyB", "studio", "none", "bogus"]
    )
    customer_ids = st.sampled_from(
        [str(a.ids["customerId"])] * 3
        + [
            str(a.ids["consumerCustomerId"]),
            str(b.ids["customerId"]),
            "0",
            "9223372036854775808",
            "x",
        ]
    )
    keys = st.sampled_from(
        [a.ids["benefitKey"]] * 3 + [b.ids["benefitKey"], "UNKNOWN", "", "K" * 101]
    )
    idempotency = st.one_of(
        st.just(()),
        st.sampled_from(["retry-1", "retry-2"]).map(lambda k: (("Idempotency-Key", k),)),
    )

    def check(customer: str, chosen: list[str], credential: str) -> Call:
        return Call(
            "GET",
            f"/v1/customers/{customer}/benefits",
            tuple(("key", k) for k in chosen),
            headers=_credential(template, credential),
        )

    def by_card(number: str | None, card_format: str, credential: str) -> Call:
        params = (() if number is None else (("cardNumber", number),)) + (
            (("cardNumberFormat", card_format),) if card_format else ()
        )
        return Call(
            "GET", "/v1/customers/benefits", params, headers=_credential(template, credential)
        )

    def use(customer: str, key: str, credential: str, retry: tuple[tuple[str, str], ...]) -> Call:
        return Call(
            "POST",
            f"/v1/customers/{customer}/benefits/{key}/use",
            headers=_credential(template, credential) + retry,
        )

    instants = st.sampled_from(
        [None, None, "2026-11-21T10:00:00Z", "2026-12-01T00:30:00+01:00", "2026-11-22", "x"]
    )

    def dry_run(customer: str, key: str, at: str | None, credential: str) -> Call:
        return Call(
            "GET",
            f"/v1/customers/{customer}/benefits/{key}/check",
            () if at is None else (("at", at),),
            headers=_credential(template, credential),
        )

    numbers = st.sampled_from(
        [a.ids["customerNumber"]] * 3
        + [a.ids["consumerCustomerNumber"], b.ids["customerNumber"], 424242]
    )
    contracts = st.sampled_from(
        [a.ids["timedContractUuid"]] * 2
        + [
            a.ids["uuid"],
            a.ids["couponsContractUuid"],
            b.ids["timedContractUuid"],
            "no-such-contract",
        ]
    )
    days = st.sampled_from(
        ["2026-11-22", "2026-11-23", "2020-01-01", "0001-01-01", "2026-02-30", "tomorrow"]
    )
    pairs = st.lists(
        st.fixed_dictionaries({"contractUUID": contracts, "customerNumber": numbers}), max_size=4
    )

    def validate(
        consumptions: list[dict[str, Any]],
        day: str | None,
        credential: str,
        malformed: bool,
        chunked: bool,
    ) -> Call:
        body: dict[str, Any] = {"consumptions": consumptions}
        if day is not None:
            body["travelDate"] = day
        raw = b'{"consumptions": [' if malformed else json.dumps(body).encode()
        return Call(
            "POST",
            f"{LOYALTY}/contracts/validate-consumptions",
            body=raw,
            headers=(*_credential(template, credential), ("Content-Type", "application/json")),
            chunked=chunked,
        )

    def entitlements(
        number: int,
        day: str | None,
        exclude: str | None,
        extra: tuple[tuple[str, str], ...],
        credential: str,
    ) -> Call:
        params = tuple(
            (name, value)
            for name, value in (("travelDate", day), ("excludeSubContracts", exclude))
            if value is not None
        )
        params += extra
        return Call(
            "GET",
            f"{LOYALTY}/entitlements/{number}/by-customer-number",
            params,
            headers=_credential(template, credential),
        )

    cards = st.sampled_from(
        [a.ids["uuid"]] * 3 + [b.ids["uuid"], a.ids["timedContractUuid"], "no-such-contract"]
    )
    transaction = st.fixed_dictionaries(
        {
            "transactionType": st.sampled_from(
                ["DEPOSIT", "WITHDRAWAL", "WITHDRAWAL", "REFUND", "GIFT"]
            ),
            "pointsType": st.sampled_from(["NOK", "NOK", "NOK", "EUR"]),
            "amount": st.sampled_from(
                ["10.00", "250.00", "0.00", "-5.00", "1e3", "100000000000.00"]
            ),
            "externalRef": st.sampled_from(["ref-1", "ref-2", "ref-3"]),
        },
        optional={"refundOf": st.sampled_from([a.ids["refundOf"], b.ids["refundOf"], 999999])},
    )

    def points(
        card: str,
        data: dict[str, Any],
        credential: str,
        retry: tuple[tuple[str, str], ...],
        chunked: bool,
    ) -> Call:
        return Call(
            "POST",
            f"{LOYALTY}/contracts/{card}/points-transactions",
            body=json.dumps(data).encode(),
            headers=_credential(template, credential)
            + retry
            + (("Content-Type", "application/json"),),
            chunked=chunked,
        )

    optional_day = st.one_of(st.none(), days)
    rarely = st.sampled_from([False, False, False, True])
    anything = st.one_of(
        st.builds(check, customer_ids, st.lists(keys, max_size=3), studio_credentials),
        st.builds(
            by_card,
            st.sampled_from([a.ids["cardNumber"], b.ids["cardNumber"], None, "", "1" * 300]),
            st.sampled_from(["", "DECIMAL", "HEX_MSB", "NOPE"]),
            studio_credentials,
        ),
        st.builds(use, customer_ids, keys, studio_credentials, idempotency),
        st.builds(dry_run, customer_ids, keys, instants, studio_credentials),
        st.builds(validate, pairs, optional_day, loyalty_credentials, rarely, rarely),
        st.builds(
            entitlements,
            numbers,
            optional_day,
            st.sampled_from([None, "true", "false", "yes"]),
            st.sampled_from([(), (), (), (("travelDate", "2026-11-23"),), (("other", "1"),)]),
            loyalty_credentials,
        ),
        st.builds(points, cards, transaction, loyalty_credentials, idempotency, rarely),
    )
    # The common case of each route, which the fast path serves: what most requests are.
    holder, own_key = str(a.ids["customerId"]), a.ids["benefitKey"]
    own_numbers = st.sampled_from([a.ids["customerNumber"], a.ids["consumerCustomerNumber"]])
    own_contracts = st.sampled_from(
        [a.ids["timedContractUuid"], a.ids["uuid"], a.ids["couponsContractUuid"]]
    )
    own_pairs = st.fixed_dictionaries(
        {"contractUUID": own_contracts, "customerNumber": own_numbers}
    )
    deposit_or_withdrawal = st.fixed_dictionaries(
        {
            "transactionType": st.sampled_from(["DEPOSIT", "WITHDRAWAL"]),
            "pointsType": st.just("NOK"),
            "amount": st.sampled_from(["10.00", "250.00"]),
            "externalRef": st.sampled_from(["ref-1", "ref-2", "ref-3"]),
        }
    )
    common = st.one_of(
        st.builds(
            check, st.just(holder), st.lists(st.just(own_key), max_size=2), st.just("studio")
        ),
        st.builds(by_card, st.just(a.ids["cardNumber"]), st.just(""), st.just("studio")),
        st.builds(use, st.just(holder), st.just(own_key), st.just("studio"), idempotency),
        st.builds(dry_run, st.just(holder), st.just(own_key), st.just(None), st.just("studio")),
        st.builds(
            validate,
            st.lists(own_pairs, min_size=1, max_size=4),
            st.sampled_from([None, "2026-11-22", "2026-11-23"]),
            st.just("loyalty"),
            st.just(False),
            rarely,
        ),
        st.builds(
            entitlements,
            own_numbers,
            st.sampled_from([None, "2026-11-23"]),
            st.sampled_from([None, "true", "false"]),
            st.just(()),
            st.just("loyalty"),
        ),
        st.builds(
            points,
            st.just(a.ids["uuid"]),
            deposit_or_withdrawal,
            st.just("loyalty"),
            idempotency,
            rarely,
        ),
    )
    return st.one_of(common, anything)


@st.composite
def _sequences(draw: st.DrawFn, template: Template) -> list[Call]:
    """Requests in a row, some of them sent again later, as clients retry."""
    calls = draw(st.lists(_calls(template), min_size=1, max_size=30))
    retried = draw(st.lists(st.integers(0, len(calls) - 1), max_size=8))
    return calls + [calls[index] for index in retried]


# --- Sending and comparing ---------------------------------------------------------------------


async def _send(client: httpx.AsyncClient, call: Call) -> httpx.Response:
    content: bytes | AsyncIterator[bytes] | None = call.body
    if call.chunked and call.body is not None:
        content = _chunks(call.body)
    return await client.request(
        call.method, call.path, params=call.params, content=content, headers=dict(call.headers)
    )


async def _chunks(body: bytes) -> AsyncIterator[bytes]:
    yield body[:10]
    yield body[10:]


def _answer(response: httpx.Response) -> tuple[Any, ...]:
    body: Any = response.content
    if response.headers.get("content-type", "").endswith("json") and body:
        body = response.json()
        if isinstance(body, dict):
            body = {k: v for k, v in body.items() if k not in VARYING_MEMBERS}
    headers = tuple(response.headers.get(name) for name in COMPARED_HEADERS)
    return response.status_code, headers, body


async def _effects(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    found = {}
    async with db.session(write=False) as session:
        for table, columns in EFFECTS.items():
            # The table and column names are this module's constants.
            statement = f"SELECT {columns} FROM {table} ORDER BY {columns}"  # noqa: S608
            rows = await session.execute(text(statement))
            found[table] = [tuple(row) for row in rows]
    return found


@pytest.fixture(scope="module")
def served() -> dict[str, int]:
    """How many requests of each hot route the fast dispatch answered, over all examples."""
    return {}


@settings(
    max_examples=int(os.environ.get("DIFFERENTIAL_EXAMPLES", "30")),
    deadline=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
async def test_the_fast_path_answers_and_acts_as_the_framework(
    template: Template, tmp_path: Path, served: dict[str, int], data: st.DataObject
) -> None:
    calls = data.draw(_sequences(template), label="calls")
    async with (
        _clone(template, tmp_path / str(uuid.uuid4())) as (fast_db, fast_app),
        _clone(template, tmp_path / str(uuid.uuid4())) as (plain_db, plain_app),
    ):
        without_dispatch(plain_app)
        async with _client(fast_app) as fast, _client(plain_app) as plain:
            for number, call in enumerate(calls):
                with dispatched() as routes:
                    fast_answer = await _send(fast, call)
                for method, path in routes:
                    served[f"{method} {path}"] = served.get(f"{method} {path}", 0) + 1
                plain_answer = await _send(plain, call)
                assert _answer(fast_answer) == _answer(plain_answer), (number, call)
        assert await _effects(fast_db) == await _effects(plain_db), calls


def _common_case(template: Template) -> dict[tuple[str, str], Call]:
    """A request of the common case for each route of the fast path, by method and template."""
    a = template.worlds[0].ids
    studio = _credential(template, "studio")
    loyalty = (*_credential(template, "loyalty"), ("Content-Type", "application/json"))
    customer = f"/v1/customers/{a['customerId']}"
    pair = {"contractUUID": a["timedContractUuid"], "customerNumber": a["customerNumber"]}
    deposit = {
        "transactionType": "DEPOSIT",
        "pointsType": "NOK",
        "amount": "10.00",
        "externalRef": "common-case",
    }
    return {
        ("GET", "/v1/customers/benefits"): Call(
            "GET", "/v1/customers/benefits", (("cardNumber", a["cardNumber"]),), headers=studio
        ),
        ("GET", "/v1/customers/{customerId}/benefits"): Call(
            "GET", f"{customer}/benefits", headers=studio
        ),
        ("POST", "/v1/customers/{customerId}/benefits/{benefitKey}/use"): Call(
            "POST", f"{customer}/benefits/{a['benefitKey']}/use", headers=studio
        ),
        ("GET", "/v1/customers/{customerId}/benefits/{benefitKey}/check"): Call(
            "GET", f"{customer}/benefits/{a['benefitKey']}/check", headers=studio
        ),
        ("POST", f"{LOYALTY}/contracts/validate-consumptions"): Call(
            "POST",
            f"{LOYALTY}/contracts/validate-consumptions",
            body=json.dumps({"consumptions": [pair]}).encode(),
            headers=loyalty,
        ),
        ("GET", f"{LOYALTY}/entitlements/{{customerNumber}}/by-customer-number"): Call(
            "GET",
            f"{LOYALTY}/entitlements/{a['customerNumber']}/by-customer-number",
            headers=loyalty,
        ),
        ("POST", f"{LOYALTY}/contracts/{{uuid}}/points-transactions"): Call(
            "POST",
            f"{LOYALTY}/contracts/{a['uuid']}/points-transactions",
            body=json.dumps(deposit).encode(),
            headers=loyalty,
        ),
    }


async def test_the_fast_dispatch_serves_the_common_case_of_each_of_its_routes(
    template: Template, tmp_path: Path
) -> None:
    """Without this, the comparison above could pass with a dispatch that serves nothing. Each
    fast route's common case is served by the dispatch, on the bare driver connection alone
    once the credential is known to the process. A new fast route must add its common case."""
    async with _clone(template, tmp_path) as (db, app), _client(app) as client:
        routes = {(method, r.path) for r in fast_routes(app.router) for method in r.methods}
        common = _common_case(template)
        assert common.keys() == routes
        for route, call in common.items():
            await _send(client, call)  # the credential is looked up, and remembered
            with dispatched() as called:
                async with statements(db) as ran:
                    answer = await _send(client, call)
            assert answer.status_code in (200, 201), (route, answer.text)
            assert called == [route], route
            assert ran.on_driver, route
            assert ran.through_sqlalchemy == [], route
