"""Sending an edition: each subscriber gets what matches them, exactly once, through faults."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from alerts.config import Settings
from alerts.db import Sessionmaker
from alerts.digests.jobs import DigestDeps
from alerts.digests.plan import edition_counts, plan_edition, set_status
from alerts.digests.prepare import prepare_edition
from alerts.digests.schedule import create_due_editions
from alerts.digests.send import EditionSender, Report, SendPolicy
from alerts.models import (
    Delivery,
    DeliveryStatus,
    Edition,
    EditionStatus,
    Frequency,
    Subscriber,
    SubscriberStatus,
)
from tests.support.digests import digest_deps, make_digest, make_subscriber
from tests.support.factories import make_article, make_source
from tests.support.smtp import RecordingSMTP, body_text

DUE = datetime(2026, 1, 5, 7, 0, tzinfo=UTC)
ARTICLES = [
    ("China: reprisals against lawyer Ding", ["reprisals"], ["CN"]),
    ("Sudan: defenders under attack in Darfur", ["human-rights-defenders"], ["SD"]),
    (
        "Colombia: land defenders killed",
        ["environmental-justice", "human-rights-defenders"],
        ["CO"],
    ),
    ("HRC61 opens with focus on civic space", ["civic-space", "un-system"], []),
]


async def edition_with_readers(
    sessionmaker: Sessionmaker, readers: list[dict[str, Any]], **digest_fields: Any
) -> int:
    async with sessionmaker.begin() as session:
        source = await make_source(session, title="ISHR")
        for title, topics, countries in ARTICLES:
            article = await make_article(
                session,
                source=source,
                title=title,
                topics=topics,
                countries=countries,
                published_at=DUE - timedelta(days=2),
            )
            article.fetched_at = DUE - timedelta(days=1)
        for reader in readers:
            await make_subscriber(session, **reader)
        await make_digest(session, now=DUE - timedelta(days=1), **digest_fields)
    async with sessionmaker.begin() as session:
        [decision] = await create_due_editions(session, DUE + timedelta(seconds=5))
        assert decision.edition_id is not None
        await plan_edition(session, decision.edition_id, now=DUE)
    return decision.edition_id


async def send(deps: DigestDeps, edition_id: int, **policy: Any) -> Report:
    prepared = await prepare_edition(
        deps.sessionmaker,
        edition_id,
        links=deps.links,
        branding=deps.branding,
        templates_dir=deps.settings.templates_dir,
        feeds_dir=deps.settings.feeds_dir,
        now=DUE,
    )
    sender = EditionSender(
        sessionmaker=deps.sessionmaker,
        sender=deps.sender,
        rate=deps.rate,
        links=deps.links,
        branding=deps.branding,
        owner=deps.owner,
        policy=SendPolicy(**{"batch_size": 50, "retry_schedule": (0, 0, 0, 0, 0), **policy}),
    )
    return await sender.run(prepared)


@pytest.fixture
async def deps(settings: Settings, sessionmaker: Sessionmaker, redis: Any) -> Any:
    deps = digest_deps(settings, sessionmaker, redis)
    yield deps
    await deps.sender.close()


async def statuses(sessionmaker: Sessionmaker, edition_id: int) -> dict[str, int]:
    async with sessionmaker() as session:
        return await edition_counts(session, edition_id)


async def test_each_subscriber_gets_what_matches_their_topics_and_countries(
    deps: DigestDeps, sessionmaker: Sessionmaker, smtp: RecordingSMTP
) -> None:
    edition_id = await edition_with_readers(
        sessionmaker,
        [
            {"email": "all@example.org"},
            {"email": "china@example.org", "countries": ["CN"]},
            {"email": "hrd@example.org", "topics": ["human-rights-defenders"]},
            {
                "email": "hrd-sudan@example.org",
                "topics": ["human-rights-defenders"],
                "countries": ["SD"],
            },
            {"email": "nothing@example.org", "countries": ["FJ"]},
            {"email": "daily@example.org", "frequency": Frequency.DAILY},
            {"email": "gone@example.org", "status": SubscriberStatus.UNSUBSCRIBED},
        ],
    )
    report = await send(deps, edition_id)
    assert (report.sent, report.skipped, report.failed, report.finished) == (4, 1, 0, True)
    titles = [t for t, _, _ in ARTICLES]

    def got(email: str) -> list[str]:
        [message] = smtp.to(email)
        text = body_text(message)
        return [t for t in titles if t in text]

    assert got("all@example.org") == sorted(got("all@example.org"), key=titles.index)
    assert set(got("all@example.org")) == set(titles)
    assert got("china@example.org") == [titles[0]]
    assert set(got("hrd@example.org")) == {titles[1], titles[2]}
    assert got("hrd-sudan@example.org") == [titles[1]]
    assert smtp.to("nothing@example.org") == []
    assert smtp.to("daily@example.org") == []
    assert smtp.to("gone@example.org") == []
    message = smtp.to("china@example.org")[0]
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["Subject"] == "Weekly digest: 1 new articles"  # their own count
    assert await statuses(sessionmaker, edition_id) == {
        "pending": 0,
        "sent": 4,
        "failed": 0,
        "skipped": 1,
    }
    async with sessionmaker() as session:
        edition = await session.get(Edition, edition_id)
    assert edition is not None and edition.status == EditionStatus.SENT


async def test_smtp_refusing_and_dropping_loses_nothing_and_sends_nothing_twice(
    deps: DigestDeps, sessionmaker: Sessionmaker, smtp: RecordingSMTP
) -> None:
    readers = [{"email": f"r{i}@example.org"} for i in range(60)]
    edition_id = await edition_with_readers(sessionmaker, readers)
    smtp.flaky(every=5, drop_every=13)  # 20% refused with 451, and dropped connections
    for _ in range(10):
        report = await send(deps, edition_id)
        if report.finished:
            break
        await asyncio.sleep(0)
    assert report.finished
    received = Counter(r.rcpt_tos[0] for r in smtp.messages)
    assert set(received) == {r["email"] for r in readers}
    assert max(received.values()) == 1
    async with sessionmaker() as session:
        retried = await session.scalar(
            select(Delivery.attempts).order_by(Delivery.attempts.desc()).limit(1)
        )
    assert retried and retried > 1


async def test_permanent_failures_are_recorded_and_bounce_after_the_threshold(
    deps: DigestDeps, sessionmaker: Sessionmaker, smtp: RecordingSMTP
) -> None:
    edition_id = await edition_with_readers(sessionmaker, [{"email": "bad@example.org"}])
    async with sessionmaker.begin() as session:
        await session.execute(update(Subscriber).values(hard_bounces=2))
    smtp.fail_with("550 5.1.1 mailbox unavailable")
    report = await send(deps, edition_id)
    assert (report.failed, report.finished) == (1, True)
    async with sessionmaker() as session:
        delivery = (await session.scalars(select(Delivery))).one()
        sub = (await session.scalars(select(Subscriber))).one()
    assert delivery.status == DeliveryStatus.FAILED
    assert "550 5.1.1" in (delivery.smtp_response or "")
    assert sub.status == SubscriberStatus.BOUNCED


async def test_two_workers_on_one_edition_send_each_message_once(
    deps: DigestDeps,
    settings: Settings,
    sessionmaker: Sessionmaker,
    redis: Any,
    smtp: RecordingSMTP,
) -> None:
    readers = [{"email": f"w{i}@example.org"} for i in range(120)]
    edition_id = await edition_with_readers(sessionmaker, readers)
    other = digest_deps(settings, sessionmaker, redis)
    # Slow enough that both senders are ready before either could finish alone.
    smtp.flaky(delay=0.02)
    try:
        first, second = await asyncio.gather(
            send(deps, edition_id, batch_size=10), send(other, edition_id, batch_size=10)
        )
    finally:
        await other.sender.close()
    assert first.sent > 0 and second.sent > 0
    assert first.sent + second.sent == 120
    received = Counter(r.rcpt_tos[0] for r in smtp.messages)
    assert len(received) == 120 and max(received.values()) == 1


async def test_paused_edition_stops_and_resumes_without_resending(
    deps: DigestDeps, sessionmaker: Sessionmaker, smtp: RecordingSMTP
) -> None:
    readers = [{"email": f"p{i}@example.org"} for i in range(40)]
    edition_id = await edition_with_readers(sessionmaker, readers)
    # The server takes five messages, then holds the rest until the edition is paused.
    smtp.hold_after(5)

    async def pause_soon() -> None:
        while len(smtp.messages) < 5:
            await asyncio.sleep(0.005)
        async with sessionmaker.begin() as session:
            assert await set_status(
                session, edition_id, EditionStatus.PAUSED, allowed_from={EditionStatus.SENDING}
            )
        smtp.release()

    report, _ = await asyncio.gather(send(deps, edition_id, batch_size=5), pause_soon())
    assert report.stopped == "paused"
    sent_before = len(smtp.messages)
    assert 5 <= sent_before < 40
    async with sessionmaker.begin() as session:
        await set_status(
            session, edition_id, EditionStatus.SENDING, allowed_from={EditionStatus.PAUSED}
        )
    report = await send(deps, edition_id)
    assert report.finished
    received = Counter(r.rcpt_tos[0] for r in smtp.messages)
    assert len(received) == 40 and max(received.values()) == 1


async def test_crashed_worker_leases_expire_and_only_in_flight_messages_repeat(
    deps: DigestDeps, sessionmaker: Sessionmaker, smtp: RecordingSMTP
) -> None:
    readers = [{"email": f"c{i}@example.org"} for i in range(30)]
    edition_id = await edition_with_readers(sessionmaker, readers)
    # A worker claimed a batch and died: its rows stay leased, nothing recorded.
    async with sessionmaker.begin() as session:
        ids = list(await session.scalars(select(Delivery.id).order_by(Delivery.id).limit(10)))
        await session.execute(
            update(Delivery)
            .where(Delivery.id.in_(ids))
            .values(lease_owner="dead-worker", lease_until=DUE - timedelta(seconds=1))
        )
    report = await send(deps, edition_id)
    assert report.finished and report.sent == 30
    received = Counter(r.rcpt_tos[0] for r in smtp.messages)
    assert len(received) == 30 and max(received.values()) == 1
    async with sessionmaker() as session:
        owners = set(await session.scalars(select(Delivery.lease_owner)))
    assert owners == {None}
