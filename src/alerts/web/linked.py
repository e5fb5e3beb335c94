"""Resolve the signed token in a page's URL, or answer with a friendly page offering a new link."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import aiohttp_jinja2
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.errors import TokenError
from alerts.models import Subscriber
from alerts.subscribers import lifecycle
from alerts.tokens import Purpose
from alerts.web.forms import page_context
from alerts.web.keys import LINKS, SESSIONMAKER

LINK_PROBLEMS = {
    "expired": "This link has expired.",
    "revoked": "This link has been replaced by a newer one.",
    "invalid": "This link is not valid. It may have been cut short when it was copied.",
}

View = Callable[[web.Request], Awaitable[web.StreamResponse]]


class LinkRefused(Exception):
    """The URL's token cannot be used; ``response`` is the page to show instead."""

    def __init__(self, response: web.Response) -> None:
        super().__init__("link refused")
        self.response = response


def link_problem(request: web.Request, error: TokenError, purpose: Purpose) -> web.Response:
    """Show a friendly page offering a fresh link instead of an error."""
    context = page_context(request, problem=LINK_PROBLEMS[error.reason], purpose=purpose.value)
    status = 410 if error.reason in ("expired", "revoked") else 400
    return aiohttp_jinja2.render_template("link_problem.html", request, context, status=status)


@asynccontextmanager
async def linked(
    request: web.Request, purpose: Purpose, *, write: bool = False
) -> AsyncIterator[tuple[AsyncSession, Subscriber]]:
    """Open a unit of work and yield it with the subscriber the URL's token names."""
    maker = request.app[SESSIONMAKER]
    async with maker.begin() if write else maker() as session:
        try:
            subscriber = await lifecycle.subscriber_for_link(
                session, request.app[LINKS].signer, purpose, request.match_info["token"]
            )
        except TokenError as e:
            raise LinkRefused(link_problem(request, e, purpose)) from e
        yield session, subscriber


def link_view(handler: View) -> View:
    """Answer a refused link with its friendly page."""

    @functools.wraps(handler)
    async def view(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except LinkRefused as refused:
            return refused.response

    return view


async def linked_subscriber(request: web.Request, purpose: Purpose) -> Subscriber:
    """Return the subscriber the URL's token names, for pages that only read."""
    async with linked(request, purpose) as (_, subscriber):
        return subscriber
