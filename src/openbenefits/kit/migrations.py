"""Alembic, driven from code: ``serve`` and ``migrate`` upgrade, ``/readyz`` compares revisions."""

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from openbenefits.kit.encryption import Keyring

SCRIPT_LOCATION = Path(__file__).resolve().parent.parent / "migrations"
# Serialises migrations of several processes starting together on one PostgreSQL.
_ADVISORY_LOCK_ID = 0x0B_E7_EF_17


def alembic_config(connection: Connection | None = None, keyring: Keyring | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    config.attributes["connection"] = connection
    # For migrations that seal what was kept in clear (without one: the configured instance's).
    config.attributes["keyring"] = keyring
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def upgrade_to_head(engine: AsyncEngine, keyring: Keyring | None = None) -> None:
    await migrate(engine, "head", keyring)


async def migrate(
    engine: AsyncEngine, revision: str, keyring: Keyring | None = None, *, down: bool = False
) -> None:
    """Up (or ``down``) to ``revision`` in one transaction.

    SQLite changes a table's constraints by rebuilding it (Alembic's batch mode), and dropping
    the old copy would delete the rows other tables point at: its foreign keys are off while
    the migrations run (SQLite's own procedure for schema changes) and checked before commit."""

    def move(connection: Connection) -> None:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _ADVISORY_LOCK_ID})
        (command.downgrade if down else command.upgrade)(
            alembic_config(connection, keyring), revision
        )
        if connection.dialect.name == "sqlite":
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
            if broken:
                raise RuntimeError(f"The migration left rows pointing nowhere: {broken}")

    async with engine.connect() as connection:
        sqlite = engine.dialect.name == "sqlite"
        if sqlite:
            await _foreign_keys(connection, on=False)
        try:
            async with connection.begin():
                await connection.run_sync(move)
        finally:
            if sqlite:
                await _foreign_keys(connection, on=True)


async def _foreign_keys(connection: AsyncConnection, *, on: bool) -> None:
    # Outside any transaction, where SQLite heeds this pragma: on the driver's connection, as
    # SQLAlchemy would open one first.
    driver = (await connection.get_raw_connection()).driver_connection
    assert driver is not None
    await driver.execute(f"PRAGMA foreign_keys = {'ON' if on else 'OFF'}")


async def current_revision(engine: AsyncEngine) -> str | None:
    def read(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    async with engine.connect() as connection:
        return await connection.run_sync(read)
