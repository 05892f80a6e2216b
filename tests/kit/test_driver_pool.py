"""The bare driver connections of the hot paths (kit/driver.py's Pool), on PostgreSQL."""

import asyncio

import asyncpg
import pytest
from sqlalchemy import bindparam, insert
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from openbenefits.kit import driver
from openbenefits.kit.db import Database
from openbenefits.kit.errors import NotFound
from openbenefits.tenancy.models import Tenant


@pytest.fixture
async def pool(db: Database, database_url: str):
    if db.is_sqlite:
        pytest.skip("bare driver connections exist on PostgreSQL only")
    pool = driver.Pool(make_url(database_url), size=2)
    yield pool
    await pool.close()


async def _backend(connection: asyncpg.Connection) -> int:
    pid: int = await connection.fetchval("SELECT pg_backend_pid()")
    return pid


async def test_a_connection_is_reused_as_it_is(pool):
    async with pool.connection() as connection:
        first = await _backend(connection)
        assert await connection.fetchval("SHOW transaction_isolation") == "read committed"
    async with pool.connection() as connection:
        assert await _backend(connection) == first
        assert not connection.is_in_transaction()


async def test_checkouts_wait_for_a_free_connection(pool):
    held = [pool.connection(), pool.connection()]
    connections = [await checkout.__aenter__() for checkout in held]
    waiting = asyncio.create_task(pool.connection().__aenter__())
    await asyncio.sleep(0.05)
    assert not waiting.done()
    await held[0].__aexit__(None, None, None)
    assert await asyncio.wait_for(waiting, 5) is connections[0]
    await held[1].__aexit__(None, None, None)


@pytest.mark.parametrize(
    "error",
    [NotFound("no such customer"), asyncpg.UniqueViolationError("duplicate key")],
    ids=["refusal", "statement rejected"],
)
async def test_a_connection_survives_refusals_and_rejected_statements(pool, error):
    backends: list[int] = []

    async def refused() -> None:
        async with pool.connection() as connection:
            backends.append(await _backend(connection))
            raise error

    with pytest.raises(type(error)):
        await refused()
    async with pool.connection() as connection:
        assert await _backend(connection) == backends[0]


async def test_a_cancelled_checkout_closes_its_connection(pool):
    started = asyncio.Event()
    seen: list[asyncpg.Connection] = []

    async def slow_query() -> None:
        async with pool.connection() as connection:
            seen.append(connection)
            started.set()
            await connection.execute("SELECT pg_sleep(10)")

    task = asyncio.create_task(slow_query())
    await started.wait()
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert seen[0].is_closed()
    async with pool.connection() as connection:
        assert connection is not seen[0]
        assert await connection.fetchval("SELECT 1") == 1


async def test_a_violated_constraint_raises_what_sqlalchemy_raises_on_both_paths(db: Database):
    """Code written against ``Fetch`` catches ``IntegrityError`` whichever path runs it."""
    if db.is_sqlite:
        pytest.skip("bare driver connections exist on PostgreSQL only")
    duplicate = (
        insert(Tenant)
        .values(id=bindparam("id"), name="Twice", slug="twice", time_zone="Europe/Berlin")
        .returning(Tenant.id)
    )
    async with db.session() as session:
        await driver.on_connection(await session.connection())(duplicate, {"id": 1})
        await session.commit()
    async with db.session() as session:
        with pytest.raises(IntegrityError):
            await driver.on_connection(await session.connection())(duplicate, {"id": 1})
    async with db.driver_connection() as connection:
        backend = await _backend(connection)
        with pytest.raises(IntegrityError):
            await driver.on_driver(connection, db.engine.dialect)(duplicate, {"id": 1})
    async with db.driver_connection() as connection:
        assert await _backend(connection) == backend  # refused, and still in use
