from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import icalendar
import pytest
from hypothesis import given
from hypothesis import strategies as st

from alerts.hrc.calendar import CalendarError, SessionDef, load_calendar
from alerts.hrc.ics import calendar_to_ics, sessions_from_ics

SHIPPED = Path(__file__).resolve().parents[2] / "feeds" / "hrc-sessions.toml"
NOW = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)
PRODID = "-//ISHR//alerts//EN"
BASE = "https://alerts.example.org/"


@pytest.fixture(scope="module")
def shipped():
    return load_calendar(SHIPPED)


def export(sessions, observances=(), now=NOW) -> bytes:
    return calendar_to_ics(sessions, observances, now=now, prodid=PRODID, base_url=BASE)


def events_by_uid(data: bytes) -> dict[str, icalendar.Event]:
    cal = icalendar.Calendar.from_ical(data)
    return {str(e["UID"]): e for e in cal.walk("VEVENT")}


def test_round_trip_of_the_shipped_sessions(shipped):
    data = export(shipped.sessions, shipped.observances)
    assert sessions_from_ics(data) == list(shipped.sessions)


def test_export_is_an_rfc5545_calendar(shipped):
    data = export(shipped.sessions, shipped.observances)
    assert data.startswith(b"BEGIN:VCALENDAR\r\n")
    assert data.endswith(b"END:VCALENDAR\r\n")
    assert all(len(line) <= 75 for line in data.split(b"\r\n"))
    cal = icalendar.Calendar.from_ical(data)
    assert str(cal["VERSION"]) == "2.0"
    assert str(cal["PRODID"]) == PRODID
    events = cal.walk("VEVENT")
    assert len(events) == len(shipped.sessions) + len(shipped.observances)
    for event in events:
        for name in ("DTSTART", "DTEND", "UID", "DTSTAMP", "SUMMARY"):
            assert name in event, (name, event.get("UID"))
        assert event.decoded("DTSTAMP") == NOW
        assert type(event.decoded("DTSTART")) is date
        assert type(event.decoded("DTEND")) is date
    assert len({str(e["UID"]) for e in events}) == len(events)


def test_session_event_fields(shipped):
    hrc55 = events_by_uid(export(shipped.sessions))["hrc55@alerts.example.org"]
    assert hrc55.decoded("DTSTART") == date(2024, 2, 26)
    # Exclusive end: the day after the last day (RFC 5545, 3.6.1).
    assert hrc55.decoded("DTEND") == date(2024, 4, 6)
    assert "VALUE=DATE:20240226" in hrc55.to_ical().decode()
    assert str(hrc55["SUMMARY"]) == "HRC55: 55th regular session of the Human Rights Council"
    assert str(hrc55["LOCATION"]) == "Palais des Nations, Geneva"
    assert str(hrc55["URL"]) == "https://alerts.example.org/sessions/HRC55"
    assert str(hrc55["STATUS"]) == "CONFIRMED"
    assert "26 February 2024 to 5 April 2024" in str(hrc55["DESCRIPTION"])


def test_session_that_closed_early_ends_on_its_actual_last_day(shipped):
    hrc59 = events_by_uid(export(shipped.sessions))["hrc59@alerts.example.org"]
    assert hrc59.decoded("DTEND") == date(2025, 7, 9)
    assert "Closed on 8 July 2025" in str(hrc59["DESCRIPTION"])


def test_tentative_session_is_marked_tentative():
    tentative = SessionDef(64, "t", date(2027, 2, 22), date(2027, 4, 1), None, "G", True, "s")
    event = events_by_uid(export([tentative]))["hrc64@alerts.example.org"]
    assert str(event["STATUS"]) == "TENTATIVE"
    assert sessions_from_ics(export([tentative])) == [tentative]


def test_observances_recur_every_year(shipped):
    events = events_by_uid(export((), shipped.observances))
    hrd = events["observance-human-rights-day@alerts.example.org"]
    assert hrd.decoded("DTSTART") == date(2026, 12, 10)
    assert hrd.decoded("DTEND") == date(2026, 12, 11)
    assert hrd["RRULE"].to_ical() == b"FREQ=YEARLY"
    assert "423 (V)" in str(hrd["DESCRIPTION"])
    assert "10 December" in str(hrd["DESCRIPTION"])


def test_uids_are_stable_from_one_export_to_the_next(shipped):
    later = NOW + timedelta(days=400)
    first = events_by_uid(export(shipped.sessions, shipped.observances))
    second = events_by_uid(export(shipped.sessions, shipped.observances, now=later))
    assert first.keys() == second.keys()


def test_export_refuses_a_naive_now_or_a_relative_base_url(shipped):
    with pytest.raises(ValueError, match="timezone-aware"):
        export(shipped.sessions, now=datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="absolute URL"):
        calendar_to_ics(shipped.sessions, (), now=NOW, prodid=PRODID, base_url="/hrc")


def ics(*events: str) -> bytes:
    body = "".join(f"BEGIN:VEVENT\r\n{e.strip()}\r\nEND:VEVENT\r\n" for e in events)
    head = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Editor//EN\r\n"
    return (head + body + "END:VCALENDAR\r\n").encode()


def event(*lines: str) -> str:
    return "\r\n".join(lines)


def test_import_of_a_foreign_calendar():
    data = ics(
        event(
            "UID:abc123@google.com",
            "DTSTAMP:20260110T120000Z",
            "SUMMARY:64th session of the Human Rights Council",
            "DTSTART;VALUE=DATE:20270222",
            "DTEND;VALUE=DATE:20270402",
            "STATUS:TENTATIVE",
        ),
        event(
            "UID:def456@google.com",
            "SUMMARY:HRC 65 - Geneva",
            "DTSTART:20270614T080000Z",
            "DTEND:20270709T160000Z",
            "LOCATION:Room XX",
        ),
        event("UID:x@y", "SUMMARY:Side event on reprisals", "DTSTART;VALUE=DATE:20270301"),
        event("UID:s@y", "SUMMARY:HRC S-38 special session", "DTSTART;VALUE=DATE:20270301"),
        event(
            "UID:c@y",
            "SUMMARY:HRC66",
            "STATUS:CANCELLED",
            "DTSTART;VALUE=DATE:20270913",
        ),
    )
    hrc64, hrc65 = sessions_from_ics(data)
    assert hrc64 == SessionDef(
        number=64,
        title="64th session of the Human Rights Council",
        opens=date(2027, 2, 22),
        closes=date(2027, 4, 1),
        closed=None,
        location="Palais des Nations, Geneva",
        tentative=True,
        source="Imported from an iCalendar file",
    )
    assert (hrc65.number, hrc65.title, hrc65.location, hrc65.tentative) == (
        65,
        "Geneva",
        "Room XX",
        False,
    )
    assert (hrc65.opens, hrc65.closes) == (date(2027, 6, 14), date(2027, 7, 9))


def test_import_reads_the_number_from_the_uid_and_fills_in_the_title():
    data = ics(event("UID:HRC67@un.org", "SUMMARY:Council session", "DTSTART;VALUE=DATE:20280221"))
    (hrc67,) = sessions_from_ics(data)
    assert hrc67.title == "Council session"
    # No DTEND on an all-day event: it lasts one day (RFC 5545, 3.6.1).
    assert hrc67.opens == hrc67.closes == date(2028, 2, 21)
    data = ics(event("UID:hrc67@x", "SUMMARY:HRC67", "DTSTART;VALUE=DATE:20280221", "DURATION:P3D"))
    (hrc67,) = sessions_from_ics(data)
    assert hrc67.title == "67th regular session of the Human Rights Council"
    assert hrc67.closes == date(2028, 2, 23)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "not a readable iCalendar file"),
        (b"\x00\xff\xfe not a calendar", "not a readable iCalendar file"),
        (b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\n", "not a readable iCalendar file"),
        (
            b"BEGIN:VEVENT\r\nSUMMARY:HRC64\r\nDTSTART;VALUE=DATE:20270222\r\nEND:VEVENT\r\n",
            "no VCALENDAR",
        ),
        (ics(), "No Human Rights Council session"),
        (ics(event("UID:a@b", "SUMMARY:Lunch", "DTSTART;VALUE=DATE:20270222")), "No Human"),
        (ics(event("UID:a@b", "SUMMARY:HRC64")), "has no start date"),
        (ics(event("UID:a@b", "SUMMARY:HRC64", "DTSTART:not-a-date")), "unreadable dates"),
        (
            ics(
                event("UID:a@b", "SUMMARY:HRC64", "DTSTART;VALUE=DATE:20270222"),
                event("UID:c@d", "SUMMARY:HRC64 opening", "DTSTART;VALUE=DATE:20270222"),
            ),
            "more than one event",
        ),
        (
            ics(event("UID:hrc63@x", "SUMMARY:HRC64", "DTSTART;VALUE=DATE:20270222")),
            "names HRC64 in its summary but HRC63",
        ),
        (
            ics(
                event(
                    "UID:a@b",
                    "SUMMARY:HRC64",
                    "DTSTART;VALUE=DATE:20270222",
                    "X-ALERTS-PLANNED-CLOSE:soon",
                )
            ),
            "unreadable dates",
        ),
        (
            ics(
                event(
                    "UID:a@b",
                    "SUMMARY:HRC64",
                    "DTSTART;VALUE=DATE:20270222",
                    "X-ALERTS-PLANNED-CLOSE:2027-01-01",
                )
            ),
            "before it opens",
        ),
    ],
)
def test_bad_files_are_calendar_errors(data, message):
    with pytest.raises(CalendarError, match=message):
        sessions_from_ics(data)


def closed_dates(opens: date, closes: date) -> st.SearchStrategy[date]:
    return st.dates(opens, closes + timedelta(days=5)).filter(lambda d: d != closes)


@st.composite
def session_lists(draw: st.DrawFn) -> list[SessionDef]:
    numbers = draw(st.lists(st.integers(1, 400), min_size=1, max_size=5, unique=True))
    result = []
    for number in sorted(numbers):
        opens = draw(st.dates(date(2000, 1, 1), date(2090, 12, 31)))
        closes = opens + timedelta(days=draw(st.integers(0, 60)))
        closed = draw(st.none() | closed_dates(opens, closes))
        text = (
            st.text(
                st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zl", "Zp")),
                min_size=1,
            )
            .map(str.strip)
            .filter(bool)
        )
        title = draw(text)
        result.append(
            SessionDef(
                number, title, opens, closes, closed, draw(text), draw(st.booleans()), draw(text)
            )
        )
    return result


@given(session_lists())
def test_round_trip_of_any_sessions(sessions):
    assert sessions_from_ics(export(sessions)) == sessions


@given(st.binary(max_size=300))
def test_random_bytes_never_raise_anything_but_calendar_error(data):
    with pytest.raises(CalendarError):
        sessions_from_ics(data)
