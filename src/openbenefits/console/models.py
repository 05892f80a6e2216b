"""Operators: people with an account on the console, each of one tenant, with one role."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column

from openbenefits.kit.db import Base, BigIntId, string_enum


class OperatorRole(StrEnum):
    TENANT_ADMIN = "TENANT_ADMIN"  # everything of the tenant, operators included
    STUDIO_MANAGER = "STUDIO_MANAGER"  # the integrations and customers of chosen studios
    LOYALTY_MANAGER = "LOYALTY_MANAGER"  # loyalty programs, contracts and clients
    READ_ONLY = "READ_ONLY"  # sees what a tenant admin sees, changes nothing


class Operator(Base):
    """An account. The email signs in (one account per address on the instance); the password
    is kept as an argon2 hash. ``failed_sign_ins`` counts consecutive failures; at the limit
    the account is locked until ``locked_until``."""

    __tablename__ = "operators"
    __table_args__ = (CheckConstraint("failed_sign_ins >= 0", name="failed_sign_ins"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[OperatorRole] = mapped_column(string_enum(OperatorRole))
    failed_sign_ins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None]
    password_changed_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(server_default=func.current_timestamp())


class OperatorStudio(Base):
    """A studio a studio manager manages."""

    __tablename__ = "operator_studios"

    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id"), primary_key=True)
    studio_id: Mapped[int] = mapped_column(ForeignKey("studios.id"), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)


class ConsoleSession(Base):
    """A signed-in browser. The cookie holds a random token; only its keyed hash is kept, so a
    copy of the table opens no session. A session lasts a working day from sign-in."""

    __tablename__ = "console_sessions"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id"), index=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
