"""What goes into an edition: the window's articles, loaded once, and each subscriber's share."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class ArticleItem:
    """An article as a digest shows it; its HTML summary is already sanitised."""

    id: int
    title: str
    url: str | None
    summary_html: str
    summary_text: str
    published_at: datetime
    source_title: str
    topics: frozenset[str]
    countries: frozenset[str]
    session_code: str | None = None


@dataclass(frozen=True)
class CountdownItem:
    """A line of the countdown section, e.g. "HRC64 opens in 12 days"."""

    text: str
    url: str | None = None
    key_issues_title: str | None = None
    key_issues_url: str | None = None


@dataclass(frozen=True)
class EditionContext:
    """Everything that is the same for every recipient of an edition."""

    edition_id: int
    digest_name: str
    subject: str
    intro_html: str
    intro_text: str
    sections: tuple[str, ...]
    group_by: str  # "topic" or "country"
    countdowns: tuple[CountdownItem, ...]
    upcoming: tuple[CountdownItem, ...]
    observances: tuple[CountdownItem, ...]
    topic_names: dict[str, str] = field(default_factory=dict)
    country_names: dict[str, str] = field(default_factory=dict)
    window_start: datetime | None = None
    window_end: datetime | None = None
    # Subjects may count the reader's own articles: "Weekly digest: 3 new articles".
    subject_for: Callable[[int], str] | None = None

    def subject_of(self, count: int) -> str:
        """Return the subject for a reader who gets ``count`` articles."""
        return self.subject_for(count) if self.subject_for is not None else self.subject


@dataclass(frozen=True)
class Recipient:
    """One subscriber of an edition, with their signed links."""

    subscriber_id: int
    email: str
    topics: frozenset[str]
    countries: frozenset[str]
    manage_url: str
    unsubscribe_url: str


def select_for(
    articles: Sequence[ArticleItem], topics: frozenset[str], countries: frozenset[str]
) -> list[ArticleItem]:
    """Return the articles matching a subscriber's topics AND countries (empty set = all)."""
    return [
        a
        for a in articles
        if (not topics or not topics.isdisjoint(a.topics))
        and (not countries or not countries.isdisjoint(a.countries))
    ]
