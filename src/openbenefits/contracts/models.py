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


class RatePaymentFrequency(Base):
    """How a rate is paid: a type, a price, and for recurring payments the interval."""

    __tablename__ = "rate_payment_frequencies"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    rate_id: Mapped[int] = mapped_column(ForeignKey("rates.id"), index=True)
    type: Mapped[PaymentFrequencyType] = mapped_column(string_enum(PaymentFrequencyType))
    term_value: Mapped[int | None]
    term_unit: Mapped[TermUnit | None] = mapped_column(string_enum(TermUnit))
    price: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3))
    # TERM_BASED: [{"termValue", "termUnit", "price"}]; MONTH_DAY: [{"month", "day", "price"}].
    price_table: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)


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
