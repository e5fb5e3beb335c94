"""Plan an edition: freeze its articles and write its delivery ledger with set-based SQL."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, func, insert, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from alerts.db import insert_for
from alerts.models import (
    Article,
    ArticleCountry,
    ArticleTopic,
    Audience,
    Delivery,
    DeliveryStatus,
    Digest,
    DigestCountry,
    DigestTopic,
    Edition,
    EditionArticle,
    EditionStatus,
    Frequency,
    Subscriber,
    SubscriberDigest,
    SubscriberStatus,
)

# Articles first seen in a window but published long before it are backlog, not news.
MAX_ARTICLE_AGE = timedelta(days=30)


def _audience(digest: Digest) -> ColumnElement[bool]:
    active = Subscriber.status == SubscriberStatus.ACTIVE
    match digest.audience:
        case Audience.DAILY:
            return and_(active, Subscriber.frequency == Frequency.DAILY)
        case Audience.WEEKLY:
            return and_(active, Subscriber.frequency == Frequency.WEEKLY)
        case Audience.IMMEDIATE:
            return and_(active, Subscriber.frequency == Frequency.IMMEDIATE)
        case Audience.OPTED_IN:
            return and_(
                active,
                exists().where(
                    SubscriberDigest.subscriber_id == Subscriber.id,
                    SubscriberDigest.digest_id == digest.id,
                ),
            )
    return active


def _digest_filter(digest_id: int) -> list[ColumnElement[bool]]:
    """Return conditions: an article matches the digest's topics AND countries (none = all)."""
    has_topics = exists().where(DigestTopic.digest_id == digest_id)
    has_countries = exists().where(DigestCountry.digest_id == digest_id)
    topic_match = exists().where(
        ArticleTopic.article_id == Article.id,
        ArticleTopic.topic_id.in_(
            select(DigestTopic.topic_id).where(DigestTopic.digest_id == digest_id)
        ),
    )
    country_match = exists().where(
        ArticleCountry.article_id == Article.id,
        ArticleCountry.country_code.in_(
            select(DigestCountry.country_code).where(DigestCountry.digest_id == digest_id)
        ),
    )
    return [~has_topics | topic_match, ~has_countries | country_match]


async def freeze_window(session: AsyncSession, edition: Edition) -> int:
    """Record the articles of the edition's window that match its digest's filter."""
    result = await session.execute(
        insert(EditionArticle).from_select(
            ["edition_id", "article_id"],
            select(literal(edition.id), Article.id).where(
                Article.fetched_at > edition.window_start,
                Article.fetched_at <= edition.window_end,
                Article.published_at > edition.window_end - MAX_ARTICLE_AGE,
                *_digest_filter(edition.digest_id),
            ),
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def freeze_articles(
    session: AsyncSession, edition: Edition, article_ids: Sequence[int]
) -> int:
    """Record given articles (an immediate alert) that match the digest's filter."""
    if not article_ids:
        return 0
    result = await session.execute(
        insert(EditionArticle).from_select(
            ["edition_id", "article_id"],
            select(literal(edition.id), Article.id).where(
                Article.id.in_(list(article_ids)), *_digest_filter(edition.digest_id)
            ),
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def write_ledger(session: AsyncSession, edition: Edition, digest: Digest) -> int:
    """Insert one pending delivery per recipient; running it twice adds nothing."""
    stmt = insert_for(session, Delivery.__table__).from_select(
        ["edition_id", "subscriber_id", "status", "attempts"],
        select(
            literal(edition.id),
            Subscriber.id,
            literal(DeliveryStatus.PENDING.value),
            literal(0),
        ).where(_audience(digest)),
    )
    result = await session.execute(
        stmt.on_conflict_do_nothing(index_elements=["edition_id", "subscriber_id"])
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def plan_edition(
    session: AsyncSession,
    edition_id: int,
    *,
    now: datetime,
    article_ids: Sequence[int] | None = None,
) -> Edition:
    """Freeze the articles and write the ledger; an edition with nothing to say is skipped."""
    edition = await session.get(Edition, edition_id, with_for_update=True, populate_existing=True)
    if edition is None or edition.status != EditionStatus.SCHEDULED:
        raise LookupError(f"edition {edition_id} is not waiting to be planned")
    digest = await session.get(Digest, edition.digest_id)
    assert digest is not None
    if article_ids is None:
        articles = await freeze_window(session, edition)
    else:
        articles = await freeze_articles(session, edition, article_ids)
    if articles == 0 and not digest.send_when_empty:
        edition.status = EditionStatus.SKIPPED
        edition.note = _join(edition.note, "no articles in the window")
        edition.finished_at = now
        return edition
    edition.planned = await write_ledger(session, edition, digest)
    edition.status = EditionStatus.SENDING
    edition.started_at = now
    return edition


async def edition_counts(session: AsyncSession, edition_id: int) -> dict[str, int]:
    """Return how many deliveries of the edition are in each status."""
    rows = await session.execute(
        select(Delivery.status, func.count())
        .where(Delivery.edition_id == edition_id)
        .group_by(Delivery.status)
    )
    counts = {s.value: 0 for s in DeliveryStatus}
    for status, n in rows:
        counts[DeliveryStatus(status).value] = int(n)
    return counts


async def set_status(
    session: AsyncSession,
    edition_id: int,
    status: EditionStatus,
    *,
    allowed_from: set[EditionStatus],
) -> bool:
    """Move an edition to ``status`` if it is in one of ``allowed_from``; tell whether it moved."""
    result = await session.execute(
        update(Edition)
        .where(Edition.id == edition_id, Edition.status.in_([s.value for s in allowed_from]))
        .values(status=status.value)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def _join(note: str, more: str) -> str:
    return f"{note}; {more}" if note else more
