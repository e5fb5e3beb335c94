"""The mail job: retries transient failures, records permanent ones, recovers lost jobs."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from arq import Retry
from sqlalchemy import select

from alerts.config import Settings
from alerts.db import Sessionmaker
from alerts.jobs import (
    MAIL_RETRY_SCHEDULE,
    requeue_stale_mail,
    send_subscriber_mail,
    shutdown,
    startup,
)
from alerts.models import MailKind, MailStatus, Subscriber, SubscriberMail
from alerts.queue import SEND_MAIL
from alerts.timeutil import utcnow
from tests.support.smtp import RecordingSMTP


async def queued_mail(sessionmaker: Sessionmaker, email: str = "j@example.org") -> int:
    async with sessionmaker.begin() as session:
        sub = Subscriber(email=email, email_key=email, created_at=utcnow(), updated_at=utcnow())
        session.add(sub)
        await session.flush()
        mail = SubscriberMail(subscriber_id=sub.id, kind=MailKind.CONFIRM, created_at=utcnow())
        session.add(mail)
        await session.flush()
        return mail.id


async def mail_row(sessionmaker: Sessionmaker, mail_id: int) -> SubscriberMail:
    async with sessionmaker() as session:
        row = await session.get(SubscriberMail, mail_id)
        assert row is not None
        return row


@pytest.fixture
async def ctx(settings: Settings, engine: Any, redis: Any) -> Any:
    context: dict[str, Any] = {"settings": settings, "redis": redis, "job_try": 1}
    await startup(context)
    yield context
    await shutdown(context)


async def test_transient_failure_is_retried_on_schedule_then_sent(
    ctx: dict[str, Any], sessionmaker: Sessionmaker, smtp: RecordingSMTP
) -> None:
    mail_id = await queued_mail(sessionmaker)
    smtp.fail_with("451 4.3.0 try again later")
    with pytest.raises(Retry) as raised:
        await send_subscriber_mail(ctx, mail_id)
    assert raised.value.defer_score == MAIL_RETRY_SCHEDULE[0] * 1000
    assert (await mail_row(sessionmaker, mail_id)).status == MailStatus.QUEUED
    smtp.fail_with(None)
    ctx["job_try"] = 2
    assert await send_subscriber_mail(ctx, mail_id) == "sent"
    row = await mail_row(sessionmaker, mail_id)
    assert row.status == MailStatus.SENT
    assert row.attempts == 2
    assert len(smtp.messages) == 1


async def test_permanent_failure_is_recorded_with_the_server_answer(
    ctx: dict[str, Any], sessionmaker: Sessionmaker, smtp: RecordingSMTP
) -> None:
    mail_id = await queued_mail(sessionmaker)
    smtp.fail_with("550 5.1.1 no such user")
    assert await send_subscriber_mail(ctx, mail_id) == "failed"
    row = await mail_row(sessionmaker, mail_id)
    assert row.status == MailStatus.FAILED
    assert "550" in (row.smtp_response or "")


async def test_gives_up_after_the_last_retry(
    ctx: dict[str, Any], sessionmaker: Sessionmaker, smtp: RecordingSMTP
) -> None:
    mail_id = await queued_mail(sessionmaker)
    smtp.fail_with("421 4.7.0 busy")
    ctx["job_try"] = len(MAIL_RETRY_SCHEDULE) + 1
    assert await send_subscriber_mail(ctx, mail_id) == "failed"
    assert "gave up" in ((await mail_row(sessionmaker, mail_id)).smtp_response or "")


async def test_unreachable_smtp_server_is_transient(
    make_settings: Any, engine: Any, redis: Any, sessionmaker: Sessionmaker
) -> None:
    from alerts.embedded_redis import free_port

    context: dict[str, Any] = {
        "settings": make_settings(smtp_url=f"smtp://127.0.0.1:{free_port()}"),
        "job_try": 1,
    }
    await startup(context)
    try:
        mail_id = await queued_mail(sessionmaker)
        with pytest.raises(Retry):
            await send_subscriber_mail(context, mail_id)
    finally:
        await shutdown(context)


async def test_lost_jobs_are_requeued_once(
    ctx: dict[str, Any], sessionmaker: Sessionmaker, redis: Any
) -> None:
    mail_id = await queued_mail(sessionmaker)
    async with sessionmaker.begin() as session:
        row = await session.get(SubscriberMail, mail_id)
        assert row is not None
        row.created_at = utcnow() - timedelta(minutes=10)
    fresh = await queued_mail(sessionmaker, "fresh@example.org")
    assert await requeue_stale_mail(ctx) == 1
    assert await requeue_stale_mail(ctx) == 1
    jobs = await redis.queued_jobs()
    assert [(j.function, j.args) for j in jobs] == [(SEND_MAIL, (mail_id,))]
    assert fresh != mail_id


async def test_messages_no_longer_wanted_are_cancelled(
    ctx: dict[str, Any], sessionmaker: Sessionmaker, smtp: RecordingSMTP
) -> None:
    mail_id = await queued_mail(sessionmaker)
    async with sessionmaker.begin() as session:
        sub = (await session.scalars(select(Subscriber))).one()
        sub.status = "active"  # type: ignore[assignment]
    assert await send_subscriber_mail(ctx, mail_id) == "cancelled"
    assert smtp.messages == []
