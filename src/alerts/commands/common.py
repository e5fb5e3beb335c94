"""Helpers every subcommand shares: settings, and one engine per command run."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import click
from sqlalchemy.exc import SQLAlchemyError

from alerts.config import Settings
from alerts.db import Sessionmaker, create_engine, create_sessionmaker
from alerts.errors import AlertsError

T = TypeVar("T")


def load_settings() -> Settings:
    """Return checked settings, or exit with the reason in plain words."""
    try:
        settings = Settings()
        settings.check()
    except (AlertsError, ValueError) as e:
        raise click.ClickException(str(e)) from e
    return settings


@asynccontextmanager
async def database(settings: Settings) -> AsyncIterator[Sessionmaker]:
    """Yield a session factory for one command run and dispose of the engine after."""
    engine = create_engine(settings.db_url)
    try:
        yield create_sessionmaker(engine)
    finally:
        await engine.dispose()


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro``; turn the services' and the database's errors into plain words."""
    try:
        return asyncio.run(coro)
    except AlertsError as e:
        raise click.ClickException(str(e)) from e
    except (SQLAlchemyError, OSError) as e:
        reason = str(getattr(e, "orig", None) or e).splitlines()[0]
        raise click.ClickException(
            f"The database could not be used ({reason}). Is it running, and is it "
            "up to date (alerts db upgrade)?"
        ) from e
