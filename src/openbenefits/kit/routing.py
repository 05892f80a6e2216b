"""The route class every API surface uses. In this order, for every request: the route's guards
(authentication and authorization), then the ``Idempotency-Key`` protocol for state-changing
POSTs, then one database transaction, committed before the response leaves."""

import abc
from collections.abc import Callable, Coroutine, Iterator
from datetime import timedelta
from typing import Annotated, Any, Protocol, TypeVar

from fastapi import Depends, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from openbenefits.config import Settings
from openbenefits.kit import idempotency
from openbenefits.kit.blobstore import BlobStore
from openbenefits.kit.clock import Clock
from openbenefits.kit.db import Database

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


class Principal(Protocol):
    @property
    def idempotency_owner(self) -> str:
        """Whose idempotency records these are: the credential, its tenant binding and its
        surface, so that no other principal ever replays them."""
        ...


class Guard(abc.ABC):
    """A surface's authentication and authorization, declared as a route's dependency: the route
    finds it in its dependencies and runs it before anything else looks at the request, the
    ``Idempotency-Key`` included; as a dependency it then hands the endpoint the principal."""

    @abc.abstractmethod
    async def check(self, request: Request) -> Principal:
        """The principal, or 401 / 403 / 404. Called more than once per request: cheap after
        the first (``authenticated``)."""


P = TypeVar("P", bound=Principal)


async def authenticated(
    request: Request, authenticate: Callable[[Request], Coroutine[Any, Any, P]]
) -> P:
    """The request's credentials authenticated once, however many guards ask."""
    principal: P | None = getattr(request.state, "principal", None)
    if principal is None:
        principal = await authenticate(request)
        request.state.principal = principal
    return principal


def guards_of(dependant: Dependant) -> Iterator[Guard]:
    for dependency in dependant.dependencies:
        if isinstance(dependency.call, Guard):
            yield dependency.call
        yield from guards_of(dependency)


class TransactionalRoute(APIRoute):
    # Whether a non-GET request may write; a read-only POST (the token endpoint) needs no write
    # transaction, which on SQLite would queue behind every writer.
    writes = True

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        guards = tuple(dict.fromkeys(guards_of(self.dependant)))

        async def run(request: Request) -> Response:
            principal = None
            for guard in guards:
                principal = await guard.check(request)
            key = request.headers.get(idempotency.HEADER)
            if request.method != "POST" or key is None or principal is None:
                return await self._transaction(request, handler, None)
            outcome = await _claim(request, principal, idempotency.validate_key(key))
            if isinstance(outcome, idempotency.StoredResponse):
                return outcome.to_response()
            settings = get_settings(request)
            lease = timedelta(seconds=settings.idempotency_lease_seconds)
            async with idempotency.kept(get_db(request), outcome, get_clock(request), lease):
                return await self._transaction(request, handler, outcome)

        return run

    async def _transaction(
        self,
        request: Request,
        handler: Callable[[Request], Coroutine[Any, Any, Response]],
        held: idempotency.Claim | None,
    ) -> Response:
        db = get_db(request)
        write = self.writes and request.method not in SAFE_METHODS
        try:
            async with db.session(write=write) as session:
                request.state.session = session
                response = await handler(request)
                if held is not None:
                    await idempotency.complete(
                        session, get_settings(request).keyring, held, response
                    )
                await session.commit()
        except BaseException:
            # The session rolled back on leaving; the failed attempt changed nothing.
            if held is not None:
                await idempotency.release(db, held)
            raise
        return response


class ReadOnlyRoute(TransactionalRoute):
    writes = False


async def _claim(
    request: Request, principal: Principal, key: str
) -> idempotency.Claim | idempotency.StoredResponse:
    settings = get_settings(request)
    body = await request.body()
    return await idempotency.claim(
        get_db(request),
        settings.keyring,
        owner=principal.idempotency_owner,
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
