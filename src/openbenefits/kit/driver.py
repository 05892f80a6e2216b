"""Where a statement runs: ``Fetch`` is "run this Core statement, answer its rows as mappings",
either on a session's connection or on a bare asyncpg connection. Code written against ``Fetch``
serves both; the bare connection is for the few hot paths where SQLAlchemy's execution layers
(session, connection proxies, result processing) cost more than the query.

On the bare connection each statement is compiled once per process and its parameters are passed
as they are, so such statements take only values asyncpg binds natively (ints, strings, aware
datetimes; JSON as text). Rows come back as asyncpg records: mappings by column label, with the
driver's types (a string enum column is a plain ``str``, a date a ``date``).
"""

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from sqlalchemy import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.sql import Executable
from sqlalchemy.sql.compiler import Compiled

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


def on_driver(connection: Any, dialect: Dialect) -> Fetch:
    """Statements run on a bare asyncpg connection, each committing on its own."""
    return partial(_fetch, connection, dialect)


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
    rows: Sequence[Mapping[Any, Any]] = await connection.fetch(
        prepared.text, *(values[name] for name in prepared.names)
    )
    return rows
