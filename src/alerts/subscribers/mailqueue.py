"""Queue one-to-one messages in the ledger, within the per-address caps."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.models import MailKind, MailStatus, SubscriberMail

# Kinds that share one cap, so an address cannot be flooded through any form.
CAPPED_TOGETHER: dict[MailKind, tuple[MailKind, ...]] = {
    MailKind.CONFIRM: (MailKind.CONFIRM, MailKind.ALREADY_SUBSCRIBED),
    MailKind.ALREADY_SUBSCRIBED: (MailKind.CONFIRM, MailKind.ALREADY_SUBSCRIBED),
    MailKind.MANAGE_LINK: (MailKind.MANAGE_LINK,),
}


@dataclass(frozen=True)
class MailCap:
    """At most ``limit`` capped messages per address within ``window``."""

    limit: int
    window: timedelta


async def queue_mail(
    session: AsyncSession,
    subscriber_id: int,
    kind: MailKind,
    *,
    now: datetime,
    cap: MailCap | None = None,
) -> int | None:
    """Add a queued message to the ledger and return its id, or None when capped."""
    capped = CAPPED_TOGETHER.get(kind)
    if cap is not None and capped:
        sent = await session.scalar(
            select(func.count())
            .select_from(SubscriberMail)
            .where(
                SubscriberMail.subscriber_id == subscriber_id,
                SubscriberMail.kind.in_(capped),
                SubscriberMail.created_at >= now - cap.window,
                SubscriberMail.status != MailStatus.CANCELLED,
            )
        )
        if (sent or 0) >= cap.limit:
            return None
    mail = SubscriberMail(subscriber_id=subscriber_id, kind=kind, created_at=now)
    session.add(mail)
    await session.flush()
    return mail.id
