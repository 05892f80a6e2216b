"""The ``openbenefits`` command: serve, worker, migrate, demo, keys, admin tokens, reencrypt."""

import asyncio
import json
import os
import signal
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Annotated, Any, TypeVar

import typer

from openbenefits import __version__, serving
from openbenefits.config import Settings
from openbenefits.console import operators
from openbenefits.console.models import OperatorRole
from openbenefits.demo import load_demo
from openbenefits.kit import idempotency, tracing
from openbenefits.kit.audit import SystemActor
from openbenefits.kit.clock import Clock, SystemClock
from openbenefits.kit.db import Database
from openbenefits.kit.errors import AppError
from openbenefits.kit.housekeeping import finish
from openbenefits.kit.metrics import MULTIPROCESS_ENV
from openbenefits.kit.migrations import upgrade_to_head
from openbenefits.tenancy import schemas, service
from openbenefits.tenancy.scopes import StudioScope
from openbenefits.webhooks import service as webhooks_service
from openbenefits.webhooks import worker as webhooks_worker

app = typer.Typer(help="OpenBenefits: the benefits engine.", no_args_is_help=True)
keys_app = typer.Typer(help="Studio API keys.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
operators_app = typer.Typer(help="Console operators.", no_args_is_help=True)
app.add_typer(operators_app, name="operators")

T = TypeVar("T")


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"openbenefits {__version__}")
        raise typer.Exit


@app.callback()
def main(
    _version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_print_version,
            is_eager=True,
            help="Print the installed version and exit.",
        ),
    ] = False,
) -> None:
    """OpenBenefits: the benefits engine."""


# The connections of a worker or of any other command: they run one thing at a time.
WORKER_DB_CONNECTIONS = 4


@dataclass(frozen=True)
class CliContext:
    """What the commands share; tests pass their own (``CliRunner().invoke(..., obj=...)``) to
    stand the command line on the same clock as the app they drive."""

    clock: Clock = field(default_factory=SystemClock)


def _clock(ctx: typer.Context) -> Clock:
    return ctx.obj.clock if isinstance(ctx.obj, CliContext) else SystemClock()


def _run_with_db(work: Callable[[Database, Settings], Awaitable[T]]) -> T:
    """Run ``work`` against a migrated database and dispose of the engines afterwards."""
    settings = Settings()

    async def main() -> T:
        db = Database(settings.resolved_database_url, connections=WORKER_DB_CONNECTIONS)
        try:
            await upgrade_to_head(db.engine, settings.keyring)
            return await work(db, settings)
        finally:
            await db.dispose()

    try:
        return asyncio.run(main())
    except AppError as error:
        typer.echo(f"error: {error.message}", err=True)
        raise typer.Exit(1) from error


def _print_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2))


def _demo(clock: Clock) -> Callable[[Database, Settings], Awaitable[dict[str, Any]]]:
    async def load(db: Database, settings: Settings) -> dict[str, Any]:
        return await load_demo(db, settings.signing_key, clock)

    return load


async def _migrated(_db: Database, _settings: Settings) -> None:
    return None


@app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Server processes.")] = 1,
    demo: Annotated[bool, typer.Option("--demo", help="Load the demo tenant first.")] = False,
) -> None:
    """Migrate the database, optionally load the demo tenant, and serve the API."""
    if demo:
        credentials = _run_with_db(_demo(_clock(ctx)))
        typer.echo("Demo tenant loaded. Credentials:")
        _print_json(credentials)
        typer.echo(f"API docs: http://{host}:{port}/docs (ReDoc: /redoc; error codes: /errors)")
        admin, password = next(iter(credentials["operators"].items()))
        typer.echo(f"Console: http://{host}:{port}/console (sign in as {admin}, {password})")
    else:
        _run_with_db(_migrated)
    if workers > 1 and not os.environ.get(MULTIPROCESS_ENV):
        os.environ[MULTIPROCESS_ENV] = tempfile.mkdtemp(prefix="openbenefits-metrics-")
    serving.serve(
        "openbenefits.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        grace=Settings().shutdown_grace_seconds,
        log_config=None,
        access_log=False,
        proxy_headers=True,
    )


@app.command()
def worker(ctx: typer.Context) -> None:
    """Deliver webhooks until stopped. Run as many as needed on PostgreSQL (they never take the
    same delivery); set OPENBENEFITS_RUN_WORKER_IN_PROCESS=false to keep `serve` from delivering."""
    clock = _clock(ctx)

    async def deliver(db: Database, settings: Settings) -> None:
        # Traced over OTLP when the environment names an endpoint, as the server is.
        provider = tracing.provider_from_environment()
        if provider is not None:
            tracing.trace_database(db, provider)
        # SIGTERM or SIGINT: the pass in hand is sent and recorded, then the command exits 0.
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        delivering = asyncio.create_task(
            webhooks_worker.run(
                db, clock, settings.keyring, stop, settings.webhook_allowed_networks
            )
        )
        await stop.wait()
        await finish([delivering], settings.shutdown_grace)
        if provider is not None:
            provider.shutdown()  # exports the spans still buffered

    _run_with_db(deliver)


@app.command()
def migrate() -> None:
    """Apply the database migrations up to head."""
    _run_with_db(_migrated)
    typer.echo("Database is at the latest migration.")


@app.command()
def demo(ctx: typer.Context) -> None:
    """Load the demo tenant and print its credentials as JSON."""
    _print_json(_run_with_db(_demo(_clock(ctx))))


@keys_app.command("create")
def create_key(
    studio_id: Annotated[int, typer.Option(help="The studio the key acts for.")],
    scope: Annotated[list[StudioScope], typer.Option(help="A scope (repeat for several).")],
    name: Annotated[str, typer.Option(help="What the key is for.")] = "cli",
    partner_integration_id: Annotated[
        int | None, typer.Option(help="Bind the key to this partner integration.")
    ] = None,
) -> None:
    """Create a studio API key and print it (it is shown only once)."""

    async def create(db: Database, settings: Settings) -> dict[str, Any]:
        async with db.session() as session:
            studio = await service.find_studio(session, studio_id)
            api_key, plain = await service.create_api_key(
                session,
                SystemActor("cli"),
                settings.signing_key,
                studio.tenant_id,
                schemas.ApiKeyCreate(
                    studio_id=studio_id,
                    partner_integration_id=partner_integration_id,
                    name=name,
                    scopes=scope,
                ),
            )
            await session.commit()
            return {"id": api_key.id, "tenantId": studio.tenant_id, "key": plain}

    _print_json(_run_with_db(create))


@operators_app.command("create")
def create_operator(
    ctx: typer.Context,
    tenant_id: Annotated[int, typer.Option(help="The tenant the operator works for.")],
    email: Annotated[str, typer.Option(help="The address the operator signs in with.")],
    role: Annotated[OperatorRole, typer.Option(help="What the operator may do.")],
    password: Annotated[
        str,
        typer.Option(
            prompt=True,
            hide_input=True,
            confirmation_prompt=True,
            help=f"At least {operators.MIN_PASSWORD} characters (asked for when not given).",
        ),
    ],
    studio_id: Annotated[
        list[int] | None, typer.Option(help="A studio a studio manager manages (repeat).")
    ] = None,
) -> None:
    """Create an operator account (the first tenant admin; a tenant admin makes the others in
    the console)."""
    now = _clock(ctx).now()

    async def create(db: Database, _settings: Settings) -> dict[str, Any]:
        async with db.session() as session:
            await service.get_tenant(session, tenant_id)
            operator = await operators.create_operator(
                session,
                SystemActor("cli"),
                tenant_id,
                email=email,
                password=password,
                role=role,
                studio_ids=studio_id or [],
                now=now,
            )
            await session.commit()
            return {"id": operator.id, "tenantId": tenant_id, "email": operator.email, "role": role}

    _print_json(_run_with_db(create))


@app.command()
def reencrypt() -> None:
    """Seal every secret kept encrypted (webhook secrets, partners' keys, stored idempotent
    answers) under the first of OPENBENEFITS_ENCRYPTION_KEYS; afterwards older keys can go."""

    async def reseal(db: Database, settings: Settings) -> dict[str, int]:
        async with db.session() as session:
            counts = {
                "webhookSubscriptions": await webhooks_service.reseal(session, settings.keyring),
                "idempotentAnswers": await idempotency.reseal(session, settings.keyring),
            }
            await session.commit()
        return counts

    _print_json(_run_with_db(reseal))


@app.command("admin-token")
def admin_token(
    ctx: typer.Context,
    name: Annotated[str, typer.Option(help="Who will use the token (audit log).")] = "admin",
    tenant_id: Annotated[int | None, typer.Option(help="Restrict the token to one tenant.")] = None,
    ttl_hours: Annotated[int, typer.Option(min=1, help="Lifetime in hours.")] = 24,
) -> None:
    """Print an admin bearer token for /admin/v1 (its id, which revokes it, on stderr)."""
    settings = Settings()
    token_id = service.new_admin_token_id()
    typer.echo(
        service.issue_admin_token(
            settings.signing_key,
            name=name,
            tenant_id=tenant_id,
            now=_clock(ctx).now(),
            ttl=timedelta(hours=ttl_hours),
            token_id=token_id,
        )
    )
    typer.echo(f"token id: {token_id} (openbenefits revoke-admin-token {token_id})", err=True)


@app.command("revoke-admin-token")
def revoke_admin_token(
    ctx: typer.Context,
    token_id: Annotated[str, typer.Argument(help="The id printed with the token.")],
) -> None:
    """Withdraw an admin token before it expires (every server process refuses it within
    OPENBENEFITS_API_KEY_CACHE_SECONDS)."""
    now = _clock(ctx).now()

    async def revoke(db: Database, _settings: Settings) -> None:
        async with db.session() as session:
            await service.revoke_admin_token(session, SystemActor("cli"), token_id, now)
            await session.commit()

    _run_with_db(revoke)
    typer.echo(f"Admin token {token_id} is revoked.")
