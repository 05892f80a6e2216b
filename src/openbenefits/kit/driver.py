"""Where a statement runs: ``Fetch`` is "run this Core statement, answer its rows as mappings",
either on a session's connection or on a bare asyncpg connection. Code written against ``Fetch``
serves both; the bare connection is for the few hot paths where SQLAlchemy's execution layers
(session, connection proxies, result processing) cost more than the query.

On the bare connection each statement is compiled once per process and its parameters are passed
as they are, so such statements take only values asyncpg binds natively (ints, strings, aware
datetimes; JSON as text). Rows come back as asyncpg records: mappings by column label, with the
driver's types (a string enum column is a plain ``str``, a date a ``date``).
"""

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from types import TracebackType
from typing import Any

import asyncpg
from opentelemetry.trace import SpanKind, Tracer
from sqlalchemy import URL, Dialect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.sql import Executable
from sqlalchemy.sql.compiler import Compiled

from openbenefits.kit.errors import AppError

Fetch = Callable[[Executable, Mapping[str, Any]], Awaitable[Sequence[Mapping[Any, Any]]]]


def on_connection(connection: AsyncConnection) -> Fetch:
    """Statements run through SQLAlchemy, in the connection's transaction."""

    async def fetch(
        statement: Executable, params: Mapping[str, Any]
    ) -> Sequence[Mapping[Any, Any]]:
        return (await connection.execute(statement, params)).mappings().all()

    return fetch


async def on_session(session: AsyncSession) -> Fetch:
    """Statements run through SQLAlchemy, in the session's transaction."""
    return on_connection(await session.connection())


def on_driver(connection: Any, dialect: Dialect, tracer: Tracer | None = None) -> Fetch:
    """Statements run on a bare asyncpg connection, each committing on its own; each a span of
    ``tracer``'s, if the process traces (SQLAlchemy's statements are traced by its
    instrumentation, which never sees these)."""
    fetch = partial(_fetch, connection, dialect)
    return fetch if tracer is None else partial(_traced, tracer, dialect, fetch)


async def _traced(
    tracer: Tracer,
    dialect: Dialect,
    fetch: Fetch,
    statement: Executable,
    params: Mapping[str, Any],
) -> Sequence[Mapping[Any, Any]]:
    text = _prepare(statement, dialect).text
    operation = text.split(None, 1)[0]
    # The attributes SQLAlchemy's instrumentation gives its statements: one vocabulary per trace.
    attributes = {"db.system": "postgresql", "db.statement": text, "db.operation": operation}
    with tracer.start_as_current_span(operation, kind=SpanKind.CLIENT, attributes=attributes):
        return await fetch(statement, params)


@dataclass(frozen=True)
class _Prepared:
    statement: Executable  # held so that its id is never reused while cached
    text: str
    compiled: Compiled
    names: Sequence[str]


_prepared: dict[int, _Prepared] = {}


def _prepare(statement: Executable, dialect: Dialect) -> _Prepared:
    prepared = _prepared.get(id(statement))
    if prepared is None:
        compiled = statement.compile(dialect=dialect)  # type: ignore[attr-defined]
        names = compiled.positiontup
        assert names is not None, "asyncpg's dialect binds parameters by position"
        prepared = _Prepared(statement, str(compiled), compiled, names)
        _prepared[id(statement)] = prepared
    return prepared


async def _fetch(
    connection: Any, dialect: Dialect, statement: Executable, params: Mapping[str, Any]
) -> Sequence[Mapping[Any, Any]]:
    # One round trip: asyncpg keeps the statement prepared per connection.
    prepared = _prepare(statement, dialect)
    # construct_params adds the values the statement carries itself (literals, defaults).
    values = prepared.compiled.construct_params(params)
    assert values is not None
    try:
        rows: Sequence[Mapping[Any, Any]] = await connection.fetch(
            prepared.text, *(values[name] for name in prepared.names)
        )
    except asyncpg.IntegrityConstraintViolationError as error:
        # What SQLAlchemy raises for the same violation: `except IntegrityError` in code written
        # against ``Fetch`` means one thing on both paths.
        raise IntegrityError(prepared.text, None, error) from error
    return rows


class Pool:
    """Bare asyncpg connections in autocommit, for the hot paths. A checkout takes an idle
    connection off a list and a check-in puts it back as it is: each statement commits on its
    own, so there is no transaction to roll back and no session state to reset (asyncpg's pool
    would reset every connection with a query, SQLAlchemy's costs a tenth of a check in Python).
    A connection that saw anything but a completed statement or a refusal is closed instead."""

    def __init__(self, url: URL, size: int) -> None:
        self._dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._slots = asyncio.Semaphore(size)
        self._idle: list[asyncpg.Connection] = []

    def connection(self) -> "_Checkout":
        return _Checkout(self)

    async def _take(self) -> asyncpg.Connection:
        await self._slots.acquire()
        try:
            while self._idle:
                connection = self._idle.pop()
                if not connection.is_closed():
                    return connection
            return await asyncpg.connect(self._dsn)
        except BaseException:
            self._slots.release()
            raise

    def _give_back(self, connection: asyncpg.Connection, reusable: bool) -> None:
        if reusable and not connection.is_closed():
            self._idle.append(connection)
        else:
            connection.terminate()
        self._slots.release()

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        await asyncio.gather(*(connection.close() for connection in idle))


class _Checkout:
    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    async def __aenter__(self) -> asyncpg.Connection:
        self._connection = await self._pool._take()
        return self._connection

    async def __aexit__(
        self,
        _type: type[BaseException] | None,
        error: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        # A refusal (AppError) or a statement PostgreSQL rejected leaves the connection idle and
        # usable; a cancellation or a broken connection may leave it mid-protocol.
        reusable = error is None or isinstance(
            error, AppError | asyncpg.PostgresError | IntegrityError
        )
        self._pool._give_back(self._connection, reusable)
