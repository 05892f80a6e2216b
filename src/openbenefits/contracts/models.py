from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, Numeric, String, func
from sqlalchemy.orm import Mapped, mapped_column

from openbenefits.contracts.terms import Period, TermUnit
from openbenefits.kit.db import Base, BigIntId, string_enum

Money = Numeric(12, 2)


class PaymentFrequencyType(StrEnum):
    FREE = "FREE"
    NON_RECURRING = "NON_RECURRING"
    RECURRING = "RECURRING"
    MONTH_DAY = "MONTH_DAY"
    TERM_BASED = "TERM_BASED"


class Rate(Base):
    """A membership tariff: what a main contract's terms and prices are made from."""

    __tablename__ = "rates"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    term_value: Mapped[int]
    term_unit: Mapped[TermUnit] = mapped_column(string_enum(TermUnit))
    extension_term_value: Mapped[int]
    extension_term_unit: Mapped[TermUnit] = mapped_column(string_enum(TermUnit))
    cancellation_period_value: Mapped[int]
    cancellation_period_unit: Mapped[TermUnit] = mapped_column(string_enum(TermUnit))
    created_at: Mapped[datetime] = mapped_column(server_default=func.current_timestamp())

    @property
    def term(self) -> Period:
        return Period(self.term_value, self.term_unit)

    @property
    def extension_term(self) -> Period:
        return Period(self.extension_term_value, self.extension_term_unit)

    @property
    def cancellation_period(self) -> Period:
        return Period(self.cancellation_period_value, self.cancellation_period_unit)


class PaymentFrequencyColumns:
    """How something is paid: a type, a price, for recurring payments the interval, and for
    TERM_BASED / MONTH_DAY payments a price table. Shared by rates and modules."""

    type: Mapped[PaymentFrequencyType] = mapped_column(string_enum(PaymentFrequencyType))
    term_value: Mapped[int | None]
    term_unit: Mapped[TermUnit | None] = mapped_column(string_enum(TermUnit))
    price: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3))
    # TERM_BASED: [{"termValue", "termUnit", "price"}]; MONTH_DAY: [{"month", "day", "price"}].
    price_table: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)


class RatePaymentFrequency(PaymentFrequencyColumns, Base):
    __tablename__ = "rate_payment_frequencies"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    rate_id: Mapped[int] = mapped_column(ForeignKey("rates.id"), index=True)


class MainContract(Base):
    """A customer's membership under a rate. Terms are copied from the rate at signing, so
    later changes to the rate do not rewrite signed contracts."""

    __tablename__ = "main_contracts"
    __table_args__ = (Index("ix_main_contracts_customer_id", "customer_id", "id"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    studio_id: Mapped[int] = mapped_column(ForeignKey("studios.id"))
    rate_id: Mapped[int] = mapped_column(ForeignKey("rates.id"))
    rate_name: Mapped[str] = mapped_column(String(200))
    payment_frequency_id: Mapped[int] = mapped_column(ForeignKey("rate_payment_frequencies.id"))
    created_date: Mapped[date] = mapped_column(Date)
    start_date: Mapped[date] = mapped_column(Date)
    term_value: Mapped[int]
    term_unit: Mapped[TermUnit] = mapped_column(string_enum(TermUnit))
    extension_term_value: Mapped[int]
    extension_term_unit: Mapped[TermUnit] = mapped_column(string_enum(TermUnit))
    cancellation_period_value: Mapped[int]
    cancellation_period_unit: Mapped[TermUnit] = mapped_column(string_enum(TermUnit))
    base_price: Mapped[Decimal] = mapped_column(Money)
    current_price: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3))
    # Set when cancelled: the day the contract ends, and when the cancellation was received.
    cancellation_date: Mapped[date | None] = mapped_column(Date)
    cancellation_receipt_date: Mapped[date | None] = mapped_column(Date)
    cancellation_reason: Mapped[str | None] = mapped_column(String(500))
    third_party_id: Mapped[str | None] = mapped_column(String(100))

    @property
    def term(self) -> Period:
        return Period(self.term_value, self.term_unit)

    @property
    def extension_term(self) -> Period:
        return Period(self.extension_term_value, self.extension_term_unit)

    @property
    def cancellation_period(self) -> Period:
        return Period(self.cancellation_period_value, self.cancellation_period_unit)


class ExtensionType(StrEnum):
    TERM_EXTENSION = "TERM_EXTENSION"
    NEW = "NEW"


class CancelationStatus(StrEnum):
    CANCELED = "CANCELED"
    PENDING_VERIFICATION = "PENDING_VERIFICATION"
    PENDING_WITHDRAWAL_VERIFICATION = "PENDING_WITHDRAWAL_VERIFICATION"


class AdditionalModule(Base):
    """A bookable extra (towel flat-rate, sauna). Visible through the Open API only when active,
    online-bookable, with a term and at least one payment frequency."""

    __tablename__ = "additional_modules"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(String(2000))
    image_url: Mapped[str | None] = mapped_column(String(1000))
    active: Mapped[bool] = mapped_column(default=True)
    online_bookable: Mapped[bool] = mapped_column(default=True)
    term_value: Mapped[int | None]
    term_unit: Mapped[TermUnit | None] = mapped_column(string_enum(TermUnit))
    extension_type: Mapped[ExtensionType | None] = mapped_column(string_enum(ExtensionType))
    extension_term_value: Mapped[int | None]
    extension_term_unit: Mapped[TermUnit | None] = mapped_column(string_enum(TermUnit))
    extension_cancelation_period_value: Mapped[int | None]
    extension_cancelation_period_unit: Mapped[TermUnit | None] = mapped_column(
        string_enum(TermUnit)
    )
    cancelation_period_value: Mapped[int | None]
    cancelation_period_unit: Mapped[TermUnit | None] = mapped_column(string_enum(TermUnit))
    trial_term_value: Mapped[int | None]
    trial_term_unit: Mapped[TermUnit | None] = mapped_column(string_enum(TermUnit))
    created_at: Mapped[datetime] = mapped_column(server_default=func.current_timestamp())


class ModuleRate(Base):
    """A rate whose contracts may book the module."""

    __tablename__ = "additional_module_rates"

    module_id: Mapped[int] = mapped_column(ForeignKey("additional_modules.id"), primary_key=True)
    rate_id: Mapped[int] = mapped_column(ForeignKey("rates.id"), primary_key=True)


class ModulePaymentFrequency(PaymentFrequencyColumns, Base):
    __tablename__ = "additional_module_payment_frequencies"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    module_id: Mapped[int] = mapped_column(ForeignKey("additional_modules.id"), index=True)


class CancelationReason(Base):
    __tablename__ = "cancelation_reasons"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))


class ModuleContract(Base):
    """A module booked onto a main contract; its terms are copied from the module at purchase."""

    __tablename__ = "additional_module_contracts"
    __table_args__ = (
        Index("ix_module_contracts_main_contract", "main_contract_id", "module_id"),
        # The tenant's amendments waiting for an operator.
        Index("ix_module_contracts_tenant_cancelation_status", "tenant_id", "cancelation_status"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    main_contract_id: Mapped[int] = mapped_column(ForeignKey("main_contracts.id"))
    module_id: Mapped[int] = mapped_column(ForeignKey("additional_modules.id"))
    name: Mapped[str] = mapped_column(String(200))
    payment_frequency_id: Mapped[int] = mapped_column(
        ForeignKey("additional_module_payment_frequencies.id")
    )
    price: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3))
    created_date: Mapped[date] = mapped_column(Date)
    trial_start_date: Mapped[date | None] = mapped_column(Date)
    trial_term_value: Mapped[int | None]
    trial_term_unit: Mapped[TermUnit | None] = mapped_column(string_enum(TermUnit))
    start_date: Mapped[date] = mapped_column(Date)
    term_value: Mapped[int]
    term_unit: Mapped[TermUnit] = mapped_column(string_enum(TermUnit))
    extension_term_value: Mapped[int | None]
    extension_term_unit: Mapped[TermUnit | None] = mapped_column(string_enum(TermUnit))
    cancelation_period_value: Mapped[int]
    cancelation_period_unit: Mapped[TermUnit] = mapped_column(string_enum(TermUnit))
    cancelation_status: Mapped[CancelationStatus | None] = mapped_column(
        string_enum(CancelationStatus), default=None
    )
    cancelation_date: Mapped[date | None] = mapped_column(Date)
    cancelation_receipt_date: Mapped[date | None] = mapped_column(Date)
    cancelation_reason_id: Mapped[int | None] = mapped_column(ForeignKey("cancelation_reasons.id"))

    @property
    def term(self) -> Period:
        return Period(self.term_value, self.term_unit)

    @property
    def extension_term(self) -> Period | None:
        if self.extension_term_value is None or self.extension_term_unit is None:
            return None
        return Period(self.extension_term_value, self.extension_term_unit)

    @property
    def cancelation_period(self) -> Period:
        return Period(self.cancelation_period_value, self.cancelation_period_unit)
