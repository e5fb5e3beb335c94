"""Countdowns to HRC sessions and observances, counted in Geneva calendar days."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal
from zoneinfo import ZoneInfo

from alerts.hrc.calendar import Calendar, ObservanceDef, SessionDef

GENEVA = ZoneInfo("Europe/Zurich")

State = Literal["upcoming", "ongoing", "closed"]

_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


@dataclass(frozen=True)
class Countdown:
    """Describe where today falls relative to a session or observance.

    ``days`` is the number of days until it starts when upcoming, the day number
    (1 on the first day) when ongoing, and the number of days since it ended when closed.
    ``total_days`` is the length of a session, first and last day included; None for
    observances.
    """

    state: State
    days: int
    total_days: int | None
    text: str


@dataclass(frozen=True)
class CountdownEntry:
    """Pair a session or observance with its countdown and the date it starts on."""

    subject: SessionDef | ObservanceDef
    countdown: Countdown
    starts: date


def geneva_date(now: datetime) -> date:
    """Return the calendar date in Geneva at the aware instant ``now``."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")
    return now.astimezone(GENEVA).date()


def session_countdown(session: SessionDef, now: datetime) -> Countdown:
    """Return the countdown to ``session`` as seen in Geneva at ``now``."""
    today = geneva_date(now)
    state, days = _locate(session.opens, session.last_day, today)
    code = session.code
    if state == "upcoming":
        about = "about " if session.tentative else ""
        text = f"{code} opens tomorrow" if days == 1 else f"{code} opens in {about}{days} days"
    elif state == "closed":
        text = f"{code} closed on {long_date(session.last_day)}"
    elif days == 1:
        text = f"{code} opens today"
    elif session.last_day == today:
        text = f"{code} is under way: last day today"
    else:
        last = session.last_day
        closes = day_month(last) if last.year == today.year else long_date(last)
        text = f"{code} is under way: day {days} of {session.total_days}, closes {closes}"
    if session.tentative:
        text += " (dates tentative)"
    return Countdown(state=state, days=days, total_days=session.total_days, text=text)


def observance_countdown(obs: ObservanceDef, now: datetime) -> Countdown:
    """Return the countdown to the next ``obs`` day as seen in Geneva at ``now``."""
    today = geneva_date(now)
    day = obs.next_date(today)
    state, days = _locate(day, day, today)
    when = "today" if state == "ongoing" else "tomorrow" if days == 1 else f"in {days} days"
    return Countdown(state=state, days=days, total_days=None, text=f"{obs.name} is {when}")


def upcoming_and_current(
    calendar: Calendar, now: datetime, horizon_days: int = 120
) -> list[CountdownEntry]:
    """List ongoing sessions, then sessions and observances starting within the horizon.

    The second group is sorted by start date; today's observances lead it.
    """
    if horizon_days < 0:
        raise ValueError("horizon_days must not be negative")
    today = geneva_date(now)
    current: list[CountdownEntry] = []
    coming: list[CountdownEntry] = []
    for session in calendar.sessions:
        countdown = session_countdown(session, now)
        entry = CountdownEntry(session, countdown, session.opens)
        if countdown.state == "ongoing":
            current.append(entry)
        elif countdown.state == "upcoming" and countdown.days <= horizon_days:
            coming.append(entry)
    for obs in calendar.observances:
        day = obs.next_date(today)
        if (day - today).days <= horizon_days:
            coming.append(CountdownEntry(obs, observance_countdown(obs, now), day))
    current.sort(key=lambda e: e.starts)
    coming.sort(key=_sort_key)
    return current + coming


def _locate(first: date, last: date, today: date) -> tuple[State, int]:
    """Place ``today`` before, within or after the days ``first`` to ``last``."""
    # Whole calendar dates, never instants: a DST change cannot shift a count.
    if today < first:
        return "upcoming", (first - today).days
    if today <= last:
        return "ongoing", (today - first).days + 1
    return "closed", (today - last).days


def _sort_key(entry: CountdownEntry) -> tuple[date, int, str]:
    subject = entry.subject
    if isinstance(subject, SessionDef):
        return entry.starts, 0, f"{subject.number:06d}"
    return entry.starts, 1, subject.name


def day_month(day: date) -> str:
    """Format ``day`` as "3 April", whatever the locale."""
    return f"{day.day} {_MONTHS[day.month - 1]}"


def long_date(day: date) -> str:
    """Format ``day`` as "3 April 2024", whatever the locale."""
    return f"{day_month(day)} {day.year}"
