"""Fetch sources, parse, tag and store them: each fetch is written in one transaction."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.config import Settings
from alerts.db import Sessionmaker
from alerts.errors import NotFound
from alerts.ingest import FeedParseError, FeedTooLargeError, UnsafeURLError
from alerts.ingest.fetch import Fetcher, FetchResult, FetchState
from alerts.ingest.guard import is_file_url, read_file_url
from alerts.ingest.parse import ParsedFeed
from alerts.ingest.pool import parse_off_loop
from alerts.ingest.schedule import claim_due, next_fetch_at
from alerts.ingest.sources import FILE_ORIGINS
from alerts.ingest.store import (
    MAX_URL,
    Lookup,
    find_new,
    insert_prepared,
    load_lookup,
    prepare,
)
from alerts.models import Source, SourceTopic
from alerts.taxonomy.tagger import Tagger
from alerts.timeutil import utcnow

log = logging.getLogger(__name__)

Status = Literal["ok", "not_modified", "gone", "error", "moved"]
GONE = "Gone (410): the publisher removed this feed"
# Sources read per query: well under SQLite's limit on bound parameters.
_CHUNK = 500


@dataclass(frozen=True)
class FetchOutcome:
    """What one fetch of one source did, for the CLI, the logs and later alerts."""

    source_id: int
    url: str
    status: Status
    new: int = 0
    duplicate: int = 0
    skipped: int = 0
    new_ids: tuple[int, ...] = ()
    error: str | None = None
    problem: str | None = None


@dataclass
class _Source:
    id: int
    url: str
    origin: str
    interval: int
    failures: int
    etag: str | None
    last_modified: str | None
    title: str | None
    site_url: str | None
    topic_ids: list[int] = field(default_factory=list)


def fetcher_for(settings: Settings) -> Fetcher:
    """Return the shared Fetcher the settings describe (start it with ``async with``)."""
    return Fetcher(
        user_agent=settings.feed_user_agent,
        allowed_hosts=settings.feed_allowed_hosts,
        concurrency=settings.feed_concurrency,
        max_bytes=settings.feed_max_bytes,
    )


async def fetch_source(
    sessionmaker: Sessionmaker,
    source_id: int,
    *,
    fetcher: Fetcher,
    tagger: Tagger,
    lookup: Lookup | None = None,
    executor: Executor | None = None,
) -> FetchOutcome:
    """Fetch one source, store its new articles and record its health.

    ``executor`` parses the feed (a ``parse_pool``); None uses the loop's thread pool.
    """
    async with sessionmaker() as session:
        [src] = await _load(session, [source_id])
        if lookup is None:
            lookup = await load_lookup(session)
    unchanged: dict[int, dict[str, Any]] = {}
    outcome = await _fetch(sessionmaker, src, fetcher, tagger, lookup, executor, unchanged)
    failed = await _record_unchanged(sessionmaker, {src.id: src}, unchanged)
    return failed.get(src.id, outcome)


async def fetch_sources(
    sessionmaker: Sessionmaker,
    source_ids: Sequence[int],
    *,
    fetcher: Fetcher,
    tagger: Tagger,
    on_done: Callable[[FetchOutcome], None] | None = None,
    executor: Executor | None = None,
) -> list[FetchOutcome]:
    """Fetch the given sources concurrently (bounded by the fetcher); return their outcomes."""
    async with sessionmaker() as session:
        lookup = await load_lookup(session)
        sources = await _load(session, source_ids)
    limit = asyncio.Semaphore(fetcher.concurrency)
    outcomes: list[FetchOutcome] = []
    unchanged: dict[int, dict[str, Any]] = {}

    async def one(src: _Source) -> None:
        async with limit:
            outcome = await _fetch(sessionmaker, src, fetcher, tagger, lookup, executor, unchanged)
        outcomes.append(outcome)
        if on_done is not None:
            on_done(outcome)

    async with asyncio.TaskGroup() as group:
        for src in sources:
            group.create_task(one(src))
    failed = await _record_unchanged(sessionmaker, {s.id: s for s in sources}, unchanged)
    return sorted((failed.get(o.source_id, o) for o in outcomes), key=lambda o: o.source_id)


async def fetch_due(
    sessionmaker: Sessionmaker,
    *,
    fetcher: Fetcher,
    tagger: Tagger,
    limit: int = 100,
    on_done: Callable[[FetchOutcome], None] | None = None,
    executor: Executor | None = None,
) -> list[FetchOutcome]:
    """Fetch a bounded batch of the sources that are due."""
    ids = await claim_due(sessionmaker, limit=limit, now=utcnow())
    if not ids:
        return []
    return await fetch_sources(
        sessionmaker, ids, fetcher=fetcher, tagger=tagger, on_done=on_done, executor=executor
    )


async def _load(session: AsyncSession, source_ids: Sequence[int]) -> list[_Source]:
    """Read the conditional-GET state and default topics of sources in a few queries."""
    found: dict[int, _Source] = {}
    wanted = list(dict.fromkeys(source_ids))
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        for row in await session.scalars(select(Source).where(Source.id.in_(chunk))):
            found[row.id] = _Source(
                id=row.id,
                url=row.url,
                origin=row.origin,
                interval=row.fetch_interval,
                failures=row.consecutive_failures,
                etag=row.etag,
                last_modified=row.last_modified,
                title=row.title,
                site_url=row.site_url,
            )
        topics = select(SourceTopic.source_id, SourceTopic.topic_id)
        for source_id, topic_id in await session.execute(
            topics.where(SourceTopic.source_id.in_(chunk))
        ):
            found[source_id].topic_ids.append(topic_id)
    if missing := [i for i in source_ids if i not in found]:
        raise NotFound(f"No source #{missing[0]}")
    return [found[i] for i in source_ids]


async def _fetch(
    sessionmaker: Sessionmaker,
    src: _Source,
    fetcher: Fetcher,
    tagger: Tagger,
    lookup: Lookup,
    executor: Executor | None,
    unchanged: dict[int, dict[str, Any]],
) -> FetchOutcome:
    now = utcnow()
    result = await _get(src, fetcher)
    try:
        return await _handle(sessionmaker, src, result, now, tagger, lookup, executor, unchanged)
    except FeedParseError as e:
        return await _failed(sessionmaker, src, now, str(e))
    except Exception as e:  # a database hiccup must not stop the other sources
        log.exception("storing source %s failed", src.id)
        return await _failed(sessionmaker, src, now, f"Could not store ({type(e).__name__})")


async def _record_unchanged(
    sessionmaker: Sessionmaker,
    sources: dict[int, _Source],
    unchanged: dict[int, dict[str, Any]],
) -> dict[int, FetchOutcome]:
    """Write the health of the sources that answered 304 in one executemany UPDATE.

    Return the outcomes of sources it could not record: failures, as one by one before.
    """
    if not unchanged:
        return {}
    table = cast(Table, Source.__table__)
    stmt = update(table).where(table.c.id == bindparam("source_id"))
    try:
        async with sessionmaker.begin() as session:
            await session.execute(stmt, [{"source_id": i, **v} for i, v in unchanged.items()])
    except Exception as e:
        log.exception("recording %s unchanged sources failed", len(unchanged))
        error = f"Could not store ({type(e).__name__})"
        return {
            i: await _failed(sessionmaker, sources[i], v["last_fetched_at"], error)
            for i, v in unchanged.items()
        }
    return {}


async def _get(src: _Source, fetcher: Fetcher) -> FetchResult:
    if not is_file_url(src.url):
        return await fetcher.fetch(src.url, FetchState(src.etag, src.last_modified))
    if src.origin not in FILE_ORIGINS:
        return FetchResult("error", src.url, error="Refused: file: URLs are for command-line use")
    try:
        body = await asyncio.to_thread(read_file_url, src.url, fetcher.max_bytes)
    except (UnsafeURLError, FeedTooLargeError) as e:
        return FetchResult("error", src.url, error=str(e))
    except OSError as e:
        return FetchResult("error", src.url, error=f"Cannot read file: {e.strerror or e}")
    return FetchResult("ok", src.url, body=body)


async def _handle(
    sessionmaker: Sessionmaker,
    src: _Source,
    result: FetchResult,
    now: datetime,
    tagger: Tagger,
    lookup: Lookup,
    executor: Executor | None,
    unchanged: dict[int, dict[str, Any]],
) -> FetchOutcome:
    if result.status == "error":
        return await _failed(sessionmaker, src, now, result.error or "Fetch failed")
    if result.status == "gone":
        async with sessionmaker.begin() as session:
            await _update(
                session, src, active=False, last_error=GONE, last_fetched_at=now, next_fetch_at=None
            )
        return FetchOutcome(src.id, src.url, "gone", error=GONE)
    healthy = _healthy(src, result, now)
    if result.status == "not_modified":
        if result.permanent_url in (None, "", src.url):
            # Nothing but timestamps to write: the caller does it for the whole round at once.
            unchanged[src.id] = healthy
            return FetchOutcome(src.id, src.url, "not_modified")
        async with sessionmaker.begin() as session:
            if await _moved_onto_another(session, src, result, now):
                return FetchOutcome(src.id, src.url, "moved", error=_moved_note(result))
            await _update(session, src, **healthy)
        return FetchOutcome(src.id, src.url, "not_modified")
    feed = await _parse(result, now, executor)
    async with sessionmaker() as session:
        fresh, duplicate = await find_new(session, src.id, feed.entries)
    loop = asyncio.get_running_loop()
    prepared, skipped = await loop.run_in_executor(
        None,
        lambda: prepare(
            fresh,
            source_id=src.id,
            tagger=tagger,
            lookup=lookup,
            default_topic_ids=src.topic_ids,
            fetched_at=now,
        ),
    )
    async with sessionmaker.begin() as session:
        if await _moved_onto_another(session, src, result, now):
            return FetchOutcome(src.id, src.url, "moved", error=_moved_note(result))
        new_ids = await insert_prepared(session, prepared)
        await _update(
            session,
            src,
            **healthy,
            last_problem=feed.problem,
            title=src.title or feed.title,
            site_url=src.site_url or (feed.link if len(feed.link or "") <= MAX_URL else None),
        )
    duplicate += len(prepared) - len(new_ids)
    return FetchOutcome(
        src.id,
        result.permanent_url or src.url,
        "ok",
        new=len(new_ids),
        duplicate=duplicate,
        skipped=skipped,
        new_ids=tuple(new_ids),
        problem=feed.problem,
    )


async def _parse(result: FetchResult, now: datetime, executor: Executor | None) -> ParsedFeed:
    headers = {"content-type": result.content_type} if result.content_type else None
    return await parse_off_loop(
        result.body or b"",
        base_url=result.url,
        fetched_at=now,
        response_headers=headers,
        executor=executor,
    )


def _healthy(src: _Source, result: FetchResult, now: datetime) -> dict[str, Any]:
    values: dict[str, Any] = {
        "etag": result.etag,
        "last_modified": result.last_modified,
        "last_fetched_at": now,
        "last_success_at": now,
        "consecutive_failures": 0,
        "last_error": None,
        "next_fetch_at": next_fetch_at(now, src.interval, 0, str(src.id)),
    }
    if result.permanent_url and result.permanent_url != src.url:
        values["url"] = result.permanent_url
    return values


async def _moved_onto_another(
    session: AsyncSession, src: _Source, result: FetchResult, now: datetime
) -> bool:
    """Deactivate ``src`` when it now redirects for good to a feed another source follows."""
    target = result.permanent_url
    if not target or target == src.url:
        return False
    other = await session.scalar(select(Source.id).where(Source.url == target))
    if other is None:
        return False
    note = f"{_moved_note(result)}, which source #{other} already follows; deactivated"
    await _update(session, src, active=False, last_error=note, last_fetched_at=now)
    return True


def _moved_note(result: FetchResult) -> str:
    return f"Moved permanently to {result.permanent_url}"


async def _failed(
    sessionmaker: Sessionmaker, src: _Source, now: datetime, error: str
) -> FetchOutcome:
    failures = src.failures + 1
    async with sessionmaker.begin() as session:
        await session.execute(
            update(Source)
            .where(Source.id == src.id)
            .values(
                consecutive_failures=Source.consecutive_failures + 1,
                last_error=error,
                last_fetched_at=now,
                next_fetch_at=next_fetch_at(now, src.interval, failures, str(src.id)),
            )
        )
    log.info("source %s failed (%s in a row): %s", src.id, failures, error)
    return FetchOutcome(src.id, src.url, "error", error=error)


async def _update(session: AsyncSession, src: _Source, **values: Any) -> None:
    await session.execute(update(Source).where(Source.id == src.id).values(**values))
