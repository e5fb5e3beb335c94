"""Middlewares: plain-word error pages and JSON errors, security headers."""

from __future__ import annotations

import logging
from typing import Any

import aiohttp_jinja2
from aiohttp import web
from aiohttp.typedefs import Handler

from alerts.web.forms import page_context

log = logging.getLogger(__name__)

MESSAGES = {
    400: "Something in the request was not right.",
    403: "This form has expired. Please go back, reload the page and try again.",
    404: "There is no page at this address.",
    405: "This page cannot be used that way.",
    413: "What you sent is too large.",
    415: "This kind of content is not accepted here.",
    429: "Too many attempts. Please wait a while and try again.",
    500: "Something went wrong on our side. Nothing you entered was lost; please try again later.",
}

# Headers of an HTTP error that must survive its replacement by a friendly page.
KEPT_HEADERS = ("Allow", "WWW-Authenticate", "Retry-After")

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def wants_json(request: web.Request) -> bool:
    """Tell whether the client should get a JSON error rather than a page."""
    if request.path.startswith("/api/"):
        return True
    accept = request.headers.get("Accept", "")
    return "application/json" in accept and "text/html" not in accept


def error_response(request: web.Request, status: int, message: str | None = None) -> web.Response:
    """Return a JSON or HTML error that says what went wrong in plain words."""
    text = message or MESSAGES.get(status, "The request could not be completed.")
    if wants_json(request):
        return web.json_response({"error": text, "status": status}, status=status)
    try:
        context = page_context(request, status=status, message=text)
        return aiohttp_jinja2.render_template("error.html", request, context, status=status)
    except Exception:
        log.exception("error page failed to render")
        return web.Response(text=text, status=status)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn HTTP errors and unexpected exceptions into friendly answers without stack traces."""
    try:
        return await handler(request)
    except web.HTTPException as e:
        if e.status < 400:
            raise
        if e.content_type == "application/json" and e.text:
            response = web.Response(status=e.status, text=e.text, content_type="application/json")
        else:
            message = None if e.status in MESSAGES else e.reason
            response = error_response(request, e.status, message)
        for name in KEPT_HEADERS:
            if name in e.headers:
                response.headers[name] = e.headers[name]
        return response
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(request, 500)


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Add headers that keep tokens in URLs from leaking and pages from being framed."""
    try:
        response = await handler(request)
    except web.HTTPException as e:  # redirects raised by views
        _secure(request, e.headers)
        raise
    _secure(request, response.headers)
    return response


def _secure(request: web.Request, headers: Any) -> None:
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Frame-Options", "DENY")
    if request.path not in ("/healthz",) and "Cache-Control" not in headers:
        headers["Cache-Control"] = "no-store"


def client_ip(request: web.Request, trusted_proxies: int) -> str | None:
    """Return the client's IP, trusting X-Forwarded-For only for the configured proxies."""
    if trusted_proxies > 0:
        forwarded = [p.strip() for p in request.headers.get("X-Forwarded-For", "").split(",")]
        forwarded = [p for p in forwarded if p]
        if len(forwarded) >= trusted_proxies:
            return forwarded[-trusted_proxies]
    return request.remote
