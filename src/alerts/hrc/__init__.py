"""The UN Human Rights Council calendar: sessions, observances, countdowns and iCalendar."""

from alerts.hrc.calendar import (
    DEFAULT_LOCATION,
    AgendaItem,
    Calendar,
    CalendarError,
    ObservanceDef,
    SessionDef,
    load_calendar,
    parse_calendar,
    session_title,
)
from alerts.hrc.countdown import (
    GENEVA,
    Countdown,
    CountdownEntry,
    geneva_date,
    observance_countdown,
    session_countdown,
    upcoming_and_current,
)
from alerts.hrc.ics import calendar_to_ics, sessions_from_ics

__all__ = [
    "DEFAULT_LOCATION",
    "GENEVA",
    "AgendaItem",
    "Calendar",
    "CalendarError",
    "Countdown",
    "CountdownEntry",
    "ObservanceDef",
    "SessionDef",
    "calendar_to_ics",
    "geneva_date",
    "load_calendar",
    "observance_countdown",
    "parse_calendar",
    "session_countdown",
    "session_title",
    "sessions_from_ics",
    "upcoming_and_current",
]
