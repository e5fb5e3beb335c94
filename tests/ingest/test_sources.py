"""Adding sources: the address guard, file: URLs by origin, topics and intervals."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from sqlalchemy import select

from alerts.db import Sessionmaker
from alerts.errors import NotFound
from alerts.ingest.sources import (
    SourceError,
    add_source,
    find_source_ids,
    list_sources,
)
from alerts.models import Source

ALLOWED = frozenset({"127.0.0.1"})


async def fake_dns(host: str, port: int) -> Sequence[str]:
    table = {
        "intranet.example.org": ["10.0.0.7"],
        "localhost": ["127.0.0.1", "::1"],
        "news.example.org": ["93.184.216.34"],
    }
    return table[host]


async def add(sessionmaker: Sessionmaker, url: str, **kwargs: object) -> Source:
    async with sessionmaker.begin() as session:
        kwargs.setdefault("origin", "cli")
        return await add_source(
            session,
            url,
            allowed_hosts=ALLOWED,
            default_interval=3600,
            resolver=fake_dns,
            **kwargs,  # type: ignore[arg-type]
        )


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://10.1.2.3/feed", "private address"),
        ("http://localhost/feed", "loopback"),
        ("http://[::1]/feed", "loopback"),
        ("http://169.254.169.254/latest", "link-local"),
        ("http://intranet.example.org/rss", "private address"),
        ("ftp://news.example.org/rss", "only http and https"),
        ("not a url", "Not a valid feed URL"),
    ],
)
async def test_unsafe_urls_are_refused(sessionmaker: Sessionmaker, url: str, message: str) -> None:
    with pytest.raises(SourceError, match=message):
        await add(sessionmaker, url)


async def test_public_and_allowed_hosts_are_accepted_with_topics(
    sessionmaker: Sessionmaker,
) -> None:
    public = await add(
        sessionmaker, "https://news.example.org/rss", topics=["reprisals"], interval_minutes=30
    )
    local = await add(sessionmaker, "http://127.0.0.1:8080/feed", title="  Local  ")
    assert (public.fetch_interval, local.title, local.fetch_interval) == (1800, "Local", 3600)
    async with sessionmaker() as session:
        health = await list_sources(session)
        assert [h.topics for h in health] == [("reprisals",), ()]
        ids = await find_source_ids(session, [str(local.id), "https://news.example.org/rss"])
        assert ids == [local.id, public.id]
        with pytest.raises(NotFound, match="No source"):
            await find_source_ids(session, ["999"])
    with pytest.raises(SourceError, match="Already followed"):
        await add(sessionmaker, "https://news.example.org/rss")


async def test_bad_topic_and_interval_are_refused(sessionmaker: Sessionmaker) -> None:
    with pytest.raises(SourceError, match="Unknown topic: unicorns"):
        await add(sessionmaker, "https://news.example.org/rss", topics=["unicorns"])
    with pytest.raises(SourceError, match="between 5 minutes and 7 days"):
        await add(sessionmaker, "https://news.example.org/rss", interval_minutes=1)
    async with sessionmaker() as session:
        assert (await session.scalars(select(Source))).all() == []


async def test_file_urls_only_from_the_command_line(
    sessionmaker: Sessionmaker, tmp_path: Path
) -> None:
    path = tmp_path / "feed.xml"
    path.write_text("<rss/>")
    for origin in ("api", "web"):
        with pytest.raises(SourceError, match="only be added from the command line"):
            await add(sessionmaker, path.as_uri(), origin=origin)
    with pytest.raises(SourceError, match="No such file"):
        await add(sessionmaker, (tmp_path / "missing.xml").as_uri())
    source = await add(sessionmaker, path.as_uri())
    assert source.origin == "cli"
