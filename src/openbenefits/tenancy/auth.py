"""Authentication and authorization for the three surfaces, as guards (``kit.routing.Guard``).

A guard is a route's dependency: the route runs it before anything else looks at the request
(the ``Idempotency-Key`` included), and as a dependency it hands the endpoint the principal.
Each answers a principal or raises: 401 for missing, bad, expired or revoked credentials, 403
for a missing scope, 404 for a tenant the credential is not bound to. Revocations of API keys,
OAuth clients and admin tokens reach every process within ``api_key_cache_seconds``
(``key_cache.py``).
"""

import re
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Path, Request, Security
from fastapi.openapi.models import OAuthFlowClientCredentials, OAuthFlows
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer, OAuth2
from sqlalchemy.ext.asyncio import AsyncSession

from openbenefits.kit.errors import Unauthorized
from openbenefits.kit.routing import Guard, SessionDep, authenticated, get_db
from openbenefits.kit.schemas import Id
from openbenefits.kit.security import bearer_token, hash_secret, verify_token
from openbenefits.tenancy import service
from openbenefits.tenancy.key_cache import CredentialCache, PrincipalCache, Revocations
from openbenefits.tenancy.models import Tenant
from openbenefits.tenancy.principals import (
    ADMIN_AUDIENCE,
    AdminPrincipal,
    LoyaltyPrincipal,
    StudioPrincipal,
)
from openbenefits.tenancy.scopes import LoyaltyScope, StudioScope
from openbenefits.tenancy.token_cache import VerifiedTokens

# For the OpenAPI document: the schemes the guards read.
api_key_header = APIKeyHeader(name="X-API-KEY", scheme_name="ApiKeyAuth", auto_error=False)
# OAuth2 client credentials with its token URL, so that a client generated from the document,
# and "Authorize" in /docs, fetch the bearer token themselves.
loyalty_oauth2 = OAuth2(
    flows=OAuthFlows(
        clientCredentials=OAuthFlowClientCredentials(
            tokenUrl="/oauth/token",
            scopes={
                LoyaltyScope.LOYALTY_READ: "Read programs, contracts, consumers and entitlements.",
                LoyaltyScope.LOYALTY_WRITE: "Create and change them, validate consumptions.",
            },
        )
    ),
    scheme_name="LoyaltyOAuth2",
    description="A bearer token from POST /oauth/token (client credentials, the client's id "
    "and secret in the body or by HTTP Basic), sent as Authorization: Bearer.",
    auto_error=False,
)
admin_bearer = HTTPBearer(scheme_name="AdminBearer", auto_error=False)

TENANT_PARAMETER = "tenantId"
_DIGITS = re.compile(r"^[0-9]{1,19}$")


async def _in_force(
    request: Request,
    cache: CredentialCache[bool],
    key: str,
    lookup: Callable[[AsyncSession, str], Coroutine[Any, Any, bool]],
) -> bool:
    """Whether a credential is still in force: remembered, or looked up on a reading
    connection of its own (the guard runs before the request's transaction opens)."""
    known = cache.fresh(key)
    if known is None:
        async with get_db(request).session(write=False) as session:
            known = await lookup(session, key)
        cache.put(key, known)
    return known


def revocations(request: Request) -> Revocations:
    found: Revocations = request.app.state.revocations
    return found


# Studio Open API: X-API-KEY


async def _api_key(request: Request) -> StudioPrincipal:
    key = request.headers.get("x-api-key")
    if not key:
        raise Unauthorized("The X-API-KEY header is missing.", code="API_KEY_MISSING")
    key_hash = hash_secret(request.app.state.settings.signing_key, key)
    cache: PrincipalCache = request.app.state.principals
    # Fresh only: a request that reaches this lookup may be the one renewing the entry.
    principal = cache.fresh(key_hash)
    if principal is None:
        async with get_db(request).session(write=False) as session:
            principal = await service.api_key_principal(session, key_hash)
        if principal is None:
            cache.discard(key_hash)
            raise Unauthorized("The API key is not valid.", code="API_KEY_INVALID")
        cache.put(key_hash, principal)
    return principal


class StudioGuard(Guard):
    """A valid API key holding ``scopes`` (all of them, or with ``any_of`` one)."""

    def __init__(self, *scopes: StudioScope, any_of: bool = False) -> None:
        self.scopes = scopes
        self.any_of = any_of

    async def check(self, request: Request) -> StudioPrincipal:
        principal = await authenticated(request, _api_key)
        principal.require(*self.scopes, any_of=self.any_of)
        return principal

    async def __call__(
        self, request: Request, _key: Annotated[str | None, Security(api_key_header)]
    ) -> StudioPrincipal:
        return await self.check(request)


studio_key = StudioGuard()


def studio_principal(*scopes: StudioScope, any_of: bool = False) -> StudioGuard:
    """A studio Open API dependency that also demands ``scopes`` (all, or ``any_of`` them)."""
    return StudioGuard(*scopes, any_of=any_of)


# Loyalty API: bearer tokens of OAuth clients


def _bearer(request: Request) -> str:
    token = bearer_token(request.headers.get("authorization"))
    if token is None:
        raise Unauthorized("A bearer token is required.", code="TOKEN_MISSING")
    return token


async def _loyalty_token(request: Request) -> LoyaltyPrincipal:
    tokens: VerifiedTokens = request.app.state.loyalty_tokens
    principal = tokens.principal(_bearer(request), request.app.state.clock.now())
    cache = revocations(request).clients
    if not await _in_force(request, cache, principal.client_id, service.oauth_client_in_force):
        raise Unauthorized("The client of this token is revoked.", code="INVALID_TOKEN")
    return principal


class LoyaltyGuard(Guard):
    """A valid bearer token of our audience, of a client in force, carrying ``scopes``."""

    def __init__(self, *scopes: LoyaltyScope) -> None:
        self.scopes = scopes

    async def check(self, request: Request) -> LoyaltyPrincipal:
        principal = await authenticated(request, _loyalty_token)
        principal.require(*self.scopes)
        return principal

    async def __call__(
        self,
        request: Request,
        _token: Annotated[str | None, Security(loyalty_oauth2)],
    ) -> LoyaltyPrincipal:
        return await self.check(request)


def loyalty_principal(*scopes: LoyaltyScope) -> LoyaltyGuard:
    """A loyalty API dependency: a valid bearer token of our audience carrying ``scopes``."""
    return LoyaltyGuard(*scopes)


# Admin API: admin tokens


async def _admin_token(request: Request) -> AdminPrincipal:
    claims = verify_token(
        request.app.state.settings.signing_key,
        _bearer(request),
        audience=ADMIN_AUDIENCE,
        now=request.app.state.clock.now(),
    )
    token_id, tenant = claims.get("jti"), claims.get("tenant")
    if not isinstance(token_id, str) or not (tenant is None or isinstance(tenant, int)):
        raise Unauthorized("The bearer token is not valid.", code="INVALID_TOKEN")
    cache = revocations(request).admin_tokens
    if not await _in_force(request, cache, token_id, service.admin_token_in_force):
        raise Unauthorized("The bearer token is revoked.", code="INVALID_TOKEN")
    return AdminPrincipal(name=str(claims["sub"]), tenant_id=tenant, token_id=token_id)


class AdminGuard(Guard):
    """A valid admin token in force. On a path under ``/tenants/{tenantId}`` a token bound to
    another tenant is answered 404, before the request is read any further; ``global_only``
    routes refuse tenant-bound tokens (403)."""

    def __init__(self, *, global_only: bool = False) -> None:
        self.global_only = global_only

    async def check(self, request: Request) -> AdminPrincipal:
        principal = await authenticated(request, _admin_token)
        if self.global_only:
            principal.require_global()
        tenant = request.path_params.get(TENANT_PARAMETER)
        if tenant is not None and principal.tenant_id is not None:
            # Only a plain number can name the token's tenant; anything else names none.
            principal.check_tenant(int(tenant) if _DIGITS.match(tenant) else -1)
        return principal

    async def __call__(
        self,
        request: Request,
        _credentials: Annotated[HTTPAuthorizationCredentials | None, Security(admin_bearer)],
    ) -> AdminPrincipal:
        return await self.check(request)


admin_principal = AdminGuard()
Admin = Annotated[AdminPrincipal, Depends(admin_principal)]
GlobalAdmin = Annotated[AdminPrincipal, Depends(AdminGuard(global_only=True))]


async def admin_tenant(
    admin: Admin, session: SessionDep, tenant_id: Annotated[Id, Path(alias=TENANT_PARAMETER)]
) -> Tenant:
    """The tenant named in an admin path, if this operator may see it (else 404)."""
    admin.check_tenant(tenant_id)
    return await service.get_tenant(session, tenant_id)


AdminTenant = Annotated[Tenant, Depends(admin_tenant)]


async def _principal_cache(request: Request) -> PrincipalCache:
    cache: PrincipalCache = request.app.state.principals
    return cache


async def _revocations(request: Request) -> Revocations:
    return revocations(request)


PrincipalCacheDep = Annotated[PrincipalCache, Depends(_principal_cache)]
RevocationsDep = Annotated[Revocations, Depends(_revocations)]
