"""A subscriber's whole journey in headless Chromium, and the sign-up form by keyboard alone."""

from __future__ import annotations

import re
from email.message import EmailMessage

import pytest
from playwright.async_api import Page, expect
from sqlalchemy import select

from alerts.models import Country, SubscriberCountry, SubscriberStatus, SubscriberTopic, Topic
from alerts.web.keys import SESSIONMAKER
from tests.browser.conftest import LiveServer
from tests.support.pages import link_to, links_in
from tests.support.smtp import RecordingSMTP
from tests.support.worker import run_jobs

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

TOPICS = ("Reprisals", "Civic space")
NEW_TOPICS = ("Migrants", "Digital rights and technology")


def email_link(server: LiveServer, message: EmailMessage, prefix: str) -> str:
    """Return the absolute link in an email, checking it points at this server."""
    url = server.url + link_to(message, prefix)
    assert url in links_in(message)
    return url


async def choose_country(page: Page, query: str, name: str) -> None:
    """Find a country with the search box, as a person would, and tick it."""
    search = page.get_by_label("Find a country")
    await search.fill("")
    await search.press_sequentially(query)
    await expect(page.locator("#country-filter-status")).to_have_text("1 country matches")
    # Only the match is left on screen.
    await expect(page.locator("#country-list input[type=checkbox]:visible")).to_have_count(1)
    await page.get_by_label(name, exact=True).check()


async def chosen(server: LiveServer, subscriber_id: int) -> tuple[set[str], set[str]]:
    """Return the names of the subscriber's stored topics and countries."""
    async with server.app[SESSIONMAKER]() as session:
        topics = await session.scalars(
            select(Topic.name)
            .join(SubscriberTopic, SubscriberTopic.topic_id == Topic.id)
            .where(SubscriberTopic.subscriber_id == subscriber_id)
        )
        countries = await session.scalars(
            select(Country.name)
            .join(SubscriberCountry, SubscriberCountry.country_code == Country.code)
            .where(SubscriberCountry.subscriber_id == subscriber_id)
        )
        return set(topics), set(countries)


async def expect_ticked(page: Page, ticked: tuple[str, ...], unticked: tuple[str, ...]) -> None:
    for name in ticked:
        await expect(page.get_by_label(name, exact=True)).to_be_checked()
    for name in unticked:
        await expect(page.get_by_label(name, exact=True)).not_to_be_checked()


async def test_sign_up_confirm_choose_and_unsubscribe(
    page: Page, server: LiveServer, smtp: RecordingSMTP
) -> None:
    address = "Journey@Example.org"

    # Sign up with two topics and one country.
    await page.goto(server.url + "/")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Stay in the loop!")
    await page.get_by_label("Email address").press_sequentially(address)
    await page.get_by_text("Choose topics, countries and how often (optional)").click()
    for name in TOPICS:
        await page.get_by_label(name, exact=True).check()
    await choose_country(page, "Ken", "Kenya")
    await page.get_by_role("button", name="Subscribe").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Check your inbox")
    await expect(page.get_by_role("status")).to_contain_text("we have sent you an email")

    # The confirmation email; opening its link changes nothing.
    await run_jobs(server.settings)
    [confirmation] = smtp.to("Journey@example.org")
    assert confirmation["Subject"] == "Please confirm your subscription"
    await page.goto(email_link(server, confirmation, "/confirm/"))
    await expect(page.get_by_role("heading", level=1)).to_have_text("Confirm your subscription")
    await expect(page.get_by_role("main")).to_contain_text("Journey@example.org")
    subscriber = await server.subscriber("journey@example.org")
    assert subscriber.status == SubscriberStatus.PENDING
    assert await chosen(server, subscriber.id) == (set(TOPICS), {"Kenya"})

    # Confirm: the preference centre shows what was chosen at sign-up.
    await page.get_by_role("button", name="Confirm my subscription").click()
    await expect(page).to_have_url(re.compile(r"/preferences/[^/?]+\?welcome=1$"))
    await expect(page.get_by_role("heading", level=1)).to_have_text("Your subscription")
    await expect(page.locator("p.notice")).to_contain_text("your subscription is confirmed")
    await expect(page.get_by_role("main")).to_contain_text("You are subscribed.")
    assert (await server.subscriber("journey@example.org")).status == SubscriberStatus.ACTIVE
    await expect_ticked(page, (*TOPICS, "Kenya"), NEW_TOPICS)
    await expect(page.locator("details.region[data-region=africa] summary")).to_contain_text(
        "(1 chosen)"
    )

    # Change every choice, save, reload.
    for name in TOPICS:
        await page.get_by_label(name, exact=True).uncheck()
    for name in NEW_TOPICS:
        await page.get_by_label(name, exact=True).check()
    await page.get_by_label("Kenya", exact=True).uncheck()
    await choose_country(page, "Brazil", "Brazil")
    await page.get_by_role("button", name="Save my choices").click()
    await expect(page).to_have_url(re.compile(r"\?saved=1$"))
    await expect(page.locator("p.notice")).to_have_text("Your choices are saved.")
    await page.reload()
    await expect_ticked(page, (*NEW_TOPICS, "Brazil"), (*TOPICS, "Kenya"))
    assert await chosen(server, subscriber.id) == (set(NEW_TOPICS), {"Brazil"})

    # The welcome email's unsubscribe link: a page with a button, then the answer.
    await run_jobs(server.settings)
    [welcome] = [m for m in smtp.to("Journey@example.org") if m["Subject"].startswith("Welcome")]
    await page.goto(email_link(server, welcome, "/u/"))
    await expect(page.get_by_role("heading", level=1)).to_have_text("Unsubscribe")
    assert (await server.subscriber("journey@example.org")).status == SubscriberStatus.ACTIVE
    await page.get_by_role("button", name="Unsubscribe").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("You are unsubscribed")
    await expect(page.get_by_role("status")).to_have_text(
        "Journey@example.org will receive no more emails from us."
    )
    assert (await server.subscriber("journey@example.org")).status == SubscriberStatus.UNSUBSCRIBED


async def focused(page: Page) -> str:
    """Describe the focused element: its id, or its tag and text."""
    return str(
        await page.evaluate(
            "() => { const e = document.activeElement;"
            " return e.id || (e.tagName.toLowerCase() + ':' + e.textContent.trim()); }"
        )
    )


async def focus_ring(page: Page) -> str:
    """Return the focused element's computed outline, e.g. "3px solid rgb(255, 191, 71)"."""
    return str(
        await page.evaluate(
            "() => { const s = getComputedStyle(document.activeElement);"
            " return s.outlineStyle === 'none' ? 'none'"
            " : s.outlineWidth + ' ' + s.outlineStyle + ' ' + s.outlineColor; }"
        )
    )


async def tab_to(page: Page, target: str, limit: int = 40) -> int:
    """Press Tab until ``target`` (see ``focused``) has focus; return how many presses.

    Every element reached on the way must show where the focus is (WCAG 2.4.7).
    """
    seen = []
    for presses in range(1, limit + 1):
        await page.keyboard.press("Tab")
        seen.append(await focused(page))
        assert await focus_ring(page) != "none", f"{seen[-1]} has focus but no outline"
        if seen[-1] == target:
            return presses
    raise AssertionError(f"Tab never reached {target!r}; focus went {seen}")


async def test_sign_up_form_with_the_keyboard_only(page: Page, server: LiveServer) -> None:
    await page.goto(server.url + "/")

    # The first Tab shows the skip link; Enter moves focus to the main content.
    await page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    await expect(skip).to_be_focused()
    await expect(skip).to_be_in_viewport()
    assert await focus_ring(page) != "none"
    await page.keyboard.press("Enter")
    await expect(page.locator("main")).to_be_focused()

    # The honeypot is never reached; the email field comes next.
    assert await tab_to(page, "email") == 1
    await page.keyboard.type("keys@example.org")
    assert await tab_to(page, "summary:Choose topics, countries and how often (optional)") == 1
    await page.keyboard.press("Enter")
    await expect(page.locator("details.options")).to_have_attribute("open", "")

    assert await tab_to(page, "topic-human-rights-defenders") == 1
    await page.keyboard.press("Space")
    await tab_to(page, "topic-civic-space")
    await page.keyboard.press("Space")

    await tab_to(page, "country-filter")
    await page.keyboard.type("Kenya")
    # Enter in the search box must not submit the form.
    await page.keyboard.press("Enter")
    await expect(page.locator("#country-filter-status")).to_have_text("1 country matches")
    await tab_to(page, "summary:Africa (0 chosen)")
    assert await tab_to(page, "country-KE") == 1
    await page.keyboard.press("Space")

    # Radios: Tab enters the group on the checked one; arrows move the choice.
    await tab_to(page, "frequency-weekly")
    await page.keyboard.press("ArrowUp")
    assert await focused(page) == "frequency-daily"

    await tab_to(page, "button:Subscribe")
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Check your inbox")

    subscriber = await server.subscriber("keys@example.org")
    assert subscriber.frequency == "daily"
    assert await chosen(server, subscriber.id) == (
        {"Human rights defenders", "Civic space"},
        {"Kenya"},
    )
