"""Rates and additional modules (seed 002): each module's configuration — active,
online-bookable, term, extension, cancelation period, trial, payment frequencies and prices,
the rates that may book it, the benefits it grants — with the visibility rule spelled out, and
the forms that make rates and modules through the admin API's services.
"""

from typing import Annotated

from fastapi import APIRouter, Path, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import HTMLResponse, Response

from openbenefits.benefits import definitions
from openbenefits.console.auth import Catalogue
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
from openbenefits.contracts import modules
from openbenefits.contracts import schemas as contract_schemas
from openbenefits.contracts import service as contracts
from openbenefits.contracts.models import ExtensionType, PaymentFrequencyType
from openbenefits.contracts.terms import TermUnit
from openbenefits.kit.routing import SessionDep, TransactionalRoute
from openbenefits.kit.schemas import Id

router = APIRouter(prefix=PREFIX, route_class=TransactionalRoute, include_in_schema=False)

UNITS = [(unit.value, unit.value.lower()) for unit in TermUnit]
# A module's optional periods: left out when their number is empty.
OPTIONAL_PERIODS = {
    "term": "term.value",
    "cancelation_period": "cancelation_period.value",
    "trial_period": "trial_period.value",
    "extension": "extension.extension_type",
    "extension.term_extension": "extension.term_extension.value",
    "extension.extension_cancelation_period": "extension.extension_cancelation_period.value",
}
# The payment frequencies a form offers; a row without a price is left out.
FREQUENCY_ROWS = 2


def _frequency_rows(prefix: str) -> dict[str, str]:
    rows = {}
    for row in range(FREQUENCY_ROWS):
        rows[f"{prefix}.{row}"] = f"{prefix}.{row}.price"
        rows[f"{prefix}.{row}.term"] = f"{prefix}.{row}.term.value"
    return rows


async def _catalogue_page(
    request: Request,
    operator: SignedIn,
    session: AsyncSession,
    page: int = 1,
    refused: FormState | None = None,
) -> HTMLResponse:
    pages = Pager(request, page)
    rates, _ = await contracts.list_rates(session, operator.tenant_id, CHOICES)
    offers = await modules.module_offers(session, operator.tenant_id)
    shown = offers[pages.params.offset : pages.params.offset + pages.per_page]
    granted: dict[int, list[str]] = {}
    for grant, benefit in await definitions.tenant_grants(session, operator.tenant_id):
        if grant.module_id is not None:
            granted.setdefault(grant.module_id, []).append(
                f"{benefit.key} ({definitions.describe(grant)})"
            )
    return render(
        request,
        "modules.html",
        operator,
        refused=refused,
        offers=shown,
        pages=pages.counted(len(offers)),
        rates=rates,
        rate_names={rate.id: rate.name for rate in rates},
        rate_frequencies=await contracts.payment_frequencies(session, [rate.id for rate in rates]),
        granted=granted,
        units=UNITS,
        optional_units=[("", "—"), *UNITS],
        extension_types=[("", "none"), *((t.value, t.value.lower()) for t in ExtensionType)],
        frequency_types=[(t.value, t.value.lower()) for t in PaymentFrequencyType],
        frequency_rows=range(FREQUENCY_ROWS),
    )


def _again(request: Request, operator: SignedIn, session: AsyncSession) -> PageWithForm:
    return lambda refused: _catalogue_page(request, operator, session, refused=refused)


@router.get("/modules")
async def modules_page(
    request: Request,
    operator: Catalogue,
    session: SessionDep,
    page: PageNumber = 1,
) -> HTMLResponse:
    return await _catalogue_page(request, operator, session, page)


@router.post("/modules")
async def create_module(request: Request, operator: Catalogue, session: SessionDep) -> Response:
    form = await PostedForm.read(request)
    async with refused_with(session, form, name="module", page=_again(request, operator, session)):
        data = form.model(
            contract_schemas.ModuleCreate,
            "rate_ids",
            unless={**OPTIONAL_PERIODS, **_frequency_rows("payment_frequencies")},
        )
        await modules.create_module(session, operator, operator.tenant_id, data)
    return see_other(f"{PREFIX}/modules", "module")


@router.post("/modules/{module_id}")
async def change_module(
    request: Request,
    operator: Catalogue,
    session: SessionDep,
    module_id: Annotated[Id, Path()],
) -> Response:
    module = await modules.get_module(session, operator.tenant_id, module_id)
    form = await PostedForm.read(request)
    async with refused_with(
        session, form, name=f"module-{module_id}", page=_again(request, operator, session)
    ):
        data = form.model(contract_schemas.ModuleUpdate)
        await modules.update_module(session, operator, module, data)
    return see_other(f"{PREFIX}/modules#module-{module.id}", "module")


@router.post("/rates")
async def create_rate(request: Request, operator: Catalogue, session: SessionDep) -> Response:
    form = await PostedForm.read(request)
    async with refused_with(session, form, name="rate", page=_again(request, operator, session)):
        data = form.model(
            contract_schemas.RateCreate,
            unless=_frequency_rows("payment_frequencies"),
        )
        await contracts.create_rate(session, operator, operator.tenant_id, data)
    return see_other(f"{PREFIX}/modules#rates", "rate")
