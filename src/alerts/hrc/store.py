"""HRC sessions in the database: synced from the shipped calendar, added by editors, read back."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.db import insert_for
from alerts.editors.audit import Who, record_as
from alerts.errors import NotFound
from alerts.hrc.calendar import (
    Calendar,
    CalendarError,
    ObservanceDef,
    SessionDef,
    load_calendar,
)
from alerts.hrc.countdown import Countdown, geneva_date, observance_countdown, session_countdown
from alerts.hrc.ics import sessions_from_ics
from alerts.models import Article, HrcSession
from alerts.timeutil import utcnow

SESSIONS_FILE = "hrc-sessions.toml"
_FIELDS = ("title", "opens", "closes", "closed", "location", "tentative", "source")


class SessionExistsError(CalendarError):
    """A session with this number is already in the calendar."""


@dataclass(frozen=True)
class ShippedCalendar:
    """Hold the calendar file shipped in the feeds directory and when it last changed."""

    calendar: Calendar
    modified: datetime


def shipped_calendar(feeds_dir: Path) -> ShippedCalendar:
    """Return the shipped calendar, read again only when the file changes."""
    path = feeds_dir / SESSIONS_FILE
    try:
        mtime_ns = path.stat().st_mtime_ns
    except OSError as e:
        raise CalendarError(f"Cannot read the calendar file {path}: {e.strerror}.") from e
    return _load_shipped(path, mtime_ns)


@lru_cache(maxsize=8)
def _load_shipped(path: Path, mtime_ns: int) -> ShippedCalendar:
    modified = datetime.fromtimestamp(mtime_ns // 1_000_000_000, UTC)
    return ShippedCalendar(load_calendar(path), modified)


def _values(session_def: SessionDef) -> dict[str, Any]:
    return {"number": session_def.number, **{f: getattr(session_def, f) for f in _FIELDS}}


def to_def(row: HrcSession) -> SessionDef:
    """Return the calendar definition of a stored session."""
    return SessionDef(
        number=row.number,
        title=row.title,
        opens=row.opens,
        closes=row.closes,
        closed=row.closed,
        location=row.location,
        tentative=row.tentative,
        source=row.source,
    )


async def _upsert(session: AsyncSession, defs: Sequence[SessionDef]) -> None:
    if not defs:
        return
    now = utcnow()
    table = HrcSession.__table__
    stmt = insert_for(session, table).values([{**_values(d), "updated_at": now} for d in defs])
    excluded = stmt.excluded
    # Unchanged rows keep their updated_at, which dates the calendar export.
    changed = or_(*(table.c[f].is_distinct_from(excluded[f]) for f in _FIELDS))
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=["number"],
            set_={**{f: excluded[f] for f in _FIELDS}, "updated_at": excluded.updated_at},
            where=changed,
        )
    )


async def sync_sessions(session: AsyncSession, calendar: Calendar) -> int:
    """Upsert the shipped sessions by number; keep sessions the calendar lacks; return a count."""
    await _upsert(session, calendar.sessions)
    return len(calendar.sessions)


async def add_session(
    session: AsyncSession, session_def: SessionDef, *, who: Who | None = None
) -> None:
    """Add a session an editor entered, refusing a number already stored; audit it for ``who``."""
    if await session.get(HrcSession, session_def.number) is not None:
        raise SessionExistsError(f"{session_def.code} is already in the calendar.")
    now = utcnow()
    try:
        async with session.begin_nested():
            session.add(HrcSession(**_values(session_def), updated_at=now))
    except IntegrityError as e:
        raise SessionExistsError(f"{session_def.code} is already in the calendar.") from e
    if who is not None:
        await record_as(session, who, "session.add", session_def.code, _plain(_values(session_def)))


async def update_session(
    session: AsyncSession, number: int, changes: Mapping[str, Any], *, who: Who
) -> SessionDef:
    """Change a stored session's dates, title, source or tentative flag; audit it."""
    row = await session.get(HrcSession, number, with_for_update=True)
    if row is None:
        raise NotFound(f"No session HRC{number} in the calendar.")
    unknown = set(changes) - set(_FIELDS)
    if unknown:
        raise ValueError(f"not session fields: {', '.join(sorted(unknown))}")
    changed = dataclasses.replace(to_def(row), **changes)  # checks the dates again
    for name in changes:
        setattr(row, name, getattr(changed, name))
    row.updated_at = utcnow()
    await record_as(session, who, "session.update", changed.code, {"changes": _plain(changes)})
    return changed


async def import_ics(session: AsyncSession, data: bytes, *, who: Who | None = None) -> list[int]:
    """Upsert the sessions found in an iCalendar file; return their numbers."""
    defs = await asyncio.to_thread(sessions_from_ics, data)
    await _upsert(session, defs)
    numbers = [d.number for d in defs]
    if who is not None:
        await record_as(session, who, "session.import", "ics", {"numbers": numbers})
    return numbers


def _plain(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, date) else v for k, v in values.items()}


async def list_sessions(session: AsyncSession) -> list[SessionDef]:
    """Return every stored session, oldest first."""
    rows = await session.scalars(select(HrcSession).order_by(HrcSession.number))
    return [to_def(row) for row in rows]


async def get_session(session: AsyncSession, number: int) -> SessionDef | None:
    """Return stored session ``number``, or None."""
    row = await session.get(HrcSession, number)
    return None if row is None else to_def(row)


async def sessions_updated_at(session: AsyncSession) -> datetime | None:
    """Return when any stored session last changed, or None when there are none."""
    value: datetime | None = await session.scalar(select(func.max(HrcSession.updated_at)))
    return value


def _newest_first() -> tuple[Any, Any]:
    return Article.published_at.desc(), Article.id.desc()


async def key_issues_article(session: AsyncSession, number: int) -> Article | None:
    """Return the newest key-issues briefing of session ``number``, or None."""
    stmt = (
        select(Article)
        .where(Article.session_number == number, Article.key_issues.is_(True))
        .order_by(*_newest_first())
        .limit(1)
    )
    article: Article | None = await session.scalar(stmt)
    return article


async def key_issues_articles(session: AsyncSession, numbers: Iterable[int]) -> dict[int, Article]:
    """Return the newest key-issues briefing of each of ``numbers`` that has one."""
    wanted = list(numbers)
    if not wanted:
        return {}
    stmt = (
        select(Article)
        .where(Article.session_number.in_(wanted), Article.key_issues.is_(True))
        .order_by(*_newest_first())
    )
    found: dict[int, Article] = {}
    for article in await session.scalars(stmt):
        if article.session_number is not None:
            found.setdefault(article.session_number, article)
    return found


async def session_articles(session: AsyncSession, number: int, limit: int = 50) -> list[Article]:
    """Return the newest articles linked to session ``number``."""
    stmt = (
        select(Article)
        .where(Article.session_number == number)
        .order_by(*_newest_first())
        .limit(limit)
    )
    return list(await session.scalars(stmt))


@dataclass(frozen=True)
class SessionStatus:
    """Pair a stored session with its countdown and its key-issues briefing."""

    session: SessionDef
    countdown: Countdown
    key_issues: Article | None


@dataclass(frozen=True)
class ObservanceStatus:
    """Pair an observance with the next day it falls on and its countdown."""

    observance: ObservanceDef
    day: date
    countdown: Countdown


@dataclass(frozen=True)
class Overview:
    """Group the stored sessions by where they stand, and the coming observances."""

    ongoing: tuple[SessionStatus, ...]
    upcoming: tuple[SessionStatus, ...]
    past: tuple[SessionStatus, ...]
    observances: tuple[ObservanceStatus, ...]


@dataclass(frozen=True)
class SessionDetail:
    """Everything the page of one session shows."""

    status: SessionStatus
    articles: tuple[Article, ...]


async def sessions_overview(
    session: AsyncSession, observances: Iterable[ObservanceDef], now: datetime
) -> Overview:
    """Return every stored session grouped as ongoing, upcoming and past, seen from Geneva."""
    defs = await list_sessions(session)
    briefings = await key_issues_articles(session, (d.number for d in defs))
    groups: dict[str, list[SessionStatus]] = {"ongoing": [], "upcoming": [], "closed": []}
    for d in defs:
        countdown = session_countdown(d, now)
        groups[countdown.state].append(SessionStatus(d, countdown, briefings.get(d.number)))
    today = geneva_date(now)
    coming = sorted(
        (
            ObservanceStatus(o, o.next_date(today), observance_countdown(o, now))
            for o in observances
        ),
        key=lambda o: (o.day, o.observance.name),
    )
    return Overview(
        ongoing=tuple(groups["ongoing"]),
        upcoming=tuple(groups["upcoming"]),
        past=tuple(reversed(groups["closed"])),
        observances=tuple(coming),
    )


async def session_detail(
    session: AsyncSession, number: int, now: datetime, limit: int = 50
) -> SessionDetail | None:
    """Return session ``number`` with its countdown, briefing and articles, or None."""
    found = await get_session(session, number)
    if found is None:
        return None
    status = SessionStatus(
        found, session_countdown(found, now), await key_issues_article(session, number)
    )
    return SessionDetail(status, tuple(await session_articles(session, number, limit)))
