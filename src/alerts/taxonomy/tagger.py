"""Tag articles with topics, countries, regions and Human Rights Council sessions."""

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Self

from alerts.taxonomy.countries import CountryDef, CountryMatcher, load_countries
from alerts.taxonomy.regions import RegionDef, RegionMatcher, load_regions
from alerts.taxonomy.sessions import find_sessions, key_issues_session
from alerts.taxonomy.text import TermMatcher, normalise, strip_html
from alerts.taxonomy.topics import TopicDef, TopicMatcher, load_topics

# An article that names an HRC session is about the UN system whatever its keywords.
SESSION_TOPIC = "un-system"
# Keeps a phrase from running across the title, the summary and each category.
_SEPARATOR = " | "


@dataclass(frozen=True)
class _Found:
    countries: frozenset[str]
    regions: frozenset[str]
    topics: frozenset[str]


@dataclass(frozen=True)
class Tags:
    """What an article is about."""

    topics: frozenset[str]
    countries: frozenset[str]
    regions: frozenset[str]
    sessions: frozenset[int]
    key_issues_session: int | None


class Tagger:
    """Tag articles; build once, since building compiles every pattern."""

    def __init__(
        self,
        topics: Sequence[TopicDef],
        countries: Sequence[CountryDef],
        regions: Sequence[RegionDef],
    ) -> None:
        """Compile the patterns for the given taxonomy."""
        by_country = CountryMatcher(countries)
        by_region = RegionMatcher(regions)
        by_topic = TopicMatcher(topics)
        # One pass over the text instead of one per matcher. A term that contains terms of
        # the other matchers ("Latin American" holds "American") carries what each of them
        # finds in it on its own, so the longest-term rule still applies per matcher.
        self._terms = TermMatcher(
            {
                term: _Found(
                    frozenset(by_country.find(term)),
                    frozenset(by_region.find(term)),
                    frozenset(by_topic.find(term)),
                )
                for term in {*by_country.terms, *by_region.terms, *by_topic.terms}
            }
        )
        self._region_of = {c.code: c.region for c in countries}
        self._categories: dict[str, set[str]] = {}
        for topic in topics:
            for category in topic.categories:
                key = _normalise_category(category).casefold()
                self._categories.setdefault(key, set()).add(topic.slug)
        self._session_topic = (
            SESSION_TOPIC if any(t.slug == SESSION_TOPIC for t in topics) else None
        )

    @classmethod
    def from_files(cls, feeds_dir: Path) -> Self:
        """Build a tagger from topics.toml and regions.toml in a directory."""
        regions_path = feeds_dir / "regions.toml"
        return cls(
            load_topics(feeds_dir / "topics.toml"),
            load_countries(regions_path),
            load_regions(regions_path),
        )

    def tag(self, title: str, summary: str, categories: Sequence[str] = ()) -> Tags:
        """Return the tags of an article; the summary may be HTML."""
        title = normalise(title)
        cats = [_normalise_category(c) for c in categories]
        text = _SEPARATOR.join([title, normalise(strip_html(summary)), *cats])
        countries: set[str] = set()
        regions: set[str] = set()
        topics: set[str] = set()
        for found in self._terms.find(text):
            countries.update(found.countries)
            regions.update(found.regions)
            topics.update(found.topics)
        regions.update(self._region_of[c] for c in countries if c in self._region_of)
        for category in cats:
            topics.update(self._categories.get(category.casefold(), ()))
        sessions = find_sessions(text)
        if sessions and self._session_topic:
            topics.add(self._session_topic)
        return Tags(
            topics=frozenset(topics),
            countries=frozenset(countries),
            regions=frozenset(regions),
            sessions=frozenset(sessions),
            key_issues_session=key_issues_session(title),
        )


# Feeds repeat the same few categories on every item.
@lru_cache(maxsize=4096)
def _normalise_category(category: str) -> str:
    return normalise(category)
