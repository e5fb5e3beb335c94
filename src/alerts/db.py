"""Engine and session factory: one engine per process, one session per unit of work."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

Sessionmaker = async_sessionmaker[AsyncSession]


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """Create an engine with the pragmas and pool sizes each backend wants."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)

        @event.listens_for(engine.sync_engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()
            dbapi_conn.isolation_level = None

        # Take the write lock at BEGIN so concurrent writers queue instead of failing.
        @event.listens_for(engine.sync_engine, "begin")
        def _begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    # A fixed pool: overflow connections opened and closed under load cost a PostgreSQL
    # backend each; recycling replaces pre-ping, which cost three round trips a checkout.
    kwargs.setdefault("pool_size", 20)
    kwargs.setdefault("max_overflow", 0)
    kwargs.setdefault("pool_recycle", 1800)
    kwargs.setdefault("pool_timeout", 30)
    return create_async_engine(url, **kwargs)


def create_sessionmaker(engine: AsyncEngine) -> Sessionmaker:
    """Return the session factory used for every unit of work."""
    return async_sessionmaker(engine, expire_on_commit=False)


def is_postgres(session_or_engine: AsyncSession | AsyncEngine) -> bool:
    """Tell whether the backend is PostgreSQL."""
    if isinstance(session_or_engine, AsyncSession):
        return session_or_engine.get_bind().dialect.name == "postgresql"
    return session_or_engine.dialect.name == "postgresql"


def insert_for(session: AsyncSession, table: Any) -> postgresql.Insert | sqlite.Insert:
    """Return a dialect insert that supports ON CONFLICT for the session's backend."""
    if is_postgres(session):
        return postgresql.insert(table)
    return sqlite.insert(table)


@asynccontextmanager
async def engine_from_url(url: str) -> AsyncIterator[AsyncEngine]:
    """Create an engine and dispose of it when done."""
    engine = create_engine(url)
    try:
        yield engine
    finally:
        await engine.dispose()
