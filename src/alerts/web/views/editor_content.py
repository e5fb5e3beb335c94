"""Editor API for content: article tags and the HRC session calendar; checks shared by feeds."""

from __future__ import annotations

import functools
from collections.abc import Collection, Mapping
from datetime import date
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from alerts.editors.audit import Who
from alerts.errors import NotFound, ValidationError
from alerts.hrc.calendar import DEFAULT_LOCATION, CalendarError, SessionDef, session_title
from alerts.hrc.store import (
    SessionExistsError,
    add_session,
    get_session,
    import_ics,
    list_sessions,
    update_session,
)
from alerts.ingest.retag import ArticleTags, Keep, get_article, list_articles, retag_article
from alerts.ingest.sources import (
    DuplicateSourceError,
    SourceError,
)
from alerts.models import Editor
from alerts.timeutil import utcnow
from alerts.web.auth import editor_api_error
from alerts.web.keys import SESSIONMAKER
from alerts.web.views.editor_json import (
    MAX_ID,
    BadRequest,
    EditorHandler,
    editor_view,
    iso,
    query_limit,
    read_object,
)

API_SOURCE = "Added through the editor API"
ICS_TYPES = frozenset({"text/calendar", "application/ics"})
# What each field of a body must be: a type name checked by ``check_fields``.
ARTICLE_CHANGE = {"topics": "list", "countries": "list", "session": "int?"}
SESSION_CHANGE = {
    "opens": "date", "closes": "date", "closed": "date?",
    "title": "str", "tentative": "bool", "source": "str",
}  # fmt: skip
NEW_SESSION = {"number": "int", **SESSION_CHANGE}
_WANTED = {
    "str": "Give a string.", "str?": "Give a string or null.", "bool": "Give true or false.",
    "int": "Give a whole number.", "int?": "Give a whole number or null.",
    "list": "Give a list of strings.", "date": "Give a date as YYYY-MM-DD.",
    "date?": "Give a date as YYYY-MM-DD, or null.",
}  # fmt: skip


def content_view(handler: EditorHandler) -> Handler:
    """Wrap ``editor_view``, also answering source and calendar errors in plain words."""

    @functools.wraps(handler)
    async def wrapped(request: web.Request, editor: Editor) -> web.StreamResponse:
        try:
            return await handler(request, editor)
        except (DuplicateSourceError, SessionExistsError) as e:
            return editor_api_error(409, str(e))
        except (SourceError, CalendarError) as e:
            return editor_api_error(400, str(e))

    return editor_view(wrapped)


def _fits(kind: str, value: Any) -> bool:
    if value is None:
        return kind.endswith("?")
    if kind.startswith("date"):
        try:
            date.fromisoformat(value)
        except (TypeError, ValueError):
            return False
        return len(value) == 10
    if kind == "list":
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    if kind.startswith("int"):
        return isinstance(value, int) and not isinstance(value, bool) and abs(value) <= MAX_ID
    return isinstance(value, bool if kind == "bool" else str)


def check_fields(
    data: Mapping[str, Any], spec: Mapping[str, str], required: Collection[str] = ()
) -> dict[str, Any]:
    """Return the body's fields, dates parsed; refuse unknown, missing and ill-typed ones."""
    errors = {k: "Unknown field." for k in data if k not in spec}
    errors |= {k: "Required." for k in required if data.get(k) is None}
    errors |= {k: _WANTED[spec[k]] for k in data if k in spec and not _fits(spec[k], data[k])}
    if errors:
        raise ValidationError(errors)
    if not data:
        raise ValidationError({"body": "Send at least one field to change."})
    return {
        k: date.fromisoformat(v) if spec[k].startswith("date") and v is not None else v
        for k, v in data.items()
    }


def path_number(request: web.Request, name: str = "id") -> int:
    value = int(request.match_info[name])
    if value > MAX_ID:
        raise NotFound(f"Nothing has the number {value}.")
    return value


def article_json(a: ArticleTags) -> dict[str, Any]:
    """Return an article and its tags as the API shows it."""
    art = a.article
    return {
        "id": art.id,
        "source_id": art.source_id,
        "title": art.title,
        "url": art.url,
        "summary_html": art.summary_html,
        "published_at": iso(art.published_at),
        "fetched_at": iso(art.fetched_at),
        "topics": list(a.topics),
        "countries": list(a.countries),
        "session": art.session_number,
        "key_issues": art.key_issues,
        "corrected": art.tags_edited_at is not None,
        "corrected_at": iso(art.tags_edited_at),
        "corrected_by": art.tags_edited_by,
    }


def session_json(d: SessionDef) -> dict[str, Any]:
    """Return an HRC session as the API shows it."""
    return {
        "number": d.number,
        "code": d.code,
        "title": d.title,
        "opens": d.opens.isoformat(),
        "closes": d.closes.isoformat(),
        "closed": d.closed.isoformat() if d.closed else None,
        "location": d.location,
        "tentative": d.tentative,
        "source": d.source,
    }


@content_view
async def articles_list(request: web.Request, editor: Editor) -> web.Response:
    """GET /api/editor/articles?topic=&country=&session=&limit=: newest first, with tags."""
    query, limit = request.query, query_limit(request)
    topic = query.get("topic", "").strip().lower() or None
    country = query.get("country", "").strip().upper() or None
    raw = query.get("session", "").strip().upper().removeprefix("HRC")
    if raw and (not raw.isdigit() or int(raw) > MAX_ID):
        raise ValidationError({"session": "Give a session number, such as 55 or HRC55."})
    async with request.app[SESSIONMAKER]() as session:
        found = await list_articles(
            session,
            topic=topic,
            country=country,
            hrc_session=int(raw) if raw else None,
            limit=limit,
        )
    return web.json_response({"articles": [article_json(a) for a in found]})


@content_view
async def article_show(request: web.Request, editor: Editor) -> web.Response:
    """GET /api/editor/articles/{id}: one article with its tags."""
    async with request.app[SESSIONMAKER]() as session:
        return web.json_response(article_json(await get_article(session, path_number(request))))


@content_view
async def article_change(request: web.Request, editor: Editor) -> web.Response:
    """PATCH /api/editor/articles/{id}: correct topics, countries or session; tagging keeps off."""
    data = check_fields(await read_object(request), ARTICLE_CHANGE)
    article_id = path_number(request)
    async with request.app[SESSIONMAKER].begin() as session:
        await retag_article(
            session,
            article_id,
            topics=data.get("topics"),
            countries=data.get("countries"),
            hrc_session=data.get("session", Keep.SESSION),
            editor=editor.email,
            now=utcnow(),
            who=Who.of(editor),
        )
        return web.json_response(article_json(await get_article(session, article_id)))


@content_view
async def sessions_list(request: web.Request, editor: Editor) -> web.Response:
    """GET /api/editor/sessions: every HRC session in the calendar, oldest first."""
    async with request.app[SESSIONMAKER]() as session:
        found = await list_sessions(session)
    return web.json_response({"sessions": [session_json(d) for d in found]})


@content_view
async def session_add(request: web.Request, editor: Editor) -> web.Response:
    """POST /api/editor/sessions: add a session; its dates are tentative unless told."""
    data = check_fields(
        await read_object(request), NEW_SESSION, required=("number", "opens", "closes")
    )
    number = data["number"]
    new = SessionDef(
        number=number,
        title=(data.get("title") or "").strip() or session_title(max(number, 1)),
        opens=data["opens"],
        closes=data["closes"],
        closed=data.get("closed"),
        location=DEFAULT_LOCATION,
        tentative=data.get("tentative", True),
        source=(data.get("source") or "").strip() or API_SOURCE,
    )
    async with request.app[SESSIONMAKER].begin() as session:
        await add_session(session, new, who=Who.of(editor))
    location = f"/api/editor/sessions/{new.number}"
    return web.json_response(session_json(new), status=201, headers={"Location": location})


@content_view
async def session_show(request: web.Request, editor: Editor) -> web.Response:
    """GET /api/editor/sessions/{number}: one session."""
    number = path_number(request, "number")
    async with request.app[SESSIONMAKER]() as session:
        found = await get_session(session, number)
    if found is None:
        raise NotFound(f"No session HRC{number} in the calendar.")
    return web.json_response(session_json(found))


@content_view
async def session_change(request: web.Request, editor: Editor) -> web.Response:
    """PATCH /api/editor/sessions/{number}: change dates, title, source or confirm the dates."""
    data = check_fields(await read_object(request), SESSION_CHANGE)
    for name in ("title", "source"):
        if name in data and not data[name].strip():
            raise ValidationError({name: "Give a non-empty string."})
    async with request.app[SESSIONMAKER].begin() as session:
        number = path_number(request, "number")
        changed = await update_session(session, number, data, who=Who.of(editor))
    return web.json_response(session_json(changed))


@content_view
async def sessions_import(request: web.Request, editor: Editor) -> web.Response:
    """POST /api/editor/sessions/import: add or update the sessions of an .ics body."""
    if request.content_type not in ICS_TYPES:
        raise BadRequest(415, "Send an iCalendar file with Content-Type: text/calendar.")
    data = await request.read()
    if not data.strip():
        raise ValidationError({"body": "The iCalendar file is empty."})
    async with request.app[SESSIONMAKER].begin() as session:
        numbers = await import_ics(session, data, who=Who.of(editor))
    return web.json_response({"imported": numbers})


def add_routes(router: web.UrlDispatcher) -> None:
    """Register the article and session routes of the editor API."""
    base = "/api/editor"
    router.add_get(f"{base}/articles", articles_list)
    router.add_get(base + r"/articles/{id:\d+}", article_show)
    router.add_patch(base + r"/articles/{id:\d+}", article_change)
    router.add_get(f"{base}/sessions", sessions_list)
    router.add_post(f"{base}/sessions", session_add)
    router.add_post(f"{base}/sessions/import", sessions_import)
    router.add_get(base + r"/sessions/{number:\d+}", session_show)
    router.add_patch(base + r"/sessions/{number:\d+}", session_change)
