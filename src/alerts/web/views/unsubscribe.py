"""Unsubscribe: a page with a button, and the RFC 8058 one-click POST."""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from alerts.models import SubscriberStatus
from alerts.subscribers import lifecycle
from alerts.timeutil import utcnow
from alerts.tokens import Purpose
from alerts.web.forms import page_context
from alerts.web.keys import LINKS
from alerts.web.linked import link_view, linked, linked_subscriber


@link_view
async def unsubscribe_page(request: web.Request) -> web.Response:
    """Show one button; mail scanners that open the link unsubscribe nobody."""
    subscriber = await linked_subscriber(request, Purpose.UNSUBSCRIBE)
    context = page_context(
        request,
        email=subscriber.email,
        already=subscriber.status not in (SubscriberStatus.ACTIVE, SubscriberStatus.PENDING),
    )
    return aiohttp_jinja2.render_template("unsubscribe.html", request, context)


@link_view
async def unsubscribe_submit(request: web.Request) -> web.Response:
    """Unsubscribe at once: no cookie, no CSRF token, no redirect (RFC 8058)."""
    if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        await request.post()
    async with linked(request, Purpose.UNSUBSCRIBE, write=True) as (session, subscriber):
        await lifecycle.unsubscribe(session, subscriber, now=utcnow())
        manage_url = request.app[LINKS].manage(subscriber)
    context = page_context(request, email=subscriber.email, manage_url=manage_url)
    return aiohttp_jinja2.render_template("unsubscribed.html", request, context)
