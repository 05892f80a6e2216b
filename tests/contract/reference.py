"""The studio Open API reference (v1.5.0), reduced to its structure, and what tests need to hold
our studio surface to it: which reference operation a request hits, whether a response body is
one the reference allows, and which reference operations the app already implements."""

import json
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import best_match
from referencing import Registry
from referencing.jsonschema import DRAFT202012

STRUCTURE = Path(__file__).with_name("studio-openapi-structure.json")
REFERENCE: dict[str, Any] = json.loads(STRUCTURE.read_text(encoding="utf-8"))

_HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_DOCUMENT_URI = "urn:openbenefits:studio-openapi-v1.5.0"
_REGISTRY = Registry().with_resource(_DOCUMENT_URI, DRAFT202012.create_resource(REFERENCE))

# Formats are annotations in JSON Schema. We assert the ones whose violation a client would
# notice (a date-time where a date belongs); "int64", "binary" or "ISO 3166-1" are documentation.
_FORMATS = FormatChecker(formats=("date", "uuid"))


@_FORMATS.checks("date-time", raises=ValueError)
def _is_date_time(instance: object) -> bool:
    """RFC 3339: date, time and offset (jsonschema checks it only with an optional extra)."""
    if not isinstance(instance, str):
        return True
    return "T" in instance.upper() and datetime.fromisoformat(instance).tzinfo is not None


Shape = tuple[str | None, ...]


def _shape(path: str) -> Shape:
    """A path's segments, with ``None`` for each ``{parameter}``: templates that differ only in
    parameter names have the same shape."""
    return tuple(
        None if segment.startswith("{") and segment.endswith("}") else segment
        for segment in path.split("/")
    )


_OPERATIONS: list[tuple[str, str, Shape, dict[str, Any]]] = [
    (method, template, _shape(template), operation)
    for template, item in REFERENCE["paths"].items()
    for method, operation in item.items()
    if method in _HTTP_METHODS
]


def _matches(shape: Shape, segments: list[str]) -> bool:
    return len(shape) == len(segments) and all(
        segment == literal if literal is not None else segment != ""
        for literal, segment in zip(shape, segments, strict=True)
    )


def operation_for(method: str, path: str) -> dict[str, Any] | None:
    """The reference operation a request for ``path`` hits, with its template under ``"path"``.

    As OpenAPI prescribes, a literal segment wins over a template segment at the same place, so
    ``/v1/customers/by`` is ``getCustomerBy``, not ``getCustomerById``.
    """
    segments = urlsplit(path).path.split("/")
    candidates = [
        (shape, template, operation)
        for verb, template, shape, operation in _OPERATIONS
        if verb == method.lower() and _matches(shape, segments)
    ]
    if not candidates:
        return None
    _, template, operation = max(
        candidates, key=lambda candidate: [literal is not None for literal in candidate[0]]
    )
    return {**operation, "path": template}


def validate_response(method: str, path: str, status: int, body: object) -> None:
    """Assert that ``body`` is what the reference allows for this request and status.

    Requests the reference does not know (our own endpoints, the HEAD key check) and statuses it
    declares no JSON body for pass unchecked.
    """
    operation = operation_for(method, path)
    if operation is None:
        return
    content = operation["responses"].get(str(status), {}).get("content", {})
    if "application/json" not in content:
        return
    pointer = "/".join(
        quote(segment.replace("~", "~0").replace("/", "~1"), safe="~")
        for segment in (
            "",
            "paths",
            operation["path"],
            method.lower(),
            "responses",
            str(status),
            "content",
            "application/json",
            "schema",
        )
    )
    validator = Draft202012Validator(
        {"$ref": f"{_DOCUMENT_URI}#{pointer}"}, registry=_REGISTRY, format_checker=_FORMATS
    )
    error = best_match(validator.iter_errors(body))
    if error is not None:
        raise AssertionError(
            f"{operation['operationId']} {status}: {error.json_path}: {error.message}"
        )


def app_operation(app_openapi: dict[str, Any], method: str, template: str) -> dict[str, Any] | None:
    """Our operation at a reference path template.

    Matched by shape, so a route whose path parameter is named differently is still held to the
    reference (and its parameter comparison reports the name) instead of silently escaping it.
    """
    shape = _shape(template)
    for our_template, item in app_openapi.get("paths", {}).items():
        if _shape(our_template) == shape and method in item:
            operation: dict[str, Any] = item[method]
            return operation
    return None


def implemented_operations(app_openapi: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """The reference operations ``(method, template, operation)`` that the app also has, in the
    reference's order."""
    return [
        (method, template, operation)
        for method, template, _, operation in _OPERATIONS
        if app_operation(app_openapi, method, template) is not None
    ]
