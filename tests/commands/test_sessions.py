"""`alerts sessions`: list with countdowns, add, import an .ics file, sync the shipped calendar."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from alerts.cli import cli
from alerts.commands import sessions as sessions_cmd
from alerts.config import Settings
from alerts.db import Sessionmaker
from alerts.hrc.calendar import load_calendar
from alerts.hrc.ics import calendar_to_ics
from alerts.hrc.store import get_session, list_sessions

SHIPPED = load_calendar(Path(__file__).resolve().parents[2] / "feeds" / "hrc-sessions.toml")
NOW = datetime(2024, 3, 9, 23, 30, tzinfo=UTC)  # 10 March in Geneva


@pytest.fixture(autouse=True)
def cli_env(
    monkeypatch: pytest.MonkeyPatch, settings: Settings, engine: Any, tmp_path: Path
) -> None:
    """Point the command at the test database and fix its clock."""
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
    monkeypatch.setattr(sessions_cmd, "clock", lambda: NOW)


async def run(*args: str) -> Result:
    """Run `alerts sessions ...` in a thread, as the CLI starts its own event loop."""
    return await asyncio.to_thread(CliRunner().invoke, cli, ["sessions", *args])


def assert_failed(result: Result, message: str, code: int = 1) -> None:
    assert result.exit_code == code, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


async def test_sync_then_list_shows_countdowns_in_geneva_time(sessionmaker: Sessionmaker) -> None:
    result = await run("sync")
    assert result.exit_code == 0, result.output
    assert f"Loaded {len(SHIPPED.sessions)} sessions" in result.output
    async with sessionmaker() as session:
        assert await list_sessions(session) == list(SHIPPED.sessions)
    assert (await run("sync")).exit_code == 0
    listed = await run("list")
    assert listed.exit_code == 0, listed.output
    lines = listed.output.splitlines()
    assert lines[0].startswith("HRC52")
    assert "HRC54 closed on 13 October 2023" in listed.output
    assert "HRC55 is under way: day 14 of 40, closes 5 April" in listed.output
    assert "26 February 2024 to 5 April 2024" in listed.output
    assert "HRC56 opens in 100 days" in listed.output


async def test_list_when_empty_says_what_to_do() -> None:
    result = await run("list")
    assert result.exit_code == 0
    assert "alerts sessions sync" in result.output


async def test_add_a_tentative_session(sessionmaker: Sessionmaker) -> None:
    result = await run("add", "64", "--opens", "2027-02-22", "--closes", "2027-04-02")
    assert result.exit_code == 0, result.output
    assert "Added HRC64: 22 February 2027 to 2 April 2027 (tentative)." in result.output
    async with sessionmaker() as session:
        stored = await get_session(session, 64)
    assert stored is not None
    assert stored.tentative and stored.title == "64th regular session of the Human Rights Council"
    assert (stored.opens, stored.closes, stored.closed) == (
        date(2027, 2, 22),
        date(2027, 4, 2),
        None,
    )
    listed = await run("list")
    assert "HRC64 opens in about 1079 days (dates tentative)" in listed.output


async def test_add_confirmed_with_title_and_source(sessionmaker: Sessionmaker) -> None:
    result = await run(
        "add", "64", "--opens", "2027-02-22", "--closes", "2027-04-02", "--confirmed",
        "--title", "HRC 64", "--source", "UN Geneva",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    async with sessionmaker() as session:
        stored = await get_session(session, 64)
    assert stored is not None and not stored.tentative
    assert (stored.title, stored.source) == ("HRC 64", "UN Geneva")


@pytest.mark.parametrize(
    ("args", "message", "code"),
    [
        (["64", "--opens", "2027-04-02", "--closes", "2027-02-22"], "before it opens", 1),
        (["64", "--opens", "22/02/2027", "--closes", "2027-04-02"], "'22/02/2027'", 2),
        (["64", "--opens", "2027-02-30", "--closes", "2027-04-02"], "--opens", 2),
        (["0", "--opens", "2027-02-22", "--closes", "2027-04-02"], "NUMBER", 2),
        (["sixty", "--opens", "2027-02-22", "--closes", "2027-04-02"], "NUMBER", 2),
        (["64", "--closes", "2027-04-02"], "Missing option '--opens'", 2),
    ],
)
async def test_add_refuses_bad_input_in_plain_words(
    args: list[str], message: str, code: int
) -> None:
    assert_failed(await run("add", *args), message, code)


async def test_add_refuses_a_duplicate() -> None:
    args = ["64", "--opens", "2027-02-22", "--closes", "2027-04-02"]
    assert (await run("add", *args)).exit_code == 0
    assert_failed(await run("add", *args), "HRC64 is already in the calendar.")


async def test_import_an_ics_file(sessionmaker: Sessionmaker, tmp_path: Path) -> None:
    tentative = SHIPPED.session(61)
    assert tentative is not None
    path = tmp_path / "sessions.ics"
    path.write_bytes(
        calendar_to_ics(
            SHIPPED.sessions[-2:],
            SHIPPED.observances,
            now=NOW,
            prodid="-//test//EN",
            base_url="https://alerts.example.org",
        )
    )
    result = await run("import", str(path))
    assert result.exit_code == 0, result.output
    assert "Imported HRC60, HRC61." in result.output
    async with sessionmaker() as session:
        assert await list_sessions(session) == list(SHIPPED.sessions[-2:])


async def test_import_refuses_unreadable_files(tmp_path: Path) -> None:
    path = tmp_path / "notes.ics"
    path.write_text("BEGIN:VCALENDAR\nEND:VCALENDAR\n")
    assert_failed(await run("import", str(path)), "No Human Rights Council session")
    assert_failed(await run("import", str(tmp_path / "missing.ics")), "does not exist", 2)


async def test_database_problems_are_plain_words(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "a-file").write_text("")
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/a-file/alerts.db")
    result = await run("list")
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert "database could not be used" in result.output
