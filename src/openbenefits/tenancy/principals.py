"""Who is calling, once authenticated: one principal type per surface."""

from dataclasses import dataclass
from typing import Protocol

from openbenefits.kit.errors import Forbidden, NotFound

ADMIN_AUDIENCE = "openbenefits-admin"


def require_scopes(
    held: frozenset[str], scopes: tuple[str, ...], *, any_of: bool, credential: str
) -> None:
    """All of ``scopes``, or with ``any_of`` at least one (the reference says which): 403."""
    if held.issuperset(scopes) or (any_of and not held.isdisjoint(scopes)):
        return
    missing = sorted(set(scopes) - held)
    if missing and not (any_of and len(missing) < len(scopes)):
        joined = (" or " if any_of else ", ").join(missing)
        raise Forbidden(f"The {credential} lacks the scope {joined}.", code="MISSING_SCOPE")


@dataclass(frozen=True)
class StudioPrincipal:
    """An API key of one studio, optionally of one partner integration there."""

    api_key_id: int
    tenant_id: int
    studio_id: int
    partner_integration_id: int | None
    partner_id: int | None
    scopes: frozenset[str]

    @property
    def audit_ref(self) -> str:
        return f"api_key:{self.api_key_id}"

    @property
    def idempotency_owner(self) -> str:
        # A key belongs to one studio of one tenant for good.
        return f"studio:api_key:{self.api_key_id}"

    def require(self, *scopes: str, any_of: bool = False) -> None:
        require_scopes(self.scopes, scopes, any_of=any_of, credential="API key")


class LoyaltyCaller(Protocol):
    """Whoever acts on loyalty programs: an OAuth client of an organisation, or an operator in
    the console. ``client_id`` is the name the records keep of who created or changed them."""

    @property
    def tenant_id(self) -> int: ...

    @property
    def client_id(self) -> str: ...

    @property
    def audit_ref(self) -> str: ...


@dataclass(frozen=True)
class LoyaltyPrincipal:
    """An OAuth client of one organisation, as named by its bearer token."""

    client_id: str
    tenant_id: int
    scopes: frozenset[str]

    @property
    def audit_ref(self) -> str:
        return f"oauth_client:{self.client_id}"

    @property
    def idempotency_owner(self) -> str:
        # The client, not its token: a retry may come with the next short-lived token.
        return f"loyalty:oauth_client:{self.client_id}:organisation:{self.tenant_id}"

    def require(self, *scopes: str) -> None:
        require_scopes(self.scopes, scopes, any_of=False, credential="token")


@dataclass(frozen=True)
class AdminPrincipal:
    """An operator's admin token. ``tenant_id`` None means every tenant; otherwise just that
    one. ``token_id`` names the token, so that it can be revoked."""

    name: str
    tenant_id: int | None
    token_id: str

    @property
    def audit_ref(self) -> str:
        return f"admin:{self.name}"

    @property
    def idempotency_owner(self) -> str:
        # The token, not the operator's name: names are free text, chosen when a token is made.
        binding = "all" if self.tenant_id is None else self.tenant_id
        return f"admin:token:{self.token_id}:tenant:{binding}"

    def check_tenant(self, tenant_id: int) -> None:
        # Another tenant's resources do not exist for a tenant-bound operator: 404, never 403.
        if self.tenant_id is not None and self.tenant_id != tenant_id:
            raise NotFound("Tenant not found.", code="TENANT_NOT_FOUND")

    def require_global(self) -> None:
        if self.tenant_id is not None:
            raise Forbidden(
                "Only an operator of every tenant may do this.", code="GLOBAL_ADMIN_ONLY"
            )
