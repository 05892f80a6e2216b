"""A customer as the studio Open API shows it: the loaded parts and their rendering; and the
additional-information fields a customer's assignments refer to."""

from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from openbenefits.customers import schemas
from openbenefits.customers.card_numbers import CardNumberFormat, from_decimal
from openbenefits.customers.models import (
    AccessMedium,
    AccessMediumType,
    AccessRestriction,
    AdditionalInformationField,
    AdditionalInformationFieldAssignment,
    AdditionalInformationFieldType,
    Customer,
    CustomerDocument,
    IdlePeriod,
)
from openbenefits.kit.downloads import DownloadUrls
from openbenefits.kit.periods import local_date


@dataclass(frozen=True)
class CustomerView:
    """A customer with everything its wire shape shows, loaded in a fixed number of queries."""

    customer: Customer
    access_mediums: list[AccessMedium]
    restriction: AccessRestriction | None
    idle_periods: list[IdlePeriod]
    assignments: list[AdditionalInformationFieldAssignment]
    zone: ZoneInfo


class RestrictionDates(Protocol):
    """An access restriction's dates: without both it is in force until deleted."""

    @property
    def start_date(self) -> date | None: ...

    @property
    def end_date(self) -> date | None: ...


def restriction_in_force(restriction: RestrictionDates | None, today: date) -> bool:
    if restriction is None:
        return False
    if restriction.start_date is None or restriction.end_date is None:
        return True
    return restriction.start_date <= today <= restriction.end_date


def render_customer(
    view: CustomerView, card_format: CardNumberFormat, now: datetime, urls: DownloadUrls
) -> schemas.Customer:
    """The reference's Customer for ``view``; card numbers shown in ``card_format``."""
    customer = view.customer
    today = local_date(now, view.zone)
    mediums = [
        schemas.AccessMediumDto(
            id=m.id,
            type=m.type,
            value=from_decimal(m.value, card_format)
            if m.type is AccessMediumType.CARD_NUMBER
            else m.value,
        )
        for m in view.access_mediums
    ]
    restriction = view.restriction
    bank = schemas.BankAccount(
        account_holder=customer.account_holder,
        bank_name=customer.bank_name,
        bic=customer.bic,
        iban=customer.iban,
    )
    return schemas.Customer(
        id=customer.id,
        customer_number=customer.customer_number,
        first_name=customer.first_name,
        last_name=customer.last_name,
        date_of_birth=customer.date_of_birth,
        email=customer.email,
        gender=customer.gender,
        street=customer.street,
        house_number=customer.house_number,
        zip_code=customer.zip_code,
        city=customer.city,
        country=customer.country,
        status=customer.status,
        card_numbers=[
            m.value for m in mediums if m.type is AccessMediumType.CARD_NUMBER and m.value
        ],
        image_url=urls.url(customer.image_key) if customer.image_key else None,
        phone_private=customer.phone_private,
        phone_private_mobile=customer.phone_private_mobile,
        phone_business=customer.phone_business,
        phone_business_mobile=customer.phone_business_mobile,
        idle_periods=[schemas.CustomerIdlePeriod.model_validate(p) for p in view.idle_periods],
        bank_account=bank if bank.model_dump(exclude_none=True) else None,
        access_refusal=restriction_in_force(restriction, today),
        access_restrictions=[schemas.AccessRestrictionDto.model_validate(restriction)]
        if restriction
        else [],
        uuid=customer.uuid,
        referral_code=customer.referral_code,
        studio_id=customer.studio_id,
        preferred_language=schemas.Language(
            language_code=customer.language_code, country_code=customer.language_country_code
        )
        if customer.language_code
        else None,
        additional_information_field_assignments=[render_assignment(a) for a in view.assignments],
        third_party_id=customer.third_party_id,
        access_mediums=mediums,
    )


def render_assignment(
    assignment: AdditionalInformationFieldAssignment,
) -> schemas.AdditionalInformationFieldAssignment:
    return schemas.AdditionalInformationFieldAssignment(
        additional_information_field_id=assignment.field_id, value=assignment.value
    )


def render_field(field: AdditionalInformationField) -> schemas.AdditionalInformationField:
    """The reference's AdditionalInformationField; only a LIST field shows list items."""
    return schemas.AdditionalInformationField(
        id=field.id,
        name=field.name,
        type=field.type,
        abbreviation=field.abbreviation,
        list_items=[
            schemas.AdditionalInformationListItem.model_validate(i) for i in field.list_items
        ]
        if field.type is AdditionalInformationFieldType.LIST
        else None,
    )


def render_document(document: CustomerDocument, urls: DownloadUrls) -> schemas.CustomerDocument:
    return schemas.CustomerDocument(
        url=urls.url(document.blob_key),
        id=document.id,
        file_name=document.file_name,
        description=document.description,
    )
