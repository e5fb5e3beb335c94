"""Shared fixtures: a real database (SQLite or PostgreSQL), Redis and a recording SMTP server."""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from alerts.catalog import sync_catalog
from alerts.config import Settings
from alerts.db import Sessionmaker, create_engine, create_sessionmaker
from alerts.embedded_redis import answers, start_redis
from alerts.migrate import upgrade
from tests.support.smtp import RecordingSMTP

SECRET = "test-secret-key-that-is-long-enough-0123456789"
# A queue of this run's own, so runs side by side never take each other's jobs.
TEST_QUEUE = f"alerts:test:{os.getpid()}"
KEEP_TABLES = {"alembic_version", "topics", "countries"}


@dataclass
class Backend:
    """The database a test run uses."""

    url: str

    @property
    def is_postgres(self) -> bool:
        return self.url.startswith("postgresql")


def _pg_admin_url(url: str) -> str:
    return make_url(url).set(database="postgres").render_as_string(hide_password=False)


async def _create_pg_database(base_url: str, name: str) -> str:
    admin = create_engine(_pg_admin_url(base_url), isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        await admin.dispose()
    return make_url(base_url).set(database=name).render_as_string(hide_password=False)


async def _drop_pg_database(base_url: str, name: str) -> None:
    admin = create_engine(_pg_admin_url(base_url), isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()


def _base_settings(tmp: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "environment": "test",
        "secret_key": SECRET,
        "var_dir": tmp,
        "base_url": "http://127.0.0.1:8080",
        "_env_file": None,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture(scope="session")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    """Create and migrate a fresh database: PostgreSQL when TEST_DATABASE_URL says, else SQLite."""
    requested = os.environ.get("TEST_DATABASE_URL", "")
    tmp = tmp_path_factory.mktemp("db")
    if requested:
        base = Settings(database_url=requested, _env_file=None).db_url  # type: ignore[call-arg]
        name = f"alerts_test_{os.getpid()}"
        url = asyncio.run(_create_pg_database(base, name))
    else:
        url = f"sqlite+aiosqlite:///{tmp / 'test.db'}"
    settings = _base_settings(tmp, database_url=url)
    asyncio.run(upgrade(settings))

    async def seed() -> None:
        engine = create_engine(url)
        async with create_sessionmaker(engine).begin() as session:
            await sync_catalog(session, settings.feeds_dir)
        await engine.dispose()

    asyncio.run(seed())
    yield Backend(url)
    if requested:
        asyncio.run(_drop_pg_database(base, name))


@pytest.fixture
async def scratch_db_url(backend: Backend, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database of the run's kind, for tests that build and tear down schemas."""
    if not backend.is_postgres:
        yield f"sqlite+aiosqlite:///{tmp_path / 'scratch.db'}"
        return
    name = f"alerts_scratch_{os.getpid()}"
    url = await _create_pg_database(backend.url, name)
    yield url
    await _drop_pg_database(backend.url, name)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Use the machine's Redis or start a private one.

    Each test run flushes its database before every test, so runs side by side (a developer's
    and CI's, or SQLite's and PostgreSQL's) take different database numbers.
    """
    url = os.environ.get("TEST_REDIS_URL", f"redis://127.0.0.1:6379/{1 + os.getpid() % 15}")
    if answers(url):
        yield url
        return
    url, process = start_redis(tmp_path_factory.mktemp("redis"))
    yield url.rsplit("/", 1)[0] + "/9"
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def smtp() -> Iterator[RecordingSMTP]:
    """A real SMTP server on loopback that records what it receives."""
    server = RecordingSMTP()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def make_settings(
    backend: Backend, redis_url: str, smtp: RecordingSMTP, tmp_path: Path
) -> Callable[..., Settings]:
    """Return a factory of Settings pointing at the test database, Redis and SMTP server."""

    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "database_url": backend.url,
            "redis_url": redis_url,
            "smtp_url": f"smtp://127.0.0.1:{smtp.port}",
            "queue_name": TEST_QUEUE,
        }
        values.update(overrides)
        return _base_settings(tmp_path, **values)

    return make


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    """Default test settings."""
    return make_settings()


async def _clean(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        names = await conn.run_sync(
            lambda sync: sync.dialect.get_table_names(sync)  # type: ignore[no-any-return]
        )
        tables = [n for n in names if n not in KEEP_TABLES]
        if engine.dialect.name == "postgresql":
            if tables:
                joined = ", ".join(f'"{t}"' for t in tables)
                await conn.execute(text(f"TRUNCATE {joined} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                await conn.execute(text(f'DELETE FROM "{table}"'))


@pytest.fixture
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    """An engine on the test database, emptied of everything but the catalog."""
    engine = create_engine(settings.db_url)
    await _clean(engine)
    yield engine
    await engine.dispose()


@pytest.fixture
def sessionmaker(engine: AsyncEngine) -> Sessionmaker:
    """Session factory on the test database."""
    return create_sessionmaker(engine)


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Any]:
    """An arq pool on the test Redis, flushed before each test."""
    from alerts.queue import connect

    pool = await connect(redis_url, TEST_QUEUE)
    await pool.flushdb()
    yield pool
    await pool.aclose()


def pytest_report_header(config: pytest.Config) -> str:
    """Say which database the run uses."""
    url = os.environ.get("TEST_DATABASE_URL")
    return f"database: {'PostgreSQL ' + url if url else 'SQLite (temporary file)'}"


def chromium_path() -> str | None:
    """Return Debian's Chromium if installed."""
    for path in ("/usr/bin/chromium", "/usr/bin/chromium-browser"):
        if Path(path).exists():
            return path
    return None


__all__ = ["Backend", "chromium_path", "subprocess"]
