"""The naive baseline: benefit check and use as a bare FastAPI + asyncpg app would do them, with
no authentication, no ORM and no contract rules, against the tables bench/dataset.py loads.
OpenBenefits is measured against it.

    BENCH_NAIVE_DSN=postgresql://... BENCH_GRANT_ID=1 ... \\
        python bench/naive_app.py --port 8766 --workers 2

Served as `openbenefits serve` serves the service (openbenefits/serving.py), so that both get the
same processes and sockets.

Configured by environment variables (run.py sets them): BENCH_NAIVE_DSN, BENCH_TENANT_ID,
BENCH_STUDIO_ID, BENCH_BENEFIT_ID, BENCH_GRANT_ID, BENCH_API_KEY_ID.
"""

import argparse
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from openbenefits.config import Settings
from openbenefits.serving import serve

KEY = "BENCH"
TENANT_ID = int(os.environ.get("BENCH_TENANT_ID", "0"))
STUDIO_ID = int(os.environ.get("BENCH_STUDIO_ID", "0"))
BENEFIT_ID = int(os.environ.get("BENCH_BENEFIT_ID", "0"))
GRANT_ID = int(os.environ.get("BENCH_GRANT_ID", "0"))
API_KEY_ID = int(os.environ.get("BENCH_API_KEY_ID", "0"))

# The grant's one limit is a year's: its counters are the YEAR ones.
CHECK = """
SELECT bc.used < bc.uses_limit
FROM customers c
JOIN main_contracts mc ON mc.customer_id = c.id
JOIN benefit_counters bc ON bc.contract_id = mc.id AND bc.grant_id = $2 AND bc.period = 'YEAR'
WHERE c.id = $1 AND c.tenant_id = $3 AND bc.period_start <= now() AND now() < bc.period_end
"""
COUNT = """
UPDATE benefit_counters bc SET used = used + 1
FROM main_contracts mc
WHERE mc.customer_id = $1 AND bc.contract_id = mc.id AND bc.grant_id = $2 AND bc.period = 'YEAR'
  AND bc.period_start <= now() AND now() < bc.period_end AND bc.used < bc.uses_limit
RETURNING bc.contract_id, bc.period_start, bc.period_end
"""
RECORD = """
INSERT INTO benefit_usages (tenant_id, customer_id, benefit_id, benefit_key, grant_id,
    contract_id, period_start, period_end, studio_id, api_key_id, channel, used_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'USE', now())
"""


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    # Kept as it was when the baseline was set, so ratios stay comparable across commits: more
    # connections than the service's fast path gets from its budget (DB_CONNECTIONS).
    app.state.pool = await asyncpg.create_pool(
        os.environ["BENCH_NAIVE_DSN"], min_size=10, max_size=30
    )
    yield
    await app.state.pool.close()


app = FastAPI(lifespan=lifespan)


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/check/{customer_id}")
async def check(customer_id: int, request: Request) -> list[dict[str, Any]]:
    valid = await request.app.state.pool.fetchval(CHECK, customer_id, GRANT_ID, TENANT_ID)
    return [{"key": KEY, "valid": bool(valid)}]


@app.post("/use/{customer_id}")
async def use(customer_id: int, request: Request) -> Response:
    async with request.app.state.pool.acquire() as connection, connection.transaction():
        counter = await connection.fetchrow(COUNT, customer_id, GRANT_ID)
        if counter is None:
            return JSONResponse({"errorCode": "BENEFIT_NOT_AVAILABLE"}, status_code=400)
        await connection.execute(
            RECORD,
            TENANT_ID,
            customer_id,
            BENEFIT_ID,
            KEY,
            GRANT_ID,
            counter["contract_id"],
            counter["period_start"],
            counter["period_end"],
            STUDIO_ID,
            API_KEY_ID,
        )
    return Response(status_code=200)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Serve the naive baseline.")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    serve(
        "naive_app:app",
        host="127.0.0.1",
        port=args.port,
        workers=args.workers,
        grace=Settings().shutdown_grace_seconds,
        access_log=False,
        log_level="warning",
    )
