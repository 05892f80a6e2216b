"""The route class every API surface uses: one database transaction per request, committed
before the response leaves, and the ``Idempotency-Key`` protocol around state-changing POSTs."""

from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.routing import APIRoute
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from openbenefits.config import Settings
from openbenefits.kit import idempotency
from openbenefits.kit.blobstore import BlobStore
from openbenefits.kit.clock import Clock
from openbenefits.kit.db import Database
from openbenefits.kit.security import credential_owner

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


def get_blobs(request: Request) -> BlobStore:
    blobs: BlobStore = request.app.state.blobs
    return blobs


# Dependencies are coroutines: FastAPI runs plain functions in a thread pool, a thread hop per
# dependency per request.


async def _session_dependency(request: Request) -> AsyncSession:
    session: AsyncSession = request.state.session
    return session


async def _clock_dependency(request: Request) -> Clock:
    return get_clock(request)


async def _settings_dependency(request: Request) -> Settings:
    return get_settings(request)


async def _blobs_dependency(request: Request) -> BlobStore:
    return get_blobs(request)


SessionDep = Annotated[AsyncSession, Depends(_session_dependency)]
ClockDep = Annotated[Clock, Depends(_clock_dependency)]
SettingsDep = Annotated[Settings, Depends(_settings_dependency)]
BlobsDep = Annotated[BlobStore, Depends(_blobs_dependency)]


class TransactionalRoute(APIRoute):
    # Whether a non-GET request may write; a read-only POST (the token endpoint) needs no write
    # transaction, which on SQLite would queue behind every writer.
    writes = True

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def run(request: Request) -> Response:
            db = get_db(request)
            held = None
            key = request.headers.get(idempotency.HEADER)
            if request.method == "POST" and key is not None:
                outcome = await _claim(request, idempotency.validate_key(key))
                if isinstance(outcome, idempotency.StoredResponse):
                    return outcome.to_response()
                held = outcome
            write = self.writes and request.method not in SAFE_METHODS
            try:
                async with db.session(write=write) as session:
                    request.state.session = session
                    response = await handler(request)
                    if held is not None:
                        await idempotency.complete(session, held, response)
                    await session.commit()
            except BaseException:
                # The session rolled back on leaving; the failed attempt changed nothing.
                if held is not None:
                    await idempotency.release(db, held)
                raise
            return response

        return run


class ReadOnlyRoute(TransactionalRoute):
    writes = False


async def _claim(
    request: Request, key: str
) -> idempotency.Claim | idempotency.StoredResponse | None:
    settings = get_settings(request)
    owner = credential_owner(
        settings.signing_key,
        request.headers.get("x-api-key"),
        request.headers.get("authorization"),
    )
    if owner is None:
        return None
    body = await request.body()
    return await idempotency.claim(
        get_db(request),
        owner=owner,
        key=key,
        fingerprint=idempotency.request_fingerprint(
            request.method, request.url.path, request.url.query, body
        ),
        now=get_clock(request).now(),
        ttl=timedelta(seconds=settings.idempotency_ttl_seconds),
        lease=timedelta(seconds=settings.idempotency_lease_seconds),
    )


class StudioRoute(TransactionalRoute):
    """Studio Open API routes leave absent fields out, as the reference's clients expect (its
    schemas have no nullable fields)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["response_model_exclude_none"] = True
        super().__init__(*args, **kwargs)
