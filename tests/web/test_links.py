"""Pages behind signed links: preferences, unsubscribe (RFC 8058), fresh links, revocation."""

from __future__ import annotations

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from alerts.config import Settings
from alerts.db import Sessionmaker
from alerts.models import Subscriber, SubscriberStatus
from alerts.tokens import Purpose, signer_for
from tests.support.journeys import subscribe_and_confirm
from tests.support.pages import csrf_from, link_to
from tests.support.smtp import RecordingSMTP
from tests.support.worker import run_jobs


async def status_of(sessionmaker: Sessionmaker, email: str) -> SubscriberStatus:
    async with sessionmaker() as session:
        sub = await session.scalar(select(Subscriber).where(Subscriber.email_key == email.lower()))
        assert sub is not None
        return sub.status


async def test_welcome_email_has_headers_and_links(
    client: TestClient, settings: Settings, smtp: RecordingSMTP
) -> None:
    welcome = await subscribe_and_confirm(client, settings, smtp, "w@example.org")
    unsubscribe = link_to(welcome, "/u/")
    assert welcome["List-Unsubscribe"] == f"<http://127.0.0.1:8080{unsubscribe}>"
    assert welcome["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert welcome["List-Id"]
    assert welcome["Message-ID"].startswith("<mail-welcome.")
    assert welcome["Date"]
    parts = [p.get_content_type() for p in welcome.iter_parts()]
    assert parts == ["text/plain", "text/html"]  # RFC 2046: text first, HTML last
    html = welcome.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
    assert unsubscribe.split("/u/")[1] in html
    assert "<img" not in html  # no tracking pixel


async def test_one_click_unsubscribe_needs_no_cookie_and_does_not_redirect(
    client: TestClient, settings: Settings, smtp: RecordingSMTP, sessionmaker: Sessionmaker
) -> None:
    welcome = await subscribe_and_confirm(client, settings, smtp, "oc@example.org")
    path = link_to(welcome, "/u/")
    client.session.cookie_jar.clear()
    resp = await client.post(
        path,
        data="List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        allow_redirects=False,
    )
    assert resp.status == 200
    assert "Location" not in resp.headers
    assert await status_of(sessionmaker, "oc@example.org") == SubscriberStatus.UNSUBSCRIBED
    again = await client.post(
        path,
        data="List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert again.status == 200


async def test_opening_the_unsubscribe_link_changes_nothing_until_the_button(
    client: TestClient, settings: Settings, smtp: RecordingSMTP, sessionmaker: Sessionmaker
) -> None:
    welcome = await subscribe_and_confirm(client, settings, smtp, "gb@example.org")
    path = link_to(welcome, "/u/")
    page = await client.get(path)
    assert page.status == 200
    assert "Stop all emails to" in await page.text()
    assert await status_of(sessionmaker, "gb@example.org") == SubscriberStatus.ACTIVE
    resp = await client.post(path, data={"List-Unsubscribe": "One-Click"})
    assert "You are unsubscribed" in await resp.text()
    assert await status_of(sessionmaker, "gb@example.org") == SubscriberStatus.UNSUBSCRIBED


async def test_resubscribing_after_unsubscribe_needs_a_new_confirmation(
    client: TestClient, settings: Settings, smtp: RecordingSMTP, sessionmaker: Sessionmaker
) -> None:
    welcome = await subscribe_and_confirm(client, settings, smtp, "back@example.org")
    await client.post(link_to(welcome, "/u/"), data={"List-Unsubscribe": "One-Click"})
    assert await status_of(sessionmaker, "back@example.org") == SubscriberStatus.UNSUBSCRIBED
    await subscribe_and_confirm(client, settings, smtp, "back@example.org")
    assert await status_of(sessionmaker, "back@example.org") == SubscriberStatus.ACTIVE
    confirms = [m for m in smtp.to("back@example.org") if "confirm" in m["Subject"]]
    assert len(confirms) == 2


async def test_preferences_are_saved_and_shown_again(
    client: TestClient, settings: Settings, smtp: RecordingSMTP
) -> None:
    welcome = await subscribe_and_confirm(
        client, settings, smtp, "p@example.org", topics=["reprisals"]
    )
    path = link_to(welcome, "/preferences/")
    page = await client.get(path)
    html = await page.text()
    assert 'value="reprisals" id="topic-reprisals" checked' in html
    resp = await client.post(
        path,
        data={
            "csrf_token": csrf_from(html),
            "topics": ["civic-space", "migrants"],
            "countries": ["SD"],
            "frequency": "daily",
        },
        allow_redirects=False,
    )
    assert resp.status == 303
    html = await (await client.get(resp.headers["Location"])).text()
    assert "Your choices are saved" in html
    assert 'id="topic-civic-space" checked' in html
    assert 'id="topic-migrants" checked' in html
    assert 'id="topic-reprisals" checked' not in html
    assert 'id="country-SD" checked' in html
    assert 'id="frequency-daily" checked' in html
    bad = await client.post(path, data={"csrf_token": csrf_from(html), "countries": ["ZZ"]})
    assert bad.status == 400
    assert "Unknown country: ZZ" in await bad.text()


async def test_bad_links_get_a_friendly_page_offering_a_fresh_link(
    client: TestClient, settings: Settings, smtp: RecordingSMTP
) -> None:
    welcome = await subscribe_and_confirm(client, settings, smtp, "t@example.org")
    manage = link_to(welcome, "/preferences/")
    token = manage.rsplit("/", 1)[1]
    cases = [
        f"/preferences/{token[:-3]}abc",  # tampered
        f"/u/{token}",  # right signature, wrong purpose
        f"/confirm/{token}",
        "/preferences/garbage",
    ]
    for path in cases:
        resp = await client.get(path)
        assert resp.status == 400, path
        html = await resp.text()
        assert "This link cannot be used" in html
        assert 'href="/manage"' in html
        assert "Traceback" not in html


async def test_expired_links_are_refused(
    client: TestClient, settings: Settings, smtp: RecordingSMTP, sessionmaker: Sessionmaker
) -> None:
    import time_machine

    await subscribe_and_confirm(client, settings, smtp, "old@example.org")
    async with sessionmaker() as session:
        sub = (await session.scalars(select(Subscriber))).one()
    signer = signer_for(settings.secret, settings.confirm_token_days, settings.link_token_days)
    with time_machine.travel("2026-01-01 00:00 +0000"):
        confirm = signer.issue(Purpose.CONFIRM, sub.id, sub.token_version)
        manage = signer.issue(Purpose.MANAGE, sub.id, sub.token_version)
    with time_machine.travel("2026-01-09 00:00 +0000"):
        assert (await client.get(f"/confirm/{confirm}")).status == 410
        assert (await client.get(f"/preferences/{manage}")).status == 200
    with time_machine.travel("2026-04-02 00:00 +0000"):
        resp = await client.get(f"/preferences/{manage}")
        assert resp.status == 410
        assert "This link has expired" in await resp.text()


async def test_revoking_links_disables_old_ones_and_sends_a_new_one(
    client: TestClient, settings: Settings, smtp: RecordingSMTP
) -> None:
    welcome = await subscribe_and_confirm(client, settings, smtp, "rv@example.org")
    old_manage = link_to(welcome, "/preferences/")
    old_unsub = link_to(welcome, "/u/")
    page = await client.get(old_manage)
    resp = await client.post(
        f"{old_manage}/revoke", data={"csrf_token": csrf_from(await page.text())}
    )
    assert "Old links disabled" in await resp.text()
    assert (await client.get(old_manage)).status == 410
    assert (await client.get(old_unsub)).status == 410
    await run_jobs(settings)
    fresh = [m for m in smtp.to("rv@example.org") if "manage" in m["Subject"]][-1]
    assert (await client.get(link_to(fresh, "/preferences/"))).status == 200


async def test_manage_link_request_answers_the_same_for_any_address(
    client: TestClient, settings: Settings, smtp: RecordingSMTP
) -> None:
    await subscribe_and_confirm(client, settings, smtp, "known@example.org")
    answers = []
    for email in ("known@example.org", "unknown@example.org"):
        page = await client.get("/manage")
        resp = await client.post(
            "/manage",
            data={"csrf_token": csrf_from(await page.text()), "email": email},
            allow_redirects=False,
        )
        answers.append((resp.status, resp.headers["Location"]))
    assert answers[0] == answers[1] == (303, "/manage/sent")
    await run_jobs(settings)
    assert [m["Subject"] for m in smtp.to("known@example.org")][-1].endswith(
        "manage your subscription"
    )
    assert smtp.to("unknown@example.org") == []


async def test_signing_up_again_when_active_sends_a_manage_link(
    client: TestClient, settings: Settings, smtp: RecordingSMTP, sessionmaker: Sessionmaker
) -> None:
    await subscribe_and_confirm(client, settings, smtp, "act@example.org", topics=["reprisals"])
    resp = await client.post(
        "/api/subscriptions", json={"email": "act@example.org", "topics": ["migrants"]}
    )
    assert resp.status == 202
    await run_jobs(settings)
    last = smtp.to("act@example.org")[-1]
    assert last["Subject"] == "You are already subscribed"
    assert link_to(last, "/preferences/")
    assert await status_of(sessionmaker, "act@example.org") == SubscriberStatus.ACTIVE
