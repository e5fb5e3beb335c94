"""Send queued one-to-one messages exactly once, as far as SMTP allows."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from alerts.db import Sessionmaker
from alerts.errors import PermanentMailError
from alerts.links import Links
from alerts.mail.render import MailRenderer
from alerts.mail.transactional import Branding, compose, still_wanted
from alerts.mail.transport import Transport
from alerts.models import MailStatus, Subscriber, SubscriberMail
from alerts.timeutil import utcnow


class Outcome(enum.StrEnum):
    """What happened to one queued message."""

    SENT = "sent"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"
    FAILED = "failed"


@dataclass(frozen=True)
class MailDeps:
    """What sending needs, built once per worker."""

    sessionmaker: Sessionmaker
    renderer: MailRenderer
    links: Links
    branding: Branding
    transport: Transport
    confirm_days: int


async def send_queued(deps: MailDeps, mail_id: int) -> Outcome:
    """Send message ``mail_id`` if it is still queued; transient failures propagate for retry."""
    now = utcnow()
    async with deps.sessionmaker.begin() as session:
        mail = await session.get(SubscriberMail, mail_id, populate_existing=True)
        if mail is None or mail.status != MailStatus.QUEUED:
            return Outcome.SKIPPED
        subscriber = await session.get(Subscriber, mail.subscriber_id, populate_existing=True)
        if subscriber is None or not still_wanted(mail.kind, subscriber.status):
            mail.status = MailStatus.CANCELLED
            return Outcome.CANCELLED
        mail.attempts += 1
        message = await compose(
            deps.renderer,
            deps.links,
            deps.branding,
            mail_id=mail.id,
            kind=mail.kind,
            subscriber=subscriber,
            confirm_days=deps.confirm_days,
            now=now,
        )
    try:
        response = await deps.transport.send(message)
    except PermanentMailError as e:
        await _finish(deps.sessionmaker, mail_id, MailStatus.FAILED, str(e), None)
        return Outcome.FAILED
    await _finish(deps.sessionmaker, mail_id, MailStatus.SENT, response, str(message["Message-ID"]))
    return Outcome.SENT


async def _finish(
    sessionmaker: Sessionmaker,
    mail_id: int,
    status: MailStatus,
    response: str,
    message_id: str | None,
) -> None:
    async with sessionmaker.begin() as session:
        await session.execute(
            update(SubscriberMail)
            .where(SubscriberMail.id == mail_id, SubscriberMail.status == MailStatus.QUEUED)
            .values(
                status=status,
                smtp_response=response[:1000],
                message_id=message_id,
                sent_at=utcnow() if status == MailStatus.SENT else None,
            )
        )


async def mark_failed(sessionmaker: Sessionmaker, mail_id: int, reason: str) -> None:
    """Give up on a message after its last retry."""
    await _finish(sessionmaker, mail_id, MailStatus.FAILED, reason, None)


async def stale_mail(
    sessionmaker: Sessionmaker, *, older_than: timedelta, now: datetime, limit: int = 1000
) -> list[int]:
    """Return queued messages that waited too long: their jobs were lost (Redis restarted)."""
    async with sessionmaker() as session:
        rows = await session.scalars(
            select(SubscriberMail.id)
            .where(
                SubscriberMail.status == MailStatus.QUEUED,
                SubscriberMail.created_at < now - older_than,
            )
            .order_by(SubscriberMail.id)
            .limit(limit)
        )
        return list(rows)
