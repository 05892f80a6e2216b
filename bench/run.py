"""Benchmark the service as a user runs it: start `openbenefits serve` (SQLite, or PostgreSQL with
two workers), load the demo tenant, --keys extra API keys and a benefit dataset of --customers
customers, drive each path from a load generator (wrk) in another process, and report every
figure beside /healthz measured in the same run and, on PostgreSQL, beside a naive FastAPI +
asyncpg app (bench/naive_app.py) doing the same benefit check and use on the same tables.

    .venv/bin/python bench/run.py --db postgres
    .venv/bin/python bench/run.py --db postgres --customers 1000000
    .venv/bin/python bench/run.py --db sqlite
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
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
from dataset import BENEFIT_KEY, Dataset, load_dataset
from sqlalchemy import insert

from openbenefits.kit.db import Database
from openbenefits.kit.migrations import upgrade_to_head
from openbenefits.kit.security import hash_secret
from openbenefits.tenancy.models import ApiKey

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
SECRET = "bench-secret-not-for-production-use"
HEALTHZ = "healthz (baseline)"
CHECK = "benefit check"
USE = "benefit use"
# Checked beside the figures (issue targets).
CHECK_VS_NAIVE = 1.0
USE_VS_NAIVE = 1.3
USE_P99_MS = 40.0
RSS_MB = 200.0
WARM_UP_SECONDS = 2
LARGE_VS_SMALL = 1.2
COMPARED_SIZES = (10_000, 1_000_000)


@dataclass(frozen=True)
class Scenario:
    url: str
    method: str = "GET"
    body: str = ""
    headers: tuple[str, ...] = ()
    # A path with "{id}": each request picks a random customer of the dataset.
    path: str = ""


@dataclass(frozen=True)
class Result:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int


@dataclass(frozen=True)
class Run:
    dataset: Dataset
    results: dict[str, Result]
    naive: dict[str, Result]
    rss_mb: list[float]


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


def drive(scenario: Scenario, args: argparse.Namespace, dataset: Dataset) -> Result:
    """Drive ``scenario`` with wrk (a separate process) and return its report. A short run
    first, unmeasured, so that every server meets the load warm (pools filled, statements
    prepared on each connection)."""
    options = [
        "-t1",
        f"-c{args.concurrency}",
        "-s",
        str(HERE / "report.lua"),
        *(part for h in scenario.headers for part in ("-H", h)),
        scenario.url,
    ]
    env = {
        **os.environ,
        "BENCH_METHOD": scenario.method,
        "BENCH_BODY": scenario.body,
        "BENCH_PATH": scenario.path,
        "BENCH_ID_MIN": str(dataset.first_customer_id),
        "BENCH_ID_MAX": str(dataset.last_customer_id),
    }
    warm_up = ["wrk", f"-d{WARM_UP_SECONDS}s", *options]
    subprocess.run(warm_up, env=env, check=True, capture_output=True)
    command = ["wrk", f"-d{args.duration}s", *options]
    output = subprocess.run(command, env=env, check=True, capture_output=True, text=True).stdout
    report = json.loads(output.strip().splitlines()[-1])
    return Result(report["rps"], report["p50_ms"], report["p99_ms"], report["errors"])


@contextmanager
def serving(command: list[str], env: dict[str, str], ready_url: str) -> Iterator[int]:
    """Run a server until the block ends; yields its pid once ``ready_url`` answers 200."""
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    try:
        for _ in range(240):
            if server.poll() is not None:
                raise SystemExit(f"the server exited during start-up: {command}")
            try:
                if httpx.get(ready_url, timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.5)
        else:
            raise SystemExit(f"the server did not become ready: {command}")
        yield server.pid
    finally:
        server.terminate()
        server.wait(timeout=30)


def worker_rss_mb(pid: int) -> list[float]:
    """Resident memory of each server process: the supervisor's spawned processes, or the server
    itself when it runs in one process."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    workers = [c for c in children if "spawn_main" in Path(f"/proc/{c}/cmdline").read_text()]
    sizes = []
    for process in workers or [str(pid)]:
        status = Path(f"/proc/{process}/status").read_text()
        kib = next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:"))
        sizes.append(int(kib) / 1024)
    return sizes


def probe(base: str, key: str, customer_id: int) -> None:
    """One check and one use before the load, so a failing endpoint shows its answer."""
    headers = {"X-API-KEY": key}
    path = f"{base}/v1/customers/{customer_id}/benefits"
    for response in (
        httpx.get(path, params={"key": BENEFIT_KEY}, headers=headers),
        httpx.post(f"{path}/{BENEFIT_KEY}/use", headers=headers),
    ):
        if response.status_code != 200:
            print(
                f"warning: {response.request.method} {response.request.url.path} answered "
                f"{response.status_code}: {response.text}",
                file=sys.stderr,
            )


def run(
    args: argparse.Namespace, database_url: str, data_dir: str, customers: int, usages: int
) -> Run:
    env = server_env(database_url, data_dir)
    demo = json.loads(
        subprocess.run(
            [str(BIN / "openbenefits"), "demo"], env=env, check=True, capture_output=True, text=True
        ).stdout
    )
    asyncio.run(seed_keys(database_url, demo["tenantId"], demo["studios"]["Studio A"], args.keys))
    dataset = asyncio.run(load_dataset(database_url, demo, customers, usages))
    print(
        f"loaded {customers:,} customers and {usages:,} ledger entries in {dataset.seconds:.1f} s",
        flush=True,
    )
    base = f"http://127.0.0.1:{args.port}"
    key = demo["apiKeys"]["sauna-a"]
    key_header = f"X-API-KEY: {key}"
    admin = f"Authorization: Bearer {demo['adminToken']}"
    token_body = (
        "grant_type=client_credentials&client_id=demo-loyalty"
        f"&client_secret={demo['oauthClient']['clientSecret']}"
    )
    form = "Content-Type: application/x-www-form-urlencoded"
    scenarios = {
        HEALTHZ: Scenario(f"{base}/healthz"),
        "studio key check (HEAD /v1/customers)": Scenario(
            f"{base}/v1/customers", method="HEAD", headers=(key_header,)
        ),
        "admin read (GET studios)": Scenario(
            f"{base}/admin/v1/tenants/{demo['tenantId']}/studios", headers=(admin,)
        ),
        "oauth token (POST /oauth/token)": Scenario(
            f"{base}/oauth/token", method="POST", body=token_body, headers=(form,)
        ),
        CHECK: Scenario(
            f"{base}/",
            headers=(key_header,),
            path=f"/v1/customers/{{id}}/benefits?key={BENEFIT_KEY}",
        ),
        USE: Scenario(
            f"{base}/",
            method="POST",
            headers=(key_header,),
            path=f"/v1/customers/{{id}}/benefits/{BENEFIT_KEY}/use",
        ),
    }
    if args.benefits_only:
        scenarios = {name: scenarios[name] for name in (HEALTHZ, CHECK, USE)}
    serve = [
        str(BIN / "openbenefits"),
        *("serve", "--port", str(args.port), "--workers", str(args.workers)),
    ]
    with serving(serve, env, f"{base}/readyz") as pid:
        probe(base, key, dataset.first_customer_id)
        results = {name: drive(scenario, args, dataset) for name, scenario in scenarios.items()}
        rss_mb = worker_rss_mb(pid)
    naive: dict[str, Result] = {}
    if not database_url.startswith("sqlite"):
        naive_base = f"http://127.0.0.1:{args.port + 1}"
        naive_env = {
            **os.environ,
            "BENCH_NAIVE_DSN": database_url.replace("postgresql+asyncpg://", "postgresql://"),
            "BENCH_TENANT_ID": str(dataset.tenant_id),
            "BENCH_STUDIO_ID": str(dataset.studio_id),
            "BENCH_BENEFIT_ID": str(dataset.benefit_id),
            "BENCH_GRANT_ID": str(dataset.grant_id),
            "BENCH_API_KEY_ID": str(dataset.api_key_id),
        }
        naive_serve = [
            *(sys.executable, str(HERE / "naive_app.py")),
            *("--port", str(args.port + 1), "--workers", str(args.workers)),
        ]
        with serving(naive_serve, naive_env, f"{naive_base}/healthz"):
            naive = {
                CHECK: drive(Scenario(f"{naive_base}/", path="/check/{id}"), args, dataset),
                USE: drive(
                    Scenario(f"{naive_base}/", method="POST", path="/use/{id}"), args, dataset
                ),
            }
    return Run(dataset, results, naive, rss_mb)


def ratio(value: float, base: float) -> str:
    return f"{value / base:.2f}" if base else "-"


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def report(args: argparse.Namespace, run: Run) -> None:
    data = run.dataset
    print(
        f"\ndb={args.db} workers={args.workers} customers={data.customers:,} "
        f"usages={data.usages:,} keys={args.keys:,} concurrency={args.concurrency} "
        f"duration={args.duration}s"
    )
    header = ("rps", "p50 ms", "p99 ms", "errors", "rps/base", "p50/base", "rps/naive", "p99/naive")
    print(f"{'scenario':40}" + "".join(f"{h:>10}" for h in header))
    rows = [(name, r, run.naive.get(name)) for name, r in run.results.items()]
    rows += [(f"naive {name}", r, None) for name, r in run.naive.items()]
    base = run.results[HEALTHZ]
    for name, r, naive in rows:
        figures = [f"{r.rps:.0f}", f"{r.p50_ms:.2f}", f"{r.p99_ms:.2f}", str(r.errors)]
        figures += [ratio(r.rps, base.rps), ratio(r.p50_ms, base.p50_ms)]
        figures += [ratio(r.rps, naive.rps), ratio(r.p99_ms, naive.p99_ms)] if naive else ["-"] * 2
        print(f"{name:40}" + "".join(f"{f:>10}" for f in figures))
    rss = ", ".join(f"{mb:.0f}" for mb in run.rss_mb)
    check, use = run.results[CHECK], run.results[USE]
    targets = [
        (f"use p99 <= {USE_P99_MS:.0f} ms", f"{use.p99_ms:.1f} ms", use.p99_ms <= USE_P99_MS),
        (f"RSS < {RSS_MB:.0f} MB per process", f"{rss} MB", max(run.rss_mb) < RSS_MB),
    ]
    if run.naive:
        check_ratio = check.rps / run.naive[CHECK].rps
        use_ratio = use.rps / run.naive[USE].rps
        targets += [
            (
                f"check rps >= {CHECK_VS_NAIVE}x naive",
                f"{check_ratio:.2f}x",
                check_ratio >= CHECK_VS_NAIVE,
            ),
            (f"use rps >= {USE_VS_NAIVE}x naive", f"{use_ratio:.2f}x", use_ratio >= USE_VS_NAIVE),
        ]
    print("\ntargets (server processes' RSS read after the load):")
    for label, figure, ok in targets:
        print(f"  {label:32}{figure:>16}  {verdict(ok)}")
    if not run.naive:
        print("  (the naive baseline runs on PostgreSQL only)")


def compare_sizes(small: Run, large: Run) -> None:
    """The check's latency at both sizes, each as a multiple of its own run's /healthz latency
    (the two runs are minutes apart on a shared machine), and raw."""
    s, big = small.results[CHECK], large.results[CHECK]
    s_base, big_base = small.results[HEALTHZ], large.results[HEALTHZ]
    p50 = (big.p50_ms / big_base.p50_ms) / (s.p50_ms / s_base.p50_ms)
    p99 = (big.p99_ms / big_base.p99_ms) / (s.p99_ms / s_base.p99_ms)
    print(
        f"\ncheck latency at {large.dataset.customers:,} vs {small.dataset.customers:,} "
        f"customers, relative to /healthz: p50 {p50:.2f}x, p99 {p99:.2f}x "
        f"(target p50 <= {LARGE_VS_SMALL}x: {verdict(p50 <= LARGE_VS_SMALL)}); "
        f"raw: p50 {big.p50_ms / s.p50_ms:.2f}x, p99 {big.p99_ms / s.p99_ms:.2f}x"
    )


async def pg_admin(url: str, statement: str) -> None:
    connection = await asyncpg.connect(url)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def bench(args: argparse.Namespace, customers: int, usages: int) -> Run:
    """One run on a fresh database, dropped afterwards."""
    with tempfile.TemporaryDirectory(prefix="openbenefits-bench-") as data_dir:
        if args.db == "sqlite":
            url = f"sqlite+aiosqlite:///{data_dir}/bench.db"
            return run(args, url, data_dir, customers, usages)
        name = f"openbenefits_bench_{uuid.uuid4().hex[:8]}"
        asyncio.run(pg_admin(args.postgres_url, f'CREATE DATABASE "{name}"'))
        try:
            server_url = args.postgres_url.rsplit("/", 1)[0]
            database_url = f"postgresql+asyncpg://{server_url.split('://', 1)[1]}/{name}"
            return run(args, database_url, data_dir, customers, usages)
        finally:
            asyncio.run(
                pg_admin(args.postgres_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument(
        "--workers", type=int, help="server processes (default: 2 on PostgreSQL, 1 on SQLite)"
    )
    parser.add_argument("--customers", type=int, default=10_000, help="customers in the dataset")
    parser.add_argument("--usages", type=int, help="ledger entries (default: 10 per customer)")
    parser.add_argument(
        "--compare-sizes",
        action="store_true",
        help="run at 10,000 and at 1,000,000 customers (10 ledger entries each) and compare the "
        "check latency",
    )
    parser.add_argument("--keys", type=int, default=10_000, help="extra API keys to load")
    parser.add_argument("--duration", type=int, default=10, help="seconds per scenario")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--port", type=int, default=8765, help="the naive app listens on +1")
    parser.add_argument(
        "--benefits-only", action="store_true", help="only healthz, benefit check and use"
    )
    args = parser.parse_args()
    if args.workers is None:
        args.workers = 2 if args.db == "postgres" else 1
    if shutil.which("wrk") is None:
        raise SystemExit("bench needs wrk as the load generator: apt-get install wrk")
    if not args.compare_sizes:
        usages = 10 * args.customers if args.usages is None else args.usages
        report(args, bench(args, args.customers, usages))
        return
    runs = []
    for customers in COMPARED_SIZES:
        runs.append(bench(args, customers, 10 * customers))
        report(args, runs[-1])
    compare_sizes(*runs)


if __name__ == "__main__":
    main()
