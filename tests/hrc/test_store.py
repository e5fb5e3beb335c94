"""HRC sessions in the database: sync, add, import, list, briefings and linked articles."""

from __future__ import annotations

import dataclasses
import os
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from alerts.db import Sessionmaker
from alerts.hrc.calendar import Calendar, CalendarError, SessionDef, load_calendar
from alerts.hrc.ics import calendar_to_ics
from alerts.hrc.store import (
    add_session,
    get_session,
    import_ics,
    key_issues_article,
    list_sessions,
    session_articles,
    session_detail,
    sessions_overview,
    sessions_updated_at,
    shipped_calendar,
    sync_sessions,
)
from alerts.models import HrcSession
from tests.support.factories import make_article, make_hrc_session

FEEDS = Path(__file__).resolve().parents[2] / "feeds"
SHIPPED = load_calendar(FEEDS / "hrc-sessions.toml")
HRC55 = SHIPPED.session(55)
assert HRC55 is not None


def calendar(*sessions: SessionDef) -> Calendar:
    return Calendar(sessions=sessions, observances=(), agenda_items=())


def new_session(number: int, **changes: object) -> SessionDef:
    values: dict[str, object] = {
        "number": number,
        "title": f"Session {number}",
        "opens": date(2030, 2, 25),
        "closes": date(2030, 4, 5),
        "closed": None,
        "location": "Geneva",
        "tentative": True,
        "source": "editor",
    }
    values.update(changes)
    return SessionDef(**values)  # type: ignore[arg-type]


async def test_sync_loads_shipped_sessions_and_is_idempotent(sessionmaker: Sessionmaker) -> None:
    async with sessionmaker.begin() as session:
        assert await sync_sessions(session, SHIPPED) == len(SHIPPED.sessions)
    async with sessionmaker() as session:
        first_stamp = await sessions_updated_at(session)
    async with sessionmaker.begin() as session:
        await sync_sessions(session, SHIPPED)
    async with sessionmaker() as session:
        assert await list_sessions(session) == list(SHIPPED.sessions)
        # Nothing changed, so nothing was rewritten.
        assert await sessions_updated_at(session) == first_stamp


async def test_sync_restores_shipped_values_and_keeps_editor_sessions(
    sessionmaker: Sessionmaker,
) -> None:
    async with sessionmaker.begin() as session:
        await sync_sessions(session, SHIPPED)
        row = await session.get(HrcSession, 55)
        assert row is not None
        row.title = "Edited"
        await add_session(session, new_session(90))
    async with sessionmaker.begin() as session:
        await sync_sessions(session, SHIPPED)
    async with sessionmaker() as session:
        assert await get_session(session, 55) == HRC55
        assert await get_session(session, 90) == new_session(90)


async def test_add_session_refuses_a_duplicate(sessionmaker: Sessionmaker) -> None:
    async with sessionmaker.begin() as session:
        await add_session(session, new_session(90))
        with pytest.raises(CalendarError, match="HRC90 is already in the calendar"):
            await add_session(session, new_session(90, title="Again"))
    async with sessionmaker() as session:
        assert [s.number for s in await list_sessions(session)] == [90]


def test_invalid_dates_are_refused_before_the_database() -> None:
    with pytest.raises(CalendarError, match="before it opens"):
        new_session(90, closes=date(2030, 1, 1))


async def test_import_ics_upserts_and_keeps_tentative(sessionmaker: Sessionmaker) -> None:
    tentative = new_session(70, tentative=True, source="UN Geneva")
    data = calendar_to_ics(
        [HRC55, tentative],
        [],
        now=datetime(2026, 1, 1, tzinfo=UTC),
        prodid="-//test//EN",
        base_url="https://alerts.example.org",
    )
    async with sessionmaker.begin() as session:
        await make_hrc_session(session, 55, title="Old title")
        assert await import_ics(session, data) == [55, 70]
    async with sessionmaker() as session:
        assert await get_session(session, 55) == HRC55
        stored = await get_session(session, 70)
        assert stored is not None and stored.tentative


async def test_import_ics_refuses_a_file_without_sessions(sessionmaker: Sessionmaker) -> None:
    async with sessionmaker.begin() as session:
        with pytest.raises(CalendarError, match="not a readable iCalendar"):
            await import_ics(session, b"hello")


async def test_key_issues_article_is_the_newest_briefing(sessionmaker: Sessionmaker) -> None:
    async with sessionmaker.begin() as session:
        await make_hrc_session(session, 55)
        await make_hrc_session(session, 56, opens=date(2024, 6, 18), closes=date(2024, 7, 12))
        await make_article(session, session_number=55, key_issues=True, title="Old briefing")
        newest = await make_article(session, session_number=55, key_issues=True, title="New")
        await make_article(session, session_number=55, title="Not a briefing")
        await make_article(session, session_number=56, title="Other session")
    async with sessionmaker() as session:
        found = await key_issues_article(session, 55)
        assert found is not None and found.id == newest.id
        assert await key_issues_article(session, 56) is None


async def test_session_articles_are_newest_first_and_limited(sessionmaker: Sessionmaker) -> None:
    async with sessionmaker.begin() as session:
        await make_hrc_session(session, 55)
        made = [await make_article(session, session_number=55) for _ in range(4)]
        await make_article(session)
    async with sessionmaker() as session:
        found = await session_articles(session, 55, limit=3)
    assert [a.id for a in found] == [a.id for a in reversed(made)][:3]


async def test_overview_groups_sessions_as_seen_in_geneva(sessionmaker: Sessionmaker) -> None:
    # 23:30 UTC on 25 February is already 26 February, the opening day, in Geneva.
    now = datetime(2024, 2, 25, 23, 30, tzinfo=UTC)
    async with sessionmaker.begin() as session:
        await sync_sessions(session, SHIPPED)
        briefing = await make_article(session, session_number=54, key_issues=True)
        overview = await sessions_overview(session, SHIPPED.observances, now)
    assert [s.session.code for s in overview.ongoing] == ["HRC55"]
    assert overview.ongoing[0].countdown.text == "HRC55 opens today"
    assert [s.session.number for s in overview.upcoming][:2] == [56, 57]
    assert [s.session.number for s in overview.past] == [54, 53, 52]
    assert overview.past[0].key_issues is not None
    assert overview.past[0].key_issues.id == briefing.id
    assert overview.observances[0].observance.slug == "international-womens-day"
    assert overview.observances[0].countdown.text == "International Women's Day is in 11 days"


async def test_session_detail_is_none_for_an_unknown_session(sessionmaker: Sessionmaker) -> None:
    async with sessionmaker() as session:
        assert await session_detail(session, 55, datetime.now(UTC)) is None


def test_shipped_calendar_is_cached_until_the_file_changes(tmp_path: Path) -> None:
    path = tmp_path / "hrc-sessions.toml"
    path.write_text((FEEDS / "hrc-sessions.toml").read_text(encoding="utf-8"), encoding="utf-8")
    first = shipped_calendar(tmp_path)
    assert shipped_calendar(tmp_path) is first
    text = path.read_text(encoding="utf-8").replace("number = 61", "number = 62")
    path.write_text(text, encoding="utf-8")
    os.utime(path, ns=(0, 2_000_000_000_000_000_000))
    second = shipped_calendar(tmp_path)
    assert second.calendar.session(62) is not None
    assert dataclasses.replace(first, modified=second.modified) != second


def test_shipped_calendar_missing_file_is_a_calendar_error(tmp_path: Path) -> None:
    with pytest.raises(CalendarError, match="Cannot read the calendar file"):
        shipped_calendar(tmp_path)
