"""The OPML 2.0 list of outgoing feeds."""

from __future__ import annotations

from urllib.parse import urlsplit
from xml.etree import ElementTree as ET

from alerts.syndication.build import Site
from alerts.syndication.opml import build_opml
from alerts.syndication.query import FeedIndex, Tag

SITE = Site("https://alerts.example.org", "ISHR")
INDEX = FeedIndex(
    topics=(Tag("civic-space", "Civic space"),),
    countries=(Tag("CN", "China"),),
    sessions=(Tag("HRC56", "56th regular session"), Tag("HRC55", "55th regular session")),
)


def test_opml_lists_every_atom_feed_with_absolute_urls() -> None:
    root = ET.fromstring(build_opml(SITE, INDEX, [Tag("africa", "Africa")]))
    assert root.tag == "opml" and root.get("version") == "2.0"
    assert root.findtext("head/title") == "ISHR: feeds"
    feeds = [o for o in root.iter("outline") if o.get("xmlUrl")]
    assert all(o.get("text") for o in root.iter("outline"))
    for outline in feeds:
        assert outline.get("type") == "rss"
        for key in ("xmlUrl", "htmlUrl"):
            parts = urlsplit(outline.get(key, ""))
            assert parts.scheme == "https" and parts.netloc == "alerts.example.org"
    assert [urlsplit(o.get("xmlUrl", "")).path for o in feeds] == [
        "/feeds/all.atom",
        "/feeds/topics/civic-space.atom",
        "/feeds/countries/CN.atom",
        "/feeds/regions/africa.atom",
        "/feeds/sessions/HRC56.atom",
        "/feeds/sessions/HRC55.atom",
    ]
    session = feeds[-1]
    assert session.get("text") == "HRC55: 55th regular session"
    assert session.get("htmlUrl") == "https://alerts.example.org/sessions/HRC55"


def test_opml_groups_have_text_even_when_empty() -> None:
    root = ET.fromstring(build_opml(SITE, FeedIndex((), (), ()), []))
    groups = root.findall("body/outline")
    assert [g.get("text") for g in groups] == [
        "All articles",
        "Topics",
        "Countries",
        "Regions",
        "Human Rights Council sessions",
    ]
