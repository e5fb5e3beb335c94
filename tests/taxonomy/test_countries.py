from pathlib import Path

import pycountry
import pytest

from alerts.taxonomy import TaxonomyError
from alerts.taxonomy.countries import CountryDef, CountryMatcher, load_countries


@pytest.fixture(scope="module")
def matcher(countries: list[CountryDef]) -> CountryMatcher:
    return CountryMatcher(countries)


def test_every_pycountry_country_is_loaded_once(countries: list[CountryDef]) -> None:
    codes = [c.code for c in countries]
    assert len(codes) == len(set(codes)) == 249
    assert set(codes) == {c.alpha_2 for c in pycountry.countries}
    assert all(len(code) == 2 and code.isupper() for code in codes)


def test_countries_are_sorted_by_name_ignoring_accents(countries: list[CountryDef]) -> None:
    names = [c.name for c in countries]
    assert names.index("Åland Islands") < names.index("Albania")
    assert names.index("Tunisia") < names.index("Türkiye") < names.index("Turkmenistan")
    assert names[0] == "Afghanistan"


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("BO", "Bolivia"),
        ("IR", "Iran"),
        ("RU", "Russia"),
        ("SY", "Syria"),
        ("VE", "Venezuela"),
        ("CD", "Democratic Republic of the Congo"),
        ("CG", "Congo"),
        ("PS", "Palestine"),
        ("KP", "North Korea"),
        ("KR", "South Korea"),
        ("TW", "Taiwan"),
        ("TR", "Türkiye"),
        ("TZ", "Tanzania"),
        ("VA", "Holy See"),
        ("CI", "Côte d'Ivoire"),
    ],
)
def test_short_names(countries: list[CountryDef], code: str, name: str) -> None:
    assert {c.code: c.name for c in countries}[code] == name


def test_no_display_name_is_an_inverted_iso_name(countries: list[CountryDef]) -> None:
    lists = {"BQ", "SH"}  # "Bonaire, Sint Eustatius and Saba" is a list, not an inversion
    inverted = [c.name for c in countries if "," in c.name and c.code not in lists]
    assert inverted == []


def test_aliases_include_official_names_and_demonyms(countries: list[CountryDef]) -> None:
    by_code = {c.code: c for c in countries}
    assert "Democratic People's Republic of Korea" in by_code["KP"].aliases
    assert "Chinese" in by_code["CN"].aliases
    assert "Turkey" in by_code["TR"].aliases
    assert "Filipinos" in by_code["PH"].aliases
    assert by_code["CN"].name not in by_code["CN"].aliases


def test_regions_come_from_the_regions_file(countries: list[CountryDef]) -> None:
    by_code = {c.code: c.region for c in countries}
    assert by_code["TR"] == "europe"
    assert by_code["KZ"] == "europe"
    assert by_code["EG"] == "mena"
    assert by_code["SD"] == "africa"
    assert by_code["BR"] == "americas"
    assert by_code["FJ"] == "asia-pacific"


def test_a_country_missing_from_every_region_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "regions.toml"
    path.write_text('[[region]]\nslug = "somewhere"\nname = "Somewhere"\ncountries = ["FR"]\n')
    with pytest.raises(TaxonomyError, match="is in no region"):
        load_countries(path)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("A Chinese human rights defender", {"CN"}),
        ("DPRK: new report", {"KP"}),
        ("the Democratic People's Republic of Korea", {"KP"}),
        ("North Korean escapees", {"KP"}),
        ("Republic of Korea", {"KR"}),
        ("Türkiye", {"TR"}),
        ("Turkiye", {"TR"}),
        ("Turkey", {"TR"}),
        ("Turkish lawyers", {"TR"}),
        ("the occupied Palestinian territory", {"PS"}),
        ("Occupied Palestinian Territories", {"PS"}),
        ("in the OPT", {"PS"}),
        ("in the oPt", {"PS"}),
        ("Gaza", {"PS"}),
        ("the West Bank", {"PS"}),
        ("Burma", {"MM"}),
        ("Ivory Coast", {"CI"}),
        ("Côte d'Ivoire", {"CI"}),
        ("Côte d\u2019Ivoire", {"CI"}),
        ("Cote d'Ivoire", {"CI"}),
        ("Czechia", {"CZ"}),
        ("the Czech Republic", {"CZ"}),
        ("Eswatini", {"SZ"}),
        ("Swaziland", {"SZ"}),
        ("UK", {"GB"}),
        ("Britain", {"GB"}),
        ("British police", {"GB"}),
        ("US", {"US"}),
        ("U.S. sanctions", {"US"}),
        ("USA", {"US"}),
        ("the United States", {"US"}),
        ("American companies", {"US"}),
        ("Timor Leste", {"TL"}),
        ("Guinea Bissau", {"GW"}),
        ("Trinidad & Tobago", {"TT"}),
        ("St Lucia", {"LC"}),
        ("Saint Vincent and the Grenadines", {"VC"}),
        ("Bosnia and Herzegovina", {"BA"}),
        ("Réunion", {"RE"}),
        ("CHINA: UN EXPERTS", {"CN"}),
        ("Philippines", {"PH"}),
        ("Filipino activists", {"PH"}),
        ("Palestinians", {"PS"}),
    ],
)
def test_names_aliases_and_demonyms(matcher: CountryMatcher, text: str, expected: set[str]) -> None:
    assert matcher.find(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("South Sudan", {"SS"}),
        ("South Sudanese activists", {"SS"}),
        ("Sudan", {"SD"}),
        ("Sudanese refugees", {"SD"}),
        ("Sudan and South Sudan", {"SD", "SS"}),
        ("Niger", {"NE"}),
        ("Nigerien authorities", {"NE"}),
        ("Nigeria", {"NG"}),
        ("Nigerian police", {"NG"}),
        ("the Niger Delta", {"NG"}),
        ("Guinea", {"GN"}),
        ("Guinean", {"GN"}),
        ("Papua New Guinea", {"PG"}),
        ("Equatorial Guinea", {"GQ"}),
        ("Guinea-Bissau", {"GW"}),
        ("Gulf of Guinea piracy", set()),
        ("a guinea pig", set()),
        ("Guinea pigs for spyware", set()),
        ("Congo", {"CG"}),
        ("Republic of the Congo", {"CG"}),
        ("Republic of Congo", {"CG"}),
        ("Democratic Republic of the Congo", {"CD"}),
        ("the Democratic Republic of Congo", {"CD"}),
        ("DRC", {"CD"}),
        ("DR Congo", {"CD"}),
        ("Congolese", set()),
        ("Dominica", {"DM"}),
        ("Dominican Republic", {"DO"}),
        ("Dominican authorities", {"DO"}),
        ("Korea", set()),
        ("Korean", set()),
        ("Georgia", {"GE"}),
        ("Jordan", {"JO"}),
        ("Chad", {"TD"}),
        ("Mali and Somalia", {"ML", "SO"}),
        ("Oman and Romania", {"OM", "RO"}),
        ("Iran and Iraq", {"IR", "IQ"}),
        ("India and the Indian Ocean", {"IN"}),
        ("American Samoa", {"AS"}),
        ("Samoa", {"WS"}),
        ("British Virgin Islands", {"VG"}),
        ("United States Minor Outlying Islands", {"UM"}),
        ("Central African Republic", {"CF"}),
        ("South African", {"ZA"}),
        ("Northern Ireland", {"GB"}),
        ("Ireland", {"IE"}),
        ("Hong Kong and Macau", {"HK", "MO"}),
        ("New Ireland province", {"PG"}),
    ],
)
def test_longest_name_wins(matcher: CountryMatcher, text: str, expected: set[str]) -> None:
    assert matcher.find(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Latin American defenders",
        "the Inter-American Commission",
        "South America and Central America",
        "North American investors",
        "tell us what to do; let us in",
        "Us and them",
        "usa",
        "a uk-based charity",
        "she wore a jersey",
        "a family reunion",
        "polish the text",
        "Geneva and New York",
        "Human Rights Council",
        "the Americas",
        "Americas",
    ],
)
def test_no_false_positives(matcher: CountryMatcher, text: str) -> None:
    assert matcher.find(text) == set()


def test_lower_case_common_names_still_count(matcher: CountryMatcher) -> None:
    assert matcher.find("nigerian and chinese lawyers") == {"NG", "CN"}


def test_several_countries_in_one_text(matcher: CountryMatcher) -> None:
    text = "Activists in Kenya, Uganda and the United Republic of Tanzania met Rwandan exiles."
    assert matcher.find(text) == {"KE", "UG", "TZ", "RW"}


def test_acronyms_match_only_in_capitals(matcher: CountryMatcher) -> None:
    assert matcher.find("DRC and drc") == {"CD"}
    assert matcher.find("dprk") == set()
    assert matcher.find("opt in to the newsletter") == set()
