"""axe-core on every public page, in light and dark colour schemes: no WCAG 2.1 A/AA violation."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Literal

import pytest
from axe_playwright_python.async_playwright import Axe  # type: ignore[import-untyped]
from playwright.async_api import Page, expect

from alerts.web.keys import LINKS
from tests.browser.conftest import LiveServer, StartServer
from tests.support.worker import run_jobs

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
AXE_OPTIONS: dict[Literal["light", "dark"], dict[str, Any]] = {
    "light": {"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"]},
    # Only colours change in the dark scheme, so only the colour rules run again (faster).
    "dark": {
        "runOnly": {"type": "rule", "values": ["color-contrast", "link-in-text-block"]},
        "resultTypes": ["violations"],
    },
}
ADDRESS = "axe@example.org"


async def sign_up(page: Page, server: LiveServer) -> None:
    """Sign up through the form."""
    await page.goto(server.url + "/")
    await page.get_by_label("Email address").fill(ADDRESS)
    await page.get_by_role("button", name="Subscribe").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Check your inbox")


async def confirm_link(page: Page, server: LiveServer) -> str:
    """Sign up and return the link the confirmation email would carry."""
    await sign_up(page, server)
    return server.app[LINKS].confirm(await server.subscriber(ADDRESS))


async def confirmed(page: Page, server: LiveServer) -> None:
    """Sign up and press "Confirm my subscription": the preference centre is open."""
    await page.goto(await confirm_link(page, server))
    await page.get_by_role("button", name="Confirm my subscription").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Your subscription")


async def signup_page(page: Page, server: LiveServer) -> str:
    await page.goto(server.url + "/")
    return "Stay in the loop!"


async def signup_errors(page: Page, server: LiveServer) -> str:
    await page.goto(server.url + "/")
    await page.get_by_label("Email address").fill("not an address")
    await page.get_by_role("button", name="Subscribe").click()
    await expect(page.get_by_role("heading", name="There is a problem")).to_be_visible()
    return "Stay in the loop!"


async def check_inbox(page: Page, server: LiveServer) -> str:
    await sign_up(page, server)
    return "Check your inbox"


async def confirm_page(page: Page, server: LiveServer) -> str:
    await page.goto(await confirm_link(page, server))
    return "Confirm your subscription"


async def link_problem(page: Page, server: LiveServer) -> str:
    url = await confirm_link(page, server)
    head, token = url.rsplit("/", 1)
    tampered = ("B" if token[0] != "B" else "C") + token[1:]
    await page.goto(f"{head}/{tampered}")
    await expect(page.get_by_role("main")).to_contain_text("This link is not valid.")
    return "This link cannot be used"


async def preferences_saved(page: Page, server: LiveServer) -> str:
    await confirmed(page, server)
    await page.get_by_label("Reprisals", exact=True).check()
    await page.get_by_role("button", name="Save my choices").click()
    await expect(page.locator("p.notice")).to_have_text("Your choices are saved.")
    return "Your subscription"


async def unsubscribe_page(page: Page, server: LiveServer) -> str:
    await confirmed(page, server)
    await page.get_by_role("link", name="Unsubscribe from all emails").click()
    return "Unsubscribe"


async def unsubscribed_page(page: Page, server: LiveServer) -> str:
    await unsubscribe_page(page, server)
    await page.get_by_role("button", name="Unsubscribe").click()
    return "You are unsubscribed"


async def links_revoked(page: Page, server: LiveServer) -> str:
    await confirmed(page, server)
    await page.get_by_role("button", name="Disable every link sent so far").click()
    return "Old links disabled"


async def manage_page(page: Page, server: LiveServer) -> str:
    await page.goto(server.url + "/manage")
    return "Email me a link to manage my subscription"


async def manage_sent(page: Page, server: LiveServer) -> str:
    await page.goto(server.url + "/manage")
    await page.get_by_label("Email address").fill(ADDRESS)
    await page.get_by_role("button", name="Email me a link").click()
    return "Check your inbox"


async def not_found(page: Page, server: LiveServer) -> str:
    response = await page.goto(server.url + "/no-such-page")
    assert response is not None and response.status == 404
    return "Page not found"


async def outbox_list(page: Page, server: LiveServer) -> str:
    await sign_up(page, server)
    await run_jobs(server.settings)
    await page.goto(server.url + "/outbox")
    await expect(page.get_by_role("row")).to_have_count(2)
    return "Outbox"


async def outbox_message(page: Page, server: LiveServer) -> str:
    await outbox_list(page, server)
    await page.get_by_role("link", name="Please confirm your subscription").click()
    await expect(page.frame_locator("iframe.preview").locator("body")).to_contain_text(
        "Confirm my subscription"
    )
    return "Please confirm your subscription"


async def _load_sessions(server: LiveServer) -> None:
    from alerts.db import create_engine, create_sessionmaker
    from alerts.hrc.store import shipped_calendar, sync_sessions

    engine = create_engine(server.settings.db_url)
    try:
        async with create_sessionmaker(engine).begin() as session:
            await sync_sessions(session, shipped_calendar(server.settings.feeds_dir).calendar)
    finally:
        await engine.dispose()


async def sessions_page(page: Page, server: LiveServer) -> str:
    await _load_sessions(server)
    await page.goto(server.url + "/sessions")
    await expect(page.get_by_role("main")).to_contain_text("HRC55")
    return "Human Rights Council sessions"


async def session_page(page: Page, server: LiveServer) -> str:
    await _load_sessions(server)
    await page.goto(server.url + "/sessions/HRC55")
    return "HRC55: 55th regular session of the Human Rights Council"


Visit = Callable[[Page, LiveServer], Awaitable[str]]
PAGES: dict[str, tuple[Visit, dict[str, Any]]] = {
    "signup": (signup_page, {}),
    "signup-errors": (signup_errors, {}),
    "check-inbox": (check_inbox, {}),
    "confirm": (confirm_page, {}),
    "link-problem": (link_problem, {}),
    "preferences-saved": (preferences_saved, {}),
    "unsubscribe": (unsubscribe_page, {}),
    "unsubscribed": (unsubscribed_page, {}),
    "links-revoked": (links_revoked, {}),
    "manage": (manage_page, {}),
    "manage-sent": (manage_sent, {}),
    "404": (not_found, {}),
    "outbox": (outbox_list, {"smtp_url": ""}),
    "outbox-message": (outbox_message, {"smtp_url": ""}),
    "sessions": (sessions_page, {}),
    "session": (session_page, {}),
}


def report(scheme: str, violations: list[dict[str, Any]]) -> str:
    """Describe axe violations so a failing run says what to fix and where."""
    lines = [f"{len(violations)} axe violation(s) in the {scheme} colour scheme:"]
    for v in violations:
        lines.append(f"- {v['id']} ({v['impact']}): {v['help']} <{v['helpUrl']}>")
        for node in v["nodes"]:
            lines.append(f"    at {' '.join(map(str, node['target']))}: {node['html'][:200]}")
            for detail in (node.get("failureSummary") or "").splitlines():
                lines.append(f"      {detail.strip()}")
    return "\n".join(lines)


@pytest.mark.parametrize("name", PAGES)
async def test_page_has_no_wcag_violations(
    name: str, page: Page, start_server: StartServer
) -> None:
    visit, overrides = PAGES[name]
    server = await start_server(**overrides)
    heading = await visit(page, server)
    await expect(page.get_by_role("heading", level=1)).to_have_text(heading)
    # Check what a reader can open too: the sign-up options and every region's countries.
    await page.evaluate("() => document.querySelectorAll('details').forEach(d => d.open = true)")

    axe = Axe()
    failures = []
    for scheme, options in AXE_OPTIONS.items():
        await page.emulate_media(color_scheme=scheme)
        assert await page.evaluate(f"matchMedia('(prefers-color-scheme: {scheme})').matches")
        results = await axe.run(page, options=options)
        if results.violations_count:
            failures.append(report(scheme, results.response["violations"]))
    assert not failures, f"{name} ({page.url}):\n" + "\n".join(failures)
