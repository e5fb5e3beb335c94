import time
from pathlib import Path

import pytest

from alerts.taxonomy import TaxonomyError
from alerts.taxonomy.countries import CountryDef, CountryMatcher
from alerts.taxonomy.regions import RegionDef, RegionMatcher
from alerts.taxonomy.tagger import Tagger, Tags
from alerts.taxonomy.topics import TopicDef, TopicMatcher


def test_tags_an_ishr_style_article(tagger: Tagger) -> None:
    tags = tagger.tag(
        "China: UN experts urge release of human rights lawyer",
        "<p>Special Rapporteurs called on <b>Chinese</b> authorities to free him.</p>",
    )
    assert tags == Tags(
        topics=frozenset({"human-rights-defenders", "un-system"}),
        countries=frozenset({"CN"}),
        regions=frozenset({"asia-pacific"}),
        sessions=frozenset(),
        key_issues_session=None,
    )


def test_key_issues_briefing(tagger: Tagger) -> None:
    tags = tagger.tag(
        "HRC55: Key issues on agenda of March 2024 session",
        "The Council will discuss Sri Lanka and the occupied Palestinian territory.",
    )
    assert tags.sessions == {55}
    assert tags.key_issues_session == 55
    assert tags.countries == {"LK", "PS"}
    assert tags.regions == {"asia-pacific", "mena"}
    assert "un-system" in tags.topics


def test_key_issues_needs_the_title(tagger: Tagger) -> None:
    tags = tagger.tag("Defenders brief States", "Read our key issues for HRC55.")
    assert tags.sessions == {55}
    assert tags.key_issues_session is None


def test_html_is_stripped_before_matching(tagger: Tagger) -> None:
    tags = tagger.tag("Update", '<a href="https://example.org/niger-delta" title="Chad">Read</a>')
    assert tags.countries == set()
    tags = tagger.tag("Update", "<p>South&nbsp;<em>Sudan</em></p><p>Niger</p>")
    assert tags.countries == {"SS", "NE"}


def test_phrases_do_not_run_across_title_and_summary(tagger: Tagger) -> None:
    assert tagger.tag("Civil society in South", "Sudan reacts").countries == {"SD"}


def test_categories_give_topics_and_countries(tagger: Tagger) -> None:
    tags = tagger.tag("Statement", "Read the full text.", ["Reprisals", "WHRDs", "Nicaragua"])
    assert tags.topics == {"reprisals", "women-human-rights-defenders", "human-rights-defenders"}
    assert tags.countries == {"NI"}
    assert tags.regions == {"americas"}


def test_category_matching_ignores_case_and_spacing(tagger: Tagger) -> None:
    tags = tagger.tag("Statement", "", ["  business AND human rights "])
    assert tags.topics == {"business-and-human-rights"}


def test_unknown_categories_add_nothing(tagger: Tagger) -> None:
    assert tagger.tag("Statement", "", ["News", "Press release"]) == Tags(
        frozenset(), frozenset(), frozenset(), frozenset(), None
    )


def test_regions_from_words_and_from_countries(tagger: Tagger) -> None:
    tags = tagger.tag("Latin American and North African defenders meet in Kenya", "")
    assert tags.countries == {"KE"}
    assert tags.regions == {"americas", "mena", "africa"}


def test_us_pronoun_and_latin_american(tagger: Tagger) -> None:
    tags = tagger.tag("Why us? Latin American defenders speak", "Let us act, they told the US.")
    assert tags.countries == {"US"}


def test_a_session_reference_means_un_system(tagger: Tagger) -> None:
    tags = tagger.tag("HRC56 wrap-up", "What happened.")
    assert tags.topics == {"un-system"}


def test_custom_taxonomy_without_un_system_topic() -> None:
    topics = [TopicDef("climate", "Climate", "", ("climate",), ())]
    regions = [RegionDef("world", "World", ("FR",), ("Europe",))]
    countries = [CountryDef("FR", "France", "world", ("French",))]
    tags = Tagger(topics, countries, regions).tag("HRC55: French climate", "Europe")
    assert tags.topics == {"climate"}
    assert tags.countries == {"FR"}
    assert tags.regions == {"world"}
    assert tags.sessions == {55}


def test_from_files_reports_a_broken_directory(tmp_path: Path) -> None:
    with pytest.raises(TaxonomyError):
        Tagger.from_files(tmp_path)


def test_tags_are_hashable_and_frozen(tagger: Tagger) -> None:
    tags = tagger.tag("Sudan", "")
    assert hash(tags) == hash(tagger.tag("Sudan", ""))
    with pytest.raises(AttributeError):
        tags.countries = frozenset()  # type: ignore[misc]


def test_tagging_ten_thousand_articles_is_fast(tagger: Tagger) -> None:
    title = "South Sudan: UN experts urge release of women human rights defenders"
    summary = (
        "<p>The Special Rapporteur said Sudanese and South Sudanese activists face reprisals "
        "for cooperating with the Human Rights Council, ahead of HRC56 in Geneva. Civil "
        "society groups in Kenya, Uganda and the Democratic Republic of the Congo agree.</p>"
    )
    start = time.process_time()
    for i in range(10_000):
        tagger.tag(f"{title} {i}", summary, ["Human rights defenders"])
    elapsed = time.process_time() - start
    print(f"\ntagged 10,000 articles in {elapsed:.2f}s of CPU time")
    assert elapsed < 2.0


@pytest.mark.parametrize(
    "text",
    [
        "Latin American and Inter-American bodies met US officials",
        "South Sudanese and Sudanese women human rights defenders",
        "Nigerien and Nigerian lawyers in the Niger Delta",
        "Papua New Guinea, Guinea-Bissau, Equatorial Guinea and Guinea",
        "DR Congo, Congo and the Democratic Republic of the Congo",
        "North African and South African civil society in Central Asia",
        "African American and Afro-descendant activists in the Americas",
        "Dominica and the Dominican Republic at the Universal Periodic Review",
    ],
)
def test_one_pass_finds_what_each_matcher_finds_alone(
    tagger: Tagger,
    countries: list[CountryDef],
    regions: list[RegionDef],
    topics: list[TopicDef],
    text: str,
) -> None:
    tags = tagger.tag(text, "")
    assert tags.countries == CountryMatcher(countries).find(text)
    region_of = {c.code: c.region for c in countries}
    expected_regions = RegionMatcher(regions).find(text) | {region_of[c] for c in tags.countries}
    assert tags.regions == expected_regions
    assert tags.topics == TopicMatcher(topics).find(text)
