"""The audit log, filterable by actor, entity and time, and the tenant's operators, whom a
tenant admin adds and removes."""

from datetime import date, datetime, time, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Path, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import HTMLResponse, Response

from openbenefits.console import operators
from openbenefits.console.auth import Audit, Operators
from openbenefits.console.forms import PostedForm, refused_with
from openbenefits.console.models import OperatorRole
from openbenefits.console.pages import (
    CHOICES,
    PREFIX,
    FormState,
    PageNumber,
    Pager,
    render,
    see_other,
)
from openbenefits.console.schemas import OperatorCreate
from openbenefits.console.sessions import SignedIn
from openbenefits.kit.routing import ClockDep, SessionDep, TransactionalRoute
from openbenefits.kit.schemas import Day, Id
from openbenefits.tenancy import service as tenancy

router = APIRouter(prefix=PREFIX, route_class=TransactionalRoute, include_in_schema=False)

Text = Annotated[str, Query(max_length=200)]


def _start_of(day: date | None, zone: ZoneInfo) -> datetime | None:
    return None if day is None else datetime.combine(day, time(), zone)


@router.get("/audit")
async def audit_page(
    request: Request,
    operator: Audit,
    session: SessionDep,
    actor: Text = "",
    entity_type: Text = "",
    entity_id: Text = "",
    since: Annotated[Day | None, Query(alias="from")] = None,
    until: Annotated[Day | None, Query(alias="to")] = None,
    page: PageNumber = 1,
) -> HTMLResponse:
    """``from`` and ``to`` are the tenant's local days, both included."""
    tenant = await tenancy.get_tenant(session, operator.tenant_id)
    zone = ZoneInfo(tenant.time_zone)
    pages = Pager(request, page)
    only = tenancy.AuditFilter(
        actor=actor.strip() or None,
        entity_type=entity_type.strip() or None,
        entity_id=entity_id.strip() or None,
        since=_start_of(since, zone),
        until=_start_of(until + timedelta(days=1) if until else None, zone),
    )
    entries, total = await tenancy.list_audit_entries(
        session, operator.tenant_id, pages.params, only
    )
    return render(
        request,
        "audit.html",
        operator,
        entries=entries,
        pages=pages.counted(total),
        filters={
            "actor": actor,
            "entity_type": entity_type,
            "entity_id": entity_id,
            "from": since.isoformat() if since else "",
            "to": until.isoformat() if until else "",
        },
        zone=tenant.time_zone,
    )


async def _operators_page(
    request: Request,
    operator: SignedIn,
    session: AsyncSession,
    page: int = 1,
    refused: FormState | None = None,
) -> HTMLResponse:
    pages = Pager(request, page)
    found, managed, total = await operators.list_operators(
        session, operator.tenant_id, pages.params
    )
    studios, _ = await tenancy.list_studios(session, operator.tenant_id, CHOICES)
    return render(
        request,
        "operators.html",
        operator,
        refused=refused,
        operators=found,
        managed=managed,
        pages=pages.counted(total),
        studios=studios,
        studio_names={studio.id: studio.name for studio in studios},
        roles=[(role.value, role.value.replace("_", " ").lower()) for role in OperatorRole],
    )


@router.get("/operators")
async def operators_page(
    request: Request, operator: Operators, session: SessionDep, page: PageNumber = 1
) -> HTMLResponse:
    return await _operators_page(request, operator, session, page)


@router.post("/operators")
async def add_operator(
    request: Request, operator: Operators, session: SessionDep, clock: ClockDep
) -> Response:
    form = await PostedForm.read(request)

    async def page(refused: FormState) -> HTMLResponse:
        return await _operators_page(request, operator, session, refused=refused)

    fields = {
        "INVALID_EMAIL": "email",
        "OPERATOR_EXISTS": "email",
        "PASSWORD_LENGTH": "password",
        "STUDIOS_REQUIRED": "studio_ids",
        "STUDIOS_NOT_ALLOWED": "studio_ids",
        "STUDIO_NOT_FOUND": "studio_ids",
    }
    async with refused_with(session, form, name="operator", page=page, fields=fields):
        data = form.model(OperatorCreate, "studio_ids")
        await operators.create_operator(
            session,
            operator,
            operator.tenant_id,
            email=data.email,
            password=data.password,
            role=data.role,
            studio_ids=data.studio_ids,
            now=clock.now(),
        )
    return see_other(f"{PREFIX}/operators", "operator")


@router.post("/operators/{operator_id}/remove")
async def remove_operator(
    request: Request,
    operator: Operators,
    session: SessionDep,
    operator_id: Annotated[Id, Path()],
) -> Response:
    removed = await operators.get_operator(session, operator.tenant_id, operator_id)
    form = await PostedForm.read(request)

    async def page(refused: FormState) -> HTMLResponse:
        return await _operators_page(request, operator, session, refused=refused)

    async with refused_with(session, form, name=f"remove-{operator_id}", page=page):
        await operators.remove_operator(session, operator, removed, by=operator.operator_id)
    return see_other(f"{PREFIX}/operators", "operator-removed")
