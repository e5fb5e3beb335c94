"""Read HTML form posts safely and build the context the templates share."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aiohttp import web
from multidict import MultiDictProxy

from alerts.subscribers.mailqueue import MailCap
from alerts.web.csrf import check_csrf, csrf_token
from alerts.web.keys import CATALOG, SETTINGS

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


async def read_form(request: web.Request, *, csrf: bool = True) -> MultiDictProxy[Any]:
    """Return the posted form, or raise a 4xx for a wrong type, a large body or a bad token."""
    if request.content_type not in FORM_TYPES:
        raise web.HTTPUnsupportedMediaType(reason="This form only accepts form submissions.")
    form = await request.post()
    if csrf and not check_csrf(request, form.get("csrf_token")):
        raise web.HTTPForbidden()
    return form


def form_values(form: MultiDictProxy[Any]) -> dict[str, object]:
    """Return the sign-up and preference fields of a form as plain values."""
    return {
        "email": form.get("email"),
        "topics": [v for v in form.getall("topics", []) if isinstance(v, str)],
        "countries": [v for v in form.getall("countries", []) if isinstance(v, str)],
        "frequency": form.get("frequency"),
        "website": form.get("website"),
    }


def page_context(request: web.Request, **extra: Any) -> dict[str, Any]:
    """Return the context every page template gets."""
    settings = request.app[SETTINGS]
    return {
        "csrf_token": lambda: csrf_token(request),
        "catalog": request.app[CATALOG],
        "organisation": settings.organisation_name,
        "outbox_enabled": settings.outbox_page,
        "path": request.path,
        **extra,
    }


def mail_cap(request: web.Request) -> MailCap:
    """Return the per-address cap on confirmation and link emails."""
    settings = request.app[SETTINGS]
    return MailCap(settings.confirmation_limit, timedelta(hours=settings.confirmation_window_hours))
