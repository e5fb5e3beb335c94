"""Factories for digest tests: subscribers with choices, digests, and a ready sender."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.config import Settings
from alerts.db import Sessionmaker
from alerts.digests.jobs import DigestDeps, policy_for
from alerts.digests.manage import check_spec, create_digest
from alerts.digests.prepare import PreparedCache
from alerts.links import Links
from alerts.mail.pool import SendRate, SmtpPool
from alerts.mail.smtp import SmtpConfig
from alerts.mail.transactional import Branding
from alerts.models import (
    Digest,
    Frequency,
    Subscriber,
    SubscriberCountry,
    SubscriberStatus,
    SubscriberTopic,
    Topic,
)
from alerts.timeutil import utcnow
from alerts.tokens import signer_for
from tests.support.factories import make_article, make_source

_seq = itertools.count(1)

# Two articles for a weekly window: (title, topic, country).
TWO_ARTICLES = (
    ("China: reprisals against lawyer Ding", "reprisals", "CN"),
    ("Sudan: defenders under attack in Darfur", "human-rights-defenders", "SD"),
)


async def weekly_digest_with_articles(session: AsyncSession, now: datetime) -> Digest:
    """Return a weekly digest whose window holds TWO_ARTICLES, fetched an hour before ``now``."""
    source = await make_source(session)
    for title, topic, country in TWO_ARTICLES:
        article = await make_article(
            session,
            source=source,
            title=title,
            topics=[topic],
            countries=[country],
            published_at=now - timedelta(hours=2),
        )
        article.fetched_at = now - timedelta(hours=1)
    digest = await make_digest(session, slug="weekly")
    digest.last_window_end = now - timedelta(days=1)
    return digest


async def make_subscriber(
    session: AsyncSession,
    *,
    email: str | None = None,
    topics: Iterable[str] = (),
    countries: Iterable[str] = (),
    frequency: Frequency = Frequency.WEEKLY,
    status: SubscriberStatus = SubscriberStatus.ACTIVE,
) -> Subscriber:
    """Insert a subscriber with topics and countries."""
    n = next(_seq)
    email = email or f"reader{n}@example.org"
    now = utcnow()
    sub = Subscriber(
        email=email,
        email_key=email.lower(),
        status=status,
        frequency=frequency,
        created_at=now,
        updated_at=now,
        confirmed_at=now,
    )
    session.add(sub)
    await session.flush()
    slugs = list(topics)
    if slugs:
        await session.execute(
            insert(SubscriberTopic).from_select(
                ["subscriber_id", "topic_id"],
                select(literal(sub.id), Topic.id).where(Topic.slug.in_(slugs)),
            )
        )
    codes = list(countries)
    if codes:
        await session.execute(
            insert(SubscriberCountry),
            [{"subscriber_id": sub.id, "country_code": c} for c in codes],
        )
    return sub


async def make_digest(session: AsyncSession, now: datetime | None = None, **fields: Any) -> Digest:
    """Create a digest through the editor service (weekly, Monday 08:00 Geneva by default)."""
    values: dict[str, Any] = {
        "slug": f"digest-{next(_seq)}",
        "name": "Weekly digest",
        "cron": "0 8 * * 1",
        "audience": "weekly",
        "sections": ["articles", "countdowns"],
        "subject_template": "{{ digest }}: {{ count }} new articles",
    }
    values.update(fields)
    return await create_digest(session, check_spec(values), now=now or utcnow())


def branding(settings: Settings) -> Branding:
    """Return the branding every test message carries."""
    return Branding(
        sender="Stay in the loop <alerts@loop.example>",
        organisation="ISHR test",
        address="Rue de Varembé 1, Geneva",
        list_id="Stay in the loop <loop.example>",
        host="loop.example",
    )


def digest_deps(settings: Settings, sessionmaker: Sessionmaker, redis: Any) -> DigestDeps:
    """Return the digest dependencies a worker builds, on the test SMTP server."""
    links = Links(
        settings.base_url,
        signer_for(settings.secret, settings.confirm_token_days, settings.link_token_days),
    )
    return DigestDeps(
        settings=settings,
        sessionmaker=sessionmaker,
        links=links,
        branding=branding(settings),
        sender=SmtpPool(SmtpConfig.from_url(settings.smtp_url, 10), settings.smtp_pool_size),
        rate=SendRate(redis, settings.smtp_rate_per_second, settings.smtp_rate_per_hour),
        policy=policy_for(settings),
        owner=f"test-{next(_seq)}",
        cache=PreparedCache(),
    )
