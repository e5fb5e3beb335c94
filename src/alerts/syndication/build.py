"""Build Atom 1.0 and RSS 2.0 (with feedgen) and JSON Feed 1.1 documents from feed entries."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import urlsplit

from feedgen.feed import FeedGenerator

from alerts.syndication.query import Entry, Scope

Format = Literal["atom", "rss", "json"]

CONTENT_TYPES: dict[str, str] = {
    "atom": "application/atom+xml",
    "rss": "application/rss+xml",
    "json": "application/feed+json",
}
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# The year in tag: URIs (RFC 4151); changing it would change every id readers stored.
TAG_YEAR = 2024
COUNTRY_SCHEME = "https://www.iso.org/iso-3166-country-codes.html"
JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"


@dataclass(frozen=True)
class Site:
    """Say who publishes the feeds and where they live."""

    base_url: str
    organisation: str

    @property
    def host(self) -> str:
        """Return the host name used as the tag: URI authority."""
        return urlsplit(self.base_url).hostname or "localhost"

    def feed_url(self, path: str, fmt: str) -> str:
        """Return the absolute URL of feed ``path`` in format ``fmt``."""
        return f"{self.base_url}/feeds/{path}.{fmt}"

    def tag(self, specific: str) -> str:
        """Return a stable tag: URI for ``specific``."""
        return f"tag:{self.host},{TAG_YEAR}:{specific}"

    @property
    def topic_scheme(self) -> str:
        """Return the category scheme of topics."""
        return f"{self.base_url}/feeds/topics/"

    @property
    def session_scheme(self) -> str:
        """Return the category scheme of HRC sessions."""
        return f"{self.base_url}/sessions/"


def last_updated(entries: Sequence[Entry]) -> datetime:
    """Return when the newest entry changed, or the epoch for an empty feed."""
    return max((e.updated for e in entries), default=EPOCH)


def build_feed(fmt: Format, site: Site, scope: Scope, entries: Sequence[Entry]) -> bytes:
    """Return the feed document of ``scope`` in format ``fmt``."""
    return _BUILDERS[fmt](site, scope, entries)


def _title(site: Site, scope: Scope) -> str:
    return f"{site.organisation}: {scope.title}"


def _categories(site: Site, entry: Entry) -> list[dict[str, str]]:
    cats = [{"term": t.term, "label": t.label, "scheme": site.topic_scheme} for t in entry.topics]
    cats += [{"term": c.term, "label": c.label, "scheme": COUNTRY_SCHEME} for c in entry.countries]
    if entry.session_number is not None:
        code = f"HRC{entry.session_number}"
        cats.append({"term": code, "label": code, "scheme": site.session_scheme})
    return cats


def _generator(site: Site, scope: Scope, entries: Sequence[Entry], fmt: Format) -> FeedGenerator:
    fg = FeedGenerator()
    fg.id(site.tag(f"feed:{scope.path}"))
    fg.title(_title(site, scope))
    fg.subtitle(scope.description)
    fg.author({"name": site.organisation, "uri": site.base_url})
    fg.link(href=site.feed_url(scope.path, fmt), rel="self", type=CONTENT_TYPES[fmt])
    fg.link(href=f"{site.base_url}{scope.html_path}", rel="alternate", type="text/html")
    fg.language("en")
    fg.generator("alerts", uri=site.base_url)
    # Set explicitly: feedgen's default is the build time, which would change every ETag.
    fg.updated(last_updated(entries))
    for entry in entries:
        fe = fg.add_entry(order="append")
        fe.id(site.tag(f"article:{entry.id}"))
        fe.title(entry.title)
        if entry.url:
            fe.link(href=entry.url, rel="alternate")
        if entry.summary_html:
            fe.summary(entry.summary_html, type="html")
        if not entry.url:
            # RFC 4287 4.1.2: an entry without an alternate link needs content.
            fe.content(entry.summary_html or entry.title, type="html")
        fe.published(entry.published)
        fe.updated(entry.updated)
        for category in _categories(site, entry):
            fe.category(category)
    return fg


def build_atom(site: Site, scope: Scope, entries: Sequence[Entry]) -> bytes:
    """Return an Atom 1.0 document."""
    body: bytes = _generator(site, scope, entries, "atom").atom_str(pretty=False)
    return body


def build_rss(site: Site, scope: Scope, entries: Sequence[Entry]) -> bytes:
    """Return an RSS 2.0 document."""
    fg = _generator(site, scope, entries, "rss")
    fg.description(scope.description)
    body: bytes = fg.rss_str(pretty=False)
    return body


def build_json(site: Site, scope: Scope, entries: Sequence[Entry]) -> bytes:
    """Return a JSON Feed 1.1 document."""
    feed: dict[str, Any] = {
        "version": JSON_FEED_VERSION,
        "title": _title(site, scope),
        "home_page_url": f"{site.base_url}{scope.html_path}",
        "feed_url": site.feed_url(scope.path, "json"),
        "description": scope.description,
        "authors": [{"name": site.organisation, "url": site.base_url}],
        "language": "en",
        "items": [_json_item(site, e) for e in entries],
    }
    return json.dumps(feed, ensure_ascii=False, separators=(",", ":")).encode()


def _json_item(site: Site, entry: Entry) -> dict[str, Any]:
    item: dict[str, Any] = {"id": site.tag(f"article:{entry.id}")}
    if entry.url:
        item["url"] = entry.url
    item["title"] = entry.title
    # JSON Feed 1.1 needs content_html or content_text on every item.
    if entry.summary_html:
        item["content_html"] = entry.summary_html
    else:
        item["content_text"] = entry.title
    item["date_published"] = entry.published.isoformat()
    item["date_modified"] = entry.updated.isoformat()
    tags = [t.label for t in (*entry.topics, *entry.countries)]
    if entry.session_number is not None:
        tags.append(f"HRC{entry.session_number}")
    if tags:
        item["tags"] = tags
    item["_alerts"] = {
        "topics": [{"slug": t.term, "name": t.label} for t in entry.topics],
        "countries": [{"code": c.term, "name": c.label} for c in entry.countries],
        "session": None if entry.session_number is None else f"HRC{entry.session_number}",
    }
    return item


_BUILDERS: dict[str, Callable[[Site, Scope, Sequence[Entry]], bytes]] = {
    "atom": build_atom,
    "rss": build_rss,
    "json": build_json,
}
