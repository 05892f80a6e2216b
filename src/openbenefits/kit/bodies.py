"""JSON request bodies are validated as JSON, strictly, by one field type every route's body
takes (``TransactionalRoute``), whichever path serves the request.

Pydantic's lax mode, which FastAPI uses on the parsed body, would take ``0`` for 1970-01-01,
``false`` for the number 0 and ``"5"`` for 5. In strict JSON mode a value has the JSON type its
schema documents: a date, an instant or a duration is an ISO string, an integer an integer
(``2.0`` included, as JSON Schema has it), a number a number, a boolean ``true`` or ``false``; a
decimal may also be a string, as its schema says. Members a body does not know are refused or
ignored as the route's surface decides (``unknown_members``), nested models included.
"""

import json
from dataclasses import dataclass
from typing import Any

from fastapi import params
from fastapi._compat import ModelField
from fastapi._compat.v2 import _regenerate_error_with_loc
from fastapi.dependencies.models import Dependant
from pydantic import ValidationError
from pydantic.config import ExtraValues


@dataclass
class JsonBody(ModelField):
    unknown_members: ExtraValues = "forbid"

    def validate(
        self,
        value: Any,
        values: dict[str, Any] | None = None,  # noqa: ARG002 - the signature FastAPI calls
        *,
        loc: tuple[int | str, ...] = (),
    ) -> tuple[Any, list[dict[str, Any]]]:
        try:
            if isinstance(value, bytes):
                # Not declared JSON: FastAPI hands over the raw body, which no model takes.
                return self._type_adapter.validate_python(value, strict=True), []
            # What json.loads made of the body, written back out (a few microseconds for the
            # bodies the hot paths take) so that pydantic reads it as JSON.
            document = json.dumps(_integral_numbers(value))
            validated = self._type_adapter.validate_json(
                document, strict=True, extra=self.unknown_members
            )
        except ValidationError as exc:
            return None, _regenerate_error_with_loc(
                errors=exc.errors(include_url=False), loc_prefix=loc
            )
        return validated, []


def _integral_numbers(value: Any) -> Any:
    """``value`` with every float that is a whole number made an int: JSON has one number type,
    and JSON Schema takes ``2.0`` for an integer, which pydantic's strict mode would refuse."""
    if isinstance(value, dict):
        return {key: _integral_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_integral_numbers(item) for item in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def take_json_strictly(dependant: Dependant, unknown_members: ExtraValues) -> None:
    """Makes the JSON body parameters of ``dependant`` ``JsonBody`` fields (forms and files
    stay as they are)."""
    dependant.body_params = [
        field
        if isinstance(field, JsonBody) or isinstance(field.field_info, params.Form)
        else _as_json_body(field, unknown_members)
        for field in dependant.body_params
    ]


def _as_json_body(field: ModelField, unknown_members: ExtraValues) -> JsonBody:
    # The field as FastAPI built it, type adapter included: built again, the adapters would
    # add a tenth to every app's first request.
    body = JsonBody.__new__(JsonBody)
    body.__dict__.update(field.__dict__, unknown_members=unknown_members)
    return body
