"""When to fetch a source: its interval, doubled per consecutive failure, capped; who is due."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update

from alerts.db import Sessionmaker
from alerts.models import Source

MAX_BACKOFF = timedelta(hours=24)
JITTER = 0.1
# A claimed source is skipped by other runs until then; a crashed run frees it after this.
CLAIM = timedelta(minutes=15)


def next_fetch_delay(
    interval: timedelta,
    consecutive_failures: int,
    *,
    cap: timedelta = MAX_BACKOFF,
    jitter: float = 0.0,
    jitter_key: str = "",
) -> timedelta:
    """Return the wait before the next fetch: ``interval`` doubled per failure, capped.

    The cap never shortens a source's own interval. ``jitter`` (0..1, off by default) moves
    the delay earlier by a fraction derived from ``jitter_key``, so it is deterministic.
    """
    base = interval.total_seconds()
    failures = max(0, consecutive_failures)
    seconds = min(base * 2.0 ** min(failures, 64), max(cap.total_seconds(), base))
    if jitter > 0:
        digest = hashlib.sha256(f"{jitter_key}:{failures}".encode()).digest()
        seconds *= 1 - min(jitter, 1.0) * int.from_bytes(digest[:8], "big") / 2**64
    return timedelta(seconds=seconds)


def next_fetch_at(now: datetime, interval_seconds: int, failures: int, key: str) -> datetime:
    """Return when a source is due again, spread a little so sources do not bunch up."""
    delay = next_fetch_delay(
        timedelta(seconds=interval_seconds), failures, jitter=JITTER, jitter_key=key
    )
    return now + delay


async def claim_due(sessionmaker: Sessionmaker, *, limit: int, now: datetime) -> list[int]:
    """Claim up to ``limit`` active sources that are due (never fetched counts as due)."""
    async with sessionmaker.begin() as session:
        due = or_(Source.next_fetch_at.is_(None), Source.next_fetch_at <= now)
        candidates = select(Source.id).where(Source.active.is_(True), due)
        ordered = candidates.order_by(Source.next_fetch_at.is_not(None), Source.next_fetch_at)
        ids = list(await session.scalars(ordered.limit(limit)))
        if not ids:
            return []
        # The WHERE repeats "due", so two runs racing for a source cannot both claim it.
        claimed = await session.scalars(
            update(Source)
            .where(Source.id.in_(ids), due)
            .values(next_fetch_at=now + CLAIM)
            .returning(Source.id)
        )
        return sorted(claimed)
