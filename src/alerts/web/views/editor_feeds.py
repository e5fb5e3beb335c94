"""Editor API for sources (feeds): list, follow, change, fetch now; with their health."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from alerts.digests.alerts import create_alert_editions, start_alerts
from alerts.editors.audit import Who, record_as
from alerts.ingest.pipeline import FetchOutcome, fetch_source, fetcher_for
from alerts.ingest.sources import (
    SourceHealth,
    add_source,
    change_source,
    list_sources,
    source_health,
)
from alerts.models import Editor
from alerts.taxonomy.tagger import Tagger
from alerts.timeutil import utcnow
from alerts.web.keys import ARQ, SESSIONMAKER, SETTINGS
from alerts.web.views.editor_content import check_fields, content_view, path_number
from alerts.web.views.editor_json import iso, read_object

NEW_FEED = {"url": "str", "title": "str?", "topics": "list", "interval_minutes": "int"}
FEED_CHANGE = {"active": "bool", "title": "str?", "topics": "list", "interval_minutes": "int"}


def feed_json(s: SourceHealth) -> dict[str, Any]:
    """Return a source and its health as the API shows it."""
    return {
        "id": s.id,
        "url": s.url,
        "title": s.title,
        "active": s.active,
        "topics": list(s.topics),
        "interval_minutes": s.fetch_interval // 60,
        "last_success_at": iso(s.last_success_at),
        "consecutive_failures": s.consecutive_failures,
        "last_error": s.last_error,
        "last_problem": s.last_problem,
        "next_fetch_at": iso(s.next_fetch_at),
    }


@content_view
async def feeds_list(request: web.Request, editor: Editor) -> web.Response:
    """GET /api/editor/feeds: every source with its health, oldest first."""
    async with request.app[SESSIONMAKER]() as session:
        return web.json_response({"feeds": [feed_json(s) for s in await list_sources(session)]})


@content_view
async def feed_add(request: web.Request, editor: Editor) -> web.Response:
    """POST /api/editor/feeds: follow a feed; its URL must reach a public address."""
    data = check_fields(await read_object(request), NEW_FEED, required=("url",))
    settings = request.app[SETTINGS]
    async with request.app[SESSIONMAKER].begin() as session:
        source = await add_source(
            session,
            data["url"],
            origin="api",
            allowed_hosts=settings.feed_allowed_hosts,
            default_interval=settings.feed_fetch_interval_seconds,
            title=data.get("title"),
            topics=data.get("topics") or (),
            interval_minutes=data.get("interval_minutes"),
            who=Who.of(editor),
        )
        body = feed_json(await source_health(session, source.id))
    headers = {"Location": f"/api/editor/feeds/{source.id}"}
    return web.json_response(body, status=201, headers=headers)


@content_view
async def feed_show(request: web.Request, editor: Editor) -> web.Response:
    """GET /api/editor/feeds/{id}: one source with its health."""
    async with request.app[SESSIONMAKER]() as session:
        return web.json_response(feed_json(await source_health(session, path_number(request))))


@content_view
async def feed_change(request: web.Request, editor: Editor) -> web.Response:
    """PATCH /api/editor/feeds/{id}: change active, title, interval_minutes or topics."""
    data = check_fields(await read_object(request), FEED_CHANGE)
    async with request.app[SESSIONMAKER].begin() as session:
        source_id = path_number(request)
        await change_source(session, source_id, data, who=Who.of(editor), now=utcnow())
        return web.json_response(feed_json(await source_health(session, source_id)))


@content_view
async def feed_fetch(request: web.Request, editor: Editor) -> web.Response:
    """POST /api/editor/feeds/{id}/fetch: fetch one source now and say what it brought."""
    await read_object(request, optional=True)
    source_id, sessionmaker = path_number(request), request.app[SESSIONMAKER]
    settings = request.app[SETTINGS]
    async with sessionmaker() as session:
        await source_health(session, source_id)  # 404 before any work
    # Parsing and tagging run in threads: only the network waits happen on the loop.
    tagger = await asyncio.to_thread(Tagger.from_files, settings.feeds_dir)
    async with fetcher_for(settings) as fetcher:
        outcome = await fetch_source(sessionmaker, source_id, fetcher=fetcher, tagger=tagger)
    now = utcnow()
    async with sessionmaker.begin() as session:
        details = {"status": outcome.status, "new": outcome.new, "error": outcome.error}
        await record_as(
            session, Who.of(editor), "source.fetch", f"source:{source_id}", details, now
        )
        # As the worker does: subscribers who chose "immediate" hear of new articles.
        editions = await create_alert_editions(session, outcome.new_ids, now=now)
        feed = feed_json(await source_health(session, source_id))
    await start_alerts(request.app[ARQ], editions, settings.send_parallelism)
    return web.json_response({"outcome": _outcome_json(outcome), "feed": feed})


def _outcome_json(o: FetchOutcome) -> dict[str, Any]:
    return {
        "status": o.status,
        "url": o.url,
        "new": o.new,
        "duplicate": o.duplicate,
        "skipped": o.skipped,
        "new_ids": list(o.new_ids),
        "error": o.error,
        "problem": o.problem,
    }


def add_routes(router: web.UrlDispatcher) -> None:
    """Register the feed routes of the editor API."""
    base = "/api/editor/feeds"
    router.add_get(base, feeds_list)
    router.add_post(base, feed_add)
    router.add_get(base + r"/{id:\d+}", feed_show)
    router.add_patch(base + r"/{id:\d+}", feed_change)
    router.add_post(base + r"/{id:\d+}/fetch", feed_fetch)
