"""One connection budget per process (kit/db.py): `openbenefits serve --workers 4` and two
`openbenefits worker` processes, under a mixed load of every kind of unit of work, hold at most 60
PostgreSQL connections in all — PostgreSQL's default limit is 100. Run as an operator runs them:
the commands in subprocesses, the connections counted by the server (pg_stat_activity)."""

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from openbenefits.kit.db import Database
from tests.conftest import pg_admin

SERVER = os.environ.get("TEST_DATABASE_URL")
pytestmark = pytest.mark.skipif(not SERVER, reason="counts PostgreSQL's connections")
CEILING = 60
SERVER_PROCESSES = 4
WORKERS = 2
OPENBENEFITS = [str(Path(sys.executable).with_name("openbenefits"))]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
async def database() -> AsyncIterator[str]:
    assert SERVER
    name = f"openbenefits_ceiling_{uuid.uuid4().hex[:12]}"
    await pg_admin(SERVER, f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        await pg_admin(SERVER, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _env(database: str, data_dir: Path) -> dict[str, str]:
    assert SERVER
    url = make_url(SERVER).set(drivername="postgresql+asyncpg", database=database)
    return {
        **os.environ,
        "OPENBENEFITS_DATABASE_URL": url.render_as_string(hide_password=False),
        "OPENBENEFITS_DATA_DIR": str(data_dir),
        "OPENBENEFITS_SECRET_KEY": "ceiling-" + "s" * 40,
        "OPENBENEFITS_LOG_LEVEL": "WARNING",
        "OPENBENEFITS_RATE_LIMITS_ENABLED": "false",
    }


@contextlib.contextmanager
def _running(commands: list[list[str]], env: dict[str, str]) -> Iterator[None]:
    # Sessions of their own, so that each command and its processes stop at once.
    processes = [
        subprocess.Popen(command, env=env, start_new_session=True, stderr=subprocess.DEVNULL)
        for command in commands
    ]
    try:
        yield
    finally:
        for process in processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


async def _ready(base: str) -> None:
    deadline = time.monotonic() + 60
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.TransportError):
                if (await client.get(f"{base}/readyz")).status_code == 200:
                    return
            await asyncio.sleep(0.2)
    raise AssertionError("the server did not get ready")


def _requests(demo: dict[str, Any], token: str) -> list[tuple[str, str, dict[str, Any]]]:
    """One of each kind of unit of work: bare reads and writes, session reads and writes."""
    studio = {"X-API-KEY": demo["apiKeys"]["sauna-a"]}
    loyalty = {"Authorization": f"Bearer {token}"}
    admin = {"Authorization": f"Bearer {demo['adminToken']}"}
    customer = demo["customers"]["A-1001"]
    gift_card = demo["loyaltyContracts"]["DEMO-GIFT-CARD"]
    number = demo["loyaltyCustomerNumber"]
    pair = {
        "contractUUID": demo["loyaltyContracts"]["DEMO-CUSTOMER-CARD"],
        "customerNumber": number,
    }
    loyalty_base = "/customers/v2/benefits"
    deposit = {
        "transactionType": "DEPOSIT",
        "pointsType": "NOK",
        "amount": "1.00",
        "externalRef": "{unique}",
    }
    return [
        ("GET", f"/v1/customers/{customer}/benefits", {"headers": studio}),
        ("POST", f"/v1/customers/{customer}/benefits/SAUNA/use", {"headers": studio}),
        ("GET", f"/v1/customers/{customer}", {"headers": studio}),
        ("GET", f"/admin/v1/tenants/{demo['tenantId']}/studios", {"headers": admin}),
        (
            "GET",
            f"{loyalty_base}/entitlements/{number}/by-customer-number",
            {"headers": loyalty},
        ),
        (
            "POST",
            f"{loyalty_base}/contracts/validate-consumptions",
            {"headers": loyalty, "json": {"consumptions": [pair]}},
        ),
        *(
            (
                "POST",
                f"{loyalty_base}/contracts/{gift_card}/points-transactions",
                {"headers": {**loyalty, **retry}, "json": deposit},
            )
            for retry in ({}, {"Idempotency-Key": "{unique}"})  # a bare unit, and a session
        ),
    ]


async def _load(base: str, demo: dict[str, Any], seconds: float) -> dict[int, int]:
    """Many clients at once, each going round the kinds of request; answers by status."""
    statuses: dict[int, int] = {}
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        form = {
            "grant_type": "client_credentials",
            "client_id": demo["oauthClient"]["clientId"],
            "client_secret": demo["oauthClient"]["clientSecret"],
        }
        token = (await client.post("/oauth/token", data=form)).json()["access_token"]
        requests = _requests(demo, token)
        deadline = time.monotonic() + seconds

        async def one_client(offset: int) -> None:
            turn = offset
            while time.monotonic() < deadline:
                method, path, options = requests[turn % len(requests)]
                unique = uuid.uuid4().hex
                sent = json.loads(json.dumps(options).replace("{unique}", unique))
                answer = await client.request(method, path, **sent)
                statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1
                turn += 1

        await asyncio.gather(*(one_client(offset) for offset in range(160)))
    return statuses


async def _most_connections(database: str, until: asyncio.Future[Any]) -> int:
    assert SERVER
    watcher = await asyncpg.connect(SERVER)
    most = 0
    try:
        while not until.done():
            count = await watcher.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = $1", database
            )
            most = max(most, count)
            await asyncio.sleep(0.02)
    finally:
        await watcher.close()
    return most


@contextlib.asynccontextmanager
async def _gift_card_locked(database: str, uuid: str) -> AsyncIterator[None]:
    """The gift card's row locked, as a long transaction would: every deposit waits for it,
    holding its connection — a bare one, or with ``Idempotency-Key`` a writing session's."""
    assert SERVER
    locker = await asyncpg.connect(make_url(SERVER).set(database=database).render_as_string(False))
    try:
        async with locker.transaction():
            await locker.execute("SELECT 1 FROM loyalty_contracts WHERE uuid = $1 FOR UPDATE", uuid)
            yield
    finally:
        await locker.close()


async def test_four_server_processes_and_two_workers_hold_at_most_60_connections(
    database: str, tmp_path: Path, db: Database
) -> None:
    # The suite's own pools close their idle connections (and open them again when next
    # needed): the server processes must find PostgreSQL's room as they would in production.
    await db.dispose()
    env = _env(database, tmp_path)
    loaded = await asyncio.to_thread(
        subprocess.run,
        [*OPENBENEFITS, "demo"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    demo = json.loads(loaded.stdout)
    port = _free_port()
    serve = [*OPENBENEFITS, "serve", "--port", str(port), "--workers", str(SERVER_PROCESSES)]
    with _running([serve, *([*OPENBENEFITS, "worker"] for _ in range(WORKERS))], env):
        base = f"http://127.0.0.1:{port}"
        await _ready(base)
        load = asyncio.ensure_future(_load(base, demo, seconds=8))
        counted = asyncio.ensure_future(_most_connections(database, load))
        async with _gift_card_locked(database, demo["loyaltyContracts"]["DEMO-GIFT-CARD"]):
            # Meanwhile the clients pile up on deposits: every process's pools fill.
            await asyncio.sleep(4)
        statuses = await load
        most = await counted - 1  # the locking connection is the test's
    answered = sum(count for status, count in statuses.items() if status < 300)
    seen = f"at most {most} connections; answers by status {statuses}"
    assert most <= CEILING, seen
    # Every process's bare and writing connections were taken (8 + 2 of the default 12).
    assert most >= SERVER_PROCESSES * (8 + 2), seen
    assert statuses.get(500, 0) == 0, seen
    assert answered > 200, seen
