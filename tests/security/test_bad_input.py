"""Bad input is a 4xx in the surface's shape, never a 5xx: integers beyond 64 bits, JSON nested
10,000 deep, days at the calendar's ends, ``null`` where a member is not nullable, a value of
another JSON type than its schema's, NUL characters, a balance beyond what its column holds.
Members a body does not know are refused on the admin and loyalty surfaces and ignored on the
studio's.

The walks over the application's own OpenAPI document cover every route, routes added later
included: every integer input declares 64-bit bounds, and every integer, date and text parameter
refuses what lies beyond the policy; so does every integer, date, text and non-nullable body
member on the admin and loyalty surfaces, which list every error. The studio surface names only
its first error, so its bodies are tried with otherwise valid content (by hand, or complete
bodies generated from the document).
"""

import math
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any, get_args
from urllib.parse import quote

import httpx
import pytest
from fastapi import params
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel

from openbenefits.config import Settings
from openbenefits.kit.bodies import JsonBody
from openbenefits.kit.clock import FixedClock
from openbenefits.kit.error_handlers import validation_status
from openbenefits.kit.middleware import MAX_JSON_DEPTH, JsonNesting
from openbenefits.kit.pagination import MAX_PAGE, MAX_PER_PAGE
from openbenefits.kit.schemas import INT64_MAX, INT64_MIN, InputModel
from openbenefits.loyalty.schemas import MAX_CUSTOMER_NUMBER, MAX_POINTS
from openbenefits.tenancy.scopes import StudioScope
from tests.chain import MONTHLY_RATE, create_contract, create_rate
from tests.helpers import admin_headers, create_tenant, expect
from tests.security.matrix import Filler, components

Schema = dict[str, Any]
BEYOND_64_BITS = [2**63, -(2**63) - 1, 2**64, 2**70]
FAR_DAYS = ["0001-01-01", "9999-12-31"]
FAR_INSTANTS = ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z"]
LOYALTY = "/customers/v2/benefits"
DEEP = "[" * 10_000 + "]" * 10_000
NUL = "a\x00b"


@dataclass(frozen=True)
class BadValues:
    """Values the input policy refuses, by the kinds (a type or a format) of the parameters and
    members they are tried on, and the least number of requests each walk must make (so a
    document that stops declaring those kinds cannot make the walk pass by trying nothing)."""

    kinds: dict[str, list[object]]
    least_in_parameters: int
    least_in_bodies: int
    # NUL in a URL is refused before routing, by a layer that knows no parameter names.
    located_in_parameters: bool = True


BAD_VALUES = {
    "beyond-64-bits": BadValues({"integer": BEYOND_64_BITS}, 400, 60),
    "far-dates": BadValues({"date": FAR_DAYS, "date-time": FAR_INSTANTS}, 14, 20),
    "nul": BadValues({"string": [NUL]}, 50, 100, located_in_parameters=False),
}


@dataclass(frozen=True)
class Surfaces:
    tenant_id: int
    studio_id: int
    studio: dict[str, str]
    loyalty: dict[str, str]
    admin: dict[str, str]

    def credentials(self, path: str) -> dict[str, str]:
        if path.startswith("/v1/"):
            return self.studio
        if path.startswith(LOYALTY):
            return self.loyalty
        return self.admin


@pytest.fixture
async def surfaces(client: httpx.AsyncClient, settings: Settings, clock: FixedClock) -> Surfaces:
    admin = admin_headers(settings, clock)
    setup = await create_tenant(client, admin, "Edges", scopes=[s.value for s in StudioScope])
    form = {
        "grant_type": "client_credentials",
        "client_id": setup.client_id,
        "client_secret": setup.client_secret,
    }
    token = expect(await client.post("/oauth/token", data=form), 200)["access_token"]
    return Surfaces(
        setup.tenant_id,
        setup.studio_id,
        {"X-API-KEY": setup.api_key},
        {"Authorization": f"Bearer {token}"},
        admin,
    )


def _refused(
    response: httpx.Response, location: str | None = None, *, status: int | None = None
) -> dict[str, Any]:
    """A refusal in the surface's shape, by default its answer to invalid input (400 on the
    studio surface, 422 elsewhere), naming ``location`` when given: the studio's ErrorResponse
    names its first error, problem+json lists them all."""
    path = response.request.url.path
    assert response.status_code == (status or validation_status(path)), response.text
    body: dict[str, Any] = response.json()
    if path.startswith("/v1/"):
        assert set(body) <= {"errorMessage", "errorCode", "traceId", "reference"}, body
        named = [body.get("reference", "")]
    else:
        assert response.headers["content-type"] == "application/problem+json", body
        named = [error["location"] for error in body.get("errors", [])]
    # A union names the member and the alternative: body.travelDate.date.
    assert location is None or any(f"{n}.".startswith(f"{location}.") for n in named), body
    return body


# --- Walking the OpenAPI document -------------------------------------------------------------


def _resolve(schema: Schema, document: Schema) -> Schema:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _branches(schema: Schema, document: Schema) -> Iterator[Schema]:
    """The alternatives a value may take, ``$ref`` resolved and unions flattened."""
    schema = _resolve(schema, document)
    alternatives = schema.get("anyOf", schema.get("oneOf", schema.get("allOf")))
    if alternatives is None:
        yield schema
        return
    for alternative in alternatives:
        yield from _branches(alternative, document)


Member = tuple[tuple[str | int, ...], Schema]


def _members(schema: Schema, document: Schema, at: tuple[str | int, ...] = ()) -> Iterator[Member]:
    """Every value within a body schema, with where it sits (object member names, ``0`` for an
    array's items) and its schema there."""
    yield at, schema
    for branch in _branches(schema, document):
        for name, member in branch.get("properties", {}).items():
            yield from _members(member, document, (*at, name))
        if "items" in branch:
            yield from _members(branch["items"], document, (*at, 0))


def _operations(document: Schema) -> Iterator[tuple[str, str, Schema]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield method.upper(), path, operation


def _json_body(operation: Schema) -> Schema | None:
    content = operation.get("requestBody", {}).get("content", {})
    return content.get("application/json", {}).get("schema")


def _nullable(schema: Schema, document: Schema) -> bool:
    return any(branch.get("type") == "null" for branch in _branches(schema, document))


def _skeleton(at: tuple[str | int, ...], value: object) -> object:
    """A body holding ``value`` at ``at`` and nothing else."""
    if not at:
        return value
    head, *rest = at
    inner = _skeleton(tuple(rest), value)
    return [inner] if isinstance(head, int) else {head: inner}


def _where(at: tuple[str | int, ...]) -> str:
    return ".".join(str(part) for part in ("body", *at))


def _sample(parameter: Schema, document: Schema, surfaces: Surfaces) -> object:
    """A value a parameter takes: the tenant's id for ``tenantId``, else the simplest one."""
    if parameter["name"] == "tenantId":
        return surfaces.tenant_id
    schema = next(_branches(parameter["schema"], document))
    if "enum" in schema:
        return schema["enum"][0]
    if schema.get("type") == "integer":
        return max(1, schema.get("minimum", 1))
    if schema.get("format") == "date":
        return "2026-11-22"
    if schema.get("format") == "date-time":
        return "2026-11-22T10:00:00Z"
    return "x"


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, object]


def _requests_varying(
    document: Schema, surfaces: Surfaces, kinds: dict[str, list[object]]
) -> Iterator[tuple[Request, str]]:
    """For every path or query parameter whose schema has one of the ``kinds`` (``"integer"``,
    ``"date"``, ``"date-time"``) and for each of its values: the request carrying that value
    there, with the operation's other parameters at simple values, and the location it
    names."""
    for method, path, operation in _operations(document):
        parameters = [p for p in operation.get("parameters", []) if p["in"] in ("path", "query")]
        for parameter in parameters:
            kind = next(
                (
                    kind
                    for branch in _branches(parameter["schema"], document)
                    for kind in (branch.get("format"), branch.get("type"))
                    if kind in kinds
                ),
                None,
            )
            if kind is None:
                continue
            for value in kinds[kind]:
                values = {
                    p["name"]: value if p is parameter else _sample(p, document, surfaces)
                    for p in parameters
                    if p is parameter or p.get("required")
                }
                filled = path.format(
                    **{
                        p["name"]: quote(str(values.pop(p["name"])), safe="")
                        for p in parameters
                        if p["in"] == "path"
                    }
                )
                yield Request(method, filled, values), f"{parameter['in']}.{parameter['name']}"


async def _send(client: httpx.AsyncClient, surfaces: Surfaces, request: Request) -> httpx.Response:
    return await client.request(
        request.method,
        request.path,
        params={k: str(v) for k, v in request.query.items()},
        headers=surfaces.credentials(request.path),
    )


# --- Integers ---------------------------------------------------------------------------------


def test_every_integer_input_declares_64_bit_bounds(app: Any) -> None:
    """Path, query and body integers alike: a lower and an upper bound within 64 bits (bounds
    are floats in the document, so 2^63 as an exclusive maximum), or the reference's ``format:
    int64`` (the studio surface's ids, held to the reference's spelling by tests/contract/)."""
    document = app.openapi()
    unbounded = []
    for method, path, operation in _operations(document):
        inputs = [
            (f"{p['in']}.{p['name']}", p["schema"])
            for p in operation.get("parameters", [])
            if p["in"] in ("path", "query")
        ]
        if body := _json_body(operation):
            inputs += [(_where(at), schema) for at, schema in _members(body, document)]
        for where, schema in inputs:
            for branch in _branches(schema, document):
                if branch.get("type") == "integer" and not _within_64_bits(branch):
                    unbounded.append(f"{method} {path} {where}")
    assert not unbounded


def _within_64_bits(schema: Schema) -> bool:
    if schema.get("format") == "int64":
        return True
    lowest = schema.get("minimum", schema.get("exclusiveMinimum", -math.inf))
    if "maximum" in schema:
        return lowest >= INT64_MIN and schema["maximum"] <= INT64_MAX
    return lowest >= INT64_MIN and schema.get("exclusiveMaximum", math.inf) <= INT64_MAX + 1


def _bodies(
    document: Schema, surfaces: Surfaces, prefixes: tuple[str, ...]
) -> Iterator[tuple[str, str, Schema]]:
    """The JSON bodies of the operations under ``prefixes``, each with its method and path
    (path parameters at simple values)."""
    for method, path, operation in _operations(document):
        body = _json_body(operation)
        if body is None or not path.startswith(prefixes):
            continue
        filled = path.format(
            **{
                p["name"]: _sample(p, document, surfaces)
                for p in operation.get("parameters", [])
                if p["in"] == "path"
            }
        )
        yield method, filled, body


def _body_members(
    document: Schema, surfaces: Surfaces
) -> Iterator[tuple[str, str, tuple[str | int, ...], Schema]]:
    """Every member of the JSON bodies of the admin and loyalty surfaces (they list every error,
    where the studio's names its first and the token endpoint answers as OAuth prescribes), with
    its operation (path parameters at simple values), where it sits and its schema."""
    for method, filled, body in _bodies(document, surfaces, ("/admin/", LOYALTY)):
        for at, schema in _members(body, document):
            if at:
                yield method, filled, at, schema


def _of_kind(schema: Schema, document: Schema, kind: str) -> bool:
    """Whether a value of ``schema`` may be of ``kind``, a type or a format."""
    return any(kind in (b.get("type"), b.get("format")) for b in _branches(schema, document))


async def test_the_studio_surface_refuses_integers_beyond_64_bits_with_its_error_shape(
    client: httpx.AsyncClient, surfaces: Surfaces
) -> None:
    key = surfaces.studio
    for value in BEYOND_64_BITS:
        found = await client.get(f"/v1/customers/{value}", headers=key)
        assert _refused(found, "path.customerId")["errorCode"] == "VALIDATION_ERROR"
        switch = await client.post(
            "/v1/customers/1/switch-studio",
            json={"targetStudioId": value, "switchDate": "2026-12-01"},
            headers=key,
        )
        _refused(switch, "body.targetStudioId")
        purchase = await client.post(
            "/v1/memberships/1/self-service/additional-modules/purchase",
            json={"additionalModuleId": 1, "paymentFrequencyId": value, "bookTrialPeriod": False},
            headers=key,
        )
        _refused(purchase, "body.paymentFrequencyId")
        values = await client.put(
            "/v1/customers/1/additional-information-field-assignments",
            json=[{"additionalInformationFieldId": value, "value": "x"}],
            headers=key,
        )
        _refused(values, "body.0.additionalInformationFieldId")


async def test_any_64_bit_id_the_reference_allows_is_taken_on_the_studio_surface(
    client: httpx.AsyncClient, surfaces: Surfaces
) -> None:
    """The reference types studio ids int64 without bounds: an id no customer has, however
    small, is not found rather than refused."""
    for value in (INT64_MIN, -1, 0, INT64_MAX):
        response = await client.get(f"/v1/customers/{value}", headers=surfaces.studio)
        assert response.status_code == 404, response.text


async def test_ids_are_positive_on_the_admin_and_loyalty_surfaces(
    client: httpx.AsyncClient, surfaces: Surfaces
) -> None:
    tenant = f"/admin/v1/tenants/{surfaces.tenant_id}"
    _refused(await client.get(f"{tenant}/studios/0", headers=surfaces.admin), "path.studioId")
    program = await client.get(f"{LOYALTY}/loyaltyprograms/-1", headers=surfaces.loyalty)
    _refused(program, "path.loyaltyProgramId")


async def test_customer_numbers_beyond_their_bound_are_refused_on_the_fast_route_too(
    client: httpx.AsyncClient, surfaces: Surfaces
) -> None:
    """Entitlements is a fast route: a number its parameter refuses goes to the router,
    which answers it."""
    beyond = MAX_CUSTOMER_NUMBER + 1
    for number, status in ((MAX_CUSTOMER_NUMBER, 404), (beyond, 422)):
        response = await client.get(
            f"{LOYALTY}/entitlements/{number}/by-customer-number", headers=surfaces.loyalty
        )
        assert response.status_code == status, response.text


async def test_the_last_page_whose_offset_fits_64_bits_is_served(
    client: httpx.AsyncClient, surfaces: Surfaces
) -> None:
    last = {"page": MAX_PAGE, "perPage": MAX_PER_PAGE}
    for path, headers in (
        (f"/admin/v1/tenants/{surfaces.tenant_id}/studios", surfaces.admin),
        (f"{LOYALTY}/loyaltyprograms", surfaces.loyalty),
    ):
        page = expect(await client.get(path, params=last, headers=headers), 200)
        assert (page["items"], page["page"]) == ([], MAX_PAGE)
        beyond = await client.get(path, params={**last, "page": MAX_PAGE + 1}, headers=headers)
        _refused(beyond, "query.page")


async def test_a_balance_never_exceeds_what_the_ledger_holds(
    client: httpx.AsyncClient, surfaces: Surfaces
) -> None:
    headers = surfaces.loyalty
    program = await client.post(
        f"{LOYALTY}/loyaltyprograms",
        json={
            "loyaltyProgramType": "POINTS",
            "productId": "P",
            "startDate": "2026-01-01T00:00:00Z",
        },
        headers=headers,
    )
    contract = await client.post(
        f"{LOYALTY}/loyaltyprograms/{expect(program, 201)['id']}/contracts",
        json={"consumableFrom": "2026-01-01T00:00:00Z"},
        headers=headers,
    )
    transactions = f"{LOYALTY}/contracts/{expect(contract, 201)['uuid']}/points-transactions"

    async def deposit(amount: str, ref: str) -> httpx.Response:
        body = {"transactionType": "DEPOSIT", "pointsType": "NOK", "amount": amount}
        return await client.post(transactions, json={**body, "externalRef": ref}, headers=headers)

    full = expect(await deposit(str(MAX_POINTS), "all"), 201)
    assert full["balanceAfter"] == str(MAX_POINTS)
    assert expect(await deposit("0.01", "one more"), 409)["code"] == "POINTS_BALANCE_LIMIT"


# --- JSON depth -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/v1/customers/search",
        f"{LOYALTY}/contracts/validate-consumptions",
        f"{LOYALTY}/loyaltyprograms",
        "/admin/v1/tenants",
        "/oauth/token",
    ],
)
async def test_json_nested_10000_deep_is_refused_on_every_surface(
    client: httpx.AsyncClient, surfaces: Surfaces, path: str
) -> None:
    response = await client.post(
        path,
        content=DEEP,
        headers={**surfaces.credentials(path), "Content-Type": "application/json"},
    )
    body = _refused(response, status=400)
    assert body.get("errorCode", body.get("code")) == "JSON_TOO_DEEP"


async def test_the_depth_is_checked_while_a_chunked_body_streams_in(
    client: httpx.AsyncClient, surfaces: Surfaces
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"consumptions": ['
        yield DEEP.encode()

    response = await client.post(
        f"{LOYALTY}/contracts/validate-consumptions",
        content=chunks(),
        headers={**surfaces.loyalty, "Content-Type": "application/json"},
    )
    assert _refused(response, status=400)["code"] == "JSON_TOO_DEEP"


async def test_json_as_deep_as_the_limit_goes_on_to_validation(
    client: httpx.AsyncClient, surfaces: Surfaces
) -> None:
    def nested(depth: int) -> str:
        return "[" * depth + "]" * depth

    path = f"/admin/v1/tenants/{surfaces.tenant_id}/studios"
    headers = {**surfaces.admin, "Content-Type": "application/json"}
    deepest = await client.post(path, content=nested(MAX_JSON_DEPTH), headers=headers)
    assert _refused(deepest)["code"] == "VALIDATION_ERROR"
    deeper = await client.post(path, content=nested(MAX_JSON_DEPTH + 1), headers=headers)
    assert _refused(deeper, status=400)["code"] == "JSON_TOO_DEEP"


@pytest.mark.parametrize(
    ("chunks", "depth"),
    [
        ([b'{"a": [1, {"b": []}]}'], 4),
        ([b'{"a": "[[[[{{{{"}'], 1),
        ([b'{"a": "\\"[[[", "b": [[]]}'], 3),
        ([b'{"a": "\\\\", "b": [[]]}'], 3),
        ([b'{"a": "x\\', b'"[[[", "b": []}'], 2),
        ([b"[[[", b"[[", b"]]]]]"], 5),
    ],
)
def test_nesting_counts_brackets_outside_strings_across_chunks(
    chunks: list[bytes], depth: int
) -> None:
    nesting = JsonNesting()
    assert max(nesting.feed(chunk) for chunk in chunks) == depth


# --- Dates, instants and durations ------------------------------------------------------------


async def test_the_reported_far_dates_are_refused(
    client: httpx.AsyncClient, surfaces: Surfaces
) -> None:
    """A contract starting 9999-12-31 and travel dates of 0001-01-01, which overflowed the date
    arithmetic."""
    tenant = f"/admin/v1/tenants/{surfaces.tenant_id}"
    contract = await client.post(
        f"{tenant}/contracts",
        json={"customerId": 1, "rateId": 1, "paymentFrequencyId": 1, "startDate": "9999-12-31"},
        headers=surfaces.admin,
    )
    assert _refused(contract, "body.startDate")["code"] == "DATE_OUT_OF_RANGE"
    entitlements = await client.get(
        f"{LOYALTY}/entitlements/7/by-customer-number",
        params={"travelDate": "0001-01-01"},
        headers=surfaces.loyalty,
    )
    assert _refused(entitlements, "query.travelDate")["code"] == "DATE_OUT_OF_RANGE"
    validation = await client.post(
        f"{LOYALTY}/contracts/validate-consumptions",
        json={
            "travelDate": "0001-01-01",
            "consumptions": [{"contractUUID": "x", "customerNumber": 7}],
        },
        headers=surfaces.loyalty,
    )
    assert _refused(validation, "body.travelDate")["code"] == "DATE_OUT_OF_RANGE"


async def test_the_studio_surface_refuses_far_days_with_its_error_shape(
    client: httpx.AsyncClient, surfaces: Surfaces
) -> None:
    for day in FAR_DAYS:
        restriction = await client.put(
            "/v1/customers/1/access-restrictions",
            json={"reason": "unpaid", "startDate": day, "endDate": "2026-12-31"},
            headers=surfaces.studio,
        )
        assert _refused(restriction, "body.startDate")["errorCode"] == "DATE_OUT_OF_RANGE"
        history = await client.get(
            "/v1/customers/1/activities/checkins",
            params={"fromDate": day},
            headers=surfaces.studio,
        )
        _refused(history, "query.fromDate")


async def test_instants_need_an_offset_and_durations_a_bound(
    client: httpx.AsyncClient, surfaces: Surfaces
) -> None:
    check_in = await client.post(
        f"/admin/v1/tenants/{surfaces.tenant_id}/check-ins",
        json={"customerId": 1, "studioId": surfaces.studio_id, "at": "2026-11-22T10:00:00"},
        headers=surfaces.admin,
    )
    assert _refused(check_in, "body.at")["code"] == "INSTANT_WITHOUT_OFFSET"
    program = await client.post(
        f"{LOYALTY}/loyaltyprograms",
        json={
            "loyaltyProgramType": "TIMED",
            "productId": "P",
            "startDate": "2026-01-01T00:00:00Z",
            "usageValidityPeriod": "PT99999999H",
        },
        headers=surfaces.loyalty,
    )
    assert _refused(program, "body.usageValidityPeriod")["code"] == "DURATION_OUT_OF_RANGE"


async def test_terms_from_the_latest_day_stay_within_the_calendar(chain: Any) -> None:
    """A contract of century-long terms starting on the latest day the service takes is signed
    and read; a longer term is refused."""
    century = {"value": 100, "unit": "YEAR"}
    rate = await create_rate(chain, term=century, extensionTerm=century)
    customer = await chain.customer()
    contract = await create_contract(chain, customer, rate, "2999-12-31")
    assert contract["endDate"] == "3099-12-30"
    read = await chain.client.get(f"/v1/customers/{customer['id']}/contracts", headers=chain.key_a)
    assert [c["endDate"] for c in expect(read, 200)] == ["3099-12-30"]
    longer = await chain.client.post(
        f"/admin/v1/tenants/{chain.tenant_id}/rates",
        json={**MONTHLY_RATE, "term": {"value": 101, "unit": "YEAR"}},
        headers=chain.admin,
    )
    _refused(longer, "body.term")


# --- NUL characters (PostgreSQL cannot store them) --------------------------------------------


def _models(annotation: Any, seen: set[type[BaseModel]]) -> Iterator[type[BaseModel]]:
    """The pydantic models within a type annotation, and within their members'."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if annotation in seen:
            return
        seen.add(annotation)
        yield annotation
        for field in annotation.model_fields.values():
            yield from _models(field.annotation, seen)
    for argument in get_args(annotation):
        yield from _models(argument, seen)


def test_every_model_a_route_takes_follows_the_input_policy(app: Any) -> None:
    """Every body is an ``InputModel``, so each of its members is checked against the calendar
    and the text rules: a route added later cannot take a body that is not one."""
    taken: set[type[BaseModel]] = set()
    for context in iter_route_contexts(app.routes):
        if isinstance(route := context.original_route, APIRoute):
            for body in route.dependant.body_params:
                set(_models(body.field_info.annotation, taken))
    assert taken
    assert not [model.__name__ for model in taken if not issubclass(model, InputModel)]


async def test_nul_is_refused_on_the_studio_surface_and_by_the_token_endpoint(
    client: httpx.AsyncClient, surfaces: Surfaces
) -> None:
    search = await client.post(
        "/v1/customers/search", json={"lastName": NUL}, headers=surfaces.studio
    )
    assert _refused(search, "body.lastName")["errorCode"] == "NUL_CHARACTER"
    value = await client.put(
        "/v1/customers/1/additional-information-field-assignments",
        json=[{"additionalInformationFieldId": 1, "value": NUL}],
        headers=surfaces.studio,
    )
    assert _refused(value, "body.0.value")["errorCode"] == "NUL_CHARACTER"
    weighing = await client.post(
        "/v1/customers/1/weighing", json={"rawResults": NUL}, headers=surfaces.studio
    )
    assert _refused(weighing, "body.rawResults")["errorCode"] == "NUL_CHARACTER"
    form = {"grant_type": "client_credentials", "client_id": NUL, "client_secret": "x"}
    for body in ({"data": form}, {"json": form}):
        token = await client.post("/oauth/token", **body)
        assert _refused(token, status=400)["error"] == "invalid_request"


# --- Nulls ------------------------------------------------------------------------------------


async def test_null_where_a_member_is_not_nullable_is_refused(
    app: Any, client: httpx.AsyncClient, surfaces: Surfaces
) -> None:
    """Every member of every body on the admin and loyalty surfaces whose schema has no
    ``null``."""
    document = app.openapi()
    tried = 0
    for method, path, at, schema in _body_members(document, surfaces):
        if _nullable(schema, document):
            continue
        response = await client.request(
            method, path, json=_skeleton(at, None), headers=surfaces.credentials(path)
        )
        _refused(response, _where(at))
        tried += 1
    assert tried > 100


# --- JSON types and unknown members ------------------------------------------------------------

# A value of each JSON kind, to send where a member's schema takes another kind.
_KINDS: dict[str, object] = {
    "boolean": True,
    "integer": 7,
    "number": 7.5,
    "string": "7",
    "array": [],
    "object": {},
}
FUTURE_MEMBER = "memberOfALaterVersion"


def _wrong_kinds(schema: Schema, document: Schema) -> list[object]:
    """Values of the JSON kinds ``schema`` does not take (none when it takes any kind)."""
    taken = {branch.get("type") for branch in _branches(schema, document)}
    if None in taken:
        return []
    if "number" in taken:
        taken.add("integer")
    return [value for kind, value in _KINDS.items() if kind not in taken]


def _objects(body: Schema, document: Schema) -> Iterator[tuple[str | int, ...]]:
    """Where the objects within a body schema sit (the body itself included)."""
    for at, schema in _members(body, document):
        if any("properties" in branch for branch in _branches(schema, document)):
            yield at


def _complete(schema: Schema, document: Schema, filler: Filler, name: str = "") -> object:
    """A value of ``schema`` with every member of every object present and valid."""
    branch = next(b for b in _branches(schema, document) if b.get("type") != "null")
    if "properties" in branch:
        return {
            member: _complete(inner, document, filler, member)
            for member, inner in branch["properties"].items()
        }
    if "items" in branch:
        return [_complete(branch["items"], document, filler, name)]
    return filler.value(branch, name)


def _placed(body: object, at: tuple[str | int, ...], value: object) -> object:
    """A copy of ``body`` with ``value`` at ``at``."""
    if not at:
        return value
    head, *rest = at
    if isinstance(body, list):
        return [_placed(body[0], tuple(rest), value)]
    assert isinstance(body, dict)
    return {**body, head: _placed(body[head], tuple(rest), value)}


def _within(body: object, at: tuple[str | int, ...]) -> dict[str, Any]:
    for part in at:
        body = body[0] if isinstance(body, list) else body[part]  # type: ignore[index]
    assert isinstance(body, dict)
    return body


def _studio_bodies(app: Any, surfaces: Surfaces) -> Iterator[tuple[str, str, Schema, object]]:
    """Every JSON body of the studio surface, complete and valid, with its operation."""
    document = app.openapi()
    filler = Filler(components(app), {})
    for method, path, body in _bodies(document, surfaces, ("/v1/",)):
        yield method, path, body, _complete(body, document, filler)


def _verdict(response: httpx.Response) -> tuple[int, str | None, str | None]:
    """Status, and for an error its code and what it names."""
    body = response.json() if response.content else None
    if not isinstance(body, dict):
        return response.status_code, None, None
    return response.status_code, body.get("errorCode"), body.get("reference")


async def test_members_of_the_wrong_json_type_are_refused_on_the_admin_and_loyalty_surfaces(
    app: Any, client: httpx.AsyncClient, surfaces: Surfaces
) -> None:
    """A date is a string, a number a number, a boolean true or false: nothing is coerced."""
    document = app.openapi()
    tried = 0
    for method, path, at, schema in _body_members(document, surfaces):
        for value in _wrong_kinds(schema, document):
            response = await client.request(
                method, path, json=_skeleton(at, value), headers=surfaces.credentials(path)
            )
            _refused(response, _where(at))
            tried += 1
    assert tried > 500


async def test_members_of_the_wrong_json_type_or_null_are_refused_on_the_studio_surface(
    app: Any, client: httpx.AsyncClient, surfaces: Surfaces
) -> None:
    """In an otherwise valid body, since the studio's error names its first finding; the
    reference declares no member nullable."""
    document = app.openapi()
    tried = 0
    for method, path, schema, body in _studio_bodies(app, surfaces):
        valid = await client.request(method, path, json=body, headers=surfaces.studio)
        assert not (_verdict(valid)[2] or "").startswith("body"), (method, path, valid.text)
        for at, member in _members(schema, document):
            if not at:
                continue
            for value in [None, *_wrong_kinds(member, document)]:
                response = await client.request(
                    method, path, json=_placed(body, at, value), headers=surfaces.studio
                )
                _refused(response, _where(at))
                tried += 1
    assert tried > 300


async def test_unknown_members_are_refused_on_the_admin_and_loyalty_surfaces(
    app: Any, client: httpx.AsyncClient, surfaces: Surfaces
) -> None:
    """In the body and in every object within it."""
    document = app.openapi()
    tried = 0
    for method, filled, body in _bodies(document, surfaces, ("/admin/", LOYALTY)):
        for at in _objects(body, document):
            response = await client.request(
                method,
                filled,
                json=_skeleton(at, {FUTURE_MEMBER: 1}),
                headers=surfaces.credentials(filled),
            )
            _refused(response, _where((*at, FUTURE_MEMBER)))
            tried += 1
    assert tried > 50


async def test_unknown_members_are_ignored_on_the_studio_surface(
    app: Any, client: httpx.AsyncClient, surfaces: Surfaces
) -> None:
    """In the body and in every object within it: the answer is the one the body without them
    gets."""
    document = app.openapi()
    tried = 0
    for method, path, schema, body in _studio_bodies(app, surfaces):
        expected = _verdict(await client.request(method, path, json=body, headers=surfaces.studio))
        for at in _objects(schema, document):
            later = _placed(body, at, {**_within(body, at), FUTURE_MEMBER: {"x": [1]}})
            response = await client.request(method, path, json=later, headers=surfaces.studio)
            assert _verdict(response) == expected, (method, path, at, response.text)
            tried += 1
    assert tried > 10


async def test_a_json_body_sent_as_another_media_type_is_refused_on_every_surface(
    app: Any, client: httpx.AsyncClient, surfaces: Surfaces
) -> None:
    """FastAPI hands such a body over unparsed: it is invalid input, never a 500."""
    tried = 0
    for method, path, _ in _bodies(app.openapi(), surfaces, ("/v1/", "/admin/", LOYALTY)):
        response = await client.request(
            method,
            path,
            content=b'{"a": 1}',
            headers={**surfaces.credentials(path), "content-type": "text/plain"},
        )
        _refused(response, "body")
        tried += 1
    assert tried > 50


def test_every_json_body_is_taken_strictly_with_its_surfaces_rule_for_unknown_members(
    app: Any,
) -> None:
    """Checked on what serves each route (the framework's inclusion of it and the route the
    fast dispatch calls), so that a route added later cannot take its body loosely."""
    bodies = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute):
            continue
        for served in (context, route):
            for body in served.dependant.body_params:
                if isinstance(body.field_info, params.Form):
                    continue
                assert isinstance(body, JsonBody), (route.path, body.name)
                expected = "ignore" if route.path.startswith("/v1/") else "forbid"
                assert body.unknown_members == expected, route.path
                bodies.append(body)
    assert len(bodies) > 60


async def test_a_version_without_a_start_is_refused_and_changes_nothing(
    client: httpx.AsyncClient, surfaces: Surfaces
) -> None:
    programs = f"{LOYALTY}/loyaltyprograms"
    headers = surfaces.loyalty
    program = expect(
        await client.post(
            programs,
            json={
                "loyaltyProgramType": "COUPONS",
                "productId": "P",
                "startDate": "2026-01-01T00:00:00Z",
                "defaultCouponsLimit": 10,
            },
            headers=headers,
        ),
        201,
    )
    versions = f"{programs}/{program['id']}/versions"
    for member in ("startDate", "defaultCouponsLimit", "couponValidityPeriod"):
        refused = await client.post(versions, json={member: None}, headers=headers)
        assert _refused(refused, f"body.{member}")["code"] == "NULL_NOT_ALLOWED"
    (version,) = expect(await client.get(versions, headers=headers), 200)
    assert (version["startDate"], version["defaultCouponsLimit"]) == (
        "2026-01-01T00:00:00.000Z",
        10,
    )


# --- Every bad value, in every parameter and every body member ----------------------------------


@pytest.mark.parametrize("bad", BAD_VALUES.values(), ids=BAD_VALUES.keys())
async def test_bad_values_in_paths_and_queries_are_refused(
    app: Any, client: httpx.AsyncClient, surfaces: Surfaces, bad: BadValues
) -> None:
    tried = 0
    for request, location in _requests_varying(app.openapi(), surfaces, bad.kinds):
        _refused(
            await _send(client, surfaces, request), location if bad.located_in_parameters else None
        )
        tried += 1
    assert tried >= bad.least_in_parameters


@pytest.mark.parametrize("bad", BAD_VALUES.values(), ids=BAD_VALUES.keys())
async def test_bad_values_in_bodies_are_refused(
    app: Any, client: httpx.AsyncClient, surfaces: Surfaces, bad: BadValues
) -> None:
    """Every member of every body on the admin and loyalty surfaces of a kind the values are
    tried on."""
    document = app.openapi()
    tried = 0
    for kind, values in bad.kinds.items():
        for method, path, at, schema in _body_members(document, surfaces):
            if not _of_kind(schema, document, kind):
                continue
            for value in values:
                response = await client.request(
                    method, path, json=_skeleton(at, value), headers=surfaces.credentials(path)
                )
                _refused(response, _where(at))
                tried += 1
    assert tried >= bad.least_in_bodies
