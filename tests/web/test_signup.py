"""Sign-up through the form and the API, confirmation, and what bad input gets."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from alerts.config import Settings
from alerts.db import Sessionmaker
from alerts.models import MailKind, Subscriber, SubscriberMail, SubscriberStatus, SubscriberTopic
from alerts.web.app import create_app
from tests.support.pages import csrf_from, link_to
from tests.support.smtp import RecordingSMTP, body_text
from tests.support.worker import run_jobs


async def client_for(aiohttp_client: Any, settings: Settings) -> TestClient:
    return await aiohttp_client(create_app(settings))


async def form_signup(client: TestClient, **fields: Any) -> Any:
    page = await client.get("/")
    data = {"csrf_token": csrf_from(await page.text()), **fields}
    return await client.post("/subscribe", data=data, allow_redirects=False)


async def count(sessionmaker: Sessionmaker, model: Any) -> int:
    async with sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_form_signup_sends_confirmation_and_confirm_activates(
    aiohttp_client: Any,
    settings: Settings,
    sessionmaker: Sessionmaker,
    redis: Any,
    smtp: RecordingSMTP,
) -> None:
    client = await client_for(aiohttp_client, settings)
    resp = await form_signup(
        client, email="Defender@Example.ORG", topics=["reprisals"], countries=["CN"]
    )
    assert resp.status == 303
    assert resp.headers["Location"] == "/check-your-inbox"
    inbox = await client.get("/check-your-inbox")
    assert "Check your inbox" in await inbox.text()

    await run_jobs(settings)
    [message] = smtp.to("Defender@example.org")
    assert message["Subject"] == "Please confirm your subscription"
    confirm_path = link_to(message, "/confirm/")

    # Opening the link changes nothing: mail scanners open links.
    page = await client.get(confirm_path)
    assert page.status == 200
    html = await page.text()
    assert "Confirm my subscription" in html
    async with sessionmaker() as session:
        sub = (await session.scalars(select(Subscriber))).one()
        assert sub.status == SubscriberStatus.PENDING
        assert sub.email_key == "defender@example.org"
        assert sub.consent_source == "form:signup"
        assert sub.consent_ip_hash and "127.0.0.1" not in sub.consent_ip_hash

    resp = await client.post(
        confirm_path, data={"csrf_token": csrf_from(html)}, allow_redirects=False
    )
    assert resp.status == 303
    assert resp.headers["Location"].startswith("http://127.0.0.1:8080/preferences/")
    async with sessionmaker() as session:
        sub = (await session.scalars(select(Subscriber))).one()
        assert sub.status == SubscriberStatus.ACTIVE
        assert sub.consent_at is not None

    await run_jobs(settings)
    welcome = [m for m in smtp.to("Defender@example.org") if m["Subject"].startswith("Welcome")]
    assert len(welcome) == 1
    assert "/preferences/" in body_text(welcome[0])


async def test_answer_is_the_same_for_new_and_existing_addresses(
    aiohttp_client: Any,
    settings: Settings,
    sessionmaker: Sessionmaker,
    redis: Any,
    smtp: RecordingSMTP,
) -> None:
    client = await client_for(aiohttp_client, settings)
    first = await form_signup(client, email="same@example.org")
    second = await form_signup(client, email="same@example.org")
    assert (first.status, first.headers["Location"]) == (second.status, second.headers["Location"])
    api1 = await client.post("/api/subscriptions", json={"email": "x@example.org"})
    api2 = await client.post("/api/subscriptions", json={"email": "x@example.org"})
    assert api1.status == api2.status == 202
    assert await api1.json() == await api2.json()
    assert await count(sessionmaker, Subscriber) == 2


async def test_at_most_three_confirmations_per_address_per_day(
    aiohttp_client: Any,
    settings: Settings,
    sessionmaker: Sessionmaker,
    redis: Any,
    smtp: RecordingSMTP,
) -> None:
    client = await client_for(aiohttp_client, settings)
    for _ in range(5):
        resp = await client.post("/api/subscriptions", json={"email": "flood@example.org"})
        assert resp.status == 202
    await run_jobs(settings)
    assert len(smtp.to("flood@example.org")) == 3


async def test_confirmation_job_retried_sends_one_email(
    aiohttp_client: Any,
    settings: Settings,
    sessionmaker: Sessionmaker,
    redis: Any,
    smtp: RecordingSMTP,
) -> None:
    from alerts.jobs import send_subscriber_mail, shutdown, startup

    client = await client_for(aiohttp_client, settings)
    await client.post("/api/subscriptions", json={"email": "once@example.org"})
    async with sessionmaker() as session:
        mail_id = await session.scalar(select(SubscriberMail.id))
    ctx: dict[str, Any] = {"settings": settings}
    await startup(ctx)
    try:
        assert await send_subscriber_mail(ctx, mail_id) == "sent"
        assert await send_subscriber_mail(ctx, mail_id) == "skipped"
    finally:
        await shutdown(ctx)
    await run_jobs(settings)  # the queued job for the same message finds it sent
    assert len(smtp.to("once@example.org")) == 1


async def test_api_signup_stores_choices(
    aiohttp_client: Any,
    settings: Settings,
    sessionmaker: Sessionmaker,
    redis: Any,
) -> None:
    client = await client_for(aiohttp_client, settings)
    resp = await client.post(
        "/api/subscriptions",
        json={
            "email": "api@example.org",
            "topics": ["reprisals", "civic-space"],
            "countries": ["sd", "CN"],
            "frequency": "daily",
        },
    )
    assert resp.status == 202, await resp.text()
    async with sessionmaker() as session:
        sub = (await session.scalars(select(Subscriber))).one()
        assert sub.frequency == "daily"
        assert sub.consent_source == "api"
    assert await count(sessionmaker, SubscriberTopic) == 2


async def test_concurrent_signups_for_one_address_make_one_subscriber(
    aiohttp_client: Any,
    settings: Settings,
    sessionmaker: Sessionmaker,
    redis: Any,
) -> None:
    client = await client_for(aiohttp_client, settings)
    responses = await asyncio.gather(
        *[
            client.post("/api/subscriptions", json={"email": f"{case}@Example.org"})
            for case in ("race", "RACE", "Race", "race", "rAce", "race")
        ]
    )
    assert [r.status for r in responses] == [202] * 6
    assert await count(sessionmaker, Subscriber) == 1
    async with sessionmaker() as session:
        kinds = list(await session.scalars(select(SubscriberMail.kind)))
    assert kinds == [MailKind.CONFIRM] * 3


async def test_new_address_gets_choices_consent_and_one_confirmation_in_one_go(
    aiohttp_client: Any,
    settings: Settings,
    sessionmaker: Sessionmaker,
    redis: Any,
) -> None:
    from alerts.models import SubscriberCountry

    client = await client_for(aiohttp_client, settings)
    resp = await client.post(
        "/api/subscriptions",
        json={"email": "new@example.org", "topics": ["migrants"], "countries": ["SD", "SS"]},
    )
    assert resp.status == 202
    async with sessionmaker() as session:
        sub = (await session.scalars(select(Subscriber))).one()
        topics = list(await session.scalars(select(SubscriberTopic.topic_id)))
        countries = set(await session.scalars(select(SubscriberCountry.country_code)))
        mail = (await session.scalars(select(SubscriberMail))).one()
    assert (sub.status, sub.consent_source) == (SubscriberStatus.PENDING, "api")
    assert sub.consent_ip_hash
    assert len(topics) == 1
    assert countries == {"SD", "SS"}
    assert (mail.kind, mail.status, mail.subscriber_id) == (MailKind.CONFIRM, "queued", sub.id)
    assert [j.args for j in await redis.queued_jobs()] == [(mail.id,)]
