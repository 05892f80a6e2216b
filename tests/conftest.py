"""Test fixtures: one freshly created database per run (SQLite file, or a new PostgreSQL database
when ``TEST_DATABASE_URL`` names a server), migrated with the real migrations, emptied after
every test; the app driven over ASGI with an injectable clock."""

import os
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from http.server import HTTPServer
from ipaddress import ip_network
from pathlib import Path

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.engine import make_url

from openbenefits.app import create_app
from openbenefits.config import Settings, normalise_database_url
from openbenefits.kit import tracing
from openbenefits.kit.blobstore import LocalBlobStore
from openbenefits.kit.clock import FixedClock
from openbenefits.kit.db import Database
from openbenefits.kit.migrations import upgrade_to_head
from openbenefits.models import Base
from tests import probes
from tests.chain import Chain, make_chain
from tests.contract.reference import validate_response
from tests.tracing import Collector, Traced

START = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
SECRET = "test-secret-key-for-signing-and-hashing"


def pytest_report_header() -> str:
    return f"database: {'PostgreSQL' if os.environ.get('TEST_DATABASE_URL') else 'SQLite'}"


async def pg_admin(url: str, statement: str) -> None:
    server = make_url(url).set(drivername="postgresql")
    connection = await asyncpg.connect(server.render_as_string(hide_password=False))
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@pytest.fixture(scope="session")
async def database_url(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    server_url = os.environ.get("TEST_DATABASE_URL")
    if not server_url:
        yield f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
        return
    name = f"openbenefits_test_{uuid.uuid4().hex[:12]}"
    await pg_admin(server_url, f'CREATE DATABASE "{name}"')
    try:
        yield normalise_database_url(
            make_url(server_url).set(database=name).render_as_string(False)
        )
    finally:
        await pg_admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
async def db(database_url: str) -> AsyncIterator[Database]:
    # The concurrency tests fire a thousand requests at once: 40 connections for the fast path
    # and 20 each for writes and reads, within PostgreSQL's default limit of 100.
    database = Database(database_url, connections=80)
    await upgrade_to_head(database.engine)
    yield database
    await database.dispose()


@pytest.fixture(autouse=True)
async def _empty_tables(db: Database) -> AsyncIterator[None]:
    yield
    tables = list(reversed(Base.metadata.sorted_tables))
    async with db.session() as session:
        if db.is_sqlite:
            for table in tables:
                await session.execute(table.delete())
        else:
            names = ", ".join(table.name for table in tables)
            await session.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        await session.commit()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


def make_settings(database_url: str, data_dir: Path) -> Settings:
    """The settings every test app runs with, on ``database_url``."""
    generous = "1000000/minute"
    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        secret_key=SECRET,
        max_body_bytes=64 * 1024,
        max_document_bytes=256 * 1024,
        # The test receiver of webhooks listens on loopback.
        webhook_allowed_networks=[ip_network("127.0.0.0/8"), ip_network("::1")],
        # Rate limits on, counted in the process, far above what any test sends (some fire
        # 1,000 requests at once); tests/security/test_rate_limits.py sets small ones.
        redis_url="",
        rate_limit_studio_per_credential=generous,
        rate_limit_studio_per_address=generous,
        rate_limit_loyalty_per_credential=generous,
        rate_limit_loyalty_per_address=generous,
        rate_limit_admin_per_credential=generous,
        rate_limit_admin_per_address=generous,
        rate_limit_token_per_client=generous,
        rate_limit_token_per_address=generous,
        rate_limit_other_per_address=generous,
        rate_limit_uploads_per_credential=generous,
        rate_limit_failed_auth_per_address=generous,
        rate_limit_console_per_address=generous,
        rate_limit_console_sign_in_per_address=generous,
    )


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path)


@pytest.fixture
def blobs(tmp_path: Path) -> LocalBlobStore:
    return LocalBlobStore(tmp_path / "blobs")


@pytest.fixture
def app(settings: Settings, db: Database, clock: FixedClock, blobs: LocalBlobStore) -> FastAPI:
    return create_app(settings, db=db, clock=clock, blobs=blobs)


async def _conforms_to_reference(response: httpx.Response) -> None:
    """Every studio response a test sees must be one the reference allows."""
    body = await response.aread()
    if body and response.headers.get("content-type", "").startswith("application/json"):
        validate_response(
            response.request.method,
            response.request.url.path,
            response.status_code,
            response.json(),
        )


def _client(app: FastAPI, *, raise_app_exceptions: bool = True) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=raise_app_exceptions)
    return httpx.AsyncClient(
        transport=transport,
        base_url="http://testserver",
        event_hooks={"response": [_conforms_to_reference]},
    )


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(app) as client:
        yield client


@pytest.fixture
async def plain_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client that sees what any client would: server errors answered, not raised."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@pytest.fixture
async def probe_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the app with the test-only probe routes mounted; server errors are answered,
    not re-raised, so that tests see what a client would."""
    probes.mount(app)
    async with _client(app, raise_app_exceptions=False) as client:
        yield client


@pytest.fixture
async def traced(
    settings: Settings, db: Database, clock: FixedClock, blobs: LocalBlobStore
) -> AsyncIterator[Traced]:
    """The app as ``app``, traced into memory (tests/tracing.py)."""
    traced = Traced()
    app = create_app(settings, db=db, clock=clock, blobs=blobs, tracer_provider=traced.provider)
    try:
        async with traced.serve(app):
            yield traced
    finally:
        tracing.untrace_database(db)


@pytest.fixture
def collector(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, str, bytes]]]:
    """An OTLP/HTTP endpoint on loopback, named by the environment as an operator would."""
    server = HTTPServer(("127.0.0.1", 0), Collector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{server.server_port}")
    Collector.received = []
    yield Collector.received
    server.shutdown()


@pytest.fixture
async def chain(client: httpx.AsyncClient, settings: Settings, clock: FixedClock) -> Chain:
    return await make_chain(client, settings, clock)
