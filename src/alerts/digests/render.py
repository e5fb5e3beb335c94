"""Render a digest edition once, then each subscriber's copy by joining cached blocks.

MJML and jinja2 run once per edition (``DigestRenderer.create``), on a skeleton whose
per-subscriber values are random slot tokens. The skeleton is split at those tokens, so a
subscriber's copy is a single join of literal parts and escaped values: no MJML, no template
lookup and no search-and-replace over text that feed content could have shaped.

Articles are grouped by topic or country (``EditionContext.group_by``). An article that belongs
to several of the subscriber's groups is shown once, under the first of them by name, so a
reader never meets the same article twice. Groups are ordered by name, "Other news" last;
articles within a group newest first.
"""

from __future__ import annotations

import asyncio
import html
import re
import secrets
import textwrap
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup
from mjml import mjml2html

from alerts.digests.content import ArticleItem, EditionContext, Recipient
from alerts.errors import AlertsError
from alerts.mail.render import Lines, Rendered, RenderedParts
from alerts.mail.transactional import Branding

SUMMARY_CHARS = 300
TEXT_WIDTH = 72
SECTION_TITLES = {
    "articles": "New articles",
    "countdowns": "Session countdowns",
    "upcoming": "Upcoming sessions",
    "observances": "Observances",
}
OTHER_GROUP = ""
OTHER_NAME = "Other news"
_SLOTS = ("email", "manage_url", "unsubscribe_url", "preview", "articles")
_FOOTER_SLOTS = frozenset({"email", "manage_url", "unsubscribe_url"})


class TemplateProblem(AlertsError):
    """A digest template cannot be used as a skeleton."""


@dataclass(frozen=True)
class _Skeleton:
    """A rendered body cut at its slot tokens: literal, slot, literal, ..., literal.

    Each literal is kept in pieces: the end of the line a slot is on, the whole lines after it
    (``Lines``, shared by every copy), and the start of the next slot's line.
    """

    pieces: tuple[tuple[str, ...], ...]
    slots: tuple[str, ...]

    @classmethod
    def cut(cls, rendered: str, pattern: re.Pattern[str], name: str) -> _Skeleton:
        split = pattern.split(rendered)
        literals, slots = split[0::2], tuple(split[1::2])
        if missing := _FOOTER_SLOTS - set(slots):
            raise TemplateProblem(f"{name} does not show {', '.join(sorted(missing))}")
        pieces = tuple(_lines_of(lit, line_start=i == 0) for i, lit in enumerate(literals))
        return cls(pieces=pieces, slots=slots)

    def parts(self, values: Mapping[str, str | Sequence[str]]) -> list[str]:
        out = list(self.pieces[0])
        for slot, pieces in zip(self.slots, self.pieces[1:], strict=True):
            value = values[slot]
            if isinstance(value, str):
                out.append(value)
            else:
                out.extend(value)
            out.extend(pieces)
        return out


def _lines_of(literal: str, *, line_start: bool) -> tuple[str, ...]:
    """Split ``literal`` into the rest of its first line, its whole lines, and its last line."""
    first = 0 if line_start else literal.find("\n") + 1
    last = literal.rfind("\n") + 1
    if last <= first:
        return (literal,)
    return tuple(p for p in (literal[:first], Lines(literal[first:last]), literal[last:]) if p)


# An article or group heading: its HTML and text, each as shared lines (followed by the next
# block) and as the plain block (the last one), and for articles the groups it belongs to.
_Block = tuple[Lines, str, Lines, str]


class DigestRenderer:
    """One edition's skeletons and block caches; renders each subscriber's copy cheaply."""

    def __init__(
        self,
        ctx: EditionContext,
        html_skeleton: _Skeleton,
        text_skeleton: _Skeleton,
        html_blocks: Any,
        text_blocks: Any,
    ) -> None:
        if ctx.group_by not in ("topic", "country"):
            raise TemplateProblem(f"cannot group a digest by {ctx.group_by!r}")
        self.ctx = ctx
        self._html = html_skeleton
        self._text = text_skeleton
        self._by_topic = ctx.group_by == "topic"
        self._names = ctx.topic_names if self._by_topic else ctx.country_names
        self._with_articles = "articles" in ctx.sections
        self._html_article: Callable[..., str] = _macro(html_blocks, "article")
        self._text_article: Callable[..., str] = _macro(text_blocks, "article")
        self._html_group: Callable[..., str] = _macro(html_blocks, "group_heading")
        self._text_group: Callable[..., str] = _macro(text_blocks, "underline")
        self._html_empty = str(_macro(html_blocks, "no_articles")())
        self._text_empty = str(_macro(text_blocks, "no_articles")()).strip()
        self._preview_tail = ctx.countdowns[0].text if ctx.countdowns else ctx.digest_name
        self._articles: dict[int, tuple[_Block, tuple[str, ...]]] = {}
        self._groups: dict[str, tuple[_Block, tuple[str, str]]] = {}

    @classmethod
    async def create(
        cls,
        templates_dir: Path,
        ctx: EditionContext,
        branding: Branding,
        *,
        cadence: str | None = None,
    ) -> DigestRenderer:
        """Render the edition's skeletons off the event loop (MJML is blocking)."""
        loop = asyncio.get_running_loop()
        build = partial(cls.create_sync, templates_dir, ctx, branding, cadence=cadence)
        return await loop.run_in_executor(None, build)

    @classmethod
    def create_sync(
        cls,
        templates_dir: Path,
        ctx: EditionContext,
        branding: Branding,
        *,
        cadence: str | None = None,
    ) -> DigestRenderer:
        """Render the edition's skeletons here and now (blocking: MJML runs here)."""
        mjml_env, text_env = _environments(templates_dir)
        nonce = secrets.token_hex(8)
        pattern = re.compile(f"x{nonce}({'|'.join(_SLOTS)})x")
        context: dict[str, Any] = {
            slot: Markup(f"x{nonce}{slot}x")  # noqa: S704 - a token of hex digits
            for slot in _SLOTS
        }
        context |= {
            "subject": ctx.subject,
            "organisation": branding.organisation,
            "postal_address": branding.address,
            "digest_name": ctx.digest_name,
            "cadence": cadence,
            "edition_date": _date(ctx.window_end) if ctx.window_end else None,
            "intro_html": ctx.intro_html,
            "intro_text": ctx.intro_text.strip(),
            "sections": [s for s in ctx.sections if s in SECTION_TITLES],
            "section_titles": SECTION_TITLES,
            "section_items": {
                "countdowns": ctx.countdowns,
                "upcoming": ctx.upcoming,
                "observances": ctx.observances,
            },
        }
        source = mjml_env.get_template("digest.mjml.j2").render(context)
        page = mjml2html(source, disable_comments=True, fonts={})
        text = _tidy_text(text_env.get_template("digest.txt.j2").render(context))
        return cls(
            ctx,
            _Skeleton.cut(page, pattern, "digest.mjml.j2"),
            _Skeleton.cut(text, pattern, "digest.txt.j2"),
            mjml_env.get_template("_digest_blocks.html.j2").module,
            text_env.get_template("_digest_blocks.txt.j2").module,
        )

    def render(self, recipient: Recipient, articles: Sequence[ArticleItem]) -> Rendered:
        """Return ``recipient``'s copy holding ``articles`` (already selected for them)."""
        return self.render_parts(recipient, articles).joined()

    def render_parts(self, recipient: Recipient, articles: Sequence[ArticleItem]) -> RenderedParts:
        """Return ``recipient``'s copy in pieces, most of them shared with other copies."""
        html_body, text_body = self._articles_for(recipient, articles)
        count = len(articles)
        preview = f"{count} new article{'' if count == 1 else 's'}" if count else "No new articles"
        values: dict[str, str | Sequence[str]] = {
            "email": recipient.email,
            "manage_url": recipient.manage_url,
            "unsubscribe_url": recipient.unsubscribe_url,
        }
        html_values: dict[str, str | Sequence[str]] = {
            k: html.escape(v) for k, v in values.items() if isinstance(v, str)
        }
        html_values["preview"] = html.escape(f"{preview} · {self._preview_tail}")
        html_values["articles"] = html_body
        values["preview"] = ""
        values["articles"] = text_body
        return RenderedParts(
            subject=self.ctx.subject_of(count),
            text=self._text.parts(values),
            html=self._html.parts(html_values),
        )

    def _articles_for(
        self, recipient: Recipient, articles: Sequence[ArticleItem]
    ) -> tuple[str | list[str], str | list[str]]:
        if not self._with_articles:
            return "", ""
        if not articles:
            return self._html_empty, self._text_empty
        chosen = recipient.topics if self._by_topic else recipient.countries
        grouped: dict[str, list[tuple[datetime, int, _Block]]] = {}
        for article in articles:
            block, keys = self._article(article)
            key = next((k for k in keys if k in chosen), keys[0]) if chosen else keys[0]
            grouped.setdefault(key, []).append((article.published_at, article.id, block))
        blocks: list[_Block] = []
        for key in sorted(grouped, key=lambda k: self._group(k)[1]):
            blocks.append(self._group(key)[0])
            blocks.extend(block for _when, _id, block in sorted(grouped[key], reverse=True))
        # Blocks are separated by a newline in HTML and a blank line in text: every block but
        # the last is a shared piece that ends with its separator.
        html_parts: list[str] = [b[0] for b in blocks]
        text_parts: list[str] = [b[2] for b in blocks]
        html_parts[-1], text_parts[-1] = blocks[-1][1], blocks[-1][3]
        return html_parts, text_parts

    def _article(self, article: ArticleItem) -> tuple[_Block, tuple[str, ...]]:
        cached = self._articles.get(article.id)
        if cached is None:
            own = article.topics if self._by_topic else article.countries
            keys = tuple(sorted(own, key=lambda k: self._group(k)[1])) or (OTHER_GROUP,)
            flat = " ".join(article.summary_text.split())
            summary = _trim(flat)
            # Keep the sanitised HTML (links, emphasis) unless it has to be cut short.
            html_summary: str = (
                Markup(article.summary_html)  # noqa: S704 - sanitised when ingested
                if summary == flat and article.summary_html.strip()
                else summary
            )
            args = (article.title, article.url, article.source_title, _date(article.published_at))
            block = _block(
                str(self._html_article(*args, html_summary)),
                str(self._text_article(*args, _wrap(summary))).strip(),
            )
            cached = self._articles[article.id] = (block, keys)
        return cached

    def _group(self, key: str) -> tuple[_Block, tuple[str, str]]:
        cached = self._groups.get(key)
        if cached is None:
            name = self._names.get(key, key) if key else OTHER_NAME
            # "Other news" sorts last whatever its name.
            sort_key = (name.casefold(), key) if key else ("\U0010ffff", "")
            block = _block(str(self._html_group(name)), str(self._text_group(name, "-")))
            cached = self._groups[key] = (block, sort_key)
        return cached


def _block(html_block: str, text_block: str) -> _Block:
    return (Lines(html_block + "\n"), html_block, Lines(text_block + "\n\n"), text_block)


def _macro(module: Any, name: str) -> Callable[..., str]:
    macro: Callable[..., str] = getattr(module, name)
    return macro


def _environments(templates_dir: Path) -> tuple[jinja2.Environment, jinja2.Environment]:
    loader = jinja2.FileSystemLoader(templates_dir / "emails")
    mjml_env = jinja2.Environment(
        loader=loader, autoescape=True, undefined=jinja2.StrictUndefined, auto_reload=False
    )
    text_env = jinja2.Environment(
        loader=loader,
        autoescape=False,  # noqa: S701 - plain-text parts are never read as HTML
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    return mjml_env, text_env


def _date(when: datetime) -> str:
    return f"{when.day} {when:%B %Y}"


def _trim(text: str, limit: int = SUMMARY_CHARS) -> str:
    """Return ``text`` on one line, cut at a word boundary to about ``limit`` characters."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[: limit + 1].rsplit(" ", 1)[0] if " " in flat[:limit] else flat[:limit]
    return cut.rstrip(" ,;:.-\u2013\u2014") + "…"


def _wrap(text: str) -> str:
    return textwrap.fill(text, TEXT_WIDTH, break_long_words=False, break_on_hyphens=False)


def _tidy_text(text: str) -> str:
    out: list[str] = []
    for line in (line.rstrip() for line in text.splitlines()):
        if line == "" and out and out[-1] == "":
            continue
        out.append(line)
    return "\n".join(out).strip() + "\n"
