"""Authentication dependencies for the three surfaces. Each answers a principal or raises:
401 for missing or bad credentials, 403 for a missing scope."""

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Path, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from openbenefits.kit.errors import Unauthorized
from openbenefits.kit.routing import ClockDep, SessionDep, SettingsDep
from openbenefits.kit.security import verify_token
from openbenefits.tenancy import service
from openbenefits.tenancy.key_cache import PrincipalCache
from openbenefits.tenancy.models import Tenant
from openbenefits.tenancy.principals import (
    ADMIN_AUDIENCE,
    AdminPrincipal,
    LoyaltyPrincipal,
    StudioPrincipal,
)
from openbenefits.tenancy.scopes import LoyaltyScope, StudioScope
from openbenefits.tenancy.token_cache import VerifiedTokens

api_key_header = APIKeyHeader(name="X-API-KEY", scheme_name="ApiKeyAuth", auto_error=False)
loyalty_bearer = HTTPBearer(scheme_name="LoyaltyBearer", auto_error=False)
admin_bearer = HTTPBearer(scheme_name="AdminBearer", auto_error=False)


async def _principal_cache(request: Request) -> PrincipalCache:
    cache: PrincipalCache = request.app.state.principals
    return cache


PrincipalCacheDep = Annotated[PrincipalCache, Depends(_principal_cache)]


async def studio_key(
    request: Request, key: Annotated[str | None, Security(api_key_header)]
) -> StudioPrincipal:
    # Reads the request's session, settings and cache itself rather than through three more
    # dependencies: this runs on every studio request.
    return await service.authenticate_api_key(
        request.state.session,
        request.app.state.settings.signing_key,
        key,
        request.app.state.principals,
    )


def studio_principal(
    *scopes: StudioScope, any_of: bool = False
) -> Callable[..., Awaitable[StudioPrincipal]]:
    """A studio Open API dependency that also demands ``scopes`` (all, or ``any_of`` them)."""

    async def dependency(
        principal: Annotated[StudioPrincipal, Depends(studio_key)],
    ) -> StudioPrincipal:
        principal.require(*scopes, any_of=any_of)
        return principal

    return dependency


def _bearer_token(credentials: HTTPAuthorizationCredentials | None) -> str:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("A bearer token is required.", code="TOKEN_MISSING")
    return credentials.credentials


def loyalty_principal(*scopes: LoyaltyScope) -> Callable[..., Awaitable[LoyaltyPrincipal]]:
    """A loyalty API dependency: a valid bearer token of our audience carrying ``scopes``."""

    async def dependency(
        request: Request,
        clock: ClockDep,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Security(loyalty_bearer)],
    ) -> LoyaltyPrincipal:
        tokens: VerifiedTokens = request.app.state.loyalty_tokens
        principal = tokens.principal(_bearer_token(credentials), clock.now())
        principal.require(*scopes)
        return principal

    return dependency


async def admin_principal(
    settings: SettingsDep,
    clock: ClockDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(admin_bearer)],
) -> AdminPrincipal:
    claims = verify_token(
        settings.signing_key, _bearer_token(credentials), audience=ADMIN_AUDIENCE, now=clock.now()
    )
    tenant = claims.get("tenant")
    return AdminPrincipal(
        name=str(claims["sub"]), tenant_id=None if tenant is None else int(str(tenant))
    )


Admin = Annotated[AdminPrincipal, Depends(admin_principal)]


async def admin_tenant(
    admin: Admin, session: SessionDep, tenant_id: Annotated[int, Path(alias="tenantId")]
) -> Tenant:
    """The tenant named in an admin path, if this operator may see it (else 404)."""
    admin.check_tenant(tenant_id)
    return await service.get_tenant(session, tenant_id)


AdminTenant = Annotated[Tenant, Depends(admin_tenant)]
