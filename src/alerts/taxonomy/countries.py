"""Every ISO 3166-1 country with its names, and a matcher that finds them in text."""

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pycountry

from alerts.taxonomy import TaxonomyError
from alerts.taxonomy.country_names import ALIASES, DEMONYMS, NAMES, NOT_COUNTRIES
from alerts.taxonomy.regions import load_regions, region_of
from alerts.taxonomy.text import TermMatcher, normalise

_PARENTHESIS = re.compile(r"\s*\([^)]*\)")


@dataclass(frozen=True)
class CountryDef:
    """A country: ISO alpha-2 code, short English name, region slug and other names."""

    code: str
    name: str
    region: str
    aliases: tuple[str, ...]


def _plural(word: str) -> str | None:
    return None if word.endswith(("s", "sh", "ch", "ese", "x", "z")) else word + "s"


def _pycountry_names(country: object) -> list[str]:
    names = []
    for attr in ("name", "common_name", "official_name"):
        value = getattr(country, attr, None)
        # "Korea, Republic of" style inversions are not how anyone writes; aliases cover them.
        if isinstance(value, str) and "," not in value:
            value = value.removeprefix("the ")
            names.extend([value, _PARENTHESIS.sub("", value)])
    return names


def _aliases(code: str, name: str, country: object) -> tuple[str, ...]:
    names = [*_pycountry_names(country), *ALIASES.get(code, ())]
    for demonym in DEMONYMS.get(code, ()):
        names.append(demonym)
        plural = _plural(demonym)
        if plural:
            names.append(plural)
    seen = {name}
    out = []
    for alias in names:
        if alias not in seen:
            seen.add(alias)
            out.append(alias)
    return tuple(out)


def _sort_key(country: CountryDef) -> str:
    return normalise(country.name).casefold()


def load_countries(regions_path: Path) -> list[CountryDef]:
    """Return every ISO 3166-1 country with its region, sorted by name."""
    regions = region_of(load_regions(regions_path))
    countries = []
    for c in pycountry.countries:
        code = c.alpha_2
        if code not in regions:
            raise TaxonomyError(f"{regions_path}: country {code} ({c.name}) is in no region")
        name = NAMES.get(code) or getattr(c, "common_name", None) or c.name
        countries.append(CountryDef(code, name, regions[code], _aliases(code, name, c)))
    return sorted(countries, key=_sort_key)


class CountryMatcher:
    """Find countries in text by name, alias or demonym, preferring the longest name."""

    def __init__(self, countries: Iterable[CountryDef]) -> None:
        """Compile every name of every country into one pattern."""
        terms: dict[str, str] = {}
        for country in countries:
            for term in (country.name, *country.aliases):
                terms[term] = country.code
        for phrase, code in NOT_COUNTRIES.items():
            terms[phrase] = code
            plural = _plural(phrase)
            if plural:
                terms[plural] = code
        self._terms = tuple(terms)
        self._matcher = TermMatcher(terms)

    @property
    def terms(self) -> tuple[str, ...]:
        """Return every spelling this matcher looks for."""
        return self._terms

    def find(self, text: str) -> set[str]:
        """Return the ISO alpha-2 codes of the countries named in the text."""
        return {code for code in self._matcher.find(normalise(text)) if code}
