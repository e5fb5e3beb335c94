"""Atom, RSS and JSON Feed documents: what feed readers and the specifications require."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import feedparser
import pytest
from lxml import etree

from alerts.syndication.build import (
    COUNTRY_SCHEME,
    EPOCH,
    JSON_FEED_VERSION,
    Site,
    build_atom,
    build_feed,
    build_json,
    build_rss,
    last_updated,
)
from alerts.syndication.query import Entry, Scope, Tag
from tests.syndication.checks import check_atom, check_json_feed

SITE = Site("https://alerts.example.org", "ISHR")
SCOPE = Scope("topics/civic-space", "Civic space", "Articles about Civic space.", topic_id=1)
T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)


def entry(n: int, **changes: object) -> Entry:
    values: dict[str, object] = {
        "id": n,
        "url": f"https://ishr.example.org/news/{n}",
        "title": f"Article {n} & <more>",
        "summary_html": f"<p>Summary <b>{n}</b></p>",
        "published": T0 + timedelta(hours=n),
        "updated": T0 + timedelta(hours=n),
        "session_number": 55,
        "topics": (Tag("civic-space", "Civic space"),),
        "countries": (Tag("CN", "China"), Tag("RU", "Russian Federation")),
    }
    values.update(changes)
    return Entry(**values)  # type: ignore[arg-type]


ENTRIES = [entry(3), entry(2, session_number=None, countries=()), entry(1, url=None)]


def test_atom_parses_and_has_every_required_element() -> None:
    body = build_atom(SITE, SCOPE, ENTRIES)
    check_atom(body)
    parsed = feedparser.parse(body)
    assert not parsed.bozo, parsed.get("bozo_exception")
    feed = parsed.feed
    assert feed.id == "tag:alerts.example.org,2024:feed:topics/civic-space"
    assert feed.title == "ISHR: Civic space"
    assert feed.author == "ISHR"
    links = {link.rel: link.href for link in feed.links}
    assert links["self"] == "https://alerts.example.org/feeds/topics/civic-space.atom"
    assert links["alternate"] == "https://alerts.example.org/"
    assert feed.updated_parsed[:5] == (2024, 3, 1, 12, 0)
    first = parsed.entries[0]
    assert [e.id for e in parsed.entries] == [
        f"tag:alerts.example.org,2024:article:{n}" for n in (3, 2, 1)
    ]
    assert first.title == "Article 3 & <more>"
    assert first.link == "https://ishr.example.org/news/3"
    assert first.summary == "<p>Summary <b>3</b></p>"
    assert first.published_parsed[:4] == (2024, 3, 1, 12)
    cats = {(t.term, t.scheme, t.label) for t in first.tags}
    assert cats == {
        ("civic-space", "https://alerts.example.org/feeds/topics/", "Civic space"),
        ("CN", COUNTRY_SCHEME, "China"),
        ("RU", COUNTRY_SCHEME, "Russian Federation"),
        ("HRC55", "https://alerts.example.org/sessions/", "HRC55"),
    }
    # No URL: the entry carries its content instead, as RFC 4287 4.1.2 asks.
    assert parsed.entries[2].content[0].value == "<p>Summary <b>1</b></p>"


def test_rss_has_channel_basics_and_item_guids() -> None:
    body = build_rss(SITE, SCOPE, ENTRIES)
    parsed = feedparser.parse(body)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "rss20"
    channel = etree.fromstring(body).find("channel")
    assert channel.findtext("title") == "ISHR: Civic space"
    assert channel.findtext("link") == "https://alerts.example.org/"
    assert channel.findtext("description") == "Articles about Civic space."
    items = channel.findall("item")
    assert [i.findtext("guid") for i in items] == [
        f"tag:alerts.example.org,2024:article:{n}" for n in (3, 2, 1)
    ]
    assert all(i.find("guid").get("isPermaLink") == "false" for i in items)
    assert {c.text for c in items[0].findall("category")} >= {"Civic space", "China", "HRC55"}
    links = {link.rel: link.href for link in parsed.feed.links}
    assert links["self"] == "https://alerts.example.org/feeds/topics/civic-space.rss"


def test_json_feed_has_version_title_and_item_ids() -> None:
    feed = json.loads(build_json(SITE, SCOPE, ENTRIES))
    assert feed["version"] == JSON_FEED_VERSION
    assert feed["title"] == "ISHR: Civic space"
    assert feed["feed_url"] == "https://alerts.example.org/feeds/topics/civic-space.json"
    ids = [item["id"] for item in feed["items"]]
    assert ids == [f"tag:alerts.example.org,2024:article:{n}" for n in (3, 2, 1)]
    first = feed["items"][0]
    assert first["url"] == "https://ishr.example.org/news/3"
    assert first["content_html"] == "<p>Summary <b>3</b></p>"
    assert first["tags"] == ["Civic space", "China", "Russian Federation", "HRC55"]
    assert first["_alerts"]["countries"][0] == {"code": "CN", "name": "China"}
    assert datetime.fromisoformat(first["date_published"]) == T0 + timedelta(hours=3)
    assert "url" not in feed["items"][2]
    check_json_feed(feed)


def test_item_without_summary_still_has_content() -> None:
    feed = json.loads(build_json(SITE, SCOPE, [entry(1, summary_html="")]))
    check_json_feed(feed)
    assert feed["items"][0]["content_text"] == "Article 1 & <more>"
    check_atom(build_atom(SITE, SCOPE, [entry(1, summary_html="", url=None)]))


@pytest.mark.parametrize("fmt", ["atom", "rss", "json"])
def test_empty_feed_is_valid_and_dated_at_the_epoch(fmt: str) -> None:
    body = build_feed(fmt, SITE, SCOPE, [])  # type: ignore[arg-type]
    assert last_updated([]) == EPOCH
    if fmt == "json":
        check_json_feed(json.loads(body))
        return
    parsed = feedparser.parse(body)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.entries == []
    if fmt == "atom":
        check_atom(body)
        assert parsed.feed.updated_parsed[:3] == (1970, 1, 1)


@pytest.mark.parametrize("fmt", ["atom", "rss", "json"])
def test_same_entries_give_the_same_bytes(fmt: str) -> None:
    first = build_feed(fmt, SITE, SCOPE, ENTRIES)  # type: ignore[arg-type]
    assert build_feed(fmt, SITE, SCOPE, ENTRIES) == first  # type: ignore[arg-type]


def test_feed_updated_is_the_newest_entry_change() -> None:
    edited = entry(1, updated=T0 + timedelta(days=3))
    assert last_updated([entry(2), edited]) == T0 + timedelta(days=3)
