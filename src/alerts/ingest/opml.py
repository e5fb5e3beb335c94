"""Import OPML 2.0 subscription lists, such as the project's feeds/sources.opml."""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.config import Settings
from alerts.db import insert_for
from alerts.ingest.guard import Resolver, is_file_url, resolve_host
from alerts.ingest.sources import SourceError, check_source_url, set_source_topics
from alerts.models import Source, Topic

MAX_OPML_BYTES = 2 * 1024 * 1024


@dataclass(frozen=True)
class Outline:
    """One feed listed in an OPML file."""

    url: str
    title: str | None
    site_url: str | None
    categories: tuple[str, ...]


@dataclass(frozen=True)
class ImportResult:
    """What an import did; ``problems`` are outlines skipped or categories not understood."""

    added: int
    existing: int
    problems: tuple[str, ...]


def resolve_file_url(url: str, base_dir: Path) -> str:
    """Return ``url`` with a relative ``file:`` path resolved against ``base_dir``."""
    if not is_file_url(url):
        return url
    path = unquote(urlsplit(url.strip()).path)
    if path.startswith("/"):
        return url.strip()
    return (base_dir / path).resolve().as_uri()


def parse_opml(data: bytes, *, base_dir: Path) -> list[Outline]:
    """Return the feeds an OPML document lists; raise SourceError if it is not OPML."""
    if len(data) > MAX_OPML_BYTES:
        raise SourceError("Refused: the OPML file is larger than 2 MB")
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise SourceError("Refused: the OPML file declares a DOCTYPE or entities")
    try:
        root = ET.fromstring(data)  # noqa: S314 - entities refused above
    except ET.ParseError as e:
        raise SourceError(f"Not an OPML file: {e}") from e
    if root.tag != "opml":
        raise SourceError("Not an OPML file: the root element is not <opml>")
    outlines: list[Outline] = []
    for node in root.iter("outline"):
        url = (node.get("xmlUrl") or "").strip()
        if not url:
            continue
        title = (node.get("title") or node.get("text") or "").strip() or None
        categories = tuple(c.strip() for c in (node.get("category") or "").split(",") if c.strip())
        outlines.append(
            Outline(
                url=resolve_file_url(url, base_dir),
                title=title,
                site_url=(node.get("htmlUrl") or "").strip() or None,
                categories=categories,
            )
        )
    return outlines


def category_topics(
    categories: Collection[str], topics: Mapping[str, str]
) -> tuple[list[str], list[str]]:
    """Map OPML categories ("/reprisals", "Reprisals") to topic slugs; return them and unknowns."""
    found: list[str] = []
    unknown: list[str] = []
    for category in categories:
        name = category.strip("/").rsplit("/", 1)[-1].strip().casefold()
        slug = topics.get(name)
        if slug is None:
            unknown.append(category)
        elif slug not in found:
            found.append(slug)
    return found, unknown


async def import_opml(
    session: AsyncSession,
    data: bytes,
    *,
    base_dir: Path,
    allowed_hosts: Collection[str],
    default_interval: int,
    resolver: Resolver = resolve_host,
) -> ImportResult:
    """Follow every feed an OPML document lists; feeds already followed are left as they are."""
    outlines = parse_opml(data, base_dir=base_dir)
    rows = (await session.execute(select(Topic.slug, Topic.name, Topic.id))).all()
    names = {slug.casefold(): slug for slug, _, _ in rows}
    names.update({name.casefold(): slug for slug, name, _ in rows})
    ids = {slug: topic_id for slug, _, topic_id in rows}
    problems: list[str] = []
    added = existing = 0
    for outline in outlines:
        label = outline.title or outline.url
        try:
            url = await check_source_url(
                outline.url, origin="opml", allowed_hosts=allowed_hosts, resolver=resolver
            )
        except SourceError as e:
            problems.append(f"{label}: {e}")
            continue
        slugs, unknown = category_topics(outline.categories, names)
        problems += [f"{label}: unknown category {c!r}" for c in unknown]
        stmt = (
            insert_for(session, Source.__table__)
            .values(
                url=url,
                title=outline.title,
                site_url=outline.site_url,
                origin="opml",
                active=True,
                fetch_interval=default_interval,
                consecutive_failures=0,
            )
            .on_conflict_do_nothing(index_elements=["url"])
            .returning(Source.id)
        )
        source_id = (await session.execute(stmt)).scalar_one_or_none()
        if source_id is None:
            existing += 1
            continue
        added += 1
        await set_source_topics(session, source_id, [ids[s] for s in slugs])
    return ImportResult(added, existing, tuple(problems))


async def import_shipped(session: AsyncSession, settings: Settings) -> ImportResult:
    """Import feeds/sources.opml, the list of sources the project ships."""
    data = await asyncio.to_thread((settings.feeds_dir / "sources.opml").read_bytes)
    return await import_opml(
        session,
        data,
        base_dir=settings.feeds_dir,
        allowed_hosts=settings.feed_allowed_hosts,
        default_interval=settings.feed_fetch_interval_seconds,
    )
