import re
from collections import Counter
from pathlib import Path

import pycountry
import pytest

from alerts.taxonomy import TaxonomyError
from alerts.taxonomy.regions import RegionDef, RegionMatcher, load_regions, region_of

SLUGS = ["africa", "americas", "asia-pacific", "europe", "mena"]


@pytest.fixture(scope="module")
def matcher(regions: list[RegionDef]) -> RegionMatcher:
    return RegionMatcher(regions)


def test_the_five_regions(regions: list[RegionDef]) -> None:
    assert [r.slug for r in regions] == SLUGS
    assert {r.slug: r.name for r in regions}["mena"] == "Middle East and North Africa"


def test_every_pycountry_code_is_in_exactly_one_region(regions: list[RegionDef]) -> None:
    counts = Counter(code for r in regions for code in r.countries)
    iso = {c.alpha_2 for c in pycountry.countries}
    assert set(counts) == iso, f"missing: {iso - set(counts)}, unknown: {set(counts) - iso}"
    assert [code for code, n in counts.items() if n > 1] == []


@pytest.mark.parametrize(
    ("code", "slug"),
    [
        ("TR", "europe"),
        ("RU", "europe"),
        ("KZ", "europe"),
        ("UZ", "europe"),
        ("AM", "europe"),
        ("GE", "europe"),
        ("CY", "europe"),
        ("IL", "mena"),
        ("IR", "mena"),
        ("EH", "mena"),
        ("EG", "mena"),
        ("SD", "africa"),
        ("MR", "africa"),
        ("AQ", "asia-pacific"),
        ("GL", "americas"),
        ("IO", "africa"),
        ("UM", "asia-pacific"),
        ("AU", "asia-pacific"),
        ("US", "americas"),
    ],
)
def test_region_placement(regions: list[RegionDef], code: str, slug: str) -> None:
    assert region_of(regions)[code] == slug


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "regions.toml"
    path.write_text(body, encoding="utf-8")
    return path


def test_a_code_in_two_regions_is_an_error(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        '[[region]]\nslug = "a"\nname = "A"\ncountries = ["FR"]\n'
        '[[region]]\nslug = "b"\nname = "B"\ncountries = ["FR"]\n',
    )
    with pytest.raises(TaxonomyError, match="FR is already in region 'a'"):
        load_regions(path)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('[[region]]\nslug = "a"\nname = "A"\ncountries = ["XX"]\n', "not an ISO 3166-1"),
        ('[[region]]\nslug = "a"\nname = "A"\ncountries = ["fr"]\n', "not an ISO 3166-1"),
        ('[[region]]\nslug = "a"\nname = "A"\ncountries = "FR"\n', "list of non-empty strings"),
        ('[[region]]\nslug = "A B"\nname = "A"\ncountries = []\n', "slug"),
        ('[[region]]\nname = "A"\ncountries = []\n', "'slug'"),
        ("region = 1\n", "no [[region]] entries"),
        ("[[region]\n", "not valid TOML"),
    ],
)
def test_malformed_files(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(TaxonomyError, match=re.escape(message)):
        load_regions(_write(tmp_path, body))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(TaxonomyError, match="cannot read"):
        load_regions(tmp_path / "nope.toml")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("across Africa", {"africa"}),
        ("African defenders", {"africa"}),
        ("North Africa", {"mena"}),
        ("North African states", {"mena"}),
        ("the Middle East", {"mena"}),
        ("MENA", {"mena"}),
        ("Latin America", {"americas"}),
        ("Latin American defenders", {"americas"}),
        ("the Americas", {"americas"}),
        ("Inter-American Court", {"americas"}),
        ("Asia-Pacific", {"asia-pacific"}),
        ("Asia Pacific", {"asia-pacific"}),
        ("South-East Asia", {"asia-pacific"}),
        ("Asia", {"asia-pacific"}),
        ("Central Asia", {"europe"}),
        ("Central Asian republics", {"europe"}),
        ("Europe", {"europe"}),
        ("European States", {"europe"}),
        ("the EU", {"europe"}),
        ("Europe and Asia", {"europe", "asia-pacific"}),
        ("African American activists", set()),
        ("people of African descent", set()),
        ("eu", set()),
        ("Amazon warehouse workers", set()),
        ("American", set()),
    ],
)
def test_region_words(matcher: RegionMatcher, text: str, expected: set[str]) -> None:
    assert matcher.find(text) == expected
