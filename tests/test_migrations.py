"""Migrations build the schema the models describe, and go down and up again cleanly."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from alerts.config import Settings
from alerts.db import create_engine
from alerts.migrate import downgrade, upgrade
from alerts.models import Base


async def _diff(url: str) -> list[Any]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), Base.metadata)
            )
    finally:
        await engine.dispose()


async def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return set(await conn.run_sync(lambda sync: inspect(sync).get_table_names()))
    finally:
        await engine.dispose()


async def test_migrated_schema_matches_the_models(settings: Settings) -> None:
    assert await _diff(settings.db_url) == []


async def test_downgrade_to_base_and_upgrade_again(settings: Settings, scratch_db_url: str) -> None:
    url = scratch_db_url
    await upgrade(settings, url=url)
    assert await _diff(url) == []
    await downgrade(settings, "base", url=url)
    assert await _tables(url) <= {"alembic_version"}
    await upgrade(settings, url=url)
    assert {"subscribers", "subscriber_mail", "topics", "countries"} <= await _tables(url)
    assert await _diff(url) == []
