"""Build what is the same for every recipient of an edition, once per edition."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import nh3
from jinja2 import Template
from jinja2.sandbox import SandboxedEnvironment
from markdown_it import MarkdownIt
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.digests.content import ArticleItem, CountdownItem, EditionContext
from alerts.hrc.countdown import (
    geneva_date,
    long_date,
    observance_countdown,
    session_countdown,
)
from alerts.hrc.store import key_issues_articles, list_sessions, shipped_calendar
from alerts.ingest.sanitize import html_to_text
from alerts.links import Links
from alerts.models import (
    Article,
    ArticleCountry,
    ArticleTopic,
    Country,
    Digest,
    Edition,
    EditionArticle,
    Source,
    Topic,
)

COUNTDOWN_HORIZON_DAYS = 60
OBSERVANCE_HORIZON_DAYS = 31
_markdown = MarkdownIt("commonmark", {"html": False})
_subjects = SandboxedEnvironment(autoescape=False)


def intro_html(markdown: str, base_url: str) -> str:
    """Render an editor's Markdown intro to sanitised HTML."""
    if not markdown.strip():
        return ""
    html = _markdown.render(markdown)
    return nh3.clean(html, url_schemes={"http", "https", "mailto"}, link_rel="noopener noreferrer")


class SubjectTemplate:
    """An editor's subject template compiled once, rendered once per distinct article count."""

    def __init__(self, template: str, *, digest: str, date: str) -> None:
        self._digest, self._date = digest, date
        try:
            self._template: Template | None = _subjects.from_string(template)
        except Exception:  # a broken template must not stop a send
            self._template = None
        self._cache: dict[int, str] = {}

    def __call__(self, count: int) -> str:
        """Return the subject for ``count`` articles."""
        cached = self._cache.get(count)
        if cached is None:
            text = f"{self._digest}: {self._date}"
            if self._template is not None:
                try:
                    text = self._template.render(digest=self._digest, count=count, date=self._date)
                except Exception:  # a broken template must not stop a send
                    text = f"{self._digest}: {self._date}"
            cached = self._cache[count] = " ".join(text.split())[:200]
        return cached


async def edition_articles(session: AsyncSession, edition_id: int) -> list[ArticleItem]:
    """Return the edition's frozen articles with their tags: three queries, whatever the size."""
    rows = (
        await session.execute(
            select(Article, Source.title, Source.url)
            .join(EditionArticle, EditionArticle.article_id == Article.id)
            .join(Source, Source.id == Article.source_id)
            .where(EditionArticle.edition_id == edition_id)
            .order_by(Article.published_at.desc(), Article.id.desc())
        )
    ).all()
    ids = [a.id for a, _, _ in rows]
    topics: dict[int, set[str]] = {i: set() for i in ids}
    countries: dict[int, set[str]] = {i: set() for i in ids}
    if ids:
        for article_id, slug in await session.execute(
            select(ArticleTopic.article_id, Topic.slug)
            .join(Topic, Topic.id == ArticleTopic.topic_id)
            .join(EditionArticle, EditionArticle.article_id == ArticleTopic.article_id)
            .where(EditionArticle.edition_id == edition_id)
        ):
            topics[article_id].add(slug)
        for article_id, code in await session.execute(
            select(ArticleCountry.article_id, ArticleCountry.country_code)
            .join(EditionArticle, EditionArticle.article_id == ArticleCountry.article_id)
            .where(EditionArticle.edition_id == edition_id)
        ):
            countries[article_id].add(code)
    return [
        ArticleItem(
            id=a.id,
            title=a.title,
            url=a.url,
            summary_html=a.summary_html,
            summary_text=html_to_text(a.summary_html),
            published_at=a.published_at,
            source_title=source_title or source_url,
            topics=frozenset(topics[a.id]),
            countries=frozenset(countries[a.id]),
            session_code=f"HRC{a.session_number}" if a.session_number else None,
        )
        for a, source_title, source_url in rows
    ]


async def countdown_items(
    session: AsyncSession, links: Links, feeds_dir: Path, now: datetime
) -> tuple[tuple[CountdownItem, ...], tuple[CountdownItem, ...], tuple[CountdownItem, ...]]:
    """Return (countdowns, upcoming sessions, observances), each line computed once."""
    sessions = await list_sessions(session)
    briefings = await key_issues_articles(session, [s.number for s in sessions])
    countdowns: list[CountdownItem] = []
    upcoming: list[CountdownItem] = []
    for s in sorted(sessions, key=lambda s: s.opens):
        cd = session_countdown(s, now)
        brief = briefings.get(s.number)
        item = CountdownItem(
            text=cd.text,
            url=links.page(f"/sessions/{s.code}"),
            key_issues_title=brief.title if brief else None,
            key_issues_url=brief.url if brief else None,
        )
        if cd.state == "ongoing" or (cd.state == "upcoming" and cd.days <= COUNTDOWN_HORIZON_DAYS):
            countdowns.append(item)
        if cd.state == "upcoming":
            dates = f"{long_date(s.opens)} to {long_date(s.closes)}"
            tentative = " (dates tentative)" if s.tentative else ""
            upcoming.append(CountdownItem(text=f"{s.code}: {dates}{tentative}", url=item.url))
    observances = []
    for obs in shipped_calendar(feeds_dir).calendar.observances:
        cd = observance_countdown(obs, now)
        if cd.days <= OBSERVANCE_HORIZON_DAYS:
            observances.append((obs.next_date(geneva_date(now)), CountdownItem(text=cd.text)))
    observances.sort(key=lambda pair: pair[0])
    return tuple(countdowns), tuple(upcoming), tuple(item for _, item in observances)


async def edition_context(
    session: AsyncSession,
    edition: Edition,
    digest: Digest,
    articles: Sequence[ArticleItem],
    *,
    links: Links,
    feeds_dir: Path,
    now: datetime,
) -> EditionContext:
    """Return the per-edition context: subject, intro, sections, countdowns, names."""
    countdowns, upcoming, observances = await countdown_items(session, links, feeds_dir, now)
    topic_names = {
        slug: name for slug, name in await session.execute(select(Topic.slug, Topic.name))
    }
    country_names = {
        code: name for code, name in await session.execute(select(Country.code, Country.name))
    }
    date = long_date(edition.due_at.date())
    subject = SubjectTemplate(digest.subject_template, digest=digest.name, date=date)
    return EditionContext(
        edition_id=edition.id,
        digest_name=digest.name,
        subject=subject(len(articles)),
        subject_for=subject,
        intro_html=intro_html(digest.intro_markdown, links.base_url),
        intro_text=digest.intro_markdown.strip(),
        sections=tuple(digest.sections or ("articles", "countdowns")),
        group_by=digest.group_by,
        countdowns=countdowns,
        upcoming=upcoming,
        observances=observances,
        topic_names=topic_names,
        country_names=country_names,
        window_start=edition.window_start,
        window_end=edition.window_end,
    )
