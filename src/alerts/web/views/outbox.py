"""The development outbox: messages caught when no SMTP server is configured."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any, cast

import aiohttp_jinja2
from aiohttp import web
from sqlalchemy import select

from alerts.models import OutboxMessage
from alerts.web.forms import page_context
from alerts.web.keys import SESSIONMAKER

PAGE_SIZE = 100
HTML_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "sandbox allow-popups allow-popups-to-escape-sandbox allow-top-navigation-by-user-activation"
)


async def _load(request: web.Request) -> tuple[OutboxMessage, EmailMessage]:
    try:
        message_id = int(request.match_info["id"])
    except ValueError as e:
        raise web.HTTPNotFound() from e
    async with request.app[SESSIONMAKER]() as session:
        row = await session.get(OutboxMessage, message_id)
    if row is None:
        raise web.HTTPNotFound()
    parsed = message_from_bytes(row.raw, policy=policy.default)
    return row, parsed


def _part(message: EmailMessage, subtype: str) -> str:
    part = message.get_body(preferencelist=(subtype,))
    return "" if part is None else str(cast(EmailMessage, part).get_content())


@aiohttp_jinja2.template("outbox.html")
async def outbox_list(request: web.Request) -> dict[str, Any]:
    """List the newest caught messages."""
    async with request.app[SESSIONMAKER]() as session:
        rows = list(
            await session.scalars(
                select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(PAGE_SIZE)
            )
        )
    return page_context(request, messages=rows)


@aiohttp_jinja2.template("outbox_message.html")
async def outbox_message(request: web.Request) -> dict[str, Any]:
    """Show one message as the recipient would see it: headers, HTML and text."""
    row, parsed = await _load(request)
    headers = [(k, str(v)) for k, v in parsed.items()]
    return page_context(request, row=row, headers=headers, text=_part(parsed, "plain"))


async def outbox_html(request: web.Request) -> web.Response:
    """Serve the HTML part alone, sandboxed, for the preview frame."""
    _, parsed = await _load(request)
    response = web.Response(text=_part(parsed, "html"), content_type="text/html")
    response.headers["Content-Security-Policy"] = HTML_CSP
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    return response


async def outbox_raw(request: web.Request) -> web.Response:
    """Serve the message source."""
    row, _ = await _load(request)
    return web.Response(body=row.raw, content_type="text/plain", charset="utf-8")
