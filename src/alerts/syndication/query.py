"""What goes in an outgoing feed: its scope, its newest entries and their tags, set-based."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String, exists, literal_column, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.hrc.store import get_session, list_sessions
from alerts.models import Article, ArticleCountry, ArticleTopic, Country, Topic

FEED_SIZE = 50


@dataclass(frozen=True)
class Scope:
    """Say which articles a feed holds, where it lives and what it is called."""

    path: str
    title: str
    description: str
    html_path: str = "/"
    topic_id: int | None = None
    country_code: str | None = None
    region: str | None = None
    session_number: int | None = None


@dataclass(frozen=True)
class Tag:
    """Name one topic or country an entry is tagged with."""

    term: str
    label: str


@dataclass(frozen=True)
class Entry:
    """Hold what a feed says about one article."""

    id: int
    url: str | None
    title: str
    summary_html: str
    published: datetime
    updated: datetime
    session_number: int | None
    topics: tuple[Tag, ...]
    countries: tuple[Tag, ...]


@dataclass(frozen=True)
class FeedIndex:
    """List the feeds worth offering in OPML: topics, countries with articles, sessions."""

    topics: tuple[Tag, ...]
    countries: tuple[Tag, ...]
    sessions: tuple[Tag, ...]


def all_scope() -> Scope:
    """Return the scope of the feed of every article."""
    return Scope("all", "All articles", "Every article we follow.")


async def topic_scope(session: AsyncSession, slug: str) -> Scope | None:
    """Return the scope of one topic's feed, or None for an unknown topic."""
    topic = await session.scalar(select(Topic).where(Topic.slug == slug))
    if topic is None:
        return None
    return Scope(
        f"topics/{topic.slug}", topic.name, f"Articles about {topic.name}.", topic_id=topic.id
    )


async def country_scope(session: AsyncSession, code: str) -> Scope | None:
    """Return the scope of one country's feed (code in any case), or None."""
    country = await session.get(Country, code.upper())
    if country is None:
        return None
    return Scope(
        f"countries/{country.code}",
        country.name,
        f"Articles about {country.name}.",
        country_code=country.code,
    )


def region_scope(slug: str, regions: Mapping[str, str]) -> Scope | None:
    """Return the scope of one region's feed, given region names by slug, or None."""
    name = regions.get(slug)
    if name is None:
        return None
    return Scope(f"regions/{slug}", name, f"Articles about countries in {name}.", region=slug)


async def topic_country_scope(session: AsyncSession, slug: str, code: str) -> Scope | None:
    """Return the scope of the feed of one topic in one country, or None."""
    topic = await topic_scope(session, slug)
    country = await country_scope(session, code)
    if topic is None or country is None:
        return None
    return Scope(
        f"{topic.path}/{country.path}",
        f"{topic.title} in {country.title}",
        f"Articles about {topic.title} in {country.title}.",
        topic_id=topic.topic_id,
        country_code=country.country_code,
    )


async def session_scope(session: AsyncSession, number: int) -> Scope | None:
    """Return the scope of one HRC session's feed, or None for an unknown session."""
    found = await get_session(session, number)
    if found is None:
        return None
    return Scope(
        f"sessions/{found.code}",
        f"{found.code}: {found.title}",
        f"Articles about the {found.title}.",
        html_path=f"/sessions/{found.code}",
        session_number=found.number,
    )


def _filters(scope: Scope) -> list[Any]:
    where: list[Any] = []
    if scope.topic_id is not None:
        where.append(
            exists().where(
                ArticleTopic.article_id == Article.id, ArticleTopic.topic_id == scope.topic_id
            )
        )
    if scope.country_code is not None:
        where.append(
            exists().where(
                ArticleCountry.article_id == Article.id,
                ArticleCountry.country_code == scope.country_code,
            )
        )
    if scope.region is not None:
        where.append(
            exists()
            .where(ArticleCountry.article_id == Article.id)
            .where(Country.code == ArticleCountry.country_code, Country.region == scope.region)
        )
    if scope.session_number is not None:
        where.append(Article.session_number == scope.session_number)
    return where


async def feed_entries(session: AsyncSession, scope: Scope, limit: int = FEED_SIZE) -> list[Entry]:
    """Return the newest entries of ``scope``: one query for articles, one for their tags."""
    stmt = (
        select(
            Article.id,
            Article.url,
            Article.title,
            Article.summary_html,
            Article.published_at,
            Article.tags_edited_at,
            Article.session_number,
        )
        .where(*_filters(scope))
        .order_by(Article.published_at.desc(), Article.id.desc())
        .limit(limit)
    )
    rows = (await session.execute(stmt)).all()
    topics, countries = await _tags(session, [row.id for row in rows])
    return [
        Entry(
            id=row.id,
            url=row.url,
            title=row.title,
            summary_html=row.summary_html,
            published=row.published_at,
            updated=max(row.published_at, row.tags_edited_at or row.published_at),
            session_number=row.session_number,
            topics=tuple(topics[row.id]),
            countries=tuple(countries[row.id]),
        )
        for row in rows
    ]


async def _tags(
    session: AsyncSession, ids: Sequence[int]
) -> tuple[dict[int, list[Tag]], dict[int, list[Tag]]]:
    topics: dict[int, list[Tag]] = defaultdict(list)
    countries: dict[int, list[Tag]] = defaultdict(list)
    if not ids:
        return topics, countries
    topic_rows = (
        select(
            ArticleTopic.article_id,
            literal_column("'t'", String).label("kind"),
            Topic.slug.label("term"),
            Topic.name.label("label"),
            Topic.position.label("position"),
        )
        .join(Topic, Topic.id == ArticleTopic.topic_id)
        .where(ArticleTopic.article_id.in_(ids))
    )
    country_rows = (
        select(
            ArticleCountry.article_id,
            literal_column("'c'", String).label("kind"),
            Country.code.label("term"),
            Country.name.label("label"),
            literal_column("0", Integer).label("position"),
        )
        .join(Country, Country.code == ArticleCountry.country_code)
        .where(ArticleCountry.article_id.in_(ids))
    )
    rows = (await session.execute(union_all(topic_rows, country_rows))).all()
    for row in sorted(rows, key=lambda r: (r.position, r.label)):
        target = topics if row.kind == "t" else countries
        target[row.article_id].append(Tag(row.term, row.label))
    return topics, countries


async def feed_index(session: AsyncSession) -> FeedIndex:
    """Return the topics, the countries that have articles, and the stored sessions."""
    topics = await session.execute(select(Topic.slug, Topic.name).order_by(Topic.position))
    with_articles = exists().where(ArticleCountry.country_code == Country.code)
    countries = await session.execute(
        select(Country.code, Country.name).where(with_articles).order_by(Country.name)
    )
    sessions = await list_sessions(session)
    return FeedIndex(
        topics=tuple(Tag(slug, name) for slug, name in topics),
        countries=tuple(Tag(code, name) for code, name in countries),
        sessions=tuple(Tag(s.code, s.title) for s in reversed(sessions)),
    )
