"""The organisation's topics and the keywords that tag articles with them."""

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from alerts.taxonomy._toml import check_slug, get_str, get_strs, read_tables
from alerts.taxonomy.text import TermMatcher, normalise

# Keywords also match their plurals ("defender" finds "defenders", "business" "businesses").
_PLURAL = "(?:s|es)?"


def _forms(keyword: str) -> tuple[str, str]:
    plural = "es" if keyword.endswith(("s", "x", "z", "ch", "sh")) else "s"
    return keyword, keyword + plural


@dataclass(frozen=True)
class TopicDef:
    """A topic: slug, display name, description, tagging keywords and feed categories."""

    slug: str
    name: str
    description: str
    keywords: tuple[str, ...]
    categories: tuple[str, ...]


def load_topics(path: Path) -> list[TopicDef]:
    """Read topics from a TOML file in file order, raising TaxonomyError if malformed."""
    topics: list[TopicDef] = []
    slugs: set[str] = set()
    for i, table in enumerate(read_tables(path, "topic"), start=1):
        where = f"{path}: topic #{i}"
        slug = get_str(table, "slug", where)
        check_slug(slug, where, slugs)
        topics.append(
            TopicDef(
                slug=slug,
                name=get_str(table, "name", where),
                description=get_str(table, "description", where, required=False),
                keywords=get_strs(table, "keywords", where),
                categories=get_strs(table, "categories", where),
            )
        )
    return topics


class TopicMatcher:
    """Find topics by keyword in text; each topic is found as if searched on its own."""

    def __init__(self, topics: Sequence[TopicDef]) -> None:
        """Compile every keyword of every topic into one pattern."""
        own = {t.slug: TermMatcher(dict.fromkeys(t.keywords, True)) for t in topics}
        # One pass finds the longest keyword at each place; so that a shorter keyword of
        # another topic inside it ("defender" in "women human rights defender") still
        # counts, each keyword carries every topic that has a keyword within it.
        terms: dict[str, frozenset[str]] = {}
        for topic in topics:
            for keyword in topic.keywords:
                spelling = normalise(keyword)
                terms[keyword] = frozenset(slug for slug, m in own.items() if m.find(spelling))
        self._terms = tuple(form for keyword in terms for form in _forms(keyword))
        self._matcher = TermMatcher(terms, suffix=_PLURAL)

    @property
    def terms(self) -> tuple[str, ...]:
        """Return every spelling this matcher looks for."""
        return self._terms

    def find(self, text: str) -> set[str]:
        """Return the slugs of topics whose keywords occur in the text."""
        found: set[str] = set()
        for slugs in self._matcher.find(normalise(text)):
            found.update(slugs)
        return found
