"""Studio Open API: customer operations (seed 004), at the reference's paths."""

import re
from datetime import timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, BackgroundTasks, Depends, File, Path, Query, Response, UploadFile

from openbenefits.benefits import service as benefits
from openbenefits.benefits.models import UsageChannel
from openbenefits.customers import (
    access_codes,
    activities,
    additional_information,
    documents,
    schemas,
    service,
)
from openbenefits.customers.card_numbers import CardNumberFormat
from openbenefits.customers.models import Customer, CustomerStatus
from openbenefits.customers.service import StudioScope
from openbenefits.customers.views import (
    render_assignment,
    render_customer,
    render_document,
    render_field,
)
from openbenefits.kit.downloads import DownloadUrlsDep
from openbenefits.kit.pagination import slice_offset
from openbenefits.kit.periods import local_date
from openbenefits.kit.routing import (
    BlobsDep,
    ClockDep,
    SessionDep,
    SettingsDep,
    StudioRoute,
    WorkDep,
)
from openbenefits.kit.schemas import Day, ReferenceId, studio_error_responses
from openbenefits.tenancy import service as tenancy_service
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
MeasurementReader = Annotated[
    StudioPrincipal,
    Depends(studio_principal(Scope.CUSTOMER_MEASUREMENT_READ, Scope.CUSTOMER_READ, any_of=True)),
]
WeighingWriter = Annotated[
    StudioPrincipal,
    Depends(studio_principal(Scope.CUSTOMER_WRITE, Scope.CUSTOMER_WEIGHING_WRITE, any_of=True)),
]
CheckinReader = Annotated[StudioPrincipal, Depends(studio_principal(Scope.CHECKIN_READ))]
InformationReader = Annotated[
    StudioPrincipal, Depends(studio_principal(Scope.ADDITIONAL_INFORMATION_READ))
]
InformationWriter = Annotated[
    StudioPrincipal, Depends(studio_principal(Scope.ADDITIONAL_INFORMATION_WRITE))
]
DocumentReader = Annotated[StudioPrincipal, Depends(studio_principal(Scope.CUSTOMER_DOCUMENT_READ))]
DocumentWriter = Annotated[
    StudioPrincipal, Depends(studio_principal(Scope.CUSTOMER_DOCUMENT_WRITE))
]
CustomerId = Annotated[ReferenceId, Path(alias="customerId")]
MediumId = Annotated[ReferenceId, Path(alias="accessMediumId")]
CardFormat = Annotated[CardNumberFormat, Query(alias="cardNumberFormat")]


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
    last_offset_id: Annotated[
        ReferenceId | None, Query(alias="lastOffsetId", deprecated=True)
    ] = None,
    offset: str | None = None,
    slice_size: Annotated[int, Query(alias="sliceSize", ge=50, le=500)] = 100,
    customer_status: Annotated[
        Literal["MEMBER", "PROSPECT"], Query(alias="customerStatus")
    ] = "MEMBER",
) -> schemas.CustomerSlicedResult:
    """A slice of the calling studio's customers; pass the answer's ``offset`` to get the next."""
    after = slice_offset(offset) if offset else last_offset_id
    rows = await service.list_customers(
        session, StudioScope.of(principal), CustomerStatus(customer_status), after, slice_size
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
    customer = await service.find_customer_by(session, StudioScope.of(principal), identifier)
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
    customers = await service.search_customers(session, StudioScope.of(principal), body)
    return await _render(session, clock, urls, customers, body.card_number_format)


@router.post(
    "/create", operation_id="createCustomer", response_model=schemas.OpenApiV1CustomerCreateResult
)
async def create_customer(
    session: SessionDep, principal: Writer, body: schemas.MembershipSignupCustomer
) -> schemas.OpenApiV1CustomerCreateResult:
    """Create a prospect in the calling studio."""
    customer = await service.create_prospect(session, principal, StudioScope.of(principal), body)
    return schemas.OpenApiV1CustomerCreateResult(customer_id=customer.id)


@router.get(
    "/measurement/latest", operation_id="getCustomerMeasurement", response_model=schemas.Measurement
)
async def get_customer_measurement(
    session: SessionDep,
    clock: ClockDep,
    principal: MeasurementReader,
    card_number: Annotated[str | None, Query(alias="cardNumber", max_length=40)] = None,
    card_number_format: CardFormat = CardNumberFormat.DECIMAL,
    qr_code_uuid: Annotated[
        str | None, Query(alias="qrCodeUuid", deprecated=True, max_length=36)
    ] = None,
    barcode: Annotated[str | None, Query(max_length=200)] = None,
) -> schemas.Measurement:
    """What a measuring device needs to know of the customer: personal data and the height the
    latest weighing reported. ``id`` is the customer's id."""
    identifier = service.Identifier(
        card_number=card_number,
        card_number_format=card_number_format,
        qr_code_uuid=qr_code_uuid,
        barcode=barcode,
        accepted=("cardNumber", "qrCodeUuid", "barcode"),
    )
    customer = await service.find_customer_by(session, StudioScope.of(principal), identifier)
    today = await activities.studio_today(session, customer.studio_id, clock.now())
    return schemas.Measurement(
        id=customer.id,
        first_name=customer.first_name,
        last_name=customer.last_name,
        age=activities.age_on(customer.date_of_birth, today),
        date_of_birth=customer.date_of_birth,
        gender=customer.gender,
        height=await activities.latest_height(session, customer),
    )


# Before "/{customerId}": a literal path must match ahead of the parameter.
@router.get(
    "/additional-information-fields",
    operation_id="getAdditionalInformationFields",
    response_model=list[schemas.AdditionalInformationField],
)
async def get_additional_information_fields(
    session: SessionDep, principal: InformationReader
) -> list[schemas.AdditionalInformationField]:
    """The fields customers of this tenant can be given values for."""
    fields = await additional_information.all_fields(session, principal.tenant_id)
    return [render_field(field) for field in fields]


@router.get("/{customerId}", operation_id="getCustomerById", response_model=schemas.Customer)
async def get_customer_by_id(
    session: SessionDep,
    clock: ClockDep,
    urls: DownloadUrlsDep,
    principal: Reader,
    customer_id: CustomerId,
    card_number_format: CardFormat = CardNumberFormat.DECIMAL,
) -> schemas.Customer:
    customer = await service.get_customer(session, StudioScope.of(principal), customer_id)
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
    customer = await service.get_customer(session, StudioScope.of(principal), customer_id)
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
    customer = await service.get_customer(session, StudioScope.of(principal), customer_id)
    document = await documents.upload_document(
        session,
        principal,
        blobs,
        customer,
        file=file.file,
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
    document_id: Annotated[ReferenceId, Path(alias="id")],
) -> schemas.CustomerDocument:
    customer = await service.get_customer(session, StudioScope.of(principal), customer_id)
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
    customer = await service.get_customer(session, StudioScope.of(principal), customer_id)
    key, replaced = await documents.set_image(
        session,
        principal,
        blobs,
        customer,
        image=image.file,
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
    customer = await service.get_customer(session, StudioScope.of(principal), customer_id)
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
    customer = await service.get_customer(session, StudioScope.of(principal), customer_id)
    medium = await service.update_access_medium(session, principal, customer, medium_id, body.value)
    return schemas.AccessMediumDto.model_validate(medium)


@router.delete(
    "/{customerId}/access-mediums/{accessMediumId}",
    operation_id="deleteAccessMediums",
    response_class=Response,
)
async def delete_access_mediums(
    session: SessionDep, principal: MediumWriter, customer_id: CustomerId, medium_id: MediumId
) -> Response:
    customer = await service.get_customer(session, StudioScope.of(principal), customer_id)
    await service.delete_access_medium(session, principal, customer, medium_id)
    return Response(status_code=200)


@router.put(
    "/{customerId}/additional-information-field-assignments",
    operation_id="setAdditionalInformationFieldAssignments",
    response_model=list[schemas.AdditionalInformationFieldAssignment],
)
async def set_additional_information_field_assignments(
    session: SessionDep,
    principal: InformationWriter,
    customer_id: CustomerId,
    body: list[schemas.AdditionalInformationFieldAssignmentIn],
) -> list[schemas.AdditionalInformationFieldAssignment]:
    """Replace all of the customer's values: a field left out loses its value."""
    customer = await service.get_customer(session, StudioScope.of(principal), customer_id)
    values = await additional_information.checked_values(session, customer.tenant_id, body)
    rows = await additional_information.replace_assignments(session, principal, customer, values)
    return [render_assignment(row) for row in rows]


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
    customer = await service.get_customer(session, StudioScope.of(principal), customer_id)
    restriction = await service.set_access_restriction(session, principal, customer, body)
    return schemas.AccessRestrictionDto.model_validate(restriction)


@router.delete(
    "/{customerId}/access-restrictions",
    operation_id="deleteAccessRestriction",
    response_class=Response,
)
async def delete_access_restriction(
    session: SessionDep, principal: RestrictionWriter, customer_id: CustomerId
) -> Response:
    customer = await service.get_customer(session, StudioScope.of(principal), customer_id)
    await service.delete_access_restriction(session, principal, customer)
    return Response(status_code=200)


@router.get(
    "/{customerId}/activities/checkins",
    operation_id="getCustomersCheckinHistory",
    response_model=schemas.CustomerCheckinSlicedResult,
)
async def get_customers_checkin_history(
    session: SessionDep,
    clock: ClockDep,
    principal: CheckinReader,
    customer_id: CustomerId,
    from_date: Annotated[Day | None, Query(alias="fromDate")] = None,
    to_date: Annotated[Day | None, Query(alias="toDate")] = None,
    slice_size: Annotated[int, Query(alias="sliceSize", ge=1, le=50)] = 10,
    offset: str = "0",
) -> schemas.CustomerCheckinSlicedResult:
    """Check-ins between two days (at most 365 days apart; by default the last month), in the
    order they were recorded, in slices."""
    after = slice_offset(offset)
    customer = await service.get_customer(session, StudioScope.of(principal), customer_id)
    zone = await tenancy_service.studio_zone(session, customer.studio_id)
    start, end = activities.history_range(from_date, to_date, local_date(clock.now(), zone))
    rows = await activities.check_in_history(session, customer, zone, start, end, after, slice_size)
    visible = rows[:slice_size]
    return schemas.CustomerCheckinSlicedResult(
        result=[
            schemas.CustomerCheckin(
                checkin_id=visit.id,
                check_in_date_time=visit.checked_in_at,
                check_out_date_time=visit.checked_out_at,
                studio_id=visit.studio_id,
                studio_name=studio_name,
            )
            for visit, studio_name in visible
        ],
        has_next=len(rows) > slice_size,
        offset=str(visible[-1][0].id) if visible else offset,
    )


@router.post(
    "/{customerId}/weighing",
    operation_id="createCustomerWeighing",
    response_model=schemas.CustomerWeighings,
)
async def create_customer_weighing(
    work: WorkDep,
    clock: ClockDep,
    principal: WeighingWriter,
    customer_id: CustomerId,
    body: schemas.CustomerWeighings,
    benefit_key: Annotated[str | None, Query(alias="benefitKey", max_length=100)] = None,
) -> schemas.CustomerWeighings:
    """Store a weighing. With ``benefitKey`` it also consumes one use of that benefit, in the
    same transaction: if the use is refused, nothing is stored."""
    session = await work.session()
    customer = await service.get_customer(session, StudioScope.of(principal), customer_id)
    if benefit_key is not None:
        await benefits.use(
            work, principal, customer.id, benefit_key, clock.now(), channel=UsageChannel.WEIGHING
        )
    weighing = await activities.record_weighing(
        session, principal, customer, principal.studio_id, body, clock.now()
    )
    return body.model_copy(update={"database_id": weighing.id})


@router.get(
    "/{customerId}/access-code",
    operation_id="getCustomerAccessCode",
    response_model=schemas.CustomerAccessCode,
)
async def get_customer_access_code(
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    principal: Reader,
    customer_id: CustomerId,
) -> schemas.CustomerAccessCode:
    """QR-code content that a door reader can verify; it expires after a few minutes."""
    customer = await service.get_customer(session, StudioScope.of(principal), customer_id)
    code = access_codes.issue(
        settings.signing_key,
        customer.id,
        customer.tenant_id,
        clock.now(),
        timedelta(seconds=settings.access_code_ttl_seconds),
    )
    return schemas.CustomerAccessCode(
        format="QR_CODE", expires_at=code.expires_at, content=code.content
    )


@router.post("/{customerId}/switch-studio", operation_id="switchStudio", response_class=Response)
async def switch_studio(
    session: SessionDep,
    clock: ClockDep,
    principal: Writer,
    customer_id: CustomerId,
    body: schemas.OpenApiV1CustomerStudioSwitchRequestDto,
) -> Response:
    """Move the customer to another studio of the organisation. Only a key of the customer's
    current studio may do this (others do not see the customer)."""
    customer = await service.get_customer(session, StudioScope.of(principal), customer_id)
    today = await activities.studio_today(session, customer.studio_id, clock.now())
    await service.switch_studio(session, principal, customer, body, today)
    return Response(status_code=200)
