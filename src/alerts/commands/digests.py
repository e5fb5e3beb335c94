"""`alerts digests`: create, change, pause, preview, test and send digests; control editions."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from alerts.commands.common import database, load_settings, run
from alerts.commands.digest_editions import edition, editions_, enqueue, table, when
from alerts.digests import editions
from alerts.digests.manage import get_digest, list_digests
from alerts.digests.preview import SentTest, preview, send_test
from alerts.editors.audit import Who
from alerts.links import Links
from alerts.mail.transactional import Branding
from alerts.mail.transport import transport_for
from alerts.timeutil import utcnow

F = TypeVar("F", bound=Callable[..., Any])

# (option, field, help); list fields are comma-separated on the command line.
TEXT_FIELDS = (
    ("--slug", "slug", "Short name in URLs: lower-case letters, digits, hyphens."),
    ("--name", "name", "The digest's name, shown to subscribers."),
    ("--cron", "cron", "Cron schedule, e.g. '0 8 * * 1' (empty: none)."),
    ("--timezone", "timezone", "Time zone of the schedule (default Europe/Zurich)."),
    ("--send-at", "send_at", "One date and time with offset, instead of a cron schedule."),
    ("--audience", "audience", "daily, weekly, immediate, opted_in or all."),
    ("--group-by", "group_by", "Group articles by topic or country."),
    ("--subject", "subject_template", "Subject template, e.g. '{{ digest }}: {{ date }}'."),
    ("--intro", "intro_markdown", "Introduction in Markdown."),
)
LIST_FIELDS = (
    ("--sections", "sections", "Comma-separated: articles, countdowns, upcoming, observances."),
    ("--topics", "topics", "Comma-separated topic slugs (empty: all topics)."),
    ("--countries", "countries", "Comma-separated ISO country codes (empty: all countries)."),
)

FIELD_NAMES = [f for _, f, _ in TEXT_FIELDS + LIST_FIELDS] + ["grace_hours", "send_when_empty"]
LIST_NAMES = frozenset(f for _, f, _ in LIST_FIELDS)


def _field_options(command: F) -> F:
    command = click.option(
        "--send-when-empty/--skip-when-empty",
        "f_send_when_empty",
        default=None,
        help="Send even when no article matches.",
    )(command)
    command = click.option(
        "--grace-hours", "f_grace_hours", type=int, default=None, help="Hours late to still send."
    )(command)
    for flag, field, text in reversed(TEXT_FIELDS + LIST_FIELDS):
        command = click.option(flag, f"f_{field}", default=None, help=text)(command)
    return command


def _fields(options: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for field in FIELD_NAMES:
        value = options.get(f"f_{field}")
        if value is None:
            continue
        if field in LIST_NAMES:
            value = [v.strip() for v in value.split(",") if v.strip()]
        data[field] = value
    return data


@click.group()
def digests() -> None:
    """Digests and their editions: schedule, preview, test, send, pause, cancel."""


@digests.command("list")
def list_() -> None:
    """List digests with their schedule and next run."""
    settings = load_settings()

    async def go() -> list[list[object]]:
        async with database(settings) as sessionmaker, sessionmaker() as session:
            return [
                [d.slug, d.name, d.status.value, d.audience.value, d.cron or when(d.send_at),
                 when(d.next_run_at)]
                for d in await list_digests(session)
            ]  # fmt: skip

    rows = run(go())
    if not rows:
        click.echo("No digests yet. Create one with: alerts digests create")
        return
    click.echo(table(["SLUG", "NAME", "STATUS", "AUDIENCE", "SCHEDULE", "NEXT RUN"], rows))


@digests.command("create")
@click.option(
    "--from-json",
    "from_json",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Read the fields from a JSON object (options given too override it).",
)
@_field_options
def create(from_json: Path | None, **options: Any) -> None:
    """Create a digest."""
    data: dict[str, Any] = {}
    if from_json is not None:
        try:
            data = json.loads(from_json.read_text())
        except (ValueError, UnicodeDecodeError) as e:
            raise click.ClickException(f"{from_json} is not valid JSON: {e}") from e
        if not isinstance(data, dict):
            raise click.ClickException(f"{from_json} must hold one JSON object.")
    data = {**data, **_fields(options)}
    settings = load_settings()

    async def go() -> tuple[str, datetime | None]:
        checked = editions.check_fields(data)
        async with database(settings) as sessionmaker, sessionmaker.begin() as session:
            digest = await editions.create(session, checked, who=Who.cli(), now=utcnow())
            return digest.slug, digest.next_run_at

    slug, next_run = run(go())
    click.echo(f"Created digest {slug}; next run {when(next_run)}.")


@digests.command("set")
@click.argument("slug")
@_field_options
def set_(slug: str, **options: Any) -> None:
    """Change fields of the digest SLUG; the others stay as they are."""
    data = _fields(options)
    if not data:
        raise click.UsageError("Give at least one field to change, e.g. --name 'New name'.")
    settings = load_settings()

    async def go() -> tuple[str, datetime | None]:
        async with database(settings) as sessionmaker, sessionmaker.begin() as session:
            digest = await get_digest(session, slug)
            await editions.change(session, digest, data, who=Who.cli(), now=utcnow())
            return digest.slug, digest.next_run_at

    new_slug, next_run = run(go())
    click.echo(f"Changed digest {new_slug}; next run {when(next_run)}.")


def _set_active(slug: str, active: bool) -> str:
    settings = load_settings()

    async def go() -> str:
        async with database(settings) as sessionmaker, sessionmaker.begin() as session:
            digest = await get_digest(session, slug)
            await editions.set_active(session, digest, active, who=Who.cli(), now=utcnow())
            return digest.slug

    return run(go())


@digests.command("pause")
@click.argument("slug")
def pause(slug: str) -> None:
    """Pause the schedule of the digest SLUG (an edition already sending goes on)."""
    click.echo(f"Paused digest {_set_active(slug, False)}.")


@digests.command("resume")
@click.argument("slug")
def resume(slug: str) -> None:
    """Resume the schedule of the digest SLUG, from now."""
    click.echo(f"Resumed digest {_set_active(slug, True)}.")


@digests.command("preview")
@click.argument("slug")
@click.option("--subscriber", help="Show it as this subscriber (id or email) would get it.")
@click.option("--format", "fmt", type=click.Choice(["text", "html"]), default="text")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to FILE.")
def preview_(slug: str, subscriber: str | None, fmt: str, output: Path | None) -> None:
    """Show the next edition of SLUG as a subscriber (default: one who chose all) gets it."""
    settings = load_settings()

    async def go() -> tuple[str, str]:
        async with database(settings) as sessionmaker:
            async with sessionmaker() as session:
                digest = await get_digest(session, slug)
            rendered = await preview(
                sessionmaker, digest, subscriber, links=Links.from_settings(settings),
                branding=Branding.from_settings(settings), templates_dir=settings.templates_dir,
                feeds_dir=settings.feeds_dir, now=utcnow(),
            )  # fmt: skip
            return rendered.subject, rendered.html if fmt == "html" else rendered.text

    subject, body = run(go())
    if output is None:
        click.echo(body if fmt == "html" else f"Subject: {subject}\n\n{body}")
        return
    output.write_text(body, encoding="utf-8")
    click.echo(f"Wrote the preview of {slug} ({subject}) to {output}.")


@digests.command("test")
@click.argument("slug")
@click.option("--to", "to", required=True, help="Address to send the test to.")
@click.option("--subscriber", help="Send it as this subscriber (id or email) would get it.")
def test(slug: str, to: str, subscriber: str | None) -> None:
    """Send the next edition of SLUG to an address, with the subject marked [Test]."""
    settings = load_settings()

    async def go() -> SentTest:
        async with database(settings) as sessionmaker:
            async with sessionmaker() as session:
                digest = await get_digest(session, slug)
            transport = transport_for(settings.smtp_url, sessionmaker, settings.smtp_timeout)
            try:
                return await send_test(
                    sessionmaker, digest, to, subscriber, transport=transport, who=Who.cli(),
                    links=Links.from_settings(settings), branding=Branding.from_settings(settings),
                    templates_dir=settings.templates_dir, feeds_dir=settings.feeds_dir,
                    now=utcnow(),
                )  # fmt: skip
            finally:
                await transport.close()

    sent = run(go())
    where = "the local outbox" if settings.outbox else "the SMTP server"
    click.echo(f"Sent '{sent.subject}' to {sent.to} through {where}: {sent.response}")


@digests.command("send-now")
@click.argument("slug")
def send_now(slug: str) -> None:
    """Send an edition of SLUG now, with the articles since its last edition."""
    settings = load_settings()

    async def go() -> str:
        async with database(settings) as sessionmaker:
            async with sessionmaker.begin() as session:
                digest = await get_digest(session, slug)
                edition = await editions.send_now(session, digest, who=Who.cli(), now=utcnow())
            return await enqueue(settings, edition)

    click.echo(run(go()))


digests.add_command(editions_)
digests.add_command(edition)
