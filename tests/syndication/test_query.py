"""Feed scopes and entries: the right articles, their tags, in two queries whatever the size."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from alerts.db import Sessionmaker
from alerts.syndication.query import (
    Tag,
    all_scope,
    country_scope,
    feed_entries,
    feed_index,
    region_scope,
    session_scope,
    topic_country_scope,
    topic_scope,
)
from tests.support.factories import make_article, make_hrc_session

REGIONS = {"asia-pacific": "Asia-Pacific", "africa": "Africa"}


@contextmanager
def count_queries(engine: AsyncEngine) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


async def test_unknown_scopes_are_none(sessionmaker: Sessionmaker) -> None:
    async with sessionmaker() as session:
        assert await topic_scope(session, "no-such-topic") is None
        assert await country_scope(session, "XX") is None
        assert await topic_country_scope(session, "civic-space", "XX") is None
        assert await topic_country_scope(session, "nope", "CN") is None
        assert await session_scope(session, 55) is None
    assert region_scope("atlantis", REGIONS) is None


async def test_scopes_name_their_feed(sessionmaker: Sessionmaker) -> None:
    async with sessionmaker.begin() as session:
        await make_hrc_session(session, 55)
        topic = await topic_scope(session, "civic-space")
        country = await country_scope(session, "cn")
        both = await topic_country_scope(session, "civic-space", "Cn")
        hrc = await session_scope(session, 55)
    assert topic is not None and topic.path == "topics/civic-space"
    assert country is not None and (country.path, country.title) == ("countries/CN", "China")
    assert both is not None and both.path == "topics/civic-space/countries/CN"
    assert hrc is not None and (hrc.path, hrc.html_path) == ("sessions/HRC55", "/sessions/HRC55")


async def test_each_scope_holds_its_articles(sessionmaker: Sessionmaker) -> None:
    async with sessionmaker.begin() as session:
        await make_hrc_session(session, 55)
        china = await make_article(session, topics=["civic-space"], countries=["CN"])
        kenya = await make_article(session, topics=["reprisals"], countries=["KE"])
        hrc = await make_article(session, session_number=55, countries=["CN", "KE"])
        bare = await make_article(session)
        scopes = {
            "all": all_scope(),
            "topic": await topic_scope(session, "civic-space"),
            "country": await country_scope(session, "KE"),
            "region": region_scope("asia-pacific", REGIONS),
            "both": await topic_country_scope(session, "reprisals", "KE"),
            "none": await topic_country_scope(session, "reprisals", "CN"),
            "session": await session_scope(session, 55),
        }
        found = {}
        for name, scope in scopes.items():
            assert scope is not None
            found[name] = [e.id for e in await feed_entries(session, scope)]
    assert found == {
        "all": [bare.id, hrc.id, kenya.id, china.id],
        "topic": [china.id],
        "country": [hrc.id, kenya.id],
        "region": [hrc.id, china.id],
        "both": [kenya.id],
        "none": [],
        "session": [hrc.id],
    }


async def test_entries_carry_tags_and_the_edit_time(sessionmaker: Sessionmaker) -> None:
    published = datetime(2024, 3, 4, 8, 0, tzinfo=UTC)
    async with sessionmaker.begin() as session:
        await make_hrc_session(session, 55)
        article = await make_article(
            session,
            published_at=published,
            topics=["un-system", "civic-space"],
            countries=["RU", "CN"],
            session_number=55,
        )
        article.tags_edited_at = published + timedelta(days=2)
    async with sessionmaker() as session:
        [entry] = await feed_entries(session, all_scope())
    assert entry.published == published
    assert entry.updated == published + timedelta(days=2)
    assert entry.session_number == 55
    assert [t.term for t in entry.topics] == ["civic-space", "un-system"]  # catalog order
    assert entry.countries == (Tag("CN", "China"), Tag("RU", "Russia"))


async def test_newest_fifty_in_two_queries(sessionmaker: Sessionmaker, engine: AsyncEngine) -> None:
    same_time = datetime(2024, 3, 4, 8, 0, tzinfo=UTC)
    async with sessionmaker.begin() as session:
        made = [
            await make_article(session, topics=["civic-space"], countries=["CN"]) for _ in range(55)
        ]
        ties = [await make_article(session, published_at=same_time) for _ in range(2)]
    async with sessionmaker() as session:
        with count_queries(engine) as statements:
            entries = await feed_entries(session, all_scope())
    assert len(statements) == 2
    assert len(entries) == 50
    newest = sorted([*made, *ties], key=lambda a: (a.published_at, a.id), reverse=True)
    assert [e.id for e in entries] == [a.id for a in newest[:50]]
    assert all(e.topics for e in entries if e.id in {a.id for a in made})


async def test_feed_index_lists_countries_with_articles_only(sessionmaker: Sessionmaker) -> None:
    async with sessionmaker.begin() as session:
        await make_hrc_session(session, 55)
        await make_article(session, countries=["KE", "CN"])
        index = await feed_index(session)
    assert index.countries == (Tag("CN", "China"), Tag("KE", "Kenya"))
    assert index.topics[0] == Tag("human-rights-defenders", "Human rights defenders")
    assert [t.term for t in index.sessions] == ["HRC55"]
