"""Benefit definitions, the rates and modules that grant them, and the usage ledger.

A customer's right to a benefit is a pair (grant, contract): the grant says how many uses per
period (none, one or several stacked limits, one per period unit) and at which local hours, the
contract (a main contract for a rate's grant, a module contract for a module's grant) says whose
and for how long. Uses of one pair in one period of one limit are counted in one counter row,
whose check constraint admits exactly N uses under any concurrency: a use adds one to the
counter of every limit of its grant in one statement (or savepoint), so a limit that is full
fails the statement and none of the others is touched.
"""

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from openbenefits.kit.db import Base, BigIntId, string_enum


class ContingentPeriod(StrEnum):
    DAY = "DAY"
    WEEK = "WEEK"
    MONTH = "MONTH"
    YEAR = "YEAR"
    # The granting contract's current term.
    TERM = "TERM"


# Shortest first: the order a use takes a grant's limits in (a fixed order, so that concurrent
# uses lock counters alike), and the order they are shown in.
PERIOD_ORDER = {period: rank for rank, period in enumerate(ContingentPeriod)}


class Weekday(StrEnum):
    MONDAY = "MONDAY"
    TUESDAY = "TUESDAY"
    WEDNESDAY = "WEDNESDAY"
    THURSDAY = "THURSDAY"
    FRIDAY = "FRIDAY"
    SATURDAY = "SATURDAY"
    SUNDAY = "SUNDAY"


class Benefit(Base):
    """A partner's benefit in one tenant, the same in every studio the partner is active in."""

    __tablename__ = "benefits"
    __table_args__ = (UniqueConstraint("partner_id", "key"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"))
    key: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    cross_facility: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(server_default=func.current_timestamp())


class BenefitGrant(Base):
    """A rate or an additional module granting a benefit: unlimited (no ``limits``) or within
    each of its limits, at any time or within its ``time_windows``.

    A grant is never edited: changing one is removing it and creating its successor, so that
    ``created_at`` and ``removed_at`` bound what it granted (the answers as of an instant)."""

    __tablename__ = "benefit_grants"
    __table_args__ = (
        CheckConstraint("(rate_id IS NULL) <> (module_id IS NULL)", name="one_source"),
        # One standing grant per benefit and rate or module; removed ones stay for the ledger.
        Index(
            "uq_benefit_grants_rate_id",
            "rate_id",
            "benefit_id",
            unique=True,
            sqlite_where=text("removed_at IS NULL"),
            postgresql_where=text("removed_at IS NULL"),
        ),
        Index(
            "uq_benefit_grants_module_id",
            "module_id",
            "benefit_id",
            unique=True,
            sqlite_where=text("removed_at IS NULL"),
            postgresql_where=text("removed_at IS NULL"),
        ),
        Index("ix_benefit_grants_benefit_id", "benefit_id"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    benefit_id: Mapped[int] = mapped_column(ForeignKey("benefits.id"))
    rate_id: Mapped[int | None] = mapped_column(ForeignKey("rates.id"))
    module_id: Mapped[int | None] = mapped_column(ForeignKey("additional_modules.id"))
    # Weekdays and local time ranges in the zone of the studio of use (``rights.Hours``);
    # NULL: at any time.
    time_windows: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON(none_as_null=True))
    created_at: Mapped[datetime] = mapped_column(server_default=func.current_timestamp())
    # A removed grant grants nothing from then on; the row stays for the ledger's sake.
    removed_at: Mapped[datetime | None]
    limits: Mapped[list["BenefitGrantLimit"]] = relationship(
        lazy="selectin", cascade="all, delete-orphan"
    )


class BenefitGrantLimit(Base):
    """One of a grant's stacked contingents: ``uses`` per ``period``. A use must fit them all."""

    __tablename__ = "benefit_grant_limits"
    __table_args__ = (CheckConstraint("uses > 0", name="uses_positive"),)

    grant_id: Mapped[int] = mapped_column(ForeignKey("benefit_grants.id"), primary_key=True)
    period: Mapped[ContingentPeriod] = mapped_column(
        string_enum(ContingentPeriod), primary_key=True
    )
    uses: Mapped[int]


class BenefitCounter(Base):
    """Uses of one grant through one contract in one period of one of its limits.
    ``contract_id`` is a main contract's id for a rate's grant and a module contract's id for a
    module's grant (hence no foreign key). The check constraint makes the database, not Python,
    the last word on the contingent."""

    __tablename__ = "benefit_counters"
    __table_args__ = (
        UniqueConstraint("grant_id", "contract_id", "period", "period_start"),
        CheckConstraint("used >= 0 AND used <= uses_limit", name="within_limit"),
        # The tenant's contingents running now (the operators' upsell leads).
        Index("ix_benefit_counters_tenant_period_end", "tenant_id", "period_end"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    grant_id: Mapped[int] = mapped_column(ForeignKey("benefit_grants.id"))
    contract_id: Mapped[int] = mapped_column(BigIntId)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    period: Mapped[ContingentPeriod] = mapped_column(string_enum(ContingentPeriod))
    period_start: Mapped[datetime]
    period_end: Mapped[datetime]
    uses_limit: Mapped[int]
    used: Mapped[int]


class UsageChannel(StrEnum):
    USE = "USE"
    WEIGHING = "WEIGHING"


class BenefitUsage(Base):
    """One use of a benefit: append-only. A reversal is a row of its own, never an edit."""

    __tablename__ = "benefit_usages"
    __table_args__ = (
        # A customer's history of one benefit, newest first (keyset slices).
        Index("ix_benefit_usages_customer_benefit_id", "customer_id", "benefit_id", "id"),
        # The tenant's uses in a time range (the operators' counts and charts).
        Index("ix_benefit_usages_tenant_used_at", "tenant_id", "used_at"),
        # A retried request with the same Idempotency-Key can never count twice.
        UniqueConstraint("api_key_id", "idempotency_key"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    benefit_id: Mapped[int] = mapped_column(ForeignKey("benefits.id"))
    benefit_key: Mapped[str] = mapped_column(String(100))
    grant_id: Mapped[int] = mapped_column(ForeignKey("benefit_grants.id"))
    contract_id: Mapped[int] = mapped_column(BigIntId)
    # The period of the grant's shortest limit the use was counted in; NULL when unlimited.
    period_start: Mapped[datetime | None]
    period_end: Mapped[datetime | None]
    # Where the benefit was used (cross-facility: not necessarily the customer's studio).
    studio_id: Mapped[int] = mapped_column(ForeignKey("studios.id"))
    api_key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id"))
    channel: Mapped[UsageChannel] = mapped_column(string_enum(UsageChannel))
    used_at: Mapped[datetime]
    idempotency_key: Mapped[str | None] = mapped_column(String(200))


class BenefitUsageReversal(Base):
    """The reversal of one use (at most one), which gave the use back to its counters."""

    __tablename__ = "benefit_usage_reversals"

    usage_id: Mapped[int] = mapped_column(ForeignKey("benefit_usages.id"), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    reason: Mapped[str] = mapped_column(String(500))
    reversed_by: Mapped[str] = mapped_column(String(100))
    reversed_at: Mapped[datetime]
