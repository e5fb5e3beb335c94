"""Bearer-token authentication for the editor JSON API (RFC 6750)."""

from __future__ import annotations

import functools
from collections.abc import Mapping

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler

from alerts.editors.tokens import editor_for_token
from alerts.models import Editor
from alerts.web.keys import SESSIONMAKER

REALM = "alerts"
MISSING = "Send an API token in the header Authorization: Bearer <token>."
MALFORMED = "The Authorization header must read: Bearer <token>."
INVALID = "This API token is not valid: it may be mistyped or revoked, or its editor disabled."

EDITOR = web.RequestKey("editor", Editor)


class EditorAuthFailed(web.HTTPUnauthorized):
    """A 401 carrying a plain-word message and the Bearer challenge to send."""

    def __init__(self, message: str, error: str | None = None) -> None:
        challenge = f'Bearer realm="{REALM}"'
        if error:
            challenge += f', error="{error}"'
        super().__init__(headers={hdrs.WWW_AUTHENTICATE: challenge}, text=message)
        self.message = message
        self.challenge = challenge


def editor_api_error(
    status: int, message: str, *, headers: Mapping[str, str] | None = None
) -> web.Response:
    """Return a JSON error for the editor API, shaped like every other API error."""
    return web.json_response({"error": message, "status": status}, status=status, headers=headers)


def editor_api(handler: Handler) -> Handler:
    """Wrap an editor API view so a failed ``require_editor`` answers 401 JSON with its challenge.

    The error middleware rebuilds HTTP errors and drops their headers, so the answer is made
    here, inside it.
    """

    @functools.wraps(handler)
    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except EditorAuthFailed as e:
            return editor_api_error(401, e.message, headers={hdrs.WWW_AUTHENTICATE: e.challenge})

    return wrapped


async def require_editor(request: web.Request) -> Editor:
    """Return the editor whose bearer token the request carries, or raise a 401."""
    if EDITOR in request:
        return request[EDITOR]
    header = request.headers.get(hdrs.AUTHORIZATION)
    if header is None:
        raise EditorAuthFailed(MISSING)
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        raise EditorAuthFailed(MALFORMED, "invalid_request")
    async with request.app[SESSIONMAKER].begin() as session:
        editor = await editor_for_token(session, token)
    if editor is None:
        raise EditorAuthFailed(INVALID, "invalid_token")
    request[EDITOR] = editor
    return editor
