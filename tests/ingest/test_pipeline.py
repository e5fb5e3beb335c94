"""The pipeline against a real database and real feeds served on 127.0.0.1."""

from __future__ import annotations

import asyncio
import hashlib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from pytest_aiohttp import AiohttpServer
from sqlalchemy import func, select, update

from alerts.db import Sessionmaker
from alerts.ingest.fetch import Fetcher
from alerts.ingest.pipeline import GONE, fetch_due, fetch_source, fetch_sources
from alerts.ingest.retag import retag_article, retag_automatic
from alerts.models import (
    Article,
    ArticleCountry,
    ArticleTopic,
    HrcSession,
    Source,
    SourceTopic,
    Topic,
)
from alerts.taxonomy.tagger import Tagger
from alerts.timeutil import utcnow
from tests.ingest.feeds import CHINA, HRC55, rss

MB = 1024 * 1024
GOOD = rss(CHINA, HRC55, ("Colombia: social leaders killed", "https://news.example.org/colombia"))


@dataclass
class Site:
    """Feeds the test server serves, and what it saw."""

    feeds: dict[str, bytes] = field(default_factory=dict)
    seen: list[tuple[str, str | None]] = field(default_factory=list)


SITE = web.AppKey("site", Site)


async def serve_feed(request: web.Request) -> web.StreamResponse:
    site = request.app[SITE]
    name = request.match_info["name"]
    site.seen.append((name, request.headers.get("If-None-Match")))
    routes = {
        "gone": lambda: web.Response(status=410),
        "broken": lambda: web.Response(status=500),
        "moved": lambda: web.Response(status=301, headers={"Location": "/feed/good"}),
    }
    if name in routes:
        return routes[name]()
    if name == "huge":
        return web.Response(body=b"garbage!" * (20 * MB // 8), content_type="application/xml")
    body = site.feeds[name]
    etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
    if request.headers.get("If-None-Match") == etag:
        return web.Response(status=304, headers={"ETag": etag})
    return web.Response(body=body, content_type="application/rss+xml", headers={"ETag": etag})


@pytest.fixture(autouse=True)
async def only_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    """Safety net: nothing here may connect beyond 127.0.0.1."""
    loop = asyncio.get_running_loop()
    connect = loop.sock_connect

    async def guarded(sock: socket.socket, address: Any) -> None:
        if address[0] not in ("127.0.0.1", "::1"):
            raise ConnectionRefusedError(f"test refused to connect to {address[0]}")
        await connect(sock, address)

    monkeypatch.setattr(loop, "sock_connect", guarded)


@pytest.fixture
async def server(aiohttp_server: AiohttpServer) -> TestServer:
    app = web.Application()
    app[SITE] = Site(feeds={"good": GOOD})
    app.router.add_get("/feed/{name}", serve_feed)
    return await aiohttp_server(app, host="127.0.0.1")


@pytest.fixture
async def fetcher() -> AsyncIterator[Fetcher]:
    async with Fetcher(user_agent="test", allowed_hosts={"127.0.0.1"}, max_bytes=5 * MB) as f:
        yield f


@pytest.fixture(scope="module")
def tagger() -> Tagger:
    from alerts.config import PROJECT_ROOT

    return Tagger.from_files(PROJECT_ROOT / "feeds")


def site(server: TestServer) -> Site:
    return server.app[SITE]


def url(server: TestServer, name: str) -> str:
    return str(server.make_url(f"/feed/{name}"))


async def add_source(sessionmaker: Sessionmaker, feed_url: str, **values: Any) -> int:
    async with sessionmaker.begin() as session:
        source = Source(url=feed_url, **values)
        session.add(source)
        await session.flush()
        return source.id


async def add_session(sessionmaker: Sessionmaker, number: int) -> None:
    async with sessionmaker.begin() as session:
        session.add(
            HrcSession(
                number=number,
                title=f"{number}th session",
                opens=date(2024, 2, 26),
                closes=date(2024, 4, 5),
                location="Geneva",
            )
        )


async def source_row(sessionmaker: Sessionmaker, source_id: int) -> Source:
    async with sessionmaker() as session:
        row = await session.get(Source, source_id)
        assert row is not None
        return row


async def count(sessionmaker: Sessionmaker, model: Any) -> int:
    async with sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def tags_of(sessionmaker: Sessionmaker, title: str) -> tuple[Article, set[str], set[str]]:
    async with sessionmaker() as session:
        article = (await session.scalars(select(Article).where(Article.title == title))).one()
        topics = set(
            await session.scalars(
                select(Topic.slug)
                .join(ArticleTopic, ArticleTopic.topic_id == Topic.id)
                .where(ArticleTopic.article_id == article.id)
            )
        )
        countries = set(
            await session.scalars(
                select(ArticleCountry.country_code).where(ArticleCountry.article_id == article.id)
            )
        )
        return article, topics, countries


async def test_first_fetch_stores_tagged_articles_then_304_stores_nothing(
    sessionmaker: Sessionmaker, server: TestServer, fetcher: Fetcher, tagger: Tagger
) -> None:
    await add_session(sessionmaker, 55)
    source_id = await add_source(sessionmaker, url(server, "good"))
    async with sessionmaker.begin() as session:
        civic = await session.scalar(select(Topic.id).where(Topic.slug == "civic-space"))
        session.add(SourceTopic(source_id=source_id, topic_id=civic))

    first = await fetch_source(sessionmaker, source_id, fetcher=fetcher, tagger=tagger)
    assert (first.status, first.new, first.duplicate) == ("ok", 3, 0)
    assert len(first.new_ids) == 3
    article, topics, countries = await tags_of(sessionmaker, CHINA[0])
    assert countries == {"CN"}
    assert {"reprisals", "human-rights-defenders", "civic-space"} <= topics
    assert article.session_number is None and not article.key_issues
    article, topics, _ = await tags_of(sessionmaker, HRC55[0])
    assert article.session_number == 55 and article.key_issues
    assert {"un-system", "civic-space"} <= topics
    row = await source_row(sessionmaker, source_id)
    assert row.etag and row.last_success_at and row.consecutive_failures == 0
    assert row.next_fetch_at is not None and row.next_fetch_at > utcnow() + timedelta(minutes=50)

    second = await fetch_source(sessionmaker, source_id, fetcher=fetcher, tagger=tagger)
    assert (second.status, second.new) == ("not_modified", 0)
    assert site(server).seen[-1] == ("good", row.etag)
    assert await count(sessionmaker, Article) == 3
    again = await source_row(sessionmaker, source_id)
    assert again.last_fetched_at is not None and row.last_fetched_at is not None
    assert again.last_fetched_at > row.last_fetched_at


async def test_unknown_session_is_left_empty(
    sessionmaker: Sessionmaker, server: TestServer, fetcher: Fetcher, tagger: Tagger
) -> None:
    source_id = await add_source(sessionmaker, url(server, "good"))
    await fetch_source(sessionmaker, source_id, fetcher=fetcher, tagger=tagger)
    article, _, _ = await tags_of(sessionmaker, HRC55[0])
    assert article.session_number is None and not article.key_issues


async def test_same_article_through_two_sources_is_stored_once(
    sessionmaker: Sessionmaker, server: TestServer, fetcher: Fetcher, tagger: Tagger
) -> None:
    site(server).feeds["other"] = rss(
        ("China: reprisals again", "HTTPS://News.Example.org/china-reprisals/?utm_source=x#top"),
        ("Only here", "https://news.example.org/only-here"),
    )
    one = await add_source(sessionmaker, url(server, "good"))
    two = await add_source(sessionmaker, url(server, "other"))
    outcomes = await fetch_sources(sessionmaker, [one, two], fetcher=fetcher, tagger=tagger)
    assert sum(o.new for o in outcomes) == 4
    assert sum(o.duplicate for o in outcomes) == 1
    assert await count(sessionmaker, Article) == 4


async def test_entry_without_guid_or_link_is_deduplicated_by_content(
    sessionmaker: Sessionmaker, server: TestServer, fetcher: Fetcher, tagger: Tagger
) -> None:
    bare = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Bare</title>
    <item><description>Statement on Sudan by civil society.</description></item>
    </channel></rss>"""
    site(server).feeds["bare"] = bare
    site(server).feeds["bare2"] = bare
    one = await add_source(sessionmaker, url(server, "bare"))
    two = await add_source(sessionmaker, url(server, "bare2"))
    first = await fetch_source(sessionmaker, one, fetcher=fetcher, tagger=tagger)
    second = await fetch_source(sessionmaker, two, fetcher=fetcher, tagger=tagger)
    assert (first.new, second.new, second.duplicate) == (1, 0, 1)


async def test_editor_corrections_survive_refetch_and_automatic_retag(
    sessionmaker: Sessionmaker, server: TestServer, fetcher: Fetcher, tagger: Tagger
) -> None:
    source_id = await add_source(sessionmaker, url(server, "good"))
    await fetch_source(sessionmaker, source_id, fetcher=fetcher, tagger=tagger)
    article, _, _ = await tags_of(sessionmaker, CHINA[0])
    async with sessionmaker.begin() as session:
        await retag_article(
            session,
            article.id,
            topics=["digital-rights"],
            countries=["hk"],
            editor="editor@example.org",
            now=utcnow(),
        )
    async with sessionmaker.begin() as session:
        await session.execute(update(Source).values(etag=None))
    again = await fetch_source(sessionmaker, source_id, fetcher=fetcher, tagger=tagger)
    assert (again.status, again.new, again.duplicate) == ("ok", 0, 3)
    async with sessionmaker.begin() as session:
        assert await retag_automatic(session, tagger) == 2
    article, topics, countries = await tags_of(sessionmaker, CHINA[0])
    assert (topics, countries) == ({"digital-rights"}, {"HK"})
    assert article.tags_edited_by == "editor@example.org"


async def test_gone_deactivates_and_failures_back_off_while_others_fetch(
    sessionmaker: Sessionmaker, server: TestServer, fetcher: Fetcher, tagger: Tagger
) -> None:
    gone = await add_source(sessionmaker, url(server, "gone"))
    broken = await add_source(sessionmaker, url(server, "broken"), consecutive_failures=2)
    good = await add_source(sessionmaker, url(server, "good"))
    outcomes = await fetch_sources(
        sessionmaker, [gone, broken, good], fetcher=fetcher, tagger=tagger
    )
    assert [o.status for o in outcomes] == ["gone", "error", "ok"]
    row = await source_row(sessionmaker, gone)
    assert (row.active, row.last_error, row.next_fetch_at) == (False, GONE, None)
    row = await source_row(sessionmaker, broken)
    assert row.consecutive_failures == 3
    assert row.last_error == "HTTP 500 Internal Server Error"
    assert row.next_fetch_at is not None
    assert row.next_fetch_at > utcnow() + timedelta(hours=7)
    assert await count(sessionmaker, Article) == 3


async def test_ill_formed_but_readable_feed_is_stored_with_its_problem(
    sessionmaker: Sessionmaker, server: TestServer, fetcher: Fetcher, tagger: Tagger
) -> None:
    site(server).feeds["sloppy"] = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>A & B</title>'
        b"<item><title>Sudan: lawyers & doctors detained</title>"
        b"<link>https://news.example.org/sudan</link></item></channel></rss>"
    )
    source_id = await add_source(sessionmaker, url(server, "sloppy"))
    outcome = await fetch_source(sessionmaker, source_id, fetcher=fetcher, tagger=tagger)
    assert (outcome.status, outcome.new) == ("ok", 1)
    row = await source_row(sessionmaker, source_id)
    assert row.last_problem is not None and row.last_problem.startswith("Ill-formed XML")
    assert row.last_error is None


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"hello, this is not XML at all", "Not a feed"),
        (
            b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa">'
            b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><rss><channel>&b;</channel></rss>',
            "declares XML entities",
        ),
        (None, "Feed too large"),
    ],
)
async def test_hostile_documents_store_nothing_and_record_the_error(
    sessionmaker: Sessionmaker,
    server: TestServer,
    fetcher: Fetcher,
    tagger: Tagger,
    body: bytes | None,
    error: str,
) -> None:
    if body is not None:
        site(server).feeds["hostile"] = body
    source_id = await add_source(sessionmaker, url(server, "hostile" if body else "huge"))
    outcome = await fetch_source(sessionmaker, source_id, fetcher=fetcher, tagger=tagger)
    assert outcome.status == "error"
    assert outcome.error is not None and error in outcome.error
    assert await count(sessionmaker, Article) == 0
    row = await source_row(sessionmaker, source_id)
    assert row.last_error == outcome.error and row.consecutive_failures == 1
    assert row.etag is None and row.last_success_at is None


async def test_permanent_redirect_updates_the_url_or_deactivates_a_duplicate(
    sessionmaker: Sessionmaker, server: TestServer, fetcher: Fetcher, tagger: Tagger
) -> None:
    moved = await add_source(sessionmaker, url(server, "moved"))
    outcome = await fetch_source(sessionmaker, moved, fetcher=fetcher, tagger=tagger)
    assert (outcome.status, outcome.new) == ("ok", 3)
    assert (await source_row(sessionmaker, moved)).url == url(server, "good")

    duplicate = await add_source(sessionmaker, url(server, "moved"))
    outcome = await fetch_source(sessionmaker, duplicate, fetcher=fetcher, tagger=tagger)
    assert outcome.status == "moved"
    row = await source_row(sessionmaker, duplicate)
    assert not row.active
    assert row.last_error is not None and f"source #{moved} already follows" in row.last_error


async def test_fetch_due_takes_due_sources_only_in_bounded_batches(
    sessionmaker: Sessionmaker, server: TestServer, fetcher: Fetcher, tagger: Tagger
) -> None:
    later = utcnow() + timedelta(hours=1)
    await add_source(sessionmaker, url(server, "good") + "?later", next_fetch_at=later)
    await add_source(sessionmaker, url(server, "good") + "?off", active=False)
    due = [await add_source(sessionmaker, url(server, "good") + f"?n={n}") for n in range(3)]
    first = await fetch_due(sessionmaker, fetcher=fetcher, tagger=tagger, limit=2)
    second = await fetch_due(sessionmaker, fetcher=fetcher, tagger=tagger, limit=2)
    third = await fetch_due(sessionmaker, fetcher=fetcher, tagger=tagger, limit=2)
    assert [o.source_id for o in first + second] == due
    assert third == []


async def test_file_source_added_outside_the_cli_is_refused_at_fetch(
    sessionmaker: Sessionmaker, fetcher: Fetcher, tagger: Tagger, tmp_path: Any
) -> None:
    path = tmp_path / "feed.xml"
    path.write_bytes(GOOD)
    api = await add_source(sessionmaker, path.as_uri(), origin="api")
    cli = await add_source(sessionmaker, path.as_uri() + "#cli", origin="cli")
    refused = await fetch_source(sessionmaker, api, fetcher=fetcher, tagger=tagger)
    assert refused.status == "error" and "command-line" in (refused.error or "")
    read = await fetch_source(sessionmaker, cli, fetcher=fetcher, tagger=tagger)
    assert (read.status, read.new) == ("ok", 3)


async def test_unchanged_sources_are_recorded_together_and_recover(
    sessionmaker: Sessionmaker, server: TestServer, fetcher: Fetcher, tagger: Tagger
) -> None:
    ids = [await add_source(sessionmaker, url(server, "good") + f"?n={n}") for n in range(3)]
    await fetch_sources(sessionmaker, ids, fetcher=fetcher, tagger=tagger)
    async with sessionmaker.begin() as session:
        await session.execute(
            update(Source).values(
                consecutive_failures=2, last_error="HTTP 500 Internal Server Error"
            )
        )
    before = {i: await source_row(sessionmaker, i) for i in ids}
    outcomes = await fetch_sources(sessionmaker, ids, fetcher=fetcher, tagger=tagger)
    assert [(o.source_id, o.status) for o in outcomes] == [(i, "not_modified") for i in ids]
    for i in ids:
        row, old = await source_row(sessionmaker, i), before[i]
        assert (row.consecutive_failures, row.last_error, row.etag) == (0, None, old.etag)
        assert row.last_fetched_at is not None and old.last_fetched_at is not None
        assert row.last_success_at is not None and row.last_fetched_at > old.last_fetched_at
        assert row.next_fetch_at is not None
        assert row.next_fetch_at > utcnow() + timedelta(minutes=50)
