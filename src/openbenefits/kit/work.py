"""A request's unit of work: where its statements run, decided once by the request pipeline
(kit/routing.py) and handed to the endpoint.

A route declared fast (kit/fast.py) runs *bare* on PostgreSQL when the request holds no
``Idempotency-Key`` claim: its Core statements run on a bare driver connection in autocommit,
each committing on its own, so a write that must be atomic is one statement. Everything else —
SQLite, a claimed request (whose answer must commit with its effects), every other route — runs
in one ORM session transaction, opened on first use and committed by the pipeline. Code that
needs a transaction even on a bare unit (a refund under the contract's lock) asks for
``session()`` and does all its work there.
"""

from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from openbenefits.kit import driver
from openbenefits.kit.db import Database
from openbenefits.kit.driver import Fetch


class Work:
    def __init__(self, db: Database, *, write: bool, bare: bool) -> None:
        self._db = db
        self._write = write
        self.on_postgresql = not db.is_sqlite
        self.bare = bare and self.on_postgresql
        # What the unit opened, closed in reverse order on leaving (at most a bare connection
        # and a session: no general exit stack on the hot path).
        self._connection: AbstractAsyncContextManager[Any] | None = None
        self._session_context: AbstractAsyncContextManager[AsyncSession] | None = None
        self._session: AsyncSession | None = None
        self._fetch: Fetch | None = None

    @classmethod
    def of(cls, db: Database, session: AsyncSession) -> "Work":
        """A unit around a session the caller holds (the demo): all in its transaction."""
        work = cls(db, write=True, bare=False)
        work._session = session
        return work

    async def fetch(self) -> Fetch:
        """Core statements of this unit: on the bare connection, or in the session."""
        if self._fetch is None:
            if self.bare:
                checkout = self._db.driver_connection()
                connection = await checkout.__aenter__()
                self._connection = checkout
                self._fetch = driver.on_driver(connection, self._db.dialect, self._db.tracer)
            else:
                self._fetch = await driver.on_session(await self.session())
        return self._fetch

    async def session(self) -> AsyncSession:
        """The unit's ORM session and its transaction (a writing one unless the request is
        safe), opened on first use."""
        if self._session is None:
            context = self._db.session(write=self._write)
            self._session = await context.__aenter__()
            self._session_context = context
        return self._session

    async def commit(self) -> None:
        if self._session is not None:
            await self._session.commit()

    async def __aenter__(self) -> "Work":
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            if self._session_context is not None:
                await self._session_context.__aexit__(kind, error, traceback)
        finally:
            if self._connection is not None:
                await self._connection.__aexit__(kind, error, traceback)
