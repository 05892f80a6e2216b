"""Operator accounts: creation, sign-in with a lockout, password change.

Passwords are hashed with argon2id (argon2-cffi's defaults, RFC 9106's second recommendation),
off the event loop: a hash costs tens of milliseconds of CPU. An unknown address costs a sign-in
as long as a wrong password does, so the answer's timing does not tell which accounts exist.
Failed sign-ins are counted in one statement (concurrent failures all count); the fifth in a
row locks the account for 15 minutes.
"""

import asyncio
from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import case, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from openbenefits.console.models import ConsoleSession, Operator, OperatorRole, OperatorStudio
from openbenefits.kit.audit import Actor, record
from openbenefits.kit.db import flush_or_conflict
from openbenefits.kit.errors import Conflict, InvalidRequest, NotFound, Unauthorized
from openbenefits.kit.pagination import PageParams, fetch_page
from openbenefits.tenancy.models import Studio

MIN_PASSWORD = 12
# A bound on the work one sign-in can ask for.
MAX_PASSWORD = 200
LOCK_AFTER = 5
LOCK_FOR = timedelta(minutes=15)
_HASHER = PasswordHasher()


@cache
def _unknown_hash() -> str:
    """Verified against when no account has the address."""
    return _HASHER.hash("no operator has this password")


async def _hash(password: str) -> str:
    return await asyncio.to_thread(_HASHER.hash, password)


async def _matches(password_hash: str, password: str) -> bool:
    try:
        return await asyncio.to_thread(_HASHER.verify, password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def normalised_email(email: str) -> str:
    try:
        checked = validate_email(email.strip(), check_deliverability=False)
    except EmailNotValidError as error:
        raise InvalidRequest(
            f"{email!r} is not an email address: {error}", code="INVALID_EMAIL"
        ) from error
    return checked.normalized.lower()


def _checked_password(password: str) -> str:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise InvalidRequest(
            f"A password has {MIN_PASSWORD} to {MAX_PASSWORD} characters.",
            code="PASSWORD_LENGTH",
        )
    return password


async def create_operator(
    session: AsyncSession,
    actor: Actor,
    tenant_id: int,
    *,
    email: str,
    password: str,
    role: OperatorRole,
    studio_ids: Sequence[int],
    now: datetime,
) -> Operator:
    """An account of the tenant. A studio manager manages at least one of the tenant's
    studios; the other roles span the tenant and name none."""
    studios = sorted(set(studio_ids))
    if role is OperatorRole.STUDIO_MANAGER and not studios:
        raise InvalidRequest(
            "A studio manager manages at least one studio.", code="STUDIOS_REQUIRED"
        )
    if role is not OperatorRole.STUDIO_MANAGER and studios:
        raise InvalidRequest(
            f"A {role} spans the tenant: name no studios.", code="STUDIOS_NOT_ALLOWED"
        )
    found = set(
        await session.scalars(
            select(Studio.id).where(Studio.tenant_id == tenant_id, Studio.id.in_(studios))
        )
    )
    if missing := [studio for studio in studios if studio not in found]:
        raise NotFound(f"Studio {missing[0]} not found.", code="STUDIO_NOT_FOUND")
    operator = Operator(
        tenant_id=tenant_id,
        email=normalised_email(email),
        password_hash=await _hash(_checked_password(password)),
        role=role,
        failed_sign_ins=0,
        password_changed_at=now,
    )
    session.add(operator)
    await flush_or_conflict(
        session, f"An operator signs in as {operator.email} already.", code="OPERATOR_EXISTS"
    )
    session.add_all(
        OperatorStudio(operator_id=operator.id, studio_id=studio, tenant_id=tenant_id)
        for studio in studios
    )
    record(
        session,
        actor=actor,
        action="operator.created",
        entity_type="operator",
        entity_id=operator.id,
        tenant_id=tenant_id,
        details={"email": operator.email, "role": role.value, "studioIds": studios},
    )
    return operator


async def list_operators(
    session: AsyncSession, tenant_id: int, params: PageParams
) -> tuple[list[Operator], dict[int, list[int]], int]:
    """A page of the tenant's operators, the studios of each studio manager, and the total."""
    operators, total = await fetch_page(
        session,
        select(Operator).where(Operator.tenant_id == tenant_id).order_by(Operator.email),
        params,
    )
    studios: dict[int, list[int]] = {operator.id: [] for operator in operators}
    for link in await session.scalars(
        select(OperatorStudio)
        .where(OperatorStudio.operator_id.in_(list(studios)))
        .order_by(OperatorStudio.studio_id)
    ):
        studios[link.operator_id].append(link.studio_id)
    return operators, studios, total


async def get_operator(session: AsyncSession, tenant_id: int, operator_id: int) -> Operator:
    operator = await session.scalar(
        select(Operator).where(Operator.id == operator_id, Operator.tenant_id == tenant_id)
    )
    if operator is None:
        raise NotFound(f"Operator {operator_id} not found.", code="OPERATOR_NOT_FOUND")
    return operator


async def remove_operator(session: AsyncSession, actor: Actor, operator: Operator, by: int) -> None:
    """Removes an account with its sessions (signed out at once); never one's own, so that a
    tenant keeps an administrator."""
    if operator.id == by:
        raise Conflict("You cannot remove your own account.", code="OWN_ACCOUNT")
    await session.execute(delete(ConsoleSession).where(ConsoleSession.operator_id == operator.id))
    await session.execute(delete(OperatorStudio).where(OperatorStudio.operator_id == operator.id))
    await session.delete(operator)
    record(
        session,
        actor=actor,
        action="operator.removed",
        entity_type="operator",
        entity_id=operator.id,
        tenant_id=operator.tenant_id,
        details={"email": operator.email},
    )


async def sign_in(
    session: AsyncSession, email: str, password: str, now: datetime
) -> Operator | Unauthorized:
    """The operator, or the refusal to answer. A refusal is returned, not raised: the failure
    it counted is to be committed before the caller answers it."""
    wrong = Unauthorized("Wrong email or password.", code="INVALID_CREDENTIALS")
    try:
        address = normalised_email(email)
    except InvalidRequest:
        address = ""
    operator = await session.scalar(select(Operator).where(Operator.email == address))
    if operator is None:
        await _matches(_unknown_hash(), password[:MAX_PASSWORD])
        return wrong
    if operator.locked_until is not None and operator.locked_until > now:
        return Unauthorized(
            "Too many failed sign-ins: try again after "
            f"{operator.locked_until:%Y-%m-%d %H:%M} UTC.",
            code="OPERATOR_LOCKED",
        )
    if not await _matches(operator.password_hash, password[:MAX_PASSWORD]):
        failures = Operator.failed_sign_ins + 1
        locks = failures >= LOCK_AFTER
        await session.execute(
            update(Operator)
            .where(Operator.id == operator.id)
            .values(
                failed_sign_ins=case((locks, 0), else_=failures),
                locked_until=case((locks, now + LOCK_FOR), else_=Operator.locked_until),
            )
        )
        return wrong
    operator.failed_sign_ins = 0
    operator.locked_until = None
    if _HASHER.check_needs_rehash(operator.password_hash):
        operator.password_hash = await _hash(password)
    return operator


async def change_password(
    session: AsyncSession,
    operator: Operator,
    current: str,
    new: str,
    now: datetime,
) -> None:
    """The operator's own change: the current password proves it is them."""
    if not await _matches(operator.password_hash, current[:MAX_PASSWORD]):
        raise Unauthorized("The current password is wrong.", code="INVALID_CREDENTIALS")
    operator.password_hash = await _hash(_checked_password(new))
    operator.password_changed_at = now
    record(
        session,
        actor=OperatorActor(operator),
        action="operator.password_changed",
        entity_type="operator",
        entity_id=operator.id,
        tenant_id=operator.tenant_id,
    )


class OperatorActor:
    """An operator, as the audit log names who acted."""

    def __init__(self, operator: Operator) -> None:
        self.operator = operator

    @property
    def audit_ref(self) -> str:
        return f"operator:{self.operator.id}"
