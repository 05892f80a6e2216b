"""Runtime configuration, read from the environment (prefix ``OPENBENEFITS_``)."""

import contextlib
import os
import secrets
import tempfile
from datetime import timedelta
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any

from pydantic import AliasChoices, Field, IPvAnyNetwork, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from openbenefits.kit.encryption import Keyring
from openbenefits.tenancy.principals import ADMIN_AUDIENCE

SECRET_KEY_FILE = "secret_key"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OPENBENEFITS_", extra="ignore")

    data_dir: Path = Path("data")
    # Empty means: an SQLite file in data_dir. ``DATABASE_URL`` (unprefixed) is honoured too, as
    # PRODUCT.md promises operators.
    database_url: str = Field(
        default="",
        validation_alias=AliasChoices("OPENBENEFITS_DATABASE_URL", "DATABASE_URL", "database_url"),
    )
    # Used for hashing API keys and client secrets and for signing tokens. Several processes on one
    # PostgreSQL must share it, so production sets it; a lone embedded instance generates its own.
    secret_key: SecretStr | None = None
    # Keys for the secrets kept encrypted at rest, comma-separated, the sealing key first. The key
    # derived from the instance secret always follows them, so nothing sealed before is lost when
    # keys are added; `openbenefits reencrypt` seals everything under the first (README).
    encryption_keys: Annotated[list[SecretStr], NoDecode] = []
    # Every PostgreSQL connection a server process may open (kit/db.connection_budget splits
    # them between the fast path, writes and reads). PostgreSQL's max_connections must exceed
    # processes * this + workers * cli.WORKER_DB_CONNECTIONS (README, "Running it for real").
    db_connections: int = Field(default=12, ge=3)
    max_body_bytes: int = 1024 * 1024
    # The largest document or profile image a client may upload (routes that take files accept
    # bodies this large plus the multipart framing).
    max_document_bytes: int = 10 * 1024 * 1024
    # Where documents and profile images are kept: empty for data_dir/blobs, or
    # s3://bucket/prefix, reached with boto3's own AWS_* environment (kit/blobstore.py).
    # ``BLOB_STORE_URL`` (unprefixed) is honoured too.
    blob_store_url: str = Field(
        default="",
        validation_alias=AliasChoices(
            "OPENBENEFITS_BLOB_STORE_URL", "BLOB_STORE_URL", "blob_store_url"
        ),
    )
    access_token_ttl_seconds: int = 900
    # The audiences a loyalty token may be issued for, comma-separated; a token request without
    # ``audience`` gets the first. Listing another issuer's audience lets a client written for it
    # be pointed here unchanged. (``OAUTH_AUDIENCE``, one value, is still read.)
    oauth_audiences: Annotated[list[str], NoDecode] = Field(
        default=["openbenefits-loyalty"],
        min_length=1,
        validation_alias=AliasChoices(
            "OPENBENEFITS_OAUTH_AUDIENCES", "OPENBENEFITS_OAUTH_AUDIENCE", "oauth_audiences"
        ),
    )
    # How long a server process trusts a studio API key it has checked: a revocation reaches the
    # other processes within this time and one key lookup (0: check every request against the
    # database).
    api_key_cache_seconds: float = 5.0
    idempotency_ttl_seconds: int = 24 * 3600
    # A request holding an idempotency key renews its claim every third of this while it works;
    # a claim not renewed for this long (its process died) is taken over by a retry.
    idempotency_lease_seconds: float = 6.0
    access_code_ttl_seconds: int = 300
    # Rate limits (kit/rate_limits.py) in the `limits` notation: "100/second", "5000/hour",
    # several joined by ";" ("20/second;600/minute"), or empty for none. Windows are fixed: a
    # client may spend one window's allowance at its end and the next one's at its start. A
    # credential is the presented X-API-KEY or bearer token, or the client_id sent to the token
    # endpoint; an address is the client's (behind a proxy, uvicorn takes it from
    # X-Forwarded-For when the proxy is in FORWARDED_ALLOW_IPS), an IPv6 client's /64.
    rate_limits_enabled: bool = True
    rate_limit_studio_per_credential: str = "100/second"
    rate_limit_studio_per_address: str = "300/second"
    rate_limit_loyalty_per_credential: str = "100/second"
    rate_limit_loyalty_per_address: str = "300/second"
    rate_limit_admin_per_credential: str = "50/second"
    rate_limit_admin_per_address: str = "100/second"
    rate_limit_token_per_client: str = "60/minute"
    rate_limit_token_per_address: str = "120/minute"
    # Every other path: health, metrics, file downloads, the API documents.
    rate_limit_other_per_address: str = "100/second"
    # Document and profile image uploads (decoding an image costs up to half a second of CPU).
    rate_limit_uploads_per_credential: str = "30/minute"
    # 401 answers per address; an address that reaches this is refused (429) on the studio,
    # loyalty and admin surfaces and the token endpoint until the window ends.
    rate_limit_failed_auth_per_address: str = "60/minute"
    # The operator console (/console) per address, and its sign-in form per address (each
    # account also locks after five failures in a row: console/operators.py).
    rate_limit_console_per_address: str = "50/second"
    rate_limit_console_sign_in_per_address: str = "10/minute"
    # Redis for counters shared by every process and host (``REDIS_URL`` is honoured too); empty
    # means each process counts alone (N processes may let a client through N times a limit).
    # While Redis is unreachable, each process counts alone and logs a warning.
    redis_url: str = Field(
        default="",
        validation_alias=AliasChoices("OPENBENEFITS_REDIS_URL", "REDIS_URL", "redis_url"),
    )
    # Prefixes the counters' Redis keys, so that several deployments can share one Redis.
    rate_limit_key_prefix: str = "openbenefits"
    # The embedded default delivers webhooks from the server process; at scale set this false
    # and run `openbenefits worker` processes instead.
    run_worker_in_process: bool = True
    # Console cookies are sent over HTTPS only. Browsers treat http://localhost and
    # http://127.0.0.1 as secure, so the demo works; a console served over plain HTTP to other
    # hosts needs this off, and should not be.
    console_secure_cookies: bool = True
    # Networks webhooks may reach besides the public internet, comma-separated CIDRs
    # (`10.20.0.0/16,::1`): loopback, private, link-local, metadata and other non-public
    # addresses are refused unless listed here (kit/network.py).
    webhook_allowed_networks: Annotated[list[IPvAnyNetwork], NoDecode] = []
    log_level: str = "INFO"
    # Dispatched outbox events and finished webhook deliveries older than this are deleted
    # (hourly, in batches: webhooks/retention.py); the usage and points ledgers never are.
    history_retention_days: int = Field(default=30, ge=1)
    # On SIGTERM a server process stops accepting, gives the requests in flight this long to
    # finish, then gives its background jobs (webhook delivery, purges) as long again to finish
    # the batch in hand; `openbenefits worker` finishes its delivery pass within it.
    shutdown_grace_seconds: float = Field(default=20.0, gt=0)

    @property
    def retention(self) -> timedelta:
        return timedelta(days=self.history_retention_days)

    @property
    def shutdown_grace(self) -> timedelta:
        return timedelta(seconds=self.shutdown_grace_seconds)

    @cached_property
    def resolved_database_url(self) -> str:
        url = self.database_url or f"sqlite+aiosqlite:///{self.data_dir / 'openbenefits.db'}"
        return normalise_database_url(url)

    @field_validator(
        "encryption_keys", "webhook_allowed_networks", "oauth_audiences", mode="before"
    )
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("oauth_audiences")
    @classmethod
    def _not_the_admin_audience(cls, value: list[str]) -> list[str]:
        if ADMIN_AUDIENCE in value:
            raise ValueError(f"{ADMIN_AUDIENCE!r} is the admin tokens' audience")
        return value

    @cached_property
    def keyring(self) -> Keyring:
        configured = [key.get_secret_value() for key in self.encryption_keys]
        return Keyring.from_secrets(self.signing_key, configured)

    @cached_property
    def signing_key(self) -> bytes:
        if self.secret_key is not None:
            return self.secret_key.get_secret_value().encode()
        return load_or_create_secret(self.data_dir / SECRET_KEY_FILE)


def normalise_database_url(url: str) -> str:
    """Accept the plain URLs operators write and pick the async driver for them."""
    for plain, driver in (
        ("postgresql://", "postgresql+asyncpg://"),
        ("postgres://", "postgresql+asyncpg://"),
        ("sqlite://", "sqlite+aiosqlite://"),
    ):
        if url.startswith(plain):
            return driver + url[len(plain) :]
    return url


def load_or_create_secret(path: Path) -> bytes:
    """Read the instance secret, creating it on first start.

    The secret is written to a private temporary file and then hard-linked into place, so that
    processes starting together all end up reading the same, complete secret.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".secret-")
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(48))
            with contextlib.suppress(FileExistsError):
                os.link(temporary, path)
        finally:
            os.unlink(temporary)
    return path.read_bytes().strip()
