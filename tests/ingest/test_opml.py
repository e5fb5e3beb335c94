"""Importing OPML: idempotent, relative file: URLs, categories as default topics."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from alerts.config import PROJECT_ROOT
from alerts.db import Sessionmaker
from alerts.ingest.opml import import_opml, parse_opml, resolve_file_url
from alerts.ingest.sources import SourceError, list_sources
from alerts.models import Source

SHIPPED = (PROJECT_ROOT / "feeds" / "sources.opml").read_bytes()


async def run_import(
    sessionmaker: Sessionmaker, data: bytes, base: Path
) -> tuple[int, int, tuple[str, ...]]:
    async with sessionmaker.begin() as session:
        result = await import_opml(
            session, data, base_dir=base, allowed_hosts={"127.0.0.1"}, default_interval=3600
        )
    return result.added, result.existing, result.problems


async def test_importing_the_shipped_list_twice_gives_the_same_sources(
    sessionmaker: Sessionmaker,
) -> None:
    feeds = PROJECT_ROOT / "feeds"
    assert await run_import(sessionmaker, SHIPPED, feeds) == (4, 0, ())
    assert await run_import(sessionmaker, SHIPPED, feeds) == (0, 4, ())
    async with sessionmaker() as session:
        sources = await list_sources(session)
    assert len(sources) == 4
    assert all(s.url.startswith("file:///") and Path(s.url[7:]).is_file() for s in sources)
    assert sources[1].title == "Council Watch" and sources[1].topics == ("un-system",)


async def test_problems_are_reported_and_good_outlines_kept(
    sessionmaker: Sessionmaker, tmp_path: Path
) -> None:
    opml = b"""<?xml version="1.0"?><opml version="2.0"><head/><body>
      <outline text="Local" xmlUrl="http://127.0.0.1:9/feed" category="Reprisals,/Tech"/>
      <outline text="Private" xmlUrl="http://10.0.0.1/feed"/>
      <outline text="Folder"><outline text="Nested" xmlUrl="http://127.0.0.1:9/nested"/></outline>
    </body></opml>"""
    added, existing, problems = await run_import(sessionmaker, opml, tmp_path)
    assert (added, existing) == (2, 0)
    assert problems == (
        "Local: unknown category '/Tech'",
        "Private: Refused: resolves to a private address (10.0.0.1)",
    )
    async with sessionmaker() as session:
        urls = (await session.scalars(select(Source.url).order_by(Source.id))).all()
    assert urls == ["http://127.0.0.1:9/feed", "http://127.0.0.1:9/nested"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"<html><body>hi</body></html>", "root element is not <opml>"),
        (b"not xml", "Not an OPML file"),
        (b'<!DOCTYPE x [<!ENTITY a "b">]><opml/>', "DOCTYPE"),
    ],
)
def test_bad_documents_are_refused(data: bytes, message: str) -> None:
    with pytest.raises(SourceError, match=message):
        parse_opml(data, base_dir=Path("/tmp"))


def test_relative_file_urls_resolve_against_the_feeds_dir(tmp_path: Path) -> None:
    assert resolve_file_url("file:samples/a.xml", tmp_path) == (tmp_path / "samples/a.xml").as_uri()
    assert resolve_file_url("file:///srv/a.xml", tmp_path) == "file:///srv/a.xml"
    assert resolve_file_url("https://x.example.org/a", tmp_path) == "https://x.example.org/a"
