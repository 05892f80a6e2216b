"""Console sessions: a random token in an HTTP-only cookie, its keyed hash in the database.

A session lasts ``LIFETIME`` from sign-in and ends at sign-out, when the password changes, or
when it expires (an operator's expired sessions are dropped at their next sign-in, which keeps
the table as small as the number of signed-in browsers). The CSRF token of a session is derived
from its token under a key of its own: nothing to store, and a page can show it without
showing the session's token.
"""

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from openbenefits.console.models import ConsoleSession, Operator, OperatorRole, OperatorStudio
from openbenefits.kit.security import derive_key, hash_secret

LIFETIME = timedelta(hours=10)


def csrf_token(signing_key: bytes, token: str) -> str:
    """The token a form posted under the session ``token`` (or the sign-in form under its
    cookie's nonce) must carry."""
    return hmac.new(derive_key(signing_key, "console-csrf"), token.encode(), "sha256").hexdigest()


def csrf_matches(signing_key: bytes, token: str, sent: str) -> bool:
    return hmac.compare_digest(csrf_token(signing_key, token), sent)


@dataclass(frozen=True)
class SignedIn:
    """The operator of a live session, as every console request sees them."""

    operator_id: int
    tenant_id: int
    email: str
    role: OperatorRole
    # The studios a studio manager manages; empty for the other roles.
    studio_ids: frozenset[int]
    session_id: int
    csrf: str

    @property
    def idempotency_owner(self) -> str:
        return f"console:operator:{self.operator_id}"

    @property
    def audit_ref(self) -> str:
        return f"operator:{self.operator_id}"

    @property
    def studio_scope(self) -> frozenset[int] | None:
        """The studios the operator is kept to (a studio manager's), or None: all of the
        tenant's."""
        return self.studio_ids if self.role is OperatorRole.STUDIO_MANAGER else None

    @property
    def client_id(self) -> str:
        """The name loyalty records keep of who created or changed them (their clients'
        ids, or this)."""
        return self.audit_ref


async def open_session(
    session: AsyncSession, signing_key: bytes, operator: Operator, now: datetime
) -> str:
    """A new session for ``operator``; the token for the cookie. A fresh token at every
    sign-in: a token planted before it opens nothing."""
    await session.execute(
        delete(ConsoleSession).where(
            ConsoleSession.operator_id == operator.id, ConsoleSession.expires_at <= now
        )
    )
    token = secrets.token_urlsafe(32)
    session.add(
        ConsoleSession(
            token_hash=hash_secret(signing_key, token),
            operator_id=operator.id,
            tenant_id=operator.tenant_id,
            created_at=now,
            expires_at=now + LIFETIME,
        )
    )
    await session.flush()
    return token


async def signed_in(
    session: AsyncSession, signing_key: bytes, token: str, now: datetime
) -> SignedIn | None:
    """Who holds the session ``token``, if it is live."""
    found = (
        await session.execute(
            select(ConsoleSession.id, Operator)
            .join(Operator, Operator.id == ConsoleSession.operator_id)
            .where(
                ConsoleSession.token_hash == hash_secret(signing_key, token),
                ConsoleSession.expires_at > now,
            )
        )
    ).one_or_none()
    if found is None:
        return None
    session_id, operator = found
    studios = (
        await session.scalars(
            select(OperatorStudio.studio_id).where(OperatorStudio.operator_id == operator.id)
        )
        if operator.role is OperatorRole.STUDIO_MANAGER
        else ()
    )
    return SignedIn(
        operator_id=operator.id,
        tenant_id=operator.tenant_id,
        email=operator.email,
        role=operator.role,
        studio_ids=frozenset(studios),
        session_id=session_id,
        csrf=csrf_token(signing_key, token),
    )


async def close_session(session: AsyncSession, session_id: int) -> None:
    await session.execute(delete(ConsoleSession).where(ConsoleSession.id == session_id))


async def close_other_sessions(session: AsyncSession, operator_id: int, keep: int) -> None:
    """After a password change: every other browser signs in again with the new one."""
    await session.execute(
        delete(ConsoleSession).where(
            ConsoleSession.operator_id == operator_id, ConsoleSession.id != keep
        )
    )
