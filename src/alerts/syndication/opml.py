"""OPML 2.0 list of every outgoing Atom feed, for readers that import subscriptions."""

from __future__ import annotations

from collections.abc import Iterable
from xml.etree import ElementTree as ET

from alerts.syndication.build import Site
from alerts.syndication.query import FeedIndex, Tag

OPML_DOCS = "http://opml.org/spec2.opml"


def build_opml(site: Site, index: FeedIndex, regions: Iterable[Tag]) -> bytes:
    """Return an OPML 2.0 document listing the Atom feeds of ``index`` and ``regions``."""
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = f"{site.organisation}: feeds"
    ET.SubElement(head, "ownerName").text = site.organisation
    ET.SubElement(head, "docs").text = OPML_DOCS
    body = ET.SubElement(root, "body")
    _feed(body, site, "all", "All articles", "/")
    groups = (
        ("Topics", "topics", index.topics, None),
        ("Countries", "countries", index.countries, None),
        ("Regions", "regions", tuple(regions), None),
        ("Human Rights Council sessions", "sessions", index.sessions, "/sessions/"),
    )
    for text, prefix, tags, html_prefix in groups:
        group = ET.SubElement(body, "outline", text=text)
        for tag in tags:
            html = f"{html_prefix}{tag.term}" if html_prefix else "/"
            label = f"{tag.term}: {tag.label}" if prefix == "sessions" else tag.label
            _feed(group, site, f"{prefix}/{tag.term}", label, html)
    data: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return data


def _feed(parent: ET.Element, site: Site, path: str, text: str, html_path: str) -> None:
    ET.SubElement(
        parent,
        "outline",
        text=text,
        title=text,
        type="rss",
        xmlUrl=site.feed_url(path, "atom"),
        htmlUrl=f"{site.base_url}{html_path}",
    )
