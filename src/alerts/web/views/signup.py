"""The sign-up form and the JSON API that does the same."""

from __future__ import annotations

import json
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from alerts.errors import ValidationError
from alerts.queue import enqueue_mail
from alerts.subscribers.signup import SignupOutcome, hash_ip, sign_up
from alerts.subscribers.validation import check_signup
from alerts.timeutil import utcnow
from alerts.web.forms import form_values, mail_cap, page_context, read_form
from alerts.web.keys import ARQ, CATALOG, LIMITER, SESSIONMAKER, SETTINGS
from alerts.web.middlewares import client_ip

ACCEPTED = "Thank you. Check your inbox: we have sent you an email to confirm your subscription."


@aiohttp_jinja2.template("signup.html")
async def signup_page(request: web.Request) -> dict[str, Any]:
    """Show the "Stay in the loop!" form."""
    return page_context(request, values={}, errors={})


async def _within_ip_limit(request: web.Request) -> bool:
    settings = request.app[SETTINGS]
    ip = client_ip(request, settings.trusted_proxies) or "unknown"
    return await request.app[LIMITER].allow(
        "signup-ip",
        ip,
        limit=settings.signup_ip_limit,
        window_seconds=settings.signup_ip_window_seconds,
    )


async def _sign_up(request: web.Request, data: dict[str, object], source: str) -> SignupOutcome:
    settings = request.app[SETTINGS]
    catalog = request.app[CATALOG]
    checked = check_signup(
        data, known_topics=catalog.topic_slugs, known_countries=catalog.country_codes
    )
    ip_hash = hash_ip(settings.secret, client_ip(request, settings.trusted_proxies))
    async with request.app[SESSIONMAKER].begin() as session:
        outcome = await sign_up(
            session, checked, source=source, ip_hash=ip_hash, cap=mail_cap(request), now=utcnow()
        )
    await enqueue_mail(request.app[ARQ], outcome.mail_id)
    return outcome


async def signup_submit(request: web.Request) -> web.StreamResponse:
    """Handle the sign-up form; answer the same whatever the address's state."""
    form = await read_form(request)
    values = form_values(form)
    if not await _within_ip_limit(request):
        raise web.HTTPTooManyRequests()
    try:
        await _sign_up(request, values, "form:signup")
    except ValidationError as e:
        return aiohttp_jinja2.render_template(
            "signup.html",
            request,
            page_context(request, values=values, errors=e.errors),
            status=400,
        )
    raise web.HTTPSeeOther("/check-your-inbox")


@aiohttp_jinja2.template("check_inbox.html")
async def check_inbox(request: web.Request) -> dict[str, Any]:
    """Tell the visitor to look for the confirmation email."""
    return page_context(request, message=ACCEPTED)


def _json_error(status: int, message: str, fields: dict[str, str] | None = None) -> web.Response:
    body: dict[str, Any] = {"error": message, "status": status}
    if fields:
        body["fields"] = fields
    return web.json_response(body, status=status)


async def api_subscribe(request: web.Request) -> web.Response:
    """POST /api/subscriptions: the sign-up form as JSON, for forms hosted elsewhere."""
    if request.content_type != "application/json":
        return _json_error(415, "Send JSON with Content-Type: application/json.")
    try:
        data = json.loads(await request.read())
    except (ValueError, UnicodeDecodeError):
        return _json_error(400, "The body is not valid JSON.")
    if not isinstance(data, dict):
        return _json_error(400, "The body must be a JSON object.")
    if not await _within_ip_limit(request):
        return _json_error(429, "Too many sign-ups from this address. Try again later.")
    try:
        await _sign_up(request, data, "api")
    except ValidationError as e:
        return _json_error(400, "Some fields are not valid.", e.errors)
    return web.json_response({"status": "accepted", "message": ACCEPTED}, status=202)
