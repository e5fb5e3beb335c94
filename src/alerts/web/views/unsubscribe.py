"""Unsubscribe: a page with a button, and the RFC 8058 one-click POST."""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from alerts.errors import TokenError
from alerts.models import SubscriberStatus
from alerts.subscribers import lifecycle
from alerts.timeutil import utcnow
from alerts.tokens import Purpose
from alerts.web.forms import page_context
from alerts.web.keys import LINKS, SESSIONMAKER
from alerts.web.views.links import link_problem


async def unsubscribe_page(request: web.Request) -> web.Response:
    """Show one button; mail scanners that open the link unsubscribe nobody."""
    token = request.match_info["token"]
    async with request.app[SESSIONMAKER]() as session:
        try:
            subscriber = await lifecycle.subscriber_for_link(
                session, request.app[LINKS].signer, Purpose.UNSUBSCRIBE, token
            )
        except TokenError as e:
            return link_problem(request, e, Purpose.UNSUBSCRIBE)
    context = page_context(
        request,
        email=subscriber.email,
        already=subscriber.status != SubscriberStatus.ACTIVE
        and subscriber.status != SubscriberStatus.PENDING,
        token=token,
    )
    return aiohttp_jinja2.render_template("unsubscribe.html", request, context)


async def unsubscribe_submit(request: web.Request) -> web.Response:
    """Unsubscribe at once: no cookie, no CSRF token, no redirect (RFC 8058)."""
    token = request.match_info["token"]
    if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        await request.post()
    async with request.app[SESSIONMAKER].begin() as session:
        try:
            subscriber = await lifecycle.subscriber_for_link(
                session, request.app[LINKS].signer, Purpose.UNSUBSCRIBE, token
            )
        except TokenError as e:
            return link_problem(request, e, Purpose.UNSUBSCRIBE)
        await lifecycle.unsubscribe(session, subscriber, now=utcnow())
        manage_url = request.app[LINKS].manage(subscriber)
    context = page_context(request, email=subscriber.email, manage_url=manage_url)
    return aiohttp_jinja2.render_template("unsubscribed.html", request, context)
