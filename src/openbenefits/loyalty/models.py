"""Loyalty programs (seed 003): programs and their dated versions, contracts with their policies
and consumers, order-line events, points transactions, and each organisation's age bands.

A contract is an instance of a program. Value-moving columns live on the contract row, guarded by
check constraints, so that the database refuses what no concurrency may produce: more coupons
than the limit, a points balance below zero.
"""

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from openbenefits.kit.db import Base, BigIntId, string_enum

# Points and discounts: up to 16 digits before the point, 2 after.
Amount = Numeric(18, 2)


class ProgramType(StrEnum):
    TIMED = "TIMED"
    COUPONS = "COUPONS"
    POINTS = "POINTS"


class PointsTransactionType(StrEnum):
    DEPOSIT = "DEPOSIT"
    WITHDRAWAL = "WITHDRAWAL"
    REFUND = "REFUND"


class LoyaltyProgram(Base):
    """A program of one organisation. What may change over time lives on its versions;
    ``ends_at`` is the latest end of any version (NULL: open-ended), kept with the versions, so
    that "are all versions DEPRECATED?" is a column comparison on every contract read."""

    __tablename__ = "loyalty_programs"
    __table_args__ = (UniqueConstraint("tenant_id", "code"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    program_type: Mapped[ProgramType] = mapped_column(string_enum(ProgramType))
    product_id: Mapped[str] = mapped_column(String(200))
    internal_description: Mapped[str | None] = mapped_column(String(1000))
    # Redeemable by the organisation's customers (POST loyaltyprograms/redeem).
    code: Mapped[str | None] = mapped_column(String(100))
    allow_other_organisations: Mapped[bool] = mapped_column(Boolean, default=False)
    ends_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(200))


class LoyaltyProgramVersion(Base):
    """One dated version. Its status (DRAFT, CURRENT, DEPRECATED) is not stored: it depends on
    the clock (``loyalty.versions.version_statuses``)."""

    __tablename__ = "loyalty_program_versions"
    __table_args__ = (
        UniqueConstraint("program_id", "version_number"),
        CheckConstraint("end_date IS NULL OR end_date >= start_date", name="dates_ordered"),
        CheckConstraint(
            "usage_validity_seconds IS NULL OR usage_validity_seconds > 0", name="usage"
        ),
        CheckConstraint(
            "coupon_validity_seconds IS NULL OR coupon_validity_seconds > 0", name="coupon"
        ),
        CheckConstraint(
            "default_coupons_limit IS NULL OR default_coupons_limit >= 0", name="limit"
        ),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    program_id: Mapped[int] = mapped_column(ForeignKey("loyalty_programs.id"))
    version_number: Mapped[int] = mapped_column(Integer)
    product_version: Mapped[str | None] = mapped_column(String(200))
    start_date: Mapped[datetime]
    end_date: Mapped[datetime | None]
    usage_validity_seconds: Mapped[int | None] = mapped_column(BigInteger)
    default_coupons_limit: Mapped[int | None] = mapped_column(Integer)
    # COUPONS: how long the child contract a used coupon creates is valid.
    coupon_validity_seconds: Mapped[int | None] = mapped_column(BigInteger)
    # [{languageCode, description, displayName, createdAt, createdBy, lastChangedAt,
    #   lastChangedBy}]: a small value list read and written whole with its version.
    descriptions: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(200))


class LoyaltyContract(Base):
    """An instance of a program; a child (``parent_id`` set) is the TIMED contract one used
    coupon of a COUPONS contract created."""

    __tablename__ = "loyalty_contracts"
    __table_args__ = (
        UniqueConstraint("uuid"),
        # A customer redeems a program's code once.
        UniqueConstraint("program_id", "redeemed_by_customer_id"),
        CheckConstraint("coupons_used >= 0", name="coupons_used_positive"),
        CheckConstraint(
            "coupons_limit IS NULL OR coupons_used <= coupons_limit", name="coupons_within_limit"
        ),
        CheckConstraint("points_balance >= 0", name="points_balance_positive"),
        Index("ix_loyalty_contracts_external_ref", "external_ref"),
        # A coupon use looks for the child valid at its instant.
        Index("ix_loyalty_contracts_parent_id_consumable_from", "parent_id", "consumable_from"),
        Index("ix_loyalty_contracts_program_id", "program_id"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36))
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    program_id: Mapped[int] = mapped_column(ForeignKey("loyalty_programs.id"))
    # The version in force when the contract was created.
    program_version_id: Mapped[int] = mapped_column(ForeignKey("loyalty_program_versions.id"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("loyalty_contracts.id"))
    consumable_from: Mapped[datetime]
    expiration_date: Mapped[datetime | None]
    external_ref: Mapped[str | None] = mapped_column(String(200))
    coupons_limit: Mapped[int | None] = mapped_column(Integer)
    coupons_used: Mapped[int] = mapped_column(Integer, default=0)
    # POINTS: fixed by the first deposit.
    points_type: Mapped[str | None] = mapped_column(String(50))
    points_balance: Mapped[Decimal] = mapped_column(Amount, default=Decimal(0))
    redeemed_by_customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    # Removing the holder makes the contract inaccessible for good.
    holder_removed_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(200))
    last_changed_at: Mapped[datetime]
    last_changed_by: Mapped[str] = mapped_column(String(200))


class LoyaltyContractPolicy(Base):
    """A value a consumer must supply; only its keyed hash is kept."""

    __tablename__ = "loyalty_contract_policies"
    __table_args__ = (UniqueConstraint("contract_id", "key"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("loyalty_contracts.id"))
    key: Mapped[str] = mapped_column(String(100))
    value_hash: Mapped[str] = mapped_column(String(64))


class LoyaltyContractConsumer(Base):
    """A customer (of the owning or, where the program allows it, another organisation)
    connected to a root contract; a blocked one stays, so the customer cannot connect again."""

    __tablename__ = "loyalty_contract_consumers"
    __table_args__ = (
        UniqueConstraint("contract_id", "customer_id"),
        # One holder per contract.
        Index(
            "uq_loyalty_contract_consumers_holder",
            "contract_id",
            unique=True,
            sqlite_where=text("is_contract_holder"),
            postgresql_where=text("is_contract_holder"),
        ),
        Index("ix_loyalty_contract_consumers_customer_id", "customer_id"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("loyalty_contracts.id"))
    customer_organisation_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    customer_ref: Mapped[str | None] = mapped_column(String(200))
    is_contract_holder: Mapped[bool] = mapped_column(Boolean)
    is_blocked: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(200))
    last_changed_at: Mapped[datetime]
    last_changed_by: Mapped[str] = mapped_column(String(200))


class LoyaltyOrderLineEvent(Base):
    """What one order line garnered through a TIMED contract (a COUPONS contract's use lands on
    the child it used). One per contract, order and order line: a retry finds the first."""

    __tablename__ = "loyalty_order_line_events"
    __table_args__ = (
        UniqueConstraint("contract_id", "order_id", "order_line_id"),
        # An order line spends at most one coupon of a COUPONS contract, whichever child it
        # landed on.
        UniqueConstraint("coupons_contract_id", "order_id", "order_line_id"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("loyalty_contracts.id"))
    # The COUPONS contract whose coupon the event used (the contract is then its child).
    coupons_contract_id: Mapped[int | None] = mapped_column(ForeignKey("loyalty_contracts.id"))
    # Whether this event spent the coupon (and created the contract it landed on).
    spent_coupon: Mapped[bool] = mapped_column(Boolean, default=False)
    order_id: Mapped[str] = mapped_column(String(100))
    order_line_id: Mapped[str] = mapped_column(String(100))
    discount: Mapped[Decimal | None] = mapped_column(Amount)
    currency: Mapped[str | None] = mapped_column(String(3))
    occurred_at: Mapped[datetime]
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(200))


class LoyaltyPointsTransaction(Base):
    """The append-only points ledger of a POINTS contract; ``balance_after`` is the contract's
    balance right after it, so the ledger and the balance can be checked against each other."""

    __tablename__ = "loyalty_points_transactions"
    __table_args__ = (
        UniqueConstraint("contract_id", "external_ref"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("balance_after >= 0", name="balance_after_positive"),
        CheckConstraint(
            "(transaction_type = 'REFUND') = (refund_of_id IS NOT NULL)", name="refund_of"
        ),
        Index("ix_loyalty_points_transactions_contract_id_id", "contract_id", "id"),
        Index("ix_loyalty_points_transactions_refund_of_id", "refund_of_id"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("loyalty_contracts.id"))
    transaction_type: Mapped[PointsTransactionType] = mapped_column(
        string_enum(PointsTransactionType)
    )
    points_type: Mapped[str] = mapped_column(String(50))
    amount: Mapped[Decimal] = mapped_column(Amount)
    balance_after: Mapped[Decimal] = mapped_column(Amount)
    external_ref: Mapped[str] = mapped_column(String(200))
    refund_of_id: Mapped[int | None] = mapped_column(ForeignKey("loyalty_points_transactions.id"))
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(200))


class LoyaltyAgeBands(Base):
    """An organisation's passenger categories by age, and the age senior citizens start at; an
    organisation without a row uses ``loyalty.entitlements.DEFAULT_AGE_BANDS``."""

    __tablename__ = "loyalty_age_bands"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    # [{"passengerCategory": "CHILD", "fromAge": 6}, ...] in ascending fromAge.
    bands: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    senior_citizen_from_age: Mapped[int] = mapped_column(Integer)
