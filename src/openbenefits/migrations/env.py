"""Alembic environment. Migrations run on a connection handed in by ``kit.migrations``; the
``alembic`` command line works too (``alembic -x url=... revision --autogenerate``)."""

import asyncio

from alembic import context
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from openbenefits.config import Settings
from openbenefits.models import Base


def run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_standalone() -> None:
    url = context.get_x_argument(as_dictionary=True).get("url") or Settings().resolved_database_url
    engine = create_async_engine(url)
    async with engine.begin() as connection:
        await connection.run_sync(run)
    await engine.dispose()


connection = context.config.attributes.get("connection")
if connection is None:
    asyncio.run(run_standalone())
else:
    run(connection)
