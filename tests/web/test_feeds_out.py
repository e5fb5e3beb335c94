"""Outgoing feeds over HTTP: formats, conditional GET, caching headers, 404s, iCalendar, OPML."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from xml.etree import ElementTree as ET

import feedparser
import icalendar
import pytest
from aiohttp.test_utils import TestClient

from alerts.db import Sessionmaker
from alerts.hrc.calendar import load_calendar
from alerts.hrc.store import sync_sessions
from tests.support.factories import make_article, make_hrc_session
from tests.syndication.checks import check_atom, check_json_feed

BASE = "http://127.0.0.1:8080"
SHIPPED = load_calendar(Path(__file__).resolve().parents[2] / "feeds" / "hrc-sessions.toml")
NEWEST = datetime(2024, 3, 5, 10, 30, tzinfo=UTC)
TYPES = {
    "atom": "application/atom+xml",
    "rss": "application/rss+xml",
    "json": "application/feed+json",
}
FEEDS = [
    "all",
    "topics/civic-space",
    "countries/CN",
    "countries/cn",
    "regions/asia-pacific",
    "topics/civic-space/countries/CN",
    "sessions/HRC55",
]


@pytest.fixture
async def articles(sessionmaker: Sessionmaker) -> dict[str, int]:
    """Two articles in every scope above, the newest published at NEWEST."""
    async with sessionmaker.begin() as session:
        await make_hrc_session(session, 55)
        old = await make_article(
            session,
            title="Reprisals against defenders in China",
            topics=["civic-space", "reprisals"],
            countries=["CN"],
            session_number=55,
            published_at=datetime(2024, 3, 1, 9, 0, tzinfo=UTC),
        )
        new = await make_article(
            session,
            title="HRC55: Key issues on agenda of March 2024 session",
            topics=["civic-space", "un-system"],
            countries=["CN", "KE"],
            session_number=55,
            key_issues=True,
            published_at=NEWEST,
        )
    return {"old": old.id, "new": new.id}


def parse(body: bytes) -> Any:
    parsed = feedparser.parse(body)
    assert not parsed.bozo, parsed.get("bozo_exception")
    return parsed


@pytest.mark.parametrize("path", FEEDS)
async def test_every_scope_in_every_format(
    client: TestClient, articles: dict[str, int], path: str
) -> None:
    for fmt, content_type in TYPES.items():
        resp = await client.get(f"/feeds/{path}.{fmt}")
        assert resp.status == 200, (path, fmt)
        assert resp.content_type == content_type
        assert resp.charset == "utf-8"
        assert resp.headers["Cache-Control"] == "public, max-age=300"
        assert resp.headers["ETag"].startswith('"')
        assert resp.headers["Last-Modified"] == format_datetime(NEWEST, usegmt=True)
        body = await resp.read()
        ids = [f"tag:127.0.0.1,2024:article:{articles[k]}" for k in ("new", "old")]
        canonical = f"{BASE}/feeds/{path.replace('/cn', '/CN')}.{fmt}"
        if fmt == "json":
            feed = json.loads(body)
            check_json_feed(feed)
            assert [item["id"] for item in feed["items"]] == ids
            assert feed["feed_url"] == canonical
            continue
        parsed = parse(body)
        assert [e.id for e in parsed.entries] == ids
        links = {link.rel: link.href for link in parsed.feed.links}
        assert links["self"] == canonical
        if fmt == "atom":
            check_atom(body)
            terms = {t.term for t in parsed.entries[0].tags}
            assert {"civic-space", "un-system", "CN", "KE", "HRC55"} <= terms


async def test_feeds_hold_only_their_articles(
    client: TestClient, sessionmaker: Sessionmaker, articles: dict[str, int]
) -> None:
    async with sessionmaker.begin() as session:
        other = await make_article(
            session,
            topics=["migrants"],
            countries=["FR"],
            published_at=datetime(2024, 3, 6, tzinfo=UTC),
        )
    expected = {
        "/feeds/all.atom": 3,
        "/feeds/topics/migrants.atom": 1,
        "/feeds/topics/reprisals.atom": 1,
        "/feeds/countries/KE.atom": 1,
        "/feeds/regions/europe.atom": 1,
        "/feeds/regions/africa.atom": 1,
        "/feeds/topics/migrants/countries/CN.atom": 0,
        "/feeds/countries/US.atom": 0,
    }
    for url, count in expected.items():
        resp = await client.get(url)
        assert resp.status == 200, url
        assert len(parse(await resp.read()).entries) == count, url
    resp = await client.get("/feeds/all.atom")
    assert parse(await resp.read()).entries[0].id.endswith(f":article:{other.id}")


async def test_empty_feed_is_dated_at_the_epoch(client: TestClient) -> None:
    resp = await client.get("/feeds/all.atom")
    assert resp.status == 200
    assert resp.headers["Last-Modified"] == "Thu, 01 Jan 1970 00:00:00 GMT"
    check_atom(await resp.read())


async def test_conditional_get_answers_304(client: TestClient, articles: dict[str, int]) -> None:
    first = await client.get("/feeds/topics/civic-space.rss")
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    again = await client.get("/feeds/topics/civic-space.rss")
    assert again.headers["ETag"] == etag
    for headers in (
        {"If-None-Match": etag},
        {"If-None-Match": f'"other", {etag}'},
        {"If-None-Match": "*"},
        {"If-Modified-Since": modified},
        {"If-Modified-Since": "Wed, 06 Mar 2024 00:00:00 GMT"},
    ):
        resp = await client.get("/feeds/topics/civic-space.rss", headers=headers)
        assert resp.status == 304, headers
        assert await resp.read() == b""
        assert resp.headers["ETag"] == etag
        assert resp.headers["Cache-Control"] == "public, max-age=300"
    for headers in (
        {"If-None-Match": '"stale"'},
        {"If-Modified-Since": "Mon, 04 Mar 2024 00:00:00 GMT"},
        # If-None-Match decides when both are sent (RFC 9110, 13.2.2).
        {"If-None-Match": '"stale"', "If-Modified-Since": modified},
    ):
        resp = await client.get("/feeds/topics/civic-space.rss", headers=headers)
        assert resp.status == 200, headers


async def test_formats_of_one_feed_have_different_etags(
    client: TestClient, articles: dict[str, int]
) -> None:
    etags = {(await client.get(f"/feeds/all.{fmt}")).headers["ETag"] for fmt in TYPES}
    assert len(etags) == 3


@pytest.mark.parametrize(
    "url",
    [
        "/feeds/topics/no-such-topic.atom",
        "/feeds/countries/XX.rss",
        "/feeds/countries/CHN.json",
        "/feeds/regions/atlantis.atom",
        "/feeds/sessions/HRC99.atom",
        "/feeds/sessions/55.atom",
        "/feeds/topics/no-such-topic/countries/CN.atom",
        "/feeds/topics/civic-space/countries/XX.atom",
        "/feeds/all.xml",
        "/feeds/topics/civic-space.html",
        "/feeds/all",
    ],
)
async def test_unknown_feeds_are_404(client: TestClient, url: str) -> None:
    resp = await client.get(url)
    assert resp.status == 404
    assert resp.headers["Cache-Control"] == "no-store"


async def test_sessions_ics_holds_sessions_and_observances(
    client: TestClient, sessionmaker: Sessionmaker
) -> None:
    async with sessionmaker.begin() as session:
        await sync_sessions(session, SHIPPED)
    resp = await client.get("/sessions.ics")
    assert resp.status == 200
    assert resp.content_type == "text/calendar"
    assert resp.headers["Cache-Control"] == "public, max-age=300"
    body = await resp.read()
    events = {str(e["UID"]): e for e in icalendar.Calendar.from_ical(body).walk("VEVENT")}
    hrc55 = events["hrc55@127.0.0.1"]
    assert hrc55.decoded("DTSTART") == date(2024, 2, 26)
    assert hrc55.decoded("DTEND") == date(2024, 4, 6)  # exclusive end
    assert str(hrc55["URL"]) == f"{BASE}/sessions/HRC55"
    assert "observance-human-rights-day@127.0.0.1" in events
    again = await client.get("/sessions.ics", headers={"If-None-Match": resp.headers["ETag"]})
    assert again.status == 304
    since = await client.get(
        "/sessions.ics", headers={"If-Modified-Since": resp.headers["Last-Modified"]}
    )
    assert since.status == 304


async def test_opml_lists_atom_feeds_with_absolute_urls(
    client: TestClient, articles: dict[str, int]
) -> None:
    resp = await client.get("/feeds.opml")
    assert resp.status == 200
    assert resp.content_type == "text/x-opml"
    root = ET.fromstring(await resp.read())
    urls = [o.get("xmlUrl", "") for o in root.iter("outline") if o.get("xmlUrl")]
    assert all(urlsplit(u).scheme == "http" and urlsplit(u).netloc for u in urls)
    paths = {urlsplit(u).path for u in urls}
    assert {
        "/feeds/all.atom",
        "/feeds/topics/civic-space.atom",
        "/feeds/countries/CN.atom",
        "/feeds/countries/KE.atom",
        "/feeds/regions/europe.atom",
        "/feeds/sessions/HRC55.atom",
    } <= paths
    assert "/feeds/countries/FR.atom" not in paths  # no article about France
    for path in sorted(paths):
        assert (await client.get(path)).status == 200, path
    again = await client.get("/feeds.opml", headers={"If-None-Match": resp.headers["ETag"]})
    assert again.status == 304
