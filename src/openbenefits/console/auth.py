"""The console's guards (``kit.routing.Guard``): who may see a page and post its forms.

Every console route is a ``TransactionalRoute`` like the API's, so it runs the same pipeline;
its guard is one of these. ``ConsoleGuard`` finds the operator of the session cookie (401, which
the console answers with the sign-in page, when there is none), keeps them to the areas their
role opens (403), and for every form posted checks its CSRF token (403) and that the role may
change things (read-only may not). ``SignInGuard`` checks the sign-in form's CSRF token against
the nonce cookie the form was served with.

What a role sees and changes:

- tenant admin: everything of the tenant, operators included;
- studio manager: the studios they manage (their integrations, customers and amendments); the
  tenant's catalogue (partners' benefits, rates, modules), which every studio shares, they
  see but do not change;
- loyalty manager: loyalty programs, contracts and OAuth clients;
- read-only: what a tenant admin sees but the operators, changing nothing but their password.
"""

from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

from fastapi import Depends, Request

from openbenefits.console.models import OperatorRole
from openbenefits.console.sessions import SignedIn, csrf_matches, signed_in
from openbenefits.kit.errors import Forbidden, NotFound, Unauthorized
from openbenefits.kit.routing import SAFE_METHODS, Guard, authenticated, get_clock, get_db
from openbenefits.kit.security import hash_secret

SESSION_COOKIE = "openbenefits_console"
SIGN_IN_COOKIE = "openbenefits_console_sign_in"
CSRF_FIELD = "csrf"


class Area(StrEnum):
    HOME = "HOME"
    ACCOUNT = "ACCOUNT"  # one's own password and session
    STUDIOS = "STUDIOS"  # integrations, their keys and webhooks, customers, amendments
    CATALOGUE = "CATALOGUE"  # partners and their benefits, rates, additional modules
    LOYALTY = "LOYALTY"
    AUDIT = "AUDIT"
    OPERATORS = "OPERATORS"


# What each role sees, and of that what it changes.
ROLE_SEES: dict[OperatorRole, frozenset[Area]] = {
    OperatorRole.TENANT_ADMIN: frozenset(Area),
    OperatorRole.STUDIO_MANAGER: frozenset({Area.HOME, Area.ACCOUNT, Area.STUDIOS, Area.CATALOGUE}),
    OperatorRole.LOYALTY_MANAGER: frozenset({Area.HOME, Area.ACCOUNT, Area.LOYALTY}),
    OperatorRole.READ_ONLY: frozenset(Area) - {Area.OPERATORS},
}
ROLE_CHANGES: dict[OperatorRole, frozenset[Area]] = {
    OperatorRole.TENANT_ADMIN: frozenset(Area),
    OperatorRole.STUDIO_MANAGER: frozenset({Area.ACCOUNT, Area.STUDIOS}),
    OperatorRole.LOYALTY_MANAGER: frozenset({Area.ACCOUNT, Area.LOYALTY}),
    OperatorRole.READ_ONLY: frozenset({Area.ACCOUNT}),
}


def opens(operator: SignedIn, area: Area) -> bool:
    return area in ROLE_SEES[operator.role]


def may_change(operator: SignedIn, area: Area) -> bool:
    return area in ROLE_CHANGES[operator.role]


def require_studio(operator: SignedIn, studio_id: int, what: str) -> None:
    """A studio manager finds nothing of another studio: 404, as for another tenant's ids."""
    scope = operator.studio_scope
    if scope is not None and studio_id not in scope:
        raise NotFound(f"{what} not found.", code="NOT_FOUND")


async def _posted_csrf(request: Request) -> str:
    form = await request.form()
    sent = form.get(CSRF_FIELD)
    return sent if isinstance(sent, str) else ""


def _csrf_refused() -> Forbidden:
    return Forbidden(
        "This form has expired or was not sent from the console: reload the page and try again.",
        code="CSRF_TOKEN_INVALID",
    )


async def _session(request: Request) -> SignedIn:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        key, now = request.app.state.settings.signing_key, get_clock(request).now()
        async with get_db(request).session(write=False) as session:
            operator = await signed_in(session, key, token, now)
        if operator is not None:
            return operator
    raise Unauthorized("Sign in to use the console.", code="SIGN_IN_REQUIRED")


class ConsoleGuard(Guard):
    """A signed-in operator whose role opens ``area``; on a posted form, its CSRF token and a
    role that may change things there."""

    def __init__(self, area: Area) -> None:
        self.area = area

    async def check(self, request: Request) -> SignedIn:
        operator = await authenticated(request, _session)
        if not opens(operator, self.area):
            raise Forbidden(
                f"A {operator.role.value.replace('_', ' ').lower()} does not work here.",
                code="CONSOLE_AREA_CLOSED",
            )
        if request.method not in SAFE_METHODS:
            if not csrf_matches(
                request.app.state.settings.signing_key,
                request.cookies.get(SESSION_COOKIE, ""),
                await _posted_csrf(request),
            ):
                raise _csrf_refused()
            if not may_change(operator, self.area):
                raise Forbidden(
                    f"A {operator.role.value.replace('_', ' ').lower()} sees this but does not "
                    "change it.",
                    code="CHANGE_NOT_ALLOWED",
                )
        return operator

    async def __call__(self, request: Request) -> SignedIn:
        return await self.check(request)


@dataclass(frozen=True)
class SignInForm:
    """Someone at the sign-in form, known by the nonce of the form's cookie."""

    nonce_hash: str

    @property
    def idempotency_owner(self) -> str:
        return f"console:sign-in:{self.nonce_hash}"


class SignInGuard(Guard):
    """The sign-in form: served to anyone; posted only with the CSRF token that belongs to the
    nonce cookie it was served with (a page elsewhere cannot sign a browser in to an account
    of its choosing)."""

    async def check(self, request: Request) -> SignInForm:
        key = request.app.state.settings.signing_key
        nonce = request.cookies.get(SIGN_IN_COOKIE, "")
        if request.method not in SAFE_METHODS and not (
            nonce and csrf_matches(key, nonce, await _posted_csrf(request))
        ):
            raise _csrf_refused()
        return SignInForm(hash_secret(key, nonce))

    async def __call__(self, request: Request) -> SignInForm:
        return await self.check(request)


def operator_in(area: Area) -> ConsoleGuard:
    return ConsoleGuard(area)


Home = Annotated[SignedIn, Depends(operator_in(Area.HOME))]
Account = Annotated[SignedIn, Depends(operator_in(Area.ACCOUNT))]
Studios = Annotated[SignedIn, Depends(operator_in(Area.STUDIOS))]
Catalogue = Annotated[SignedIn, Depends(operator_in(Area.CATALOGUE))]
Loyalty = Annotated[SignedIn, Depends(operator_in(Area.LOYALTY))]
Audit = Annotated[SignedIn, Depends(operator_in(Area.AUDIT))]
Operators = Annotated[SignedIn, Depends(operator_in(Area.OPERATORS))]
SignIn = Annotated[SignInForm, Depends(SignInGuard())]
