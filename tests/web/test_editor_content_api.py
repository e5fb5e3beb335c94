"""The editor JSON API for feeds, article tags and HRC sessions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pytest_aiohttp import AiohttpServer
from sqlalchemy import select

from alerts.config import PROJECT_ROOT, Settings
from alerts.db import Sessionmaker
from alerts.ingest.retag import retag_automatic
from alerts.models import AuditEntry, Editor, HrcSession, Source
from alerts.taxonomy.tagger import Tagger
from tests.editors.factories import make_editor, make_token
from tests.ingest.feeds import CHINA, HRC55, rss
from tests.support.factories import make_article, make_hrc_session, make_source

ENDPOINTS = [
    ("GET", "/api/editor/feeds"),
    ("POST", "/api/editor/feeds"),
    ("GET", "/api/editor/feeds/1"),
    ("PATCH", "/api/editor/feeds/1"),
    ("POST", "/api/editor/feeds/1/fetch"),
    ("GET", "/api/editor/articles"),
    ("GET", "/api/editor/articles/1"),
    ("PATCH", "/api/editor/articles/1"),
    ("GET", "/api/editor/sessions"),
    ("POST", "/api/editor/sessions"),
    ("GET", "/api/editor/sessions/55"),
    ("PATCH", "/api/editor/sessions/55"),
    ("POST", "/api/editor/sessions/import"),
]
FEED = rss(CHINA, HRC55, ("Colombia: social leaders killed", "https://news.example.org/col"))
ICS = (
    b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Editor//EN\r\n"
    b"BEGIN:VEVENT\r\nUID:abc123@example.org\r\nDTSTAMP:20260110T120000Z\r\n"
    b"SUMMARY:64th session of the Human Rights Council\r\n"
    b"DTSTART;VALUE=DATE:20270222\r\nDTEND;VALUE=DATE:20270402\r\nEND:VEVENT\r\n"
    b"END:VCALENDAR\r\n"
)


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    """Test settings that let editors follow feeds served on 127.0.0.1."""
    return make_settings(feed_allowed_hosts=("127.0.0.1",))


@pytest.fixture
async def editor(sessionmaker: Sessionmaker) -> Editor:
    return await make_editor(sessionmaker, "ed@example.org")


@pytest.fixture
async def auth(sessionmaker: Sessionmaker, editor: Editor) -> dict[str, str]:
    return {"Authorization": f"Bearer {await make_token(sessionmaker, editor)}"}


@pytest.fixture
async def feed_server(aiohttp_server: AiohttpServer) -> TestServer:
    """Serve FEED at /feed.xml on 127.0.0.1, without validators, so every fetch parses."""

    async def feed(request: web.Request) -> web.Response:
        return web.Response(body=FEED, content_type="application/rss+xml")

    app = web.Application()
    app.router.add_get("/feed.xml", feed)
    return await aiohttp_server(app, host="127.0.0.1")


async def audit_log(sessionmaker: Sessionmaker) -> list[tuple[str, str, str, int | None]]:
    async with sessionmaker() as session:
        entries = await session.scalars(select(AuditEntry).order_by(AuditEntry.id))
        return [(e.action, e.subject, e.actor, e.editor_id) for e in entries]


async def ok(response: Any, status: int = 200) -> Any:
    body = await response.json()
    assert response.status == status, body
    return body


async def refused(response: Any, status: int, text: str) -> None:
    body = await response.json()
    assert response.status == status, body
    assert body["status"] == status
    assert text in (body["error"] + repr(body.get("fields", {})))


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
async def test_every_endpoint_needs_a_token(client: TestClient, method: str, path: str) -> None:
    response = await client.request(method, path, json={})
    assert response.status == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert (await response.json())["status"] == 401


async def test_follow_list_and_change_a_feed(
    client: TestClient, sessionmaker: Sessionmaker, auth: dict[str, str], editor: Editor
) -> None:
    new = {"url": "http://127.0.0.1:9/feed.xml", "title": "ISHR", "topics": ["reprisals"]}
    created = await ok(await client.post("/api/editor/feeds", json=new, headers=auth), 201)
    assert (created["url"], created["title"], created["topics"]) == (
        new["url"],
        "ISHR",
        ["reprisals"],
    )
    assert created["active"] is True and created["consecutive_failures"] == 0
    assert created["last_success_at"] is None and created["interval_minutes"] == 60
    listed = await ok(await client.get("/api/editor/feeds", headers=auth))
    assert listed["feeds"] == [created]
    change = {"active": False, "interval_minutes": 30, "topics": [], "title": None}
    path = f"/api/editor/feeds/{created['id']}"
    changed = await ok(await client.patch(path, json=change, headers=auth))
    assert (changed["active"], changed["interval_minutes"], changed["topics"]) == (False, 30, [])
    assert changed["title"] is None
    assert await audit_log(sessionmaker) == [
        ("source.add", f"source:{created['id']}", "ed@example.org", editor.id),
        ("source.update", f"source:{created['id']}", "ed@example.org", editor.id),
    ]


@pytest.mark.parametrize(
    ("body", "text"),
    [
        ({"url": "http://10.1.2.3/feed"}, "private address"),
        ({"url": "http://localhost/feed"}, "loopback"),
        ({"url": "http://169.254.169.254/latest/meta-data"}, "link-local"),
        ({"url": "file:///etc/passwd"}, "file: URLs can only be added from the command line"),
        ({"url": "ftp://127.0.0.1/feed"}, "only http and https"),
        ({"url": 42}, "Give a string."),
        ({"title": "no url"}, "Required."),
        ({"url": "http://127.0.0.1/f", "topics": ["no-such-topic"]}, "Unknown topic"),
        ({"url": "http://127.0.0.1/f", "interval_minutes": 1}, "between 5 minutes and 7 days"),
        ({"url": "http://127.0.0.1/f", "colour": "red"}, "Unknown field."),
    ],
)
async def test_bad_feeds_are_refused_with_a_reason(
    client: TestClient, sessionmaker: Sessionmaker, auth: dict[str, str], body: Any, text: str
) -> None:
    await refused(await client.post("/api/editor/feeds", json=body, headers=auth), 400, text)
    assert await audit_log(sessionmaker) == []


async def test_feed_errors_for_duplicates_content_type_and_unknown_ids(
    client: TestClient, auth: dict[str, str]
) -> None:
    new = {"url": "http://127.0.0.1:9/feed.xml"}
    await ok(await client.post("/api/editor/feeds", json=new, headers=auth), 201)
    await refused(await client.post("/api/editor/feeds", json=new, headers=auth), 409, "Already")
    response = await client.post("/api/editor/feeds", data="url=x", headers=auth)
    await refused(response, 415, "application/json")
    patch = {"active": "no"}
    await refused(await client.patch("/api/editor/feeds/1", json=patch, headers=auth), 400, "true")
    response = await client.patch("/api/editor/feeds/999", json={"active": True}, headers=auth)
    await refused(response, 404, "#999")
    await refused(await client.post("/api/editor/feeds/999/fetch", headers=auth), 404, "#999")


async def test_fetch_now_stores_articles_and_reports_the_outcome(
    client: TestClient, sessionmaker: Sessionmaker, auth: dict[str, str], feed_server: TestServer
) -> None:
    url = str(feed_server.make_url("/feed.xml"))
    created = await ok(await client.post("/api/editor/feeds", json={"url": url}, headers=auth), 201)
    path = f"/api/editor/feeds/{created['id']}/fetch"
    fetched = await ok(await client.post(path, headers=auth))
    assert fetched["outcome"]["status"] == "ok" and fetched["outcome"]["new"] == 3
    assert fetched["feed"]["last_success_at"] is not None
    assert fetched["feed"]["title"] == "Test feed"
    again = await ok(await client.post(path, headers=auth))
    assert (again["outcome"]["new"], again["outcome"]["duplicate"]) == (0, 3)
    actions = [a for a, *_ in await audit_log(sessionmaker)]
    assert actions == ["source.add", "source.fetch", "source.fetch"]


async def test_articles_newest_first_with_filters(
    client: TestClient, sessionmaker: Sessionmaker, auth: dict[str, str]
) -> None:
    async with sessionmaker.begin() as session:
        await make_hrc_session(session, 55)
        source = await make_source(session)
        old = await make_article(session, source=source, topics=["reprisals"], countries=["CN"])
        new = await make_article(session, source=source, countries=["SD"], session_number=55)
    listed = await ok(await client.get("/api/editor/articles", headers=auth))
    assert [a["id"] for a in listed["articles"]] == [new.id, old.id]
    assert listed["articles"][1]["topics"] == ["reprisals"]
    assert listed["articles"][1]["corrected"] is False
    for query, ids in [
        ("topic=reprisals", [old.id]),
        ("country=sd", [new.id]),
        ("session=HRC55", [new.id]),
        ("limit=1", [new.id]),
        ("topic=reprisals&country=SD", []),
    ]:
        found = await ok(await client.get(f"/api/editor/articles?{query}", headers=auth))
        assert [a["id"] for a in found["articles"]] == ids, query
    for query in ("session=fifty", "limit=0"):
        response = await client.get(f"/api/editor/articles?{query}", headers=auth)
        await refused(response, 400, "Give")
    shown = await ok(await client.get(f"/api/editor/articles/{new.id}", headers=auth))
    assert shown == listed["articles"][0]
    await refused(await client.get("/api/editor/articles/999", headers=auth), 404, "#999")


async def test_tag_correction_sticks_across_refetch_and_retag(
    client: TestClient,
    sessionmaker: Sessionmaker,
    auth: dict[str, str],
    editor: Editor,
    feed_server: TestServer,
) -> None:
    async with sessionmaker.begin() as session:
        await make_hrc_session(session, 55)
        await make_hrc_session(session, 56)
    url = str(feed_server.make_url("/feed.xml"))
    created = await ok(await client.post("/api/editor/feeds", json={"url": url}, headers=auth), 201)
    fetch = f"/api/editor/feeds/{created['id']}/fetch"
    await ok(await client.post(fetch, headers=auth))
    listed = await ok(await client.get("/api/editor/articles?session=55", headers=auth))
    (briefing,) = listed["articles"]
    assert briefing["key_issues"] is True and briefing["corrected"] is False
    correction = {"topics": ["un-system"], "countries": ["CH"], "session": 56}
    path = f"/api/editor/articles/{briefing['id']}"
    corrected = await ok(await client.patch(path, json=correction, headers=auth))
    assert (corrected["topics"], corrected["countries"], corrected["session"]) == (
        ["un-system"],
        ["CH"],
        56,
    )
    assert corrected["corrected"] is True and corrected["corrected_by"] == "ed@example.org"
    await ok(await client.post(fetch, headers=auth))
    async with sessionmaker.begin() as session:
        assert await retag_automatic(session, Tagger.from_files(PROJECT_ROOT / "feeds")) == 2
    assert await ok(await client.get(path, headers=auth)) == corrected
    entries = [e for e in await audit_log(sessionmaker) if e[0] == "article.retag"]
    assert entries == [("article.retag", f"article:{briefing['id']}", "ed@example.org", editor.id)]


@pytest.mark.parametrize(
    ("body", "status", "text"),
    [
        ({"topics": ["no-such-topic"]}, 400, "unknown topic"),
        ({"countries": ["XX"]}, 400, "unknown country"),
        ({"session": 99}, 400, "HRC99 is not in the calendar"),
        ({"topics": "reprisals"}, 400, "Give a list of strings."),
        ({}, 400, "Send at least one field"),
    ],
)
async def test_bad_tag_corrections_are_refused(
    client: TestClient,
    sessionmaker: Sessionmaker,
    auth: dict[str, str],
    body: Any,
    status: int,
    text: str,
) -> None:
    async with sessionmaker.begin() as session:
        article = await make_article(session)
    path = f"/api/editor/articles/{article.id}"
    await refused(await client.patch(path, json=body, headers=auth), status, text)
    assert await audit_log(sessionmaker) == []
    missing = await client.patch("/api/editor/articles/999", json={"topics": []}, headers=auth)
    await refused(missing, 404, "#999")


async def test_add_list_and_confirm_a_session(
    client: TestClient, sessionmaker: Sessionmaker, auth: dict[str, str], editor: Editor
) -> None:
    new = {"number": 62, "opens": "2026-06-15", "closes": "2026-07-10"}
    created = await ok(await client.post("/api/editor/sessions", json=new, headers=auth), 201)
    assert created["tentative"] is True and created["code"] == "HRC62"
    assert created["title"] == "62nd regular session of the Human Rights Council"
    listed = await ok(await client.get("/api/editor/sessions", headers=auth))
    assert listed["sessions"] == [created]
    change = {"tentative": False, "closes": "2026-07-08", "source": "HRC programme of work"}
    changed = await ok(await client.patch("/api/editor/sessions/62", json=change, headers=auth))
    assert (changed["tentative"], changed["closes"], changed["source"]) == (
        False,
        "2026-07-08",
        "HRC programme of work",
    )
    assert await ok(await client.get("/api/editor/sessions/62", headers=auth)) == changed
    async with sessionmaker() as session:
        row = await session.get(HrcSession, 62)
        assert row is not None and row.tentative is False
    assert await audit_log(sessionmaker) == [
        ("session.add", "HRC62", "ed@example.org", editor.id),
        ("session.update", "HRC62", "ed@example.org", editor.id),
    ]


@pytest.mark.parametrize(
    ("body", "status", "text"),
    [
        ({"number": 55, "opens": "2024-02-26", "closes": "2024-04-05"}, 409, "already"),
        ({"number": 63, "opens": "2026-10-01", "closes": "2026-09-01"}, 400, "before it opens"),
        ({"number": 63, "opens": "1 June", "closes": "2026-09-01"}, 400, "YYYY-MM-DD"),
        ({"number": 0, "opens": "2026-06-01", "closes": "2026-07-01"}, 400, "1 or more"),
        ({"number": 63, "opens": "2026-06-01"}, 400, "Required."),
    ],
)
async def test_bad_sessions_are_refused(
    client: TestClient,
    sessionmaker: Sessionmaker,
    auth: dict[str, str],
    body: Any,
    status: int,
    text: str,
) -> None:
    async with sessionmaker.begin() as session:
        await make_hrc_session(session, 55)
    await refused(await client.post("/api/editor/sessions", json=body, headers=auth), status, text)
    bad_change = {"closes": "2024-01-01"}
    response = await client.patch("/api/editor/sessions/55", json=bad_change, headers=auth)
    await refused(response, 400, "before it opens")
    response = await client.patch("/api/editor/sessions/99", json={"tentative": True}, headers=auth)
    await refused(response, 404, "HRC99")
    assert await audit_log(sessionmaker) == []


async def test_import_sessions_from_an_ics_body(
    client: TestClient, sessionmaker: Sessionmaker, auth: dict[str, str], editor: Editor
) -> None:
    headers = {**auth, "Content-Type": "text/calendar; charset=utf-8"}
    imported = await ok(await client.post("/api/editor/sessions/import", data=ICS, headers=headers))
    assert imported == {"imported": [64]}
    shown = await ok(await client.get("/api/editor/sessions/64", headers=auth))
    assert (shown["opens"], shown["closes"]) == ("2027-02-22", "2027-04-01")
    assert await audit_log(sessionmaker) == [("session.import", "ics", "ed@example.org", editor.id)]
    response = await client.post("/api/editor/sessions/import", json={"x": 1}, headers=auth)
    await refused(response, 415, "text/calendar")
    response = await client.post("/api/editor/sessions/import", data=b"hello", headers=headers)
    await refused(response, 400, "iCalendar")
    assert len(await audit_log(sessionmaker)) == 1


async def test_editor_cannot_fetch_a_file_source_added_as_api(
    client: TestClient, sessionmaker: Sessionmaker, auth: dict[str, str]
) -> None:
    async with sessionmaker.begin() as session:
        source = Source(url="file:///etc/hostname", origin="api")
        session.add(source)
    fetched = await ok(await client.post(f"/api/editor/feeds/{source.id}/fetch", headers=auth))
    assert fetched["outcome"]["status"] == "error"
    assert "command-line" in fetched["outcome"]["error"]
