"""Loyalty programs (seed 003) for a loyalty manager: programs with their versions on a timeline
(DRAFT / CURRENT / DEPRECATED), a new version; contracts found by customer number, uuid or
external reference, with their consumers (block, unblock, remove), coupon children and a gift
card's points ledger; the OAuth clients (created with the secret shown once, deactivated).
Every change goes through the loyalty services, as the operator ("operator:<id>")."""

from datetime import UTC, datetime, time
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import HTMLResponse, Response

from openbenefits.console.auth import Loyalty
from openbenefits.console.forms import PageWithForm, PostedForm, refused_with
from openbenefits.console.pages import (
    CHOICES,
    PREFIX,
    FormState,
    PageNumber,
    Pager,
    render,
    see_other,
)
from openbenefits.console.sessions import SignedIn
from openbenefits.kit.clock import Clock
from openbenefits.kit.routing import ClockDep, SessionDep, SettingsDep, TransactionalRoute
from openbenefits.kit.schemas import Id
from openbenefits.loyalty import consumers, points, programs, reading
from openbenefits.loyalty import schemas as loyalty_schemas
from openbenefits.loyalty.contracts import owned_contract
from openbenefits.loyalty.models import LoyaltyPointsTransaction, ProgramType
from openbenefits.tenancy import schemas as tenancy_schemas
from openbenefits.tenancy import service as tenancy
from openbenefits.tenancy.key_cache import Revocations
from openbenefits.tenancy.scopes import LoyaltyScope

router = APIRouter(
    prefix=f"{PREFIX}/loyalty", route_class=TransactionalRoute, include_in_schema=False
)

Uuid = Annotated[str, Path(max_length=64)]
Number = Annotated[Id, Path()]
PROGRAM_PAGE = 10


def _day_start(day: str) -> str:
    """A form's day as the instant the loyalty API takes: its start, in UTC."""
    return datetime.combine(datetime.fromisoformat(day).date(), time(), UTC).isoformat()


async def _programs_page(
    request: Request,
    operator: SignedIn,
    session: AsyncSession,
    clock: Clock,
    page: int = 1,
    refused: FormState | None = None,
) -> HTMLResponse:
    pages = Pager(request, page, per_page=PROGRAM_PAGE)
    found, total = await programs.list_programs(session, operator.tenant_id, pages.params)
    now = clock.now()
    clients, _ = await tenancy.list_oauth_clients(session, operator.tenant_id, CHOICES)
    return render(
        request,
        "loyalty.html",
        operator,
        refused=refused,
        programs=[
            (program, programs.render_versions(program, versions, now))
            for program, versions in found
        ],
        pages=pages.counted(total),
        clients=clients,
        scopes=[(scope.value, scope.value) for scope in LoyaltyScope],
    )


@router.get("")
async def programs_page(
    request: Request, operator: Loyalty, session: SessionDep, clock: ClockDep, page: PageNumber = 1
) -> HTMLResponse:
    return await _programs_page(request, operator, session, clock, page)


def _again(
    request: Request, operator: SignedIn, session: AsyncSession, clock: Clock
) -> PageWithForm:
    return lambda refused: _programs_page(request, operator, session, clock, refused=refused)


@router.post("/programs/{program_id}/versions")
async def create_version(
    request: Request,
    operator: Loyalty,
    session: SessionDep,
    clock: ClockDep,
    program_id: Annotated[Id, Path()],
) -> Response:
    await programs.get_program(session, operator.tenant_id, program_id)
    form = await PostedForm.read(request)
    # The form asks for days; the service takes instants (the day's start, UTC).
    days = {"start_date": "start_day", "end_date": "end_day"}
    async with refused_with(
        session,
        form,
        name=f"version-{program_id}",
        page=_again(request, operator, session, clock),
        fields={**days, "INVALID_DATES": "end_day"},
    ):
        instants: dict[str, Any] = {
            member: _day_start(form.get(day)) for member, day in days.items() if form.get(day)
        }
        data = form.model(loyalty_schemas.VersionFields, without=days.values(), **instants)
        await programs.create_version(session, operator, program_id, data, clock.now())
    return see_other(f"{PREFIX}/loyalty#program-{program_id}", "version")


@router.post("/oauth-clients")
async def create_client(
    request: Request,
    operator: Loyalty,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> Response:
    form = await PostedForm.read(request)
    async with refused_with(
        session, form, name="client", page=_again(request, operator, session, clock)
    ):
        data = form.model(tenancy_schemas.OAuthClientCreate, "scopes")
        client, secret = await tenancy.create_oauth_client(
            session, operator, settings.signing_key, operator.tenant_id, data
        )
    return render(
        request,
        "secret.html",
        operator,
        status=201,
        title=f"OAuth client {client.client_id}",
        secret=secret,
        explanation=f"The client's id is {client.client_id}; it asks POST /oauth/token for "
        "bearer tokens with this secret. It is shown this once: only a keyed hash is kept.",
        back=f"{PREFIX}/loyalty#clients",
    )


@router.post("/oauth-clients/{client_row_id}/deactivate")
async def deactivate_client(
    request: Request,
    operator: Loyalty,
    session: SessionDep,
    clock: ClockDep,
    client_row_id: Annotated[Id, Path()],
) -> Response:
    client = await tenancy.get_oauth_client(session, operator.tenant_id, client_row_id)
    await tenancy.revoke(session, operator, client, clock.now())
    # As the admin API does: this process refuses the client's tokens at once.
    revocations: Revocations = request.app.state.revocations
    revocations.clients.discard(client.client_id)
    return see_other(f"{PREFIX}/loyalty#clients", "client-deactivated")


# Contracts


def _filters(query: str) -> reading.ContractFilters:
    """A customer number, a contract's uuid, or its external reference."""
    if query.isdigit() and len(query) <= 18:
        return reading.ContractFilters(customer_number=int(query))
    if len(query) == 36 and query.count("-") == 4:
        return reading.ContractFilters(uuid=query)
    return reading.ContractFilters(external_ref=query)


@router.get("/contracts")
async def contracts_page(
    request: Request,
    operator: Loyalty,
    session: SessionDep,
    clock: ClockDep,
    q: Annotated[str, Query(max_length=200)] = "",
    page: PageNumber = 1,
) -> HTMLResponse:
    pages = Pager(request, page)
    query = q.strip()
    found, total = (
        await reading.search_contracts(
            session,
            operator,
            _filters(query),
            loyalty_schemas.ContractSort.CREATED_AT,
            loyalty_schemas.SortOrder.DESC,
            pages.params,
            clock.now(),
        )
        if query
        else ([], 0)
    )
    rendered = await reading.render_contracts(
        session, found, include_consumers=loyalty_schemas.IncludeConsumers.ALL
    )
    return render(
        request,
        "loyalty_contracts.html",
        operator,
        query=query,
        contracts=rendered,
        pages=pages.counted(total),
    )


async def _contract_page(
    request: Request,
    operator: SignedIn,
    session: AsyncSession,
    clock: Clock,
    uuid: str,
    page: int = 1,
    refused: FormState | None = None,
) -> HTMLResponse:
    now = clock.now()
    found = await owned_contract(session, operator, uuid, now)
    contract = found.contract
    children = await reading.coupon_children(session, contract)
    (rendered, *rendered_children) = await reading.render_contracts(
        session,
        [contract, *children],
        include_consumers=loyalty_schemas.IncludeConsumers.ALL,
        include_order_line_events=True,
    )
    pages = Pager(request, page)
    ledger: list[LoyaltyPointsTransaction] = []
    total = 0
    if found.program.program_type == ProgramType.POINTS and contract.parent_id is None:
        _, ledger, total = await points.transactions(session, operator, uuid, pages.params, now)
    return render(
        request,
        "loyalty_contract.html",
        operator,
        refused=refused,
        contract=rendered,
        children=rendered_children,
        ledger=ledger,
        pages=pages.counted(total),
    )


@router.get("/contracts/{uuid}")
async def contract_page(
    request: Request,
    operator: Loyalty,
    session: SessionDep,
    clock: ClockDep,
    uuid: Uuid,
    page: PageNumber = 1,
) -> HTMLResponse:
    return await _contract_page(request, operator, session, clock, uuid, page)


@router.post("/contracts/{uuid}/consumers/{organisation_id}/{number}/{action}")
async def change_consumer(
    request: Request,
    operator: Loyalty,
    session: SessionDep,
    clock: ClockDep,
    uuid: Uuid,
    organisation_id: Annotated[Id, Path()],
    number: Number,
    action: Annotated[str, Path(pattern="^(block|unblock|remove)$")],
) -> Response:
    now = clock.now()
    await owned_contract(session, operator, uuid, now)
    form = await PostedForm.read(request)

    async def page(refused: FormState) -> HTMLResponse:
        return await _contract_page(request, operator, session, clock, uuid, refused=refused)

    async with refused_with(session, form, name=f"consumer-{number}", page=page):
        if action == "remove":
            await consumers.remove_consumer(session, operator, uuid, organisation_id, number, now)
        else:
            await consumers.set_blocked(
                session, operator, uuid, organisation_id, number, action == "block", now
            )
    return see_other(f"{PREFIX}/loyalty/contracts/{uuid}", f"consumer-{action}")
