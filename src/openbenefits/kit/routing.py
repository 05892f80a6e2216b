"""The route class every API surface uses, and the one request pipeline: in this order, for
every request, whether the framework or the fast dispatch (kit/fast.py) brought it here: the
route's guards (authentication and authorization), then the ``Idempotency-Key`` protocol for
state-changing POSTs, then the unit of work (kit/work.py), committed before the response leaves.
JSON bodies are read as JSON, strictly, with the surface's rule for unknown members
(kit/bodies.py). Around it, as ASGI layers every request passes: request ids, logs and metrics,
rate limits, input limits (kit/middleware.py, kit/rate_limits.py); error rendering is the app's
exception handlers (kit/error_handlers.py), which both ways reach."""

import abc
from collections.abc import Callable, Coroutine, Iterator
from datetime import timedelta
from typing import Annotated, Any, Protocol, TypeVar

from fastapi import Depends, FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, _effective_route_context_var
from pydantic.config import ExtraValues
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from openbenefits.config import Settings
from openbenefits.kit import idempotency
from openbenefits.kit.blobstore import BlobStore
from openbenefits.kit.bodies import take_json_strictly
from openbenefits.kit.clock import Clock
from openbenefits.kit.db import Database
from openbenefits.kit.work import Work

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


# The pipeline's per-request values live in the ASGI scope under these keys: ``request.state``
# would do the same through a layer of attribute lookups on every request.
PRINCIPAL = "openbenefits.principal"
WORK = "openbenefits.work"


async def provide_work(request: Request) -> Work:
    work: Work = request.scope[WORK]
    return work


async def _session_dependency(request: Request) -> AsyncSession:
    return await (await provide_work(request)).session()


async def provide_clock(request: Request) -> Clock:
    return get_clock(request)


async def _settings_dependency(request: Request) -> Settings:
    return get_settings(request)


async def _blobs_dependency(request: Request) -> BlobStore:
    return get_blobs(request)


WorkDep = Annotated[Work, Depends(provide_work)]
SessionDep = Annotated[AsyncSession, Depends(_session_dependency)]
ClockDep = Annotated[Clock, Depends(provide_clock)]
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
    principal: P | None = request.scope.get(PRINCIPAL)
    if principal is None:
        principal = await authenticate(request)
        request.scope[PRINCIPAL] = principal
    return principal


def guards_of(dependant: Dependant) -> Iterator[Guard]:
    for dependency in dependant.dependencies:
        if isinstance(dependency.call, Guard):
            yield dependency.call
        yield from guards_of(dependency)


FAST = "__openbenefits_fast__"
Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])
Handler = Callable[[Request], Coroutine[Any, Any, Response]]


def fast(endpoint: Endpoint) -> Endpoint:
    """Declares a hot route's endpoint fast: kit/fast.py serves it without the framework's
    request machinery, and its unit of work may run bare (kit/work.py). Its parameters are path,
    query, header and JSON body values, and its dependencies only the pipeline's own: the
    guard's principal, ``WorkDep``, ``ClockDep`` and the ``Response``."""
    setattr(endpoint, FAST, True)
    return endpoint


class TransactionalRoute(APIRoute):
    # Whether a non-GET request may write; a read-only POST (the token endpoint) needs no write
    # transaction, which on SQLite would queue behind every writer.
    writes = True
    # What a JSON body's members the route does not know make: a refusal, or nothing.
    unknown_members: ExtraValues = "forbid"

    def get_route_handler(self) -> Handler:
        # Called for the route itself and for each router inclusion, which serves it with a
        # dependant of its own (FastAPI's "effective route context").
        context = _effective_route_context_var.get()
        served = context if context is not None and context.original_route is self else self
        take_json_strictly(served.dependant, self.unknown_members)
        framework = super().get_route_handler()
        self.guards = tuple(dict.fromkeys(guards_of(self.dependant)))
        self.fast = bool(getattr(self.endpoint, FAST, False))

        async def run(request: Request) -> Response:
            return await self.pipeline(request, framework)

        return run

    async def pipeline(self, request: Request, handler: Handler) -> Response:
        """The request's steps around ``handler``, which reads its parameters, calls the
        endpoint and renders its answer."""
        principal = None
        for guard in self.guards:
            principal = await guard.check(request)
        key = request.headers.get(idempotency.HEADER)
        if request.method != "POST" or key is None or principal is None:
            return await self._unit_of_work(request, handler, None)
        outcome = await _claim(request, principal, idempotency.validate_key(key))
        if isinstance(outcome, idempotency.StoredResponse):
            return outcome.to_response()
        settings = get_settings(request)
        lease = timedelta(seconds=settings.idempotency_lease_seconds)
        async with idempotency.kept(get_db(request), outcome, get_clock(request), lease):
            return await self._unit_of_work(request, handler, outcome)

    async def _unit_of_work(
        self, request: Request, handler: Handler, held: idempotency.Claim | None
    ) -> Response:
        db = get_db(request)
        write = self.writes and request.method not in SAFE_METHODS
        # A claimed request's answer commits with its effects: never bare.
        work = Work(db, write=write, bare=self.fast and held is None)
        request.scope[WORK] = work
        try:
            async with work:
                response = await handler(request)
                if held is not None:
                    await idempotency.complete(
                        await work.session(), get_settings(request).keyring, held, response
                    )
                await work.commit()
        except BaseException:
            # The unit rolled back on leaving; the failed attempt changed nothing.
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
    schemas have no nullable fields), and ignore members they do not know, which a client
    generated from a later version of the reference may send."""

    unknown_members: ExtraValues = "ignore"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["response_model_exclude_none"] = True
        super().__init__(*args, **kwargs)


def extend_openapi(app: FastAPI, step: Callable[[dict[str, Any]], None]) -> None:
    """Lets ``step`` complete the app's OpenAPI document once, when it is first generated (each
    extension wraps the ones before it: FastAPI's way to extend the document)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            step(generate())
        return generate()

    app.openapi = openapi  # type: ignore[method-assign]
