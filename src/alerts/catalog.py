"""The topics and countries subscribers choose from: synced from files, read from the database."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.db import insert_for
from alerts.models import Country, Topic
from alerts.taxonomy.countries import load_countries
from alerts.taxonomy.regions import load_regions
from alerts.taxonomy.topics import load_topics


@dataclass(frozen=True)
class TopicChoice:
    """A topic as offered on the preference pages."""

    slug: str
    name: str
    description: str


@dataclass(frozen=True)
class CountryChoice:
    """A country as offered on the preference pages."""

    code: str
    name: str
    region: str


@dataclass(frozen=True)
class RegionChoice:
    """A region and its countries, in display order."""

    slug: str
    name: str
    countries: tuple[CountryChoice, ...]


@dataclass(frozen=True)
class Catalog:
    """Everything a subscriber can choose, loaded once and shared read-only."""

    topics: tuple[TopicChoice, ...]
    regions: tuple[RegionChoice, ...]

    @property
    def topic_slugs(self) -> frozenset[str]:
        """Return every known topic slug."""
        return frozenset(t.slug for t in self.topics)

    @property
    def country_codes(self) -> frozenset[str]:
        """Return every known country code."""
        return frozenset(c.code for r in self.regions for c in r.countries)


async def sync_catalog(session: AsyncSession, feeds_dir: Path) -> tuple[int, int]:
    """Upsert topics and countries from the shipped files; return how many of each."""
    topics = load_topics(feeds_dir / "topics.toml")
    for position, topic in enumerate(topics):
        stmt = insert_for(session, Topic.__table__).values(
            slug=topic.slug, name=topic.name, description=topic.description, position=position
        )
        await session.execute(
            stmt.on_conflict_do_update(
                index_elements=["slug"],
                set_={"name": topic.name, "description": topic.description, "position": position},
            )
        )
    countries = load_countries(feeds_dir / "regions.toml")
    rows = [{"code": c.code, "name": c.name, "region": c.region} for c in countries]
    stmt = insert_for(session, Country.__table__).values(rows)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=["code"],
            set_={"name": stmt.excluded.name, "region": stmt.excluded.region},
        )
    )
    known = [c.code for c in countries]
    await session.execute(delete(Country).where(Country.code.not_in(known)))
    return len(topics), len(countries)


async def load_catalog(session: AsyncSession, feeds_dir: Path) -> Catalog:
    """Read the catalog from the database, grouping countries by region."""
    topics = tuple(
        TopicChoice(t.slug, t.name, t.description)
        for t in await session.scalars(select(Topic).order_by(Topic.position, Topic.name))
    )
    countries = list(await session.scalars(select(Country).order_by(Country.name)))
    regions = []
    for region in load_regions(feeds_dir / "regions.toml"):
        members = tuple(
            CountryChoice(c.code, c.name, c.region) for c in countries if c.region == region.slug
        )
        regions.append(RegionChoice(region.slug, region.name, members))
    return Catalog(topics=topics, regions=tuple(regions))
