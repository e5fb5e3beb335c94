"""Public pages of the Human Rights Council calendar: every session, and one session."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from alerts.hrc.countdown import geneva_date, long_date
from alerts.hrc.store import session_detail, sessions_overview, shipped_calendar
from alerts.models import Article
from alerts.timeutil import utcnow
from alerts.web.forms import page_context
from alerts.web.keys import SESSIONMAKER, SETTINGS
from alerts.web.views.feeds import session_number


def clock() -> datetime:
    """Return the current time; tests replace this to fix the countdowns."""
    return utcnow()


def add_routes(router: web.UrlDispatcher) -> None:
    """Register the sessions pages."""
    router.add_get("/sessions", sessions_page, name="sessions")
    router.add_get("/sessions/{code}", session_page, name="session")


def _published(article: Article) -> str:
    return long_date(geneva_date(article.published_at))


def _helpers() -> dict[str, Any]:
    return {"long_date": long_date, "published": _published}


@aiohttp_jinja2.template("sessions.html")
async def sessions_page(request: web.Request) -> dict[str, Any]:
    """Show upcoming, ongoing and past sessions and the coming observances."""
    observances = shipped_calendar(request.app[SETTINGS].feeds_dir).calendar.observances
    async with request.app[SESSIONMAKER]() as session:
        overview = await sessions_overview(session, observances, clock())
    return page_context(request, overview=overview, **_helpers())


@aiohttp_jinja2.template("session.html")
async def session_page(request: web.Request) -> dict[str, Any] | web.StreamResponse:
    """Show one session: dates, countdown, key issues, articles and feeds."""
    code = request.match_info["code"]
    number = session_number(code)
    if number is None:
        raise web.HTTPNotFound()
    if code != f"HRC{number}":
        # Returned, not raised, so the security headers middleware still sees it.
        return web.Response(status=301, headers={"Location": f"/sessions/HRC{number}"})
    async with request.app[SESSIONMAKER]() as session:
        detail = await session_detail(session, number, clock())
    if detail is None:
        raise web.HTTPNotFound()
    return page_context(request, detail=detail, **_helpers())
