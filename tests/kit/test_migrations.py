"""Migrations: one head, and they build exactly the schema the models declare."""

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from openbenefits.kit.migrations import alembic_config, current_revision, head_revision
from openbenefits.models import Base


def test_there_is_one_head():
    assert len(ScriptDirectory.from_config(alembic_config()).get_heads()) == 1


async def test_the_migrated_database_matches_the_models(db):
    assert await current_revision(db.engine) == head_revision()

    def differences(connection):
        return compare_metadata(MigrationContext.configure(connection), Base.metadata)

    async with db.engine.connect() as connection:
        assert await connection.run_sync(differences) == []
