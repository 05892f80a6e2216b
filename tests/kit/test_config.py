"""Configuration: the secret is generated once per data directory, never a built-in default."""

import stat
from concurrent.futures import ThreadPoolExecutor

from openbenefits.config import Settings, load_or_create_secret, normalise_database_url


def test_secret_is_generated_on_first_start_and_kept(tmp_path, monkeypatch):
    monkeypatch.delenv("OPENBENEFITS_SECRET_KEY", raising=False)
    first = Settings(data_dir=tmp_path).signing_key
    again = Settings(data_dir=tmp_path).signing_key
    elsewhere = Settings(data_dir=tmp_path / "other").signing_key
    assert first == again
    assert first != elsewhere
    assert len(first) >= 48
    mode = (tmp_path / "secret_key").stat().st_mode
    assert stat.S_IMODE(mode) == 0o600


def test_processes_starting_together_agree_on_one_secret(tmp_path):
    with ThreadPoolExecutor(8) as pool:
        secrets = set(pool.map(lambda _: load_or_create_secret(tmp_path / "s"), range(32)))
    assert len(secrets) == 1
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".secret-")]


def test_a_given_secret_wins(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENBENEFITS_SECRET_KEY", "from-the-environment")
    assert Settings(data_dir=tmp_path).signing_key == b"from-the-environment"
    assert not (tmp_path / "secret_key").exists()


def test_database_url_defaults_to_sqlite_in_the_data_dir(tmp_path, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("OPENBENEFITS_DATABASE_URL", raising=False)
    url = Settings(data_dir=tmp_path).resolved_database_url
    assert url == f"sqlite+aiosqlite:///{tmp_path / 'openbenefits.db'}"


def test_database_url_from_the_environment(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@db:5432/ob")
    assert Settings().resolved_database_url == "postgresql+asyncpg://u@db:5432/ob"


def test_plain_urls_get_the_async_driver():
    assert normalise_database_url("postgres://h/db") == "postgresql+asyncpg://h/db"
    assert normalise_database_url("sqlite:///x.db") == "sqlite+aiosqlite:///x.db"
    assert normalise_database_url("postgresql+asyncpg://h/db") == "postgresql+asyncpg://h/db"


def test_prefixed_database_url_wins(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@db/plain")
    monkeypatch.setenv("OPENBENEFITS_DATABASE_URL", "postgresql://u@db/prefixed")
    assert Settings().resolved_database_url == "postgresql+asyncpg://u@db/prefixed"
    assert Settings(database_url="sqlite:///given.db").resolved_database_url == (
        "sqlite+aiosqlite:///given.db"
    )


def test_blob_store_url_from_the_environment(monkeypatch):
    monkeypatch.delenv("OPENBENEFITS_BLOB_STORE_URL", raising=False)
    monkeypatch.delenv("BLOB_STORE_URL", raising=False)
    assert Settings().blob_store_url == ""
    monkeypatch.setenv("BLOB_STORE_URL", "s3://plain/files")
    assert Settings().blob_store_url == "s3://plain/files"
    monkeypatch.setenv("OPENBENEFITS_BLOB_STORE_URL", "s3://prefixed/files")
    assert Settings().blob_store_url == "s3://prefixed/files"
