"""Wire shapes of the studio Open API's customer operations, field for field as the reference
names them. Request bodies mirror the reference's optionality; rules the reference states in
prose (both dates or neither, one identifier, ...) are checked by the service, each with its
own errorCode."""

from datetime import date, datetime
from typing import Annotated, Any, Literal

from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, Field, StringConstraints
from pydantic_core import PydanticCustomError

from openbenefits.customers.card_numbers import CardNumberFormat
from openbenefits.customers.models import (
    AccessMediumType,
    AdditionalInformationFieldType,
    CustomerStatus,
    Gender,
)
from openbenefits.kit.schemas import (
    Id,
    PatchModel,
    ReferenceId,
    RequestModel,
    ResponseModel,
    StudioRequestModel,
)

Text = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$"
    ),
]
ShortText = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=50, pattern=r"^[^\x00-\x1f\x7f]*$")
]


def _country(value: str) -> str:
    if len(value) != 2 or not value.isascii() or not value.isalpha():
        raise PydanticCustomError("INVALID_COUNTRY_CODE", "must be an ISO 3166-1 alpha-2 code")
    return value.upper()


def _language(value: str) -> str:
    if len(value) != 2 or not value.isascii() or not value.isalpha():
        raise PydanticCustomError("INVALID_LANGUAGE_CODE", "must be an ISO 639-1 code")
    return value.lower()


def _birth_date(value: date) -> date:
    # The reference states no bounds; a birth date in the future or over 150 years ago is a typo.
    today = date.today()
    if value > today or value.year < today.year - 150:
        raise PydanticCustomError("INVALID_DATE_OF_BIRTH", "must be a plausible past date")
    return value


def _email(value: str) -> str:
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as error:
        raise PydanticCustomError("INVALID_EMAIL", "must be a valid e-mail address") from error


CountryCode = Annotated[str, AfterValidator(_country)]
LanguageCode = Annotated[str, AfterValidator(_language)]
BirthDate = Annotated[date, AfterValidator(_birth_date)]
Email = Annotated[str, StringConstraints(max_length=254), AfterValidator(_email)]


class Language(ResponseModel):
    language_code: LanguageCode
    country_code: CountryCode | None = None


class LanguageIn(StudioRequestModel):
    language_code: LanguageCode
    country_code: CountryCode | None = None


class AccessMediumDto(ResponseModel):
    id: int | None = None
    type: AccessMediumType | None = None
    value: str | None = None


class AccessMediumIn(StudioRequestModel):
    id: ReferenceId | None = Field(default=None, description="Ignored: the server assigns ids.")
    type: AccessMediumType | None = None
    value: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = None


class UpdateAccessIdentificationRequest(StudioRequestModel):
    value: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = None


class AccessRestrictionDto(ResponseModel):
    reason: str
    start_date: date | None = None
    end_date: date | None = None


class AccessRestrictionIn(StudioRequestModel):
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
    start_date: date | None = None
    end_date: date | None = None


class SimpleContract(ResponseModel):
    id: int
    rate_name: str


class CustomerIdlePeriod(ResponseModel):
    id: int
    start_date: date
    end_date: date
    reason: str | None = None
    contract: SimpleContract | None = None


class BankAccount(ResponseModel):
    account_holder: str | None = None
    bank_name: str | None = None
    bic: str | None = None
    iban: str | None = None


class AdditionalInformationFieldAssignment(ResponseModel):
    additional_information_field_id: int
    value: str


class AdditionalInformationListItem(ResponseModel):
    id: int
    name: str


class AdditionalInformationField(ResponseModel):
    id: int
    name: str
    type: AdditionalInformationFieldType
    abbreviation: str | None = None
    list_items: list[AdditionalInformationListItem] | None = Field(
        default=None, description="The options of a LIST field; absent for the other types."
    )


class Customer(ResponseModel):
    id: int
    customer_number: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    date_of_birth: date | None = None
    email: str | None = None
    gender: Gender | None = None
    street: str | None = None
    house_number: str | None = None
    zip_code: str | None = None
    city: str | None = None
    country: str | None = None
    status: CustomerStatus
    card_numbers: list[str] | None = Field(default=None, deprecated=True)
    image_url: str | None = None
    phone_private: str | None = None
    phone_private_mobile: str | None = None
    phone_business: str | None = None
    phone_business_mobile: str | None = None
    idle_periods: list[CustomerIdlePeriod] | None = None
    bank_account: BankAccount | None = None
    access_refusal: bool
    access_restrictions: list[AccessRestrictionDto] | None = None
    uuid: str | None = None
    referral_code: str | None = None
    studio_id: int | None = None
    preferred_language: Language | None = None
    additional_information_field_assignments: list[AdditionalInformationFieldAssignment] | None = (
        None
    )
    third_party_id: str | None = None
    access_mediums: list[AccessMediumDto] | None = None


class CustomerSlicedResult(ResponseModel):
    result: list[Customer]
    has_next: bool
    offset: str


class CustomerDocument(ResponseModel):
    url: str | None = Field(default=None, description="Signed download URL, valid 15 minutes.")
    id: int | None = None
    file_name: str | None = None
    description: str | None = None


class CustomerDocuments(ResponseModel):
    result: list[CustomerDocument]
    has_next: bool
    offset: str


class CustomerDocumentUploadResult(ResponseModel):
    id: int | None = None


class CustomerImage(ResponseModel):
    image_url: str | None = Field(default=None, description="Signed URL, valid 15 minutes.")


class CustomerSearchRequest(StudioRequestModel):
    first_name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] | None = (
        None
    )
    last_name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] | None = (
        None
    )
    email: Annotated[str, StringConstraints(strip_whitespace=True, max_length=254)] | None = None
    date_of_birth: date | None = None
    card_number_format: CardNumberFormat = CardNumberFormat.DECIMAL


class CommunicationChannelWrapper(StudioRequestModel):
    communication_channel: Literal[
        "LETTER", "EMAIL", "TEXT_MESSAGE", "PHONE", "FAX", "CONVERSATION", "CHAT", "OTHER"
    ]
    customer_overridable: bool | None = None
    active: bool | None = None


class CommunicationPreference(StudioRequestModel):
    message_category: (
        Literal["CONTRACT", "GENERAL", "APPOINTMENT", "NEWSLETTER", "LOYALTY_PROGRAM"] | None
    ) = None
    channels: list[CommunicationChannelWrapper] | None = None


class DocumentIdentification(StudioRequestModel):
    document_number: Text
    document_type: Literal[
        "ID_CARD", "PASSPORT", "DRIVERS_LICENCE", "RESIDENCE_PERMIT", "NATIONAL_ID_NUMBER", "OTHERS"
    ]


class AdditionalInformationFieldAssignmentIn(StudioRequestModel):
    additional_information_field_id: ReferenceId
    value: str = Field(
        description="BOOLEAN: true or false; DATE: yyyy-mm-dd; NUMERIC: an integer; TEXT: "
        "printable text; LIST: the id of one of the field's list items."
    )


# Sign-up fields that the Customer shape has no place for; kept as signup_details.
SIGNUP_DETAILS = (
    "second_first_name",
    "second_last_name",
    "second_street",
    "city_part",
    "district",
    "street_type",
    "street_block",
    "portal",
    "stairway",
    "door",
    "province",
    "additional_address_information",
    "floor",
    "building_name",
    "communication_preferences",
    "document_identification",
)


class MembershipSignupCustomer(StudioRequestModel):
    """``POST /v1/customers/create``: a prospect, with what a later membership sign-up needs."""

    third_party_id: ShortText | None = None
    first_name: Text
    second_first_name: Text | None = None
    last_name: Text
    second_last_name: Text | None = None
    date_of_birth: BirthDate
    email: Email
    gender: Gender | None = None
    phone_number_private: ShortText | None = None
    phone_number_mobile: ShortText | None = None
    street: Text
    second_street: Text | None = None
    city_part: Text | None = None
    district: Text | None = None
    street_type: Text | None = None
    street_block: Text | None = None
    portal: Text | None = None
    stairway: Text | None = None
    door: Text | None = None
    province: Text | None = None
    additional_address_information: Text | None = None
    floor: Text | None = None
    language: LanguageIn
    house_number: ShortText | None = None
    building_name: Text | None = None
    city: Text
    zip_code: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)]
    country_code: CountryCode
    communication_preferences: list[CommunicationPreference] | None = None
    document_identification: DocumentIdentification | None = None
    payment_request_token: Annotated[str, StringConstraints(max_length=500)] | None = None
    additional_information_field_assignments: (
        list[AdditionalInformationFieldAssignmentIn] | None
    ) = None

    def signup_details(self) -> dict[str, Any]:
        return self.model_dump(
            mode="json", by_alias=True, include=set(SIGNUP_DETAILS), exclude_none=True
        )


class OpenApiV1CustomerCreateResult(ResponseModel):
    customer_id: int


class CustomerAdminCreate(RequestModel):
    """An operator's customer record: any status, in any studio of the tenant."""

    studio_id: Id
    status: CustomerStatus = CustomerStatus.MEMBER
    customer_number: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)] | None
    ) = None
    first_name: Text
    last_name: Text
    date_of_birth: BirthDate | None = None
    email: Email | None = None
    gender: Gender | None = None
    street: Text | None = None
    house_number: ShortText | None = None
    zip_code: ShortText | None = None
    city: Text | None = None
    country: CountryCode | None = None
    phone_private: ShortText | None = None
    phone_private_mobile: ShortText | None = None
    phone_business: ShortText | None = None
    phone_business_mobile: ShortText | None = None
    language: LanguageIn | None = None
    third_party_id: ShortText | None = None
    referral_code: ShortText | None = None
    debtor_id: ShortText | None = None
    account_holder: Text | None = None
    bank_name: Text | None = None
    bic: Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{8}([A-Z0-9]{3})?$")] | None = None
    iban: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$")] | None = (
        None
    )


class IdlePeriodCreate(RequestModel):
    start_date: date
    end_date: date
    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] | None = None


# Check-ins


class CustomerCheckin(ResponseModel):
    checkin_id: int
    check_in_date_time: datetime | None = None
    check_out_date_time: datetime | None = None
    studio_id: int | None = None
    studio_name: str | None = None


class CustomerCheckinSlicedResult(ResponseModel):
    result: list[CustomerCheckin]
    has_next: bool
    offset: str


class CheckInCreate(RequestModel):
    """A door system letting a customer in (admin API)."""

    customer_id: Id
    studio_id: Id
    at: datetime | None = Field(default=None, description="Defaults to now.")


class CheckOut(RequestModel):
    at: datetime | None = Field(default=None, description="Defaults to now.")


class CheckInOut(ResponseModel):
    id: int
    customer_id: int
    studio_id: int
    checked_in_at: datetime
    checked_out_at: datetime | None = None


# Measurements

NonNegative = Annotated[float, Field(ge=0, le=100_000)]
Percent = Annotated[float, Field(ge=0, le=100)]


class CustomerWeighings(StudioRequestModel):
    """The reference's weighing result, taken and answered. Masses in kg, lengths in cm, shares
    in percent. Only the impossible is refused (a negative value, a share over 100): a scale
    sends 0 for what it did not measure, and that is kept as sent (the latest height a
    measurement reports skips it)."""

    database_id: ReferenceId | None = None
    basal_metabolic_rate: NonNegative | None = None
    body_fat_mass: NonNegative | None = None
    body_mass_index: Annotated[float, Field(ge=0, le=200)] | None = None
    fat_free_mass: NonNegative | None = None
    percent_body_fat: Percent | None = None
    percent_skeletal_muscle_mass: Percent | None = None
    skeletal_muscle_mass: NonNegative | None = None
    total_body_water: NonNegative | None = None
    visceral_fat_level: Annotated[int, Field(ge=0, le=9)] | None = None
    weight: Annotated[float, Field(ge=0, le=1000)] | None = None
    height: Annotated[float, Field(ge=0, le=300)] | None = None
    bfm_left_arm: NonNegative | None = None
    bfm_left_leg: NonNegative | None = None
    bfm_percent_left_arm: Percent | None = None
    bfm_percent_left_leg: Percent | None = None
    bfm_percent_right_arm: Percent | None = None
    bfm_percent_right_leg: Percent | None = None
    bfm_percent_trunk: Percent | None = None
    bfm_right_arm: NonNegative | None = None
    bfm_right_leg: NonNegative | None = None
    bfm_trunk: NonNegative | None = None
    ffm_left_arm: NonNegative | None = None
    ffm_left_leg: NonNegative | None = None
    ffm_percent_left_arm: Percent | None = None
    ffm_percent_left_leg: Percent | None = None
    ffm_percent_right_arm: Percent | None = None
    ffm_percent_right_leg: Percent | None = None
    ffm_percent_trunk: Percent | None = None
    ffm_right_arm: NonNegative | None = None
    ffm_right_leg: NonNegative | None = None
    ffm_trunk: NonNegative | None = None
    raw_results: Annotated[str, StringConstraints(max_length=100_000)]

    def measured_values(self) -> dict[str, float]:
        return self.model_dump(
            mode="json", by_alias=True, exclude_none=True, exclude={"database_id", "raw_results"}
        )


class Measurement(ResponseModel):
    id: int
    first_name: str | None = None
    last_name: str | None = None
    age: int | None = None
    date_of_birth: date | None = None
    gender: Gender | None = None
    height: float | None = None


# Access code and studio switch


class CustomerAccessCode(ResponseModel):
    format: Literal["QR_CODE"]
    expires_at: datetime | None = None
    content: str


class AccessCodeCheck(RequestModel):
    content: Annotated[str, StringConstraints(min_length=1, max_length=2000)]


class AccessCodeVerdict(ResponseModel):
    valid: bool
    customer_id: int | None = None
    access_refusal: bool | None = None
    expires_at: datetime | None = None
    reason: str | None = None


class OpenApiV1CustomerStudioSwitchRequestDto(StudioRequestModel):
    target_studio_id: ReferenceId
    switch_date: date
    description: Annotated[str, StringConstraints(max_length=1000)] | None = None


Abbreviation = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=20, pattern=r"^[^\x00-\x1f\x7f]*$")
]
# More options than a person can choose from is a mistake, not a list.
LIST_ITEMS_MAX = 500


class ListItemCreate(RequestModel):
    name: Text


class ListItemUpdate(RequestModel):
    id: Id | None = Field(default=None, description="An existing item's id; absent for a new item.")
    name: Text


class AdditionalInformationFieldCreate(RequestModel):
    name: Text
    type: AdditionalInformationFieldType
    abbreviation: Abbreviation | None = None
    list_items: list[ListItemCreate] | None = Field(
        default=None, max_length=LIST_ITEMS_MAX, description="Required for LIST, refused otherwise."
    )


class AdditionalInformationFieldUpdate(PatchModel):
    """The type cannot change: the values customers hold were checked against it."""

    name: Text | None = None
    abbreviation: Abbreviation | None = Field(
        default=None, description="An empty string clears it."
    )
    list_items: list[ListItemUpdate] | None = Field(
        default=None,
        max_length=LIST_ITEMS_MAX,
        description="The field's items, in order: items with an id are kept (and renamed), items "
        "without one are added, and omitted items are removed with the values that chose them.",
    )
