"""Studio Open API: a customer's contracts, by customer id or by identifier."""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from openbenefits.contracts import modules, schemas, service
from openbenefits.contracts.schemas import ContractStatus
from openbenefits.contracts.views import render_contract, render_sub_contract
from openbenefits.customers import service as customers_service
from openbenefits.customers.card_numbers import CardNumberFormat
from openbenefits.customers.models import Customer
from openbenefits.customers.service import StudioScope
from openbenefits.kit.periods import local_date
from openbenefits.kit.routing import ClockDep, SessionDep, StudioRoute
from openbenefits.kit.schemas import ReferenceId, studio_error_responses
from openbenefits.tenancy import service as tenancy_service
from openbenefits.tenancy.auth import studio_principal
from openbenefits.tenancy.principals import StudioPrincipal
from openbenefits.tenancy.scopes import StudioScope as Scope

router = APIRouter(
    prefix="/v1/customers",
    tags=["studio: contracts"],
    route_class=StudioRoute,
    responses=studio_error_responses(400, 401, 403, 404),
)
ContractReader = Annotated[
    StudioPrincipal,
    Depends(studio_principal(Scope.CUSTOMER_CONTRACT_READ, Scope.CUSTOMER_READ, any_of=True)),
]
StatusFilter = Annotated[ContractStatus | None, Query(alias="status")]


async def _contracts(
    session: SessionDep, clock: ClockDep, customer: Customer, status: ContractStatus | None
) -> list[schemas.Contract]:
    today = local_date(clock.now(), await tenancy_service.studio_zone(session, customer.studio_id))
    mains = await service.customer_contracts(session, customer)
    booked = await modules.module_contracts_of(session, [main.id for main, _ in mains])
    frequencies = await modules.payment_frequencies_by_id(
        session, [c.payment_frequency_id for contracts in booked.values() for c in contracts]
    )
    rendered = [
        render_contract(
            main,
            frequency,
            today,
            [
                render_sub_contract(c, frequencies[c.payment_frequency_id], today)
                for c in booked[main.id]
            ],
        )
        for main, frequency in mains
    ]
    return [c for c in rendered if status is None or c.contract_status == status]


@router.get(
    "/contracts/by", operation_id="getCustomerContractsBy", response_model=list[schemas.Contract]
)
async def get_customer_contracts_by(
    session: SessionDep,
    clock: ClockDep,
    principal: ContractReader,
    card_number: Annotated[str | None, Query(alias="cardNumber", max_length=40)] = None,
    card_number_format: Annotated[
        CardNumberFormat, Query(alias="cardNumberFormat")
    ] = CardNumberFormat.DECIMAL,
    debtor_id: Annotated[str | None, Query(alias="debtorId", max_length=50)] = None,
    qr_code_uuid: Annotated[
        str | None, Query(alias="qrCodeUuid", deprecated=True, max_length=36)
    ] = None,
    barcode: Annotated[str | None, Query(max_length=200)] = None,
    customer_number: Annotated[str | None, Query(alias="customerNumber", max_length=50)] = None,
    status: StatusFilter = None,
) -> list[schemas.Contract]:
    """The contracts of the calling studio's customer with exactly one of the identifiers."""
    identifier = customers_service.Identifier(
        card_number=card_number,
        card_number_format=card_number_format,
        debtor_id=debtor_id,
        qr_code_uuid=qr_code_uuid,
        barcode=barcode,
        customer_number=customer_number,
    )
    customer = await customers_service.find_customer_by(
        session, StudioScope.of(principal), identifier
    )
    return await _contracts(session, clock, customer, status)


@router.get(
    "/{customerId}/contracts",
    operation_id="getCustomersContracts",
    response_model=list[schemas.Contract],
)
async def get_customers_contracts(
    session: SessionDep,
    clock: ClockDep,
    principal: ContractReader,
    customer_id: Annotated[ReferenceId, Path(alias="customerId")],
    status: StatusFilter = None,
) -> list[schemas.Contract]:
    """The customer's main contracts with their module contracts, optionally by status."""
    customer = await customers_service.get_customer(session, StudioScope.of(principal), customer_id)
    return await _contracts(session, clock, customer, status)
