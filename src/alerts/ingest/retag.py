"""Tag corrections: editors set an article's tags; automatic re-tagging leaves those alone."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.editors.audit import Who, record_as
from alerts.errors import NotFound, ValidationError
from alerts.ingest.store import Tagged, clear_tags, insert_tags, load_lookup, tag_article
from alerts.models import Article, ArticleCountry, ArticleTopic, SourceTopic, Topic
from alerts.taxonomy.tagger import Tagger


class Keep(Enum):
    """Say that a correction leaves the article's HRC session as it is."""

    SESSION = "keep"


@dataclass(frozen=True)
class ArticleTags:
    """An article with its topic slugs and country codes, as editors see it."""

    article: Article
    topics: tuple[str, ...]
    countries: tuple[str, ...]


async def retag_article(
    session: AsyncSession,
    article_id: int,
    *,
    topics: Collection[str] | None,
    countries: Collection[str] | None,
    editor: str,
    now: datetime,
    hrc_session: int | Keep | None = Keep.SESSION,
    who: Who | None = None,
) -> None:
    """Set an article's topics, countries and/or session as an editor; tagging keeps off it."""
    before = await get_article(session, article_id)
    lookup = await load_lookup(session)
    slugs = {t.strip().lower() for t in topics or ()}
    if unknown := sorted(slugs - lookup.topic_ids.keys()):
        raise ValidationError({"topic": f"unknown topic {', '.join(unknown)}"})
    codes = {c.strip().upper() for c in countries or ()}
    if unknown := sorted(codes - lookup.country_codes):
        raise ValidationError({"country": f"unknown country code {', '.join(unknown)}"})
    if isinstance(hrc_session, int) and hrc_session not in lookup.sessions:
        raise ValidationError({"session": f"HRC{hrc_session} is not in the calendar"})
    await clear_tags(
        session, [article_id], topics=topics is not None, countries=countries is not None
    )
    corrected = Tagged(None, False, frozenset(lookup.topic_ids[s] for s in slugs), frozenset(codes))
    await insert_tags(session, {article_id: corrected})
    values: dict[str, Any] = {"tags_edited_at": now, "tags_edited_by": editor[:320]}
    if not isinstance(hrc_session, Keep):
        # A key-issues briefing stays one when its session number is corrected.
        values["session_number"] = hrc_session
        values["key_issues"] = hrc_session is not None and before.article.key_issues
    await session.execute(update(Article).where(Article.id == article_id).values(**values))
    if who is not None:
        details: dict[str, Any] = {}
        if topics is not None:
            details["topics"] = {"from": list(before.topics), "to": sorted(slugs)}
        if countries is not None:
            details["countries"] = {"from": list(before.countries), "to": sorted(codes)}
        if not isinstance(hrc_session, Keep):
            details["session"] = {"from": before.article.session_number, "to": hrc_session}
        await record_as(session, who, "article.retag", f"article:{article_id}", details, now)


async def list_articles(
    session: AsyncSession,
    *,
    topic: str | None = None,
    country: str | None = None,
    hrc_session: int | None = None,
    limit: int = 50,
) -> list[ArticleTags]:
    """Return the newest articles, optionally of one topic, country or session, with tags."""
    stmt = select(Article).order_by(Article.published_at.desc(), Article.id.desc()).limit(limit)
    if topic is not None:
        tagged = select(ArticleTopic.article_id).join(Topic, Topic.id == ArticleTopic.topic_id)
        stmt = stmt.where(Article.id.in_(tagged.where(Topic.slug == topic)))
    if country is not None:
        in_country = select(ArticleCountry.article_id).where(ArticleCountry.country_code == country)
        stmt = stmt.where(Article.id.in_(in_country))
    if hrc_session is not None:
        stmt = stmt.where(Article.session_number == hrc_session)
    return await _with_tags(session, list(await session.scalars(stmt)))


async def get_article(session: AsyncSession, article_id: int) -> ArticleTags:
    """Return one article with its tags, or raise NotFound."""
    article = await session.get(Article, article_id)
    if article is None:
        raise NotFound(f"No article #{article_id}")
    return (await _with_tags(session, [article]))[0]


async def _with_tags(session: AsyncSession, articles: Sequence[Article]) -> list[ArticleTags]:
    ids = [a.id for a in articles]
    topics: dict[int, list[str]] = {i: [] for i in ids}
    countries: dict[int, list[str]] = {i: [] for i in ids}
    if ids:
        for article_id, slug in await session.execute(
            select(ArticleTopic.article_id, Topic.slug)
            .join(Topic, Topic.id == ArticleTopic.topic_id)
            .where(ArticleTopic.article_id.in_(ids))
            .order_by(Topic.slug)
        ):
            topics[article_id].append(slug)
        for article_id, code in await session.execute(
            select(ArticleCountry.article_id, ArticleCountry.country_code)
            .where(ArticleCountry.article_id.in_(ids))
            .order_by(ArticleCountry.country_code)
        ):
            countries[article_id].append(code)
    return [ArticleTags(a, tuple(topics[a.id]), tuple(countries[a.id])) for a in articles]


async def retag_automatic(session: AsyncSession, tagger: Tagger) -> int:
    """Tag again every article no editor corrected (after a taxonomy change); return how many."""
    lookup = await load_lookup(session)
    defaults: dict[int, set[int]] = {}
    for source_id, topic_id in await session.execute(
        select(SourceTopic.source_id, SourceTopic.topic_id)
    ):
        defaults.setdefault(source_id, set()).add(topic_id)
    stmt = select(Article.id, Article.source_id, Article.title, Article.summary_html)
    rows = (await session.execute(stmt.where(Article.tags_edited_at.is_(None)))).all()
    tagged = {
        article_id: tag_article(
            tagger, lookup, title, summary, default_topic_ids=defaults.get(source_id, ())
        )
        for article_id, source_id, title, summary in rows
    }
    await clear_tags(session, list(tagged))
    await insert_tags(session, tagged)
    if tagged:
        values = [
            {"id": i, "session_number": t.session_number, "key_issues": t.key_issues}
            for i, t in tagged.items()
        ]
        await session.execute(update(Article), values)
    return len(tagged)
