"""Bad input gets a clear 4xx in HTML or JSON, and nothing is stored."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from alerts.config import Settings
from alerts.db import Sessionmaker
from alerts.models import Subscriber, SubscriberMail
from alerts.web.app import create_app
from tests.support.pages import csrf_from


async def stored(sessionmaker: Sessionmaker) -> tuple[int, int]:
    async with sessionmaker() as session:
        subs = await session.scalar(select(func.count()).select_from(Subscriber))
        mails = await session.scalar(select(func.count()).select_from(SubscriberMail))
    return int(subs or 0), int(mails or 0)


BAD_JSON = [
    ({"email": "not-an-address"}, "email"),
    ({"email": ""}, "email"),
    ({"email": "a@b"}, "email"),
    ({"email": "x" * 250 + "@example.org"}, "email"),
    ({"email": "victim@example.org\r\nBcc: everyone@example.org"}, "email"),
    ({"email": "victim@example.org\nSubject: hi"}, "email"),
    ({"email": "a@example.org", "topics": ["no-such-topic"]}, "topics"),
    ({"email": "a@example.org", "countries": ["XX"]}, "countries"),
    ({"email": "a@example.org", "countries": "FR,DE"}, "countries"),
    ({"email": "a@example.org", "topics": [1, 2]}, "topics"),
    ({"email": "a@example.org", "frequency": "hourly"}, "frequency"),
    ({"email": ["a@example.org"]}, "email"),
]


@pytest.mark.parametrize(("body", "field"), BAD_JSON)
async def test_api_rejects_bad_fields_and_stores_nothing(
    client: TestClient, sessionmaker: Sessionmaker, body: dict[str, Any], field: str
) -> None:
    resp = await client.post("/api/subscriptions", json=body)
    assert resp.status == 400
    data = await resp.json()
    assert field in data["fields"], data
    assert "Traceback" not in await resp.text()
    assert await stored(sessionmaker) == (0, 0)


async def test_api_rejects_wrong_content_type_non_json_and_huge_bodies(
    client: TestClient, sessionmaker: Sessionmaker, settings: Settings
) -> None:
    resp = await client.post("/api/subscriptions", data="email=a@example.org")
    assert resp.status == 415
    assert "application/json" in (await resp.json())["error"]
    resp = await client.post(
        "/api/subscriptions", data="{not json", headers={"Content-Type": "application/json"}
    )
    assert resp.status == 400
    assert (await resp.json())["error"] == "The body is not valid JSON."
    resp = await client.post("/api/subscriptions", json=["a@example.org"])
    assert resp.status == 400
    big = {"email": "a@example.org", "pad": "x" * (settings.max_body_bytes + 10)}
    resp = await client.post("/api/subscriptions", json=big)
    assert resp.status == 413
    assert resp.content_type == "application/json"
    assert await stored(sessionmaker) == (0, 0)


async def test_form_errors_are_shown_on_the_page_with_what_was_typed(
    client: TestClient, sessionmaker: Sessionmaker
) -> None:
    page = await client.get("/")
    token = csrf_from(await page.text())
    resp = await client.post(
        "/subscribe",
        data={"csrf_token": token, "email": "nobody@", "topics": ["reprisals", "bogus"]},
    )
    assert resp.status == 400
    html = await resp.text()
    assert "There is a problem" in html
    assert 'value="nobody@"' in html
    assert "Unknown topic: bogus" in html
    assert 'aria-invalid="true"' in html
    assert await stored(sessionmaker) == (0, 0)


async def test_form_without_csrf_token_is_refused(
    client: TestClient, sessionmaker: Sessionmaker
) -> None:
    resp = await client.post("/subscribe", data={"email": "a@example.org"})
    assert resp.status == 403
    assert "This form has expired" in await resp.text()
    resp = await client.post("/subscribe", data={"email": "a@example.org", "csrf_token": "x"})
    assert resp.status == 403
    assert await stored(sessionmaker) == (0, 0)


async def test_form_posted_as_json_is_refused(client: TestClient) -> None:
    resp = await client.post("/subscribe", json={"email": "a@example.org"})
    assert resp.status == 415
    assert "<h1>" in await resp.text()


async def test_honeypot_discards_bots_silently(
    client: TestClient, sessionmaker: Sessionmaker
) -> None:
    page = await client.get("/")
    resp = await client.post(
        "/subscribe",
        data={
            "csrf_token": csrf_from(await page.text()),
            "email": "bot@example.org",
            "website": "http://spam.example",
        },
        allow_redirects=False,
    )
    assert resp.status == 303
    assert resp.headers["Location"] == "/check-your-inbox"
    assert await stored(sessionmaker) == (0, 0)


async def test_signups_are_rate_limited_per_ip(
    aiohttp_client: Any, make_settings: Any, sessionmaker: Sessionmaker, redis: Any
) -> None:
    client = await aiohttp_client(create_app(make_settings(signup_ip_limit=3)))
    statuses = [
        (await client.post("/api/subscriptions", json={"email": f"n{i}@example.org"})).status
        for i in range(5)
    ]
    assert statuses == [202, 202, 202, 429, 429]
    assert await stored(sessionmaker) == (3, 3)
    page = await client.get("/")
    resp = await client.post(
        "/subscribe", data={"csrf_token": csrf_from(await page.text()), "email": "f@example.org"}
    )
    assert resp.status == 429
    assert "Too many attempts" in await resp.text()


async def test_unknown_pages_and_methods_get_friendly_errors(client: TestClient) -> None:
    resp = await client.get("/no/such/page")
    assert resp.status == 404
    assert "Page not found" in await resp.text()
    resp = await client.put("/subscribe")
    assert resp.status == 405
    resp = await client.get("/api/nothing")
    assert resp.status == 404
    assert (await resp.json())["status"] == 404


async def test_cors_lets_configured_sites_use_the_api(
    aiohttp_client: Any, make_settings: Any, engine: Any, redis: Any
) -> None:
    client = await aiohttp_client(
        create_app(make_settings(cors_origins="https://www.ishr.example"))
    )
    preflight = await client.options(
        "/api/subscriptions",
        headers={
            "Origin": "https://www.ishr.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Content-Type",
        },
    )
    assert preflight.status == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://www.ishr.example"
    resp = await client.post(
        "/api/subscriptions",
        json={"email": "c@example.org"},
        headers={"Origin": "https://www.ishr.example"},
    )
    assert resp.status == 202
    assert resp.headers["Access-Control-Allow-Origin"] == "https://www.ishr.example"
    other = await client.post(
        "/api/subscriptions",
        json={"email": "d@example.org"},
        headers={"Origin": "https://evil.example"},
    )
    assert "Access-Control-Allow-Origin" not in other.headers


async def test_redirects_and_errors_keep_security_headers(client: TestClient) -> None:
    page = await client.get("/")
    resp = await client.post(
        "/subscribe",
        data={"csrf_token": csrf_from(await page.text()), "email": "h@example.org"},
        allow_redirects=False,
    )
    assert resp.status == 303
    assert resp.headers["Referrer-Policy"] == "no-referrer"
    missing = await client.get("/nothing-here")
    assert missing.headers["Referrer-Policy"] == "no-referrer"
    assert missing.headers["X-Frame-Options"] == "DENY"
