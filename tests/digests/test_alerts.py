"""Immediate alerts: one email per fetch that brings matching articles, never one per article."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy import select

from alerts.db import Sessionmaker
from alerts.ingest.sources import add_source
from alerts.jobs import fetch_due_sources, shutdown, startup
from alerts.models import Edition, Frequency
from tests.ingest.feeds import CHINA, HRC55, rss
from tests.support.digests import make_subscriber
from tests.support.smtp import RecordingSMTP, body_text
from tests.support.worker import run_jobs

SUDAN = ("Sudan: women defenders detained in Khartoum", "https://news.example.org/sudan-whrd")


async def test_a_fetch_with_new_articles_sends_one_alert_to_each_matching_reader(
    aiohttp_server: Any,
    make_settings: Any,
    sessionmaker: Sessionmaker,
    redis: Any,
    smtp: RecordingSMTP,
) -> None:
    items = [CHINA, SUDAN]

    async def feed(request: web.Request) -> web.Response:
        return web.Response(body=rss(*items), content_type="application/rss+xml")

    app = web.Application()
    app.router.add_get("/feed.xml", feed)
    server = await aiohttp_server(app)
    settings = make_settings(feed_allowed_hosts="127.0.0.1")
    async with sessionmaker.begin() as session:
        await add_source(
            session,
            str(server.make_url("/feed.xml")),
            origin="api",
            allowed_hosts={"127.0.0.1"},
            default_interval=60,
        )
        await make_subscriber(session, email="both@example.org", frequency=Frequency.IMMEDIATE)
        await make_subscriber(
            session, email="china@example.org", frequency=Frequency.IMMEDIATE, countries=["CN"]
        )
        await make_subscriber(
            session, email="fiji@example.org", frequency=Frequency.IMMEDIATE, countries=["FJ"]
        )
        await make_subscriber(session, email="weekly@example.org", frequency=Frequency.WEEKLY)
        from alerts.digests.manage import sync_shipped
        from alerts.timeutil import utcnow

        await sync_shipped(session, settings.feeds_dir / "digests.toml", now=utcnow())

    ctx: dict[str, Any] = {"settings": settings, "redis": redis}
    await startup(ctx)
    try:
        counts = await fetch_due_sources(ctx)
        assert counts["new"] == 2
        await run_jobs(settings)
        [both] = smtp.to("both@example.org")
        assert both["Subject"] == "2 new articles on the topics you follow"
        assert CHINA[0] in body_text(both) and SUDAN[0] in body_text(both)
        [china] = smtp.to("china@example.org")
        assert china["Subject"] == "1 new article on the topics you follow"
        assert SUDAN[0] not in body_text(china)
        assert smtp.to("fiji@example.org") == []
        assert smtp.to("weekly@example.org") == []

        # The next fetch brings one more article: one more alert, holding only that one.
        items.append(HRC55)
        async with sessionmaker.begin() as session:
            from sqlalchemy import update

            from alerts.models import Source

            await session.execute(update(Source).values(next_fetch_at=None, etag=None))
        assert (await fetch_due_sources(ctx))["new"] == 1
        await run_jobs(settings)
        alerts = smtp.to("both@example.org")
        assert len(alerts) == 2
        assert HRC55[0] in body_text(alerts[1]) and CHINA[0] not in body_text(alerts[1])
        assert len(smtp.to("china@example.org")) == 1  # HRC55 names no country they chose
    finally:
        await shutdown(ctx)
    async with sessionmaker() as session:
        assert len(list(await session.scalars(select(Edition)))) == 2
