"""Checks of what RFC 4287 and JSON Feed 1.1 require, shared by the feed tests."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from lxml import etree

ATOM = "{http://www.w3.org/2005/Atom}"
JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"


def check_atom(body: bytes) -> None:
    """Check every element RFC 4287 requires of a feed and of its entries."""
    root = etree.fromstring(body)
    assert root.tag == f"{ATOM}feed"
    for name in ("id", "title", "updated"):
        assert len(root.findall(f"{ATOM}{name}")) == 1, name
    datetime.fromisoformat(root.findtext(f"{ATOM}updated"))
    assert root.findtext(f"{ATOM}author/{ATOM}name")
    assert len(root.findall(f"{ATOM}link[@rel='self']")) == 1
    ids = []
    for item in root.findall(f"{ATOM}entry"):
        for name in ("id", "title", "updated"):
            assert len(item.findall(f"{ATOM}{name}")) == 1, name
        ids.append(item.findtext(f"{ATOM}id"))
        alternate = [
            link
            for link in item.findall(f"{ATOM}link")
            if link.get("rel", "alternate") == "alternate"
        ]
        assert alternate or item.find(f"{ATOM}content") is not None
        datetime.fromisoformat(item.findtext(f"{ATOM}updated"))
    assert len(ids) == len(set(ids)), "entry ids must be unique"


def _absolute(url: Any) -> None:
    assert isinstance(url, str)
    parts = urlsplit(url)
    assert parts.scheme in ("http", "https") and parts.netloc, url


def check_json_feed(feed: dict[str, Any]) -> None:
    """Check what JSON Feed 1.1 requires, and the types of the fields we use."""
    assert feed["version"] == JSON_FEED_VERSION
    assert isinstance(feed["title"], str) and feed["title"]
    for key in ("home_page_url", "feed_url"):
        _absolute(feed[key])
    assert all(isinstance(a["name"], str) for a in feed["authors"])
    assert isinstance(feed["items"], list)
    for item in feed["items"]:
        assert isinstance(item["id"], str) and item["id"]
        assert isinstance(item.get("content_html") or item.get("content_text"), str)
        if "url" in item:
            _absolute(item["url"])
        for key in ("date_published", "date_modified"):
            assert datetime.fromisoformat(item[key]).tzinfo is not None
        assert all(isinstance(t, str) for t in item.get("tags", []))
        assert all(k.startswith("_") for k in item if k not in _ITEM_KEYS)


_ITEM_KEYS = {
    "id", "url", "external_url", "title", "content_html", "content_text", "summary", "image",
    "banner_image", "date_published", "date_modified", "authors", "tags", "language",
    "attachments",
}  # fmt: skip
