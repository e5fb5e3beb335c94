"""Schema migrations (Alembic), run from the CLI and from tests."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection

from alerts.config import Settings
from alerts.db import create_engine


def alembic_config(settings: Settings, url: str | None = None) -> Config:
    """Return an Alembic config pointing at the project's migrations."""
    cfg = Config()
    cfg.set_main_option("script_location", str(settings.migrations_dir))
    cfg.set_main_option("sqlalchemy.url", (url or settings.db_url).replace("%", "%%"))
    return cfg


async def upgrade(settings: Settings, revision: str = "head", url: str | None = None) -> None:
    """Bring the database schema up to ``revision``."""
    await _run(settings, url, lambda cfg: command.upgrade(cfg, revision))


async def downgrade(settings: Settings, revision: str, url: str | None = None) -> None:
    """Take the database schema down to ``revision``."""
    await _run(settings, url, lambda cfg: command.downgrade(cfg, revision))


async def _run(settings: Settings, url: str | None, action: object) -> None:
    engine = create_engine(url or settings.db_url)
    cfg = alembic_config(settings, url)

    def run(connection: Connection) -> None:
        cfg.attributes["connection"] = connection
        action(cfg)  # type: ignore[operator]

    try:
        async with engine.begin() as conn:
            await conn.run_sync(run)
    finally:
        await engine.dispose()
