"""Read and replace a subscriber's topics and countries with set-based statements."""

from __future__ import annotations

from sqlalchemy import delete, insert, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.models import Frequency, Subscriber, SubscriberCountry, SubscriberTopic, Topic
from alerts.subscribers.validation import Choices


async def save_choices(
    session: AsyncSession, subscriber_id: int, choices: Choices, *, fresh: bool = False
) -> None:
    """Replace the subscriber's topics and countries with ``choices``."""
    if not fresh:
        await session.execute(
            delete(SubscriberTopic).where(SubscriberTopic.subscriber_id == subscriber_id)
        )
        await session.execute(
            delete(SubscriberCountry).where(SubscriberCountry.subscriber_id == subscriber_id)
        )
    if choices.topics:
        await session.execute(
            insert(SubscriberTopic).from_select(
                ["subscriber_id", "topic_id"],
                select(literal(subscriber_id), Topic.id).where(
                    Topic.slug.in_(sorted(choices.topics))
                ),
            )
        )
    if choices.countries:
        await session.execute(
            insert(SubscriberCountry),
            [
                {"subscriber_id": subscriber_id, "country_code": c}
                for c in sorted(choices.countries)
            ],
        )


async def load_choices(session: AsyncSession, subscriber: Subscriber) -> Choices:
    """Return the subscriber's current topics, countries and frequency."""
    topics = await session.scalars(
        select(Topic.slug)
        .join(SubscriberTopic, SubscriberTopic.topic_id == Topic.id)
        .where(SubscriberTopic.subscriber_id == subscriber.id)
    )
    countries = await session.scalars(
        select(SubscriberCountry.country_code).where(
            SubscriberCountry.subscriber_id == subscriber.id
        )
    )
    return Choices(
        topics=frozenset(topics),
        countries=frozenset(countries),
        frequency=Frequency(subscriber.frequency),
    )
