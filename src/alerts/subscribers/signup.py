"""Sign-up: create or find the subscriber and queue the right message, revealing nothing."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.db import insert_for, is_postgres
from alerts.models import (
    MailKind,
    Subscriber,
    SubscriberStatus,
)
from alerts.subscribers.choices import save_choices
from alerts.subscribers.mailqueue import MailCap, queue_mail
from alerts.subscribers.validation import SignupRequest


@dataclass(frozen=True)
class SignupOutcome:
    """What sign-up did: the message queued, if any (callers must not reveal which)."""

    subscriber_id: int | None
    mail_id: int | None


def hash_ip(secret: str, ip: str | None) -> str | None:
    """Return a keyed hash of the client IP, so consent is recorded without the raw IP."""
    if not ip:
        return None
    return hmac.new(secret.encode(), ip.encode(), hashlib.sha256).hexdigest()


async def sign_up(
    session: AsyncSession,
    request: SignupRequest,
    *,
    source: str,
    ip_hash: str | None,
    cap: MailCap,
    now: datetime,
) -> SignupOutcome:
    """Record a sign-up and queue a confirmation (or a manage link for an active address)."""
    if request.is_bot:
        return SignupOutcome(None, None)
    fresh = await _insert_new(session, request, source=source, ip_hash=ip_hash, now=now)
    if fresh is not None:
        return fresh
    stmt = (
        insert_for(session, Subscriber.__table__)
        .values(
            email=request.email,
            email_key=request.email_key,
            status=SubscriberStatus.PENDING.value,
            frequency=request.choices.frequency.value,
            language=request.language,
            token_version=1,
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["email_key"])
    )
    await session.execute(stmt)
    query = select(Subscriber).where(Subscriber.email_key == request.email_key)
    if is_postgres(session):
        query = query.with_for_update()
    subscriber = (await session.scalars(query.execution_options(populate_existing=True))).one()

    if subscriber.status in (SubscriberStatus.BOUNCED, SubscriberStatus.COMPLAINED):
        # Never mail an address that bounced or complained; the answer stays the same.
        return SignupOutcome(subscriber.id, None)
    if subscriber.status == SubscriberStatus.ACTIVE:
        mail_id = await queue_mail(
            session, subscriber.id, MailKind.ALREADY_SUBSCRIBED, now=now, cap=cap
        )
        return SignupOutcome(subscriber.id, mail_id)

    # Pending or unsubscribed: these choices replace earlier ones, consent awaits confirmation.
    subscriber.email = request.email
    subscriber.frequency = request.choices.frequency
    subscriber.language = request.language
    subscriber.consent_source = source
    subscriber.consent_ip_hash = ip_hash
    subscriber.updated_at = now
    await save_choices(session, subscriber.id, request.choices)
    mail_id = await queue_mail(session, subscriber.id, MailKind.CONFIRM, now=now, cap=cap)
    return SignupOutcome(subscriber.id, mail_id)


def _new_row(
    request: SignupRequest, source: str, ip_hash: str | None, now: datetime
) -> dict[str, Any]:
    return {
        "email": request.email,
        "email_key": request.email_key,
        "status": SubscriberStatus.PENDING.value,
        "frequency": request.choices.frequency.value,
        "language": request.language,
        "token_version": 1,
        "hard_bounces": 0,
        "created_at": now,
        "updated_at": now,
        "consent_source": source,
        "consent_ip_hash": ip_hash,
    }


async def _insert_new(
    session: AsyncSession,
    request: SignupRequest,
    *,
    source: str,
    ip_hash: str | None,
    now: datetime,
) -> SignupOutcome | None:
    """Insert a new address with its choices and confirmation; None if the address exists.

    Most sign-ups are new addresses, so this path is kept to as few round trips as the
    backend allows: one statement on PostgreSQL.
    """
    if not is_postgres(session):
        table = Subscriber.__table__
        new = (
            insert_for(session, table)
            .values(_new_row(request, source, ip_hash, now))
            .on_conflict_do_nothing(index_elements=["email_key"])
            .returning(table.c.id)
        )
        subscriber_id = (await session.execute(new)).scalar_one_or_none()
        if subscriber_id is None:
            return None
        await save_choices(session, subscriber_id, request.choices, fresh=True)
        mail_id = await queue_mail(session, subscriber_id, MailKind.CONFIRM, now=now)
        return SignupOutcome(subscriber_id, mail_id)
    row = (
        await session.execute(
            _INSERT_ALL,
            {
                **_new_row(request, source, ip_hash, now),
                "now": now,
                "topics": sorted(request.choices.topics),
                "countries": sorted(request.choices.countries),
            },
        )
    ).first()
    if row is None:
        return None
    return SignupOutcome(int(row[0]), int(row[1]))


# One round trip for a new address on PostgreSQL. Plain SQL rather than a Core construct:
# the statement is prepared once per connection instead of compiled per request.
_INSERT_ALL = text("""
WITH new_subscriber AS (
    INSERT INTO subscribers (email, email_key, status, frequency, language, token_version,
                             hard_bounces, created_at, updated_at, consent_source, consent_ip_hash)
    VALUES (:email, :email_key, 'pending', :frequency, :language, 1, 0, :now, :now,
            :consent_source, :consent_ip_hash)
    ON CONFLICT (email_key) DO NOTHING
    RETURNING id
), new_topics AS (
    INSERT INTO subscriber_topics (subscriber_id, topic_id)
    SELECT new_subscriber.id, topics.id
    FROM new_subscriber JOIN topics ON topics.slug = ANY(CAST(:topics AS varchar[]))
    RETURNING topic_id
), new_countries AS (
    INSERT INTO subscriber_countries (subscriber_id, country_code)
    SELECT new_subscriber.id, code
    FROM new_subscriber CROSS JOIN unnest(CAST(:countries AS varchar[])) AS code
    RETURNING country_code
), queued_mail AS (
    INSERT INTO subscriber_mail (subscriber_id, kind, status, attempts, created_at)
    SELECT id, 'confirm', 'queued', 0, :now FROM new_subscriber
    RETURNING id
)
SELECT new_subscriber.id, queued_mail.id,
       (SELECT count(*) FROM new_topics), (SELECT count(*) FROM new_countries)
FROM new_subscriber CROSS JOIN queued_mail
""")
