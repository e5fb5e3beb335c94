"""Precision and recall of the tagger over hand-labelled articles (run with -s to see them)."""

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from alerts.taxonomy.countries import CountryDef
from alerts.taxonomy.tagger import Tagger
from alerts.taxonomy.topics import TopicDef

DATA = Path(__file__).resolve().parents[1] / "data" / "labelled_articles.toml"
MIN_ARTICLES = 70


@dataclass
class Score:
    true_pos: int = 0
    false_pos: int = 0
    false_neg: int = 0

    def add(self, expected: Iterable[str], found: Iterable[str]) -> None:
        exp, got = set(expected), set(found)
        self.true_pos += len(exp & got)
        self.false_pos += len(got - exp)
        self.false_neg += len(exp - got)

    @property
    def precision(self) -> float:
        return self.true_pos / ((self.true_pos + self.false_pos) or 1)

    @property
    def recall(self) -> float:
        return self.true_pos / ((self.true_pos + self.false_neg) or 1)


@pytest.fixture(scope="module")
def articles() -> list[dict[str, Any]]:
    with DATA.open("rb") as f:
        items: list[dict[str, Any]] = tomllib.load(f)["article"]
    return items


def test_labelled_set_is_big_enough_and_uses_known_labels(
    articles: list[dict[str, Any]], topics: list[TopicDef], countries: list[CountryDef]
) -> None:
    assert len(articles) >= MIN_ARTICLES
    slugs = {t.slug for t in topics}
    codes = {c.code for c in countries}
    for article in articles:
        assert set(article["topics"]) <= slugs, article["title"]
        assert set(article["countries"]) <= codes, article["title"]
    assert sum(1 for a in articles if not a["countries"]) >= 5
    assert sum(1 for a in articles if len(a["countries"]) > 1) >= 10
    assert sum(1 for a in articles if "trap" in a) >= 20


def _misses(label: str, title: str, expected: set[str], found: frozenset[str]) -> str:
    extra, missing = sorted(found - expected), sorted(expected - found)
    return f"  {label}: +{extra} -{missing}  {title}" if extra or missing else ""


def test_precision_and_recall(tagger: Tagger, articles: list[dict[str, Any]]) -> None:
    countries, topics = Score(), Score()
    misses = []
    for article in articles:
        tags = tagger.tag(article["title"], article["summary"], article.get("categories", ()))
        countries.add(article["countries"], tags.countries)
        topics.add(article["topics"], tags.topics)
        for label, expected, found in (
            ("countries", set(article["countries"]), tags.countries),
            ("topics", set(article["topics"]), tags.topics),
        ):
            if miss := _misses(label, article["title"], expected, found):
                misses.append(miss)
    print(f"\n{len(articles)} labelled articles")
    print(f"countries: precision {countries.precision:.3f}  recall {countries.recall:.3f}")
    print(f"topics:    precision {topics.precision:.3f}  recall {topics.recall:.3f}")
    print("\n".join(misses))
    assert countries.precision >= 0.95
    assert countries.recall >= 0.90
    assert topics.precision >= 0.85
    assert topics.recall >= 0.80


def test_sessions_and_key_issues(tagger: Tagger, articles: list[dict[str, Any]]) -> None:
    checked = 0
    for article in articles:
        tags = tagger.tag(article["title"], article["summary"])
        if "sessions" in article:
            assert tags.sessions == set(article["sessions"]), article["title"]
            checked += 1
        assert tags.key_issues_session == article.get("key_issues_session"), article["title"]
    assert checked >= 3


def test_no_trap_article_gets_a_wrong_country(
    tagger: Tagger, articles: list[dict[str, Any]]
) -> None:
    # Misses are counted by recall above (cities such as Bogota are not matched); a trap
    # is about a wrong country: Sudan for South Sudan, Nigeria for Niger, US for "us".
    wrong = {}
    for article in articles:
        if "trap" in article:
            found = tagger.tag(article["title"], article["summary"]).countries
            if extra := found - set(article["countries"]):
                wrong[article["title"]] = sorted(extra)
    assert wrong == {}
