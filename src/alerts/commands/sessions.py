"""`alerts sessions`: the Human Rights Council calendar."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import click

from alerts.commands.common import database, load_settings, run
from alerts.config import Settings
from alerts.errors import AlertsError
from alerts.hrc.calendar import DEFAULT_LOCATION, SessionDef, session_title
from alerts.hrc.countdown import long_date, session_countdown
from alerts.hrc.store import (
    add_session,
    import_ics,
    list_sessions,
    shipped_calendar,
    sync_sessions,
)
from alerts.timeutil import utcnow

CLI_SOURCE = "Added from the command line"
ISO_DATE = click.DateTime(formats=["%Y-%m-%d"])


def clock() -> datetime:
    """Return the current time; tests replace this to fix the countdowns."""
    return utcnow()


@click.group()
def sessions() -> None:
    """Human Rights Council sessions and their countdowns."""


@sessions.command("list")
def list_() -> None:
    """List every session with its countdown, counted in Geneva days."""
    settings = load_settings()
    found = run(_list(settings))
    if not found:
        click.echo("No session yet. Run `alerts sessions sync` to load the shipped calendar.")
        return
    now = clock()
    for s in found:
        dates = f"{long_date(s.opens)} to {long_date(s.last_day)}"
        click.echo(f"{s.code:<7} {dates:<36} {session_countdown(s, now).text}")


async def _list(settings: Settings) -> list[SessionDef]:
    async with database(settings) as sessionmaker, sessionmaker() as session:
        return await list_sessions(session)


@sessions.command("add")
@click.argument("number", type=click.IntRange(min=1))
@click.option("--opens", type=ISO_DATE, required=True, help="Opening day, YYYY-MM-DD.")
@click.option("--closes", type=ISO_DATE, required=True, help="Planned closing day, YYYY-MM-DD.")
@click.option(
    "--tentative/--confirmed",
    default=True,
    show_default=True,
    help="Whether the UN has yet to confirm the dates.",
)
@click.option("--title", help="Title (default: the usual title of the session).")
@click.option("--source", help="Where the dates come from.")
def add(
    number: int,
    opens: datetime,
    closes: datetime,
    tentative: bool,
    title: str | None,
    source: str | None,
) -> None:
    """Add session NUMBER to the calendar."""
    settings = load_settings()
    try:
        new = SessionDef(
            number=number,
            title=(title or "").strip() or session_title(number),
            opens=opens.date(),
            closes=closes.date(),
            closed=None,
            location=DEFAULT_LOCATION,
            tentative=tentative,
            source=(source or "").strip() or CLI_SOURCE,
        )
    except AlertsError as e:
        raise click.ClickException(str(e)) from e
    run(_add(settings, new))
    state = "tentative" if tentative else "confirmed"
    click.echo(f"Added {new.code}: {_span(new.opens, new.closes)} ({state}).")


async def _add(settings: Settings, new: SessionDef) -> None:
    async with database(settings) as sessionmaker, sessionmaker.begin() as session:
        await add_session(session, new)


@sessions.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_(path: Path) -> None:
    """Add or update the sessions an iCalendar (.ics) file holds."""
    settings = load_settings()
    numbers = run(_import(settings, path.read_bytes()))
    click.echo(f"Imported {', '.join(f'HRC{n}' for n in numbers)}.")


async def _import(settings: Settings, data: bytes) -> list[int]:
    async with database(settings) as sessionmaker, sessionmaker.begin() as session:
        return await import_ics(session, data)


@sessions.command("sync")
def sync() -> None:
    """Load the sessions shipped in feeds/hrc-sessions.toml (safe to run again)."""
    settings = load_settings()
    count = run(sync_shipped(settings))
    click.echo(f"Loaded {count} sessions from the shipped calendar.")


async def sync_shipped(settings: Settings) -> int:
    """Upsert the shipped sessions into the database; return how many the file holds."""
    calendar = shipped_calendar(settings.feeds_dir).calendar
    async with database(settings) as sessionmaker, sessionmaker.begin() as session:
        return await sync_sessions(session, calendar)


def _span(opens: date, closes: date) -> str:
    return f"{long_date(opens)} to {long_date(closes)}"
