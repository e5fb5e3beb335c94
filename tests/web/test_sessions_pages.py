"""The public HRC sessions pages: countdowns on a fixed clock, briefings, feeds, accessibility."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from pathlib import Path

import lxml.html
import pytest
from aiohttp.test_utils import TestClient

from alerts.db import Sessionmaker
from alerts.hrc.calendar import load_calendar
from alerts.hrc.store import sync_sessions
from alerts.web.views import sessions as views
from tests.support.factories import make_article

SHIPPED = load_calendar(Path(__file__).resolve().parents[2] / "feeds" / "hrc-sessions.toml")
# 23:30 UTC on 9 March 2024 is already 10 March in Geneva: day 14 of HRC55.
NOW = datetime(2024, 3, 9, 23, 30, tzinfo=UTC)
BRIEFING_URL = "https://ishr.example.org/hrc55-key-issues"


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(views, "clock", lambda: NOW)


@pytest.fixture
async def calendar(sessionmaker: Sessionmaker) -> None:
    async with sessionmaker.begin() as session:
        await sync_sessions(session, SHIPPED)
        await make_article(
            session,
            title="HRC55: Key issues on agenda of March 2024 session",
            url=BRIEFING_URL,
            session_number=55,
            key_issues=True,
            published_at=datetime(2024, 2, 20, 8, 0, tzinfo=UTC),
        )
        await make_article(
            session,
            title="Joint statement on reprisals at HRC55",
            url="https://ishr.example.org/hrc55-reprisals",
            session_number=55,
            published_at=datetime(2024, 3, 4, 8, 0, tzinfo=UTC),
        )


def check_accessible_structure(html: str) -> lxml.html.HtmlElement:
    """Check what WCAG 2.1 AA asks of page structure that markup alone can show."""
    doc = lxml.html.fromstring(html)
    assert doc.get("lang") == "en"
    assert doc.findtext("head/title").strip()
    assert len(doc.findall(".//main")) == 1
    assert doc.findall(".//header") and doc.findall(".//nav[@aria-label]")
    levels = [int(h.tag[1]) for h in doc.iter("h1", "h2", "h3", "h4", "h5", "h6")]
    assert levels.count(1) == 1 and levels[0] == 1
    assert all(b - a <= 1 for a, b in itertools.pairwise(levels)), levels
    for link in doc.iter("a"):
        assert link.text_content().strip() or link.get("aria-label"), lxml.html.tostring(link)
    for table in doc.iter("table"):
        assert table.findtext("caption").strip()
        assert all(th.get("scope") in ("col", "row") for th in table.iter("th"))
    for section in doc.iter("section"):
        labelled = section.get("aria-labelledby")
        assert labelled and doc.get_element_by_id(labelled) is not None
    ids = [el.get("id") for el in doc.iter() if el.get("id")]
    assert len(ids) == len(set(ids)), "duplicate ids"
    return doc


def alternates(doc: lxml.html.HtmlElement) -> dict[str, str]:
    return {
        link.get("type"): link.get("href")
        for link in doc.iter("link")
        if link.get("rel") == "alternate"
    }


async def test_sessions_page_groups_sessions_with_countdowns(
    client: TestClient, calendar: None
) -> None:
    resp = await client.get("/sessions")
    assert resp.status == 200
    assert resp.headers["Cache-Control"] == "no-store"
    html = await resp.text()
    doc = check_accessible_structure(html)
    assert doc.findtext(".//h1") == "Human Rights Council sessions"
    assert "HRC55 is under way: day 14 of 40, closes 5 April" in html
    assert "HRC56 opens in 100 days" in html
    assert "HRC54 closed on 13 October 2023" in html
    assert "International Day for the Elimination of Racial Discrimination is in 11 days" in html
    assert "HRC61" in html and "HRC52" in html
    ongoing = doc.get_element_by_id("ongoing-title").getparent()
    assert ongoing.xpath(f".//a[@href='{BRIEFING_URL}']")
    assert "HRC56" not in ongoing.text_content()
    past_rows = doc.xpath("//table//tbody/tr/th/a")
    assert [a.text for a in past_rows][:2] == ["HRC54", "HRC53"]
    assert alternates(doc)["text/calendar"] == "/sessions.ics"
    assert doc.xpath("//nav//a[@href='/sessions']")


async def test_sessions_page_without_sessions_says_so(client: TestClient) -> None:
    html = await (await client.get("/sessions")).text()
    check_accessible_structure(html)
    assert "No upcoming session is in the calendar yet." in html
    assert "No past session is in the calendar." in html


async def test_session_page_shows_dates_countdown_briefing_and_articles(
    client: TestClient, calendar: None
) -> None:
    resp = await client.get("/sessions/HRC55")
    assert resp.status == 200
    html = await resp.text()
    doc = check_accessible_structure(html)
    assert doc.findtext(".//h1") == "HRC55: 55th regular session of the Human Rights Council"
    assert "HRC55 is under way: day 14 of 40, closes 5 April" in html
    assert doc.xpath("//time[@datetime='2024-02-26']")[0].text == "26 February 2024"
    assert doc.xpath("//time[@datetime='2024-04-05']")[0].text == "5 April 2024"
    briefing = doc.get_element_by_id("key-issues-title").getparent()
    [link] = briefing.xpath(".//a")
    assert link.get("href") == BRIEFING_URL
    assert link.text == "HRC55: Key issues on agenda of March 2024 session"
    articles = doc.xpath("//ul[@class='articles']/li/a")
    assert [a.text for a in articles] == [
        "Joint statement on reprisals at HRC55",
        "HRC55: Key issues on agenda of March 2024 session",
    ]
    assert alternates(doc) == {
        "application/atom+xml": "/feeds/sessions/HRC55.atom",
        "application/rss+xml": "/feeds/sessions/HRC55.rss",
        "application/feed+json": "/feeds/sessions/HRC55.json",
    }
    for href in alternates(doc).values():
        assert (await client.get(href)).status == 200


async def test_session_page_shows_the_actual_closing_day(
    client: TestClient, calendar: None
) -> None:
    html = await (await client.get("/sessions/HRC59")).text()
    doc = check_accessible_structure(html)
    facts = {dt.text: dt.getnext().text_content().strip() for dt in doc.iter("dt")}
    assert facts["Planned to close"] == "9 July 2025"
    assert facts["Actually closed"] == "8 July 2025"
    assert "HRC59 opens in 463 days" in html
    assert "No key issues briefing for HRC59 yet." in html
    assert "No article is linked to HRC59 yet." in html


@pytest.mark.parametrize("code", ["hrc55", "Hrc55", "HRC055"])
async def test_non_canonical_codes_redirect(client: TestClient, calendar: None, code: str) -> None:
    resp = await client.get(f"/sessions/{code}", allow_redirects=False)
    assert resp.status == 301
    assert resp.headers["Location"] == "/sessions/HRC55"


@pytest.mark.parametrize("path", ["/sessions/HRC99", "/sessions/hrc99", "/sessions/summer"])
async def test_unknown_sessions_are_a_404_page(
    client: TestClient, calendar: None, path: str
) -> None:
    resp = await client.get(path)
    assert resp.status == 404
    assert "Page not found" in await resp.text()


async def test_signup_page_advertises_the_feed_of_all_articles(client: TestClient) -> None:
    doc = lxml.html.fromstring(await (await client.get("/")).text())
    assert alternates(doc) == {
        "application/atom+xml": "/feeds/all.atom",
        "application/rss+xml": "/feeds/all.rss",
        "application/feed+json": "/feeds/all.json",
    }
