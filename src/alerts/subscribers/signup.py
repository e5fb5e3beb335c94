"""Sign-up: create or find the subscriber and queue the right message, revealing nothing."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.db import insert_for, is_postgres
from alerts.models import MailKind, Subscriber, SubscriberStatus
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
