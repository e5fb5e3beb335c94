""" "Email me a link to manage my subscription": the same answer for every address."""

from __future__ import annotations

from typing import Any

import aiohttp_jinja2
from aiohttp import web

from alerts.errors import ValidationError
from alerts.queue import enqueue_mail
from alerts.subscribers import lifecycle
from alerts.subscribers.validation import normalise_email
from alerts.timeutil import utcnow
from alerts.web.forms import mail_cap, page_context, read_form
from alerts.web.keys import ARQ, LIMITER, SESSIONMAKER, SETTINGS
from alerts.web.middlewares import client_ip


@aiohttp_jinja2.template("manage.html")
async def manage_page(request: web.Request) -> dict[str, Any]:
    """Show the form that asks for an address."""
    return page_context(request, values={}, errors={})


async def manage_submit(request: web.Request) -> web.StreamResponse:
    """Queue a fresh manage link if the address is subscribed; say the same either way."""
    form = await read_form(request)
    settings = request.app[SETTINGS]
    ip = client_ip(request, settings.trusted_proxies) or "unknown"
    if not await request.app[LIMITER].allow(
        "manage-ip",
        ip,
        limit=settings.signup_ip_limit,
        window_seconds=settings.signup_ip_window_seconds,
    ):
        raise web.HTTPTooManyRequests()
    try:
        _, key = normalise_email(form.get("email"))
    except ValidationError as e:
        context = page_context(request, values={"email": form.get("email")}, errors=e.errors)
        return aiohttp_jinja2.render_template("manage.html", request, context, status=400)
    async with request.app[SESSIONMAKER].begin() as session:
        mail_id = await lifecycle.request_manage_link(
            session, key, cap=mail_cap(request), now=utcnow()
        )
    await enqueue_mail(request.app[ARQ], mail_id)
    raise web.HTTPSeeOther("/manage/sent")


@aiohttp_jinja2.template("manage_sent.html")
async def manage_sent(request: web.Request) -> dict[str, Any]:
    """Say a link is on its way if the address is subscribed."""
    return page_context(request)
