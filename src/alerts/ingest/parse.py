"""Parse RSS and Atom documents into clean, sanitised entries, or refuse them whole."""

from __future__ import annotations

import asyncio
import calendar
import hashlib
import html
import io
import logging
import unicodedata
import xml.sax
from collections.abc import Mapping
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser

from alerts.ingest import FeedParseError
from alerts.ingest.sanitize import html_to_text, sanitize_html

log = logging.getLogger(__name__)

MAX_TITLE = 500
MAX_GUID = 1000
MAX_CATEGORIES = 50
MAX_CATEGORY = 200
# Expat messages when the document stops early: the last entry may be cut in half.
_TRUNCATION_MESSAGES = frozenset({"no element found", "unclosed token", "unclosed CDATA section"})
# Entity declarations can only blow up (billion laughs) or reach out (external entities);
# real feeds do not need them, so refuse the document, in any encoding feedparser reads.
_ENTITY_MARKERS = tuple(
    "<!ENTITY".encode(codec)
    for codec in ("utf-8", "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be", "cp037")
)


@dataclass(frozen=True)
class ParsedEntry:
    """One article of a feed, with plain-text title and sanitised HTML."""

    guid: str
    link: str | None
    title: str
    summary_html: str
    content_html: str | None
    published: datetime
    categories: tuple[str, ...]
    content_hash: str


@dataclass(frozen=True)
class ParsedFeed:
    """A readable feed; ``problem`` says what was wrong when it was read anyway."""

    title: str | None
    link: str | None
    entries: tuple[ParsedEntry, ...]
    problem: str | None


def parse_feed(
    body: bytes,
    *,
    base_url: str,
    fetched_at: datetime,
    response_headers: Mapping[str, str] | None = None,
) -> ParsedFeed:
    """Parse a feed document (blocking: run it in an executor); raise FeedParseError if none."""
    if fetched_at.tzinfo is None:
        raise ValueError("fetched_at must be timezone-aware")
    if not body.strip():
        raise FeedParseError("Not a feed: the document is empty")
    if any(marker in body for marker in _ENTITY_MARKERS):
        raise FeedParseError("Refused: the document declares XML entities (<!ENTITY>)")
    headers = {k.lower(): v for k, v in (response_headers or {}).items()}
    headers["content-location"] = base_url
    data = _feedparser(body, headers)
    problem = _problem(data, has_content_type="content-type" in headers)
    if not data.get("version") and not data.entries and _is_utf8(body):
        # A wrong declared encoding (say utf-16 on a utf-8 file) can garble every byte.
        retry = _feedparser(body, headers | {"content-type": "application/xml; charset=utf-8"})
        if retry.get("version"):
            data, problem = retry, "Wrong encoding declared: the document was read as utf-8"
    raw_entries = list(data.entries)
    if not data.get("version") and not raw_entries:
        raise FeedParseError(_not_a_feed(body, problem))
    ill_formed = isinstance(data.get("bozo_exception"), xml.sax.SAXParseException)
    truncated = ill_formed and data.bozo_exception.getMessage() in _TRUNCATION_MESSAGES
    if truncated and raw_entries:
        raw_entries.pop()
        problem = f"{problem}; the last entry was dropped as it may be incomplete"
    entries = [e for e in (_entry(raw, base_url, fetched_at) for raw in raw_entries) if e]
    if len(entries) < len(raw_entries):
        skipped = len(raw_entries) - len(entries)
        note = f"skipped {skipped} entr{'y' if skipped == 1 else 'ies'} with no title or text"
        problem = f"{problem}; {note}" if problem else note.capitalize()
    if ill_formed and not entries:
        raise FeedParseError(f"No readable entries: {problem}")
    feed = data.feed
    return ParsedFeed(
        title=_plain(feed.get("title")) or None,
        link=_web_link(feed.get("link"), base_url),
        entries=tuple(entries),
        problem=problem,
    )


async def parse_feed_async(
    body: bytes,
    *,
    base_url: str,
    fetched_at: datetime,
    response_headers: Mapping[str, str] | None = None,
    executor: Executor | None = None,
) -> ParsedFeed:
    """Run ``parse_feed`` in an executor so feedparser never blocks the event loop."""
    loop = asyncio.get_running_loop()
    call = partial(
        parse_feed,
        body,
        base_url=base_url,
        fetched_at=fetched_at,
        response_headers=response_headers,
    )
    return await loop.run_in_executor(executor, call)


def _feedparser(body: bytes, headers: dict[str, str]) -> Any:
    try:
        # A BytesIO, never bare bytes: feedparser would try to open bytes as a file name.
        return feedparser.parse(
            io.BytesIO(body),
            response_headers=headers,
            resolve_relative_uris=True,
            sanitize_html=False,
        )
    except Exception as e:  # untrusted input into a third-party parser: report, do not crash
        log.warning("feedparser failed", exc_info=True)
        raise FeedParseError(f"Not a feed: the parser failed ({type(e).__name__})") from e


def _is_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _problem(data: Any, *, has_content_type: bool) -> str | None:
    if not data.get("bozo"):
        return None
    exc = data.get("bozo_exception")
    if isinstance(exc, xml.sax.SAXParseException):
        return f"Ill-formed XML: {exc.getMessage()} at line {exc.getLineNumber()}"
    if isinstance(exc, feedparser.CharacterEncodingOverride):
        return f"Wrong encoding declared: {exc}"
    if isinstance(exc, feedparser.NonXMLContentType):
        return "Served with a content type that is not a feed type" if has_content_type else None
    if isinstance(exc, feedparser.CharacterEncodingUnknown):
        return f"Unknown character encoding: {exc}"
    return f"Ill-formed feed: {exc}"


def _not_a_feed(body: bytes, problem: str | None) -> str:
    head = body[:2048].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")) or b"<html" in head:
        return "Not a feed: the address returned an HTML page"
    if problem:
        return f"Not a feed: {problem[0].lower()}{problem[1:]}"
    return "Not a feed: no RSS or Atom content found"


def _entry(raw: Any, base_url: str, fetched_at: datetime) -> ParsedEntry | None:
    title = _plain(raw.get("title"))
    summary_html = _html(raw.get("summary"), raw.get("summary_detail"), base_url)
    content_html = None
    for content in raw.get("content") or ():
        content_html = _html(content.get("value"), content, base_url) or None
        if content_html:
            break
    text = html_to_text(summary_html or content_html or "")
    if not title:
        title = _cap(" ".join(text.split()), 100)
    if not title:
        return None
    link = _web_link(raw.get("link"), base_url)
    content_hash = _content_hash(title, link, text)
    guid = (raw.get("id") or "").strip() or link or content_hash
    if len(guid) > MAX_GUID:
        guid = "sha256:" + hashlib.sha256(guid.encode()).hexdigest()
    return ParsedEntry(
        guid=guid,
        link=link,
        title=title,
        summary_html=summary_html,
        content_html=content_html,
        published=_date(raw) or fetched_at.astimezone(UTC),
        categories=_categories(raw.get("tags") or ()),
        content_hash=content_hash,
    )


def _plain(value: str | None) -> str:
    # Titles carry no markup, whatever type the feed claims: RSS says nothing and feedparser
    # guesses, so tags are stripped even from "plain text".
    return _cap(" ".join(html_to_text(value or "").split()), MAX_TITLE)


def _html(value: str | None, detail: Mapping[str, Any] | None, base_url: str) -> str:
    if not value:
        return ""
    if (detail or {}).get("type") == "text/plain":
        value = html.escape(value)
    return sanitize_html(value, base_url=base_url).strip()


def _cap(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _web_link(value: str | None, base_url: str) -> str | None:
    if not value:
        return None
    try:
        link = urljoin(base_url, value.strip())
        parts = urlsplit(link)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return link


def _date(raw: Any) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        parsed = raw.get(key)
        if parsed:
            try:
                # feedparser has already converted the time to UTC.
                return datetime.fromtimestamp(calendar.timegm(parsed), UTC)
            except (TypeError, ValueError, OverflowError):
                continue
    return None


def _categories(tags: Any) -> tuple[str, ...]:
    names: dict[str, None] = {}
    for tag in tags:
        name = _cap(" ".join((tag.get("term") or "").split()), MAX_CATEGORY)
        if name:
            names.setdefault(name, None)
    return tuple(names)[:MAX_CATEGORIES]


def _content_hash(title: str, link: str | None, text: str) -> str:
    normalised = "\n".join(
        unicodedata.normalize("NFC", " ".join(part.split())) for part in (title, link or "", text)
    )
    return hashlib.sha256(normalised.encode()).hexdigest()
