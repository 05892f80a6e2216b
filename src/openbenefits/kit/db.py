"""Engine, sessions and the declarative base shared by every domain's models."""

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from opentelemetry.trace import Tracer, TracerProvider
from sqlalchemy import JSON, BigInteger, DateTime, Dialect, Enum, Integer, MetaData, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

from openbenefits.kit import driver
from openbenefits.kit.errors import Conflict

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only auto-increments a column declared exactly INTEGER PRIMARY KEY.
BigIntId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """An instant: accepts only aware datetimes, stores UTC, always returns aware UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for an instant column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(
        self,
        value: datetime | None,
        dialect: Dialect,  # noqa: ARG002 - SQLAlchemy's signature
    ) -> datetime | None:
        if value is None or value.tzinfo is not None:
            return value
        return value.replace(tzinfo=UTC)


def string_enum(kind: type[StrEnum]) -> Enum:
    """A string column holding ``kind``'s values and read back as ``kind`` (no native enum type:
    adding a value stays a code change, not a migration on PostgreSQL)."""
    values = [member.value for member in kind]
    length = max(20, *(len(v) for v in values))
    return Enum(kind, native_enum=False, length=length, values_callable=lambda _: values)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON(), list[str]: JSON()}


@dataclass(frozen=True)
class ConnectionBudget:
    writes: int
    reads: int
    fast_path: int


def connection_budget(connections: int) -> ConnectionBudget:
    """How a process's PostgreSQL connections are shared: a sixth each (at least one) for write
    transactions and autocommit reads, the rest for the fast path (the hot routes,
    kit/driver.py), whose writes commit one by one: the more in flight, the more each WAL flush
    carries. Each pool opens its connections as needed and keeps them; together they never
    exceed ``connections``."""
    if connections < 3:
        raise ValueError("a process needs at least 3 connections: one for each pool")
    share = max(1, connections // 6)
    return ConnectionBudget(writes=share, reads=share, fast_path=connections - 2 * share)


class Database:
    """Owns the engines and hands out sessions.

    Writing requests run in one transaction. On SQLite it starts with ``BEGIN IMMEDIATE``: the
    write lock is taken up front, so concurrent writers queue on ``busy_timeout`` instead of
    failing when they would upgrade a read lock.

    Reading requests run in autocommit: each statement sees what was committed when it started,
    which is what READ COMMITTED gives a multi-statement transaction anyway, and it saves the
    ``BEGIN``/``COMMIT`` round trips on every GET. Under SQLite's WAL they never wait for writers.
    """

    def __init__(self, url: str, *, connections: int = 12) -> None:
        self.url = make_url(url)
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        if self.is_sqlite:
            if self.url.database and self.url.database != ":memory:":
                Path(self.url.database).parent.mkdir(parents=True, exist_ok=True)
            # One writing connection per process: SQLite admits one writer at a time anyway, and
            # queueing for the pool is fair and prompt where busy_timeout would sleep and retry.
            self.engine = self._sqlite_engine(url, begin="BEGIN IMMEDIATE", pool_size=1)
            self.read_engine = self._sqlite_engine(url, begin=None, pool_size=connections)
        else:
            budget = connection_budget(connections)
            # No pre-ping: it would cost a round trip per request; a dead connection fails one
            # request and is replaced. No overflow: the budget is a bound, and a request beyond
            # it waits for a connection rather than opening one.
            pool = {"max_overflow": 0, "pool_recycle": 1800}
            self.engine = create_async_engine(url, pool_size=budget.writes, **pool)
            # A pool of its own, in autocommit from the connection's start: switching a shared
            # connection's isolation level on every checkout costs more than a small query.
            self.read_engine = create_async_engine(
                url, isolation_level="AUTOCOMMIT", pool_size=budget.reads, **pool
            )
            self.driver_pool = driver.Pool(self.url, budget.fast_path)
        # Read once: the engine's property is a proxy, and the fast path compiles with it.
        self.dialect = self.read_engine.dialect
        # Set while the process traces (kit/tracing.trace_database): the bare driver's
        # statements and the webhook worker's deliveries are spans of theirs.
        self.tracer_provider: TracerProvider | None = None
        self.tracer: Tracer | None = None
        self._writers = async_sessionmaker(self.engine, expire_on_commit=False)
        self._readers = async_sessionmaker(self.read_engine, expire_on_commit=False)

    @staticmethod
    def _sqlite_engine(url: str, *, begin: str | None, pool_size: int) -> AsyncEngine:
        engine = create_async_engine(
            url, connect_args={"timeout": 30}, pool_size=pool_size, max_overflow=0
        )

        @event.listens_for(engine.sync_engine, "connect")
        def on_connect(dbapi_connection: Any, _record: Any) -> None:
            # The driver never opens transactions itself; only the "begin" event below does.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        if begin is not None:

            @event.listens_for(engine.sync_engine, "begin")
            def on_begin(connection: Any) -> None:
                connection.exec_driver_sql(begin)

        return engine

    @asynccontextmanager
    async def session(self, *, write: bool = True) -> AsyncIterator[AsyncSession]:
        factory = self._writers if write else self._readers
        async with factory() as session:
            yield session

    def driver_connection(self) -> AbstractAsyncContextManager[Any]:
        """A bare asyncpg connection in autocommit, for the hot paths that run their statements
        through ``kit.driver`` (PostgreSQL only: each statement commits on its own, so a write
        that must be atomic is one statement)."""
        return self.driver_pool.connection()

    async def dispose(self) -> None:
        await self.engine.dispose()
        await self.read_engine.dispose()
        if not self.is_sqlite:
            await self.driver_pool.close()


async def flush_or_conflict(session: AsyncSession, message: str, *, code: str) -> None:
    """Flush, turning a unique-constraint violation into a ``Conflict`` the client can act on."""
    try:
        await session.flush()
    except IntegrityError as error:
        raise Conflict(message, code=code) from error
