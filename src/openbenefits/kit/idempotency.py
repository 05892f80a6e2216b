"""``Idempotency-Key`` for state-changing POSTs (PRODUCT.md §1).

A key is claimed in a short transaction of its own, committed before the work starts, so that a
concurrent retry sees it: while the first request runs, a retry gets 409. The work's transaction
then stores the response on the claim and commits both together, so "done" and "work done" can
never disagree. A request that fails changed nothing, so its claim is released and a retry runs
afresh. The same key with another request is 422. Keys expire after ``idempotency_ttl_seconds``
(24 h).

A claim holds a short lease that its request renews while it works (``kept``); a claim whose
holder died (its process killed) is taken over once the lease lapses, within seconds. The
original holder, should it still finish, loses its guarded update and rolls back.

Records belong to the whole principal (the caller passes its owner name: credential, tenant
binding, surface) and are consulted only after authentication and authorization. A stored
answer may show a secret once (a new API key), so it is sealed (``kit/encryption.py``), bound to
its owner and key.
"""

import asyncio
import contextlib
import hashlib
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import LargeBinary, String, UniqueConstraint, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column
from starlette.responses import Response

from openbenefits.kit.clock import Clock
from openbenefits.kit.db import Base, BigIntId, Database
from openbenefits.kit.encryption import Keyring
from openbenefits.kit.errors import Conflict, InvalidRequest, Unprocessable

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("owner", "key"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    owner: Mapped[str] = mapped_column(String(200))
    key: Mapped[str] = mapped_column(String(MAX_KEY_LENGTH))
    request_hash: Mapped[str] = mapped_column(String(64))
    lease_token: Mapped[str | None] = mapped_column(String(32))
    locked_until: Mapped[datetime | None]
    response_status: Mapped[int | None]
    # Sealed with the instance's keyring (bound to owner and key).
    response_body: Mapped[bytes | None] = mapped_column(LargeBinary)
    response_media_type: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)


@dataclass(frozen=True)
class Claim:
    record_id: int
    lease_token: str
    owner: str
    key: str


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: bytes
    media_type: str | None

    def to_response(self) -> Response:
        return Response(
            self.body,
            status_code=self.status,
            media_type=self.media_type,
            headers={"Idempotent-Replayed": "true"},
        )


def request_fingerprint(method: str, path: str, query: str, body: bytes) -> str:
    digest = hashlib.sha256(f"{method}\n{path}\n{query}\n".encode())
    digest.update(body)
    return digest.hexdigest()


def _context(owner: str, key: str) -> str:
    return f"idempotency\n{owner}\n{key}"


def validate_key(key: str) -> str:
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise InvalidRequest(
            f"{HEADER} must be 1 to {MAX_KEY_LENGTH} printable characters.",
            code="INVALID_IDEMPOTENCY_KEY",
        )
    return key


async def claim(
    db: Database,
    keyring: Keyring,
    *,
    owner: str,
    key: str,
    fingerprint: str,
    now: datetime,
    ttl: timedelta,
    lease: timedelta,
) -> Claim | StoredResponse:
    """Claim ``key`` for ``owner``'s request, or answer what its earlier request with it said."""
    while True:
        async with db.session() as session:
            record = await session.scalar(
                select(IdempotencyRecord)
                .where(IdempotencyRecord.owner == owner, IdempotencyRecord.key == key)
                .with_for_update()
            )
            token = secrets.token_hex(16)
            held = {"lease_token": token, "locked_until": now + lease}
            if record is None:
                record = IdempotencyRecord(
                    owner=owner,
                    key=key,
                    request_hash=fingerprint,
                    created_at=now,
                    expires_at=now + ttl,
                    **held,
                )
                session.add(record)
                try:
                    await session.commit()
                except IntegrityError:
                    # A concurrent request inserted the same key first: look again.
                    await session.rollback()
                    continue
                return Claim(record.id, token, owner, key)
            if record.expires_at <= now:
                fresh: dict[str, Any] = {
                    "request_hash": fingerprint,
                    "created_at": now,
                    "expires_at": now + ttl,
                    "response_status": None,
                    "response_body": None,
                    "response_media_type": None,
                }
                await _update(session, record.id, **fresh, **held)
                return Claim(record.id, token, owner, key)
            if record.request_hash != fingerprint:
                raise Unprocessable(
                    f"This {HEADER} was used for a different request.",
                    code="IDEMPOTENCY_KEY_REUSED",
                )
            if record.response_status is not None:
                assert record.response_body is not None  # stored together with the status
                body = keyring.open(record.response_body, _context(owner, key))
                return StoredResponse(record.response_status, body, record.response_media_type)
            if record.locked_until is not None and record.locked_until > now:
                raise Conflict(
                    f"A request with this {HEADER} is still being processed.",
                    code="IDEMPOTENCY_REQUEST_IN_PROGRESS",
                )
            await _update(session, record.id, **held)
            return Claim(record.id, token, owner, key)


async def _update(session: AsyncSession, record_id: int, **values: Any) -> None:
    await session.execute(
        update(IdempotencyRecord).where(IdempotencyRecord.id == record_id).values(**values)
    )
    await session.commit()


async def complete(
    session: AsyncSession, keyring: Keyring, held: Claim, response: Response
) -> None:
    """Store the response in the work's own transaction; fails if the claim was taken over."""
    result = await session.execute(
        update(IdempotencyRecord)
        .where(
            IdempotencyRecord.id == held.record_id,
            IdempotencyRecord.lease_token == held.lease_token,
        )
        .values(
            response_status=response.status_code,
            response_body=keyring.seal(bytes(response.body), _context(held.owner, held.key)),
            response_media_type=response.media_type,
            lease_token=None,
            locked_until=None,
        )
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != 1:
        raise Conflict(
            f"The {HEADER} was taken over by a retry; this attempt was rolled back.",
            code="IDEMPOTENCY_REQUEST_IN_PROGRESS",
        )


@contextlib.asynccontextmanager
async def kept(db: Database, held: Claim, clock: Clock, lease: timedelta) -> AsyncIterator[None]:
    """Renew the claim's lease every third of it while the block runs, so that only a holder
    that stopped renewing (a dead one) loses its claim."""
    stopped = asyncio.Event()

    async def renew() -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopped.wait(), lease.total_seconds() / 3)
                return
            async with db.session() as session:
                await session.execute(
                    update(IdempotencyRecord)
                    .where(
                        IdempotencyRecord.id == held.record_id,
                        IdempotencyRecord.lease_token == held.lease_token,
                    )
                    .values(locked_until=clock.now() + lease)
                )
                await session.commit()

    renewing = asyncio.create_task(renew())
    try:
        yield
    finally:
        # Stopped, not cancelled: a renewal under way finishes rather than leaving its
        # connection mid-statement.
        stopped.set()
        with contextlib.suppress(Exception):
            await renewing


async def release(db: Database, held: Claim) -> None:
    async with db.session() as session:
        await session.execute(
            delete(IdempotencyRecord).where(
                IdempotencyRecord.id == held.record_id,
                IdempotencyRecord.lease_token == held.lease_token,
            )
        )
        await session.commit()


async def reseal(session: AsyncSession, keyring: Keyring) -> int:
    """Seal every stored answer under the keyring's first key (after a key rotation); how many
    needed it."""
    rows = await session.execute(
        select(
            IdempotencyRecord.id,
            IdempotencyRecord.owner,
            IdempotencyRecord.key,
            IdempotencyRecord.response_body,
        ).where(IdempotencyRecord.response_body.is_not(None))
    )
    resealed = 0
    for record_id, owner, key, sealed in rows:
        if sealed is None or keyring.is_current(sealed):
            continue
        context = _context(owner, key)
        await session.execute(
            update(IdempotencyRecord)
            .where(IdempotencyRecord.id == record_id)
            .values(response_body=keyring.seal(keyring.open(sealed, context), context))
        )
        resealed += 1
    return resealed


async def purge_expired(db: Database, now: datetime) -> int:
    """Delete expired keys (an expired key is also reset when it is used again)."""
    async with db.session() as session:
        result = await session.execute(
            delete(IdempotencyRecord).where(IdempotencyRecord.expires_at <= now)
        )
        await session.commit()
    return int(getattr(result, "rowcount", 0))
