"""Migrations: one head, they build exactly the schema the models declare, and what they move
they move intact."""

import uuid
from collections.abc import AsyncIterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import make_url

from openbenefits.kit.db import Database
from openbenefits.kit.encryption import Keyring
from openbenefits.kit.migrations import alembic_config, current_revision, head_revision, migrate
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
    await migrate(database.engine, revision, keyring, down=down)


async def _subscription(database: Database) -> dict[str, object]:
    async with database.engine.connect() as connection:
        row = (await connection.execute(text("SELECT * FROM webhook_subscriptions"))).one()
    return dict(row._mapping)


# A tenant with a studio and a partner, in the columns every revision since 0012 has.
A_TENANT = [
    "INSERT INTO tenants (id, name, slug, time_zone) VALUES (7, 'T', 't', 'UTC')",
    "INSERT INTO studios (id, tenant_id, name, time_zone, currency, locale)"
    " VALUES (1, 7, 'S', 'UTC', 'EUR', 'de-DE')",
    "INSERT INTO partners (id, tenant_id, name) VALUES (1, 7, 'P')",
]


async def _load(database: Database, statements: list[str]) -> None:
    async with database.engine.begin() as connection:
        for statement in statements:
            await connection.execute(text(statement))


async def test_webhook_secrets_kept_in_clear_are_sealed_on_upgrade(empty_database):
    keyring = Keyring.from_secrets(b"the instance secret")
    await _migrate(empty_database, keyring, "0012")
    statements = [
        *A_TENANT,
        "INSERT INTO partner_integrations"
        " (id, tenant_id, partner_id, studio_id, active, direct_cancelation, direct_withdrawal)"
        " VALUES (1, 7, 1, 1, true, false, false)",
        "INSERT INTO webhook_subscriptions (id, tenant_id, partner_integration_id, url,"
        " event_types, api_key, secret, previous_secret, active)"
        " VALUES (1, 7, 1, 'https://x.example', '[]', 'their-key', 'whsec_now', 'whsec_before',"
        " true)",
    ]
    await _load(empty_database, statements)
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


async def _rows(database: Database, query: str) -> list[tuple]:
    async with database.engine.connect() as connection:
        return [tuple(row) for row in (await connection.execute(text(query))).all()]


async def test_grants_limits_and_counters_move_to_stacked_limits_and_back(empty_database):
    keyring = Keyring.from_secrets(b"the instance secret")
    await _migrate(empty_database, keyring, "0016")
    statements = [
        *A_TENANT,
        "INSERT INTO benefits (id, tenant_id, partner_id, key, name, cross_facility)"
        " VALUES (1, 7, 1, 'SAUNA', 'Sauna', false)",
        "INSERT INTO rates (id, tenant_id, name, term_value, term_unit, extension_term_value,"
        " extension_term_unit, cancellation_period_value, cancellation_period_unit)"
        " VALUES (1, 7, 'R', 12, 'MONTH', 1, 'MONTH', 1, 'MONTH')",
        "INSERT INTO benefit_grants (id, tenant_id, benefit_id, rate_id, uses, period)"
        " VALUES (1, 7, 1, 1, 5, 'MONTH')",
        "INSERT INTO benefit_grants (id, tenant_id, benefit_id, rate_id, uses, period, removed_at)"
        " VALUES (2, 7, 1, 1, NULL, NULL, '2026-01-01 00:00:00')",
        "INSERT INTO customers (id, tenant_id, studio_id, customer_number, uuid, status,"
        " first_name, last_name, first_name_key, last_name_key)"
        " VALUES (3, 7, 1, 'C3', '00000000-0000-4000-8000-000000000003', 'MEMBER',"
        " 'A', 'B', 'a', 'b')",
        "INSERT INTO api_keys (id, tenant_id, studio_id, name, prefix, key_hash, scopes)"
        " VALUES (1, 7, 1, 'k', 'p', 'h', '[]')",
        "INSERT INTO benefit_counters (id, tenant_id, grant_id, contract_id, period_start,"
        " period_end, uses_limit, used)"
        " VALUES (4, 7, 1, 9, '2026-11-01 00:00:00', '2026-12-01 00:00:00', 5, 2)",
        "INSERT INTO benefit_usages (id, tenant_id, customer_id, benefit_id, benefit_key,"
        " grant_id, contract_id, counter_id, period_start, period_end, studio_id, api_key_id,"
        " channel, used_at) VALUES (1, 7, 3, 1, 'SAUNA', 1, 9, 4, '2026-11-01 00:00:00',"
        " '2026-12-01 00:00:00', 1, 1, 'USE', '2026-11-02 10:00:00')",
        "INSERT INTO benefit_usages (id, tenant_id, customer_id, benefit_id, benefit_key,"
        " grant_id, contract_id, counter_id, period_start, period_end, studio_id, api_key_id,"
        " channel, used_at) VALUES (2, 7, 3, 1, 'SAUNA', 1, 9, 4, '2026-11-01 00:00:00',"
        " '2026-12-01 00:00:00', 1, 1, 'USE', '2026-11-03 10:00:00')",
    ]
    await _load(empty_database, statements)
    await _migrate(empty_database, keyring, "0017")
    assert await _rows(
        empty_database, "SELECT grant_id, period, uses FROM benefit_grant_limits"
    ) == [(1, "MONTH", 5)]
    assert await _rows(
        empty_database, "SELECT id, grant_id, period, customer_id, used FROM benefit_counters"
    ) == [(4, 1, "MONTH", 3, 2)]
    await _migrate(empty_database, keyring, "0016", down=True)
    assert await _rows(
        empty_database, "SELECT id, uses, period FROM benefit_grants ORDER BY id"
    ) == [(1, 5, "MONTH"), (2, None, None)]
    assert await _rows(empty_database, "SELECT id, counter_id FROM benefit_usages ORDER BY id") == [
        (1, 4),
        (2, 4),
    ]
