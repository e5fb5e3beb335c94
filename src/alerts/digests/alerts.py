"""Immediate alerts: one edition per ingestion run that brought new articles."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from arq.connections import ArqRedis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.db import insert_for
from alerts.digests.plan import plan_edition
from alerts.models import Audience, Digest, DigestStatus, Edition, EditionStatus
from alerts.queue import enqueue_edition


async def create_alert_editions(
    session: AsyncSession, article_ids: Sequence[int], *, now: datetime
) -> list[Edition]:
    """Create and plan an edition of each active immediate digest holding the new articles."""
    if not article_ids:
        return []
    digests = await session.scalars(
        select(Digest).where(
            Digest.audience == Audience.IMMEDIATE, Digest.status == DigestStatus.ACTIVE
        )
    )
    editions = []
    for digest in list(digests):
        edition_id = (
            await session.execute(
                insert_for(session, Edition.__table__)
                .values(
                    digest_id=digest.id,
                    due_at=now,
                    window_start=now,
                    window_end=now,
                    status=EditionStatus.SCHEDULED.value,
                    note="",
                    planned=0,
                    created_at=now,
                )
                .on_conflict_do_nothing(index_elements=["digest_id", "due_at"])
                .returning(Edition.__table__.c.id)
            )
        ).scalar_one_or_none()
        if edition_id is not None:
            editions.append(
                await plan_edition(session, edition_id, now=now, article_ids=article_ids)
            )
    return editions


async def start_alerts(pool: ArqRedis, editions: Sequence[Edition], parallel: int) -> None:
    """Enqueue the senders of the alert editions that have someone to write to."""
    for edition in editions:
        if edition.status == EditionStatus.SENDING:
            await enqueue_edition(pool, edition.id, parallel)
