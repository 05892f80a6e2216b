"""Base wire models: camelCase on the wire, snake_case in Python; request bodies reject unknown
fields so that a typo is an error, not silently ignored data."""

from typing import Self

from pydantic import BaseModel, ConfigDict, model_validator
from pydantic.alias_generators import to_camel


class RequestModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class PatchModel(RequestModel):
    """A partial update: absent fields stay as they are; ``null`` is refused, since none of the
    fields it is used for may be emptied."""

    @model_validator(mode="after")
    def _no_nulls(self) -> Self:
        nulls = sorted(f for f in self.model_fields_set if getattr(self, f) is None)
        if nulls:
            raise ValueError(f"may not be null: {', '.join(nulls)}")
        return self


class ResponseModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, from_attributes=True)


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
