"""Editor API for digests: list, create, change, pause, resume, preview, test, send now."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.digests import editions
from alerts.digests.manage import get_digest, list_digests
from alerts.digests.preview import preview, send_test
from alerts.editors.audit import Who
from alerts.errors import NotFound, ValidationError
from alerts.mail.transactional import Branding
from alerts.mail.transport import transport_for
from alerts.models import Digest, EditionStatus, Editor
from alerts.queue import enqueue_edition
from alerts.timeutil import utcnow
from alerts.web.keys import ARQ, LINKS, SESSIONMAKER, SETTINGS
from alerts.web.views.editor_json import (
    MAX_ID,
    digest_json,
    edition_json,
    editor_view,
    read_object,
)

FORMATS = ("json", "html", "text")
# Email HTML carries inline styles; nothing else may load or run in a preview.
PREVIEW_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'self'"
)


async def _digest(session: AsyncSession, request: web.Request) -> Digest:
    slug = request.match_info["slug"]
    if slug.isdigit() and int(slug) > MAX_ID:
        raise NotFound(f"No digest {slug}.")
    return await get_digest(session, slug)


async def _shown(session: AsyncSession, digest: Digest) -> dict[str, Any]:
    topics, countries = (await editions.digest_filters(session, [digest.id]))[digest.id]
    return digest_json(digest, topics, countries)


@editor_view
async def digests_list(request: web.Request, editor: Editor) -> web.Response:
    """GET /api/editor/digests: every digest by name, with its filter."""
    async with request.app[SESSIONMAKER]() as session:
        digests = await list_digests(session)
        filters = await editions.digest_filters(session, [d.id for d in digests])
    return web.json_response({"digests": [digest_json(d, *filters[d.id]) for d in digests]})


@editor_view
async def digest_create(request: web.Request, editor: Editor) -> web.Response:
    """POST /api/editor/digests: create a digest from the fields in the body."""
    data = editions.check_fields(await read_object(request))
    async with request.app[SESSIONMAKER].begin() as session:
        digest = await editions.create(session, data, who=Who.of(editor), now=utcnow())
        body = await _shown(session, digest)
    location = f"/api/editor/digests/{digest.slug}"
    return web.json_response(body, status=201, headers={"Location": location})


@editor_view
async def digest_show(request: web.Request, editor: Editor) -> web.Response:
    """GET /api/editor/digests/{slug}: one digest."""
    async with request.app[SESSIONMAKER]() as session:
        return web.json_response(await _shown(session, await _digest(session, request)))


@editor_view
async def digest_change(request: web.Request, editor: Editor) -> web.Response:
    """PATCH /api/editor/digests/{slug}: change the fields in the body, keep the others."""
    data = editions.check_fields(await read_object(request))
    if not data:
        raise ValidationError({"body": "Send at least one field to change."})
    async with request.app[SESSIONMAKER].begin() as session:
        digest = await _digest(session, request)
        await editions.change(session, digest, data, who=Who.of(editor), now=utcnow())
        return web.json_response(await _shown(session, digest))


async def _set_active(request: web.Request, editor: Editor, active: bool) -> web.Response:
    await read_object(request, optional=True)
    async with request.app[SESSIONMAKER].begin() as session:
        digest = await _digest(session, request)
        await editions.set_active(session, digest, active, who=Who.of(editor), now=utcnow())
        return web.json_response(await _shown(session, digest))


@editor_view
async def digest_pause(request: web.Request, editor: Editor) -> web.Response:
    """POST /api/editor/digests/{slug}/pause: stop the schedule (editions sending go on)."""
    return await _set_active(request, editor, False)


@editor_view
async def digest_resume(request: web.Request, editor: Editor) -> web.Response:
    """POST /api/editor/digests/{slug}/resume: schedule again from now."""
    return await _set_active(request, editor, True)


def _subscriber(value: object) -> int | str | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValidationError({"subscriber": "Give a subscriber's id or email address."})
    return value


@editor_view
async def digest_preview(request: web.Request, editor: Editor) -> web.StreamResponse:
    """GET /api/editor/digests/{slug}/preview: the next edition as a subscriber would get it."""
    fmt = request.query.get("format", "json")
    if fmt not in FORMATS:
        raise ValidationError({"format": "Choose json, html or text."})
    sessionmaker = request.app[SESSIONMAKER]
    async with sessionmaker() as session:
        digest = await _digest(session, request)
    settings = request.app[SETTINGS]
    rendered = await preview(
        sessionmaker,
        digest,
        _subscriber(request.query.get("subscriber")),
        links=request.app[LINKS],
        branding=Branding.from_settings(settings),
        templates_dir=settings.templates_dir,
        feeds_dir=settings.feeds_dir,
        now=utcnow(),
    )
    if fmt == "html":
        return web.Response(
            text=rendered.html,
            content_type="text/html",
            headers={"Content-Security-Policy": PREVIEW_CSP},
        )
    if fmt == "text":
        return web.Response(text=rendered.text, content_type="text/plain")
    return web.json_response(
        {"subject": rendered.subject, "text": rendered.text, "html": rendered.html}
    )


@editor_view
async def digest_test(request: web.Request, editor: Editor) -> web.Response:
    """POST /api/editor/digests/{slug}/test: send the preview to an address, marked [Test]."""
    data = await read_object(request)
    if not isinstance(data.get("to"), str):
        raise ValidationError({"to": "Give the address to send the test to."})
    sessionmaker = request.app[SESSIONMAKER]
    async with sessionmaker() as session:
        digest = await _digest(session, request)
    settings = request.app[SETTINGS]
    transport = transport_for(settings.smtp_url, sessionmaker, settings.smtp_timeout)
    try:
        sent = await send_test(
            sessionmaker,
            digest,
            data["to"],
            _subscriber(data.get("subscriber")),
            transport=transport,
            who=Who.of(editor),
            links=request.app[LINKS],
            branding=Branding.from_settings(settings),
            templates_dir=settings.templates_dir,
            feeds_dir=settings.feeds_dir,
            now=utcnow(),
        )
    finally:
        await transport.close()
    return web.json_response(
        {
            "to": sent.to,
            "subject": sent.subject,
            "message_id": sent.message_id,
            "response": sent.response,
        }
    )


@editor_view
async def digest_send_now(request: web.Request, editor: Editor) -> web.Response:
    """POST /api/editor/digests/{slug}/send-now: an edition due now, planned and enqueued."""
    await read_object(request, optional=True)
    async with request.app[SESSIONMAKER].begin() as session:
        digest = await _digest(session, request)
        edition = await editions.send_now(session, digest, who=Who.of(editor), now=utcnow())
        summary = await editions.get_edition(session, edition.id)
    sending = summary.edition.status == EditionStatus.SENDING
    if sending:
        parallel = request.app[SETTINGS].send_parallelism
        await enqueue_edition(request.app[ARQ], summary.edition.id, parallel)
    return web.json_response({**edition_json(summary), "enqueued": sending}, status=201)


def add_routes(router: web.UrlDispatcher) -> None:
    """Register the digest routes of the editor API."""
    base = "/api/editor/digests"
    router.add_get(base, digests_list)
    router.add_post(base, digest_create)
    router.add_get(base + "/{slug}", digest_show)
    router.add_patch(base + "/{slug}", digest_change)
    router.add_post(base + "/{slug}/pause", digest_pause)
    router.add_post(base + "/{slug}/resume", digest_resume)
    router.add_get(base + "/{slug}/preview", digest_preview)
    router.add_post(base + "/{slug}/test", digest_test)
    router.add_post(base + "/{slug}/send-now", digest_send_now)
