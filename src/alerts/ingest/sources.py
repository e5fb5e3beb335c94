"""Follow sources: add them safely, list their health, find them by id or URL."""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.db import insert_for
from alerts.editors.audit import Who, record_as
from alerts.errors import NotFound
from alerts.ingest import IngestError, UnsafeURLError
from alerts.ingest.guard import Resolver, check_url, is_file_url, resolve_host
from alerts.models import Source, SourceTopic, Topic

Origin = Literal["cli", "opml", "api", "web"]
# file: URLs read the local disk, so only the operator's own tools may add them.
FILE_ORIGINS: frozenset[str] = frozenset({"cli", "opml"})
MIN_INTERVAL = 5 * 60
MAX_INTERVAL = 7 * 24 * 3600


class SourceError(IngestError):
    """A source cannot be added or changed; the message says why in plain words."""


class DuplicateSourceError(SourceError):
    """Another source already has this URL."""


@dataclass(frozen=True)
class SourceHealth:
    """A source as `feeds list` shows it."""

    id: int
    url: str
    title: str | None
    active: bool
    topics: tuple[str, ...]
    fetch_interval: int
    last_success_at: datetime | None
    consecutive_failures: int
    last_error: str | None
    last_problem: str | None
    next_fetch_at: datetime | None


async def check_source_url(
    url: str,
    *,
    origin: Origin,
    allowed_hosts: Collection[str],
    resolver: Resolver = resolve_host,
) -> str:
    """Return ``url`` cleaned, or raise SourceError unless it is safe for ``origin`` to add."""
    url = url.strip()
    if not url or len(url) > 2000 or any(c.isspace() for c in url):
        raise SourceError(f"Not a valid feed URL: {url[:200]!r}")
    if is_file_url(url):
        if origin not in FILE_ORIGINS:
            raise SourceError("Refused: file: URLs can only be added from the command line")
        path = unquote(urlsplit(url).path)
        if not path.startswith("/"):
            raise SourceError(f"A file: URL must name an absolute path: {url[:200]}")
        if not await asyncio.to_thread(Path(url2pathname(path)).is_file):
            raise SourceError(f"No such file: {path[:200]}")
        return url
    try:
        await check_url(url, allowed_hosts=frozenset(allowed_hosts), resolver=resolver)
    except UnsafeURLError as e:
        raise SourceError(str(e)) from e
    return url


async def topic_ids(session: AsyncSession, slugs: Collection[str]) -> list[int]:
    """Return the ids of topic ``slugs``; raise SourceError naming any unknown one."""
    wanted = {s.strip().lower() for s in slugs}
    rows = dict((await session.execute(select(Topic.slug, Topic.id))).all())
    unknown = sorted(wanted - rows.keys())
    if unknown:
        known = ", ".join(sorted(rows))
        raise SourceError(f"Unknown topic: {', '.join(unknown)} (known topics: {known})")
    return sorted(rows[s] for s in wanted)


def check_interval(minutes: int | None) -> int | None:
    """Return an interval in seconds, or raise SourceError when out of bounds."""
    if minutes is None:
        return None
    seconds = minutes * 60
    if not MIN_INTERVAL <= seconds <= MAX_INTERVAL:
        raise SourceError("The fetch interval must be between 5 minutes and 7 days")
    return seconds


async def add_source(
    session: AsyncSession,
    url: str,
    *,
    origin: Origin,
    allowed_hosts: Collection[str],
    default_interval: int,
    title: str | None = None,
    site_url: str | None = None,
    topics: Collection[str] = (),
    interval_minutes: int | None = None,
    resolver: Resolver = resolve_host,
    who: Who | None = None,
) -> Source:
    """Follow a new feed after checking its URL, topics and interval; audit it for ``who``."""
    url = await check_source_url(url, origin=origin, allowed_hosts=allowed_hosts, resolver=resolver)
    ids = await topic_ids(session, topics)
    interval = check_interval(interval_minutes) or default_interval
    existing = await session.scalar(select(Source.id).where(Source.url == url))
    if existing is not None:
        raise DuplicateSourceError(f"Already followed: source #{existing} has this URL")
    source = Source(
        url=url,
        title=(title or "").strip()[:500] or None,
        site_url=site_url,
        origin=origin,
        fetch_interval=interval,
    )
    try:
        async with session.begin_nested():
            session.add(source)
    except IntegrityError as e:  # added by someone else since the check above
        raise DuplicateSourceError("Already followed: another source has this URL") from e
    await set_source_topics(session, source.id, ids)
    if who is not None:
        details = {"url": url, "origin": origin, "interval": interval, "topics": sorted(topics)}
        await record_as(session, who, "source.add", f"source:{source.id}", details)
    return source


async def change_source(
    session: AsyncSession, source_id: int, changes: Mapping[str, Any], *, who: Who, now: datetime
) -> None:
    """Change a source's ``active``, ``title``, ``interval_minutes`` or ``topics``; audit it."""
    source = await session.get(Source, source_id, with_for_update=True)
    if source is None:
        raise NotFound(f"No source #{source_id}")
    if "topics" in changes:
        await set_source_topics(session, source.id, await topic_ids(session, changes["topics"]))
    if "title" in changes:
        source.title = (changes["title"] or "").strip()[:500] or None
    if changes.get("interval_minutes") is not None:
        source.fetch_interval = check_interval(changes["interval_minutes"]) or MIN_INTERVAL
        sooner = now + timedelta(seconds=source.fetch_interval)
        if source.next_fetch_at is not None and source.next_fetch_at > sooner:
            source.next_fetch_at = sooner
    if "active" in changes and changes["active"] != source.active:
        source.active = bool(changes["active"])
        if source.active:  # due at the next run
            source.next_fetch_at = None
    await record_as(
        session, who, "source.update", f"source:{source.id}", {"changes": dict(changes)}, now
    )


async def set_source_topics(session: AsyncSession, source_id: int, ids: Collection[int]) -> None:
    """Make ``ids`` the default topics of a source."""
    await session.execute(delete(SourceTopic).where(SourceTopic.source_id == source_id))
    if ids:
        rows = [{"source_id": source_id, "topic_id": t} for t in ids]
        await session.execute(insert_for(session, SourceTopic.__table__).values(rows))


async def default_topic_ids(session: AsyncSession, source_id: int) -> list[int]:
    """Return the topic ids every article of a source gets."""
    stmt = select(SourceTopic.topic_id).where(SourceTopic.source_id == source_id)
    return list(await session.scalars(stmt))


async def source_health(session: AsyncSession, source_id: int) -> SourceHealth:
    """Return one source with its health, or raise NotFound."""
    found = await list_sources(session, source_id)
    if not found:
        raise NotFound(f"No source #{source_id}")
    return found[0]


async def list_sources(session: AsyncSession, source_id: int | None = None) -> list[SourceHealth]:
    """Return every source (or the one ``source_id``) with its health, oldest first."""
    stmt = select(Source).order_by(Source.id)
    pairs_stmt = (
        select(SourceTopic.source_id, Topic.slug)
        .join(Topic, Topic.id == SourceTopic.topic_id)
        .order_by(Topic.slug)
    )
    if source_id is not None:
        stmt = stmt.where(Source.id == source_id)
        pairs_stmt = pairs_stmt.where(SourceTopic.source_id == source_id)
    sources = (await session.scalars(stmt)).all()
    pairs = await session.execute(pairs_stmt)
    topics: dict[int, list[str]] = {}
    for source_id, slug in pairs:
        topics.setdefault(source_id, []).append(slug)
    return [
        SourceHealth(
            id=s.id,
            url=s.url,
            title=s.title,
            active=s.active,
            topics=tuple(topics.get(s.id, ())),
            fetch_interval=s.fetch_interval,
            last_success_at=s.last_success_at,
            consecutive_failures=s.consecutive_failures,
            last_error=s.last_error,
            last_problem=s.last_problem,
            next_fetch_at=s.next_fetch_at,
        )
        for s in sources
    ]


async def find_source_ids(session: AsyncSession, refs: Sequence[str]) -> list[int]:
    """Return the ids of sources named by id or URL; raise NotFound naming any unknown one."""
    ids: list[int] = []
    for ref in refs:
        ref = ref.strip()
        match = Source.id == int(ref) if ref.isdigit() else Source.url == ref
        found = await session.scalar(select(Source.id).where(match))
        if found is None:
            raise NotFound(f"No source with id or URL {ref!r} (see `alerts feeds list`)")
        if found not in ids:
            ids.append(found)
    return ids


async def active_source_ids(session: AsyncSession) -> list[int]:
    """Return the ids of every active source."""
    stmt = select(Source.id).where(Source.active.is_(True)).order_by(Source.id)
    return list(await session.scalars(stmt))
