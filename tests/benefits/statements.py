"""Counting the statements a request runs, whichever way it runs them: through SQLAlchemy, or
on the bare driver connection of a fast route (asyncpg's query logger)."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from unittest.mock import patch

from sqlalchemy import event

from openbenefits.kit.db import Database


@dataclass
class Statements:
    through_sqlalchemy: list[str] = field(default_factory=list)
    on_driver: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.through_sqlalchemy) + len(self.on_driver)


def _transaction_control(statement: str) -> bool:
    return statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK"))


@asynccontextmanager
async def statements(db: Database) -> AsyncIterator[Statements]:
    seen = Statements()
    engines = [db.engine.sync_engine, db.read_engine.sync_engine]

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        # SQLite's write transactions begin with a statement of their own.
        if not _transaction_control(statement):
            seen.through_sqlalchemy.append(statement)

    def log_driver(logged: Any) -> None:
        seen.on_driver.append(logged.query)

    driver_connection = db.driver_connection

    @asynccontextmanager
    async def logged_driver_connection() -> AsyncIterator[Any]:
        async with driver_connection() as connection:
            connection.add_query_logger(log_driver)
            try:
                yield connection
            finally:
                connection.remove_query_logger(log_driver)

    for engine in engines:
        event.listen(engine, "before_cursor_execute", record)
    try:
        with patch.object(db, "driver_connection", logged_driver_connection):
            yield seen
            await asyncio.sleep(0)  # the query logger reports on the next turn of the loop
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", record)
