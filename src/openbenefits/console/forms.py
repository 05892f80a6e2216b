"""Posted forms, read as the admin API reads a JSON body: into the same request models, so the
console takes exactly what the API takes, and refused with the service's own message beside the
field it names.

A field is named after the model's member in Python (``cross_facility``), a nested member with
dots (``contingent.uses``), a list's item with its index (``payment_frequencies.0.price``). An
empty field is a member left out; a checkbox sends ``true`` and, through a hidden field before
it, ``false`` when unticked (the last value of a name wins). A group of fields that a select
always fills (a period's unit) is left out as a whole when its leading field is empty
(``unless``: ``{"term": "term.value"}``).
"""

import re
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import HTMLResponse

from openbenefits.console.auth import CSRF_FIELD
from openbenefits.console.pages import FormRefused, FormState
from openbenefits.kit.errors import AppError

M = TypeVar("M", bound=BaseModel)
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")
# A form's fields: bounded like every input (the body limit bounds them all together).
MAX_FIELDS = 200


def field_name(location: Iterable[object]) -> str:
    """The form field of a model location or an error's reference: ``contingent.uses``."""
    return ".".join(_CAMEL.sub("_", str(part)).lower() for part in location)


def _listed(node: Any) -> Any:
    """Groups numbered 0, 1, ... as lists, in their order."""
    if not isinstance(node, dict):
        return node
    items = {name: _listed(value) for name, value in node.items()}
    if items and all(name.isdigit() for name in items):
        return [items[name] for name in sorted(items, key=int)]
    return items


@dataclass(frozen=True)
class PostedForm:
    """What a form posted: each field's last value, and the values of repeated fields."""

    values: dict[str, str]
    lists: dict[str, list[str]]

    @classmethod
    async def read(cls, request: Request) -> "PostedForm":
        posted = await request.form(max_fields=MAX_FIELDS, max_files=0)
        values: dict[str, str] = {}
        lists: dict[str, list[str]] = {}
        for name, value in posted.multi_items():
            if name == CSRF_FIELD or not isinstance(value, str):
                continue
            values[name] = value.strip()
            lists.setdefault(name, []).append(value.strip())
        return cls(values, lists)

    def get(self, name: str) -> str:
        return self.values.get(name, "")

    def data(
        self,
        *repeated: str,
        unless: Mapping[str, str] | None = None,
        without: Collection[str] = (),
    ) -> dict[str, Any]:
        """The fields as a request body: dotted names nested, empty ones left out, the
        ``repeated`` names as lists of their non-empty values, each group of ``unless``
        left out when its leading field is empty, and the fields ``without`` (which the
        endpoint reads itself) left out."""
        left_out = tuple(
            f"{group}." for group, leading in (unless or {}).items() if not self.get(leading)
        )
        body: dict[str, Any] = {}
        for name, value in self.values.items():
            if name in repeated or name in without or value == "" or name.startswith(left_out):
                continue
            *parents, last = name.split(".")
            node = body
            for parent in parents:
                node = node.setdefault(parent, {})
            node[last] = value
        for name in repeated:
            body[name] = [value for value in self.lists.get(name, []) if value]
        listed: dict[str, Any] = _listed(body)
        return listed

    def model(
        self,
        model: type[M],
        *repeated: str,
        unless: Mapping[str, str] | None = None,
        without: Collection[str] = (),
        **fixed: Any,
    ) -> M:
        """The request model of the fields (and ``fixed`` members), validated as the API
        validates it (raises ``ValidationError``)."""
        data = self.data(*repeated, unless=unless, without=without)
        return model.model_validate({**data, **fixed})

    def place(self, name: str) -> str:
        """The field of the form that shows an error about ``name``: the field itself, the
        first field inside it (a group), or the nearest group around it; else the form."""
        while name:
            if name in self.values:
                return name
            inside = next((field for field in self.values if field.startswith(f"{name}.")), None)
            if inside is not None:
                return inside
            name = name.rpartition(".")[0]
        return "form"


def _refusal(error: Exception, form: PostedForm, fields: Mapping[str, str]) -> tuple[str, str]:
    """The field an error belongs to, and its message with its code."""
    if isinstance(error, ValidationError):
        first = error.errors()[0]
        named = field_name(first["loc"])
        code = first["type"] if first["type"].isupper() else "VALIDATION_ERROR"
        return fields.get(named) or form.place(named), f"{first['msg']} ({code})"
    assert isinstance(error, AppError)
    named = field_name((error.reference or "").split(".")) if error.reference else ""
    field = fields.get(error.code) or fields.get(named) or form.place(named)
    return field, f"{error.message} ({error.code})"


# A page drawn again for a refused form: its state, then the page's own data loaded afresh.
PageWithForm = Callable[[FormState], Awaitable[HTMLResponse]]


@asynccontextmanager
async def refused_with(
    session: AsyncSession,
    form: PostedForm,
    *,
    name: str,
    page: PageWithForm,
    fields: Mapping[str, str] | None = None,
) -> AsyncIterator[None]:
    """Answers a refusal of the service (or of the request model) inside the block with
    ``page`` again (status 422): the form ``name`` (a page may hold several) keeps what was
    typed and shows the error beside its field (``fields`` maps a code or a reference to a field
    the form names otherwise). The block runs in a savepoint, so the page is loaded from the
    database as it was before; the refusal is raised, so that the unit of work rolls back."""
    try:
        async with session.begin_nested():
            yield
    except (AppError, ValidationError) as error:
        field, message = _refusal(error, form, fields or {})
        response = await page(FormState(name, {field: message}, form.values, form.lists))
        response.status_code = HTTPStatus.UNPROCESSABLE_ENTITY
        raise FormRefused(response) from error
