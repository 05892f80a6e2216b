"""Runtime configuration, read from the environment (prefix ``OPENBENEFITS_``)."""

import contextlib
import os
import secrets
import tempfile
from functools import cached_property
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

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
    # Connections each server process keeps open. Under more concurrent requests than this the
    # overflow connections are opened and closed request after request, which costs more than
    # the queries: size it to the concurrency a process serves.
    db_pool_size: int = 16
    db_max_overflow: int = 8
    max_body_bytes: int = 1024 * 1024
    # The largest document or profile image a client may upload (routes that take files accept
    # bodies this large plus the multipart framing).
    max_document_bytes: int = 10 * 1024 * 1024
    access_token_ttl_seconds: int = 900
    oauth_audience: str = "openbenefits-loyalty"
    # How long a server process trusts a studio API key it has checked: a revocation reaches the
    # other processes within this time and one key lookup (0: check every request against the
    # database).
    api_key_cache_seconds: float = 5.0
    idempotency_ttl_seconds: int = 24 * 3600
    # A request holding an idempotency key longer than this is presumed dead and may be taken over.
    idempotency_lease_seconds: int = 60
    access_code_ttl_seconds: int = 300
    # The embedded default delivers webhooks from the server process; at scale set this false
    # and run `openbenefits worker` processes instead.
    run_worker_in_process: bool = True
    log_level: str = "INFO"

    @cached_property
    def resolved_database_url(self) -> str:
        url = self.database_url or f"sqlite+aiosqlite:///{self.data_dir / 'openbenefits.db'}"
        return normalise_database_url(url)

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
