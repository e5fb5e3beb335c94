"""Small async factories that insert sources, sessions and tagged articles directly.

Topics and countries come from the catalog the test database is seeded with; pass slugs
and ISO codes. Every factory flushes, so the returned objects carry their ids.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.hrc.calendar import DEFAULT_LOCATION, session_title
from alerts.models import Article, ArticleCountry, ArticleTopic, HrcSession, Source, Topic

_seq = itertools.count(1)
BASE_TIME = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)


async def make_source(
    session: AsyncSession, *, url: str | None = None, title: str | None = "Test source"
) -> Source:
    """Insert a followed feed."""
    n = next(_seq)
    source = Source(url=url or f"https://news.example.org/feed-{n}.xml", title=title)
    session.add(source)
    await session.flush()
    return source


async def make_hrc_session(
    session: AsyncSession,
    number: int = 55,
    *,
    opens: date = date(2024, 2, 26),
    closes: date = date(2024, 4, 5),
    closed: date | None = None,
    title: str | None = None,
    tentative: bool = False,
    source: str = "Test calendar",
) -> HrcSession:
    """Insert an HRC session (HRC55 with its real dates by default)."""
    row = HrcSession(
        number=number,
        title=title or session_title(number),
        opens=opens,
        closes=closes,
        closed=closed,
        location=DEFAULT_LOCATION,
        tentative=tentative,
        source=source,
    )
    session.add(row)
    await session.flush()
    return row


async def make_article(
    session: AsyncSession,
    *,
    source: Source | None = None,
    title: str | None = None,
    url: str | None = "",
    summary_html: str = "<p>Summary.</p>",
    published_at: datetime | None = None,
    topics: Iterable[str] = (),
    countries: Iterable[str] = (),
    session_number: int | None = None,
    key_issues: bool = False,
    guid: str | None = None,
) -> Article:
    """Insert an article tagged with topic slugs, country codes and a session number.

    ``url=""`` makes up a unique URL; pass None for an article without one. Without
    ``published_at`` each article is an hour newer than the one made before it.
    """
    n = next(_seq)
    if source is None:
        source = await make_source(session)
    if url == "":
        url = f"https://news.example.org/articles/{n}"
    article = Article(
        source_id=source.id,
        guid=guid or f"urn:test:article:{n}",
        url=url,
        url_key=url,
        content_hash=f"{n:064x}",
        title=title or f"Article {n}",
        summary_html=summary_html,
        published_at=published_at or BASE_TIME + timedelta(hours=n),
        session_number=session_number,
        key_issues=key_issues,
    )
    session.add(article)
    await session.flush()
    slugs = list(topics)
    if slugs:
        rows = await session.execute(select(Topic.slug, Topic.id).where(Topic.slug.in_(slugs)))
        found = {slug: topic_id for slug, topic_id in rows}
        missing = sorted(set(slugs) - found.keys())
        if missing:
            raise ValueError(f"unknown topic slug(s): {', '.join(missing)}")
        session.add_all(ArticleTopic(article_id=article.id, topic_id=found[s]) for s in slugs)
    session.add_all(
        ArticleCountry(article_id=article.id, country_code=c.upper()) for c in countries
    )
    await session.flush()
    return article
