"""Benchmark the service as a user runs it: start `openbenefits serve` (SQLite, or PostgreSQL with
two workers), load the demo tenant, --keys extra API keys and a benefit dataset of --customers
customers, drive each path from a load generator (wrk) in another process, and report every
figure beside /healthz measured in the same run and, on PostgreSQL, beside a naive FastAPI +
asyncpg app (bench/naive_app.py) doing the same benefit check and use on the same tables.
The loyalty hot paths (bench/loyalty.py: validate-consumptions, entitlements, withdrawals from one
gift card) run in the same run and are judged against the same naive check.

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
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from dataset import BENEFIT_KEY, STACKED_KEY, Dataset, load_dataset
from sqlalchemy import insert

from loyalty import (
    DRAIN_POINTS,
    PAIR,
    PREFIX,
    WITHDRAWAL,
    Ledger,
    LoyaltyDataset,
    load_loyalty,
    prepare_gift_cards,
    read_ledger,
    validate_body,
)
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
STACKED_CHECK = "stacked check (2 limits, hours)"
STACKED_USE = "stacked use (2 limits, hours)"
VALIDATE = "validate-consumptions (10 pairs)"
ENTITLEMENTS = "entitlements lookup"
WITHDRAW = "gift card withdrawal (one hot card)"
DRAIN = f"withdrawals racing for a card's last {DRAIN_POINTS} points"
# Checked beside the figures (issue targets).
CHECK_VS_NAIVE = 1.0
USE_VS_NAIVE = 1.3
USE_P99_MS = 40.0
RSS_MB = 200.0
WARM_UP_SECONDS = 2
LARGE_VS_SMALL = 1.2
# The stacked benefit's rps/naive ratio against the single-limit benefit's (issue target: two
# stacked limits and a time window stay within 10 % of the single limit's figures).
STACKED_VS_SINGLE = 0.9
STACKED = {STACKED_CHECK: CHECK, STACKED_USE: USE}
VALIDATE_VS_NAIVE_CHECK = 0.5
ENTITLEMENTS_VS_NAIVE_CHECK = 0.8
# The race for the last points of a card: long enough for far more requests than points.
DRAIN_SECONDS = 5
# Each scenario's counterpart in the naive app, measured right after it, and the least rps
# ratio to it (issue targets).
# The stacked benefit is judged against the naive app's plain single-limit check and use.
NAIVE_PEER = {
    CHECK: CHECK,
    USE: USE,
    STACKED_CHECK: CHECK,
    STACKED_USE: USE,
    VALIDATE: CHECK,
    ENTITLEMENTS: CHECK,
}
TARGETS_VS_NAIVE = {
    CHECK: CHECK_VS_NAIVE,
    USE: USE_VS_NAIVE,
    VALIDATE: VALIDATE_VS_NAIVE_CHECK,
    ENTITLEMENTS: ENTITLEMENTS_VS_NAIVE_CHECK,
}
# --only: the scenarios each choice runs (the loyalty ones are judged against the naive check).
ONLY = {
    "benefits": (HEALTHZ, CHECK, STACKED_CHECK, USE, STACKED_USE),
    "loyalty": (HEALTHZ,),
}
COMPARED_SIZES = (10_000, 1_000_000)


@dataclass(frozen=True)
class Scenario:
    url: str
    method: str = "GET"
    body: str = ""
    headers: tuple[str, ...] = ()
    # A path with "{id}": each request picks a random number of ``ids`` (default: a customer
    # of the benefit dataset). In the body, "{pair}" is ``pair`` filled the same way, "{seq}"
    # the request's sequence number and "{run}" unique to the run (report.lua).
    path: str = ""
    pair: str = ""
    ids: tuple[int, int] | None = None


@dataclass(frozen=True)
class Result:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    # Among the errors: answers other than 2xx/3xx, and requests that timed out (wrk: 2 s).
    non2xx: int = 0
    timeouts: int = 0


@dataclass(frozen=True)
class Run:
    dataset: Dataset
    results: dict[str, Result]
    loyalty: LoyaltyDataset
    naive: dict[str, Result]
    rss_mb: list[float]
    ledgers: dict[str, Ledger]


def server_env(database_url: str, data_dir: str) -> dict[str, str]:
    return {
        **os.environ,
        "OPENBENEFITS_DATABASE_URL": database_url,
        "OPENBENEFITS_DATA_DIR": data_dir,
        "OPENBENEFITS_SECRET_KEY": SECRET,
        "OPENBENEFITS_LOG_LEVEL": "WARNING",
        # Rate limits stay on, their cost measured with the rest, counted in each process and
        # far above the load: every scenario comes from one address, most with one credential.
        "OPENBENEFITS_REDIS_URL": "",
        **{
            f"OPENBENEFITS_RATE_LIMIT_{name}": "1000000/second"
            for name in (
                "STUDIO_PER_CREDENTIAL",
                "STUDIO_PER_ADDRESS",
                "LOYALTY_PER_CREDENTIAL",
                "LOYALTY_PER_ADDRESS",
                "ADMIN_PER_CREDENTIAL",
                "ADMIN_PER_ADDRESS",
                "TOKEN_PER_CLIENT",
                "TOKEN_PER_ADDRESS",
                "OTHER_PER_ADDRESS",
            )
        },
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


def drive(
    scenario: Scenario, args: argparse.Namespace, dataset: Dataset, duration: int | None = None
) -> Result:
    """Drive ``scenario`` with wrk (a separate process) for ``duration`` seconds (default
    ``--duration``) and return its report. A short run first, unmeasured, so that every server
    meets the load warm (pools filled, statements prepared on each connection); ``duration``
    given, there is none (the scenario is a race, not a rate)."""
    options = [
        "-t1",
        f"-c{args.concurrency}",
        "-s",
        str(HERE / "report.lua"),
        *(part for h in scenario.headers for part in ("-H", h)),
        scenario.url,
    ]
    low, high = scenario.ids or (dataset.first_customer_id, dataset.last_customer_id)
    env = {
        **os.environ,
        "BENCH_METHOD": scenario.method,
        "BENCH_PATH": scenario.path,
        "BENCH_PAIR": scenario.pair,
        "BENCH_ID_MIN": str(low),
        "BENCH_ID_MAX": str(high),
    }

    def wrk(seconds: int) -> str:
        body = scenario.body.replace("{run}", uuid.uuid4().hex)
        command = ["wrk", f"-d{seconds}s", *options]
        return subprocess.run(
            command,
            env={**env, "BENCH_BODY": body},
            check=True,
            capture_output=True,
            text=True,
        ).stdout

    if duration is None:
        wrk(WARM_UP_SECONDS)
    output = wrk(duration or args.duration)
    report = json.loads(output.strip().splitlines()[-1])
    return Result(
        report["rps"],
        report["p50_ms"],
        report["p99_ms"],
        report["errors"],
        report["non2xx"],
        report["timeouts"],
    )


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
    """One check and one use of each benefit before the load, so a failing endpoint shows its
    answer (a check that answers 200 but not valid too)."""
    headers = {"X-API-KEY": key}
    path = f"{base}/v1/customers/{customer_id}/benefits"
    for benefit in (BENEFIT_KEY, STACKED_KEY):
        check = httpx.get(path, params={"key": benefit}, headers=headers)
        use = httpx.post(f"{path}/{benefit}/use", headers=headers)
        for response in (check, use):
            if response.status_code != 200:
                print(
                    f"warning: {response.request.method} {response.request.url} answered "
                    f"{response.status_code}: {response.text}",
                    file=sys.stderr,
                )
        if check.status_code == 200 and check.json() != [{"key": benefit, "valid": True}]:
            print(f"warning: {benefit} is not usable: {check.text}", file=sys.stderr)


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
    loyalty = asyncio.run(load_loyalty(database_url, demo, customers))
    print(
        f"loaded {customers:,} customers and {usages:,} ledger entries in {dataset.seconds:.1f} s, "
        f"{customers:,} loyalty contracts in {loyalty.seconds:.1f} s",
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
    }
    # Each stacked scenario right after its single-limit peer, so both meet the same machine.
    for name, benefit in ((CHECK, BENEFIT_KEY), (STACKED_CHECK, STACKED_KEY)):
        scenarios[name] = Scenario(
            f"{base}/",
            headers=(key_header,),
            path=f"/v1/customers/{{id}}/benefits?key={benefit}",
        )
    for name, benefit in ((USE, BENEFIT_KEY), (STACKED_USE, STACKED_KEY)):
        scenarios[name] = Scenario(
            f"{base}/",
            method="POST",
            headers=(key_header,),
            path=f"/v1/customers/{{id}}/benefits/{benefit}/use",
        )
    if args.only:
        scenarios = {name: scenarios[name] for name in ONLY[args.only] if name in scenarios}
    serve = [
        str(BIN / "openbenefits"),
        *("serve", "--port", str(args.port), "--workers", str(args.workers)),
    ]
    results: dict[str, Result] = {}
    naive: dict[str, Result] = {}
    ledgers = {}
    naive_base = f"http://127.0.0.1:{args.port + 1}"
    naive_scenarios = {}
    if not database_url.startswith("sqlite"):
        naive_scenarios = {
            CHECK: Scenario(f"{naive_base}/", path="/check/{id}"),
            USE: Scenario(f"{naive_base}/", method="POST", path="/use/{id}"),
        }
    with Servers(
        partial(serving, serve, env, f"{base}/readyz"),
        partial(naive_app, args, database_url, dataset),
    ) as servers:
        servers.ours()
        probe(base, key, dataset.first_customer_id)

        def measure(name: str, scenario: Scenario) -> None:
            """The scenario, then its naive peer right after, so that the ratio of the two is
            not skewed by the machine's drift over the run."""
            servers.ours()
            results[name] = drive(scenario, args, dataset)
            peer = naive_scenarios.get(NAIVE_PEER.get(name, ""))
            if peer is not None:
                servers.naive()
                naive[name] = drive(peer, args, dataset)

        for name, scenario in scenarios.items():
            measure(name, scenario)
        if args.only != "benefits":
            servers.ours()
            cards = prepare_gift_cards(base, demo)
            loyalty_base = f"{base}{PREFIX}"
            bearer = (cards.authorization,)
            json_body = "Content-Type: application/json"
            measure(
                VALIDATE,
                Scenario(
                    f"{loyalty_base}/contracts/validate-consumptions",
                    method="POST",
                    body=validate_body(),
                    headers=(*bearer, json_body),
                    pair=PAIR,
                    ids=loyalty.numbers,
                ),
            )
            measure(
                ENTITLEMENTS,
                Scenario(
                    f"{loyalty_base}/",
                    headers=bearer,
                    path=f"{PREFIX}/entitlements/{{id}}/by-customer-number",
                    ids=loyalty.numbers,
                ),
            )
            withdraw, drain = (
                Scenario(
                    f"{loyalty_base}/contracts/{uuid}/points-transactions",
                    method="POST",
                    body=WITHDRAWAL,
                    headers=(*bearer, json_body),
                )
                for uuid in (cards.hot_uuid, cards.drain_uuid)
            )
            measure(WITHDRAW, withdraw)
            servers.ours()
            results[DRAIN] = drive(drain, args, dataset, duration=DRAIN_SECONDS)
            ledgers = {
                WITHDRAW: asyncio.run(read_ledger(database_url, cards.hot_uuid)),
                DRAIN: asyncio.run(read_ledger(database_url, cards.drain_uuid)),
            }
    return Run(dataset, results, loyalty, naive, servers.rss_mb, ledgers)


class Servers:
    """OpenBenefits or the naive app, one at a time: both at once would hold more connections
    than PostgreSQL's default limit (each keeps its pools' connections open). ``rss_mb`` is
    OpenBenefits' processes' resident memory, read whenever it is stopped (after a share of the
    load): the largest reading."""

    def __init__(
        self,
        ours: Callable[[], AbstractContextManager[int]],
        naive: Callable[[], AbstractContextManager[str]],
    ) -> None:
        self._start = {"ours": ours, "naive": naive}
        self._running: tuple[str, ExitStack, Any] | None = None
        self.rss_mb: list[float] = []

    def ours(self) -> None:
        self._switch("ours")

    def naive(self) -> None:
        self._switch("naive")

    def _switch(self, name: str) -> None:
        if self._running is not None and self._running[0] == name:
            return
        self._stop()
        stack = ExitStack()
        handle = stack.enter_context(self._start[name]())
        self._running = (name, stack, handle)

    def _stop(self) -> None:
        if self._running is None:
            return
        name, stack, handle = self._running
        if name == "ours":
            self.rss_mb = max(self.rss_mb, worker_rss_mb(handle), key=lambda mb: max(mb, default=0))
        self._running = None
        stack.close()

    def __enter__(self) -> "Servers":
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop()


@contextmanager
def naive_app(args: argparse.Namespace, database_url: str, dataset: Dataset) -> Iterator[str]:
    """The naive baseline on the next port, served as the service is; yields its base URL."""
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
        yield naive_base


def ratio(value: float, base: float) -> str:
    return f"{value / base:.2f}" if base else "-"


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def report(args: argparse.Namespace, run: Run) -> None:
    data = run.dataset
    print(
        f"\ndb={args.db} workers={args.workers} customers={data.customers:,} "
        f"usages={data.usages:,} loyalty contracts={run.loyalty.contracts:,} keys={args.keys:,} "
        f"concurrency={args.concurrency} duration={args.duration}s"
    )
    header = ("rps", "p50 ms", "p99 ms", "errors", "rps/base", "p50/base", "rps/naive", "p99/naive")
    print(f"{'scenario':44}" + "".join(f"{h:>10}" for h in header))
    rows: list[tuple[str, Result, Result | None]] = []
    for name, result in run.results.items():
        rows.append((name, result, run.naive.get(name)))
        if name in run.naive:
            rows.append((f"  naive {NAIVE_PEER[name]}, right after", run.naive[name], None))
    base = run.results[HEALTHZ]
    for name, r, naive in rows:
        figures = [f"{r.rps:.0f}", f"{r.p50_ms:.2f}", f"{r.p99_ms:.2f}", str(r.errors)]
        figures += [ratio(r.rps, base.rps), ratio(r.p50_ms, base.p50_ms)]
        figures += [ratio(r.rps, naive.rps), ratio(r.p99_ms, naive.p99_ms)] if naive else ["-"] * 2
        print(f"{name:44}" + "".join(f"{f:>10}" for f in figures))
    for name, r, _ in rows:
        if r.errors:
            sockets = r.errors - r.non2xx - r.timeouts
            print(
                f"  errors of {name.strip()}: {r.non2xx} answers not 2xx/3xx, "
                f"{r.timeouts} timeouts, {sockets} socket errors"
            )
    rss = ", ".join(f"{mb:.0f}" for mb in run.rss_mb)
    targets = [(f"RSS < {RSS_MB:.0f} MB per process", f"{rss} MB", max(run.rss_mb) < RSS_MB)]
    if USE in run.results:
        use = run.results[USE]
        targets.append(
            (f"use p99 <= {USE_P99_MS:.0f} ms", f"{use.p99_ms:.1f} ms", use.p99_ms <= USE_P99_MS)
        )
    for name, least in TARGETS_VS_NAIVE.items():
        if name in run.results and name in run.naive:
            figure = run.results[name].rps / run.naive[name].rps
            label = f"{name} rps >= {least}x naive {NAIVE_PEER[name]}"
            targets.append((label, f"{figure:.2f}x", figure >= least))
    for stacked, single in STACKED.items():
        if all(name in run.results and name in run.naive for name in (stacked, single)):
            mine = run.results[stacked].rps / run.naive[stacked].rps
            theirs = run.results[single].rps / run.naive[single].rps
            label = f"{stacked} rps/naive >= {STACKED_VS_SINGLE}x {single}'s"
            figure = f"{mine:.2f} / {theirs:.2f} = {mine / theirs:.2f}x"
            targets.append((label, figure, mine / theirs >= STACKED_VS_SINGLE))
    for name, ledger in run.ledgers.items():
        figure = (
            f"balance {ledger.balance}, ledger {ledger.ledger_sum}, "
            f"lowest {ledger.lowest_balance_after}"
        )
        targets.append((f"{name}: ledger = balance >= 0", figure, ledger.consistent))
    if DRAIN in run.ledgers:
        spent = run.ledgers[DRAIN].withdrawals
        figure = f"{spent} withdrawals, {run.results[DRAIN].errors} refused"
        targets.append((f"{DRAIN}: exactly {DRAIN_POINTS} succeed", figure, spent == DRAIN_POINTS))
    print("\ntargets (server processes' RSS read after the load):")
    for label, figure, ok in targets:
        print(f"  {label:64}{figure:>32}  {verdict(ok)}")
    if not run.naive:
        print("  (the naive baseline runs on PostgreSQL only)")
        for stacked, single in STACKED.items():
            if stacked in run.results and single in run.results:
                figure = run.results[stacked].rps / run.results[single].rps
                print(f"  {stacked} rps / {single} rps: {figure:.2f}x (no naive peer)")


def compare_sizes(small: Run, large: Run) -> None:
    """The check's and the entitlements lookup's latency at both sizes, each as a multiple of
    its own run's /healthz latency (the two runs are minutes apart on a shared machine), and
    raw."""
    s_base, big_base = small.results[HEALTHZ], large.results[HEALTHZ]
    for name in (CHECK, ENTITLEMENTS):
        if name not in small.results:
            continue
        s, big = small.results[name], large.results[name]
        p50 = (big.p50_ms / big_base.p50_ms) / (s.p50_ms / s_base.p50_ms)
        p99 = (big.p99_ms / big_base.p99_ms) / (s.p99_ms / s_base.p99_ms)
        print(
            f"\n{name} latency at {large.dataset.customers:,} vs {small.dataset.customers:,}, "
            f"relative to /healthz: p50 {p50:.2f}x, p99 {p99:.2f}x "
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
        "--only",
        choices=sorted(ONLY),
        help="benefits: healthz, benefit check and use, single-limit and stacked; loyalty: "
        "healthz and the loyalty paths (each beside the naive baseline)",
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
