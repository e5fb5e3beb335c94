"""Helpers to read links out of emails and tokens out of pages, as a person would."""

from __future__ import annotations

import re
from email.message import EmailMessage
from urllib.parse import urlsplit

from tests.support.smtp import body_text

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def links_in(message: EmailMessage) -> list[str]:
    """Return every URL in the plain-text part."""
    return re.findall(r"https?://\S+", body_text(message))


def path_of(url: str) -> str:
    """Return the path (and query) of an absolute URL."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def link_to(message: EmailMessage, prefix: str) -> str:
    """Return the path of the first link whose path starts with ``prefix``."""
    for url in links_in(message):
        if path_of(url).startswith(prefix):
            return path_of(url)
    raise AssertionError(f"no {prefix} link in message:\n{body_text(message)}")


def csrf_from(html: str) -> str:
    """Return the CSRF token of the first form on the page."""
    match = CSRF.search(html)
    assert match, "page has no CSRF token"
    return match.group(1)
