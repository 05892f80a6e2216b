import re
from datetime import datetime
from typing import Annotated, Literal
from zoneinfo import available_timezones

from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from openbenefits.kit.schemas import Id, InputModel, PatchModel, RequestModel, ResponseModel
from openbenefits.tenancy.scopes import LoyaltyScope, StudioScope

_ZONES = frozenset(available_timezones())


def _known_zone(value: str) -> str:
    if value not in _ZONES:
        raise ValueError(f"unknown IANA time zone {value!r}")
    return value


# Printable text only: control characters (NUL above all: PostgreSQL cannot store it) are refused.
Name = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$"
    ),
]
TimeZone = Annotated[str, AfterValidator(_known_zone)]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
Locale = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Z]{2})?$")]
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9](?:[a-z0-9-]{0,98}[a-z0-9])?$")]


def slugify(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:100] or "tenant"


class TenantCreate(RequestModel):
    name: Name
    slug: Slug | None = None
    time_zone: TimeZone = "UTC"


class TenantUpdate(PatchModel):
    name: Name | None = None
    time_zone: TimeZone | None = None


class TenantOut(ResponseModel):
    id: int
    name: str
    slug: str
    time_zone: str
    created_at: datetime


class StudioCreate(RequestModel):
    name: Name
    time_zone: TimeZone
    currency: Currency
    locale: Locale


class StudioUpdate(PatchModel):
    name: Name | None = None
    time_zone: TimeZone | None = None
    currency: Currency | None = None
    locale: Locale | None = None


class StudioOut(ResponseModel):
    id: int
    tenant_id: int
    name: str
    time_zone: str
    currency: str
    locale: str
    created_at: datetime


class PartnerCreate(RequestModel):
    name: Name


class PartnerOut(ResponseModel):
    id: int
    tenant_id: int
    name: str
    created_at: datetime


class IntegrationCreate(RequestModel):
    partner_id: Id
    studio_id: Id
    active: bool = True
    direct_cancelation: bool = False
    direct_withdrawal: bool = False


class IntegrationUpdate(PatchModel):
    active: bool | None = None
    direct_cancelation: bool | None = None
    direct_withdrawal: bool | None = None


class IntegrationOut(ResponseModel):
    id: int
    tenant_id: int
    partner_id: int
    studio_id: int
    active: bool
    direct_cancelation: bool
    direct_withdrawal: bool
    created_at: datetime


class ApiKeyCreate(RequestModel):
    studio_id: Id
    partner_integration_id: Id | None = None

    name: Name
    scopes: Annotated[list[StudioScope], Field(min_length=1)]


class ApiKeyOut(ResponseModel):
    id: int
    tenant_id: int
    studio_id: int
    partner_integration_id: int | None
    name: str
    prefix: str
    scopes: list[StudioScope]
    created_at: datetime
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="The API key. Shown only in this response; store it now.")


class OAuthClientCreate(RequestModel):
    name: Name
    scopes: Annotated[list[LoyaltyScope], Field(min_length=1)]


class OAuthClientOut(ResponseModel):
    id: int
    tenant_id: int
    name: str
    client_id: str
    scopes: list[LoyaltyScope]
    created_at: datetime
    revoked_at: datetime | None


class OAuthClientCreated(OAuthClientOut):
    client_secret: str = Field(description="Shown only in this response; store it now.")


class TokenRequest(InputModel):
    """RFC 6749 §4.4 client-credentials request, accepted as form or JSON. Unknown parameters are
    ignored, as RFC 6749 §3.2 requires."""

    grant_type: str
    client_id: Annotated[str, Field(max_length=64)]
    client_secret: Annotated[str, Field(max_length=200)]
    audience: str | None = None
    scope: str | None = None


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int
    scope: str


class AuditEntryOut(ResponseModel):
    id: int
    tenant_id: int | None
    actor: str
    action: str
    entity_type: str
    entity_id: str
    request_id: str | None
    details: dict[str, object] | None
    at: datetime
