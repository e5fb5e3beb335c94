"""Outgoing feeds over HTTP: Atom, RSS, JSON Feed, iCalendar and OPML, with conditional GET."""

from __future__ import annotations

import hashlib
import re
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from datetime import datetime

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.hrc.ics import calendar_to_ics
from alerts.hrc.store import list_sessions, sessions_updated_at, shipped_calendar
from alerts.syndication.build import (
    CONTENT_TYPES,
    EPOCH,
    Format,
    Site,
    build_feed,
    last_updated,
)
from alerts.syndication.opml import build_opml
from alerts.syndication.query import (
    Entry,
    Scope,
    Tag,
    all_scope,
    country_scope,
    feed_entries,
    feed_index,
    region_scope,
    session_scope,
    topic_country_scope,
    topic_scope,
)
from alerts.web.keys import CATALOG, SESSIONMAKER, SETTINGS

CACHE_CONTROL = "public, max-age=300"
EXT = "{ext:atom|rss|json}"
SESSION_CODE = re.compile(r"^hrc(\d{1,4})$", re.IGNORECASE)
_FORMATS: dict[str, Format] = {"atom": "atom", "rss": "rss", "json": "json"}
_CACHE_SIZE = 64
# Built bodies by (site, scope, format, entries): readers poll unchanged feeds far more
# often than articles arrive, and the entries compare equal until something changes.
_built: OrderedDict[tuple[Site, Scope, str, tuple[Entry, ...]], bytes] = OrderedDict()

Resolve = Callable[[AsyncSession], Awaitable[Scope | None]]


def add_routes(router: web.UrlDispatcher) -> None:
    """Register the outgoing feeds, the sessions calendar and the OPML list."""
    router.add_get(f"/feeds/all.{EXT}", all_feed)
    router.add_get(f"/feeds/topics/{{slug}}.{EXT}", topic_feed)
    router.add_get(f"/feeds/topics/{{slug}}/countries/{{code}}.{EXT}", topic_country_feed)
    router.add_get(f"/feeds/countries/{{code}}.{EXT}", country_feed)
    router.add_get(f"/feeds/regions/{{slug}}.{EXT}", region_feed)
    router.add_get(f"/feeds/sessions/{{code}}.{EXT}", session_feed)
    router.add_get("/feeds.opml", opml)
    router.add_get("/sessions.ics", sessions_ics)


def session_number(code: str) -> int | None:
    """Return the number in a session code such as ``HRC55`` (any case), or None."""
    match = SESSION_CODE.match(code)
    return int(match.group(1)) if match else None


def site_of(request: web.Request) -> Site:
    """Return who publishes the feeds of this app, and where."""
    settings = request.app[SETTINGS]
    return Site(settings.base_url, settings.organisation_name)


def conditional_response(
    request: web.Request, body: bytes, content_type: str, last_modified: datetime | None
) -> web.Response:
    """Answer with ``body``, or 304 when the client's ETag or date says it has it already."""
    etag = hashlib.sha256(body).hexdigest()[:32]
    modified = last_modified.replace(microsecond=0) if last_modified else None
    response = web.Response(headers={"Cache-Control": CACHE_CONTROL})
    response.etag = etag
    response.last_modified = modified
    if _not_modified(request, etag, modified):
        response.set_status(304)
        return response
    response.body = body
    response.content_type = content_type
    response.charset = "utf-8"
    return response


def _not_modified(request: web.Request, etag: str, modified: datetime | None) -> bool:
    # RFC 9110 13.2.2: If-None-Match, when present, decides; If-Modified-Since is ignored.
    tags = request.if_none_match
    if tags is not None:
        return any(t.value in (etag, "*") for t in tags)
    since = request.if_modified_since
    return since is not None and modified is not None and modified <= since


def _build(site: Site, scope: Scope, fmt: Format, entries: list[Entry]) -> bytes:
    key = (site, scope, fmt, tuple(entries))
    body = _built.get(key)
    if body is None:
        body = build_feed(fmt, site, scope, entries)
        _built[key] = body
        if len(_built) > _CACHE_SIZE:
            _built.popitem(last=False)
    else:
        _built.move_to_end(key)
    return body


async def _feed(request: web.Request, resolve: Resolve) -> web.Response:
    fmt = _FORMATS[request.match_info["ext"]]
    async with request.app[SESSIONMAKER]() as session:
        scope = await resolve(session)
        if scope is None:
            raise web.HTTPNotFound()
        entries = await feed_entries(session, scope)
    body = _build(site_of(request), scope, fmt, entries)
    return conditional_response(request, body, CONTENT_TYPES[fmt], last_updated(entries))


async def all_feed(request: web.Request) -> web.Response:
    """Serve the feed of every article."""

    async def resolve(_: AsyncSession) -> Scope:
        return all_scope()

    return await _feed(request, resolve)


async def topic_feed(request: web.Request) -> web.Response:
    """Serve the feed of one topic."""
    slug = request.match_info["slug"]
    return await _feed(request, lambda s: topic_scope(s, slug))


async def country_feed(request: web.Request) -> web.Response:
    """Serve the feed of one country."""
    code = request.match_info["code"]
    return await _feed(request, lambda s: country_scope(s, code))


async def topic_country_feed(request: web.Request) -> web.Response:
    """Serve the feed of one topic in one country."""
    slug, code = request.match_info["slug"], request.match_info["code"]
    return await _feed(request, lambda s: topic_country_scope(s, slug, code))


async def region_feed(request: web.Request) -> web.Response:
    """Serve the feed of one region."""
    names = {r.slug: r.name for r in request.app[CATALOG].regions}
    scope = region_scope(request.match_info["slug"], names)

    async def resolve(_: AsyncSession) -> Scope | None:
        return scope

    return await _feed(request, resolve)


async def session_feed(request: web.Request) -> web.Response:
    """Serve the feed of one HRC session."""
    number = session_number(request.match_info["code"])
    if number is None:
        raise web.HTTPNotFound()
    return await _feed(request, lambda s: session_scope(s, number))


async def sessions_ics(request: web.Request) -> web.Response:
    """Serve every stored session and the shipped observances as an iCalendar file."""
    settings = request.app[SETTINGS]
    shipped = shipped_calendar(settings.feeds_dir)
    async with request.app[SESSIONMAKER]() as session:
        sessions = await list_sessions(session)
        updated = await sessions_updated_at(session)
    # The newest change stamps the file, so an unchanged calendar keeps its ETag.
    stamp = max(updated or EPOCH, shipped.modified)
    body = calendar_to_ics(
        sessions,
        shipped.calendar.observances,
        now=stamp,
        prodid=f"-//{settings.organisation_name}//alerts//EN",
        base_url=settings.base_url,
    )
    return conditional_response(request, body, "text/calendar", stamp)


async def opml(request: web.Request) -> web.Response:
    """Serve the OPML list of every Atom feed worth following."""
    async with request.app[SESSIONMAKER]() as session:
        index = await feed_index(session)
    regions = [Tag(r.slug, r.name) for r in request.app[CATALOG].regions]
    body = build_opml(site_of(request), index, regions)
    return conditional_response(request, body, "text/x-opml", None)
