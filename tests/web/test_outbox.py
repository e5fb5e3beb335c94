"""The development outbox catches mail when no SMTP server is configured."""

from __future__ import annotations

import re
from typing import Any

from alerts.config import Settings
from alerts.web.app import create_app
from tests.support.worker import run_jobs


async def test_outbox_shows_caught_messages_as_the_recipient_sees_them(
    aiohttp_client: Any, make_settings: Any, engine: Any, redis: Any
) -> None:
    settings: Settings = make_settings(smtp_url="")
    client = await aiohttp_client(create_app(settings))
    await client.post("/api/subscriptions", json={"email": "dev@example.org"})
    await run_jobs(settings)
    listing = await (await client.get("/outbox")).text()
    assert "dev@example.org" in listing
    match = re.search(r'href="/outbox/(\d+)"', listing)
    assert match
    page = await client.get(f"/outbox/{match.group(1)}")
    html = await page.text()
    assert "List-Unsubscribe-Post" in html
    assert "/confirm/" in html  # the text part, shown as text
    part = await client.get(f"/outbox/{match.group(1)}/html")
    assert part.content_type == "text/html"
    assert "sandbox" in part.headers["Content-Security-Policy"]
    assert "Confirm my subscription" in await part.text()
    raw = await client.get(f"/outbox/{match.group(1)}/raw")
    assert "multipart/alternative" in await raw.text()
    assert (await client.get("/outbox/999999")).status == 404
    assert (await client.get("/outbox/abc")).status == 404


async def test_outbox_is_not_served_in_production(
    aiohttp_client: Any, make_settings: Any, engine: Any, redis: Any
) -> None:
    client = await aiohttp_client(create_app(make_settings(environment="production")))
    assert (await client.get("/outbox")).status == 404
