"""Base wire models: camelCase on the wire, snake_case in Python.

Request bodies of the admin and loyalty surfaces refuse members they do not know, so that a typo
is an error, not silently ignored data; the studio surface's (``StudioRequestModel``) ignore
them, as the reference lets a client generated from a later version of it send them. Every
surface takes JSON types strictly (kit/bodies.py): a date is an ISO string, a number a number.

The input policy of every surface lives here too, so that no route needs to remember it:

- Integers are 64-bit, as the database stores them. An id is ``Id`` (1 .. 2^63-1) on the admin
  and loyalty surfaces and ``ReferenceId`` on the studio surface (any 64-bit value, the
  reference's ``int64``: an id nothing has is answered 404). Every other integer input carries
  bounds of its own.
- Days, instants and durations lie within the calendar the service computes with: days from
  ``EARLIEST_DAY`` (birth dates) to ``LATEST_DAY``, instants with an offset, durations up to
  ``LONGEST_DURATION``. Term arithmetic on the latest day (six terms of a hundred years at
  most) stays far below Python's year 9999.
- Text holds no NUL character (PostgreSQL cannot store one).

Every member of an ``InputModel`` (so of every ``RequestModel``) is checked against the
calendar and the text rules; query parameters take ``Day`` and ``Instant``, and paths and query
strings with a NUL are refused before routing (kit/middleware.py).
"""

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Annotated, Any, TypeVar

from annotated_types import Ge, Lt
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    PlainSerializer,
    WithJsonSchema,
    field_validator,
)
from pydantic.alias_generators import to_camel
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError, core_schema

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
# Bounds from annotated-types rather than ``Field``, so that a route can wrap these types in
# ``Path(...)`` or ``Query(...)`` and keep them. The upper bound is exclusive: the OpenAPI
# document holds bounds as floats, and 2^63 is one exactly, 2^63 - 1 is not.
Id = Annotated[int, Ge(1), Lt(INT64_MAX + 1)]
# Documented as the reference documents its ids (our contract test holds parameters to it).
ReferenceId = Annotated[
    int, Ge(INT64_MIN), Lt(INT64_MAX + 1), WithJsonSchema({"type": "integer", "format": "int64"})
]


EARLIEST_DAY = date(1900, 1, 1)
LATEST_DAY = date(2999, 12, 31)
# The instants of those days in UTC, whatever offset an instant is written with (compared as
# instants, which no offset can overflow).
_FIRST_INSTANT = datetime.combine(EARLIEST_DAY, time(), UTC)
_END_INSTANT = datetime.combine(LATEST_DAY + timedelta(days=1), time(), UTC)
LONGEST_DURATION = timedelta(days=36_525)
_BETWEEN = f"must lie between {EARLIEST_DAY} and {LATEST_DAY}"

T = TypeVar("T")


def checked_input(value: T) -> T:
    """``value`` if it follows the input policy: days, instants and durations within the
    calendar, text without NUL (PostgreSQL cannot store it); lists and mappings member by
    member (a model among them was checked as it was built). Runs for every member of every
    request body, hot paths included: the common cases are decided first."""
    if isinstance(value, str):
        if "\x00" in value:
            raise PydanticCustomError("NUL_CHARACTER", "must not contain NUL characters")
    elif isinstance(value, (date, timedelta)):
        within_calendar(value)
    elif isinstance(value, (list, tuple)):
        for item in value:
            if not isinstance(item, BaseModel):
                checked_input(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            checked_input(key)
            checked_input(item)
    return value


def within_calendar(value: T) -> T:
    """``value`` if it is a day, an instant or a duration the service can compute with, or
    anything else."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise PydanticCustomError(
                "INSTANT_WITHOUT_OFFSET", "must carry a UTC offset (Z or +hh:mm)"
            )
        if not _FIRST_INSTANT <= value < _END_INSTANT:
            raise PydanticCustomError("DATE_OUT_OF_RANGE", f"{_BETWEEN} (in UTC)")
    elif isinstance(value, date):
        if not EARLIEST_DAY <= value <= LATEST_DAY:
            raise PydanticCustomError("DATE_OUT_OF_RANGE", _BETWEEN)
    elif isinstance(value, timedelta) and value > LONGEST_DURATION:
        raise PydanticCustomError(
            "DURATION_OUT_OF_RANGE", f"must be at most {LONGEST_DURATION.days} days"
        )
    return value


def in_utc(value: datetime | date) -> datetime | date:
    """An instant in UTC, whatever offset it arrived with (instants are kept and answered in
    UTC); a day as it is."""
    return value.astimezone(UTC) if isinstance(value, datetime) else value


Day = Annotated[date, AfterValidator(within_calendar)]
Instant = Annotated[AwareDatetime, AfterValidator(within_calendar), AfterValidator(in_utc)]


def in_milliseconds(value: datetime) -> str:
    """ISO-8601 in UTC with milliseconds and ``Z`` (a naive value is taken as UTC)."""
    utc = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    # isoformat ends "+00:00" in UTC; it is the cheap way (every entitlement has two instants).
    return utc.isoformat(timespec="milliseconds")[:-6] + "Z"


# An instant as the loyalty surface answers it (seed 003: `2020-03-13T10:26:44.118Z`), one
# format whatever precision was stored.
InstantOut = Annotated[
    datetime,
    PlainSerializer(in_milliseconds, return_type=str, when_used="json"),
    WithJsonSchema(
        {"type": "string", "format": "date-time", "examples": ["2020-03-13T10:26:44.118Z"]},
        mode="serialization",
    ),
]


class _NotNull:
    """Refuses ``null`` for a member whose absence (``None``, its default) means something, and
    leaves ``null`` out of its JSON schema."""

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        # After, not before: a function ahead of a type would hand it a Python value, which
        # strict validation of a JSON body (kit/bodies.py) then refuses for a date.
        return core_schema.no_info_after_validator_function(_refuse_null, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return _without_null(handler(schema))


def _without_null(schema: JsonSchemaValue) -> JsonSchemaValue:
    """A member's schema without its ``null`` alternative (nor a ``null`` default)."""
    if {"type": "null"} not in schema.get("anyOf", []):
        return schema
    branches = [b for b in schema["anyOf"] if b != {"type": "null"}]
    rest = {
        key: value
        for key, value in schema.items()
        if key != "anyOf" and not (key == "default" and value is None)
    }
    return {**branches[0], **rest} if len(branches) == 1 else {**rest, "anyOf": branches}


def _refuse_null(value: object) -> object:
    if value is None:
        raise PydanticCustomError("NULL_NOT_ALLOWED", "may be left out, but not null")
    return value


# A member that may be left out (then None) but not sent as null: ``x: Omittable[int] = None``.
Omittable = Annotated[T | None, _NotNull()]


# Values the policy has nothing to say about, the most common ones decided without a call.
_PLAIN = frozenset({int, bool, float, Decimal, type(None)})


class InputModel(BaseModel):
    """What a client sent: every member follows the input policy (``checked_input``)."""

    @field_validator("*", mode="after")
    @classmethod
    def _checked(cls, value: Any) -> Any:
        return value if value.__class__ in _PLAIN else checked_input(value)


class RequestModel(InputModel):
    """A request body or part of one. ``X | None`` accepts ``null`` (it empties the member); a
    member that may be left out but not emptied is ``Omittable[X]``."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


def _nulls_left_out(schema: dict[str, Any]) -> None:
    schema["properties"] = {
        name: _without_null(member) for name, member in schema.get("properties", {}).items()
    }


class NullFreeModel(RequestModel):
    """A body whose members may be left out (then None) but are never ``null``: every member is
    ``Omittable``, in what it accepts and in its schema."""

    model_config = ConfigDict(json_schema_extra=_nulls_left_out)

    @field_validator("*", mode="after")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        # A default is not validated: None here is a null that was sent.
        return _refuse_null(value)


class PatchModel(NullFreeModel):
    """A partial update: absent fields stay as they are; ``null`` is refused, since none of the
    fields it is used for may be emptied."""


class StudioRequestModel(NullFreeModel):
    """A request body of the studio surface. Members it does not know are ignored, and ``null``
    is refused for every member: the reference declares no member nullable."""

    model_config = ConfigDict(extra="ignore")


class ResponseModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, from_attributes=True)


def _none_left_out(schema: dict[str, Any]) -> None:
    nullable = {
        name
        for name, member in schema.get("properties", {}).items()
        if {"type": "null"} in member.get("anyOf", [])
    }
    schema["required"] = [name for name in schema.get("required", []) if name not in nullable]


class StudioResponseModel(ResponseModel):
    """An answer of the studio surface, whose routes leave out members that are None
    (``StudioRoute``): the document says such a member may be absent, not that it is always
    there."""

    model_config = ConfigDict(json_schema_extra=_none_left_out)


class ErrorResponse(BaseModel):
    """The studio Open API's error body (the reference's ``ErrorResponse``)."""

    errorMessage: str  # noqa: N815 - wire names of the reference
    errorCode: str | None = None  # noqa: N815
    traceId: str | None = None  # noqa: N815
    reference: str | None = None


class ProblemDetails(BaseModel):
    """RFC 9457 problem document, with our stable ``code`` and the request's ``traceId``."""

    model_config = ConfigDict(extra="allow")

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    instance: str | None = None
    code: str
    traceId: str | None = None  # noqa: N815


_DESCRIPTIONS = {
    400: "The request is not valid.",
    401: "Authentication failed: no, unknown or expired credentials.",
    403: "The credentials lack a required scope.",
    404: "The entity does not exist (or belongs to another tenant).",
    409: "Conflict with the current state, or a request with this Idempotency-Key is running.",
    413: "The request body is too large.",
    422: "The request is well-formed but cannot be processed.",
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, object]]:
    return {
        status: {
            "model": ProblemDetails,
            "description": _DESCRIPTIONS[status],
            "content": {"application/problem+json": {}},
        }
        for status in statuses
    }


def studio_error_responses(*statuses: int) -> dict[int | str, dict[str, object]]:
    return {
        status: {"model": ErrorResponse, "description": _DESCRIPTIONS[status]}
        for status in statuses
    }
