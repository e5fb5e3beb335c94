"""Helpers every subcommand shares: settings, and one engine per command run."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import click

from alerts.config import Settings
from alerts.db import Sessionmaker, create_engine, create_sessionmaker
from alerts.errors import AlertsError


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
