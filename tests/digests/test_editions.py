"""Editors' edition services: send now, preview, test send, cancel/pause/resume, listing."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from sqlalchemy import event, func, select, update

from alerts.config import Settings
from alerts.db import Sessionmaker
from alerts.digests import editions
from alerts.digests.editions import EditionStateError
from alerts.digests.plan import plan_edition
from alerts.digests.preview import preview, send_test
from alerts.digests.schedule import create_due_editions
from alerts.editors.audit import Who
from alerts.errors import NotFound, ValidationError
from alerts.links import Links
from alerts.mail.transport import transport_for
from alerts.models import (
    AuditEntry,
    Delivery,
    DeliveryStatus,
    Digest,
    Edition,
    EditionArticle,
    EditionStatus,
    Subscriber,
)
from alerts.tokens import Purpose, signer_for
from tests.support.digests import branding, make_digest, make_subscriber
from tests.support.factories import make_article, make_source
from tests.support.smtp import RecordingSMTP, body_text

NOW = datetime(2026, 1, 7, 12, 0, tzinfo=UTC)  # a Wednesday
WHO = Who(None, "tester")
ARTICLES = [
    ("China: reprisals against lawyer Ding", ["reprisals"], ["CN"]),
    ("Sudan: defenders under attack in Darfur", ["human-rights-defenders"], ["SD"]),
    ("HRC61 opens with focus on civic space", ["civic-space", "un-system"], []),
]
TITLES = [t for t, _, _ in ARTICLES]


async def setup_digest(
    sessionmaker: Sessionmaker, readers: int = 2, *, articles: bool = True, **fields: Any
) -> Digest:
    async with sessionmaker.begin() as session:
        source = await make_source(session, title="ISHR")
        for title, topics, countries in ARTICLES if articles else []:
            article = await make_article(
                session,
                source=source,
                title=title,
                topics=topics,
                countries=countries,
                published_at=NOW - timedelta(days=2),
            )
            article.fetched_at = NOW - timedelta(days=1)
        for _ in range(readers):
            await make_subscriber(session)
        return await make_digest(session, now=NOW - timedelta(hours=1), **fields)


async def count(sessionmaker: Sessionmaker, model: Any) -> int:
    async with sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def actions(sessionmaker: Sessionmaker) -> list[tuple[str, str]]:
    async with sessionmaker() as session:
        rows = await session.scalars(select(AuditEntry).order_by(AuditEntry.id))
        return [(e.action, e.subject) for e in rows]


def links_for(settings: Settings) -> Links:
    signer = signer_for(settings.secret, settings.confirm_token_days, settings.link_token_days)
    return Links(settings.base_url, signer)


def render_kwargs(settings: Settings) -> dict[str, Any]:
    return {
        "links": links_for(settings),
        "branding": branding(settings),
        "templates_dir": settings.templates_dir,
        "feeds_dir": settings.feeds_dir,
        "now": NOW,
    }


async def send_now(sessionmaker: Sessionmaker, digest: Digest, now: datetime = NOW) -> Edition:
    async with sessionmaker.begin() as session:
        return await editions.send_now(session, digest, who=WHO, now=now)


async def test_send_now_plans_one_edition_even_when_asked_twice_at_once(
    sessionmaker: Sessionmaker,
) -> None:
    digest = await setup_digest(sessionmaker, readers=3)
    first, second = await asyncio.gather(
        send_now(sessionmaker, digest), send_now(sessionmaker, digest)
    )
    assert first.id == second.id
    assert await count(sessionmaker, Edition) == 1
    assert await count(sessionmaker, Delivery) == 3
    async with sessionmaker() as session:
        edition = await session.get(Edition, first.id)
        stored = await session.get(Digest, digest.id)
    assert edition is not None and stored is not None
    assert edition.status == EditionStatus.SENDING and edition.planned == 3
    assert edition.due_at == NOW == edition.window_end == stored.last_window_end
    assert edition.window_start == datetime(2026, 1, 5, 7, 0, tzinfo=UTC)  # Monday 08:00 Geneva
    assert await actions(sessionmaker) == [("digest.send_now", digest.slug)]
    again = await send_now(sessionmaker, digest)
    assert again.id == first.id and await count(sessionmaker, Edition) == 1


async def test_the_next_window_starts_where_send_now_ended(sessionmaker: Sessionmaker) -> None:
    digest = await setup_digest(sessionmaker)
    first = await send_now(sessionmaker, digest)
    later = await send_now(sessionmaker, digest, NOW + timedelta(hours=2))
    assert later.window_start == first.window_end == NOW
    assert later.status == EditionStatus.SKIPPED  # nothing new arrived in between
    async with sessionmaker.begin() as session:
        [decision] = await create_due_editions(session, datetime(2026, 1, 12, 7, 1, tzinfo=UTC))
        scheduled = await session.get(Edition, decision.edition_id)
    assert scheduled is not None and scheduled.window_start == NOW + timedelta(hours=2)


async def test_preview_shows_what_the_subscriber_would_get_and_leaves_nothing(
    sessionmaker: Sessionmaker, settings: Settings
) -> None:
    digest = await setup_digest(sessionmaker, readers=0)
    async with sessionmaker.begin() as session:
        reader = await make_subscriber(session, email="Sudan@Example.org", countries=["SD"])
    # Both previews in the same second, so that their signed links carry the same timestamp.
    with time_machine.travel(datetime.now(UTC), tick=False):
        by_id = await preview(sessionmaker, digest, reader.id, **render_kwargs(settings))
        by_email = await preview(
            sessionmaker, digest, "sudan@example.org", **render_kwargs(settings)
        )
    assert [t for t in TITLES if t in by_id.text] == [TITLES[1]]
    assert TITLES[1] in by_id.html and TITLES[0] not in by_id.html
    assert "Sudan@Example.org" in by_id.text
    assert by_email.text == by_id.text
    everything = await preview(sessionmaker, digest, None, **render_kwargs(settings))
    assert all(t in everything.text for t in TITLES)
    assert everything.subject == "Weekly digest: 3 new articles"
    for model in (Edition, EditionArticle, Delivery):
        assert await count(sessionmaker, model) == 0
    async with sessionmaker() as session:
        stored = await session.get(Digest, digest.id)
    assert stored is not None and stored.last_window_end is None


async def test_preview_names_unknown_or_malformed_subscribers(
    sessionmaker: Sessionmaker, settings: Settings
) -> None:
    digest = await setup_digest(sessionmaker, readers=0)
    with pytest.raises(NotFound, match=r"No subscriber nobody@example\.org"):
        await preview(sessionmaker, digest, "nobody@example.org", **render_kwargs(settings))
    with pytest.raises(NotFound):
        await preview(sessionmaker, digest, 999_999, **render_kwargs(settings))
    with pytest.raises(ValidationError) as e:
        await preview(sessionmaker, digest, "not an address", **render_kwargs(settings))
    assert "subscriber" in e.value.errors
    assert await count(sessionmaker, Edition) == 0


async def snapshot(sessionmaker: Sessionmaker) -> list[tuple[Any, ...]]:
    async with sessionmaker() as session:
        rows = await session.execute(
            select(
                Subscriber.id, Subscriber.status, Subscriber.token_version, Subscriber.updated_at
            ).order_by(Subscriber.id)
        )
        return [tuple(r) for r in rows]


async def test_send_test_arrives_marked_and_changes_no_subscriber(
    sessionmaker: Sessionmaker, settings: Settings, smtp: RecordingSMTP
) -> None:
    digest = await setup_digest(sessionmaker, readers=0)
    async with sessionmaker.begin() as session:
        reader = await make_subscriber(session, topics=["reprisals"])
    before = await snapshot(sessionmaker)
    transport = transport_for(settings.smtp_url, sessionmaker, 10)
    try:
        sent = await send_test(
            sessionmaker,
            digest,
            " Editor@Example.org ",
            reader.email,
            transport=transport,
            who=WHO,
            **render_kwargs(settings),
        )
    finally:
        await transport.close()
    [message] = smtp.to("Editor@example.org")
    assert message["Subject"] == "[Test] Weekly digest: 1 new articles" == sent.subject
    assert message["Message-ID"] == sent.message_id
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["List-Id"] and message["Date"] and message["From"]
    assert [t for t in TITLES if t in body_text(message)] == [TITLES[0]]
    unsubscribe = str(message["List-Unsubscribe"]).strip("<>")
    token = unsubscribe.rsplit("/", 1)[1]
    claim = links_for(settings).signer.check(Purpose.UNSUBSCRIBE, token)
    assert claim.subscriber_id == 0  # a well-formed link that names nobody
    assert await snapshot(sessionmaker) == before
    for model in (Edition, Delivery):
        assert await count(sessionmaker, model) == 0
    assert await actions(sessionmaker) == [("digest.test", digest.slug)]


async def test_send_test_refuses_a_bad_address(
    sessionmaker: Sessionmaker, settings: Settings, smtp: RecordingSMTP
) -> None:
    digest = await setup_digest(sessionmaker, readers=0)
    transport = transport_for(settings.smtp_url, sessionmaker, 10)
    for bad in ("not-an-address", "a@example.org\r\nBcc: all@example.org"):
        with pytest.raises(ValidationError) as e:
            await send_test(
                sessionmaker, digest, bad, None, transport=transport, who=WHO,
                **render_kwargs(settings),
            )  # fmt: skip
        assert "to" in e.value.errors
    await transport.close()
    assert smtp.messages == [] and await actions(sessionmaker) == []


async def control(sessionmaker: Sessionmaker, verb: str, edition_id: int) -> Edition:
    fn = {
        "cancel": editions.cancel_edition,
        "pause": editions.pause_edition,
        "resume": editions.resume_edition,
    }[verb]
    async with sessionmaker.begin() as session:
        return await fn(session, edition_id, who=WHO, now=NOW)


async def test_pause_resume_cancel_follow_the_allowed_transitions(
    sessionmaker: Sessionmaker,
) -> None:
    digest = await setup_digest(sessionmaker)
    edition = await send_now(sessionmaker, digest)
    assert edition.status == EditionStatus.SENDING
    with pytest.raises(EditionStateError, match="only a paused edition can be resumed"):
        await control(sessionmaker, "resume", edition.id)
    assert (await control(sessionmaker, "pause", edition.id)).status == EditionStatus.PAUSED
    with pytest.raises(EditionStateError, match="is paused: only a sending edition"):
        await control(sessionmaker, "pause", edition.id)
    assert (await control(sessionmaker, "resume", edition.id)).status == EditionStatus.SENDING
    cancelled = await control(sessionmaker, "cancel", edition.id)
    assert cancelled.status == EditionStatus.CANCELLED and cancelled.finished_at == NOW
    for verb in ("cancel", "pause", "resume"):
        with pytest.raises(EditionStateError, match="is cancelled"):
            await control(sessionmaker, verb, edition.id)
    with pytest.raises(NotFound):
        await control(sessionmaker, "cancel", 999_999)
    subject = f"edition:{edition.id}"
    assert await actions(sessionmaker) == [
        ("digest.send_now", digest.slug),
        ("edition.pause", subject),
        ("edition.resume", subject),
        ("edition.cancel", subject),
    ]


async def test_a_scheduled_edition_can_be_cancelled_but_not_paused(
    sessionmaker: Sessionmaker,
) -> None:
    await setup_digest(sessionmaker)
    async with sessionmaker.begin() as session:
        [decision] = await create_due_editions(session, datetime(2026, 1, 12, 7, 1, tzinfo=UTC))
    assert decision.edition_id is not None
    with pytest.raises(EditionStateError, match="is scheduled"):
        await control(sessionmaker, "pause", decision.edition_id)
    cancelled = await control(sessionmaker, "cancel", decision.edition_id)
    assert cancelled.status == EditionStatus.CANCELLED
    async with sessionmaker.begin() as session:
        with pytest.raises(LookupError):  # the scheduler will not plan it any more
            await plan_edition(session, decision.edition_id, now=NOW)


async def test_list_editions_counts_every_status_in_one_grouped_query(
    sessionmaker: Sessionmaker, engine: Any
) -> None:
    weekly = await setup_digest(sessionmaker, readers=4, send_when_empty=True)
    other = await setup_digest(sessionmaker, readers=0, slug="other", audience="daily")
    first = await send_now(sessionmaker, weekly, NOW - timedelta(days=2))
    second = await send_now(sessionmaker, weekly, NOW)
    third = await send_now(sessionmaker, other, NOW)
    async with sessionmaker.begin() as session:
        ids = list(
            await session.scalars(
                select(Delivery.id).where(Delivery.edition_id == second.id).order_by(Delivery.id)
            )
        )
        for delivery_id, status in zip(
            ids, (DeliveryStatus.SENT, DeliveryStatus.SENT, DeliveryStatus.FAILED), strict=False
        ):
            await session.execute(
                update(Delivery).where(Delivery.id == delivery_id).values(status=status)
            )
    statements: list[str] = []

    def spy(*args: Any) -> None:
        statements.append(args[2])

    event.listen(engine.sync_engine, "before_cursor_execute", spy)
    try:
        async with sessionmaker() as session:
            found = await editions.list_editions(session)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", spy)
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 2
    by_id = {s.edition.id: s for s in found}
    assert [s.edition.id for s in found][-1] == first.id  # newest first
    assert by_id[second.id].counts == {
        "planned": 4, "pending": 1, "sent": 2, "failed": 1, "skipped": 0,
    }  # fmt: skip
    assert by_id[first.id].counts["planned"] == 4 and by_id[first.id].counts["pending"] == 4
    assert by_id[third.id].digest_slug == "other"
    assert by_id[third.id].counts == dict.fromkeys(
        ("planned", "pending", "sent", "failed", "skipped"), 0
    )
    async with sessionmaker() as session:
        only = await editions.list_editions(session, weekly, limit=1)
    assert [s.edition.id for s in only] == [second.id]
