"""When digests are due, and creating each edition exactly once, even late or with many workers."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadCronError, croniter
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.db import insert_for, is_postgres
from alerts.errors import ValidationError
from alerts.models import Digest, DigestStatus, Edition, EditionStatus

log = logging.getLogger(__name__)

DEFAULT_WINDOW = timedelta(days=7)


def check_schedule(cron: str | None, timezone: str, send_at: datetime | None) -> None:
    """Raise ValidationError unless the schedule is a valid cron expression or one date."""
    if bool(cron) == bool(send_at):
        raise ValidationError({"schedule": "Give either a cron expression or one date and time."})
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as e:
        raise ValidationError({"timezone": f"Unknown time zone: {timezone}"}) from e
    if cron and not croniter.is_valid(cron):
        raise ValidationError({"cron": f"Not a valid cron expression: {cron}"})
    if send_at is not None and send_at.tzinfo is None:
        raise ValidationError({"send_at": "Give the date with its time zone offset."})


def next_run(digest: Digest, after: datetime) -> datetime | None:
    """Return the first due time strictly after ``after`` (UTC), or None for a past one-off."""
    if digest.send_at is not None:
        return digest.send_at if digest.send_at > after else None
    if not digest.cron:
        return None
    zone = ZoneInfo(digest.timezone)
    try:
        it = croniter(digest.cron, after.astimezone(zone))
    except CroniterBadCronError:
        return None
    nxt: datetime = it.get_next(datetime)
    return nxt.astimezone(after.tzinfo)


def previous_run(digest: Digest, before: datetime) -> datetime:
    """Return the cron time before ``before``, the default start of a first window."""
    if digest.cron:
        zone = ZoneInfo(digest.timezone)
        prev: datetime = croniter(digest.cron, before.astimezone(zone)).get_prev(datetime)
        return prev.astimezone(before.tzinfo)
    return before - DEFAULT_WINDOW


@dataclass(frozen=True)
class Decision:
    """What the scheduler did about one due digest, for the log and the caller."""

    digest_id: int
    edition_id: int | None
    due_at: datetime
    status: EditionStatus
    note: str


def _late_run(digest: Digest, now: datetime) -> datetime:
    """Return the latest due time not after ``now``: missed runs collapse into one edition."""
    due = digest.next_run_at
    assert due is not None
    while True:
        nxt = next_run(digest, due)
        if nxt is None or nxt > now:
            return due
        due = nxt


async def create_due_editions(session: AsyncSession, now: datetime) -> list[Decision]:
    """Create one edition per due digest; safe to run from several workers at once."""
    query = (
        select(Digest)
        .where(Digest.status == DigestStatus.ACTIVE, Digest.next_run_at <= now)
        .order_by(Digest.next_run_at)
    )
    if is_postgres(session):
        query = query.with_for_update(skip_locked=True)
    decisions = []
    for digest in await session.scalars(query.execution_options(populate_existing=True)):
        decisions.append(await _create(session, digest, now))
    return decisions


async def _create(session: AsyncSession, digest: Digest, now: datetime) -> Decision:
    scheduled = digest.next_run_at
    assert scheduled is not None
    due = _late_run(digest, now)
    start = digest.last_window_end or previous_run(digest, scheduled)
    lateness = now - due
    grace = timedelta(hours=digest.grace_hours)
    notes = []
    if due != scheduled:
        notes.append(f"runs due from {scheduled.isoformat()} collapsed into one edition")
    if lateness > grace:
        status = EditionStatus.SKIPPED
        notes.append(
            f"skipped: {_hours(lateness)} late, over the {digest.grace_hours} h grace period; "
            "its articles go into the next edition"
        )
    else:
        status = EditionStatus.SCHEDULED
        if lateness > timedelta(minutes=5):
            notes.append(f"sent {_hours(lateness)} late, window intact")
    note = "; ".join(notes)
    stmt = (
        insert_for(session, Edition.__table__)
        .values(
            digest_id=digest.id,
            due_at=due,
            window_start=start,
            window_end=due,
            status=status.value,
            note=note,
            planned=0,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["digest_id", "due_at"])
        .returning(Edition.__table__.c.id)
    )
    edition_id = (await session.execute(stmt)).scalar_one_or_none()
    digest.next_run_at = next_run(digest, max(now, due))
    # A skipped edition's articles carry over: the next window starts where this one did.
    digest.last_window_end = due if status == EditionStatus.SCHEDULED else start
    digest.updated_at = now
    if note:
        log.info("digest %s edition due %s: %s", digest.slug, due.isoformat(), note)
    return Decision(digest.id, edition_id, due, status, note)


def _hours(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} days"
