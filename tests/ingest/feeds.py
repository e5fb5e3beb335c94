"""Small feed documents the ingest tests serve."""

from __future__ import annotations

from xml.sax.saxutils import escape

CHINA = (
    "China: reprisals against human rights defender",
    "https://news.example.org/china-reprisals",
)
HRC55 = (
    "HRC55: Key issues on agenda of March 2024 session",
    "https://news.example.org/hrc55-key-issues",
)


def rss(*items: tuple[str, str]) -> bytes:
    """Return an RSS 2.0 document with one item per (title, link)."""
    body = "".join(
        f"<item><title>{escape(title)}</title><link>{escape(link)}</link>"
        f"<guid>{escape(link)}</guid><pubDate>Tue, 05 Mar 2024 10:00:00 GMT</pubDate>"
        f"<description>&lt;p&gt;{escape(title)}.&lt;/p&gt;</description></item>"
        for title, link in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Test feed</title><link>https://news.example.org/</link>{body}</channel></rss>"
    ).encode()
