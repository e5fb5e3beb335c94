"""Steps a subscriber takes, for tests that start further along the journey."""

from __future__ import annotations

from email.message import EmailMessage

from aiohttp.test_utils import TestClient

from alerts.config import Settings
from tests.support.pages import csrf_from, link_to
from tests.support.smtp import RecordingSMTP
from tests.support.worker import run_jobs


async def subscribe_and_confirm(
    client: TestClient, settings: Settings, smtp: RecordingSMTP, email: str, **choices: object
) -> EmailMessage:
    """Sign up through the API, confirm from the email, and return the welcome email."""
    resp = await client.post("/api/subscriptions", json={"email": email, **choices})
    assert resp.status == 202
    await run_jobs(settings)
    confirm = [m for m in smtp.to(email) if "confirm" in str(m["Subject"]).lower()][-1]
    path = link_to(confirm, "/confirm/")
    page = await client.get(path)
    resp = await client.post(
        path, data={"csrf_token": csrf_from(await page.text())}, allow_redirects=False
    )
    assert resp.status == 303
    await run_jobs(settings)
    return [m for m in smtp.to(email) if str(m["Subject"]).startswith("Welcome")][-1]
