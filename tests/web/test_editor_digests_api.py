"""The editor JSON API for digests, editions and the audit log."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from alerts.db import Sessionmaker
from alerts.models import (
    AuditEntry,
    Delivery,
    Digest,
    Edition,
    Editor,
    Subscriber,
    SubscriberStatus,
)
from alerts.timeutil import utcnow
from tests.editors.factories import make_editor, make_token
from tests.support.digests import TWO_ARTICLES, make_subscriber, weekly_digest_with_articles
from tests.support.smtp import RecordingSMTP, body_text

ENDPOINTS = [
    ("GET", "/api/editor/digests"),
    ("POST", "/api/editor/digests"),
    ("GET", "/api/editor/digests/weekly"),
    ("PATCH", "/api/editor/digests/weekly"),
    ("POST", "/api/editor/digests/weekly/pause"),
    ("POST", "/api/editor/digests/weekly/resume"),
    ("GET", "/api/editor/digests/weekly/preview"),
    ("POST", "/api/editor/digests/weekly/test"),
    ("POST", "/api/editor/digests/weekly/send-now"),
    ("GET", "/api/editor/editions"),
    ("GET", "/api/editor/editions/1"),
    ("POST", "/api/editor/editions/1/cancel"),
    ("POST", "/api/editor/editions/1/pause"),
    ("POST", "/api/editor/editions/1/resume"),
    ("GET", "/api/editor/audit"),
]
TITLES = tuple(title for title, _, _ in TWO_ARTICLES)
NEW = {
    "slug": "hrc-weekly",
    "name": "HRC weekly",
    "cron": "0 8 * * 1",
    "timezone": "Europe/Zurich",
    "audience": "weekly",
    "topics": ["reprisals"],
    "countries": ["cn", "SD"],
}


@pytest.fixture
async def editor(sessionmaker: Sessionmaker) -> Editor:
    return await make_editor(sessionmaker, "ed@example.org")


@pytest.fixture
async def auth(sessionmaker: Sessionmaker, editor: Editor) -> dict[str, str]:
    return {"Authorization": f"Bearer {await make_token(sessionmaker, editor)}"}


async def seed(sessionmaker: Sessionmaker, readers: int = 1) -> Digest:
    """A weekly digest whose window holds two articles, and weekly readers."""
    async with sessionmaker.begin() as session:
        digest = await weekly_digest_with_articles(session, utcnow())
        for _ in range(readers):
            await make_subscriber(session)
        return digest


async def audit_log(sessionmaker: Sessionmaker) -> list[AuditEntry]:
    async with sessionmaker() as session:
        return list(await session.scalars(select(AuditEntry).order_by(AuditEntry.id)))


async def count(sessionmaker: Sessionmaker, model: Any) -> int:
    async with sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


def parse(when: str) -> datetime:
    assert when.endswith("Z")
    return datetime.fromisoformat(when)


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
async def test_every_endpoint_needs_a_token(client: TestClient, method: str, path: str) -> None:
    response = await client.request(method, path, json={})
    assert response.status == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert (await response.json())["status"] == 401


async def test_create_show_list_and_change_a_digest(
    client: TestClient, sessionmaker: Sessionmaker, auth: dict[str, str], editor: Editor
) -> None:
    response = await client.post("/api/editor/digests", json=NEW, headers=auth)
    assert response.status == 201, await response.text()
    assert response.headers["Location"] == "/api/editor/digests/hrc-weekly"
    created = await response.json()
    assert created["topics"] == ["reprisals"] and created["countries"] == ["CN", "SD"]
    assert created["status"] == "active" and parse(created["next_run_at"]) > utcnow()
    response = await client.get("/api/editor/digests/hrc-weekly", headers=auth)
    assert await response.json() == created
    response = await client.get("/api/editor/digests", headers=auth)
    assert [d["slug"] for d in (await response.json())["digests"]] == ["hrc-weekly"]
    change = {"name": "HRC weekly briefing", "countries": [], "send_when_empty": True}
    response = await client.patch("/api/editor/digests/hrc-weekly", json=change, headers=auth)
    changed = await response.json()
    assert response.status == 200, changed
    assert (changed["name"], changed["countries"], changed["topics"]) == (
        "HRC weekly briefing",
        [],
        ["reprisals"],
    )
    assert changed["send_when_empty"] is True
    entries = await audit_log(sessionmaker)
    assert [(e.action, e.subject, e.actor, e.editor_id) for e in entries] == [
        ("digest.create", "hrc-weekly", "ed@example.org", editor.id),
        ("digest.update", "hrc-weekly", "ed@example.org", editor.id),
    ]
    assert entries[1].details == {"changes": change}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**NEW, "cron": "every monday"}, "cron"),
        ({**NEW, "slug": "Not A Slug"}, "slug"),
        ({**NEW, "topics": ["no-such-topic"]}, "topics"),
        ({**NEW, "topics": "reprisals"}, "topics"),
        ({**NEW, "grace_hours": "12"}, "grace_hours"),
        ({**NEW, "colour": "red"}, "colour"),
        ({k: v for k, v in NEW.items() if k != "name"}, "name"),
    ],
)
async def test_create_names_each_bad_field(
    client: TestClient,
    sessionmaker: Sessionmaker,
    auth: dict[str, str],
    body: dict[str, Any],
    field: str,
) -> None:
    response = await client.post("/api/editor/digests", json=body, headers=auth)
    assert response.status == 400
    data = await response.json()
    assert field in data["fields"] and data["error"]
    assert await count(sessionmaker, Digest) == 0
    assert await audit_log(sessionmaker) == []


async def test_bodies_must_be_json_objects(client: TestClient, auth: dict[str, str]) -> None:
    url = "/api/editor/digests"
    response = await client.post(url, data="slug=x", headers=auth)
    assert response.status == 415
    assert "application/json" in (await response.json())["error"]
    json_type = {**auth, "Content-Type": "application/json"}
    response = await client.post(url, data="{nope", headers=json_type)
    assert response.status == 400 and "not valid JSON" in (await response.json())["error"]
    response = await client.post(url, data="[1, 2]", headers=json_type)
    assert response.status == 400 and "object" in (await response.json())["error"]


async def test_unknown_things_are_404_json(client: TestClient, auth: dict[str, str]) -> None:
    for method, path in [
        ("GET", "/api/editor/digests/nope"),
        ("PATCH", "/api/editor/digests/nope"),
        ("GET", "/api/editor/digests/99999999999999/preview"),
        ("GET", "/api/editor/editions/12345"),
        ("POST", "/api/editor/editions/99999999999999999999/cancel"),
        ("GET", "/api/editor/editions?digest=nope"),
    ]:
        response = await client.request(method, path, json={"name": "x"}, headers=auth)
        assert response.status == 404, (method, path)
        assert response.content_type == "application/json"
        assert "Traceback" not in await response.text()


async def test_pause_and_resume_a_digest(
    client: TestClient, sessionmaker: Sessionmaker, auth: dict[str, str]
) -> None:
    await seed(sessionmaker)
    response = await client.post("/api/editor/digests/weekly/pause", headers=auth)
    assert response.status == 200 and (await response.json())["status"] == "paused"
    response = await client.post(
        "/api/editor/digests/weekly/resume",
        data="x",
        headers={**auth, "Content-Type": "text/plain"},
    )
    assert response.status == 415
    response = await client.post("/api/editor/digests/weekly/resume", json={}, headers=auth)
    assert response.status == 200 and (await response.json())["status"] == "active"
    actions = [e.action for e in await audit_log(sessionmaker)]
    assert actions == ["digest.pause", "digest.resume"]


async def test_preview_in_each_format(
    client: TestClient, sessionmaker: Sessionmaker, auth: dict[str, str]
) -> None:
    await seed(sessionmaker, readers=0)
    async with sessionmaker.begin() as session:
        reader = await make_subscriber(session, email="cn@example.org", countries=["CN"])
    url = "/api/editor/digests/weekly/preview"
    response = await client.get(url, params={"subscriber": str(reader.id)}, headers=auth)
    data = await response.json()
    assert response.status == 200, data
    assert set(data) == {"subject", "text", "html"}
    assert TITLES[0] in data["text"] and TITLES[1] not in data["text"]
    response = await client.get(url, params={"format": "text"}, headers=auth)
    assert response.content_type == "text/plain"
    text = await response.text()
    assert all(t in text for t in TITLES)
    params = {"format": "html", "subscriber": "cn@example.org"}
    response = await client.get(url, params=params, headers=auth)
    assert response.content_type == "text/html"
    assert "script-src" not in response.headers["Content-Security-Policy"]
    assert TITLES[1] not in await response.text()
    response = await client.get(url, params={"format": "pdf"}, headers=auth)
    assert response.status == 400 and "format" in (await response.json())["fields"]
    response = await client.get(url, params={"subscriber": "who@example.org"}, headers=auth)
    assert response.status == 404
    assert await count(sessionmaker, Edition) == 0


async def test_send_a_test_that_unsubscribes_nobody(
    client: TestClient, sessionmaker: Sessionmaker, auth: dict[str, str], smtp: RecordingSMTP
) -> None:
    await seed(sessionmaker)
    url = "/api/editor/digests/weekly/test"
    response = await client.post(url, json={"to": "me@example.org"}, headers=auth)
    data = await response.json()
    assert response.status == 200, data
    [message] = smtp.to("me@example.org")
    assert message["Subject"].startswith("[Test] ") and data["subject"] == message["Subject"]
    assert all(t in body_text(message) for t in TITLES)
    # The one-click POST a mail client would make: it answers, and unsubscribes no one.
    one_click = str(message["List-Unsubscribe"]).strip("<>").split("127.0.0.1:8080", 1)[1]
    response = await client.post(one_click, data={"List-Unsubscribe": "One-Click"})
    assert response.status == 400 and "not valid" in await response.text()
    async with sessionmaker() as session:
        statuses = set(await session.scalars(select(Subscriber.status)))
    assert statuses == {SubscriberStatus.ACTIVE}
    response = await client.post(url, json={"to": "not an address"}, headers=auth)
    assert response.status == 400 and "to" in (await response.json())["fields"]
    response = await client.post(
        url, json={"to": "me@example.org", "subscriber": 4.5}, headers=auth
    )
    assert response.status == 400 and "subscriber" in (await response.json())["fields"]
    entries = await audit_log(sessionmaker)
    assert [(e.action, e.details["to"]) for e in entries] == [("digest.test", "me@example.org")]


async def test_send_now_then_control_the_edition(
    client: TestClient, sessionmaker: Sessionmaker, auth: dict[str, str], redis: Any
) -> None:
    await seed(sessionmaker, readers=2)
    response = await client.post("/api/editor/digests/weekly/send-now", headers=auth)
    edition = await response.json()
    assert response.status == 201, edition
    assert edition["status"] == "sending" and edition["enqueued"] is True
    assert edition["counts"] == {"planned": 2, "pending": 2, "sent": 0, "failed": 0, "skipped": 0}
    assert parse(edition["due_at"]) == parse(edition["window_end"])
    assert await redis.exists(f"arq:job:edition:{edition['id']}:0")
    assert await count(sessionmaker, Delivery) == 2
    base = f"/api/editor/editions/{edition['id']}"
    response = await client.get("/api/editor/editions", params={"digest": "weekly"}, headers=auth)
    assert [e["id"] for e in (await response.json())["editions"]] == [edition["id"]]
    response = await client.get(base, headers=auth)
    assert (await response.json())["counts"]["planned"] == 2
    response = await client.post(base + "/pause", headers=auth)
    assert (await response.json())["status"] == "paused"
    await redis.flushdb()
    response = await client.post(base + "/resume", headers=auth)
    assert (await response.json())["status"] == "sending"
    assert await redis.exists(f"arq:job:edition:{edition['id']}:0")
    response = await client.post(base + "/cancel", headers=auth)
    assert (await response.json())["status"] == "cancelled"
    response = await client.post(base + "/resume", headers=auth)
    assert response.status == 409 and "cancelled" in (await response.json())["error"]
    response = await client.get("/api/editor/audit", params={"limit": "10"}, headers=auth)
    entries = (await response.json())["entries"]
    assert [e["action"] for e in entries] == [
        "edition.cancel",
        "edition.resume",
        "edition.pause",
        "digest.send_now",
    ]
    assert {e["actor"] for e in entries} == {"ed@example.org"}
    assert parse(entries[0]["at"]).tzinfo == UTC
    response = await client.get("/api/editor/audit", params={"limit": "0"}, headers=auth)
    assert response.status == 400 and "limit" in (await response.json())["fields"]
