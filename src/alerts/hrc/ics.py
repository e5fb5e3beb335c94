"""iCalendar (RFC 5545) export of the HRC calendar, and import of sessions from .ics files."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlsplit

import icalendar

from alerts.hrc.calendar import (
    DEFAULT_LOCATION,
    CalendarError,
    ObservanceDef,
    SessionDef,
    session_title,
)
from alerts.hrc.countdown import GENEVA, day_month, geneva_date, long_date

# Our own properties, so an exported file re-imports to the very same sessions.
X_PLANNED_CLOSE = "X-ALERTS-PLANNED-CLOSE"
X_SOURCE = "X-ALERTS-SOURCE"
IMPORTED_SOURCE = "Imported from an iCalendar file"

_UID_RE = re.compile(r"^hrc(\d{1,4})@", re.IGNORECASE)
# "HRC64", "HRC 64", "HRC-64"; never "HRC S-36" or "HRC/S-36", which are special sessions.
_CODE_RE = re.compile(r"\bHRC[\s-]?(\d{1,4})\b", re.IGNORECASE)
_ORDINAL_RE = re.compile(
    r"\b(\d{1,4})(?:st|nd|rd|th)\s+(?:regular\s+)?session\s+of\s+the\s+"
    r"(?:UN\s+|United\s+Nations\s+)?Human\s+Rights\s+Council\b",
    re.IGNORECASE,
)
_CODE_PREFIX_RE = re.compile(r"^\s*HRC[\s-]?\d{1,4}\s*(?:[:\-\u2013\u2014]\s*)?", re.IGNORECASE)


def calendar_to_ics(
    sessions: Iterable[SessionDef],
    observances: Iterable[ObservanceDef],
    *,
    now: datetime,
    prodid: str,
    base_url: str,
) -> bytes:
    """Build an RFC 5545 calendar with one all-day event per session and observance."""
    host = urlsplit(base_url).hostname
    if not host:
        raise ValueError(f"base_url must be an absolute URL, not {base_url!r}")
    base = base_url.rstrip("/")
    year = geneva_date(now).year  # also refuses a naive now
    stamp = now.astimezone(UTC)

    cal = icalendar.Calendar()
    cal.add("prodid", prodid)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", "Human Rights Council sessions")
    for session in sorted(sessions, key=lambda s: s.number):
        cal.add_component(_session_event(session, stamp, host, base))
    for obs in observances:
        cal.add_component(_observance_event(obs, stamp, host, year))
    ical: bytes = cal.to_ical()
    return ical


def sessions_from_ics(data: bytes) -> list[SessionDef]:
    """Read the HRC sessions out of an uploaded .ics file, sorted by number."""
    try:
        # bytes, never str: from_ical treats a one-line str as a file path.
        cal = icalendar.Calendar.from_ical(bytes(data))
    except (ValueError, TypeError, KeyError, IndexError) as e:
        raise CalendarError("The file is not a readable iCalendar file.") from e
    if not isinstance(cal, icalendar.Calendar) or cal.name != "VCALENDAR":
        raise CalendarError("The file is not an iCalendar file: it has no VCALENDAR.")

    found: dict[int, SessionDef] = {}
    for event in cal.events:
        number = _session_number(event)
        if number is None or _text(event, "STATUS").upper() == "CANCELLED":
            continue
        if number in found:
            raise CalendarError(f"HRC{number} appears in more than one event.")
        try:
            found[number] = _session_from_event(event, number)
        except (ValueError, TypeError, KeyError) as e:
            raise CalendarError(f"The event for HRC{number} has unreadable dates.") from e
    if not found:
        raise CalendarError("No Human Rights Council session was found in the file.")
    return [found[n] for n in sorted(found)]


def _session_event(session: SessionDef, stamp: datetime, host: str, base: str) -> icalendar.Event:
    event = icalendar.Event()
    event.add("uid", f"hrc{session.number}@{host}")
    event.add("dtstamp", stamp)
    event.add("dtstart", session.opens)
    # DTEND of an all-day event is exclusive (RFC 5545, 3.6.1).
    event.add("dtend", session.last_day + timedelta(days=1))
    event.add("summary", f"{session.code}: {session.title}")
    event.add("location", session.location)
    event.add("description", _describe(session))
    event.add("url", f"{base}/sessions/{session.code}")
    event.add("status", "TENTATIVE" if session.tentative else "CONFIRMED")
    event.add("transp", "TRANSPARENT")
    event.add(X_PLANNED_CLOSE, session.closes.isoformat())
    event.add(X_SOURCE, session.source)
    return event


def _observance_event(obs: ObservanceDef, stamp: datetime, host: str, year: int) -> icalendar.Event:
    first = date(year, obs.month, obs.day)
    event = icalendar.Event()
    event.add("uid", f"observance-{obs.slug}@{host}")
    event.add("dtstamp", stamp)
    event.add("dtstart", first)
    event.add("dtend", first + timedelta(days=1))
    event.add("rrule", {"freq": "yearly"})
    event.add("summary", obs.name)
    event.add("description", f"Observed every year on {day_month(first)}. Source: {obs.source}.")
    event.add("status", "CONFIRMED")
    event.add("transp", "TRANSPARENT")
    return event


def _describe(session: SessionDef) -> str:
    lines = [
        f"{session.title}, {session.location}.",
        f"Planned from {long_date(session.opens)} to {long_date(session.closes)}.",
    ]
    if session.closed is not None:
        lines.append(f"Closed on {long_date(session.closed)}.")
    if session.tentative:
        lines.append("Dates are tentative until the United Nations confirms them.")
    lines.append(f"Source: {session.source}.")
    return "\n".join(lines)


def _text(event: icalendar.Event, name: str) -> str:
    value = event.get(name)
    return "" if value is None else str(value).strip()


def _session_number(event: icalendar.Event) -> int | None:
    summary = _text(event, "SUMMARY")
    match = _CODE_RE.search(summary) or _ORDINAL_RE.search(summary)
    from_summary = int(match.group(1)) if match else None
    uid_match = _UID_RE.match(_text(event, "UID"))
    from_uid = int(uid_match.group(1)) if uid_match else None
    if from_summary and from_uid and from_summary != from_uid:
        raise CalendarError(
            f"An event names HRC{from_summary} in its summary but HRC{from_uid} in its UID."
        )
    number = from_summary or from_uid
    return number if number else None


def _session_from_event(event: icalendar.Event, number: int) -> SessionDef:
    if "DTSTART" not in event:
        raise CalendarError(f"The event for HRC{number} has no start date.")
    opens = _first_day(event.start)
    last = max(_last_day(event.end), opens)
    planned = _text(event, X_PLANNED_CLOSE)
    closes = date.fromisoformat(planned) if planned else last
    title = _CODE_PREFIX_RE.sub("", _text(event, "SUMMARY"), count=1).strip()
    return SessionDef(
        number=number,
        title=title or session_title(number),
        opens=opens,
        closes=closes,
        closed=last if last != closes else None,
        location=_text(event, "LOCATION") or DEFAULT_LOCATION,
        tentative=_text(event, "STATUS").upper() == "TENTATIVE",
        source=_text(event, X_SOURCE) or IMPORTED_SOURCE,
    )


def _first_day(value: date) -> date:
    if isinstance(value, datetime):
        return value.astimezone(GENEVA).date() if value.tzinfo else value.date()
    return value


def _last_day(end: date) -> date:
    """Return the last day an event covers, given its exclusive end."""
    if isinstance(end, datetime):
        local = end.astimezone(GENEVA) if end.tzinfo else end
        if local.time() != time(0):
            return local.date()
        return local.date() - timedelta(days=1)
    return end - timedelta(days=1)
