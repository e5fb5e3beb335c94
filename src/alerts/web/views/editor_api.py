"""The editor JSON API under /api/editor/: every view is behind a bearer token."""

from __future__ import annotations

from aiohttp import web

from alerts.web.auth import editor_api, require_editor
from alerts.web.views import editor_content, editor_digests, editor_editions, editor_feeds


@editor_api
async def me(request: web.Request) -> web.Response:
    """GET /api/editor/me: say which editor the token belongs to."""
    editor = await require_editor(request)
    return web.json_response({"id": editor.id, "email": editor.email})


def add_routes(router: web.UrlDispatcher) -> None:
    """Register the editor API routes."""
    router.add_get("/api/editor/me", me)
    editor_digests.add_routes(router)
    editor_editions.add_routes(router)
    editor_feeds.add_routes(router)
    editor_content.add_routes(router)
