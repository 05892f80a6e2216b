"""Customers and amendments: search by name, number or card; a customer's contracts and module
contracts, access restriction, idle periods, each benefit's contingent now, the usage ledger
with reversal, check-ins and documents; the cancelations and withdrawals waiting for an
operator's verdict.
"""

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import HTMLResponse, Response

from openbenefits.benefits import service as benefits
from openbenefits.benefits.rights import PartnerView
from openbenefits.benefits.schemas import ReversalCreate
from openbenefits.console.auth import Studios, require_studio
from openbenefits.console.forms import PostedForm, refused_with
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
from openbenefits.contracts import modules
from openbenefits.contracts import service as contracts
from openbenefits.contracts.views import contract_state, module_contract_state
from openbenefits.customers import activities, documents
from openbenefits.customers import service as customers
from openbenefits.customers.models import Customer
from openbenefits.customers.views import restriction_in_force
from openbenefits.kit.clock import Clock
from openbenefits.kit.errors import InvalidRequest
from openbenefits.kit.periods import local_date
from openbenefits.kit.routing import ClockDep, SessionDep, TransactionalRoute
from openbenefits.kit.schemas import Id
from openbenefits.tenancy import service as tenancy

router = APIRouter(prefix=PREFIX, route_class=TransactionalRoute, include_in_schema=False)

CustomerId = Annotated[Id, Path()]
# The check-ins a customer page shows: the last weeks' visits.
VISITS_SHOWN = timedelta(days=90)
VISITS_LIMIT = 50
DOCUMENTS_LIMIT = 50
DECISIONS = ("approve", "reject")


@router.get("/customers")
async def customers_page(
    request: Request,
    operator: Studios,
    session: SessionDep,
    q: Annotated[str, Query(max_length=200)] = "",
    page: PageNumber = 1,
) -> HTMLResponse:
    pages = Pager(request, page)
    found, total = await customers.find_tenant_customers(
        session, operator.tenant_id, q, operator.studio_scope, pages.params
    )
    studios, _ = await tenancy.list_studios(session, operator.tenant_id, CHOICES)
    return render(
        request,
        "customers.html",
        operator,
        query=q,
        customers=found,
        pages=pages.counted(total),
        studio_names={studio.id: studio.name for studio in studios},
    )


async def _customer(session: AsyncSession, operator: SignedIn, customer_id: int) -> Customer:
    customer = await customers.get_tenant_customer(session, operator.tenant_id, customer_id)
    require_studio(operator, customer.studio_id, f"Customer {customer_id}")
    return customer


async def _customer_page(
    request: Request,
    operator: SignedIn,
    session: AsyncSession,
    clock: Clock,
    customer: Customer,
    page: int = 1,
    refused: FormState | None = None,
) -> HTMLResponse:
    now = clock.now()
    (view,) = await customers.customer_views(session, [customer])
    today = local_date(now, view.zone)
    held = await contracts.customer_contracts(session, customer)
    module_contracts = await modules.module_contracts_of(session, [c.id for c, _ in held])
    partners, _ = await tenancy.list_partners(session, operator.tenant_id, CHOICES)
    integrated = await tenancy.integrations_in(session, operator.tenant_id, [customer.studio_id])
    contingents = {
        partner.name: await benefits.held_contingents(
            session,
            PartnerView(operator.tenant_id, customer.studio_id, partner.id),
            customer.id,
            now,
        )
        for partner in partners
        if any(integration.partner_id == partner.id for integration in integrated)
    }
    pages = Pager(request, page)
    usages, total = await benefits.customer_usages(
        session, operator.tenant_id, customer.id, pages.params
    )
    visits = await activities.check_in_history(
        session, customer, view.zone, today - VISITS_SHOWN, today, 0, VISITS_LIMIT
    )
    studios, _ = await tenancy.list_studios(session, operator.tenant_id, CHOICES)
    return render(
        request,
        "customer.html",
        operator,
        refused=refused,
        customer=customer,
        view=view,
        today=today,
        restricted=restriction_in_force(view.restriction, today),
        contracts=[(contract, contract_state(contract, today)) for contract, _ in held],
        module_contracts={
            main_id: [(c, module_contract_state(c, today)) for c in listed]
            for main_id, listed in module_contracts.items()
        },
        contingents=contingents,
        usages=usages,
        pages=pages.counted(total),
        visits=list(reversed(visits[:VISITS_LIMIT])),
        documents=(await documents.list_documents(session, customer, 0, DOCUMENTS_LIMIT))[
            :DOCUMENTS_LIMIT
        ],
        studio_names={studio.id: studio.name for studio in studios},
    )


@router.get("/customers/{customer_id}")
async def customer_page(
    request: Request,
    operator: Studios,
    session: SessionDep,
    clock: ClockDep,
    customer_id: CustomerId,
    page: PageNumber = 1,
) -> HTMLResponse:
    customer = await _customer(session, operator, customer_id)
    return await _customer_page(request, operator, session, clock, customer, page)


@router.post("/customers/{customer_id}/usages/{usage_id}/reverse")
async def reverse_usage(
    request: Request,
    operator: Studios,
    session: SessionDep,
    clock: ClockDep,
    customer_id: CustomerId,
    usage_id: Annotated[Id, Path()],
) -> Response:
    customer = await _customer(session, operator, customer_id)
    viewpoint = await benefits.usage_viewpoint(session, operator.tenant_id, customer.id, usage_id)
    form = await PostedForm.read(request)

    async def page(refused: FormState) -> HTMLResponse:
        return await _customer_page(request, operator, session, clock, customer, refused=refused)

    async with refused_with(session, form, name=f"reverse-{usage_id}", page=page):
        reason = form.model(ReversalCreate).reason
        await benefits.reverse(
            session, viewpoint, operator, customer.id, usage_id, reason, clock.now()
        )
    return see_other(f"{PREFIX}/customers/{customer.id}#ledger", "reversed")


# Amendments


async def _amendments_page(
    request: Request,
    operator: SignedIn,
    session: AsyncSession,
    page: int = 1,
    refused: FormState | None = None,
) -> HTMLResponse:
    pages = Pager(request, page)
    waiting, total = await modules.pending_amendments(
        session, operator.tenant_id, operator.studio_scope, pages.params
    )
    return render(
        request,
        "amendments.html",
        operator,
        refused=refused,
        amendments=waiting,
        pages=pages.counted(total),
    )


@router.get("/amendments")
async def amendments_page(
    request: Request, operator: Studios, session: SessionDep, page: PageNumber = 1
) -> HTMLResponse:
    return await _amendments_page(request, operator, session, page)


@router.post("/amendments/{module_contract_id}")
async def decide_amendment(
    request: Request,
    operator: Studios,
    session: SessionDep,
    module_contract_id: Annotated[Id, Path()],
) -> Response:
    contract = await modules.get_tenant_module_contract(
        session, operator.tenant_id, module_contract_id
    )
    main = await contracts.get_contract(session, operator.tenant_id, contract.main_contract_id)
    customer = await customers.get_tenant_customer(session, operator.tenant_id, main.customer_id)
    require_studio(operator, customer.studio_id, f"Additional module contract {module_contract_id}")
    form = await PostedForm.read(request)

    async def page(refused: FormState) -> HTMLResponse:
        return await _amendments_page(request, operator, session, refused=refused)

    async with refused_with(session, form, name=f"amendment-{contract.id}", page=page):
        decision = form.get("decision")
        if decision not in DECISIONS:
            raise InvalidRequest("Approve or reject the amendment.", code="DECISION_REQUIRED")
        approve = decision == "approve"
        await modules.decide_amendment(session, operator, contract, approve)
    return see_other(f"{PREFIX}/amendments", "approved" if approve else "rejected")
