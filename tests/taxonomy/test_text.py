import pytest

from alerts.taxonomy.text import (
    TermMatcher,
    is_case_sensitive,
    normalise,
    strip_html,
    variants,
)


def test_strip_html_keeps_visible_text() -> None:
    html = "<p>Release <a href='/x'>Ding&nbsp;Jiaxi</a></p><script>var China = 1;</script>"
    assert normalise(strip_html(html)) == "Release Ding Jiaxi"


def test_strip_html_leaves_plain_text_alone() -> None:
    assert strip_html("Sudan and South Sudan") == "Sudan and South Sudan"


def test_normalise_folds_accents_quotes_dashes_and_space() -> None:
    assert normalise("  Côte d\u2019Ivoire \u2013\n Türkiye\u00a0") == "Cote d'Ivoire - Turkiye"


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("US", True),
        ("U.S.", True),
        ("DRC", True),
        ("oPt", True),
        ("BiH", True),
        ("LGBTIQ+", True),
        ("Polish", True),
        ("Congo", False),
        ("Côte d'Ivoire", False),
        ("Guinea-Bissau", False),
        ("Democratic People's Republic of Korea", False),
    ],
)
def test_is_case_sensitive(term: str, expected: bool) -> None:
    assert is_case_sensitive(term) is expected


def test_variants() -> None:
    assert variants("Saint Kitts and Nevis") >= {
        "Saint Kitts and Nevis",
        "Saint Kitts & Nevis",
        "St Kitts and Nevis",
        "St. Kitts and Nevis",
    }
    assert variants("Timor-Leste") == {"Timor-Leste", "Timor Leste"}


def test_term_matcher_prefers_the_longest_term_and_never_overlaps() -> None:
    matcher = TermMatcher({"Sudan": 1, "South Sudan": 2, "US": 3, "United States": 4})
    assert matcher.find("South Sudan, Sudan, the US, us, United States") == [2, 1, 3, 4]


def test_term_matcher_merges_exact_and_folded_terms_leftmost_longest() -> None:
    matcher = TermMatcher({"DR Congo": "CD", "Congo": "CG", "Congo Basin": ""})
    assert matcher.find("DR Congo and the Congo Basin; Congo") == ["CD", "", "CG"]


def test_term_matcher_suffix() -> None:
    matcher = TermMatcher({"defender": "hrd"}, suffix="(?:s|es)?")
    assert matcher.find("defenders defender defendership") == ["hrd", "hrd"]


def test_empty_matcher_finds_nothing() -> None:
    assert TermMatcher[int]({}).find("anything") == []
