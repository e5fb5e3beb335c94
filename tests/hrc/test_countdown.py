import re
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from hypothesis import given
from hypothesis import strategies as st

from alerts.hrc.calendar import Calendar, ObservanceDef, SessionDef, load_calendar
from alerts.hrc.countdown import (
    Countdown,
    observance_countdown,
    session_countdown,
    upcoming_and_current,
)

ZURICH = ZoneInfo("Europe/Zurich")
SHIPPED = Path(__file__).resolve().parents[2] / "feeds" / "hrc-sessions.toml"
ONE_DAYS = re.compile(r"(?<!\d)1 days")


def session(opens: date, closes: date, *, number=64, closed=None, tentative=False) -> SessionDef:
    return SessionDef(number, "t", opens, closes, closed, "Geneva", tentative, "s")


HRC55 = session(date(2024, 2, 26), date(2024, 4, 5), number=55)
HRC59 = session(date(2025, 6, 16), date(2025, 7, 9), number=59, closed=date(2025, 7, 8))
HRD = ObservanceDef("human-rights-day", "Human Rights Day", 12, 10, "GA res. 423 (V)")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "text"),
    [
        (utc(2024, 2, 25, 22, 59, 59), "HRC55 opens tomorrow"),
        # 23:00 UTC is midnight in Geneva (CET, UTC+1): already 26 February there.
        (utc(2024, 2, 25, 23, 0), "HRC55 opens today"),
        (utc(2024, 2, 25, 23, 30), "HRC55 opens today"),
        (datetime(2024, 2, 25, 18, 30, tzinfo=ZoneInfo("America/New_York")), "HRC55 opens today"),
        (datetime(2024, 2, 26, 7, 59, tzinfo=ZoneInfo("Asia/Tokyo")), "HRC55 opens tomorrow"),
        (datetime(2024, 2, 26, 8, 0, tzinfo=ZoneInfo("Asia/Tokyo")), "HRC55 opens today"),
        (utc(2024, 2, 24, 12, 0), "HRC55 opens in 2 days"),
        (utc(2024, 2, 14, 12, 0), "HRC55 opens in 12 days"),
        (utc(2024, 2, 27, 12, 0), "HRC55 is under way: day 2 of 40, closes 5 April"),
        (utc(2024, 4, 5, 21, 59), "HRC55 is under way: last day today"),
        (utc(2024, 4, 5, 22, 0), "HRC55 closed on 5 April 2024"),
    ],
)
def test_session_text_across_geneva_midnight(now, text):
    assert session_countdown(HRC55, now).text == text


def test_opening_day_is_day_one_of_an_ongoing_session():
    countdown = session_countdown(HRC55, utc(2024, 2, 25, 23, 30))
    assert (countdown.state, countdown.days, countdown.total_days) == ("ongoing", 1, 40)


def test_summer_midnight_is_at_22_utc():
    hrc56 = session(date(2024, 6, 18), date(2024, 7, 12), number=56)
    assert session_countdown(hrc56, utc(2024, 6, 17, 21, 59, 59)).text == "HRC56 opens tomorrow"
    assert session_countdown(hrc56, utc(2024, 6, 17, 22, 0)).text == "HRC56 opens today"


@pytest.mark.parametrize(
    ("now", "day"),
    [
        (datetime(2024, 3, 30, 23, 59, tzinfo=ZURICH), 34),
        # Clocks jump from 02:00 CET to 03:00 CEST on 31 March 2024.
        (utc(2024, 3, 31, 0, 59, 59), 35),
        (utc(2024, 3, 31, 1, 0, 0), 35),
        (utc(2024, 3, 31, 21, 59, 59), 35),
        (utc(2024, 3, 31, 22, 0, 0), 36),
        (datetime(2024, 4, 1, 0, 30, tzinfo=ZURICH), 36),
    ],
)
def test_day_numbers_across_the_march_dst_change(now, day):
    countdown = session_countdown(HRC55, now)
    assert (countdown.state, countdown.days) == ("ongoing", day)
    assert countdown.text == f"HRC55 is under way: day {day} of 40, closes 5 April"


@pytest.mark.parametrize(
    ("now", "day"),
    [
        (utc(2024, 10, 26, 21, 59), 6),
        (utc(2024, 10, 26, 22, 0), 7),  # midnight CEST, 27 October
        # Clocks fall back from 03:00 CEST to 02:00 CET on 27 October 2024.
        (utc(2024, 10, 27, 22, 59, 59), 7),
        (utc(2024, 10, 27, 23, 0), 8),  # midnight CET, 28 October
    ],
)
def test_day_numbers_across_the_october_dst_change(now, day):
    autumn = session(date(2024, 10, 21), date(2024, 11, 1))
    assert session_countdown(autumn, now).days == day


def test_upcoming_days_across_dst_changes():
    april_first = session(date(2024, 4, 1), date(2024, 4, 20))
    assert session_countdown(april_first, datetime(2024, 3, 30, 23, 30, tzinfo=ZURICH)).days == 2
    assert session_countdown(april_first, datetime(2024, 3, 31, 0, 30, tzinfo=ZURICH)).days == 1
    assert observance_countdown(HRD, utc(2024, 10, 26, 12, 0)).days == 45
    assert observance_countdown(HRD, utc(2024, 10, 28, 12, 0)).days == 43


def test_closed_session_uses_the_actual_closing_date():
    countdown = session_countdown(HRC59, utc(2025, 7, 8, 22, 0))
    assert countdown == Countdown(
        state="closed", days=1, total_days=23, text="HRC59 closed on 8 July 2025"
    )
    last = session_countdown(HRC59, utc(2025, 7, 8, 12, 0))
    assert last.text == "HRC59 is under way: last day today"
    assert (last.days, last.total_days) == (23, 23)
    assert session_countdown(HRC59, utc(2025, 7, 7, 12, 0)).text == (
        "HRC59 is under way: day 22 of 23, closes 8 July"
    )


def test_ongoing_session_closing_next_year_names_the_year():
    winter = session(date(2024, 12, 30), date(2025, 1, 5))
    assert session_countdown(winter, utc(2024, 12, 31, 12, 0)).text == (
        "HRC64 is under way: day 2 of 7, closes 5 January 2025"
    )


def test_one_day_session_opens_today():
    single = session(date(2024, 5, 2), date(2024, 5, 2))
    countdown = session_countdown(single, utc(2024, 5, 2, 12, 0))
    assert (countdown.text, countdown.days, countdown.total_days) == ("HRC64 opens today", 1, 1)


@pytest.mark.parametrize(
    ("now", "text"),
    [
        (utc(2027, 2, 10, 12, 0), "HRC64 opens in about 12 days (dates tentative)"),
        (utc(2027, 2, 20, 12, 0), "HRC64 opens in about 2 days (dates tentative)"),
        (utc(2027, 2, 21, 12, 0), "HRC64 opens tomorrow (dates tentative)"),
        (utc(2027, 2, 22, 12, 0), "HRC64 opens today (dates tentative)"),
        (
            utc(2027, 2, 26, 12, 0),
            "HRC64 is under way: day 5 of 28, closes 21 March (dates tentative)",
        ),
    ],
)
def test_tentative_session(now, text):
    tentative = session(date(2027, 2, 22), date(2027, 3, 21), tentative=True)
    assert session_countdown(tentative, now).text == text


@pytest.mark.parametrize(
    ("now", "state", "days", "text"),
    [
        (utc(2024, 11, 23, 12, 0), "upcoming", 17, "Human Rights Day is in 17 days"),
        (utc(2024, 12, 8, 12, 0), "upcoming", 2, "Human Rights Day is in 2 days"),
        (utc(2024, 12, 9, 12, 0), "upcoming", 1, "Human Rights Day is tomorrow"),
        (utc(2024, 12, 9, 23, 30), "ongoing", 1, "Human Rights Day is today"),
        (utc(2024, 12, 10, 22, 59), "ongoing", 1, "Human Rights Day is today"),
        (utc(2024, 12, 10, 23, 0), "upcoming", 364, "Human Rights Day is in 364 days"),
        (utc(2023, 12, 10, 23, 0), "upcoming", 365, "Human Rights Day is in 365 days"),
    ],
)
def test_observance_countdown(now, state, days, text):
    countdown = observance_countdown(HRD, now)
    assert (countdown.state, countdown.days, countdown.total_days, countdown.text) == (
        state,
        days,
        None,
        text,
    )


def test_naive_datetimes_are_refused():
    naive = datetime(2024, 2, 26, 12, 0)
    with pytest.raises(ValueError, match="timezone-aware"):
        session_countdown(HRC55, naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        observance_countdown(HRD, naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        upcoming_and_current(Calendar((HRC55,), (HRD,), ()), naive)


def test_the_wall_clock_works_through_an_aware_now():
    with time_machine.travel(utc(2024, 12, 9, 23, 30), tick=False):
        assert observance_countdown(HRD, datetime.now(UTC)).text == "Human Rights Day is today"


def test_upcoming_and_current_lists_ongoing_first_then_by_date():
    calendar = load_calendar(SHIPPED)
    entries = upcoming_and_current(calendar, datetime(2024, 3, 1, 9, 0, tzinfo=ZURICH))
    assert [e.countdown.text for e in entries] == [
        "HRC55 is under way: day 5 of 40, closes 5 April",
        "International Women's Day is in 7 days",
        "International Day for the Elimination of Racial Discrimination is in 20 days",
        "HRC56 opens in 109 days",
        "International Day for Countering Hate Speech is in 109 days",
        "International Day in Support of Victims of Torture is in 117 days",
    ]
    assert entries[0].subject is calendar.session(55)
    assert [e.starts for e in entries][1:] == sorted(e.starts for e in entries[1:])


def test_upcoming_and_current_horizon():
    calendar = load_calendar(SHIPPED)
    on_hrd = utc(2024, 12, 10, 12, 0)
    assert [e.countdown.text for e in upcoming_and_current(calendar, on_hrd, 0)] == [
        "Human Rights Day is today"
    ]
    # HRC58 opens on 24 February 2025, 76 days after Human Rights Day 2024.
    hrd = next(o for o in calendar.observances if o.slug == "human-rights-day")
    assert [e.subject for e in upcoming_and_current(calendar, on_hrd, 76)] == [
        hrd,
        calendar.session(58),
    ]
    assert len(upcoming_and_current(calendar, on_hrd, 75)) == 1
    with pytest.raises(ValueError, match="horizon"):
        upcoming_and_current(calendar, on_hrd, -1)


def test_nothing_ahead_after_the_last_shipped_session():
    calendar = load_calendar(SHIPPED)
    entries = upcoming_and_current(calendar, utc(2026, 4, 15, 12, 0), horizon_days=30)
    assert entries == []


# Property tests ------------------------------------------------------------------------------

fixed_offsets = st.builds(
    timezone,
    st.timedeltas(min_value=timedelta(hours=-23, minutes=-59), max_value=timedelta(hours=23)),
)
aware_datetimes = st.datetimes(
    min_value=datetime(1990, 1, 1),
    max_value=datetime(2100, 12, 31),
    timezones=st.one_of(st.timezones(), fixed_offsets, st.just(UTC)),
)


@st.composite
def sessions(draw: st.DrawFn) -> SessionDef:
    opens = draw(st.dates(date(1990, 1, 1), date(2100, 12, 31)))
    closes = opens + timedelta(days=draw(st.integers(0, 60)))
    closed = draw(
        st.none() | st.dates(opens, closes + timedelta(days=10)).filter(lambda d: d != closes)
    )
    return SessionDef(
        number=draw(st.integers(1, 300)),
        title="t",
        opens=opens,
        closes=closes,
        closed=closed,
        location="Geneva",
        tentative=draw(st.booleans()),
        source="s",
    )


observances = st.builds(
    ObservanceDef,
    slug=st.just("day"),
    name=st.just("Some Day"),
    month=st.integers(1, 12),
    day=st.integers(1, 28),
    source=st.just("s"),
)


@given(sessions(), aware_datetimes)
def test_session_state_follows_the_geneva_date(s, now):
    today = now.astimezone(ZURICH).date()
    countdown = session_countdown(s, now)
    assert countdown.total_days == (s.last_day - s.opens).days + 1
    if today < s.opens:
        assert (countdown.state, countdown.days) == ("upcoming", (s.opens - today).days)
    elif today <= s.last_day:
        assert (countdown.state, countdown.days) == ("ongoing", (today - s.opens).days + 1)
        assert 1 <= countdown.days <= countdown.total_days
    else:
        assert countdown.state == "closed"
    assert countdown.days >= 0
    assert not ONE_DAYS.search(countdown.text)
    assert countdown.text.startswith(s.code + " ")
    assert ("tentative" in countdown.text) == s.tentative


@given(sessions(), aware_datetimes)
def test_session_countdown_moves_one_day_per_geneva_day(s, now):
    geneva = now.astimezone(ZURICH)
    tomorrow = geneva + timedelta(days=1)  # wall-clock arithmetic: always the next date
    assert tomorrow.date() == geneva.date() + timedelta(days=1)
    first, second = session_countdown(s, now), session_countdown(s, tomorrow)
    if first.state == "upcoming" and first.days > 1:
        assert (second.state, second.days) == ("upcoming", first.days - 1)
    elif first.state == "upcoming":
        assert (second.state, second.days) == ("ongoing", 1)
    elif first.state == "ongoing" and first.days < (first.total_days or 0):
        assert (second.state, second.days) == ("ongoing", first.days + 1)
    else:
        assert second.state == "closed"


@given(observances, aware_datetimes)
def test_observance_countdown_properties(obs, now):
    geneva = now.astimezone(ZURICH)
    first = observance_countdown(obs, now)
    second = observance_countdown(obs, geneva + timedelta(days=1))
    assert first.state in {"upcoming", "ongoing"}
    assert 1 <= first.days <= 366
    assert not ONE_DAYS.search(first.text)
    is_today = (geneva.month, geneva.day) == (obs.month, obs.day)
    assert (first.state == "ongoing") == is_today
    if first.state == "upcoming" and first.days > 1:
        assert (second.state, second.days) == ("upcoming", first.days - 1)
    elif first.state == "upcoming":
        assert second.text == "Some Day is today"
