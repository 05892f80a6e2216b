"""``Idempotency-Key`` for state-changing POSTs (PRODUCT.md §1).

A key is claimed in a short transaction of its own, committed before the work starts, so that a
concurrent retry sees it: while the first request runs, a retry gets 409. The work's transaction
then stores the response on the claim and commits both together, so "done" and "work done" can
never disagree. A request that fails changed nothing, so its claim is released and a retry runs
afresh. A claim whose holder died is taken over after a lease; the original holder, should it
still finish, loses its guarded update and rolls back. The same key with another request is 422.
Keys expire after ``idempotency_ttl_seconds`` (24 h).
"""

import asyncio
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import LargeBinary, String, UniqueConstraint, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column
from starlette.responses import Response

from openbenefits.kit.clock import Clock
from openbenefits.kit.db import Base, BigIntId, Database
from openbenefits.kit.errors import Conflict, InvalidRequest, Unprocessable

log = structlog.get_logger()

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
    response_body: Mapped[bytes | None] = mapped_column(LargeBinary)
    response_media_type: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)


@dataclass(frozen=True)
class Claim:
    record_id: int
    lease_token: str


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


def validate_key(key: str) -> str:
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise InvalidRequest(
            f"{HEADER} must be 1 to {MAX_KEY_LENGTH} printable characters.",
            code="INVALID_IDEMPOTENCY_KEY",
        )
    return key


async def claim(
    db: Database,
    *,
    owner: str,
    key: str,
    fingerprint: str,
    now: datetime,
    ttl: timedelta,
    lease: timedelta,
) -> Claim | StoredResponse:
    """Claim ``key`` for this request, or answer what an earlier request with it said."""
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
                return Claim(record.id, token)
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
                return Claim(record.id, token)
            if record.request_hash != fingerprint:
                raise Unprocessable(
                    f"This {HEADER} was used for a different request.",
                    code="IDEMPOTENCY_KEY_REUSED",
                )
            if record.response_status is not None:
                return StoredResponse(
                    record.response_status, record.response_body or b"", record.response_media_type
                )
            if record.locked_until is not None and record.locked_until > now:
                raise Conflict(
                    f"A request with this {HEADER} is still being processed.",
                    code="IDEMPOTENCY_REQUEST_IN_PROGRESS",
                )
            await _update(session, record.id, **held)
            return Claim(record.id, token)


async def _update(session: AsyncSession, record_id: int, **values: Any) -> None:
    await session.execute(
        update(IdempotencyRecord).where(IdempotencyRecord.id == record_id).values(**values)
    )
    await session.commit()


async def complete(session: AsyncSession, held: Claim, response: Response) -> None:
    """Store the response in the work's own transaction; fails if the claim was taken over."""
    result = await session.execute(
        update(IdempotencyRecord)
        .where(
            IdempotencyRecord.id == held.record_id,
            IdempotencyRecord.lease_token == held.lease_token,
        )
        .values(
            response_status=response.status_code,
            response_body=bytes(response.body),
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


async def release(db: Database, held: Claim) -> None:
    async with db.session() as session:
        await session.execute(
            delete(IdempotencyRecord).where(
                IdempotencyRecord.id == held.record_id,
                IdempotencyRecord.lease_token == held.lease_token,
            )
        )
        await session.commit()


async def purge_expired(db: Database, now: datetime) -> int:
    """Delete expired keys (an expired key is also reset when it is used again)."""
    async with db.session() as session:
        result = await session.execute(
            delete(IdempotencyRecord).where(IdempotencyRecord.expires_at <= now)
        )
        await session.commit()
    return int(getattr(result, "rowcount", 0))


async def purge_periodically(db: Database, clock: Clock, every: timedelta) -> None:
    """Run for the life of the server process; several processes purging at once is harmless."""
    while True:
        try:
            await purge_expired(db, clock.now())
        except Exception:  # a failed purge must not end the loop; the next one catches up
            log.exception("purging idempotency keys failed")
        await asyncio.sleep(every.total_seconds())
