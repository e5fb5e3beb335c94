from datetime import date
from pathlib import Path

import pytest

from alerts.errors import AlertsError
from alerts.hrc.calendar import (
    DEFAULT_LOCATION,
    CalendarError,
    ObservanceDef,
    SessionDef,
    load_calendar,
    ordinal,
    session_title,
)

SHIPPED = Path(__file__).resolve().parents[2] / "feeds" / "hrc-sessions.toml"


@pytest.fixture(scope="module")
def shipped():
    return load_calendar(SHIPPED)


def test_shipped_file_has_sessions_52_to_61_in_order(shipped):
    assert [s.number for s in shipped.sessions] == list(range(52, 62))
    assert all(not s.tentative for s in shipped.sessions)
    assert all(s.location == "Palais des Nations, Geneva" for s in shipped.sessions)
    assert all(s.source for s in shipped.sessions)


def test_no_session_after_61_is_shipped(shipped):
    assert max(s.number for s in shipped.sessions) == 61
    assert shipped.session(62) is None


def test_hrc55_runs_26_february_to_5_april_2024(shipped):
    hrc55 = shipped.session(55)
    assert hrc55 is not None
    assert hrc55.code == "HRC55"
    assert hrc55.title == "55th regular session of the Human Rights Council"
    assert (hrc55.opens, hrc55.closes, hrc55.closed) == (date(2024, 2, 26), date(2024, 4, 5), None)
    assert hrc55.last_day == date(2024, 4, 5)
    assert hrc55.total_days == 40


def test_hrc59_closed_a_day_early(shipped):
    hrc59 = shipped.session(59)
    assert hrc59 is not None
    assert hrc59.closes == date(2025, 7, 9)
    assert hrc59.closed == date(2025, 7, 8)
    assert hrc59.last_day == date(2025, 7, 8)


@pytest.mark.parametrize(
    ("number", "opens", "closes"),
    [
        (52, date(2023, 2, 27), date(2023, 4, 4)),
        (53, date(2023, 6, 19), date(2023, 7, 14)),
        (54, date(2023, 9, 11), date(2023, 10, 13)),
        (56, date(2024, 6, 18), date(2024, 7, 12)),
        (57, date(2024, 9, 9), date(2024, 10, 11)),
        (58, date(2025, 2, 24), date(2025, 4, 4)),
        (60, date(2025, 9, 8), date(2025, 10, 8)),
        (61, date(2026, 2, 23), date(2026, 3, 31)),
    ],
)
def test_shipped_dates(shipped, number, opens, closes):
    session = shipped.session(number)
    assert session is not None
    assert (session.opens, session.closes, session.closed) == (opens, closes, None)


def test_regular_sessions_open_on_a_working_day_in_their_season(shipped):
    for s in shipped.sessions:
        assert s.opens.weekday() < 5, s.code
        assert s.opens.month in {2, 6, 9}, s.code
        assert s.last_day.month in {3, 4, 7, 10}, s.code


def test_shipped_agenda_items(shipped):
    titles = {a.number: a.title for a in shipped.agenda_items}
    assert sorted(titles) == list(range(1, 11))
    assert titles[1] == "Organizational and procedural matters"
    assert titles[4] == "Human rights situations that require the Council's attention"
    assert titles[6] == "Universal Periodic Review"
    assert titles[7] == "Human rights situation in Palestine and other occupied Arab territories"
    assert titles[10] == "Technical assistance and capacity-building"


def test_shipped_observances_cite_a_general_assembly_resolution(shipped):
    by_slug = {o.slug: o for o in shipped.observances}
    hrd = by_slug["human-rights-day"]
    assert (hrd.name, hrd.month, hrd.day) == ("Human Rights Day", 12, 10)
    assert "423 (V)" in hrd.source
    assert (by_slug["victims-of-torture"].month, by_slug["victims-of-torture"].day) == (6, 26)
    for o in shipped.observances:
        assert "General Assembly resolution" in o.source, o.slug
        assert "defender" not in o.name.lower()


def test_observance_next_date():
    hrd = ObservanceDef("human-rights-day", "Human Rights Day", 12, 10, "GA res. 423 (V)")
    assert hrd.next_date(date(2024, 12, 9)) == date(2024, 12, 10)
    assert hrd.next_date(date(2024, 12, 10)) == date(2024, 12, 10)
    assert hrd.next_date(date(2024, 12, 11)) == date(2025, 12, 10)
    assert hrd.next_date(date(2025, 1, 1)) == date(2025, 12, 10)


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        (1, "1st"),
        (2, "2nd"),
        (3, "3rd"),
        (4, "4th"),
        (11, "11th"),
        (12, "12th"),
        (13, "13th"),
        (21, "21st"),
        (52, "52nd"),
        (53, "53rd"),
        (61, "61st"),
        (111, "111th"),
        (122, "122nd"),
    ],
)
def test_ordinal(number, expected):
    assert ordinal(number) == expected


def test_session_title():
    assert session_title(61) == "61st regular session of the Human Rights Council"


def test_calendar_error_is_an_alerts_error():
    assert issubclass(CalendarError, AlertsError)


def test_session_def_rejects_closing_before_opening():
    with pytest.raises(CalendarError, match="before it opens"):
        SessionDef(64, "t", date(2027, 3, 1), date(2027, 2, 1), None, "Geneva", False, "s")


SESSION = """
[[sessions]]
number = 64
title = "64th regular session of the Human Rights Council"
opens = 2027-02-22
closes = 2027-04-01
source = "UN Geneva programme of work"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "hrc.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_optional_fields_take_defaults_and_string_dates_are_read(tmp_path):
    text = SESSION.replace("2027-02-22", '"2027-02-22"') + "tentative = true\n"
    cal = load_calendar(write(tmp_path, text))
    (s,) = cal.sessions
    assert s.opens == date(2027, 2, 22)
    assert s.location == DEFAULT_LOCATION
    assert s.closed is None
    assert s.tentative is True
    assert cal.observances == ()
    assert cal.agenda_items == ()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (SESSION.replace("closes = 2027-04-01", "closes = 2027-02-01"), "before it opens"),
        (SESSION + "closed = 2027-01-31\n", "before it opened"),
        (SESSION + "closed = 2027-04-01\n", "'closed' equals 'closes'"),
        (SESSION + SESSION, "session number 64 appears more than once"),
        (SESSION.replace("2027-02-22", '"2027-02-30"'), "opens must be a date"),
        (SESSION.replace("2027-02-22", '"22/02/2027"'), "opens must be a date"),
        (SESSION.replace("2027-02-22", "2027-02-22T10:00:00+01:00"), "opens must be a date"),
        (SESSION.replace("2027-02-22", "20270222"), "opens must be a date"),
        (SESSION.replace("number = 64", "number = true"), "number must be a whole number"),
        (SESSION.replace("number = 64", "number = 0"), "number must be a whole number"),
        (SESSION.replace("number = 64", 'number = "64"'), "number must be a whole number"),
        (SESSION.replace('title = "64th', 'title = "  "\n#'), "title must be a non-empty"),
        (SESSION.replace("source =", "# source ="), "missing source"),
        (SESSION + "close = 2027-04-01\n", "unknown field"),
        (SESSION + "tentative = 'yes'\n", "true or false"),
        ('sessions = "HRC64"\n', "array of tables"),
        ("[[session]]\nnumber = 1\n", "unknown field"),
        ("[[sessions]\n", "not valid TOML"),
        (
            '[[observances]]\nslug = "x"\nname = "Leap day"\nmonth = 2\nday = 29\nsource = "s"\n',
            "not a day every year has",
        ),
        (
            '[[observances]]\nslug = "x"\nname = "X"\nmonth = 13\nday = 1\nsource = "s"\n',
            "not a day every year has",
        ),
        (
            '[[observances]]\nslug = "x"\nname = "X"\nmonth = 1\nday = 1\nsource = "s"\n' * 2,
            "observance slug x appears more than once",
        ),
        (
            '[[agenda_items]]\nnumber = 1\ntitle = "A"\n' * 2,
            "agenda item number 1 appears more than once",
        ),
    ],
)
def test_malformed_calendar_is_rejected(tmp_path, text, message):
    with pytest.raises(CalendarError, match=message):
        load_calendar(write(tmp_path, text))


def test_missing_file_is_a_calendar_error(tmp_path):
    with pytest.raises(CalendarError, match="Cannot read"):
        load_calendar(tmp_path / "nope.toml")


def test_non_utf8_file_is_a_calendar_error(tmp_path):
    path = tmp_path / "hrc.toml"
    path.write_bytes(b'[[sessions]]\ntitle = "\xff"\n')
    with pytest.raises(CalendarError, match="not valid TOML"):
        load_calendar(path)
