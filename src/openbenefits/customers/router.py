"""Studio Open API: customer operations (seed 004), at the reference's paths."""

import re
from typing import Annotated, Literal

from fastapi import APIRouter, BackgroundTasks, Depends, File, Path, Query, Response, UploadFile

from openbenefits.customers import documents, schemas, service
from openbenefits.customers.card_numbers import CardNumberFormat
from openbenefits.customers.models import Customer, CustomerStatus
from openbenefits.customers.service import StudioScope
from openbenefits.customers.views import render_customer, render_document
from openbenefits.kit.downloads import DownloadUrlsDep
from openbenefits.kit.pagination import slice_offset
from openbenefits.kit.routing import BlobsDep, ClockDep, SessionDep, SettingsDep, StudioRoute
from openbenefits.kit.schemas import studio_error_responses
from openbenefits.tenancy.auth import studio_principal
from openbenefits.tenancy.principals import StudioPrincipal
from openbenefits.tenancy.scopes import StudioScope as Scope

router = APIRouter(
    prefix="/v1/customers",
    tags=["studio: customers"],
    route_class=StudioRoute,
    responses=studio_error_responses(400, 401, 403, 404, 409),
)
# The routes that take files; their bodies may be as large as a document plus the multipart
# framing around it (BodyLimitMiddleware).
UPLOAD_PATHS = re.compile(r"^/v1/customers/[^/]+/(documents|images)$")
MULTIPART_OVERHEAD = 64 * 1024

Reader = Annotated[StudioPrincipal, Depends(studio_principal(Scope.CUSTOMER_READ))]
Writer = Annotated[StudioPrincipal, Depends(studio_principal(Scope.CUSTOMER_WRITE))]
MediumWriter = Annotated[
    StudioPrincipal, Depends(studio_principal(Scope.CUSTOMER_ACCESS_MEDIUM_WRITE))
]
RestrictionWriter = Annotated[
    StudioPrincipal, Depends(studio_principal(Scope.CUSTOMER_ACCESS_RESTRICTION_WRITE))
]
DocumentReader = Annotated[StudioPrincipal, Depends(studio_principal(Scope.CUSTOMER_DOCUMENT_READ))]
DocumentWriter = Annotated[
    StudioPrincipal, Depends(studio_principal(Scope.CUSTOMER_DOCUMENT_WRITE))
]
CustomerId = Annotated[int, Path(alias="customerId")]
MediumId = Annotated[int, Path(alias="accessMediumId")]
CardFormat = Annotated[CardNumberFormat, Query(alias="cardNumberFormat")]


def scope_of(principal: StudioPrincipal) -> StudioScope:
    return StudioScope(tenant_id=principal.tenant_id, studio_id=principal.studio_id)


async def _render(
    session: SessionDep,
    clock: ClockDep,
    urls: DownloadUrlsDep,
    customers: list[Customer],
    fmt: CardNumberFormat,
) -> list[schemas.Customer]:
    views = await service.customer_views(session, customers)
    now = clock.now()
    return [render_customer(view, fmt, now, urls) for view in views]


@router.get("", operation_id="getCustomers", response_model=schemas.CustomerSlicedResult)
async def get_customers(
    session: SessionDep,
    clock: ClockDep,
    urls: DownloadUrlsDep,
    principal: Reader,
    card_number_format: CardFormat = CardNumberFormat.DECIMAL,
    last_offset_id: Annotated[int | None, Query(alias="lastOffsetId", deprecated=True)] = None,
    offset: str | None = None,
    slice_size: Annotated[int, Query(alias="sliceSize", ge=50, le=500)] = 100,
    customer_status: Annotated[
        Literal["MEMBER", "PROSPECT"], Query(alias="customerStatus")
    ] = "MEMBER",
) -> schemas.CustomerSlicedResult:
    """A slice of the calling studio's customers; pass the answer's ``offset`` to get the next."""
    after = slice_offset(offset) if offset else last_offset_id
    rows = await service.list_customers(
        session, scope_of(principal), CustomerStatus(customer_status), after, slice_size
    )
    visible = rows[:slice_size]
    return schemas.CustomerSlicedResult(
        result=await _render(session, clock, urls, visible, card_number_format),
        has_next=len(rows) > slice_size,
        offset=str(visible[-1].id) if visible else (str(after) if after is not None else ""),
    )


@router.get("/by", operation_id="getCustomerBy", response_model=schemas.Customer)
async def get_customer_by(
    session: SessionDep,
    clock: ClockDep,
    urls: DownloadUrlsDep,
    principal: Reader,
    card_number: Annotated[str | None, Query(alias="cardNumber", max_length=40)] = None,
    card_number_format: CardFormat = CardNumberFormat.DECIMAL,
    debtor_id: Annotated[str | None, Query(alias="debtorId", max_length=50)] = None,
    qr_code_uuid: Annotated[
        str | None, Query(alias="qrCodeUuid", deprecated=True, max_length=36)
    ] = None,
    barcode: Annotated[str | None, Query(max_length=200)] = None,
    customer_number: Annotated[str | None, Query(alias="customerNumber", max_length=50)] = None,
) -> schemas.Customer:
    """The calling studio's customer with exactly one of the given identifiers."""
    identifier = service.Identifier(
        card_number=card_number,
        card_number_format=card_number_format,
        debtor_id=debtor_id,
        qr_code_uuid=qr_code_uuid,
        barcode=barcode,
        customer_number=customer_number,
    )
    customer = await service.find_customer_by(session, scope_of(principal), identifier)
    return (await _render(session, clock, urls, [customer], card_number_format))[0]


@router.post("/search", operation_id="searchCustomers", response_model=list[schemas.Customer])
async def search_customers(
    session: SessionDep,
    clock: ClockDep,
    urls: DownloadUrlsDep,
    principal: Reader,
    body: schemas.CustomerSearchRequest,
) -> list[schemas.Customer]:
    """Names match by prefix, ignoring case; e-mail and date of birth match exactly. At most
    500 customers are returned."""
    customers = await service.search_customers(session, scope_of(principal), body)
    return await _render(session, clock, urls, customers, body.card_number_format)


@router.post(
    "/create", operation_id="createCustomer", response_model=schemas.OpenApiV1CustomerCreateResult
)
async def create_customer(
    session: SessionDep, principal: Writer, body: schemas.MembershipSignupCustomer
) -> schemas.OpenApiV1CustomerCreateResult:
    """Create a prospect in the calling studio."""
    customer = await service.create_prospect(session, principal, scope_of(principal), body)
    return schemas.OpenApiV1CustomerCreateResult(customer_id=customer.id)


@router.get("/{customerId}", operation_id="getCustomerById", response_model=schemas.Customer)
async def get_customer_by_id(
    session: SessionDep,
    clock: ClockDep,
    urls: DownloadUrlsDep,
    principal: Reader,
    customer_id: CustomerId,
    card_number_format: CardFormat = CardNumberFormat.DECIMAL,
) -> schemas.Customer:
    customer = await service.get_customer(session, scope_of(principal), customer_id)
    return (await _render(session, clock, urls, [customer], card_number_format))[0]


@router.get(
    "/{customerId}/documents",
    operation_id="getDocuments",
    response_model=schemas.CustomerDocuments,
)
async def get_documents(
    session: SessionDep,
    urls: DownloadUrlsDep,
    principal: DocumentReader,
    customer_id: CustomerId,
    offset: str = "0",
    slice_size: Annotated[int, Query(alias="sliceSize", ge=1, le=50)] = 10,
) -> schemas.CustomerDocuments:
    """A slice of the customer's documents, oldest first; pass the answer's ``offset`` to get
    the next. Each carries a download URL valid for 15 minutes."""
    after = slice_offset(offset)
    customer = await service.get_customer(session, scope_of(principal), customer_id)
    rows = await documents.list_documents(session, customer, after, slice_size)
    visible = rows[:slice_size]
    return schemas.CustomerDocuments(
        result=[render_document(d, urls) for d in visible],
        has_next=len(rows) > slice_size,
        offset=str(visible[-1].id) if visible else offset,
    )


@router.post(
    "/{customerId}/documents",
    operation_id="uploadDocument",
    response_model=schemas.CustomerDocumentUploadResult,
    responses=studio_error_responses(413),
)
async def upload_document(
    session: SessionDep,
    settings: SettingsDep,
    blobs: BlobsDep,
    principal: DocumentWriter,
    customer_id: CustomerId,
    file: Annotated[UploadFile, File(description="A PDF, JPEG or PNG file.")],
    description: Annotated[
        str | None, Query(max_length=500, pattern=r"^[^\x00-\x1f\x7f]*$")
    ] = None,
) -> schemas.CustomerDocumentUploadResult:
    """Keep a file for the customer: PDF, JPEG or PNG (told by its content, not by its name
    or declared type), up to 10 MiB."""
    customer = await service.get_customer(session, scope_of(principal), customer_id)
    document = await documents.upload_document(
        session,
        principal,
        blobs,
        customer,
        data=await file.read(),
        file_name=file.filename,
        description=description,
        max_bytes=settings.max_document_bytes,
    )
    return schemas.CustomerDocumentUploadResult(id=document.id)


@router.get(
    "/{customerId}/documents/{id}",
    operation_id="getDocumentById",
    response_model=schemas.CustomerDocument,
)
async def get_document_by_id(
    session: SessionDep,
    urls: DownloadUrlsDep,
    principal: DocumentReader,
    customer_id: CustomerId,
    document_id: Annotated[int, Path(alias="id")],
) -> schemas.CustomerDocument:
    customer = await service.get_customer(session, scope_of(principal), customer_id)
    document = await documents.get_document(session, customer, document_id)
    return render_document(document, urls)


@router.put(
    "/{customerId}/images",
    operation_id="updateImage",
    response_model=schemas.CustomerImage,
    responses=studio_error_responses(413),
)
async def update_image(
    session: SessionDep,
    settings: SettingsDep,
    blobs: BlobsDep,
    urls: DownloadUrlsDep,
    background: BackgroundTasks,
    principal: Writer,
    customer_id: CustomerId,
    image: Annotated[UploadFile, File(description="A JPEG or PNG image.")],
) -> schemas.CustomerImage:
    """Set the customer's profile image: a JPEG or PNG, stored as a JPEG scaled to fit
    1200 x 1200. The answer's URL is valid for 15 minutes."""
    customer = await service.get_customer(session, scope_of(principal), customer_id)
    key, replaced = await documents.set_image(
        session,
        principal,
        blobs,
        customer,
        data=await image.read(),
        max_bytes=settings.max_document_bytes,
    )
    if replaced:
        # Background tasks run once the response is sent, which is after the commit.
        background.add_task(blobs.delete, replaced)
    return schemas.CustomerImage(image_url=urls.url(key))


@router.post(
    "/{customerId}/access-mediums",
    operation_id="addAccessMediums",
    response_model=schemas.AccessMediumDto,
)
async def add_access_mediums(
    session: SessionDep,
    principal: MediumWriter,
    customer_id: CustomerId,
    body: schemas.AccessMediumIn,
) -> schemas.AccessMediumDto:
    customer = await service.get_customer(session, scope_of(principal), customer_id)
    medium = await service.add_access_medium(session, principal, customer, body.type, body.value)
    return schemas.AccessMediumDto.model_validate(medium)


@router.put(
    "/{customerId}/access-medium",
    operation_id="addAccessMedium",
    response_model=schemas.AccessMediumDto,
    deprecated=True,
)
async def add_access_medium(
    session: SessionDep,
    principal: MediumWriter,
    customer_id: CustomerId,
    body: schemas.AccessMediumIn,
) -> schemas.AccessMediumDto:
    """The older way to add an access medium; same as ``POST .../access-mediums``."""
    return await add_access_mediums(session, principal, customer_id, body)


@router.put(
    "/{customerId}/access-mediums/{accessMediumId}",
    operation_id="updateAccessMediums",
    response_model=schemas.AccessMediumDto,
)
async def update_access_mediums(
    session: SessionDep,
    principal: MediumWriter,
    customer_id: CustomerId,
    medium_id: MediumId,
    body: schemas.UpdateAccessIdentificationRequest,
) -> schemas.AccessMediumDto:
    customer = await service.get_customer(session, scope_of(principal), customer_id)
    medium = await service.update_access_medium(session, principal, customer, medium_id, body.value)
    return schemas.AccessMediumDto.model_validate(medium)


@router.delete("/{customerId}/access-mediums/{accessMediumId}", operation_id="deleteAccessMediums")
async def delete_access_mediums(
    session: SessionDep, principal: MediumWriter, customer_id: CustomerId, medium_id: MediumId
) -> Response:
    customer = await service.get_customer(session, scope_of(principal), customer_id)
    await service.delete_access_medium(session, principal, customer, medium_id)
    return Response(status_code=200)


@router.put(
    "/{customerId}/access-restrictions",
    operation_id="setAccessRestriction",
    response_model=schemas.AccessRestrictionDto,
)
async def set_access_restriction(
    session: SessionDep,
    principal: RestrictionWriter,
    customer_id: CustomerId,
    body: schemas.AccessRestrictionIn,
) -> schemas.AccessRestrictionDto:
    """Create or replace the customer's access restriction (both dates, or neither)."""
    customer = await service.get_customer(session, scope_of(principal), customer_id)
    restriction = await service.set_access_restriction(session, principal, customer, body)
    return schemas.AccessRestrictionDto.model_validate(restriction)


@router.delete("/{customerId}/access-restrictions", operation_id="deleteAccessRestriction")
async def delete_access_restriction(
    session: SessionDep, principal: RestrictionWriter, customer_id: CustomerId
) -> Response:
    customer = await service.get_customer(session, scope_of(principal), customer_id)
    await service.delete_access_restriction(session, principal, customer)
    return Response(status_code=200)
