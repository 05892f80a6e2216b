"""Admin API for customers: records of any status, idle periods, and the Customer view."""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response, status

from openbenefits.customers import schemas, service
from openbenefits.customers.card_numbers import CardNumberFormat
from openbenefits.customers.models import Customer
from openbenefits.customers.views import render_customer
from openbenefits.kit.downloads import DownloadUrlsDep
from openbenefits.kit.pagination import Page, PageParams, page_params
from openbenefits.kit.routing import ClockDep, SessionDep, TransactionalRoute
from openbenefits.kit.schemas import problem_responses
from openbenefits.tenancy.auth import Admin, AdminTenant

router = APIRouter(
    prefix="/admin/v1/tenants/{tenantId}/customers",
    tags=["admin: customers"],
    route_class=TransactionalRoute,
    responses=problem_responses(400, 401, 403, 404, 409, 413, 422),
)
CustomerId = Annotated[int, Path(alias="customerId")]
Paging = Annotated[PageParams, Depends(page_params)]


async def _view(
    session: SessionDep, clock: ClockDep, urls: DownloadUrlsDep, customer: Customer
) -> schemas.Customer:
    (view,) = await service.customer_views(session, [customer])
    return render_customer(view, CardNumberFormat.DECIMAL, clock.now(), urls)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=schemas.Customer)
async def create_customer(
    admin: Admin,
    tenant: AdminTenant,
    session: SessionDep,
    clock: ClockDep,
    urls: DownloadUrlsDep,
    body: schemas.CustomerAdminCreate,
) -> schemas.Customer:
    customer = await service.create_customer(session, admin, tenant.id, body)
    return await _view(session, clock, urls, customer)


@router.get("", response_model=Page[schemas.Customer])
async def list_customers(
    tenant: AdminTenant,
    session: SessionDep,
    clock: ClockDep,
    urls: DownloadUrlsDep,
    paging: Paging,
    studio_id: Annotated[int | None, Query(alias="studioId")] = None,
) -> Page[schemas.Customer]:
    rows, total = await service.list_tenant_customers(session, tenant.id, paging, studio_id)
    views = await service.customer_views(session, rows)
    now = clock.now()
    return Page[schemas.Customer](
        items=[render_customer(v, CardNumberFormat.DECIMAL, now, urls) for v in views],
        page=paging.page,
        perPage=paging.per_page,
        totalItems=total,
    )


@router.get("/{customerId}", response_model=schemas.Customer)
async def get_customer(
    tenant: AdminTenant,
    session: SessionDep,
    clock: ClockDep,
    urls: DownloadUrlsDep,
    customer_id: CustomerId,
) -> schemas.Customer:
    customer = await service.get_tenant_customer(session, tenant.id, customer_id)
    return await _view(session, clock, urls, customer)


@router.post(
    "/{customerId}/idle-periods",
    status_code=status.HTTP_201_CREATED,
    response_model=schemas.CustomerIdlePeriod,
)
async def add_idle_period(
    admin: Admin,
    tenant: AdminTenant,
    session: SessionDep,
    customer_id: CustomerId,
    body: schemas.IdlePeriodCreate,
) -> schemas.CustomerIdlePeriod:
    customer = await service.get_tenant_customer(session, tenant.id, customer_id)
    period = await service.add_idle_period(session, admin, customer, body)
    return schemas.CustomerIdlePeriod.model_validate(period)


@router.delete("/{customerId}/idle-periods/{idlePeriodId}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_idle_period(
    admin: Admin,
    tenant: AdminTenant,
    session: SessionDep,
    customer_id: CustomerId,
    period_id: Annotated[int, Path(alias="idlePeriodId")],
) -> Response:
    customer = await service.get_tenant_customer(session, tenant.id, customer_id)
    await service.delete_idle_period(session, admin, customer, period_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
