import re
from pathlib import Path

import pytest

from alerts.taxonomy import TaxonomyError
from alerts.taxonomy.topics import TopicDef, TopicMatcher, load_topics

EXPECTED = {
    "human-rights-defenders": "Human rights defenders",
    "reprisals": "Reprisals",
    "women-human-rights-defenders": "Women human rights defenders",
    "lgbtiq-rights": "LGBTIQ+ rights",
    "business-and-human-rights": "Business and human rights",
    "environmental-justice": "Environmental justice",
    "racial-justice": "Racial justice",
    "migrants": "Migrants",
    "indigenous-peoples": "Indigenous peoples",
    "digital-rights": "Digital rights and technology",
    "counter-terrorism": "Counter-terrorism",
    "civic-space": "Civic space",
    "transnational-repression": "Transnational repression",
    "child-defenders": "Child human rights defenders",
    "un-system": "UN system (HRC, treaty bodies, UPR, special procedures)",
    "accountability": "Accountability",
}


@pytest.fixture(scope="module")
def matcher(topics: list[TopicDef]) -> TopicMatcher:
    return TopicMatcher(topics)


def test_shipped_topics_have_stable_slugs_and_names(topics: list[TopicDef]) -> None:
    assert {t.slug: t.name for t in topics} == EXPECTED
    assert [t.slug for t in topics] == list(EXPECTED)


def test_every_topic_has_a_description_keywords_and_categories(topics: list[TopicDef]) -> None:
    for topic in topics:
        assert topic.description, topic.slug
        assert len(topic.keywords) >= 5, topic.slug
        assert topic.categories, topic.slug


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "topics.toml"
    path.write_text(body, encoding="utf-8")
    return path


GOOD = 'slug = "a"\nname = "A"\ndescription = "d"\nkeywords = ["k"]\ncategories = ["c"]\n'


def test_load_a_minimal_file(tmp_path: Path) -> None:
    [topic] = load_topics(_write(tmp_path, "[[topic]]\n" + GOOD))
    assert topic == TopicDef("a", "A", "d", ("k",), ("c",))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("[[topic]]\n" + GOOD + "[[topic]]\n" + GOOD, "used twice"),
        ("[[topic]]\n" + GOOD.replace('"a"', '"Bad Slug"', 1), "slug 'Bad Slug'"),
        ("[[topic]]\n" + GOOD.replace('name = "A"', "name = 3"), "topic #1: 'name'"),
        ("[[topic]]\n" + GOOD.replace('["k"]', '"k"'), "'keywords' must be a list"),
        ("[[topic]]\n" + GOOD.replace('["k"]', '["k", ""]'), "'keywords' must be a list"),
        ("[[topic]]\n" + GOOD.replace('["c"]', "[1]"), "'categories' must be a list"),
        ("[[topic]]\n" + GOOD.replace('description = "d"', "description = []"), "description"),
        ("[topic]\n" + GOOD, "no [[topic]] entries"),
        ("", "no [[topic]] entries"),
        ("[[topic]\n", "not valid TOML"),
    ],
)
def test_malformed_files(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(TaxonomyError, match=re.escape(message)):
        load_topics(_write(tmp_path, body))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(TaxonomyError, match="cannot read"):
        load_topics(tmp_path / "missing.toml")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("WHRD", {"women-human-rights-defenders", "human-rights-defenders"}),
        ("WHRDs at risk", {"women-human-rights-defenders", "human-rights-defenders"}),
        ("HRDs in prison", {"human-rights-defenders"}),
        ("a human rights defender", {"human-rights-defenders"}),
        (
            "women human rights defenders",
            {"women-human-rights-defenders", "human-rights-defenders"},
        ),
        ("LGBTI people", {"lgbtiq-rights"}),
        ("LGBTIQ+ defenders", {"lgbtiq-rights", "human-rights-defenders"}),
        ("the SOGI mandate", {"lgbtiq-rights"}),
        ("Universal Periodic Review", {"un-system"}),
        ("the UPR of Cuba", {"un-system"}),
        ("Special Rapporteur on torture", {"un-system"}),
        ("the treaty bodies", {"un-system"}),
        ("a treaty body", {"un-system"}),
        ("intimidation and reprisals", {"reprisals"}),
        ("counter-terrorism laws", {"counter-terrorism"}),
        ("counter terrorism", {"counter-terrorism"}),
        ("business and human rights", {"business-and-human-rights"}),
        ("businesses", {"business-and-human-rights"}),
        ("transnational repression", {"transnational-repression"}),
        ("child human rights defenders", {"child-defenders", "human-rights-defenders"}),
        ("the Escazú Agreement", {"environmental-justice"}),
        ("Indigenous peoples", {"indigenous-peoples"}),
        ("internet shutdowns", {"digital-rights"}),
        ("AI and facial recognition", {"digital-rights"}),
        ("impunity", {"accountability"}),
        ("racism", {"racial-justice"}),
        ("asylum seekers", {"migrants"}),
        ("civic space", {"civic-space"}),
    ],
)
def test_keywords(matcher: TopicMatcher, text: str, expected: set[str]) -> None:
    assert matcher.find(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "upr",  # acronyms match only in capitals
        "whrd",
        "sogi",
        "said the aide",
        "again and again",
        "a determined effort",
        "gasoline",
        "hrds",
        "Sunday meeting",
    ],
)
def test_no_topic(matcher: TopicMatcher, text: str) -> None:
    assert matcher.find(text) == set()
