"""Admin API for customers: records of any status, idle periods, additional-information values,
the Customer view; and the tenant's additional-information fields."""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response, status

from openbenefits.customers import (
    access_codes,
    activities,
    additional_information,
    schemas,
    service,
)
from openbenefits.customers.card_numbers import CardNumberFormat
from openbenefits.customers.models import Customer
from openbenefits.customers.views import render_assignment, render_customer, render_field
from openbenefits.kit.downloads import DownloadUrlsDep
from openbenefits.kit.errors import Unauthorized
from openbenefits.kit.pagination import Page, PageParams, page_params
from openbenefits.kit.routing import ClockDep, SessionDep, SettingsDep, TransactionalRoute
from openbenefits.kit.schemas import Id, problem_responses
from openbenefits.tenancy import service as tenancy_service
from openbenefits.tenancy.auth import Admin, AdminTenant

router = APIRouter(
    prefix="/admin/v1/tenants/{tenantId}",
    tags=["admin: customers"],
    route_class=TransactionalRoute,
    responses=problem_responses(400, 401, 403, 404, 409, 413, 422),
)
fields_router = APIRouter(
    prefix="/admin/v1/tenants/{tenantId}/additional-information-fields",
    tags=["admin: additional information fields"],
    route_class=TransactionalRoute,
    responses=problem_responses(400, 401, 403, 404, 409, 413, 422),
)
CustomerId = Annotated[Id, Path(alias="customerId")]
FieldId = Annotated[Id, Path(alias="fieldId")]
Paging = Annotated[PageParams, Depends(page_params)]


async def _view(
    session: SessionDep, clock: ClockDep, urls: DownloadUrlsDep, customer: Customer
) -> schemas.Customer:
    (view,) = await service.customer_views(session, [customer])
    return render_customer(view, CardNumberFormat.DECIMAL, clock.now(), urls)


@router.post("/customers", status_code=status.HTTP_201_CREATED, response_model=schemas.Customer)
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


@router.get("/customers", response_model=Page[schemas.Customer])
async def list_customers(
    tenant: AdminTenant,
    session: SessionDep,
    clock: ClockDep,
    urls: DownloadUrlsDep,
    paging: Paging,
    studio_id: Annotated[Id | None, Query(alias="studioId")] = None,
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


@router.get("/customers/{customerId}", response_model=schemas.Customer)
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
    "/customers/{customerId}/idle-periods",
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


@router.delete(
    "/customers/{customerId}/idle-periods/{idlePeriodId}",
    status_code=status.HTTP_204_NO_CONTENT,
)
async def delete_idle_period(
    admin: Admin,
    tenant: AdminTenant,
    session: SessionDep,
    customer_id: CustomerId,
    period_id: Annotated[Id, Path(alias="idlePeriodId")],
) -> Response:
    customer = await service.get_tenant_customer(session, tenant.id, customer_id)
    await service.delete_idle_period(session, admin, customer, period_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/check-ins", status_code=status.HTTP_201_CREATED, response_model=schemas.CheckInOut)
async def check_in(
    admin: Admin,
    tenant: AdminTenant,
    session: SessionDep,
    clock: ClockDep,
    body: schemas.CheckInCreate,
) -> schemas.CheckInOut:
    """Record a visit as a door system would: refused (409, with the reason as ``code``) without
    a contract running that day or with an access restriction in force."""
    customer = await service.get_tenant_customer(session, tenant.id, body.customer_id)
    studio = await tenancy_service.get_studio(session, tenant.id, body.studio_id)
    visit = await activities.check_in(session, admin, customer, studio, body.at or clock.now())
    return schemas.CheckInOut.model_validate(visit)


@router.post("/check-ins/{checkInId}/check-out", response_model=schemas.CheckInOut)
async def check_out(
    admin: Admin,
    tenant: AdminTenant,
    session: SessionDep,
    clock: ClockDep,
    check_in_id: Annotated[Id, Path(alias="checkInId")],
    body: schemas.CheckOut,
) -> schemas.CheckInOut:
    visit = await activities.check_out(
        session, admin, tenant.id, check_in_id, body.at or clock.now()
    )
    return schemas.CheckInOut.model_validate(visit)


@router.post("/access-codes/verify", response_model=schemas.AccessCodeVerdict)
async def verify_access_code(
    tenant: AdminTenant,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    body: schemas.AccessCodeCheck,
) -> schemas.AccessCodeVerdict:
    """What a door reader asks: is this QR content a valid, unexpired code of this tenant's
    customer, and is that customer's access refused today?"""
    try:
        holder = access_codes.read(settings.signing_key, body.content, clock.now())
    except Unauthorized as error:
        return schemas.AccessCodeVerdict(valid=False, reason=error.code)
    if holder.tenant_id != tenant.id:
        return schemas.AccessCodeVerdict(valid=False, reason="UNKNOWN_CUSTOMER")
    customer = await service.get_tenant_customer(session, tenant.id, holder.customer_id)
    today = await activities.studio_today(session, customer.studio_id, clock.now())
    return schemas.AccessCodeVerdict(
        valid=True,
        customer_id=customer.id,
        access_refusal=await activities.access_refused(session, customer, today),
        expires_at=holder.expires_at,
    )


@router.put(
    "/customers/{customerId}/additional-information-field-assignments",
    response_model=list[schemas.AdditionalInformationFieldAssignment],
)
async def set_additional_information_field_assignments(
    admin: Admin,
    tenant: AdminTenant,
    session: SessionDep,
    customer_id: CustomerId,
    body: list[schemas.AdditionalInformationFieldAssignmentIn],
) -> list[schemas.AdditionalInformationFieldAssignment]:
    """Replace all of the customer's values, as the studio Open API's PUT does."""
    customer = await service.get_tenant_customer(session, tenant.id, customer_id)
    values = await additional_information.checked_values(session, tenant.id, body)
    rows = await additional_information.replace_assignments(session, admin, customer, values)
    return [render_assignment(row) for row in rows]


# Additional-information fields


@fields_router.post(
    "", status_code=status.HTTP_201_CREATED, response_model=schemas.AdditionalInformationField
)
async def create_field(
    admin: Admin,
    tenant: AdminTenant,
    session: SessionDep,
    body: schemas.AdditionalInformationFieldCreate,
) -> schemas.AdditionalInformationField:
    field = await additional_information.create_field(session, admin, tenant.id, body)
    return render_field(field)


@fields_router.get("", response_model=Page[schemas.AdditionalInformationField])
async def list_fields(
    tenant: AdminTenant, session: SessionDep, paging: Paging
) -> Page[schemas.AdditionalInformationField]:
    rows, total = await additional_information.page_fields(session, tenant.id, paging)
    return Page[schemas.AdditionalInformationField](
        items=[render_field(row) for row in rows],
        page=paging.page,
        perPage=paging.per_page,
        totalItems=total,
    )


@fields_router.get("/{fieldId}", response_model=schemas.AdditionalInformationField)
async def get_field(
    tenant: AdminTenant, session: SessionDep, field_id: FieldId
) -> schemas.AdditionalInformationField:
    return render_field(await additional_information.get_field(session, tenant.id, field_id))


@fields_router.patch("/{fieldId}", response_model=schemas.AdditionalInformationField)
async def update_field(
    admin: Admin,
    tenant: AdminTenant,
    session: SessionDep,
    field_id: FieldId,
    body: schemas.AdditionalInformationFieldUpdate,
) -> schemas.AdditionalInformationField:
    field = await additional_information.get_field(session, tenant.id, field_id, for_update=True)
    return render_field(await additional_information.update_field(session, admin, field, body))


@fields_router.delete("/{fieldId}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_field(
    admin: Admin, tenant: AdminTenant, session: SessionDep, field_id: FieldId
) -> Response:
    """Deletes the field with its list items and every customer's value for it."""
    field = await additional_information.get_field(session, tenant.id, field_id, for_update=True)
    await additional_information.delete_field(session, admin, field)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
