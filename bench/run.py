"""Benchmark the service as a user runs it: start `openbenefits serve` (SQLite, or PostgreSQL with
several workers), load the demo tenant plus --keys extra API keys, drive each path from a load
generator in another process, and report every figure beside /healthz measured in the same run.

    .venv/bin/python bench/run.py --db sqlite
    .venv/bin/python bench/run.py --db postgres --workers 2 --keys 100000
"""

import argparse
import asyncio
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from sqlalchemy import insert

from openbenefits.kit.db import Database
from openbenefits.kit.migrations import upgrade_to_head
from openbenefits.kit.security import hash_secret
from openbenefits.tenancy.models import ApiKey

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
SECRET = "bench-secret-not-for-production-use"


def server_env(database_url: str, data_dir: str) -> dict[str, str]:
    return {
        **os.environ,
        "OPENBENEFITS_DATABASE_URL": database_url,
        "OPENBENEFITS_DATA_DIR": data_dir,
        "OPENBENEFITS_SECRET_KEY": SECRET,
        "OPENBENEFITS_LOG_LEVEL": "WARNING",
    }


async def seed_keys(database_url: str, tenant_id: int, studio_id: int, count: int) -> None:
    """Extra API keys, so the key lookup is measured against a large table."""
    db = Database(database_url)
    await upgrade_to_head(db.engine)
    async with db.session() as session:
        for start in range(0, count, 5000):
            rows = [
                {
                    "tenant_id": tenant_id,
                    "studio_id": studio_id,
                    "name": f"bench {n}",
                    "prefix": "obk_bench",
                    "key_hash": hash_secret(SECRET.encode(), secrets.token_hex(16)),
                    "scopes": ["CUSTOMER_READ"],
                }
                for n in range(start, min(start + 5000, count))
            ]
            await session.execute(insert(ApiKey), rows)
        await session.commit()
    await db.dispose()


def load(
    url: str,
    args: argparse.Namespace,
    method: str = "GET",
    body: str = "",
    headers: tuple[str, ...] = (),
) -> dict[str, float]:
    """Drive ``url`` with wrk (a separate process) and return its JSON report."""
    command = [
        "wrk",
        "-t1",
        f"-c{args.concurrency}",
        f"-d{args.duration}s",
        "-s",
        str(HERE / "report.lua"),
        *(part for h in headers for part in ("-H", h)),
        url,
    ]
    env = {**os.environ, "BENCH_METHOD": method, "BENCH_BODY": body}
    output = subprocess.run(command, env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def wait_ready(base: str, server: subprocess.Popen[bytes]) -> None:
    for _ in range(120):
        if server.poll() is not None:
            raise SystemExit("the server exited during start-up")
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise SystemExit("the server did not become ready")


def run(args: argparse.Namespace, database_url: str, data_dir: str) -> None:
    env = server_env(database_url, data_dir)
    demo = json.loads(
        subprocess.run(
            [str(BIN / "openbenefits"), "demo"], env=env, check=True, capture_output=True, text=True
        ).stdout
    )
    asyncio.run(seed_keys(database_url, demo["tenantId"], demo["studios"]["Studio A"], args.keys))
    base = f"http://127.0.0.1:{args.port}"
    server = subprocess.Popen(
        [
            str(BIN / "openbenefits"),
            "serve",
            "--port",
            str(args.port),
            "--workers",
            str(args.workers),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_ready(base, server)
        key = f"X-API-KEY: {demo['apiKeys']['sauna-a']}"
        admin = f"Authorization: Bearer {demo['adminToken']}"
        token_body = (
            "grant_type=client_credentials&client_id=demo-loyalty"
            f"&client_secret={demo['oauthClient']['clientSecret']}"
        )
        form = "Content-Type: application/x-www-form-urlencoded"
        scenarios: dict[str, tuple[str, dict[str, Any]]] = {
            "healthz (baseline)": (f"{base}/healthz", {}),
            "studio key check (HEAD /v1/customers)": (
                f"{base}/v1/customers",
                {"method": "HEAD", "headers": (key,)},
            ),
            "admin read (GET studios)": (
                f"{base}/admin/v1/tenants/{demo['tenantId']}/studios",
                {"headers": (admin,)},
            ),
            "oauth token (POST /oauth/token)": (
                f"{base}/oauth/token",
                {"method": "POST", "body": token_body, "headers": (form,)},
            ),
        }
        results = {name: load(url, args, **options) for name, (url, options) in scenarios.items()}
    finally:
        server.terminate()
        server.wait(timeout=30)
    baseline = results["healthz (baseline)"]
    print(
        f"db={args.db} workers={args.workers} keys={args.keys} "
        f"concurrency={args.concurrency} duration={args.duration}s"
    )
    header = ("scenario", "rps", "p50 ms", "p99 ms", "rps/base", "p50/base", "errors")
    print(f"{header[0]:42} " + " ".join(f"{h:>9}" for h in header[1:]))
    for name, r in results.items():
        ratios = (r["rps"] / baseline["rps"], r["p50_ms"] / baseline["p50_ms"])
        figures = (r["rps"], r["p50_ms"], r["p99_ms"], *ratios, r["errors"])
        print(f"{name:42} " + " ".join(f"{f:9.2f}" for f in figures))


async def pg_admin(url: str, statement: str) -> None:
    connection = await asyncpg.connect(url)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--keys", type=int, default=10_000, help="extra API keys to load")
    parser.add_argument("--duration", type=int, default=10, help="seconds per scenario")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("bench needs wrk as the load generator: apt-get install wrk")
    with tempfile.TemporaryDirectory(prefix="openbenefits-bench-") as data_dir:
        if args.db == "sqlite":
            run(args, f"sqlite+aiosqlite:///{data_dir}/bench.db", data_dir)
            return
        name = f"openbenefits_bench_{uuid.uuid4().hex[:8]}"
        asyncio.run(pg_admin(args.postgres_url, f'CREATE DATABASE "{name}"'))
        try:
            server_url = args.postgres_url.rsplit("/", 1)[0]
            run(args, f"postgresql+asyncpg://{server_url.split('://', 1)[1]}/{name}", data_dir)
        finally:
            asyncio.run(
                pg_admin(args.postgres_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            )


if __name__ == "__main__":
    main()
