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
from alerts.mail.render import Rendered
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
    """A rendered body cut at its slot tokens: literal, slot, literal, ..., literal."""

    literals: tuple[str, ...]
    slots: tuple[str, ...]

    @classmethod
    def cut(cls, rendered: str, pattern: re.Pattern[str], name: str) -> _Skeleton:
        pieces = pattern.split(rendered)
        skeleton = cls(literals=tuple(pieces[0::2]), slots=tuple(pieces[1::2]))
        if missing := _FOOTER_SLOTS - set(skeleton.slots):
            raise TemplateProblem(f"{name} does not show {', '.join(sorted(missing))}")
        return skeleton

    def fill(self, values: Mapping[str, str]) -> str:
        out = [self.literals[0]]
        for slot, literal in zip(self.slots, self.literals[1:], strict=True):
            out.append(values[slot])
            out.append(literal)
        return "".join(out)


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
        self._articles: dict[int, tuple[str, str, tuple[str, ...]]] = {}
        self._groups: dict[str, tuple[str, str, tuple[str, str]]] = {}

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
        html_body, text_body = self._articles_for(recipient, articles)
        count = len(articles)
        preview = f"{count} new article{'' if count == 1 else 's'}" if count else "No new articles"
        values = {
            "email": recipient.email,
            "manage_url": recipient.manage_url,
            "unsubscribe_url": recipient.unsubscribe_url,
        }
        html_values = {k: html.escape(v) for k, v in values.items()}
        html_values["preview"] = html.escape(f"{preview} · {self._preview_tail}")
        html_values["articles"] = html_body
        values["preview"] = ""
        values["articles"] = text_body
        return Rendered(
            subject=self.ctx.subject_of(count),
            text=self._text.fill(values),
            html=self._html.fill(html_values),
        )

    def _articles_for(
        self, recipient: Recipient, articles: Sequence[ArticleItem]
    ) -> tuple[str, str]:
        if not self._with_articles:
            return "", ""
        if not articles:
            return self._html_empty, self._text_empty
        chosen = recipient.topics if self._by_topic else recipient.countries
        grouped: dict[str, list[tuple[datetime, int, str, str]]] = {}
        for article in articles:
            html_block, text_block, keys = self._article(article)
            key = next((k for k in keys if k in chosen), keys[0]) if chosen else keys[0]
            grouped.setdefault(key, []).append(
                (article.published_at, article.id, html_block, text_block)
            )
        html_parts: list[str] = []
        text_parts: list[str] = []
        for key in sorted(grouped, key=lambda k: self._group(k)[2]):
            html_heading, text_heading, _ = self._group(key)
            html_parts.append(html_heading)
            text_parts.append(text_heading)
            for _when, _id, html_block, text_block in sorted(grouped[key], reverse=True):
                html_parts.append(html_block)
                text_parts.append(text_block)
        return "\n".join(html_parts), "\n\n".join(text_parts)

    def _article(self, article: ArticleItem) -> tuple[str, str, tuple[str, ...]]:
        cached = self._articles.get(article.id)
        if cached is None:
            own = article.topics if self._by_topic else article.countries
            keys = tuple(sorted(own, key=lambda k: self._group(k)[2])) or (OTHER_GROUP,)
            flat = " ".join(article.summary_text.split())
            summary = _trim(flat)
            # Keep the sanitised HTML (links, emphasis) unless it has to be cut short.
            html_summary: str = (
                Markup(article.summary_html)  # noqa: S704 - sanitised when ingested
                if summary == flat and article.summary_html.strip()
                else summary
            )
            args = (article.title, article.url, article.source_title, _date(article.published_at))
            cached = (
                str(self._html_article(*args, html_summary)),
                str(self._text_article(*args, _wrap(summary))).strip(),
                keys,
            )
            self._articles[article.id] = cached
        return cached

    def _group(self, key: str) -> tuple[str, str, tuple[str, str]]:
        cached = self._groups.get(key)
        if cached is None:
            name = self._names.get(key, key) if key else OTHER_NAME
            # "Other news" sorts last whatever its name.
            sort_key = (name.casefold(), key) if key else ("\U0010ffff", "")
            cached = (str(self._html_group(name)), str(self._text_group(name, "-")), sort_key)
            self._groups[key] = cached
        return cached


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
