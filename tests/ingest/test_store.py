"""Storing entries: canonical URLs, deduplication and tagging, on the real database."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from alerts.config import PROJECT_ROOT
from alerts.db import Sessionmaker
from alerts.ingest.parse import parse_feed
from alerts.ingest.store import (
    canonical_url,
    insert_prepared,
    load_lookup,
    prepare,
    store_entries,
    unique_in_batch,
)
from alerts.models import Article, ArticleTopic, Source
from alerts.taxonomy.tagger import Tagger
from tests.ingest.feeds import CHINA, HRC55, rss

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def tagger() -> Tagger:
    return Tagger.from_files(PROJECT_ROOT / "feeds")


@pytest.mark.parametrize(
    ("url", "key"),
    [
        ("HTTPS://Example.ORG/News/a/", "https://example.org/News/a"),
        ("https://example.org/a?utm_source=x&id=3&UTM_medium=y#top", "https://example.org/a?id=3"),
        ("http://example.org:80/a", "http://example.org/a"),
        ("https://example.org:8443/a", "https://example.org:8443/a"),
        ("https://example.org/", "https://example.org"),
        ("mailto:someone@example.org", None),
        ("", None),
        ("http://[::1/", None),
    ],
)
def test_canonical_url(url: str, key: str | None) -> None:
    assert canonical_url(url) == key


def test_batch_repeats_are_dropped_by_guid_link_then_content() -> None:
    body = rss(CHINA, (CHINA[0] + " (again)", CHINA[1] + "/?utm_campaign=z"), HRC55)
    feed = parse_feed(body, base_url="https://news.example.org/", fetched_at=NOW)
    kept, repeats = unique_in_batch(feed.entries)
    assert [e.title for e in kept] == [CHINA[0], HRC55[0]] and repeats == 1


async def test_store_entries_counts_new_and_duplicates(
    sessionmaker: Sessionmaker, tagger: Tagger
) -> None:
    feed = parse_feed(rss(CHINA, HRC55), base_url="https://news.example.org/", fetched_at=NOW)
    async with sessionmaker.begin() as session:
        source = Source(url="https://news.example.org/feed")
        session.add(source)
        await session.flush()
        lookup = await load_lookup(session)
        kwargs = {"tagger": tagger, "lookup": lookup, "default_topic_ids": (), "fetched_at": NOW}
        first = await store_entries(session, source.id, feed.entries, **kwargs)  # type: ignore[arg-type]
        second = await store_entries(session, source.id, feed.entries, **kwargs)  # type: ignore[arg-type]
    assert (first.new, first.duplicate, first.skipped, len(first.new_ids)) == (2, 0, 0, 2)
    assert (second.new, second.duplicate, second.new_ids) == (0, 2, ())
    async with sessionmaker() as session:
        stored = (await session.scalars(select(Article).order_by(Article.id))).all()
    assert [a.url_key for a in stored] == [CHINA[1], HRC55[1]]
    assert stored[0].published_at == datetime(2024, 3, 5, 10, 0, tzinfo=UTC)
    assert stored[0].fetched_at == NOW


async def test_insert_prepared_leaves_rows_another_writer_stored(
    sessionmaker: Sessionmaker, tagger: Tagger
) -> None:
    feed = parse_feed(rss(CHINA, HRC55), base_url="https://news.example.org/", fetched_at=NOW)
    async with sessionmaker.begin() as session:
        source = Source(url="https://news.example.org/feed")
        session.add(source)
        await session.flush()
        lookup = await load_lookup(session)
        prepared, _ = prepare(
            feed.entries,
            source_id=source.id,
            tagger=tagger,
            lookup=lookup,
            default_topic_ids=(),
            fetched_at=NOW,
        )
        assert await insert_prepared(session, []) == []
        first = await insert_prepared(session, prepared[:1])
        both = await insert_prepared(session, prepared)
    assert len(first) == 1 and len(both) == 1 and set(first).isdisjoint(both)
    async with sessionmaker() as session:
        stored = (await session.scalars(select(Article).order_by(Article.id))).all()
        topics = await session.scalar(select(func.count()).select_from(ArticleTopic))
    assert [a.id for a in stored] == first + both
    assert [a.title for a in stored] == [CHINA[0], HRC55[0]]
    assert topics and topics >= 2
