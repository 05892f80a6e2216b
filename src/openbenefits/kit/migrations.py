"""Alembic, driven from code: ``serve`` and ``migrate`` upgrade, ``/readyz`` compares revisions."""

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine

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
    def upgrade(connection: Connection) -> None:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _ADVISORY_LOCK_ID})
        command.upgrade(alembic_config(connection, keyring), "head")

    async with engine.begin() as connection:
        await connection.run_sync(upgrade)


async def current_revision(engine: AsyncEngine) -> str | None:
    def read(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    async with engine.connect() as connection:
        return await connection.run_sync(read)
