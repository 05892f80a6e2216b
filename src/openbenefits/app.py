"""``create_app()``: wires routers, error handlers and middleware, and nothing else."""

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI
from opentelemetry.sdk.trace import TracerProvider

from openbenefits import __version__, docs, ops
from openbenefits.benefits import admin as benefits_admin
from openbenefits.benefits import router as benefits_router
from openbenefits.config import Settings
from openbenefits.console import router as console
from openbenefits.contracts import admin as contracts_admin
from openbenefits.contracts import memberships
from openbenefits.contracts import router as contracts_router
from openbenefits.customers import admin as customers_admin
from openbenefits.customers import router as customers_router
from openbenefits.kit import downloads, fast, idempotency, tracing
from openbenefits.kit.blobstore import BlobStore, open_blob_store
from openbenefits.kit.clock import Clock, SystemClock
from openbenefits.kit.db import Database
from openbenefits.kit.error_catalogue import declare_codes
from openbenefits.kit.error_handlers import install_error_handlers
from openbenefits.kit.housekeeping import finish, periodically
from openbenefits.kit.logging import configure_logging
from openbenefits.kit.middleware import (
    BodyLimitMiddleware,
    JsonDepthMiddleware,
    NulMiddleware,
    RequestContextMiddleware,
)
from openbenefits.kit.rate_limits import RateLimitMiddleware, declare_refusals
from openbenefits.loyalty import router as loyalty_router
from openbenefits.loyalty.examples import declare_examples
from openbenefits.tenancy import admin as tenancy_admin
from openbenefits.tenancy import router as tenancy_router
from openbenefits.tenancy.key_cache import PrincipalCache, Revocations
from openbenefits.tenancy.token_cache import VerifiedTokens
from openbenefits.webhooks import admin as webhooks_admin
from openbenefits.webhooks import retention
from openbenefits.webhooks import worker as webhooks_worker

PURGE_EVERY = timedelta(hours=1)

DESCRIPTION = """
The system of record for benefits. Three surfaces over one core:

* **Studio Open API** (`/v1/...`, `X-API-KEY`): wire-compatible with the studio Open API v1.5.0.
* **Loyalty programs API** (`/customers/v2/benefits/...`, OAuth2 bearer from `POST /oauth/token`).
* **Admin API** (`/admin/v1/...`, admin bearer token from `openbenefits admin-token`).

State-changing POSTs accept an `Idempotency-Key` header.
"""


def create_app(
    settings: Settings | None = None,
    *,
    db: Database | None = None,
    clock: Clock | None = None,
    blobs: BlobStore | None = None,
    tracer_provider: TracerProvider | None = None,
) -> FastAPI:
    """The service. Traced with ``tracer_provider``, or over OTLP when the environment names an
    endpoint (kit/tracing.py); else not traced at all."""
    settings = settings or Settings()
    configure_logging(settings.log_level)
    database = db or Database(settings.resolved_database_url, connections=settings.db_connections)

    app_clock = clock or SystemClock()
    exporting = tracer_provider is None
    tracer_provider = tracer_provider or tracing.provider_from_environment()
    if tracer_provider is not None:
        tracing.trace_database(database, tracer_provider)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        stop = asyncio.Event()
        jobs = [
            periodically(
                "idempotency purge",
                lambda: idempotency.purge_expired(database, app_clock.now()),
                PURGE_EVERY,
                stop,
            ),
            periodically(
                "history purge",
                lambda: retention.purge_history(database, app_clock.now(), settings.retention),
                PURGE_EVERY,
                stop,
            ),
        ]
        if settings.run_worker_in_process:
            jobs.append(
                webhooks_worker.run(
                    database, app_clock, settings.keyring, stop, settings.webhook_allowed_networks
                )
            )
        tasks = [asyncio.create_task(job) for job in jobs]
        # What start-up built (modules, compiled statements, routes) lives as long as the
        # process: moved out of the collector's reach, so collections walk only what requests
        # allocate. Measured: about 20 % more benefit checks per second (bench/README.md).
        gc.collect()
        gc.freeze()
        yield
        # Shutting down (uvicorn has finished the requests in flight): the jobs finish what
        # they hold, within the grace period.
        stop.set()
        await finish(tasks, settings.shutdown_grace)
        if db is None:
            await database.dispose()
        if exporting and tracer_provider is not None:
            tracer_provider.shutdown()  # exports the spans still buffered

    app = fast.FastDispatchApp(
        title="OpenBenefits",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        # Metrics are our own (kit/metrics.py); FastAPI's OpenTelemetry hooks would look for
        # providers on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
        # Served with the service's own assets instead (docs.py).
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.db = database
    app.state.clock = app_clock
    app.state.principals = PrincipalCache(settings.api_key_cache_seconds)
    app.state.revocations = Revocations.remembered_for(settings.api_key_cache_seconds)
    app.state.loyalty_tokens = VerifiedTokens(settings.signing_key, settings.oauth_audiences)
    app.state.blobs = blobs or open_blob_store(settings.blob_store_url, settings.data_dir / "blobs")
    install_error_handlers(app)
    # Inside the size limit: it parses what the limit admitted.
    app.add_middleware(JsonDepthMiddleware)
    app.add_middleware(NulMiddleware)
    upload_limit = settings.max_document_bytes + customers_router.MULTIPART_OVERHEAD
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        larger=[(customers_router.UPLOAD_PATHS, upload_limit)],
    )
    if settings.rate_limits_enabled:
        # Outside everything that answers requests, so no route escapes;
        # inside the request context, so refusals carry request ids and are logged.
        app.add_middleware(
            RateLimitMiddleware,
            settings=settings,
            clock=app_clock,
            uploads=customers_router.UPLOAD_PATHS,
        )
    app.add_middleware(RequestContextMiddleware)
    if tracer_provider is not None:
        # Outermost: the request's span is current for everything inside, fast routes included.
        tracing.add_tracing(app, tracer_provider)
    # Routes are matched in order: the hot benefit paths first. Ahead of the customers router
    # too, so that /v1/customers/benefits is not taken for a customer id.
    app.include_router(benefits_router.router)
    app.include_router(ops.router)
    app.include_router(downloads.router)
    app.include_router(tenancy_router.oauth_router)
    app.include_router(tenancy_admin.router)
    app.include_router(customers_admin.router)
    app.include_router(contracts_admin.router)
    app.include_router(customers_admin.fields_router)
    app.include_router(webhooks_admin.router)
    app.include_router(benefits_admin.router)
    app.include_router(customers_router.router)
    app.include_router(contracts_router.router)
    app.include_router(memberships.router)
    app.include_router(loyalty_router.router)
    app.include_router(loyalty_router.reading_posts)
    # Last: the HEAD key check matches every studio path.
    app.include_router(tenancy_router.studio_router)
    console.install(app)
    docs.install(app)
    if settings.rate_limits_enabled:
        declare_refusals(app)
    declare_codes(app)
    declare_examples(app)
    return app
