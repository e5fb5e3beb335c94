"""Editor API for editions (list, show, cancel, pause, resume) and the audit log."""

from __future__ import annotations

from aiohttp import web

from alerts.digests import editions
from alerts.digests.manage import get_digest
from alerts.editors import audit
from alerts.editors.audit import Who
from alerts.errors import NotFound
from alerts.models import EditionStatus, Editor
from alerts.queue import enqueue_edition
from alerts.timeutil import utcnow
from alerts.web.keys import ARQ, SESSIONMAKER, SETTINGS
from alerts.web.views.editor_json import (
    MAX_ID,
    audit_json,
    edition_json,
    editor_view,
    path_id,
    query_limit,
    read_object,
)


@editor_view
async def editions_list(request: web.Request, editor: Editor) -> web.Response:
    """GET /api/editor/editions?digest=slug&limit=50: the latest editions with their counts."""
    limit = query_limit(request)
    slug = request.query.get("digest")
    async with request.app[SESSIONMAKER]() as session:
        digest = None
        if slug:
            if slug.isdigit() and int(slug) > MAX_ID:
                raise NotFound(f"No digest {slug}.")
            digest = await get_digest(session, slug)
        found = await editions.list_editions(session, digest, limit)
    return web.json_response({"editions": [edition_json(s) for s in found]})


@editor_view
async def edition_show(request: web.Request, editor: Editor) -> web.Response:
    """GET /api/editor/editions/{id}: one edition with its counts."""
    async with request.app[SESSIONMAKER]() as session:
        summary = await editions.get_edition(session, path_id(request))
    return web.json_response(edition_json(summary))


async def _control(request: web.Request, editor: Editor, verb: str) -> web.Response:
    await read_object(request, optional=True)
    edition_id = path_id(request)
    control = {
        "cancel": editions.cancel_edition,
        "pause": editions.pause_edition,
        "resume": editions.resume_edition,
    }[verb]
    async with request.app[SESSIONMAKER].begin() as session:
        await control(session, edition_id, who=Who.of(editor), now=utcnow())
        summary = await editions.get_edition(session, edition_id)
    if summary.edition.status == EditionStatus.SENDING:
        parallel = request.app[SETTINGS].send_parallelism
        await enqueue_edition(request.app[ARQ], edition_id, parallel)
    return web.json_response(edition_json(summary))


@editor_view
async def edition_cancel(request: web.Request, editor: Editor) -> web.Response:
    """POST /api/editor/editions/{id}/cancel: send nothing more of this edition."""
    return await _control(request, editor, "cancel")


@editor_view
async def edition_pause(request: web.Request, editor: Editor) -> web.Response:
    """POST /api/editor/editions/{id}/pause: stop sending after the current batches."""
    return await _control(request, editor, "pause")


@editor_view
async def edition_resume(request: web.Request, editor: Editor) -> web.Response:
    """POST /api/editor/editions/{id}/resume: send the rest; senders are enqueued."""
    return await _control(request, editor, "resume")


@editor_view
async def audit_list(request: web.Request, editor: Editor) -> web.Response:
    """GET /api/editor/audit?limit=50: who did what, newest first."""
    limit = query_limit(request)
    async with request.app[SESSIONMAKER]() as session:
        entries = await audit.recent(session, limit=limit)
    return web.json_response({"entries": [audit_json(e) for e in entries]})


def add_routes(router: web.UrlDispatcher) -> None:
    """Register the edition and audit routes of the editor API."""
    router.add_get("/api/editor/editions", editions_list)
    router.add_get(r"/api/editor/editions/{id:\d+}", edition_show)
    router.add_post(r"/api/editor/editions/{id:\d+}/cancel", edition_cancel)
    router.add_post(r"/api/editor/editions/{id:\d+}/pause", edition_pause)
    router.add_post(r"/api/editor/editions/{id:\d+}/resume", edition_resume)
    router.add_get("/api/editor/audit", audit_list)
