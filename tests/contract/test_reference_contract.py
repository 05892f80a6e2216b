"""The studio surface against the reference (studio Open API v1.5.0).

Every reference operation the app implements must keep the reference's operationId, parameters,
request body and success response. Schemas are compared by structure after normalising what
FastAPI and pydantic add (component names, ``title``, ``anyOf [X, null]``), so that what is
compared is what a client of the reference would notice on the wire.
"""

import copy
import json
import tempfile
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import pytest
from fastapi import FastAPI, Header, Query, Response, UploadFile
from fastapi import Path as PathParam

from openbenefits.app import create_app
from openbenefits.config import Settings
from openbenefits.kit.schemas import ResponseModel, StudioRequestModel
from tests.contract.reduce_reference import SOURCE, reduce_reference, strip_prose
from tests.contract.reference import (
    REFERENCE,
    app_operation,
    implemented_operations,
    operation_for,
    validate_response,
)

Schema = dict[str, Any]

# --- Structural comparison --------------------------------------------------------------------


def _lookup(document: dict[str, Any], ref: str) -> Schema:
    """The schema a local ``$ref`` (``#/components/schemas/Name``) points at."""
    node: Any = document
    for part in ref.removeprefix("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return dict(node)


def _alternatives(schema: Schema) -> list[Schema]:
    """The non-null branches of a union: pydantic renders ``X | None`` as
    ``anyOf: [X, {"type": "null"}]``."""
    branches = schema.get("anyOf", schema.get("oneOf", []))
    return [branch for branch in branches if branch.get("type") != "null"]


def _normalise(schema: Schema, document: dict[str, Any]) -> Schema:
    """``schema`` with references followed and pydantic's spellings undone.

    Keywords beside a ``$ref`` or an ``anyOf`` win over the target's (a parameter's ``default``);
    ``anyOf [X, null]`` becomes X, and ``const`` a one-value enum, as pydantic writes a single
    ``Literal``.
    """
    while True:
        if "$ref" in schema:
            siblings = {key: value for key, value in schema.items() if key != "$ref"}
            schema = {**_lookup(document, schema["$ref"]), **siblings}
        elif "anyOf" in schema and len(_alternatives(schema)) == 1:
            siblings = {key: value for key, value in schema.items() if key != "anyOf"}
            schema = {**_alternatives(schema)[0], **siblings}
        else:
            break
    if "const" in schema:
        schema = {**schema, "enum": [schema["const"]]}
    return schema


def schema_difference(
    reference: Schema,
    ours: Schema,
    our_document: dict[str, Any],
    *,
    path: str = "$",
    request: bool = False,
    body: bool = False,
) -> str | None:
    """The first difference between a reference schema and ours, as ``"<JSON path>: <what>"``.

    Compared: type (a reference ``int64`` is any integer of ours), enum values, array items,
    object property names and ``required``; titles, descriptions and formats are not. Where ours
    is a union, a ``request`` schema needs one branch to fit (we accept what clients send; pydantic
    renders a Decimal input as number or string), a response schema needs every branch to fit.
    A request ``body`` must not take ``null`` where the reference does not, nor refuse members
    the reference does not forbid (a query parameter has no null to send).
    """
    if body and _takes_null(ours, our_document) and not _takes_null(reference, REFERENCE):
        return f"{path}: takes null, the reference does not"
    reference = _normalise(reference, REFERENCE)
    ours = _normalise(ours, our_document)
    if alternatives := _alternatives(ours):
        found = [
            schema_difference(
                reference, branch, our_document, path=path, request=request, body=body
            )
            for branch in alternatives
        ]
        if request and None in found:
            return None
        return next((difference for difference in found if difference), None)
    if ours.get("type") != reference.get("type"):
        return f"{path}: type {ours.get('type')!r}, reference {reference.get('type')!r}"
    if set(ours.get("enum", [])) != set(reference.get("enum", [])):
        return f"{path}: enum {ours.get('enum')}, reference {reference.get('enum')}"
    if reference.get("type") == "array":
        return schema_difference(
            reference.get("items", {}),
            ours.get("items", {}),
            our_document,
            path=f"{path}[*]",
            request=request,
            body=body,
        )
    if reference.get("type") == "object":
        return _object_difference(reference, ours, our_document, path=path, body=body)
    return None


def _takes_null(schema: Schema, document: dict[str, Any]) -> bool:
    while "$ref" in schema:
        schema = _lookup(document, schema["$ref"])
    branches = schema.get("anyOf", schema.get("oneOf", [schema]))
    return schema.get("nullable") is True or any(b.get("type") == "null" for b in branches)


def _object_difference(
    reference: Schema, ours: Schema, our_document: dict[str, Any], *, path: str, body: bool
) -> str | None:
    refuses = ours.get("additionalProperties") is False
    if body and refuses and reference.get("additionalProperties") is not False:
        return f"{path}: refuses members the reference allows"
    ref_properties = reference.get("properties", {})
    our_properties = ours.get("properties", {})
    if missing := [name for name in ref_properties if name not in our_properties]:
        return f"{path}: lacks properties {missing}"
    if extra := [name for name in our_properties if name not in ref_properties]:
        return f"{path}: has properties the reference lacks {extra}"
    if set(ours.get("required", [])) != set(reference.get("required", [])):
        return (
            f"{path}: required {sorted(ours.get('required', []))}, "
            f"reference {sorted(reference.get('required', []))}"
        )
    for name, schema in ref_properties.items():
        found = schema_difference(
            schema,
            our_properties[name],
            our_document,
            path=f"{path}.{name}",
            request=body,
            body=body,
        )
        if found:
            return found
    return None


def _parameter_key(parameter: dict[str, Any]) -> tuple[str, str]:
    """Header names are case-insensitive; every other location's are not."""
    name = parameter["name"]
    return parameter["in"], name.lower() if parameter["in"] == "header" else name


def parameter_differences(
    reference: dict[str, Any], ours: dict[str, Any], our_document: dict[str, Any]
) -> list[str]:
    """Every reference parameter must exist with the same location, required flag and a
    compatible schema (same default where the reference gives one, same bounds). Parameters of
    our own (``Idempotency-Key``) are fine as long as a reference client may leave them out."""
    found: list[str] = []
    our_parameters = {_parameter_key(p): p for p in ours.get("parameters", [])}
    for parameter in reference.get("parameters", []):
        where = f"parameter {parameter['in']} {parameter['name']}"
        mine = our_parameters.pop(_parameter_key(parameter), None)
        if mine is None:
            found.append(f"{where}: missing")
            continue
        if bool(mine.get("required")) != bool(parameter.get("required")):
            found.append(
                f"{where}: required {mine.get('required')}, reference {parameter.get('required')}"
            )
        if difference := schema_difference(
            parameter["schema"], mine["schema"], our_document, request=True
        ):
            found.append(f"{where}: {difference}")
        ref_schema = _normalise(parameter["schema"], REFERENCE)
        our_schema = _normalise(mine["schema"], our_document)
        keywords = (
            ("default", "minimum", "maximum") if "default" in ref_schema else ("minimum", "maximum")
        )
        found += [
            f"{where}: {keyword} {our_schema.get(keyword)!r}, reference {ref_schema.get(keyword)!r}"
            for keyword in keywords
            if our_schema.get(keyword) != ref_schema.get(keyword)
        ]
    found += [
        f"parameter {p['in']} {p['name']}: required by us, unknown to the reference"
        for p in our_parameters.values()
        if p.get("required")
    ]
    return found


def _content_differences(
    where: str,
    reference: dict[str, Any],
    ours: dict[str, Any],
    our_document: dict[str, Any],
    *,
    request: bool,
) -> list[str]:
    """Same media types, and a compatible schema for each."""
    if set(ours) != set(reference):
        return [f"{where}: media types {sorted(ours)}, reference {sorted(reference)}"]
    return [
        f"{where} {media_type}: {difference}"
        for media_type, content in reference.items()
        if (
            difference := schema_difference(
                content.get("schema", {}),
                ours[media_type].get("schema", {}),
                our_document,
                request=request,
                body=request,
            )
        )
    ]


def _successes(operation: dict[str, Any]) -> dict[str, Any]:
    return {status: r for status, r in operation.get("responses", {}).items() if status[0] == "2"}


def operation_differences(
    reference: dict[str, Any], ours: dict[str, Any], our_document: dict[str, Any]
) -> list[str]:
    """What a client of the reference operation would notice about ours, one line per finding."""
    found: list[str] = []
    if ours.get("operationId") != reference["operationId"]:
        found.append(
            f"operationId {ours.get('operationId')!r}, reference {reference['operationId']!r}"
        )
    found += parameter_differences(reference, ours, our_document)
    found += _content_differences(
        "request body",
        reference.get("requestBody", {}).get("content", {}),
        (ours.get("requestBody") or {}).get("content", {}),
        our_document,
        request=True,
    )
    ref_successes, our_successes = _successes(reference), _successes(ours)
    if set(our_successes) != set(ref_successes):
        return [
            *found,
            f"success statuses {sorted(our_successes)}, reference {sorted(ref_successes)}",
        ]
    for status, response in ref_successes.items():
        found += _content_differences(
            f"response {status}",
            response.get("content", {}),
            our_successes[status].get("content", {}),
            our_document,
            request=False,
        )
    return found


# --- The app against the reference -----------------------------------------------------------


def _app_openapi_at_collection() -> dict[str, Any]:
    """Our OpenAPI document while tests are collected, so that each implemented operation is its
    own test case. It depends on the routes only (no database connection is made);
    ``test_parametrization_follows_the_app`` checks it against the ``app`` fixture."""
    unused = Path(tempfile.gettempdir()) / "openbenefits-contract-collection.db"
    settings = Settings(database_url=f"sqlite:///{unused}", secret_key="collection only")
    return create_app(settings).openapi()


IMPLEMENTED = implemented_operations(_app_openapi_at_collection())


@pytest.mark.parametrize(
    ("method", "template"),
    [pytest.param(method, template, id=op["operationId"]) for method, template, op in IMPLEMENTED],
)
def test_operation_matches_reference(app, method, template):
    ours = app.openapi()
    differences = operation_differences(
        REFERENCE["paths"][template][method], app_operation(ours, method, template), ours
    )
    assert not differences, f"{method.upper()} {template}:\n" + "\n".join(differences)


def test_parametrization_follows_the_app(app):
    implemented = implemented_operations(app.openapi())
    assert [op["operationId"] for *_, op in implemented] == [
        op["operationId"] for *_, op in IMPLEMENTED
    ]


def test_reduced_reference_is_current():
    if not SOURCE.exists():
        pytest.skip(f"the public reference is not checked out at {SOURCE}")
    reduced = reduce_reference(json.loads(SOURCE.read_text(encoding="utf-8")))
    assert reduced == REFERENCE, "run .venv/bin/python tests/contract/reduce_reference.py"


def test_reduction_drops_prose_and_keeps_names_that_look_like_prose():
    node = {
        "description": "prose",
        "type": "object",
        "properties": {"description": {"type": "string", "example": "x"}},
        "x-enumDescriptions": {"A": "prose"},
    }
    assert strip_prose(node) == {
        "type": "object",
        "properties": {"description": {"type": "string"}},
    }


# --- operation_for ----------------------------------------------------------------------------


MEDIUM = "/v1/customers/{customerId}/access-mediums/{accessMediumId}"


@pytest.mark.parametrize(
    ("method", "path", "operation_id", "template"),
    [
        ("PUT", "/v1/customers/123/access-mediums/5", "updateAccessMediums", MEDIUM),
        ("delete", "/v1/customers/123/access-mediums/5", "deleteAccessMediums", MEDIUM),
        ("GET", "/v1/customers/by", "getCustomerBy", "/v1/customers/by"),
        ("GET", "/v1/customers/benefits", "getBenefitsByCardNumber", "/v1/customers/benefits"),
        ("GET", "/v1/customers/42", "getCustomerById", "/v1/customers/{customerId}"),
        (
            "GET",
            "/v1/customers/contracts/by",
            "getCustomerContractsBy",
            "/v1/customers/contracts/by",
        ),
        (
            "GET",
            "/v1/customers/42/contracts",
            "getCustomersContracts",
            "/v1/customers/{customerId}/contracts",
        ),
        ("GET", "/v1/customers?sliceSize=50", "getCustomers", "/v1/customers"),
        ("POST", "/v1/customers/by", None, None),
        ("HEAD", "/v1/customers", None, None),
        ("GET", "/v1/customers/", None, None),
        ("GET", "/admin/v1/tenants", None, None),
    ],
)
def test_operation_for(method, path, operation_id, template):
    operation = operation_for(method, path)
    if operation_id is None:
        assert operation is None
    else:
        assert (operation["operationId"], operation["path"]) == (operation_id, template)


# --- validate_response ------------------------------------------------------------------------

CUSTOMER = {
    "id": 1001,
    "status": "MEMBER",
    "accessRefusal": False,
    "firstName": "Edgar",
    "dateOfBirth": "1952-05-04",
    "country": "Germany",  # format "ISO 3166-1" is documentation, not checked
    "accessMediums": [{"id": 7, "type": "CARD_NUMBER", "value": "1290158199"}],
    "preferredLanguage": {"languageCode": "de"},
}
ABSENT = object()


def test_bodies_the_reference_allows_pass():
    validate_response("GET", "/v1/customers/1001", 200, CUSTOMER)
    validate_response("POST", "/v1/customers/search", 200, [CUSTOMER])
    validate_response("GET", "/v1/customers/1001", 404, {"errorMessage": "Customer not found"})
    access_code = {"content": "x", "format": "QR_CODE", "expiresAt": "2026-11-22T10:15:00Z"}
    validate_response("GET", "/v1/customers/1001/access-code", 200, access_code)


def test_requests_the_reference_does_not_describe_are_ignored():
    validate_response("HEAD", "/v1/customers", 200, "anything")
    validate_response("GET", "/admin/v1/tenants", 200, "anything")
    validate_response("POST", "/v1/customers/1/benefits/sauna/use", 200, "no body declared")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        pytest.param(
            {"accessRefusal": ABSENT},
            "getCustomerById 200: $: 'accessRefusal' is a required property",
            id="missing-required",
        ),
        pytest.param(
            {"status": "VIP"},
            "getCustomerById 200: $.status: 'VIP' is not one of",
            id="wrong-enum",
        ),
        pytest.param(
            {"dateOfBirth": "1952-05-04T00:00:00Z"},
            "$.dateOfBirth: '1952-05-04T00:00:00Z' is not a 'date'",
            id="date-time-for-date",
        ),
        pytest.param(
            {"accessMediums": [{"type": "NFC"}]},
            "$.accessMediums[0].type: 'NFC' is not one of",
            id="nested-enum",
        ),
        pytest.param(
            {"preferredLanguage": {}},
            "$.preferredLanguage: 'languageCode' is a required property",
            id="nested-required",
        ),
        pytest.param(
            {"email": None}, "$.email: None is not of type 'string'", id="null-for-string"
        ),
    ],
)
def test_customers_the_reference_does_not_allow_fail(changes, message):
    body = {key: value for key, value in {**CUSTOMER, **changes}.items() if value is not ABSENT}
    with pytest.raises(AssertionError) as failure:
        validate_response("GET", "/v1/customers/1001", 200, body)
    assert message in str(failure.value)


def test_an_instant_needs_an_offset():
    access_code = {"content": "x", "format": "QR_CODE", "expiresAt": "2026-11-22T10:15:00"}
    with pytest.raises(AssertionError, match="is not a 'date-time'"):
        validate_response("GET", "/v1/customers/1001/access-code", 200, access_code)


# --- The comparison itself, on FastAPI's rendering of a few reference operations --------------


class CardNumberFormat(StrEnum):
    DECIMAL = "DECIMAL"
    HEX_MSB = "HEX_MSB"
    HEX_LSB = "HEX_LSB"


class BenefitValidation(ResponseModel):
    key: str
    valid: bool


class CustomerDocument(ResponseModel):
    url: str | None = None
    id: int | None = None
    file_name: str | None = None
    description: str | None = None


class CustomerDocuments(ResponseModel):
    result: list[CustomerDocument]
    has_next: bool
    offset: str


class UploadResult(ResponseModel):
    id: int | None = None


class AccessRestriction(StudioRequestModel):
    reason: str
    start_date: date | None = None
    end_date: date | None = None


CustomerId = Annotated[int, PathParam(alias="customerId")]


def _faithful_openapi() -> dict[str, Any]:
    """Five reference operations written the way our routers write them."""
    app = FastAPI()

    @app.get("/v1/customers/benefits", operation_id="getBenefitsByCardNumber")
    async def benefits(
        card_number: Annotated[str, Query(alias="cardNumber")],
        card_number_format: Annotated[
            CardNumberFormat, Query(alias="cardNumberFormat")
        ] = CardNumberFormat.DECIMAL,
        key: Annotated[list[str] | None, Query()] = None,
    ) -> list[BenefitValidation]:
        raise NotImplementedError

    @app.get("/v1/customers/{customerId}/documents", operation_id="getDocuments")
    async def documents(
        customer_id: CustomerId,
        offset: str = "0",
        slice_size: Annotated[int, Query(alias="sliceSize", ge=1, le=50)] = 10,
    ) -> CustomerDocuments:
        raise NotImplementedError

    @app.post("/v1/customers/{customerId}/documents", operation_id="uploadDocument")
    async def upload(
        customer_id: CustomerId, file: UploadFile, description: str | None = None
    ) -> UploadResult:
        raise NotImplementedError

    @app.put("/v1/customers/{customerId}/access-restrictions", operation_id="setAccessRestriction")
    async def restrict(
        customer_id: CustomerId,
        restriction: AccessRestriction,
        idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
    ) -> AccessRestriction:
        raise NotImplementedError

    @app.delete(
        "/v1/customers/{customerId}/access-restrictions",
        operation_id="deleteAccessRestriction",
        response_class=Response,
    )
    async def unrestrict(customer_id: CustomerId) -> None:
        raise NotImplementedError

    return app.openapi()


FAITHFUL = _faithful_openapi()
BENEFITS = ("get", "/v1/customers/benefits")
DOCUMENTS = ("get", "/v1/customers/{customerId}/documents")
UPLOAD = ("post", "/v1/customers/{customerId}/documents")
RESTRICT = ("put", "/v1/customers/{customerId}/access-restrictions")
UNRESTRICT = ("delete", "/v1/customers/{customerId}/access-restrictions")


def _differences(document: dict[str, Any], method: str, template: str) -> list[str]:
    ours = app_operation(document, method, template)
    return operation_differences(REFERENCE["paths"][template][method], ours, document)


def test_faithful_fastapi_operations_are_all_implemented():
    implemented = [(method, template) for method, template, _ in implemented_operations(FAITHFUL)]
    assert implemented == [BENEFITS, DOCUMENTS, UPLOAD, RESTRICT, UNRESTRICT]


@pytest.mark.parametrize("operation", [BENEFITS, DOCUMENTS, UPLOAD, RESTRICT, UNRESTRICT])
def test_faithful_fastapi_rendering_has_no_differences(operation):
    assert _differences(FAITHFUL, *operation) == []


def _operation(document, operation):
    method, template = operation
    return document["paths"][template][method]


def _parameter(document, operation, index):
    return _operation(document, operation)["parameters"][index]


def _schema(document, name):
    return document["components"]["schemas"][name]


@pytest.mark.parametrize(
    ("operation", "change", "expected"),
    [
        pytest.param(
            RESTRICT,
            lambda d: _operation(d, RESTRICT).update(operationId="putRestriction"),
            "operationId 'putRestriction', reference 'setAccessRestriction'",
            id="operation-id",
        ),
        pytest.param(
            DOCUMENTS,
            lambda d: _parameter(d, DOCUMENTS, 0).update(schema={"type": "string"}),
            "parameter path customerId: $: type 'string', reference 'integer'",
            id="parameter-type",
        ),
        pytest.param(
            DOCUMENTS,
            lambda d: _parameter(d, DOCUMENTS, 0).update(name="customer_id"),
            "parameter path customerId: missing",
            id="parameter-name",
        ),
        pytest.param(
            DOCUMENTS,
            lambda d: _parameter(d, DOCUMENTS, 2)["schema"].update(default=20),
            "parameter query sliceSize: default 20, reference 10",
            id="parameter-default",
        ),
        pytest.param(
            DOCUMENTS,
            lambda d: _parameter(d, DOCUMENTS, 2)["schema"].update(maximum=100),
            "parameter query sliceSize: maximum 100, reference 50",
            id="parameter-maximum",
        ),
        pytest.param(
            BENEFITS,
            lambda d: _schema(d, "CardNumberFormat")["enum"].remove("HEX_LSB"),
            "parameter query cardNumberFormat: $: enum ['DECIMAL', 'HEX_MSB'], reference",
            id="parameter-enum",
        ),
        pytest.param(
            BENEFITS,
            lambda d: _parameter(d, BENEFITS, 0).update(required=False),
            "parameter query cardNumber: required False, reference True",
            id="parameter-required",
        ),
        pytest.param(
            BENEFITS,
            lambda d: _operation(d, BENEFITS)["parameters"].append(
                {"name": "studioId", "in": "query", "required": True, "schema": {"type": "integer"}}
            ),
            "parameter query studioId: required by us, unknown to the reference",
            id="extra-required-parameter",
        ),
        pytest.param(
            BENEFITS,
            lambda d: _schema(d, "BenefitValidation")["properties"].pop("valid"),
            "response 200 application/json: $[*]: lacks properties ['valid']",
            id="missing-property",
        ),
        pytest.param(
            DOCUMENTS,
            lambda d: _schema(d, "CustomerDocuments")["properties"].update(
                total={"type": "integer"}
            ),
            "response 200 application/json: $: has properties the reference lacks ['total']",
            id="extra-property",
        ),
        pytest.param(
            RESTRICT,
            lambda d: _schema(d, "AccessRestriction").update(required=[]),
            "request body application/json: $: required [], reference ['reason']",
            id="required-set",
        ),
        pytest.param(
            RESTRICT,
            lambda d: _schema(d, "AccessRestriction")["properties"].update(
                endDate={
                    "anyOf": [{"type": "array", "items": {"type": "string"}}, {"type": "null"}]
                }
            ),
            "response 200 application/json: $.endDate: type 'array', reference 'string'",
            id="nested-type",
        ),
        pytest.param(
            RESTRICT,
            lambda d: _schema(d, "AccessRestriction")["properties"].update(
                endDate={"anyOf": [{"type": "string", "format": "date"}, {"type": "null"}]}
            ),
            "request body application/json: $.endDate: takes null, the reference does not",
            id="request-null",
        ),
        pytest.param(
            RESTRICT,
            lambda d: _schema(d, "AccessRestriction").update(additionalProperties=False),
            "request body application/json: $: refuses members the reference allows",
            id="request-unknown-members",
        ),
        pytest.param(
            DOCUMENTS,
            lambda d: _schema(d, "CustomerDocument")["properties"]["id"].update(
                anyOf=[{"type": "integer"}, {"type": "string"}]
            ),
            "response 200 application/json: $.result[*].id: type 'string', reference 'integer'",
            id="response-union",
        ),
        pytest.param(
            UPLOAD,
            lambda d: _operation(d, UPLOAD)["requestBody"].update(
                content={"application/json": {"schema": {"type": "object"}}}
            ),
            "request body: media types ['application/json'], reference ['multipart/form-data']",
            id="request-media-type",
        ),
        pytest.param(
            UNRESTRICT,
            lambda d: _operation(d, UNRESTRICT)["responses"]["200"].update(
                content={"application/json": {"schema": {}}}
            ),
            "response 200: media types ['application/json'], reference []",
            id="response-body-where-none",
        ),
        pytest.param(
            UNRESTRICT,
            lambda d: _operation(d, UNRESTRICT)["responses"].update(
                {"204": _operation(d, UNRESTRICT)["responses"].pop("200")}
            ),
            "success statuses ['204'], reference ['200']",
            id="success-status",
        ),
    ],
)
def test_differences_are_reported_with_their_path(operation, change, expected):
    document = copy.deepcopy(FAITHFUL)
    change(document)
    assert expected in "\n".join(_differences(document, *operation))


def test_a_union_fits_a_request_when_one_branch_does_and_a_response_when_all_do():
    document = copy.deepcopy(FAITHFUL)
    _schema(document, "AccessRestriction")["properties"]["reason"].update(
        anyOf=[{"type": "number"}, {"type": "string"}]
    )
    assert _differences(document, *RESTRICT) == [
        "response 200 application/json: $.reason: type 'number', reference 'string'"
    ]
