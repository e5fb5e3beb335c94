"""Make untrusted feed HTML safe to show, and turn HTML into readable plain text."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import nh3
from yarl import URL

# No <img>: readers include people at risk, and a remote image tells its server who opened
# the email or page, when and from where. Images would need a proxy and consent first.
ALLOWED_TAGS = frozenset(
    {"p", "br", "a", "em", "strong", "b", "i", "ul", "ol", "li", "blockquote"}
    | {"h2", "h3", "h4", "code", "pre"}
)
# Dropped together with everything inside them, not just the tags.
DROPPED_WITH_CONTENT = frozenset(
    {"script", "style", "template", "noscript", "iframe", "object", "svg", "math"}
)
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "noopener noreferrer nofollow"

_BLOCK_TAGS = frozenset(
    {"p", "div", "blockquote", "pre", "ul", "ol", "table", "tr", "section", "article"}
    | {"h1", "h2", "h3", "h4", "h5", "h6", "header", "footer", "figure", "figcaption", "hr"}
)
_SKIP_TEXT_TAGS = DROPPED_WITH_CONTENT | {"head", "title"}


def sanitize_html(html: str, *, base_url: str) -> str:
    """Return ``html`` with only allow-listed tags and safe, absolute links."""
    try:
        is_web_base = URL(base_url).scheme in ("http", "https") and bool(URL(base_url).host)
    except ValueError:
        is_web_base = False
    # Only rewrite against a web page: a file: base would turn "/x" into file:///x.
    url_relative: nh3.UrlRelative = ("rewrite_with_base", base_url) if is_web_base else "deny"
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        clean_content_tags=DROPPED_WITH_CONTENT,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel=LINK_REL,
        url_relative=url_relative,
        strip_comments=True,
    )


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip_depth = 0
        self._links: list[tuple[str | None, int]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TEXT_TAGS:
            self._skip_depth += 1
        elif tag == "br":
            self.parts.append("\n")
        elif tag == "li":
            self.parts.append("\n- ")
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n\n")
        elif tag == "a":
            self._links.append((dict(attrs).get("href"), len(self.parts)))

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TEXT_TAGS:
            self._skip_depth = max(0, self._skip_depth - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n\n")
        elif tag == "a" and self._links:
            href, start = self._links.pop()
            text = "".join(self.parts[start:]).strip()
            # Plain-text readers cannot click, so show where a link goes unless the text says so.
            if href and href.startswith(("http://", "https://")) and href != text:
                self.parts.append(f" ({href})")

    def handle_data(self, data: str) -> None:
        if not self._skip_depth:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """Return readable plain text for ``html``: no tags, entities decoded, tidy blank lines."""
    # nh3 first: it turns any tag soup into tidy HTML, which html.parser then reads safely
    # (html.parser alone raises on inputs such as "<![foo]>").
    tidy = nh3.clean(
        html,
        tags=_BLOCK_TAGS | {"a", "br", "li"},
        clean_content_tags=DROPPED_WITH_CONTENT,
        attributes={"a": {"href"}},
        link_rel=None,
    )
    parser = _TextExtractor()
    parser.feed(tidy)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()
