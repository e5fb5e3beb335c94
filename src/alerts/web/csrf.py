"""CSRF protection for HTML forms: a random cookie and an HMAC of it in each form."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from aiohttp import web
from aiohttp.typedefs import Handler

from alerts.web.keys import SETTINGS

COOKIE = "alerts_csrf"
FIELD = "csrf_token"
_NEW = web.RequestKey("csrf_new", str)


def _sign(secret: str, value: str) -> str:
    return hmac.new(secret.encode(), f"csrf:{value}".encode(), hashlib.sha256).hexdigest()


def csrf_token(request: web.Request) -> str:
    """Return the token to put in a form, creating the cookie when the visitor has none."""
    value = request.cookies.get(COOKIE) or request.get(_NEW)
    if not value:
        value = secrets.token_urlsafe(24)
        request[_NEW] = value
    return _sign(request.app[SETTINGS].secret, value)


def check_csrf(request: web.Request, submitted: object) -> bool:
    """Tell whether the submitted form token matches the visitor's cookie."""
    value = request.cookies.get(COOKIE)
    if not value or not isinstance(submitted, str):
        return False
    return hmac.compare_digest(_sign(request.app[SETTINGS].secret, value), submitted)


@web.middleware
async def csrf_cookie_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Set the CSRF cookie on responses whose page asked for a token."""
    response = await handler(request)
    new = request.get(_NEW)
    if new and not response.prepared:
        response.set_cookie(
            COOKIE,
            new,
            httponly=True,
            samesite="Lax",
            secure=request.app[SETTINGS].secure_cookies,
            path="/",
        )
    return response
