from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, String, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from openbenefits.kit.db import Base, BigIntId


class Tenant(Base):
    """An operator organisation (the loyalty API's ``organisationId``)."""

    __tablename__ = "tenants"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    # The organisation's zone: loyalty dates are computed in it.
    time_zone: Mapped[str] = mapped_column(String(64))
    # The next generated customer number; taken with a guarded UPDATE, so numbers never repeat.
    next_customer_number: Mapped[int] = mapped_column(BigInteger, server_default="1000")
    created_at: Mapped[datetime] = mapped_column(server_default=func.current_timestamp())


class Studio(Base):
    """A facility. Its time zone decides what "today" and "this month" mean there."""

    __tablename__ = "studios"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    time_zone: Mapped[str] = mapped_column(String(64))
    currency: Mapped[str] = mapped_column(String(3))
    locale: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(server_default=func.current_timestamp())


class Partner(Base):
    """A third party (a sauna app, a body-measurement vendor) an operator works with."""

    __tablename__ = "partners"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(server_default=func.current_timestamp())


class PartnerIntegration(Base):
    """A partner activated in one studio, with the switches that govern what it may do there."""

    __tablename__ = "partner_integrations"
    __table_args__ = (UniqueConstraint("partner_id", "studio_id"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"))
    studio_id: Mapped[int] = mapped_column(ForeignKey("studios.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Module-contract cancelations and withdrawals take effect at once instead of waiting for
    # an operator to approve the amendment.
    direct_cancelation: Mapped[bool] = mapped_column(Boolean, default=False)
    direct_withdrawal: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(server_default=func.current_timestamp())


class ApiKey(Base):
    """A studio Open API credential. Only a keyed hash of the key is kept."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    studio_id: Mapped[int] = mapped_column(ForeignKey("studios.id"))
    partner_integration_id: Mapped[int | None] = mapped_column(
        ForeignKey("partner_integrations.id")
    )
    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(server_default=func.current_timestamp())
    revoked_at: Mapped[datetime | None]


class OAuthClient(Base):
    """A loyalty API client (client-credentials grant). Only a keyed hash of the secret is kept."""

    __tablename__ = "oauth_clients"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(server_default=func.current_timestamp())
    revoked_at: Mapped[datetime | None]


class AdminTokenRevocation(Base):
    """An admin token withdrawn before its expiry. Admin tokens are signed, not stored: a token is
    in force while it verifies and its id is not here."""

    __tablename__ = "admin_token_revocations"

    token_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    revoked_at: Mapped[datetime]
    revoked_by: Mapped[str] = mapped_column(String(200))
