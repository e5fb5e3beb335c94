"""HRC calendar: regular sessions, standing agenda items and observances, read from TOML."""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from alerts.errors import AlertsError

DEFAULT_LOCATION = "Palais des Nations, Geneva"


class CalendarError(AlertsError):
    """The HRC calendar data cannot be used."""


def ordinal(number: int) -> str:
    """Return ``number`` as an English ordinal: 1st, 2nd, 3rd, 11th, 61st."""
    if 10 <= number % 100 <= 20:
        suffix = "th"
    else:
        suffix = {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


def session_title(number: int) -> str:
    """Return the usual title of regular session ``number``."""
    return f"{ordinal(number)} regular session of the Human Rights Council"


@dataclass(frozen=True)
class SessionDef:
    """Define one regular session of the Human Rights Council."""

    number: int
    title: str
    opens: date
    closes: date
    closed: date | None
    location: str
    tentative: bool
    source: str

    def __post_init__(self) -> None:
        if self.number < 1:
            raise CalendarError(f"A session number must be 1 or more, not {self.number}.")
        if self.closes < self.opens:
            raise CalendarError(
                f"{self.code} closes on {self.closes}, before it opens on {self.opens}."
            )
        if self.closed is not None and self.closed < self.opens:
            raise CalendarError(
                f"{self.code} closed on {self.closed}, before it opened on {self.opens}."
            )
        if self.closed == self.closes:
            # Keeps one spelling per session, so exports round-trip exactly.
            raise CalendarError(
                f"{self.code}: 'closed' equals 'closes'; set 'closed' only when the session "
                "ended on another day."
            )

    @property
    def code(self) -> str:
        """Return the short code, e.g. ``HRC55``."""
        return f"HRC{self.number}"

    @property
    def last_day(self) -> date:
        """Return the day the session actually ended, or is planned to end."""
        return self.closed or self.closes

    @property
    def total_days(self) -> int:
        """Return the number of calendar days from opening to last day, both included."""
        return (self.last_day - self.opens).days + 1


@dataclass(frozen=True)
class ObservanceDef:
    """Define a day observed every year on the same date, such as Human Rights Day."""

    slug: str
    name: str
    month: int
    day: int
    source: str

    def __post_init__(self) -> None:
        try:
            # A common year: an observance must fall on a day every year has.
            date(2001, self.month, self.day)
        except ValueError as e:
            raise CalendarError(
                f"{self.name}: month {self.month}, day {self.day} is not a day every year has."
            ) from e

    def next_date(self, today: date) -> date:
        """Return the next day this observance falls on, ``today`` included."""
        this_year = date(today.year, self.month, self.day)
        if this_year >= today:
            return this_year
        return date(today.year + 1, self.month, self.day)


@dataclass(frozen=True)
class AgendaItem:
    """Define one of the Council's standing agenda items."""

    number: int
    title: str


@dataclass(frozen=True)
class Calendar:
    """Hold the sessions, observances and agenda items of the HRC calendar."""

    sessions: tuple[SessionDef, ...]
    observances: tuple[ObservanceDef, ...]
    agenda_items: tuple[AgendaItem, ...]

    def __post_init__(self) -> None:
        _require_unique((s.number for s in self.sessions), "session number")
        _require_unique((o.slug for o in self.observances), "observance slug")
        _require_unique((a.number for a in self.agenda_items), "agenda item number")

    def session(self, number: int) -> SessionDef | None:
        """Return session ``number``, or None when the calendar does not have it."""
        return next((s for s in self.sessions if s.number == number), None)


def load_calendar(path: Path) -> Calendar:
    """Read and check the HRC calendar TOML file at ``path``."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise CalendarError(f"Cannot read the calendar file {path}: {e.strerror}.") from e
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise CalendarError(f"The calendar file {path} is not valid TOML: {e}.") from e
    return parse_calendar(raw)


def parse_calendar(raw: Mapping[str, Any]) -> Calendar:
    """Build a Calendar from parsed TOML data, rejecting anything malformed."""
    top = _Row(raw, "the calendar file", required=(), optional=_TOP_LEVEL)
    sessions = [_session(_Row(r, f"sessions[{i}]", *_SESSION)) for i, r in top.rows("sessions")]
    observances = [
        _observance(_Row(r, f"observances[{i}]", *_OBSERVANCE)) for i, r in top.rows("observances")
    ]
    items = [
        AgendaItem(number=row.get_int("number"), title=row.get_str("title"))
        for row in (_Row(r, f"agenda_items[{i}]", *_AGENDA) for i, r in top.rows("agenda_items"))
    ]
    return Calendar(
        sessions=tuple(sorted(sessions, key=lambda s: s.number)),
        observances=tuple(observances),
        agenda_items=tuple(sorted(items, key=lambda a: a.number)),
    )


_TOP_LEVEL = ("sessions", "observances", "agenda_items")
_SESSION = (
    ("number", "title", "opens", "closes", "source"),
    ("closed", "location", "tentative"),
)
_OBSERVANCE = (("slug", "name", "month", "day", "source"), ())
_AGENDA = (("number", "title"), ())


def _session(row: _Row) -> SessionDef:
    return SessionDef(
        number=row.get_int("number"),
        title=row.get_str("title"),
        opens=row.get_date("opens"),
        closes=row.get_date("closes"),
        closed=row.get_date("closed") if "closed" in row else None,
        location=row.get_str("location") if "location" in row else DEFAULT_LOCATION,
        tentative=row.get_bool("tentative") if "tentative" in row else False,
        source=row.get_str("source"),
    )


def _observance(row: _Row) -> ObservanceDef:
    return ObservanceDef(
        slug=row.get_str("slug"),
        name=row.get_str("name"),
        month=row.get_int("month"),
        day=row.get_int("day"),
        source=row.get_str("source"),
    )


def _require_unique(values: Iterable[object], what: str) -> None:
    seen: set[object] = set()
    for value in values:
        if value in seen:
            raise CalendarError(f"The {what} {value} appears more than once.")
        seen.add(value)


class _Row:
    """One TOML table, read field by field with plain-word errors."""

    def __init__(
        self, raw: object, where: str, required: Iterable[str], optional: Iterable[str]
    ) -> None:
        if not isinstance(raw, Mapping):
            raise CalendarError(f"{where} must be a table.")
        self.raw: Mapping[str, Any] = raw
        self.where = where
        required = tuple(required)
        missing = [k for k in required if k not in raw]
        if missing:
            raise CalendarError(f"{where} is missing {', '.join(missing)}.")
        unknown = sorted(set(raw) - set(required) - set(optional))
        if unknown:
            raise CalendarError(f"{where} has unknown field(s): {', '.join(unknown)}.")

    def __contains__(self, key: str) -> bool:
        return key in self.raw

    def _fail(self, key: str, expected: str) -> CalendarError:
        return CalendarError(f"{self.where}: {key} must be {expected}, not {self.raw[key]!r}.")

    def get_int(self, key: str) -> int:
        value = self.raw[key]
        # bool is an int subclass; `number = true` is a typo, not session 1.
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise self._fail(key, "a whole number of 1 or more")
        return value

    def get_str(self, key: str) -> str:
        value = self.raw[key]
        if not isinstance(value, str) or not value.strip():
            raise self._fail(key, "a non-empty string")
        return value.strip()

    def get_bool(self, key: str) -> bool:
        value = self.raw[key]
        if not isinstance(value, bool):
            raise self._fail(key, "true or false")
        return value

    def get_date(self, key: str) -> date:
        value = self.raw[key]
        if isinstance(value, str):
            try:
                return date.fromisoformat(value)
            except ValueError:
                raise self._fail(key, "a date such as 2024-02-26") from None
        # datetime is a date subclass; a time of day has no meaning here.
        if isinstance(value, date) and not isinstance(value, datetime):
            return value
        raise self._fail(key, "a date such as 2024-02-26")

    def rows(self, key: str) -> list[tuple[int, object]]:
        value = self.raw.get(key, [])
        if not isinstance(value, list):
            raise CalendarError(f"{self.where}: {key} must be an array of tables ([[{key}]]).")
        return list(enumerate(value))
