from pathlib import Path

import pytest

from alerts.taxonomy.countries import CountryDef, load_countries
from alerts.taxonomy.regions import RegionDef, load_regions
from alerts.taxonomy.tagger import Tagger
from alerts.taxonomy.topics import TopicDef, load_topics

FEEDS = Path(__file__).resolve().parents[2] / "feeds"


@pytest.fixture(scope="session")
def feeds_dir() -> Path:
    return FEEDS


@pytest.fixture(scope="session")
def topics() -> list[TopicDef]:
    return load_topics(FEEDS / "topics.toml")


@pytest.fixture(scope="session")
def regions() -> list[RegionDef]:
    return load_regions(FEEDS / "regions.toml")


@pytest.fixture(scope="session")
def countries() -> list[CountryDef]:
    return load_countries(FEEDS / "regions.toml")


@pytest.fixture(scope="session")
def tagger() -> Tagger:
    return Tagger.from_files(FEEDS)
