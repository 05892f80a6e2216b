from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Date,
    Enum,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from openbenefits.kit.db import Base, BigIntId

# Name search keys compare byte-wise, so that a prefix is a plain index range on both databases.
SearchKey = String(100).with_variant(String(100, collation="C"), "postgresql")


class CustomerStatus(StrEnum):
    MEMBER = "MEMBER"
    PROSPECT = "PROSPECT"
    FORMER_MEMBER = "FORMER_MEMBER"


class Gender(StrEnum):
    MALE = "MALE"
    FEMALE = "FEMALE"
    UNISEX = "UNISEX"


class AccessMediumType(StrEnum):
    CARD_NUMBER = "CARD_NUMBER"
    PIN = "PIN"
    BARCODE = "BARCODE"
    WALLET_PASS = "WALLET_PASS"


def _enum(kind: type[StrEnum]) -> Enum:
    """A string column holding ``kind``'s values, read back as ``kind``."""
    return Enum(kind, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e])


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
    status: Mapped[CustomerStatus] = mapped_column(_enum(CustomerStatus))
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    first_name_key: Mapped[str] = mapped_column(SearchKey)
    last_name_key: Mapped[str] = mapped_column(SearchKey)
    date_of_birth: Mapped[date | None] = mapped_column(Date)
    email: Mapped[str | None] = mapped_column(String(254))
    email_key: Mapped[str | None] = mapped_column(String(254))
    gender: Mapped[Gender | None] = mapped_column(_enum(Gender))
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
    type: Mapped[AccessMediumType] = mapped_column(_enum(AccessMediumType))
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
