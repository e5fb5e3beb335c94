"""Tag corrections: editors set an article's tags; automatic re-tagging leaves those alone."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.errors import NotFound, ValidationError
from alerts.ingest.store import Tagged, clear_tags, insert_tags, load_lookup, tag_article
from alerts.models import Article, SourceTopic
from alerts.taxonomy.tagger import Tagger


async def retag_article(
    session: AsyncSession,
    article_id: int,
    *,
    topics: Collection[str] | None,
    countries: Collection[str] | None,
    editor: str,
    now: datetime,
) -> None:
    """Set an article's topics and/or countries as an editor; automatic tagging keeps off it."""
    if await session.get(Article, article_id) is None:
        raise NotFound(f"No article #{article_id}")
    lookup = await load_lookup(session)
    slugs = {t.strip().lower() for t in topics or ()}
    if unknown := sorted(slugs - lookup.topic_ids.keys()):
        raise ValidationError({"topic": f"unknown topic {', '.join(unknown)}"})
    codes = {c.strip().upper() for c in countries or ()}
    if unknown := sorted(codes - lookup.country_codes):
        raise ValidationError({"country": f"unknown country code {', '.join(unknown)}"})
    await clear_tags(
        session, [article_id], topics=topics is not None, countries=countries is not None
    )
    corrected = Tagged(None, False, frozenset(lookup.topic_ids[s] for s in slugs), frozenset(codes))
    await insert_tags(session, {article_id: corrected})
    values = {"tags_edited_at": now, "tags_edited_by": editor[:320]}
    await session.execute(update(Article).where(Article.id == article_id).values(**values))


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
