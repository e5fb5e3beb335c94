"""Store a feed's entries: deduplicate, tag and insert the batch with set-based SQL."""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import ColumnElement, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.db import insert_for
from alerts.ingest.parse import ParsedEntry
from alerts.models import (
    Article,
    ArticleCountry,
    ArticleTopic,
    Country,
    HrcSession,
    Topic,
)
from alerts.taxonomy.sessions import find_sessions
from alerts.taxonomy.tagger import Tagger, Tags
from alerts.taxonomy.text import normalise

MAX_URL = 2000
# Keeps IN lists well under SQLite's limit on bound parameters (executemany batches itself).
_CHUNK = 500
_DEFAULT_PORTS = {("http", 80), ("https", 443)}


@dataclass(frozen=True)
class Lookup:
    """Known topics, countries and HRC sessions: read once per run, not once per feed."""

    topic_ids: Mapping[str, int]
    country_codes: frozenset[str]
    sessions: frozenset[int]


@dataclass(frozen=True)
class Prepared:
    """An entry ready to insert, with its tags resolved to ids."""

    row: dict[str, Any]
    topic_ids: frozenset[int]
    countries: frozenset[str]


@dataclass(frozen=True)
class StoreResult:
    """What storing a batch did; ``new_ids`` are the articles it created."""

    new: int = 0
    duplicate: int = 0
    skipped: int = 0
    new_ids: tuple[int, ...] = ()


async def load_lookup(session: AsyncSession) -> Lookup:
    """Read the topic ids, country codes and HRC session numbers the tagger's output maps to."""
    topics = (await session.execute(select(Topic.slug, Topic.id))).all()
    codes = (await session.scalars(select(Country.code))).all()
    sessions = (await session.scalars(select(HrcSession.number))).all()
    return Lookup(dict(topics), frozenset(codes), frozenset(sessions))


def canonical_url(url: str | None) -> str | None:
    """Return the key two links to one article share: case, fragment, utm_* and slash removed."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
        host, port = parts.hostname, parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not host:
        return None
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port is None or (scheme, port) in _DEFAULT_PORTS else f"{host}:{port}"
    params = [p for p in parts.query.split("&") if p and not p.lower().startswith("utm_")]
    query = "&".join(params)
    key = f"{scheme}://{netloc}{parts.path.rstrip('/')}" + (f"?{query}" if query else "")
    if len(key) > MAX_URL:
        return "sha256:" + hashlib.sha256(key.encode()).hexdigest()
    return key


def unique_in_batch(entries: Iterable[ParsedEntry]) -> tuple[list[ParsedEntry], int]:
    """Drop entries repeating an earlier one's guid, link or content; return them and a count."""
    seen: set[tuple[str, str]] = set()
    kept: list[ParsedEntry] = []
    repeats = 0
    for entry in entries:
        keys = {("g", entry.guid), ("h", entry.content_hash)}
        if (url_key := canonical_url(entry.link)) is not None:
            keys.add(("u", url_key))
        if keys & seen:
            repeats += 1
            continue
        seen |= keys
        kept.append(entry)
    return kept, repeats


async def find_new(
    session: AsyncSession, source_id: int, entries: Sequence[ParsedEntry]
) -> tuple[list[ParsedEntry], int]:
    """Return the entries not stored yet (by guid, then link, then content) and the rest's count."""
    batch, repeats = unique_in_batch(entries)
    guids = await _existing(
        session, Article.guid, [e.guid for e in batch], Article.source_id == source_id
    )
    url_keys = await _existing(
        session, Article.url_key, [k for e in batch if (k := canonical_url(e.link))]
    )
    hashes = await _existing(session, Article.content_hash, [e.content_hash for e in batch])
    fresh = [
        e
        for e in batch
        if e.guid not in guids
        and canonical_url(e.link) not in url_keys
        and e.content_hash not in hashes
    ]
    return fresh, repeats + len(batch) - len(fresh)


async def _existing(
    session: AsyncSession,
    column: Any,
    values: Sequence[str],
    *where: ColumnElement[bool],
) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(values), _CHUNK):
        chunk = values[start : start + _CHUNK]
        found.update(await session.scalars(select(column).where(column.in_(chunk), *where)))
    return found


def choose_session(title: str, tags: Tags, known: Collection[int]) -> int | None:
    """Return the session the title names first, else the highest mentioned, if it exists."""
    in_title = find_sessions(normalise(title))
    number = in_title[0] if in_title else max(tags.sessions, default=None)
    return number if number in known else None


@dataclass(frozen=True)
class Tagged:
    """An article's tags resolved against the database's topics, countries and sessions."""

    session_number: int | None
    key_issues: bool
    topic_ids: frozenset[int]
    countries: frozenset[str]


def tag_article(
    tagger: Tagger,
    lookup: Lookup,
    title: str,
    summary: str,
    categories: Sequence[str] = (),
    default_topic_ids: Collection[int] = (),
) -> Tagged:
    """Tag one article and keep only what the database knows."""
    tags = tagger.tag(title, summary, categories)
    number = choose_session(title, tags, lookup.sessions)
    topic_ids = {lookup.topic_ids[t] for t in tags.topics if t in lookup.topic_ids}
    return Tagged(
        session_number=number,
        key_issues=number is not None and tags.key_issues_session == number,
        topic_ids=frozenset(topic_ids.union(default_topic_ids)),
        countries=tags.countries & lookup.country_codes,
    )


def prepare(
    entries: Iterable[ParsedEntry],
    *,
    source_id: int,
    tagger: Tagger,
    lookup: Lookup,
    default_topic_ids: Collection[int],
    fetched_at: datetime,
) -> tuple[list[Prepared], int]:
    """Tag entries and build their rows (CPU work: run it off the loop); also count skips."""
    prepared: list[Prepared] = []
    skipped = 0
    for entry in entries:
        if entry.link is not None and len(entry.link) > MAX_URL:
            skipped += 1
            continue
        summary = entry.summary_html or entry.content_html or ""
        tagged = tag_article(
            tagger, lookup, entry.title, summary, entry.categories, default_topic_ids
        )
        row = {
            "source_id": source_id,
            "guid": entry.guid,
            "url": entry.link,
            "url_key": canonical_url(entry.link),
            "content_hash": entry.content_hash,
            "title": entry.title,
            "summary_html": summary,
            "published_at": entry.published,
            "fetched_at": fetched_at,
            "session_number": tagged.session_number,
            "key_issues": tagged.key_issues,
        }
        prepared.append(Prepared(row, tagged.topic_ids, tagged.countries))
    return prepared, skipped


async def insert_prepared(session: AsyncSession, prepared: Sequence[Prepared]) -> list[int]:
    """Insert articles and their tags; rows another writer stored first are left alone."""
    if not prepared:
        return []
    by_key = {(p.row["source_id"], p.row["guid"]): p for p in prepared}
    # A list of parameters makes this an executemany, which SQLAlchemy batches into multi-row
    # INSERTs ("insertmanyvalues") from one cached compilation; `.values(rows)` compiled anew
    # for every feed. RETURNING order is not guaranteed: rows are matched by their unique key.
    stmt = (
        insert_for(session, Article.__table__)
        .on_conflict_do_nothing()
        .returning(Article.id, Article.source_id, Article.guid)
    )
    tagged: dict[int, Tagged | Prepared] = {}
    for article_id, source_id, guid in await session.execute(stmt, [p.row for p in prepared]):
        tagged[article_id] = by_key[(source_id, guid)]
    await insert_tags(session, tagged)
    return sorted(tagged)


async def insert_tags(session: AsyncSession, tagged: Mapping[int, Tagged | Prepared]) -> None:
    """Insert the topic and country rows of articles, leaving rows already there."""
    topics = [
        {"article_id": article_id, "topic_id": topic_id}
        for article_id, tags in tagged.items()
        for topic_id in tags.topic_ids
    ]
    countries = [
        {"article_id": article_id, "country_code": code}
        for article_id, tags in tagged.items()
        for code in tags.countries
    ]
    for table, rows in ((ArticleTopic.__table__, topics), (ArticleCountry.__table__, countries)):
        if rows:
            await session.execute(insert_for(session, table).on_conflict_do_nothing(), rows)


async def clear_tags(
    session: AsyncSession, ids: Sequence[int], *, topics: bool = True, countries: bool = True
) -> None:
    """Delete the topic and/or country rows of articles."""
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        if topics:
            await session.execute(delete(ArticleTopic).where(ArticleTopic.article_id.in_(chunk)))
        if countries:
            stmt = delete(ArticleCountry).where(ArticleCountry.article_id.in_(chunk))
            await session.execute(stmt)


async def store_entries(
    session: AsyncSession,
    source_id: int,
    entries: Sequence[ParsedEntry],
    *,
    tagger: Tagger,
    lookup: Lookup,
    default_topic_ids: Collection[int],
    fetched_at: datetime,
) -> StoreResult:
    """Deduplicate, tag and insert ``entries`` of one source inside the caller's transaction."""
    fresh, duplicate = await find_new(session, source_id, entries)
    prepared, skipped = prepare(
        fresh,
        source_id=source_id,
        tagger=tagger,
        lookup=lookup,
        default_topic_ids=default_topic_ids,
        fetched_at=fetched_at,
    )
    new_ids = await insert_prepared(session, prepared)
    duplicate += len(prepared) - len(new_ids)
    return StoreResult(len(new_ids), duplicate, skipped, tuple(new_ids))
