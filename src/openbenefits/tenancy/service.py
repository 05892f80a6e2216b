"""Business rules for tenancy: what may be created, and the credentials that act for a tenant."""

import hmac
import secrets
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from openbenefits.kit import audit
from openbenefits.kit.audit import Actor, AuditEntry
from openbenefits.kit.db import Base, flush_or_conflict
from openbenefits.kit.errors import InvalidRequest, NotFound, Unauthorized
from openbenefits.kit.pagination import PageParams, fetch_page
from openbenefits.kit.schemas import RequestModel
from openbenefits.kit.security import hash_secret, new_secret, sign_token
from openbenefits.tenancy import schemas
from openbenefits.tenancy.models import (
    AdminTokenRevocation,
    ApiKey,
    OAuthClient,
    Partner,
    PartnerIntegration,
    Studio,
    Tenant,
)
from openbenefits.tenancy.principals import ADMIN_AUDIENCE, StudioPrincipal

# The tables a tenant owns directly, each with ``id`` and ``tenant_id``.
M = TypeVar("M", Studio, Partner, PartnerIntegration, ApiKey, OAuthClient)

CLIENT_CREDENTIALS = "client_credentials"


Row = Tenant | Studio | Partner | PartnerIntegration | ApiKey | OAuthClient

# Each entity's name in error codes (STUDIO_NOT_FOUND) and the audit log (studio.created).
LABELS: dict[type[Row], str] = {
    Tenant: "tenant",
    Studio: "studio",
    Partner: "partner",
    PartnerIntegration: "partner_integration",
    ApiKey: "api_key",
    OAuthClient: "oauth_client",
}

# A table, so that the error catalogue (kit/error_catalogue.py) reads every code it holds.
NOT_FOUND_CODES = {model: f"{label.upper()}_NOT_FOUND" for model, label in LABELS.items()}


async def _tenant_row(session: AsyncSession, model: type[M], tenant_id: int, row_id: int) -> M:
    """A tenant's row by id; another tenant's row is reported missing, never forbidden."""
    row = await session.scalar(
        select(model).where(model.id == row_id, model.tenant_id == tenant_id)
    )
    if row is None:
        label = LABELS[model]
        raise NotFound(
            f"{label.replace('_', ' ').capitalize()} {row_id} not found.",
            code=NOT_FOUND_CODES[model],
        )
    return row


def _audit(
    session: AsyncSession,
    actor: Actor,
    verb: str,
    row: Row,
    details: dict[str, object] | None = None,
) -> None:
    """Record ``<entity>.<verb>`` on ``row`` in the audit log."""
    label = LABELS[type(row)]
    audit.record(
        session,
        actor=actor,
        action=f"{label}.{verb}",
        entity_type=label,
        entity_id=row.client_id if isinstance(row, OAuthClient) else row.id,
        tenant_id=row.id if isinstance(row, Tenant) else row.tenant_id,
        details=details,
    )


def _wire(data: RequestModel) -> dict[str, object]:
    """A request as the client sent it, for the audit log."""
    return data.model_dump(mode="json", by_alias=True, exclude_unset=True)


def _apply(row: Base, changes: RequestModel) -> dict[str, object]:
    """Apply the fields the client sent; return them for the audit log."""
    for field, value in changes.model_dump(exclude_unset=True).items():
        setattr(row, field, value)
    return _wire(changes)


# Tenants


async def create_tenant(session: AsyncSession, actor: Actor, data: schemas.TenantCreate) -> Tenant:
    tenant = Tenant(
        name=data.name, slug=data.slug or schemas.slugify(data.name), time_zone=data.time_zone
    )
    session.add(tenant)
    await flush_or_conflict(
        session, f"A tenant with slug {tenant.slug!r} exists.", code="TENANT_EXISTS"
    )
    _audit(session, actor, "created", tenant, {"name": tenant.name})
    return tenant


async def get_tenant(session: AsyncSession, tenant_id: int) -> Tenant:
    tenant = await session.get(Tenant, tenant_id)
    if tenant is None:
        raise NotFound(f"Tenant {tenant_id} not found.", code="TENANT_NOT_FOUND")
    return tenant


async def list_tenants(
    session: AsyncSession, only: int | None, params: PageParams
) -> tuple[list[Tenant], int]:
    statement = select(Tenant).order_by(Tenant.id)
    if only is not None:
        statement = statement.where(Tenant.id == only)
    return await fetch_page(session, statement, params)


async def update_tenant(
    session: AsyncSession, actor: Actor, tenant: Tenant, data: schemas.TenantUpdate
) -> Tenant:
    changes = _apply(tenant, data)
    _audit(session, actor, "updated", tenant, changes)
    return tenant


def _of_tenant(model: type[M], tenant_id: int) -> Select[M]:
    return select(model).where(model.tenant_id == tenant_id).order_by(model.id)


# Studios


async def create_studio(
    session: AsyncSession, actor: Actor, tenant_id: int, data: schemas.StudioCreate
) -> Studio:
    studio = Studio(tenant_id=tenant_id, **data.model_dump())
    session.add(studio)
    await flush_or_conflict(session, f"A studio named {data.name!r} exists.", code="STUDIO_EXISTS")
    _audit(session, actor, "created", studio, _wire(data))
    return studio


async def get_studio(session: AsyncSession, tenant_id: int, studio_id: int) -> Studio:
    return await _tenant_row(session, Studio, tenant_id, studio_id)


async def list_studios(
    session: AsyncSession,
    tenant_id: int,
    params: PageParams,
    studio_ids: Collection[int] | None = None,
) -> tuple[list[Studio], int]:
    """A page of the tenant's studios (of ``studio_ids`` only, when given)."""
    statement = _of_tenant(Studio, tenant_id)
    if studio_ids is not None:
        statement = statement.where(Studio.id.in_(sorted(studio_ids)))
    return await fetch_page(session, statement, params)


async def update_studio(
    session: AsyncSession, actor: Actor, studio: Studio, data: schemas.StudioUpdate
) -> Studio:
    changes = _apply(studio, data)
    await flush_or_conflict(
        session, f"A studio named {studio.name!r} exists.", code="STUDIO_EXISTS"
    )
    _audit(session, actor, "updated", studio, changes)
    return studio


# Partners and their integrations


async def create_partner(
    session: AsyncSession, actor: Actor, tenant_id: int, data: schemas.PartnerCreate
) -> Partner:
    partner = Partner(tenant_id=tenant_id, name=data.name)
    session.add(partner)
    await flush_or_conflict(
        session, f"A partner named {data.name!r} exists.", code="PARTNER_EXISTS"
    )
    _audit(session, actor, "created", partner, {"name": data.name})
    return partner


async def get_partner(session: AsyncSession, tenant_id: int, partner_id: int) -> Partner:
    return await _tenant_row(session, Partner, tenant_id, partner_id)


async def list_partners(
    session: AsyncSession, tenant_id: int, params: PageParams
) -> tuple[list[Partner], int]:
    return await fetch_page(session, _of_tenant(Partner, tenant_id), params)


async def create_integration(
    session: AsyncSession, actor: Actor, tenant_id: int, data: schemas.IntegrationCreate
) -> PartnerIntegration:
    await get_partner(session, tenant_id, data.partner_id)
    await get_studio(session, tenant_id, data.studio_id)
    integration = PartnerIntegration(tenant_id=tenant_id, **data.model_dump())
    session.add(integration)
    await flush_or_conflict(
        session, "The partner is already integrated in this studio.", code="INTEGRATION_EXISTS"
    )
    _audit(session, actor, "created", integration, _wire(data))
    return integration


async def get_integration(
    session: AsyncSession, tenant_id: int, integration_id: int
) -> PartnerIntegration:
    return await _tenant_row(session, PartnerIntegration, tenant_id, integration_id)


async def list_integrations(
    session: AsyncSession,
    tenant_id: int,
    params: PageParams,
    *,
    studio_id: int | None = None,
    partner_id: int | None = None,
) -> tuple[list[PartnerIntegration], int]:
    statement = _of_tenant(PartnerIntegration, tenant_id)
    if studio_id is not None:
        statement = statement.where(PartnerIntegration.studio_id == studio_id)
    if partner_id is not None:
        statement = statement.where(PartnerIntegration.partner_id == partner_id)
    return await fetch_page(session, statement, params)


async def integrations_in(
    session: AsyncSession, tenant_id: int, studio_ids: Sequence[int]
) -> list[PartnerIntegration]:
    """The integrations of several studios at once."""
    statement = _of_tenant(PartnerIntegration, tenant_id).where(
        PartnerIntegration.studio_id.in_(studio_ids)
    )
    return list(await session.scalars(statement))


async def update_integration(
    session: AsyncSession,
    actor: Actor,
    integration: PartnerIntegration,
    data: schemas.IntegrationUpdate,
) -> PartnerIntegration:
    changes = _apply(integration, data)
    _audit(session, actor, "updated", integration, changes)
    return integration


# API keys


async def create_api_key(
    session: AsyncSession,
    actor: Actor,
    master: bytes,
    tenant_id: int,
    data: schemas.ApiKeyCreate,
    *,
    plain_key: str | None = None,
) -> tuple[ApiKey, str]:
    """Create a studio API key; the plain key is returned once and only its hash is stored.

    ``plain_key`` lets the demo loader keep stable, derivable keys; everyone else gets a random one.
    """
    await get_studio(session, tenant_id, data.studio_id)
    if data.partner_integration_id is not None:
        integration = await get_integration(session, tenant_id, data.partner_integration_id)
        if integration.studio_id != data.studio_id:
            raise InvalidRequest(
                "The partner integration belongs to another studio.",
                code="INTEGRATION_STUDIO_MISMATCH",
                reference="partnerIntegrationId",
            )
    key = plain_key or new_secret("obk")
    api_key = ApiKey(
        tenant_id=tenant_id,
        studio_id=data.studio_id,
        partner_integration_id=data.partner_integration_id,
        name=data.name,
        prefix=key[:12],
        key_hash=hash_secret(master, key),
        scopes=sorted(set(data.scopes)),
    )
    session.add(api_key)
    await flush_or_conflict(session, "This API key exists already.", code="API_KEY_EXISTS")
    _audit(
        session,
        actor,
        "created",
        api_key,
        {"studioId": data.studio_id, "scopes": api_key.scopes},
    )
    return api_key, key


async def get_api_key(session: AsyncSession, tenant_id: int, key_id: int) -> ApiKey:
    return await _tenant_row(session, ApiKey, tenant_id, key_id)


async def list_api_keys(
    session: AsyncSession, tenant_id: int, params: PageParams
) -> tuple[list[ApiKey], int]:
    return await fetch_page(session, _of_tenant(ApiKey, tenant_id), params)


async def integration_api_keys(
    session: AsyncSession, tenant_id: int, integration_id: int
) -> list[ApiKey]:
    statement = _of_tenant(ApiKey, tenant_id).where(ApiKey.partner_integration_id == integration_id)
    return list(await session.scalars(statement))


async def revoke(
    session: AsyncSession, actor: Actor, credential: ApiKey | OAuthClient, now: datetime
) -> None:
    """Revoke an API key or an OAuth client; revoking twice changes nothing."""
    if credential.revoked_at is None:
        credential.revoked_at = now
        _audit(session, actor, "revoked", credential)


async def api_key_principal(session: AsyncSession, key_hash: str) -> StudioPrincipal | None:
    """The principal of the API key with this hash, unless there is none or it is revoked."""
    row = (
        await session.execute(
            select(ApiKey, PartnerIntegration.partner_id)
            .outerjoin(PartnerIntegration, PartnerIntegration.id == ApiKey.partner_integration_id)
            .where(ApiKey.key_hash == key_hash, ApiKey.revoked_at.is_(None))
        )
    ).first()
    if row is None:
        return None
    api_key, partner_id = row
    return StudioPrincipal(
        api_key_id=api_key.id,
        tenant_id=api_key.tenant_id,
        studio_id=api_key.studio_id,
        partner_integration_id=api_key.partner_integration_id,
        partner_id=partner_id,
        scopes=frozenset(api_key.scopes),
    )


# OAuth clients and tokens


async def create_oauth_client(
    session: AsyncSession,
    actor: Actor,
    master: bytes,
    tenant_id: int,
    data: schemas.OAuthClientCreate,
    *,
    plain_secret: str | None = None,
    client_id: str | None = None,
) -> tuple[OAuthClient, str]:
    secret = plain_secret or new_secret("obs")
    client = OAuthClient(
        tenant_id=tenant_id,
        name=data.name,
        client_id=client_id or new_secret("obc")[:28],
        secret_hash=hash_secret(master, secret),
        scopes=sorted(set(data.scopes)),
    )
    session.add(client)
    await flush_or_conflict(session, "This client id exists already.", code="OAUTH_CLIENT_EXISTS")
    _audit(session, actor, "created", client, {"scopes": client.scopes})
    return client, secret


async def get_oauth_client(session: AsyncSession, tenant_id: int, row_id: int) -> OAuthClient:
    return await _tenant_row(session, OAuthClient, tenant_id, row_id)


async def list_oauth_clients(
    session: AsyncSession, tenant_id: int, params: PageParams
) -> tuple[list[OAuthClient], int]:
    return await fetch_page(session, _of_tenant(OAuthClient, tenant_id), params)


OAuthRefusal = TypeVar("OAuthRefusal", InvalidRequest, Unauthorized)


def oauth_error(error: str, message: str, status: type[OAuthRefusal]) -> OAuthRefusal:
    """A token request's refusal: RFC 6749 §5.2 names the error, which travels as a member of
    the problem document."""
    return status(message, code=error.upper(), extra={"error": error, "error_description": message})


async def issue_access_token(
    session: AsyncSession,
    master: bytes,
    request: schemas.TokenRequest,
    *,
    audiences: Sequence[str],
    now: datetime,
    ttl: timedelta,
) -> schemas.TokenResponse:
    """A token for ``request.audience``, one of ``audiences`` (the first when none is asked)."""
    if request.grant_type != CLIENT_CREDENTIALS:
        raise oauth_error(
            "unsupported_grant_type", "Only client_credentials is supported.", InvalidRequest
        )
    audience = audiences[0] if request.audience is None else request.audience
    if audience not in audiences:
        named = ", ".join(repr(known) for known in audiences)
        raise oauth_error("invalid_target", f"The audience must be one of {named}.", InvalidRequest)
    client = await session.scalar(
        select(OAuthClient).where(
            OAuthClient.client_id == request.client_id, OAuthClient.revoked_at.is_(None)
        )
    )
    if client is None or not hmac.compare_digest(
        client.secret_hash, hash_secret(master, request.client_secret)
    ):
        raise oauth_error("invalid_client", "Unknown client or wrong secret.", Unauthorized)
    scopes = set(client.scopes)
    if request.scope:
        asked = set(request.scope.split())
        if not asked <= scopes:
            raise oauth_error(
                "invalid_scope", "The client may not have these scopes.", InvalidRequest
            )
        scopes = asked
    granted = " ".join(sorted(scopes))
    token = sign_token(
        master,
        subject=client.client_id,
        audience=audience,
        now=now,
        ttl=ttl,
        claims={"org": client.tenant_id, "scope": granted},
    )
    return schemas.TokenResponse(
        access_token=token, expires_in=int(ttl.total_seconds()), scope=granted
    )


async def oauth_client_in_force(session: AsyncSession, client_id: str) -> bool:
    """Whether the client a loyalty token names still exists and is not revoked: its tokens
    stop working when it stops."""
    found = await session.scalar(
        select(OAuthClient.id).where(
            OAuthClient.client_id == client_id, OAuthClient.revoked_at.is_(None)
        )
    )
    return found is not None


def new_admin_token_id() -> str:
    return secrets.token_urlsafe(16)


def issue_admin_token(
    master: bytes,
    *,
    name: str,
    tenant_id: int | None,
    now: datetime,
    ttl: timedelta,
    token_id: str | None = None,
) -> str:
    """A signed admin token; ``token_id`` (its ``jti``, random unless given) is what revokes it."""
    return sign_token(
        master,
        subject=name,
        audience=ADMIN_AUDIENCE,
        now=now,
        ttl=ttl,
        claims={"tenant": tenant_id, "jti": token_id or new_admin_token_id()},
    )


async def admin_token_in_force(session: AsyncSession, token_id: str) -> bool:
    revoked = await session.get(AdminTokenRevocation, token_id)
    return revoked is None


async def revoke_admin_token(
    session: AsyncSession, actor: Actor, token_id: str, now: datetime
) -> None:
    """Withdraw an admin token by its id; revoking twice changes nothing."""
    if await session.get(AdminTokenRevocation, token_id) is not None:
        return
    session.add(AdminTokenRevocation(token_id=token_id, revoked_at=now, revoked_by=actor.audit_ref))
    await flush_or_conflict(
        session, "The admin token is being revoked already.", code="ADMIN_TOKEN_REVOKED"
    )
    audit.record(
        session,
        actor=actor,
        action="admin_token.revoked",
        entity_type="admin_token",
        entity_id=token_id,
        tenant_id=None,
    )


@dataclass(frozen=True)
class AuditFilter:
    """Which entries: by whom (``operator:3``, ``api_key:7``), on what (an entity type, and an
    id of it), in which time range (from inclusive, until exclusive). Empty means any."""

    actor: str | None = None
    entity_type: str | None = None
    entity_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


async def list_audit_entries(
    session: AsyncSession, tenant_id: int, params: PageParams, only: AuditFilter = AuditFilter()
) -> tuple[list[AuditEntry], int]:
    """The tenant's audit log, newest first."""
    statement = (
        select(AuditEntry).where(AuditEntry.tenant_id == tenant_id).order_by(AuditEntry.id.desc())
    )
    for column, value in (
        (AuditEntry.actor, only.actor),
        (AuditEntry.entity_type, only.entity_type),
        (AuditEntry.entity_id, only.entity_id),
    ):
        if value:
            statement = statement.where(column == value)
    if only.since is not None:
        statement = statement.where(AuditEntry.at >= only.since)
    if only.until is not None:
        statement = statement.where(AuditEntry.at < only.until)
    return await fetch_page(session, statement, params)


async def find_studio(session: AsyncSession, studio_id: int) -> Studio:
    """A studio by id across tenants: for operators on the command line only."""
    studio = await session.get(Studio, studio_id)
    if studio is None:
        raise NotFound(f"Studio {studio_id} not found.", code="STUDIO_NOT_FOUND")
    return studio


async def studio_zone(session: AsyncSession, studio_id: int) -> ZoneInfo:
    """The studio's time zone: "today" at a studio is today there."""
    zone = await session.scalar(select(Studio.time_zone).where(Studio.id == studio_id))
    if zone is None:
        raise NotFound(f"Studio {studio_id} not found.", code="STUDIO_NOT_FOUND")
    return ZoneInfo(zone)
