"""Migrations: one head, they build exactly the schema the models declare, and what they move
they move intact."""

import uuid
from collections.abc import AsyncIterator

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import make_url

from openbenefits.kit.db import Database
from openbenefits.kit.encryption import Keyring
from openbenefits.kit.migrations import alembic_config, current_revision, head_revision
from openbenefits.models import Base
from tests.conftest import pg_admin


def test_there_is_one_head():
    assert len(ScriptDirectory.from_config(alembic_config()).get_heads()) == 1


async def test_the_migrated_database_matches_the_models(db):
    assert await current_revision(db.engine) == head_revision()

    def differences(connection):
        return compare_metadata(MigrationContext.configure(connection), Base.metadata)

    async with db.engine.connect() as connection:
        assert await connection.run_sync(differences) == []


@pytest.fixture
async def empty_database(database_url: str, tmp_path) -> AsyncIterator[Database]:
    """A database of its own, on the suite's server, with no migration applied."""
    if make_url(database_url).get_backend_name() == "sqlite":
        database = Database(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}", connections=3)
        yield database
        await database.dispose()
        return
    name = f"openbenefits_migration_{uuid.uuid4().hex[:12]}"
    await pg_admin(database_url, f'CREATE DATABASE "{name}"')
    database = Database(make_url(database_url).set(database=name).render_as_string(False))
    try:
        yield database
    finally:
        await database.dispose()
        await pg_admin(database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _migrate(database: Database, keyring: Keyring, revision: str, *, down: bool = False):
    def move(connection):
        config = alembic_config(connection, keyring)
        (command.downgrade if down else command.upgrade)(config, revision)

    async with database.engine.begin() as connection:
        await connection.run_sync(move)


async def _subscription(database: Database) -> dict[str, object]:
    async with database.engine.connect() as connection:
        row = (await connection.execute(text("SELECT * FROM webhook_subscriptions"))).one()
    return dict(row._mapping)


async def test_webhook_secrets_kept_in_clear_are_sealed_on_upgrade(empty_database):
    keyring = Keyring.from_secrets(b"the instance secret")
    await _migrate(empty_database, keyring, "0012")
    statements = [
        "INSERT INTO tenants (id, name, slug, time_zone) VALUES (7, 'T', 't', 'UTC')",
        "INSERT INTO studios (id, tenant_id, name, time_zone, currency, locale)"
        " VALUES (1, 7, 'S', 'UTC', 'EUR', 'de-DE')",
        "INSERT INTO partners (id, tenant_id, name) VALUES (1, 7, 'P')",
        "INSERT INTO partner_integrations"
        " (id, tenant_id, partner_id, studio_id, active, direct_cancelation, direct_withdrawal)"
        " VALUES (1, 7, 1, 1, true, false, false)",
        "INSERT INTO webhook_subscriptions (id, tenant_id, partner_integration_id, url,"
        " event_types, api_key, secret, previous_secret, active)"
        " VALUES (1, 7, 1, 'https://x.example', '[]', 'their-key', 'whsec_now', 'whsec_before',"
        " true)",
    ]
    async with empty_database.engine.begin() as connection:
        for statement in statements:
            await connection.execute(text(statement))
    await _migrate(empty_database, keyring, "0013")
    sealed = await _subscription(empty_database)
    assert not {"api_key", "secret", "previous_secret"} & sealed.keys()
    opened = {
        column: keyring.open_text(bytes(sealed[column]), f"webhook_subscriptions.{what}\n7")
        for column, what in (
            ("sealed_api_key", "api_key"),
            ("sealed_secret", "secret"),
            ("sealed_previous_secret", "secret"),
        )
    }
    assert opened == {
        "sealed_api_key": "their-key",
        "sealed_secret": "whsec_now",
        "sealed_previous_secret": "whsec_before",
    }
    await _migrate(empty_database, keyring, "0012", down=True)
    plain = await _subscription(empty_database)
    assert (plain["api_key"], plain["secret"], plain["previous_secret"]) == (
        "their-key",
        "whsec_now",
        "whsec_before",
    )
