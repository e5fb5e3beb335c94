"""Load a claimed batch's subscribers and their choices: three queries per batch."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.models import Subscriber, SubscriberCountry, SubscriberStatus, SubscriberTopic, Topic


@dataclass(frozen=True)
class SubscriberRow:
    """What sending needs to know about one subscriber."""

    id: int
    email: str
    active: bool
    token_version: int
    topics: frozenset[str]
    countries: frozenset[str]


async def load_subscribers(
    session: AsyncSession, subscriber_ids: Sequence[int]
) -> dict[int, SubscriberRow]:
    """Return the subscribers of a batch with their topics and countries."""
    if not subscriber_ids:
        return {}
    ids = list(subscriber_ids)
    topics: dict[int, set[str]] = {i: set() for i in ids}
    countries: dict[int, set[str]] = {i: set() for i in ids}
    for sid, slug in await session.execute(
        select(SubscriberTopic.subscriber_id, Topic.slug)
        .join(Topic, Topic.id == SubscriberTopic.topic_id)
        .where(SubscriberTopic.subscriber_id.in_(ids))
    ):
        topics[sid].add(slug)
    for sid, code in await session.execute(
        select(SubscriberCountry.subscriber_id, SubscriberCountry.country_code).where(
            SubscriberCountry.subscriber_id.in_(ids)
        )
    ):
        countries[sid].add(code)
    rows = await session.execute(
        select(Subscriber.id, Subscriber.email, Subscriber.status, Subscriber.token_version).where(
            Subscriber.id.in_(ids)
        )
    )
    return {
        sid: SubscriberRow(
            id=sid,
            email=email,
            active=SubscriberStatus(status) == SubscriberStatus.ACTIVE,
            token_version=version,
            topics=frozenset(topics[sid]),
            countries=frozenset(countries[sid]),
        )
        for sid, email, status, version in rows
    }
