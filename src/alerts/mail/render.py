"""Render emails from jinja2 + MJML templates into an HTML and a plain-text part."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import jinja2
from mjml import mjml2html


@dataclass(frozen=True)
class Rendered:
    """A rendered email body: subject, plain text and HTML."""

    subject: str
    text: str
    html: str


class Lines(str):
    """Whole lines (ending in a newline) that recur in many messages of one run.

    A digest's copies share most of their text (the template around the articles, and the
    article blocks); the MIME writer encodes a ``Lines`` piece once and looks it up after.
    """

    __slots__ = ()


@dataclass(frozen=True)
class RenderedParts:
    """A rendered body in pieces: joined, they are the text and HTML of ``Rendered``."""

    subject: str
    text: Sequence[str]
    html: Sequence[str]

    def joined(self) -> Rendered:
        """Return the body as whole strings."""
        return Rendered(self.subject, "".join(self.text), "".join(self.html))


class MailRenderer:
    """Compile templates once; render a named email with a context."""

    def __init__(self, templates_dir: Path) -> None:
        loader = jinja2.FileSystemLoader(templates_dir / "emails")
        self._mjml = jinja2.Environment(
            loader=loader, autoescape=True, undefined=jinja2.StrictUndefined, auto_reload=False
        )
        self._text = jinja2.Environment(
            loader=loader,
            autoescape=False,  # noqa: S701 - plain-text parts are never read as HTML
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=True,
            trim_blocks=True,
            lstrip_blocks=True,
            auto_reload=False,
        )

    def render_sync(self, name: str, subject: str, context: Mapping[str, Any]) -> Rendered:
        """Render ``name``.mjml.j2 and ``name``.txt.j2 (blocking: MJML runs here)."""
        ctx = {**context, "subject": subject}
        source = self._mjml.get_template(f"{name}.mjml.j2").render(ctx)
        html = mjml2html(source, disable_comments=True, fonts={})
        text = self._text.get_template(f"{name}.txt.j2").render(ctx)
        return Rendered(subject=subject, text=_tidy_text(text), html=html)

    async def render(self, name: str, subject: str, context: Mapping[str, Any]) -> Rendered:
        """Render off the event loop."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, partial(self.render_sync, name, subject, context))


def _tidy_text(text: str) -> str:
    lines = [line.rstrip() for line in text.splitlines()]
    out: list[str] = []
    for line in lines:
        if line == "" and out and out[-1] == "":
            continue
        out.append(line)
    return "\n".join(out).strip() + "\n"
