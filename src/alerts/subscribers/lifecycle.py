"""Confirm, change preferences, unsubscribe, ask for a fresh link, revoke old links."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.errors import TokenError, TokenRevoked
from alerts.models import MailKind, Subscriber, SubscriberStatus
from alerts.subscribers.choices import save_choices
from alerts.subscribers.mailqueue import MailCap, queue_mail
from alerts.subscribers.validation import Choices
from alerts.tokens import LinkSigner, Purpose


async def subscriber_for_link(
    session: AsyncSession, signer: LinkSigner, purpose: Purpose, token: str
) -> Subscriber:
    """Return the subscriber a link token names, or raise a TokenError subclass."""
    claim = signer.check(purpose, token)
    subscriber = await session.get(Subscriber, claim.subscriber_id, populate_existing=True)
    if subscriber is None:
        raise TokenError("This link is not valid.")
    if claim.version != subscriber.token_version:
        raise TokenRevoked("This link has been replaced by a newer one.")
    return subscriber


async def confirm(session: AsyncSession, subscriber: Subscriber, *, now: datetime) -> int | None:
    """Activate a pending or unsubscribed subscriber; return the welcome message queued."""
    if subscriber.status == SubscriberStatus.ACTIVE:
        return None
    if subscriber.status in (SubscriberStatus.BOUNCED, SubscriberStatus.COMPLAINED):
        raise TokenError("This address cannot be subscribed again from this link.")
    subscriber.status = SubscriberStatus.ACTIVE
    subscriber.confirmed_at = now
    subscriber.consent_at = now
    subscriber.unsubscribed_at = None
    subscriber.updated_at = now
    return await queue_mail(session, subscriber.id, MailKind.WELCOME, now=now)


async def update_preferences(
    session: AsyncSession, subscriber: Subscriber, choices: Choices, *, now: datetime
) -> None:
    """Save the subscriber's topics, countries and frequency."""
    subscriber.frequency = choices.frequency
    subscriber.updated_at = now
    await save_choices(session, subscriber.id, choices)


async def unsubscribe(session: AsyncSession, subscriber: Subscriber, *, now: datetime) -> bool:
    """Stop all mail to the subscriber at once; return False when already unsubscribed."""
    if subscriber.status in (
        SubscriberStatus.UNSUBSCRIBED,
        SubscriberStatus.BOUNCED,
        SubscriberStatus.COMPLAINED,
    ):
        return False
    subscriber.status = SubscriberStatus.UNSUBSCRIBED
    subscriber.unsubscribed_at = now
    subscriber.updated_at = now
    return True


async def request_manage_link(
    session: AsyncSession, email_key: str, *, cap: MailCap, now: datetime
) -> int | None:
    """Queue a manage link for an active subscriber; return None otherwise (callers say nothing)."""
    subscriber = await session.scalar(select(Subscriber).where(Subscriber.email_key == email_key))
    if subscriber is None or subscriber.status != SubscriberStatus.ACTIVE:
        return None
    return await queue_mail(session, subscriber.id, MailKind.MANAGE_LINK, now=now, cap=cap)


async def revoke_links(
    session: AsyncSession, subscriber: Subscriber, *, cap: MailCap, now: datetime
) -> int | None:
    """Invalidate every link sent so far and queue a fresh manage link."""
    subscriber.token_version += 1
    subscriber.updated_at = now
    return await queue_mail(session, subscriber.id, MailKind.MANAGE_LINK, now=now, cap=cap)
