from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from openbenefits.kit.db import Base, BigIntId, string_enum

# Name search keys compare byte-wise, so that a prefix is a plain index range on both databases.
SearchKey = String(100).with_variant(String(100, collation="C"), "postgresql")
# The longest additional-information value (a TEXT field's; the other types are short).
ASSIGNMENT_VALUE_LENGTH = 1000


class CustomerStatus(StrEnum):
    MEMBER = "MEMBER"
    PROSPECT = "PROSPECT"
    FORMER_MEMBER = "FORMER_MEMBER"


class Gender(StrEnum):
    MALE = "MALE"
    FEMALE = "FEMALE"
    UNISEX = "UNISEX"


class AdditionalInformationFieldType(StrEnum):
    BOOLEAN = "BOOLEAN"
    DATE = "DATE"
    LIST = "LIST"
    NUMERIC = "NUMERIC"
    TEXT = "TEXT"


class AccessMediumType(StrEnum):
    CARD_NUMBER = "CARD_NUMBER"
    PIN = "PIN"
    BARCODE = "BARCODE"
    WALLET_PASS = "WALLET_PASS"


class Customer(Base):
    """A person known to a tenant, with a home studio."""

    __tablename__ = "customers"
    __table_args__ = (
        UniqueConstraint("tenant_id", "customer_number"),
        UniqueConstraint("uuid"),
        # Slices of a studio's customers by status, in id order (keyset pagination).
        Index("ix_customers_studio_status_id", "studio_id", "status", "id"),
        Index("ix_customers_tenant_last_name_key", "tenant_id", "last_name_key"),
        Index("ix_customers_tenant_first_name_key", "tenant_id", "first_name_key"),
        Index("ix_customers_tenant_email_key", "tenant_id", "email_key"),
        Index("ix_customers_tenant_date_of_birth", "tenant_id", "date_of_birth"),
        Index("ix_customers_tenant_debtor_id", "tenant_id", "debtor_id"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    studio_id: Mapped[int] = mapped_column(ForeignKey("studios.id"))
    customer_number: Mapped[str] = mapped_column(String(50))
    uuid: Mapped[str] = mapped_column(String(36))
    status: Mapped[CustomerStatus] = mapped_column(string_enum(CustomerStatus))
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    first_name_key: Mapped[str] = mapped_column(SearchKey)
    last_name_key: Mapped[str] = mapped_column(SearchKey)
    date_of_birth: Mapped[date | None] = mapped_column(Date)
    email: Mapped[str | None] = mapped_column(String(254))
    email_key: Mapped[str | None] = mapped_column(String(254))
    gender: Mapped[Gender | None] = mapped_column(string_enum(Gender))
    street: Mapped[str | None] = mapped_column(String(200))
    house_number: Mapped[str | None] = mapped_column(String(20))
    zip_code: Mapped[str | None] = mapped_column(String(20))
    city: Mapped[str | None] = mapped_column(String(100))
    country: Mapped[str | None] = mapped_column(String(2))
    phone_private: Mapped[str | None] = mapped_column(String(50))
    phone_private_mobile: Mapped[str | None] = mapped_column(String(50))
    phone_business: Mapped[str | None] = mapped_column(String(50))
    phone_business_mobile: Mapped[str | None] = mapped_column(String(50))
    language_code: Mapped[str | None] = mapped_column(String(2))
    language_country_code: Mapped[str | None] = mapped_column(String(2))
    third_party_id: Mapped[str | None] = mapped_column(String(100))
    referral_code: Mapped[str | None] = mapped_column(String(50))
    debtor_id: Mapped[str | None] = mapped_column(String(50))
    account_holder: Mapped[str | None] = mapped_column(String(200))
    bank_name: Mapped[str | None] = mapped_column(String(200))
    bic: Mapped[str | None] = mapped_column(String(11))
    iban: Mapped[str | None] = mapped_column(String(34))
    # What a sign-up sent beyond the Customer shape (address details, identification document,
    # communication preferences), kept for the operator.
    signup_details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # The blob holding the profile image (a JPEG we encoded), if there is one.
    image_key: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(server_default=func.current_timestamp())


class AccessMedium(Base):
    """A card number, PIN, barcode or wallet pass that identifies a customer at the door.

    Card numbers are stored in decimal; the hexadecimal formats are views of the same number.
    """

    __tablename__ = "access_mediums"
    __table_args__ = (UniqueConstraint("tenant_id", "type", "value"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    type: Mapped[AccessMediumType] = mapped_column(string_enum(AccessMediumType))
    value: Mapped[str] = mapped_column(String(200))


class AccessRestriction(Base):
    """At most one per customer. Without dates it is in force until deleted."""

    __tablename__ = "access_restrictions"

    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    reason: Mapped[str] = mapped_column(String(500))
    start_date: Mapped[date | None] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)


class CustomerDocument(Base):
    """A file uploaded for a customer (a signed contract, an ID scan); its bytes are a blob."""

    __tablename__ = "customer_documents"
    __table_args__ = (
        UniqueConstraint("blob_key"),
        # A customer's documents in id order (keyset slices).
        Index("ix_customer_documents_customer_id_id", "customer_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    file_name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(String(500))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    blob_key: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(server_default=func.current_timestamp())


class IdlePeriod(Base):
    """A period in which a customer's membership rests (set by the operator)."""

    __tablename__ = "idle_periods"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    reason: Mapped[str | None] = mapped_column(String(500))


class CheckIn(Base):
    """A visit: recorded by the door system when it lets the customer in."""

    __tablename__ = "check_ins"
    __table_args__ = (Index("ix_check_ins_customer_id_id", "customer_id", "id"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    studio_id: Mapped[int] = mapped_column(ForeignKey("studios.id"))
    checked_in_at: Mapped[datetime]
    checked_out_at: Mapped[datetime | None]


class StudioSwitch(Base):
    """Where a customer was: one row each time the home studio changes."""

    __tablename__ = "studio_switches"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    from_studio_id: Mapped[int] = mapped_column(ForeignKey("studios.id"))
    to_studio_id: Mapped[int] = mapped_column(ForeignKey("studios.id"))
    switch_date: Mapped[date] = mapped_column(Date)
    description: Mapped[str | None] = mapped_column(String(1000))
    recorded_at: Mapped[datetime] = mapped_column(server_default=func.current_timestamp())


class Weighing(Base):
    """A body-composition measurement sent by a measuring partner."""

    __tablename__ = "weighings"
    __table_args__ = (Index("ix_weighings_customer_id_id", "customer_id", "id"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    studio_id: Mapped[int] = mapped_column(ForeignKey("studios.id"))
    measured_at: Mapped[datetime]
    # The measured values by their wire names (weight, bodyMassIndex, ...).
    results: Mapped[dict[str, Any]] = mapped_column(JSON)
    height: Mapped[float | None]
    raw_results: Mapped[str] = mapped_column(Text)


class AdditionalInformationField(Base):
    """An operator-defined question about customers (e.g. "Membership type"), shared by all of a
    tenant's studios. Its type is fixed: stored values were checked against it."""

    __tablename__ = "additional_info_fields"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    name: Mapped[str] = mapped_column(String(200))
    abbreviation: Mapped[str | None] = mapped_column(String(20))
    type: Mapped[AdditionalInformationFieldType] = mapped_column(
        string_enum(AdditionalInformationFieldType)
    )
    list_items: Mapped[list["AdditionalInformationListItem"]] = relationship(
        order_by="AdditionalInformationListItem.position",
        cascade="all, delete-orphan",
        lazy="raise",
    )


class AdditionalInformationListItem(Base):
    """One option of a LIST field; a customer's value for the field is an item's id."""

    __tablename__ = "additional_info_list_items"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    field_id: Mapped[int] = mapped_column(ForeignKey("additional_info_fields.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer)


class AdditionalInformationFieldAssignment(Base):
    """A customer's value for one field, in the canonical text form of the field's type."""

    __tablename__ = "additional_info_assignments"

    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    field_id: Mapped[int] = mapped_column(
        ForeignKey("additional_info_fields.id"), primary_key=True, index=True
    )
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    value: Mapped[str] = mapped_column(String(ASSIGNMENT_VALUE_LENGTH))
