"""The loyalty programs API (seed 003) under ``/customers/v2/benefits``: bearer tokens from
``POST /oauth/token``; the token's organisation is the caller's."""

from typing import Annotated, TypeVar

from fastapi import APIRouter, Depends, Path, Query, Response, status

from openbenefits.kit.pagination import Page, PageParams, page_params
from openbenefits.kit.routing import (
    ClockDep,
    ReadOnlyRoute,
    SessionDep,
    SettingsDep,
    TransactionalRoute,
    WorkDep,
    fast,
)
from openbenefits.kit.schemas import Id, Instant, problem_responses
from openbenefits.loyalty import (
    consumers,
    contracts,
    entitlements,
    points,
    programs,
    reading,
    schemas,
    usage,
)
from openbenefits.tenancy.auth import loyalty_principal
from openbenefits.tenancy.principals import LoyaltyPrincipal
from openbenefits.tenancy.scopes import LoyaltyScope

T = TypeVar("T")
PREFIX = "/customers/v2/benefits"
_ERRORS = problem_responses(400, 401, 403, 404, 409, 413, 422)
router = APIRouter(
    prefix=PREFIX, tags=["loyalty"], route_class=TransactionalRoute, responses=_ERRORS
)
# POSTs that only read: no write transaction (on SQLite it would queue behind every writer).
reading_posts = APIRouter(
    prefix=PREFIX, tags=["loyalty"], route_class=ReadOnlyRoute, responses=_ERRORS
)
Reader = Annotated[LoyaltyPrincipal, Depends(loyalty_principal(LoyaltyScope.LOYALTY_READ))]
Writer = Annotated[LoyaltyPrincipal, Depends(loyalty_principal(LoyaltyScope.LOYALTY_WRITE))]
Pages = Annotated[PageParams, Depends(page_params)]
ProgramId = Annotated[Id, Path(alias="loyaltyProgramId")]
ContractUuid = Annotated[str, Path(alias="uuid", max_length=36)]
CustomerNumber = Annotated[schemas.CustomerNumber, Path(alias="customerNumber")]
OrganisationId = Annotated[Id, Path(alias="customerOrganisationId")]
IncludeConsumers = Annotated[schemas.IncludeConsumers, Query(alias="includeConsumers")]
IncludeEvents = Annotated[bool, Query(alias="includeOrderLineEvents")]
TravelDate = Annotated[
    schemas.TravelDate | None,
    Query(
        alias="travelDate",
        description="An instant, or a day in your organisation's time zone. Default: now.",
    ),
]


def _page(items: list[T], total: int, params: PageParams) -> Page[T]:
    return Page[T](items=items, page=params.page, perPage=params.per_page, totalItems=total)


# Programs and versions -----------------------------------------------------------------------


@router.post(
    "/loyaltyprograms", status_code=status.HTTP_201_CREATED, response_model=schemas.ProgramOut
)
async def create_program(
    session: SessionDep, clock: ClockDep, principal: Writer, body: schemas.ProgramCreate
) -> schemas.ProgramOut:
    """A program with its first version."""
    now = clock.now()
    program, versions = await programs.create_program(session, principal, body, now)
    return programs.render_program(program, versions, now)


@router.get("/loyaltyprograms", response_model=Page[schemas.ProgramOut])
async def list_programs(
    session: SessionDep, clock: ClockDep, principal: Reader, params: Pages
) -> Page[schemas.ProgramOut]:
    now = clock.now()
    rows, total = await programs.list_programs(session, principal.tenant_id, params)
    return _page([programs.render_program(p, v, now) for p, v in rows], total, params)


@router.get("/loyaltyprograms/{loyaltyProgramId}", response_model=schemas.ProgramOut)
async def get_program(
    session: SessionDep, clock: ClockDep, principal: Reader, program_id: ProgramId
) -> schemas.ProgramOut:
    program, versions = await programs.program_with_versions(
        session, principal.tenant_id, program_id
    )
    return programs.render_program(program, versions, clock.now())


@router.post(
    "/loyaltyprograms/{loyaltyProgramId}/versions",
    status_code=status.HTTP_201_CREATED,
    response_model=schemas.VersionOut,
)
async def create_version(
    session: SessionDep,
    clock: ClockDep,
    principal: Writer,
    program_id: ProgramId,
    body: schemas.VersionFields,
) -> schemas.VersionOut:
    """A new version; while a DRAFT exists it is overwritten instead. Omitted fields are
    copied from the latest version."""
    now = clock.now()
    program, versions, version = await programs.create_version(
        session, principal, program_id, body, now
    )
    return next(v for v in programs.render_versions(program, versions, now) if v.id == version.id)


@router.get("/loyaltyprograms/{loyaltyProgramId}/versions", response_model=list[schemas.VersionOut])
async def list_versions(
    session: SessionDep, clock: ClockDep, principal: Reader, program_id: ProgramId
) -> list[schemas.VersionOut]:
    program, versions = await programs.program_with_versions(
        session, principal.tenant_id, program_id
    )
    return programs.render_versions(program, versions, clock.now())


@router.post(
    "/loyaltyprograms/redeem",
    status_code=status.HTTP_201_CREATED,
    response_model=schemas.ContractOut,
)
async def redeem_program_code(
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    principal: Writer,
    body: schemas.Redemption,
) -> schemas.ContractOut:
    """Your customer redeems a program's code and holds a new contract on it, consumable now.
    An unknown code is 404, a program without a CURRENT version 400, a second redemption 409."""
    contract = await contracts.redeem_code(
        session, principal, settings.signing_key, body, clock.now()
    )
    return (await reading.render_contracts(session, [contract]))[0]


@router.post(
    "/loyaltyprograms/{loyaltyProgramId}/contracts",
    status_code=status.HTTP_201_CREATED,
    response_model=schemas.ContractOut,
)
async def create_contract(
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    principal: Writer,
    program_id: ProgramId,
    body: schemas.ContractCreate,
) -> schemas.ContractOut:
    """Only on a program with a CURRENT version. With ``customerNumber`` that customer of
    yours is the contract holder. Policy values are kept only as keyed hashes."""
    contract = await contracts.create_contract(
        session, principal, settings.signing_key, program_id, body, clock.now()
    )
    return (await reading.render_contracts(session, [contract]))[0]


# Contracts -------------------------------------------------------------------------------------


@router.get("/contracts", response_model=Page[schemas.ContractOut])
async def search_contracts(
    session: SessionDep,
    clock: ClockDep,
    principal: Reader,
    params: Pages,
    uuid: Annotated[str | None, Query(max_length=36)] = None,
    customer_number: Annotated[schemas.CustomerNumber | None, Query(alias="customerNumber")] = None,
    customer_ref: Annotated[str | None, Query(alias="customerRef", max_length=200)] = None,
    loyalty_program_id: Annotated[Id | None, Query(alias="loyaltyProgramId")] = None,
    contract_holder: Annotated[bool | None, Query(alias="contractHolder")] = None,
    consumable_after: Annotated[Instant | None, Query(alias="consumableAfter")] = None,
    consumable_before: Annotated[Instant | None, Query(alias="consumableBefore")] = None,
    expiration_date_after: Annotated[Instant | None, Query(alias="expirationDateAfter")] = None,
    expiration_date_before: Annotated[Instant | None, Query(alias="expirationDateBefore")] = None,
    external_ref: Annotated[str | None, Query(alias="externalRef", max_length=200)] = None,
    sort_by: Annotated[schemas.ContractSort, Query(alias="sortBy")] = (
        schemas.ContractSort.CREATED_AT
    ),
    sort_order: Annotated[schemas.SortOrder, Query(alias="sortOrder")] = schemas.SortOrder.ASC,
    include_consumers: IncludeConsumers = schemas.IncludeConsumers.CONTRACT_HOLDER,
    include_order_line_events: IncludeEvents = False,
) -> Page[schemas.ContractOut]:
    """Your organisation's accessible contracts. ``contractHolder`` narrows ``customerNumber``
    / ``customerRef`` to (not) holding; alone, it asks for contracts with (without) a holder.
    Consumers blocked on a contract do not find it by their number."""
    filters = reading.ContractFilters(
        uuid=uuid,
        customer_number=customer_number,
        customer_ref=customer_ref,
        loyalty_program_id=loyalty_program_id,
        contract_holder=contract_holder,
        consumable_after=consumable_after,
        consumable_before=consumable_before,
        expiration_date_after=expiration_date_after,
        expiration_date_before=expiration_date_before,
        external_ref=external_ref,
    )
    rows, total = await reading.search_contracts(
        session, principal, filters, sort_by, sort_order, params, clock.now()
    )
    items = await reading.render_contracts(
        session,
        rows,
        include_consumers=include_consumers,
        include_order_line_events=include_order_line_events,
    )
    return _page(items, total, params)


@router.post("/contracts/claim-personnel-ticket", response_model=schemas.ClaimedContracts)
async def claim_personnel_ticket(
    session: SessionDep, clock: ClockDep, principal: Writer, body: schemas.ClaimPersonnelTicket
) -> schemas.ClaimedContracts:
    """Connects your customer to every contract with that external reference (yours, or open
    to other organisations), as a consumer beside the holder the personnel ticket system set."""
    claimed = await contracts.claim_personnel_ticket(session, principal, body, clock.now())
    return schemas.ClaimedContracts(
        external_reference=body.external_reference,
        customer_number=body.customer_number,
        contract_uuids=claimed,
    )


@reading_posts.post("/contracts/validate-consumptions", response_model=schemas.ValidationResult)
@fast
async def validate_consumptions(
    work: WorkDep, clock: ClockDep, principal: Reader, body: schemas.ValidateConsumptions
) -> schemas.ValidationResult:
    """Whether each contract is available to your customer on the travel date: a code per
    pair and the overall code (3101 when all are valid). A pair's checks run in this order and
    the first failure is its code: 3102 unknown, 3104 not the customer's, 3105 blocked, 3103
    not valid on the date, 3106 out of coupons with no used coupon covering the date. The
    overall code is the failure earliest in that order."""
    return await usage.validate_consumptions(await work.fetch(), principal, body, clock.now())


@router.get("/contracts/{uuid}", response_model=schemas.ContractOut)
async def get_contract(
    session: SessionDep,
    clock: ClockDep,
    principal: Reader,
    uuid: ContractUuid,
    include_consumers: IncludeConsumers = schemas.IncludeConsumers.CONTRACT_HOLDER,
    include_order_line_events: IncludeEvents = False,
) -> schemas.ContractOut:
    found = await contracts.owned_contract(session, principal, uuid, clock.now())
    return (
        await reading.render_contracts(
            session,
            [found.contract],
            include_consumers=include_consumers,
            include_order_line_events=include_order_line_events,
        )
    )[0]


@router.post(
    "/contracts/{uuid}/contract-consumer",
    status_code=status.HTTP_201_CREATED,
    response_model=schemas.ConsumerOut,
)
async def add_contract_consumer(
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    principal: Writer,
    uuid: ContractUuid,
    body: schemas.ConsumerCreate,
) -> schemas.ConsumerOut:
    """Connects one of your customers (another organisation's is 403). One holder, of the
    owning organisation, and first; another organisation's contract only where its program
    allows other organisations (else 404, as an unknown contract); all policies must match
    (401)."""
    consumer, customer = await consumers.add_consumer(
        session, principal, settings.signing_key, uuid, body, clock.now()
    )
    return reading.render_consumer(consumer, customer.customer_number)


@router.put(
    "/contracts/{uuid}/contract-consumer/{customerOrganisationId}/{customerNumber}",
    response_model=schemas.ConsumerOut,
)
async def block_contract_consumer(
    session: SessionDep,
    clock: ClockDep,
    principal: Writer,
    uuid: ContractUuid,
    organisation_id: OrganisationId,
    customer_number: CustomerNumber,
    body: schemas.ConsumerBlock,
) -> schemas.ConsumerOut:
    """Blocks or unblocks a consumer (the owning organisation only)."""
    consumer, customer = await consumers.set_blocked(
        session, principal, uuid, organisation_id, customer_number, body.is_blocked, clock.now()
    )
    return reading.render_consumer(consumer, customer.customer_number)


@router.delete(
    "/contracts/{uuid}/contract-consumer/{customerOrganisationId}/{customerNumber}",
    status_code=status.HTTP_204_NO_CONTENT,
)
async def remove_contract_consumer(
    session: SessionDep,
    clock: ClockDep,
    principal: Writer,
    uuid: ContractUuid,
    organisation_id: OrganisationId,
    customer_number: CustomerNumber,
) -> Response:
    """Removes a consumer (the owning organisation any, another organisation its own
    customers); removing the holder makes the contract inaccessible for good."""
    await consumers.remove_consumer(
        session, principal, uuid, organisation_id, customer_number, clock.now()
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/contracts/{uuid}/order-line-events",
    status_code=status.HTTP_201_CREATED,
    response_model=schemas.CouponUseOut | schemas.OrderLineEventOut,
    responses={200: {"description": "The order line was recorded before: its first event."}},
)
async def record_order_line_event(
    session: SessionDep,
    clock: ClockDep,
    principal: Writer,
    uuid: ContractUuid,
    body: schemas.OrderLineEventCreate,
    response: Response,
) -> schemas.CouponUseOut | schemas.OrderLineEventOut:
    """TIMED: the discount an order line garnered. COUPONS: a coupon use, landing on the used
    coupon's contract valid at that instant or spending a coupon (409 with ``responseCode``
    3106 when none is left). POINTS contracts have none."""
    event, new = await usage.record_order_line_event(session, principal, uuid, body, clock.now())
    if not new:
        response.status_code = status.HTTP_200_OK
    return event


@router.post(
    "/contracts/{uuid}/points-transactions",
    status_code=status.HTTP_201_CREATED,
    response_model=schemas.PointsTransactionOut,
    responses={200: {"description": "The external reference was seen: the first result."}},
)
@fast
async def record_points_transaction(
    work: WorkDep,
    clock: ClockDep,
    principal: Writer,
    uuid: ContractUuid,
    body: schemas.PointsTransactionCreate,
    response: Response,
) -> schemas.PointsTransactionOut:
    """A deposit, withdrawal or refund on a POINTS contract. The first deposit fixes the points
    type; a withdrawal never takes the balance below zero (409)."""
    transaction, new = await points.record_transaction(work, principal, uuid, body, clock.now())
    if not new:
        response.status_code = status.HTTP_200_OK
    return transaction


@router.get(
    "/contracts/{uuid}/points-transactions", response_model=Page[schemas.PointsTransactionOut]
)
async def list_points_transactions(
    session: SessionDep, clock: ClockDep, principal: Reader, uuid: ContractUuid, params: Pages
) -> Page[schemas.PointsTransactionOut]:
    """The ledger, newest first."""
    contract, rows, total = await points.transactions(session, principal, uuid, params, clock.now())
    return _page([points.render_transaction(r, contract.uuid) for r in rows], total, params)


@router.get("/contracts/{uuid}/points-balance", response_model=schemas.PointsBalance)
async def points_balance(
    session: SessionDep, clock: ClockDep, principal: Reader, uuid: ContractUuid
) -> schemas.PointsBalance:
    return await points.balance(session, principal, uuid, clock.now())


# Customers' views ------------------------------------------------------------------------------


@router.get(
    "/contract-consumers/{customerNumber}/contracts", response_model=Page[schemas.ContractOut]
)
async def consumer_contracts(
    session: SessionDep,
    clock: ClockDep,
    principal: Reader,
    customer_number: CustomerNumber,
    params: Pages,
) -> Page[schemas.ContractOut]:
    """The accessible contracts your customer consumes (not blocked), of any organisation."""
    rows, total = await reading.consumer_contracts(
        session, principal, customer_number, params, clock.now()
    )
    return _page(await reading.render_contracts(session, rows), total, params)


@router.get(
    "/entitlements/{customerNumber}/by-customer-number", response_model=list[schemas.Entitlement]
)
@fast
async def entitlements_by_customer_number(
    work: WorkDep,
    clock: ClockDep,
    principal: Reader,
    customer_number: CustomerNumber,
    travel_date: TravelDate = None,
    exclude_sub_contracts: Annotated[bool, Query(alias="excludeSubContracts")] = False,
) -> list[schemas.Entitlement]:
    """What your customer may use on the travel date: the contracts they consume and, unless
    ``excludeSubContracts``, the contracts their used coupons created. The owner's passenger
    category and senior citizenship are read from your organisation's age bands."""
    return await entitlements.entitlements(
        await work.fetch(),
        principal,
        customer_number,
        travel_date,
        exclude_sub_contracts,
        clock.now(),
    )


@router.get("/age-bands", response_model=schemas.AgeBandsOut)
async def get_age_bands(session: SessionDep, principal: Reader) -> schemas.AgeBands:
    """Your organisation's passenger categories by age (defaults until you set them)."""
    return await entitlements.age_bands(session, principal.tenant_id)


@router.put("/age-bands", response_model=schemas.AgeBandsOut)
async def set_age_bands(
    session: SessionDep, principal: Writer, body: schemas.AgeBands
) -> schemas.AgeBands:
    return await entitlements.set_age_bands(session, principal, principal.tenant_id, body)
