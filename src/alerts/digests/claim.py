"""Share an edition's deliveries between workers: claim batches under a lease, record results."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from alerts.db import is_postgres
from alerts.models import Delivery, DeliveryStatus, Subscriber, SubscriberStatus


@dataclass(frozen=True)
class Claimed:
    """A delivery this worker holds until its lease ends."""

    delivery_id: int
    subscriber_id: int
    attempts: int


@dataclass(frozen=True)
class Outcome:
    """What happened to one claimed delivery."""

    delivery_id: int
    subscriber_id: int
    status: DeliveryStatus
    response: str = ""
    message_id: str | None = None
    retry_at: datetime | None = None
    hard_bounce: bool = False


def claimable(edition_id: int, now: datetime) -> list[ColumnElement[bool]]:
    """Return the conditions of a delivery a sender may claim now."""
    return [
        Delivery.edition_id == edition_id,
        Delivery.status == DeliveryStatus.PENDING,
        or_(Delivery.lease_until.is_(None), Delivery.lease_until < now),
        or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at <= now),
    ]


async def claim_batch(
    session: AsyncSession,
    edition_id: int,
    *,
    owner: str,
    size: int,
    lease: timedelta,
    now: datetime,
) -> list[Claimed]:
    """Lease up to ``size`` pending deliveries; other workers skip them until the lease ends."""
    pick = select(Delivery.id).where(*claimable(edition_id, now)).order_by(Delivery.id).limit(size)
    if is_postgres(session):
        # SKIP LOCKED: concurrent workers take different rows instead of waiting on each other.
        pick = pick.with_for_update(skip_locked=True)
    # SQLite: the engine begins every transaction IMMEDIATE, so claims are serialised anyway.
    result = await session.execute(
        update(Delivery)
        .where(Delivery.id.in_(pick.scalar_subquery()))
        .values(lease_owner=owner, lease_until=now + lease)
        .returning(Delivery.id, Delivery.subscriber_id, Delivery.attempts)
    )
    return sorted((Claimed(*row) for row in result), key=lambda c: c.delivery_id)


async def record(
    session: AsyncSession,
    owner: str,
    outcomes: Sequence[Outcome],
    *,
    now: datetime,
    max_hard_bounces: int,
) -> int:
    """Write outcomes for deliveries this worker still holds; return how many were written."""
    if not outcomes:
        return 0
    rows = [
        {
            "b_id": o.delivery_id,
            "b_status": o.status.value,
            "b_response": o.response[:1000] or None,
            "b_message_id": o.message_id,
            "b_sent_at": now if o.status == DeliveryStatus.SENT else None,
            "b_next": o.retry_at,
        }
        for o in outcomes
    ]
    table = Delivery.__table__
    stmt = (
        update(table)  # type: ignore[arg-type]
        .where(
            Delivery.__table__.c.id == bindparam("b_id"),
            Delivery.__table__.c.lease_owner == owner,
            Delivery.__table__.c.status == DeliveryStatus.PENDING.value,
        )
        .values(
            status=bindparam("b_status"),
            smtp_response=bindparam("b_response"),
            message_id=bindparam("b_message_id"),
            sent_at=bindparam("b_sent_at"),
            next_attempt_at=bindparam("b_next"),
            attempts=Delivery.__table__.c.attempts + 1,
            lease_owner=None,
            lease_until=None,
        )
    )
    await session.execute(stmt, rows)
    bounced = [o.subscriber_id for o in outcomes if o.hard_bounce]
    if bounced:
        await session.execute(
            update(Subscriber)
            .where(Subscriber.id.in_(bounced))
            .values(hard_bounces=Subscriber.hard_bounces + 1)
        )
        await session.execute(
            update(Subscriber)
            .where(
                Subscriber.id.in_(bounced),
                Subscriber.hard_bounces >= max_hard_bounces,
                Subscriber.status == SubscriberStatus.ACTIVE,
            )
            .values(status=SubscriberStatus.BOUNCED, updated_at=now)
        )
    return len(rows)


async def release(session: AsyncSession, owner: str, delivery_ids: Sequence[int]) -> None:
    """Give back leases without sending (a pause, or a shutdown)."""
    if delivery_ids:
        await session.execute(
            update(Delivery)
            .where(Delivery.id.in_(list(delivery_ids)), Delivery.lease_owner == owner)
            .values(lease_owner=None, lease_until=None)
        )


async def remaining(session: AsyncSession, edition_id: int) -> int:
    """Return how many of the edition's deliveries are still pending."""
    count = await session.scalar(
        select(func.count()).where(
            Delivery.edition_id == edition_id, Delivery.status == DeliveryStatus.PENDING
        )
    )
    return int(count or 0)
