"""`alerts feeds` through click's CliRunner against the test database."""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from alerts.cli import cli
from alerts.config import PROJECT_ROOT, Settings
from alerts.db import create_engine, create_sessionmaker
from alerts.models import Article
from tests.ingest.feeds import CHINA, HRC55, rss

FEED = rss(CHINA, HRC55)


class FeedHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml")
        self.send_header("Content-Length", str(len(FEED)))
        self.end_headers()
        self.wfile.write(FEED)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def feed_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FeedHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/feed.xml"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def run(settings: Settings, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch) -> Any:
    env = {
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "SMTP_URL": settings.smtp_url,
        "SECRET_KEY": settings.secret_key,
        "ENVIRONMENT": "test",
        "VAR_DIR": str(settings.var_dir),
        "FEED_ALLOWED_HOSTS": "127.0.0.1",
        "COLUMNS": "250",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(cli, ["feeds", *args], catch_exceptions=False)

    return invoke


def titles(settings: Settings) -> list[str]:
    async def go() -> list[str]:
        engine = create_engine(settings.db_url)
        try:
            async with create_sessionmaker(engine)() as session:
                return list(await session.scalars(select(Article.title).order_by(Article.id)))
        finally:
            await engine.dispose()

    return asyncio.run(go())


def test_import_fetch_and_list_the_shipped_sources(run: Any, settings: Settings) -> None:
    opml = str(PROJECT_ROOT / "feeds" / "sources.opml")
    first = run("import", opml)
    assert first.exit_code == 0, first.output
    assert "Added 4 sources; 0 already followed." in first.output
    assert "Added 0 sources; 4 already followed." in run("import", opml).output
    fetched = run("fetch", "--all")
    assert fetched.exit_code == 0, fetched.output
    match = re.search(r"Fetched 4 sources: (\d+) new articles, 1 duplicates", fetched.output)
    assert match and int(match[1]) >= 35
    listed = run("list").output
    assert "Council Watch" in listed and "topics: un-system" in listed
    assert "never" not in listed and listed.count(" yes ") == 4
    assert "HRC61: Key issues on agenda of February 2026 session" in titles(settings)


def test_add_fetch_and_retag(run: Any, settings: Settings, feed_url: str) -> None:
    added = run("add", feed_url, "--title", "Local news", "--topic", "reprisals")
    assert added.exit_code == 0, added.output
    assert added.output.strip() == f"Following source #1: {feed_url}"
    fetched = run("fetch", "1")
    assert "Fetched 1 sources: 2 new articles, 0 duplicates, 0 skipped; 0 failed." in fetched.output
    retagged = run("retag", "1", "--topic", "digital-rights", "--country", "hk", "--by", "ed")
    assert retagged.exit_code == 0, retagged.output
    again = run("fetch", feed_url)
    assert "0 new articles, 2 duplicates" in again.output
    assert "Tagged 1 articles again" in run("retag-all").output
    listed = run("list").output
    assert "Local news" in listed and "topics: reprisals" in listed


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("add", "http://127.0.0.1:1/feed", "--topic", "unicorns"), "Unknown topic: unicorns"),
        (("add", "http://10.0.0.1/feed"), "Refused: resolves to a private address"),
        (("add", "not a url"), "Not a valid feed URL"),
        (("add", "gopher://127.0.0.1/feed"), "only http and https"),
        (("add", "http://127.0.0.1:1/f", "--interval", "1"), "between 5 minutes and 7 days"),
        (("retag", "424242", "--topic", "reprisals"), "No article #424242"),
        (("retag", "1"), "Give --topic and/or --country"),
        (("fetch",), "Give source ids or URLs, or --all"),
        (("fetch", "99"), "No source with id or URL '99'"),
        (("import", "/nonexistent.opml"), "does not exist"),
    ],
)
def test_bad_input_gets_a_plain_error(run: Any, args: tuple[str, ...], message: str) -> None:
    result = run(*args)
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output


def test_unknown_country_in_retag(run: Any, feed_url: str) -> None:
    run("add", feed_url)
    run("fetch", "--all")
    result = run("retag", "1", "--country", "XX")
    assert result.exit_code == 1
    assert "unknown country code XX" in result.output


def test_empty_list_says_how_to_add(run: Any) -> None:
    assert "No sources yet" in run("list").output
