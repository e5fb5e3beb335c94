"""Due editions are created exactly once, late ones sent once or skipped, windows chain."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from alerts.db import Sessionmaker
from alerts.digests.schedule import create_due_editions, next_run
from alerts.errors import ValidationError
from alerts.models import Digest, Edition, EditionStatus
from tests.support.digests import make_digest

MONDAY_8_GENEVA_WINTER = datetime(2026, 1, 5, 7, 0, tzinfo=UTC)  # 08:00 CET


async def test_next_run_follows_geneva_time_across_daylight_saving(
    sessionmaker: Sessionmaker,
) -> None:
    async with sessionmaker.begin() as session:
        digest = await make_digest(session, now=datetime(2026, 3, 20, tzinfo=UTC), cron="0 8 * * *")
    assert next_run(digest, datetime(2026, 3, 28, 12, tzinfo=UTC)) == datetime(
        2026, 3, 29, 6, 0, tzinfo=UTC
    )  # 08:00 CEST on the day clocks go forward
    assert next_run(digest, datetime(2026, 3, 27, 12, tzinfo=UTC)) == datetime(
        2026, 3, 28, 7, 0, tzinfo=UTC
    )


async def test_bad_schedules_are_refused(sessionmaker: Sessionmaker) -> None:
    async with sessionmaker.begin() as session:
        with pytest.raises(ValidationError) as e:
            await make_digest(session, cron="every monday")
        assert "cron" in e.value.errors
        with pytest.raises(ValidationError) as e:
            await make_digest(session, timezone="Mars/Olympus")
        assert "timezone" in e.value.errors


async def test_edition_is_created_once_even_when_ticks_race(sessionmaker: Sessionmaker) -> None:
    async with sessionmaker.begin() as session:
        digest = await make_digest(session, now=MONDAY_8_GENEVA_WINTER - timedelta(days=1))
    assert digest.next_run_at == MONDAY_8_GENEVA_WINTER
    now = MONDAY_8_GENEVA_WINTER + timedelta(seconds=30)

    async def tick() -> None:
        async with sessionmaker.begin() as session:
            await create_due_editions(session, now)

    await asyncio.gather(*(tick() for _ in range(4)))
    async with sessionmaker() as session:
        editions = list(await session.scalars(select(Edition)))
        reloaded = await session.get(Digest, digest.id)
    assert len(editions) == 1
    assert editions[0].due_at == MONDAY_8_GENEVA_WINTER
    assert editions[0].window_end == MONDAY_8_GENEVA_WINTER
    assert editions[0].window_start == MONDAY_8_GENEVA_WINTER - timedelta(days=7)
    assert reloaded is not None
    assert reloaded.next_run_at == MONDAY_8_GENEVA_WINTER + timedelta(days=7)


async def test_late_edition_within_grace_is_sent_late_with_its_window(
    sessionmaker: Sessionmaker,
) -> None:
    async with sessionmaker.begin() as session:
        await make_digest(session, now=MONDAY_8_GENEVA_WINTER - timedelta(days=1), grace_hours=12)
    async with sessionmaker.begin() as session:
        [decision] = await create_due_editions(session, MONDAY_8_GENEVA_WINTER + timedelta(hours=5))
    assert decision.status == EditionStatus.SCHEDULED
    assert "5.0 h late, window intact" in decision.note


async def test_edition_later_than_grace_is_skipped_and_its_articles_carry_over(
    sessionmaker: Sessionmaker,
) -> None:
    async with sessionmaker.begin() as session:
        digest = await make_digest(
            session, now=MONDAY_8_GENEVA_WINTER - timedelta(days=1), grace_hours=2
        )
    async with sessionmaker.begin() as session:
        [skipped] = await create_due_editions(session, MONDAY_8_GENEVA_WINTER + timedelta(hours=3))
    assert skipped.status == EditionStatus.SKIPPED
    assert "over the 2 h grace period" in skipped.note
    async with sessionmaker.begin() as session:
        [nxt] = await create_due_editions(session, MONDAY_8_GENEVA_WINTER + timedelta(days=7))
        edition = await session.get(Edition, nxt.edition_id)
    assert edition is not None
    assert edition.window_start == MONDAY_8_GENEVA_WINTER - timedelta(days=7)
    assert digest.id == edition.digest_id


async def test_runs_missed_while_down_collapse_into_one_edition(
    sessionmaker: Sessionmaker,
) -> None:
    async with sessionmaker.begin() as session:
        await make_digest(
            session, cron="0 8 * * *", now=MONDAY_8_GENEVA_WINTER - timedelta(hours=1)
        )
    three_days_later = MONDAY_8_GENEVA_WINTER + timedelta(days=3, minutes=20)
    async with sessionmaker.begin() as session:
        decisions = await create_due_editions(session, three_days_later)
    assert len(decisions) == 1
    assert decisions[0].due_at == MONDAY_8_GENEVA_WINTER + timedelta(days=3)
    assert decisions[0].status == EditionStatus.SCHEDULED
    assert "collapsed into one edition" in decisions[0].note
    async with sessionmaker() as session:
        edition = (await session.scalars(select(Edition))).one()
    assert edition.window_start == MONDAY_8_GENEVA_WINTER - timedelta(days=1)


async def test_shipped_digests_are_daily_and_weekly_at_eight_in_geneva(
    sessionmaker: Sessionmaker, settings: Any
) -> None:
    from alerts.digests.manage import sync_shipped

    now = datetime(2026, 7, 1, 12, tzinfo=UTC)  # a Wednesday, summer time
    async with sessionmaker.begin() as session:
        assert await sync_shipped(session, settings.feeds_dir / "digests.toml", now=now) == 3
        assert await sync_shipped(session, settings.feeds_dir / "digests.toml", now=now) == 0
        digests = {d.slug: d for d in await session.scalars(select(Digest))}
    assert digests["daily"].next_run_at == datetime(2026, 7, 2, 6, 0, tzinfo=UTC)
    assert digests["weekly"].next_run_at == datetime(2026, 7, 6, 6, 0, tzinfo=UTC)
    assert digests["alerts"].next_run_at is None
    assert digests["alerts"].audience == "immediate"
