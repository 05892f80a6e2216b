"""Additional-information fields: questions an operator defines for a tenant's customers, and the
value each customer holds for them. Values travel as strings; each is checked against its field's
type and stored in one canonical form, so that equal values compare equal."""

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Select, delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from openbenefits.customers import schemas
from openbenefits.customers.models import (
    ASSIGNMENT_VALUE_LENGTH,
    AdditionalInformationField,
    AdditionalInformationFieldAssignment,
    AdditionalInformationFieldType,
    AdditionalInformationListItem,
    Customer,
)
from openbenefits.kit import audit
from openbenefits.kit.audit import Actor
from openbenefits.kit.db import flush_or_conflict
from openbenefits.kit.errors import InvalidRequest, NotFound
from openbenefits.kit.pagination import PageParams, fetch_page

Field = AdditionalInformationField
Item = AdditionalInformationListItem
Assignment = AdditionalInformationFieldAssignment
Type = AdditionalInformationFieldType

# ASCII digits only: \d would admit other scripts' digits, which int() reads.
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_INTEGER = re.compile(r"[+-]?[0-9]{1,18}")
_ID = re.compile(r"[0-9]{1,18}")


# Values


def _boolean(value: str, _field: Field) -> str | None:
    return value if value in ("true", "false") else None


def _date(value: str, _field: Field) -> str | None:
    if not _DATE.fullmatch(value):
        return None
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        return None


def _numeric(value: str, _field: Field) -> str | None:
    return str(int(value)) if _INTEGER.fullmatch(value) else None


def _text(value: str, _field: Field) -> str | None:
    text = value.strip()
    return text if 0 < len(text) <= ASSIGNMENT_VALUE_LENGTH and text.isprintable() else None


def _list_item(value: str, field: Field) -> str | None:
    if not _ID.fullmatch(value) or int(value) not in {item.id for item in field.list_items}:
        return None
    return str(int(value))


@dataclass(frozen=True)
class _Rule:
    canonical: Callable[[str, Field], str | None]
    code: str
    expected: str


RULES = {
    Type.BOOLEAN: _Rule(_boolean, "INVALID_ADDITIONAL_INFORMATION_BOOLEAN", "true or false"),
    Type.DATE: _Rule(_date, "INVALID_ADDITIONAL_INFORMATION_DATE", "a date yyyy-mm-dd"),
    # The reference: "for numeric fields must be positive or negative integers".
    Type.NUMERIC: _Rule(
        _numeric, "INVALID_ADDITIONAL_INFORMATION_NUMERIC", "an integer of at most 18 digits"
    ),
    Type.TEXT: _Rule(
        _text,
        "INVALID_ADDITIONAL_INFORMATION_TEXT",
        f"printable text of 1 to {ASSIGNMENT_VALUE_LENGTH} characters",
    ),
    # The reference: "for list fields this is the id of the selected item".
    Type.LIST: _Rule(
        _list_item, "INVALID_ADDITIONAL_INFORMATION_LIST_ITEM", "the id of one of its list items"
    ),
}


def field_not_found(field_id: int, reference: str | None = None) -> NotFound | InvalidRequest:
    """404 when the field is the resource asked for; 400 when a request body names it."""
    message = f"Additional information field {field_id} not found."
    code = "ADDITIONAL_INFORMATION_FIELD_NOT_FOUND"
    if reference is None:
        return NotFound(message, code=code)
    return InvalidRequest(message, code=code, reference=reference)


async def checked_values(
    session: AsyncSession,
    tenant_id: int,
    given: Sequence[schemas.AdditionalInformationFieldAssignmentIn],
    at: str = "",
) -> dict[int, str]:
    """Field id → canonical value; refuses the first unknown field, repeated field or bad value,
    its ``reference`` pointing into the list found at ``at`` in the request body."""
    if not given:
        return {}
    ids = {a.additional_information_field_id for a in given}
    # Shared locks until commit: an operator's edit of these fields waits, so a value checked
    # here still names an existing list item when it is stored.
    statement = _fields(tenant_id).where(Field.id.in_(ids)).with_for_update(read=True)
    fields = {f.id: f for f in await session.scalars(statement)}
    values: dict[int, str] = {}
    for index, assignment in enumerate(given):
        field_id = assignment.additional_information_field_id
        field = fields.get(field_id)
        if field is None:
            raise field_not_found(field_id, f"{at}[{index}].additionalInformationFieldId")
        if field_id in values:
            raise InvalidRequest(
                f"Additional information field {field_id} is given twice.",
                code="DUPLICATE_ADDITIONAL_INFORMATION_FIELD",
                reference=f"{at}[{index}].additionalInformationFieldId",
            )
        rule = RULES[field.type]
        value = rule.canonical(assignment.value, field)
        if value is None:
            raise InvalidRequest(
                f"The value of {field.name!r} (field {field_id}) must be {rule.expected}.",
                code=rule.code,
                reference=f"{at}[{index}].value",
            )
        values[field_id] = value
    return values


async def replace_assignments(
    session: AsyncSession, actor: Actor, customer: Customer, values: dict[int, str]
) -> list[Assignment]:
    """Make ``values`` the customer's only assignments (the reference's replace-all PUT).

    Concurrent replacements queue on the customer's row lock, so each one wins in turn rather
    than colliding on the rows the other inserts."""
    await session.execute(select(Customer.id).where(Customer.id == customer.id).with_for_update())
    await session.execute(delete(Assignment).where(Assignment.customer_id == customer.id))
    rows = [
        Assignment(customer_id=customer.id, field_id=f, tenant_id=customer.tenant_id, value=v)
        for f, v in sorted(values.items())
    ]
    session.add_all(rows)
    await session.flush()
    audit.record(
        session,
        actor=actor,
        action="customer.additional_information.set",
        entity_type="customer",
        entity_id=customer.id,
        tenant_id=customer.tenant_id,
        details={"additionalInformationFieldIds": sorted(values)},
    )
    return rows


async def assignments_of(
    session: AsyncSession, customer_ids: Sequence[int]
) -> dict[int, list[Assignment]]:
    """Every listed customer's assignments in field order, in one query."""
    found: dict[int, list[Assignment]] = {i: [] for i in customer_ids}
    for row in await session.scalars(
        select(Assignment)
        .where(Assignment.customer_id.in_(customer_ids))
        .order_by(Assignment.customer_id, Assignment.field_id)
    ):
        found[row.customer_id].append(row)
    return found


# Fields (the operator's side)


def _fields(tenant_id: int) -> Select[Field]:
    return (
        select(Field)
        .where(Field.tenant_id == tenant_id)
        .options(selectinload(Field.list_items))
        .order_by(Field.id)
    )


async def all_fields(session: AsyncSession, tenant_id: int) -> list[Field]:
    return list(await session.scalars(_fields(tenant_id)))


async def page_fields(
    session: AsyncSession, tenant_id: int, params: PageParams
) -> tuple[list[Field], int]:
    return await fetch_page(session, _fields(tenant_id), params)


async def get_field(
    session: AsyncSession, tenant_id: int, field_id: int, *, for_update: bool = False
) -> Field:
    """``for_update`` before changing it: waits for requests still storing values it allows."""
    statement = _fields(tenant_id).where(Field.id == field_id)
    field = await session.scalar(statement.with_for_update() if for_update else statement)
    if field is None:
        raise field_not_found(field_id)
    return field


def _check_items(
    kind: Type, items: Sequence[schemas.ListItemCreate | schemas.ListItemUpdate] | None
) -> None:
    if kind is not Type.LIST:
        if items:
            raise InvalidRequest(
                f"A {kind} field has no list items.",
                code="ADDITIONAL_INFORMATION_LIST_ITEMS_NOT_ALLOWED",
                reference="listItems",
            )
        return
    if not items:
        raise InvalidRequest(
            "A LIST field needs at least one list item.",
            code="ADDITIONAL_INFORMATION_LIST_ITEMS_REQUIRED",
            reference="listItems",
        )
    seen: set[str] = set()
    for index, item in enumerate(items):
        if item.name.casefold() in seen:
            raise InvalidRequest(
                f"List item {item.name!r} is given twice.",
                code="DUPLICATE_ADDITIONAL_INFORMATION_LIST_ITEM",
                reference=f"listItems[{index}].name",
            )
        seen.add(item.name.casefold())


def _audit_field(
    session: AsyncSession, actor: Actor, verb: str, field: Field, details: dict[str, object]
) -> None:
    audit.record(
        session,
        actor=actor,
        action=f"additional_information_field.{verb}",
        entity_type="additional_information_field",
        entity_id=field.id,
        tenant_id=field.tenant_id,
        details=details,
    )


async def _flush_field(session: AsyncSession, field: Field) -> None:
    await flush_or_conflict(
        session,
        f"An additional information field named {field.name!r} exists.",
        code="ADDITIONAL_INFORMATION_FIELD_EXISTS",
    )


async def create_field(
    session: AsyncSession,
    actor: Actor,
    tenant_id: int,
    data: schemas.AdditionalInformationFieldCreate,
) -> Field:
    _check_items(data.type, data.list_items)
    field = Field(
        tenant_id=tenant_id,
        name=data.name,
        abbreviation=data.abbreviation or None,
        type=data.type,
        list_items=[
            Item(tenant_id=tenant_id, name=item.name, position=position)
            for position, item in enumerate(data.list_items or [])
        ],
    )
    session.add(field)
    await _flush_field(session, field)
    _audit_field(session, actor, "created", field, data.model_dump(mode="json", by_alias=True))
    return field


async def update_field(
    session: AsyncSession,
    actor: Actor,
    field: Field,
    data: schemas.AdditionalInformationFieldUpdate,
) -> Field:
    if data.name is not None:
        field.name = data.name
    if data.abbreviation is not None:
        field.abbreviation = data.abbreviation or None
    if data.list_items is not None:
        _check_items(field.type, data.list_items)
        await _replace_items(session, field, data.list_items)
    await _flush_field(session, field)
    changes = data.model_dump(mode="json", by_alias=True, exclude_unset=True)
    _audit_field(session, actor, "updated", field, changes)
    return field


async def _replace_items(
    session: AsyncSession, field: Field, wanted: Sequence[schemas.ListItemUpdate]
) -> None:
    """Keep, rename and reorder the items named by id, add the new ones, and remove the rest
    together with the values that chose them."""
    current = {item.id: item for item in field.list_items}
    items = []
    for position, spec in enumerate(wanted):
        if spec.id is None:
            items.append(Item(tenant_id=field.tenant_id, name=spec.name, position=position))
            continue
        item = current.pop(spec.id, None)
        if item is None:
            raise InvalidRequest(
                f"Field {field.id} has no list item {spec.id}, or it is given twice.",
                code="ADDITIONAL_INFORMATION_LIST_ITEM_NOT_FOUND",
                reference=f"listItems[{position}].id",
            )
        item.name, item.position = spec.name, position
        items.append(item)
    if current:
        await session.execute(
            delete(Assignment).where(
                Assignment.field_id == field.id,
                Assignment.value.in_([str(item_id) for item_id in current]),
            )
        )
    field.list_items = items


async def delete_field(session: AsyncSession, actor: Actor, field: Field) -> None:
    """Remove the field, its list items and every customer's value for it."""
    await session.execute(delete(Assignment).where(Assignment.field_id == field.id))
    await session.delete(field)
    _audit_field(session, actor, "deleted", field, {"name": field.name, "type": field.type})
