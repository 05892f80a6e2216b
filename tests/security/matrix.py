"""The route table as requests: every operation of the application's own OpenAPI document, with
its path, query and body filled from one tenant's ids (or from ids that exist nowhere), and the
rows a tenant owns, to compare before and after.

Generated, not listed: a route added later is in the matrix without anyone editing it. A
parameter or member named like an id that this module cannot fill fails loudly (``ids_for``)."""

import re
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from sqlalchemy import Table, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from openbenefits.kit.db import Database
from openbenefits.kit.error_handlers import is_console_path
from openbenefits.models import Base
from tests.customers.uploads import PDF, image, raw_multipart

# Routes that take no credentials by design: operations, signed downloads, the token endpoint.
PUBLIC_PATHS = {"/healthz", "/readyz", "/metrics", "/files/{key}", "/oauth/token"}

# Values no tenant has, of the same shape as real ones.
UNKNOWN_INT = 8_765_432_109
UNKNOWN_NUMBER = 987_654_321
UNKNOWN_TEXT = "NO_SUCH_THING"

# Members and parameters that name an entity: filled from the tenant's ids.
_ID_LIKE = re.compile(r"(Id|Ids|Number|UUID|Uuid|Ref|Reference|Key|Code)$|^(uuid|id|key|barcode)$")

# Plausible values for members with rules of their own, so that requests reach the service.
_VALUES: dict[str, Any] = {
    "timeZone": "Europe/Berlin",
    "currency": "EUR",
    "locale": "de-DE",
    "countryCode": "DE",
    "languageCode": "de",
    "email": "someone@example.org",
    "url": "https://hooks.example.org/matrix",
    "imageUrl": "https://example.org/x.png",
    "eventTypes": ["TEST"],
    "scopes": [],
    "grant_type": "client_credentials",
    "price": "9.90",
    "amount": "1.00",
    "pointsType": "NOK",
    "usageValidityPeriod": "P1D",
    "couponValidityPeriod": "P1D",
    "productId": "ENT:Matrix:Product",
    "productVersion": "ENT:Matrix:V1",
}


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    parameters: list[dict[str, Any]]
    body: dict[str, Any] | None  # the request body's media types and schemas
    surface: str  # studio, loyalty, admin or public

    @property
    def name(self) -> str:
        return f"{self.method} {self.path}"


def surface_of(path: str) -> str:
    if path in PUBLIC_PATHS:
        return "public"
    if path.startswith("/v1/"):
        return "studio"
    if path.startswith("/customers/v2/"):
        return "loyalty"
    if path.startswith("/admin/v1/"):
        return "admin"
    raise AssertionError(f"{path}: a route outside every surface")


def operations(app: FastAPI) -> list[Operation]:
    """Every operation of the app's OpenAPI document; every route of the app must be in it but
    the console's pages, which tests/console/test_routes.py walks from the route table."""
    document = app.openapi()
    found = [
        Operation(method.upper(), path, op.get("parameters", []), op.get("requestBody"), surface)
        for path, methods in document["paths"].items()
        for method, op in methods.items()
        for surface in [surface_of(path)]
    ]
    documented = {(op.method, op.path) for op in found}
    for context in iter_route_contexts(app.routes):
        if isinstance(context.original_route, APIRoute) and not is_console_path(context.path):
            path = re.sub(r":\w+}", "}", context.path)  # {key:path} is documented as {key}
            for method in context.original_route.methods:
                assert (method, path) in documented or path in PUBLIC_PATHS, (method, path)
    return found


def components(app: FastAPI) -> dict[str, Any]:
    schemas: dict[str, Any] = app.openapi().get("components", {}).get("schemas", {})
    return schemas


class Filler:
    """Values for an operation's parameters and body: a tenant's ids where an id is asked for."""

    def __init__(self, schemas: dict[str, Any], ids: dict[str, Any]) -> None:
        self.schemas = schemas
        self.ids = ids

    def id_for(self, name: str) -> Any:
        if name not in self.ids:
            raise AssertionError(f"no id for {name!r}: add it to the tenant world")
        return self.ids[name]

    def value(self, schema: dict[str, Any], name: str = "", depth: int = 0) -> Any:
        schema = self._resolved(schema)
        if _ID_LIKE.search(name) and name in self.ids:
            return self.id_for(name)
        if name in _VALUES:
            return _VALUES[name]
        options = schema.get("anyOf") or schema.get("oneOf")
        if options:
            usable = [o for o in options if self._resolved(o).get("type") != "null"]
            return self.value(usable[0], name, depth)
        if "enum" in schema:
            return schema["enum"][0]
        if "const" in schema:
            return schema["const"]
        kind = schema.get("type")
        if kind == "object" or "properties" in schema:
            return self.object(schema, depth)
        if kind == "array":
            count = max(1, schema.get("minItems", 1))
            return [self.value(schema.get("items", {}), name, depth + 1) for _ in range(count)]
        if kind == "integer":
            return max(1, schema.get("minimum", 1), schema.get("exclusiveMinimum", 0) + 1)
        if kind == "number":
            return max(1, schema.get("minimum", 1))
        if kind == "boolean":
            return False
        return self.text(schema, name)

    def object(self, schema: dict[str, Any], depth: int) -> dict[str, Any]:
        properties = schema.get("properties", {})
        wanted = set(schema.get("required", []))
        # Every member that names an entity, asked for or not: each is a way in.
        wanted |= {name for name in properties if _ID_LIKE.search(name) and name in self.ids}
        if depth > 4:
            return {}
        return {name: self.value(properties[name], name, depth + 1) for name in sorted(wanted)}

    def text(self, schema: dict[str, Any], name: str) -> str:
        fmt = schema.get("format")
        if fmt == "date":
            return "2026-11-22"
        if fmt == "date-time":
            return "2026-11-22T10:00:00Z"
        if fmt == "uuid":
            return str(uuid.UUID(int=1))
        if fmt in ("uri", "url"):
            return "https://example.org/x"
        if fmt == "email":
            return "someone@example.org"
        return "x" * max(1, schema.get("minLength", 1)) if name != "name" else "matrix"

    def _resolved(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            schema = self.schemas[schema["$ref"].rsplit("/", 1)[1]]
        return schema


def unknown_ids(ids: dict[str, Any]) -> dict[str, Any]:
    """The same names with values that exist in no tenant."""
    unknown: dict[str, Any] = {}
    for name, value in ids.items():
        if isinstance(value, bool):
            unknown[name] = value
        elif isinstance(value, int):
            unknown[name] = UNKNOWN_INT
        elif name in ("uuid", "contractUUID"):
            unknown[name] = str(uuid.uuid4())
        elif isinstance(value, str) and value.isdigit():
            unknown[name] = str(UNKNOWN_NUMBER)
        else:
            unknown[name] = UNKNOWN_TEXT
    return unknown


@dataclass(frozen=True)
class Call:
    method: str
    url: str
    params: list[tuple[str, str]]
    json: Any = None
    # A multipart body written once, so that a retry sends the very same bytes.
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)


def calls(op: Operation, filler: Filler) -> list[Call]:
    """The operation with every id it takes, then once with each optional id of its query
    alone (lookups take exactly one identifier)."""
    optional = [
        p["name"]
        for p in op.parameters
        if p["in"] == "query" and not p.get("required") and _ID_LIKE.search(p["name"])
    ]
    alone = [name for name in optional if name in filler.ids]
    # With a single one, the first call already sends it alone.
    variants = alone if len(alone) > 1 else []
    return [call(op, filler), *(call(op, filler, only=name) for name in variants)]


def call(op: Operation, filler: Filler, only: str | None = None) -> Call:
    """The operation with the filler's ids; with ``only``, that optional query id alone."""
    url = op.path
    params: list[tuple[str, str]] = []
    for parameter in op.parameters:
        name, where = parameter["name"], parameter["in"]
        if where == "path":
            value = filler.id_for(name) if name != "path" else "customers"
            url = url.replace(f"{{{name}}}", str(value))
        elif where == "query" and (
            parameter.get("required")
            or (name == only if only else _ID_LIKE.search(name) and name in filler.ids)
        ):
            params.append((name, str(_query_value(filler, parameter))))
    if op.body is None:
        return Call(op.method, url, params)
    content = op.body.get("content", {})
    if "multipart/form-data" in content:
        name = "image" if url.endswith("/images") else "file"
        data = image("PNG", (2, 2)) if name == "image" else PDF
        body, headers = raw_multipart(name, b"upload", data)
        return Call(op.method, url, params, content=body, headers=headers)
    schema = (content.get("application/json") or next(iter(content.values()))).get("schema", {})
    return Call(op.method, url, params, json=filler.value(schema))


def _query_value(filler: Filler, parameter: dict[str, Any]) -> Any:
    value = filler.value(parameter.get("schema", {}), parameter["name"])
    return str(value).lower() if isinstance(value, bool) else value


async def send(client: httpx.AsyncClient, request: Call, headers: dict[str, str]) -> httpx.Response:
    return await client.request(
        request.method,
        request.url,
        params=request.params,
        json=request.json,
        content=request.content,
        headers={**request.headers, **headers},
    )


def outcome(response: httpx.Response) -> tuple[int, str | None]:
    """What an answer tells: its status and, for an error, its code."""
    if response.status_code < 400 or not response.content:
        return response.status_code, None
    body = response.json()
    return response.status_code, body.get("errorCode") or body.get("code")


def _owned(table: Table, tenant_id: int) -> Any:
    """The condition "this row belongs to the tenant": its tenant column, an organisation
    column, or the tenant of a row it refers to."""
    if table.name == "tenants":
        return table.c.id == tenant_id
    conditions = [
        column == tenant_id
        for column in table.c
        if column.name == "tenant_id" or column.name.endswith("organisation_id")
    ]
    for key in table.foreign_keys:
        parent = key.column.table
        if "tenant_id" in parent.c and key.parent.name != "tenant_id":
            conditions.append(
                key.parent.in_(select(key.column).where(parent.c.tenant_id == tenant_id))
            )
    return or_(*conditions) if conditions else None


async def snapshot(db: Database, tenant_id: int) -> dict[str, list[tuple[Any, ...]]]:
    """Every row the tenant owns, table by table."""
    rows: dict[str, list[tuple[Any, ...]]] = {}
    async with db.session() as session:
        for table in Base.metadata.sorted_tables:
            owned = _owned(table, tenant_id)
            if owned is not None:
                rows[table.name] = await _rows(session, table, owned)
    return rows


async def _rows(session: AsyncSession, table: Table, owned: Any) -> list[tuple[Any, ...]]:
    result = await session.execute(select(table).where(owned))
    return sorted((tuple(row) for row in result), key=repr)
