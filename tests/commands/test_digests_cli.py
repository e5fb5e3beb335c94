"""`alerts digests`: digests and editions from the command line, through the same services."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import func, select

from alerts.cli import cli
from alerts.config import Settings
from alerts.db import Sessionmaker
from alerts.editors import audit
from alerts.models import AuditEntry, Digest, DigestStatus, Edition
from alerts.timeutil import utcnow
from tests.support.digests import TWO_ARTICLES, make_subscriber, weekly_digest_with_articles
from tests.support.smtp import RecordingSMTP, body_text

TITLES = tuple(title for title, _, _ in TWO_ARTICLES)


@pytest.fixture
def cli_env(
    monkeypatch: pytest.MonkeyPatch, settings: Settings, engine: Any, redis: Any, tmp_path: Path
) -> None:
    """Point the command at the test database, Redis and SMTP server."""
    monkeypatch.chdir(tmp_path)
    for name, value in {
        "ENVIRONMENT": "test",
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "SMTP_URL": settings.smtp_url,
        "BASE_URL": settings.base_url,
        "SECRET_KEY": settings.secret_key,
        "VAR_DIR": str(settings.var_dir),
    }.items():
        monkeypatch.setenv(name, value)


async def run(*args: str) -> Result:
    """Run `alerts ...` in a thread, as the CLI starts its own event loop."""
    return await asyncio.to_thread(CliRunner().invoke, cli, list(args))


def ok(result: Result) -> str:
    assert result.exit_code == 0, result.output
    return result.output


def failed(result: Result, message: str, code: int = 1) -> None:
    assert result.exit_code == code, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


async def seed(sessionmaker: Sessionmaker) -> Digest:
    async with sessionmaker.begin() as session:
        digest = await weekly_digest_with_articles(session, utcnow())
        await make_subscriber(session, email="sudan@example.org", countries=["SD"])
        await make_subscriber(session)
        return digest


async def actions(sessionmaker: Sessionmaker) -> list[tuple[str, str, str]]:
    async with sessionmaker() as session:
        entries = await session.scalars(select(AuditEntry).order_by(AuditEntry.id))
        return [(e.actor, e.action, e.subject) for e in entries]


async def test_create_list_set_pause_resume(cli_env: None, sessionmaker: Sessionmaker) -> None:
    output = ok(
        await run(
            "digests", "create", "--slug", "hrc", "--name", "HRC weekly", "--cron", "0 8 * * 1",
            "--audience", "weekly", "--topics", "reprisals, civic-space",
        )
    )  # fmt: skip
    assert "Created digest hrc; next run 20" in output
    listing = ok(await run("digests", "list"))
    assert listing.splitlines()[0].split() == [
        "SLUG", "NAME", "STATUS", "AUDIENCE", "SCHEDULE", "NEXT", "RUN",
    ]  # fmt: skip
    assert "HRC weekly" in listing and "0 8 * * 1" in listing
    ok(await run("digests", "set", "hrc", "--name", "HRC briefing", "--countries", "ch,fr"))
    ok(await run("digests", "pause", "hrc"))
    async with sessionmaker() as session:
        digest = await session.scalar(select(Digest).where(Digest.slug == "hrc"))
    assert digest is not None
    assert (digest.name, digest.status) == ("HRC briefing", DigestStatus.PAUSED)
    ok(await run("digests", "resume", "hrc"))
    actor = audit.cli_actor()
    assert await actions(sessionmaker) == [
        (actor, "digest.create", "hrc"),
        (actor, "digest.update", "hrc"),
        (actor, "digest.pause", "hrc"),
        (actor, "digest.resume", "hrc"),
    ]


async def test_create_from_json_and_clear_errors(
    cli_env: None, sessionmaker: Sessionmaker, tmp_path: Path
) -> None:
    spec = tmp_path / "digest.json"
    spec.write_text(json.dumps({"slug": "daily", "name": "Daily", "cron": "0 7 * * *",
                                "audience": "daily", "sections": ["articles"]}))  # fmt: skip
    ok(await run("digests", "create", "--from-json", str(spec)))
    failed(await run("digests", "create", "--from-json", str(spec)), "daily exists already")
    failed(
        await run("digests", "create", "--slug", "x", "--name", "X", "--cron", "whenever"),
        "Not a valid cron expression",
    )
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    failed(await run("digests", "create", "--from-json", str(bad)), "is not valid JSON")
    failed(await run("digests", "set", "nope", "--name", "X"), "No digest nope.")
    failed(await run("digests", "set", "daily"), "Give at least one field", code=2)
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Digest)) == 1


async def test_preview_as_a_subscriber_and_to_a_file(
    cli_env: None, sessionmaker: Sessionmaker, tmp_path: Path
) -> None:
    await seed(sessionmaker)
    output = ok(await run("digests", "preview", "weekly", "--subscriber", "sudan@example.org"))
    assert output.startswith("Subject: Weekly digest: 1 new articles")
    assert TITLES[1] in output and TITLES[0] not in output
    target = tmp_path / "preview.html"
    output = ok(
        await run("digests", "preview", "weekly", "--format", "html", "--output", str(target))
    )
    assert f"to {target}" in output
    html = target.read_text()
    assert html.lstrip().lower().startswith("<!doctype html") and all(t in html for t in TITLES)
    failed(
        await run("digests", "preview", "weekly", "--subscriber", "who@example.org"),
        "No subscriber",
    )
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Edition)) == 0


async def test_send_a_test(cli_env: None, sessionmaker: Sessionmaker, smtp: RecordingSMTP) -> None:
    await seed(sessionmaker)
    output = ok(await run("digests", "test", "weekly", "--to", "me@example.org"))
    assert "Sent '[Test] Weekly digest: 2 new articles' to me@example.org" in output
    [message] = smtp.to("me@example.org")
    assert all(t in body_text(message) for t in TITLES)
    failed(await run("digests", "test", "weekly", "--to", "nobody"), "to: This is not a valid")
    assert [a for _, a, _ in await actions(sessionmaker)] == ["digest.test"]


async def test_send_now_list_and_control_editions(
    cli_env: None, sessionmaker: Sessionmaker, redis: Any
) -> None:
    await seed(sessionmaker)
    output = ok(await run("digests", "send-now", "weekly"))
    async with sessionmaker() as session:
        edition_id = await session.scalar(select(Edition.id))
    assert output.strip() == f"Edition {edition_id} is sending to 2 subscribers."
    assert await redis.exists(f"arq:job:edition:{edition_id}:0")
    table = ok(await run("digests", "editions", "--digest", "weekly")).splitlines()
    assert table[0].split() == [
        "ID", "DIGEST", "DUE", "STATUS", "PLANNED", "SENT", "FAILED", "SKIPPED", "PENDING",
    ]  # fmt: skip
    assert table[1].split()[:2] == [str(edition_id), "weekly"]
    assert table[1].split()[-6:] == ["sending", "2", "0", "0", "0", "2"]
    assert "paused" in ok(await run("digests", "edition", "pause", str(edition_id)))
    failed(await run("digests", "edition", "pause", str(edition_id)), "only a sending edition")
    await redis.flushdb()
    assert "is sending" in ok(await run("digests", "edition", "resume", str(edition_id)))
    assert await redis.exists(f"arq:job:edition:{edition_id}:0")
    assert "cancelled" in ok(await run("digests", "edition", "cancel", str(edition_id)))
    failed(await run("digests", "edition", "cancel", "424242"), "No edition 424242.")
    failed(await run("digests", "edition", "cancel", "x"), "is not a valid integer", code=2)
    assert [a for _, a, _ in await actions(sessionmaker)] == [
        "digest.send_now", "edition.pause", "edition.resume", "edition.cancel",
    ]  # fmt: skip
