"""`alerts digests editions` and `alerts digests edition …`: watch and control editions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import click
from redis.exceptions import RedisError

from alerts.commands.common import database, load_settings, run
from alerts.config import Settings
from alerts.digests import editions
from alerts.digests.manage import get_digest
from alerts.editors.audit import Who
from alerts.models import Edition, EditionStatus
from alerts.queue import connect, enqueue_edition
from alerts.timeutil import utcnow

MAX_ID = 2**31 - 1


def when(at: datetime | None) -> str:
    """Return a time as the tables show it."""
    return at.strftime("%Y-%m-%d %H:%M UTC") if at else "-"


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Return rows as aligned columns under their headers."""
    cells = [[str(c) for c in row] for row in [headers, *rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    )


async def enqueue(settings: Settings, edition: Edition) -> str:
    """Enqueue a sending edition's senders on REDIS_URL; say what happened."""
    if edition.status != EditionStatus.SENDING:
        return f"Edition {edition.id} is {edition.status.value}: nothing to send."
    try:
        pool = await connect(settings.redis_url, settings.queue_name)
    except (RedisError, OSError) as e:
        return (
            f"Edition {edition.id} is sending, but Redis did not answer ({e}); "
            "the worker's recovery job starts it within a minute once Redis is back."
        )
    try:
        await enqueue_edition(pool, edition.id, settings.send_parallelism)
    finally:
        await pool.aclose()
    return f"Edition {edition.id} is sending to {edition.planned} subscribers."


@click.command("editions")
@click.option("--digest", "slug", help="Only the editions of this digest.")
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True)
def editions_(slug: str | None, limit: int) -> None:
    """List the latest editions with their delivery counts."""
    settings = load_settings()

    async def go() -> list[list[object]]:
        async with database(settings) as sessionmaker, sessionmaker() as session:
            digest = await get_digest(session, slug) if slug else None
            found = await editions.list_editions(session, digest, limit)
        return [
            [s.edition.id, s.digest_slug, when(s.edition.due_at), s.edition.status.value,
             *(s.counts[k] for k in ("planned", "sent", "failed", "skipped", "pending"))]
            for s in found
        ]  # fmt: skip

    rows = run(go())
    if not rows:
        click.echo("No editions yet.")
        return
    headers = ["ID", "DIGEST", "DUE", "STATUS", "PLANNED", "SENT", "FAILED", "SKIPPED", "PENDING"]
    click.echo(table(headers, rows))


@click.group("edition")
def edition() -> None:
    """Cancel, pause or resume one edition."""


def _control(edition_id: int, verb: str) -> str:
    settings = load_settings()
    control = {
        "cancel": editions.cancel_edition,
        "pause": editions.pause_edition,
        "resume": editions.resume_edition,
    }[verb]

    async def go() -> str:
        async with database(settings) as sessionmaker:
            async with sessionmaker.begin() as session:
                found = await control(session, edition_id, who=Who.cli(), now=utcnow())
            if verb == "resume":
                return await enqueue(settings, found)
            return f"Edition {edition_id} is {found.status.value}."

    return run(go())


@edition.command("cancel")
@click.argument("edition_id", type=click.IntRange(1, MAX_ID))
def edition_cancel(edition_id: int) -> None:
    """Cancel the edition EDITION_ID: nothing more of it is sent."""
    click.echo(_control(edition_id, "cancel"))


@edition.command("pause")
@click.argument("edition_id", type=click.IntRange(1, MAX_ID))
def edition_pause(edition_id: int) -> None:
    """Pause the sending edition EDITION_ID."""
    click.echo(_control(edition_id, "pause"))


@edition.command("resume")
@click.argument("edition_id", type=click.IntRange(1, MAX_ID))
def edition_resume(edition_id: int) -> None:
    """Resume the paused edition EDITION_ID and enqueue its senders."""
    click.echo(_control(edition_id, "resume"))
