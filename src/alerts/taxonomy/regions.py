"""The organisation's regions and the words that name them."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pycountry

from alerts.taxonomy import TaxonomyError
from alerts.taxonomy._toml import check_slug, get_str, get_strs, read_tables
from alerts.taxonomy.text import TermMatcher, normalise

# Phrases that contain a region word but are about somewhere else.
_NOT_REGIONS = {
    "African American": "",
    "African Americans": "",
    "African-American": "",
    "African-Americans": "",
    "people of African descent": "",
}


@dataclass(frozen=True)
class RegionDef:
    """A region: slug, display name, member countries and the words that name it."""

    slug: str
    name: str
    countries: tuple[str, ...]
    keywords: tuple[str, ...] = ()


def load_regions(path: Path) -> list[RegionDef]:
    """Read regions from a TOML file, checking that no country is in two regions."""
    known = {c.alpha_2 for c in pycountry.countries}
    regions: list[RegionDef] = []
    slugs: set[str] = set()
    owner: dict[str, str] = {}
    for i, table in enumerate(read_tables(path, "region"), start=1):
        where = f"{path}: region #{i}"
        slug = get_str(table, "slug", where)
        check_slug(slug, where, slugs)
        codes = get_strs(table, "countries", where)
        for code in codes:
            if code not in known:
                raise TaxonomyError(f"{where}: {code!r} is not an ISO 3166-1 alpha-2 code")
            if code in owner:
                raise TaxonomyError(f"{where}: {code} is already in region {owner[code]!r}")
            owner[code] = slug
        regions.append(
            RegionDef(
                slug=slug,
                name=get_str(table, "name", where),
                countries=codes,
                keywords=get_strs(table, "keywords", where),
            )
        )
    return regions


class RegionMatcher:
    """Find regions named outright in text ("Latin America", "MENA", "Central Asia")."""

    def __init__(self, regions: Iterable[RegionDef]) -> None:
        """Compile the keywords of every region into one pattern."""
        terms = {kw: r.slug for r in regions for kw in r.keywords}
        terms.update(_NOT_REGIONS)
        self._terms = tuple(terms)
        self._matcher = TermMatcher(terms)

    @property
    def terms(self) -> tuple[str, ...]:
        """Return every spelling this matcher looks for."""
        return self._terms

    def find(self, text: str) -> set[str]:
        """Return the slugs of regions named in the text."""
        return {slug for slug in self._matcher.find(normalise(text)) if slug}


def region_of(regions: Sequence[RegionDef]) -> dict[str, str]:
    """Map each country code to its region slug."""
    return {code: r.slug for r in regions for code in r.countries}


__all__ = ["RegionDef", "RegionMatcher", "load_regions", "region_of"]
