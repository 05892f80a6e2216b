"""Console fixtures: a tenant, operators of each role, and browsers (httpx clients keeping
cookies) signed in as them."""

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from playwright.async_api import Browser, Page, async_playwright

from openbenefits.console import operators
from openbenefits.console.models import OperatorRole
from openbenefits.kit.audit import SystemActor
from openbenefits.kit.db import Database
from tests.chain import (
    PARTNER_SCOPES,
    Chain,
    create_contract,
    create_module,
    create_rate,
    grant_by_module,
    partner_benefit,
)
from tests.conftest import SECRET, START
from tests.helpers import TenantSetup, admin_headers, create_tenant, expect

PASSWORD = "correct horse battery"
_CSRF = re.compile(r'name="csrf" value="([0-9a-f]+)"')


def csrf_in(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def browser(app: FastAPI) -> httpx.AsyncClient:
    """A client that keeps cookies, over HTTPS as the console's cookies are Secure."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="https://testserver")


async def add_operator(
    db: Database,
    tenant_id: int,
    email: str,
    role: OperatorRole = OperatorRole.TENANT_ADMIN,
    studio_ids: Sequence[int] = (),
    password: str = PASSWORD,
) -> int:
    async with db.session() as session:
        operator = await operators.create_operator(
            session,
            SystemActor("test"),
            tenant_id,
            email=email,
            password=password,
            role=role,
            studio_ids=studio_ids,
            now=START,
        )
        await session.commit()
        return operator.id


async def sign_in(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> str:
    """Signs ``client`` in through the form; the session's CSRF token."""
    page = await client.get("/console/login")
    assert page.status_code == 200, page.text
    answer = await client.post(
        "/console/login",
        data={"csrf": csrf_in(page.text), "email": email, "password": password},
    )
    assert answer.status_code == 303, answer.text
    home = await client.get("/console")
    assert home.status_code == 200, home.text
    return csrf_in(home.text)


@dataclass
class SignedInBrowser:
    client: httpx.AsyncClient
    csrf: str
    email: str
    operator_id: int

    async def post(self, path: str, **data: str) -> httpx.Response:
        return await self.client.post(path, data={"csrf": self.csrf, **data})


@pytest.fixture
async def tenant(client: httpx.AsyncClient, settings, clock) -> TenantSetup:
    return await create_tenant(client, admin_headers(settings, clock), "Harbour Gyms")


@pytest.fixture
async def browsers(app: FastAPI) -> AsyncIterator[list[httpx.AsyncClient]]:
    """Clients the test opens with ``open_browser``, closed afterwards."""
    opened: list[httpx.AsyncClient] = []
    yield opened
    for client in opened:
        await client.aclose()


@pytest.fixture
def open_browser(app: FastAPI, browsers: list[httpx.AsyncClient]):
    def opening() -> httpx.AsyncClient:
        client = browser(app)
        browsers.append(client)
        return client

    return opening


@pytest.fixture
def signed_in(db: Database, tenant: TenantSetup, open_browser):
    """``await signed_in(role)``: a browser signed in as a new operator of ``tenant``."""
    count = 0

    async def signing_in(
        role: OperatorRole = OperatorRole.TENANT_ADMIN,
        studio_ids: Sequence[int] = (),
        tenant_id: int | None = None,
    ) -> SignedInBrowser:
        nonlocal count
        count += 1
        email = f"{role.value.lower()}.{count}@console.example"
        if role is OperatorRole.STUDIO_MANAGER and not studio_ids:
            studio_ids = (tenant.studio_id,)
        operator_id = await add_operator(db, tenant_id or tenant.tenant_id, email, role, studio_ids)
        client = open_browser()
        return SignedInBrowser(client, await sign_in(client, email), email, operator_id)

    return signing_in


# Browser tests: a real headless Chromium (Debian's package; `make test` installs it) against a
# server the suite starts on its own database. They never skip: without a browser they fail.
CHROMIUM_ENV = "OPENBENEFITS_CHROMIUM"


def chromium_path() -> str:
    found = os.environ.get(CHROMIUM_ENV) or shutil.which("chromium")
    if not found:
        pytest.fail(
            "Chromium is needed for the console's browser tests: `apt-get install -y chromium` "
            f"(make test does it), or point {CHROMIUM_ENV} at one."
        )
    return found


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def console_server(db: Database, database_url: str, tmp_path_factory) -> Iterator[str]:
    """``openbenefits serve`` on the suite's database; its base URL."""
    data_dir = tmp_path_factory.mktemp("served")
    port = _free_port()
    env = {
        **os.environ,
        "OPENBENEFITS_DATABASE_URL": database_url,
        "OPENBENEFITS_SECRET_KEY": SECRET,
        "OPENBENEFITS_DATA_DIR": str(data_dir),
        "OPENBENEFITS_RATE_LIMITS_ENABLED": "false",
        "OPENBENEFITS_RUN_WORKER_IN_PROCESS": "false",
        "OPENBENEFITS_LOG_LEVEL": "WARNING",
    }
    log = Path(data_dir) / "server.log"
    with log.open("w") as output:
        server = subprocess.Popen(
            [str(Path(sys.executable).with_name("openbenefits")), "serve", "--port", str(port)],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the console server did not start:\n{log.read_text()}")
            time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.fixture(scope="session")
async def chromium() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=chromium_path())
        yield launched
        await launched.close()


@pytest.fixture
async def page(chromium: Browser, console_server: str) -> AsyncIterator[Page]:
    """A fresh browser window (no cookies) at 1280 px, on the served console."""
    context = await chromium.new_context(
        base_url=console_server, viewport={"width": 1280, "height": 800}
    )
    context.set_default_timeout(15_000)
    opened = await context.new_page()
    yield opened
    await context.close()


@pytest.fixture
async def member(chain: Chain) -> dict:
    """Anna of Studio A with the Sauna module, which grants SAUNA 3 times a week; she has used
    it 3 times through the Sauna App's key, so her contingent is exhausted."""
    rate = await create_rate(chain)
    customer = await chain.customer()
    contract = await create_contract(chain, customer, rate, "2026-01-01")
    sauna = await create_module(chain, [rate["id"]])
    await grant_by_module(chain, await partner_benefit(chain), sauna, uses=3, period="WEEK")
    partner = await chain.key(chain.studio_a, PARTNER_SCOPES, integration=chain.integration_a)
    bought = expect(
        await chain.client.post(
            f"/v1/memberships/{contract['id']}/self-service/additional-modules/purchase",
            json={
                "additionalModuleId": sauna["id"],
                "paymentFrequencyId": sauna["module"]["paymentFrequencies"][0]["id"],
                "bookTrialPeriod": False,
            },
            headers=partner,
        ),
        200,
    )
    use = f"/v1/customers/{customer['id']}/benefits/SAUNA/use"
    for _ in range(3):
        assert (await chain.client.post(use, headers=partner)).status_code == 200
    assert (await chain.client.post(use, headers=partner)).status_code == 400
    return {
        "customer": customer,
        "contract": contract,
        "module_contract": bought["id"],
        "partner": partner,
    }
