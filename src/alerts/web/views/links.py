"""Pages reached from signed links: confirm, preferences, unsubscribe."""

from __future__ import annotations

from typing import Any

import aiohttp_jinja2
from aiohttp import web

from alerts.errors import ValidationError
from alerts.models import Frequency, MailKind, Subscriber, SubscriberStatus
from alerts.queue import enqueue_mail
from alerts.subscribers import lifecycle
from alerts.subscribers.choices import load_choices
from alerts.subscribers.mailqueue import queue_mail
from alerts.subscribers.validation import check_choices
from alerts.timeutil import utcnow
from alerts.tokens import Purpose
from alerts.web.forms import form_values, mail_cap, page_context, read_form
from alerts.web.keys import ARQ, CATALOG, LINKS, SESSIONMAKER
from alerts.web.linked import link_view, linked, linked_subscriber


@link_view
async def confirm_page(request: web.Request) -> web.Response:
    """Show the "Confirm my subscription" button; opening the link changes nothing."""
    subscriber = await linked_subscriber(request, Purpose.CONFIRM)
    context = page_context(
        request,
        email=subscriber.email,
        already=subscriber.status == SubscriberStatus.ACTIVE,
        manage_url=request.app[LINKS].manage(subscriber),
    )
    return aiohttp_jinja2.render_template("confirm.html", request, context)


@link_view
async def confirm_submit(request: web.Request) -> web.StreamResponse:
    """Activate the subscription and open the preference centre."""
    await read_form(request)
    async with linked(request, Purpose.CONFIRM, write=True) as (session, subscriber):
        welcome = await lifecycle.confirm(session, subscriber, now=utcnow())
        manage_url = request.app[LINKS].manage(subscriber)
    await enqueue_mail(request.app[ARQ], welcome)
    raise web.HTTPSeeOther(f"{manage_url}?welcome=1")


async def _preferences_context(
    request: web.Request,
    subscriber: Subscriber,
    values: dict[str, object] | None = None,
    errors: dict[str, str] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    links = request.app[LINKS]
    if values is None:
        async with request.app[SESSIONMAKER]() as session:
            choices = await load_choices(session, subscriber)
        values = {
            "topics": sorted(choices.topics),
            "countries": sorted(choices.countries),
            "frequency": choices.frequency.value,
        }
    return page_context(
        request,
        email=subscriber.email,
        status=subscriber.status.value,
        values=values,
        errors=errors or {},
        unsubscribe_url=links.unsubscribe(subscriber),
        frequencies=[f.value for f in Frequency],
        **extra,
    )


@link_view
async def preferences_page(request: web.Request) -> web.Response:
    """Show the preference centre."""
    subscriber = await linked_subscriber(request, Purpose.MANAGE)
    context = await _preferences_context(
        request,
        subscriber,
        saved="saved" in request.query,
        welcome="welcome" in request.query,
        resent="resent" in request.query,
    )
    return aiohttp_jinja2.render_template("preferences.html", request, context)


@link_view
async def preferences_submit(request: web.Request) -> web.StreamResponse:
    """Save topics, countries and frequency."""
    form = await read_form(request)
    values = form_values(form)
    catalog = request.app[CATALOG]
    async with linked(request, Purpose.MANAGE, write=True) as (session, subscriber):
        try:
            choices = check_choices(
                values["topics"],
                values["countries"],
                values["frequency"],
                known_topics=catalog.topic_slugs,
                known_countries=catalog.country_codes,
            )
        except ValidationError as e:
            context = await _preferences_context(request, subscriber, values, e.errors)
            return aiohttp_jinja2.render_template("preferences.html", request, context, status=400)
        await lifecycle.update_preferences(session, subscriber, choices, now=utcnow())
    raise web.HTTPSeeOther(f"/preferences/{request.match_info['token']}?saved=1")


@link_view
async def resubscribe_submit(request: web.Request) -> web.StreamResponse:
    """Send a new confirmation to an unsubscribed reader who wants back in."""
    await read_form(request)
    async with linked(request, Purpose.MANAGE, write=True) as (session, subscriber):
        mail_id = None
        if subscriber.status == SubscriberStatus.UNSUBSCRIBED:
            mail_id = await queue_mail(
                session, subscriber.id, MailKind.CONFIRM, now=utcnow(), cap=mail_cap(request)
            )
    await enqueue_mail(request.app[ARQ], mail_id)
    raise web.HTTPSeeOther("/check-your-inbox")


@link_view
async def revoke_submit(request: web.Request) -> web.StreamResponse:
    """Invalidate every link sent so far and email a fresh one."""
    await read_form(request)
    async with linked(request, Purpose.MANAGE, write=True) as (session, subscriber):
        mail_id = await lifecycle.revoke_links(
            session, subscriber, cap=mail_cap(request), now=utcnow()
        )
    await enqueue_mail(request.app[ARQ], mail_id)
    return aiohttp_jinja2.render_template(
        "links_revoked.html", request, page_context(request, email=subscriber.email)
    )
