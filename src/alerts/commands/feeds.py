"""`alerts feeds`: follow sources, fetch them, correct tags."""

from __future__ import annotations

import asyncio
import getpass
import os
from datetime import datetime
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from alerts.commands.common import database, load_settings, run
from alerts.config import Settings
from alerts.editors.audit import Who
from alerts.ingest.opml import ImportResult, import_opml
from alerts.ingest.pipeline import FetchOutcome, fetch_sources, fetcher_for
from alerts.ingest.pool import parse_executor
from alerts.ingest.retag import retag_article, retag_automatic
from alerts.ingest.sources import (
    SourceHealth,
    active_source_ids,
    add_source,
    find_source_ids,
    list_sources,
)
from alerts.models import Source
from alerts.taxonomy.tagger import Tagger
from alerts.timeutil import utcnow


@click.group()
def feeds() -> None:
    """Sources of articles (RSS/Atom) and the articles read from them."""


@feeds.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_(path: Path) -> None:
    """Follow every feed an OPML file lists (safe to run again)."""
    settings = load_settings()
    result = run(import_file(settings, path.read_bytes()))
    click.echo(f"Added {result.added} sources; {result.existing} already followed.")
    for problem in result.problems:
        click.echo(f"  skipped: {problem}", err=True)


async def import_file(settings: Settings, data: bytes) -> ImportResult:
    """Import an OPML document in one transaction, resolving file: paths against the feeds dir."""
    async with database(settings) as sessionmaker, sessionmaker.begin() as session:
        return await import_opml(
            session,
            data,
            base_dir=settings.feeds_dir,
            allowed_hosts=settings.feed_allowed_hosts,
            default_interval=settings.feed_fetch_interval_seconds,
        )


@feeds.command("add")
@click.argument("url")
@click.option("--title", help="Name shown to editors (default: the feed's own title).")
@click.option("--topic", "topics", multiple=True, help="Topic slug every article gets.")
@click.option("--interval", type=int, help="Minutes between fetches (default: 60).")
def add(url: str, title: str | None, topics: tuple[str, ...], interval: int | None) -> None:
    """Follow the feed at URL."""
    settings = load_settings()

    async def go() -> Source:
        async with database(settings) as sessionmaker, sessionmaker.begin() as session:
            return await add_source(
                session,
                url,
                origin="cli",
                allowed_hosts=settings.feed_allowed_hosts,
                default_interval=settings.feed_fetch_interval_seconds,
                title=title,
                topics=topics,
                interval_minutes=interval,
                who=Who.cli(),
            )

    source = run(go())
    click.echo(f"Following source #{source.id}: {source.url}")


@feeds.command("list")
def list_() -> None:
    """Show every source and its health."""
    settings = load_settings()

    async def go() -> list[SourceHealth]:
        async with database(settings) as sessionmaker, sessionmaker() as session:
            return await list_sources(session)

    sources = run(go())
    if not sources:
        click.echo("No sources yet: add one with `alerts feeds add URL`.")
        return
    table = Table("ID", "Source", "Active", "Last success", "Failures", "Next fetch", "Last error")
    for s in sources:
        name = f"{s.title}\n{s.url}" if s.title else s.url
        if s.topics:
            name += f"\ntopics: {', '.join(s.topics)}"
        error = s.last_error or (f"(read anyway) {s.last_problem}" if s.last_problem else "")
        table.add_row(
            str(s.id),
            name,
            "yes" if s.active else "no",
            _when(s.last_success_at, "never"),
            str(s.consecutive_failures),
            _when(s.next_fetch_at, "now") if s.active else "-",
            error[:120],
        )
    Console().print(table)


def _when(value: datetime | None, empty: str) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else empty


@feeds.command("fetch")
@click.option("--all", "all_", is_flag=True, help="Fetch every active source now.")
@click.argument("sources", nargs=-1)
def fetch(all_: bool, sources: tuple[str, ...]) -> None:
    """Fetch sources now, given by id or URL, or --all."""
    if all_ == bool(sources):
        raise click.UsageError("Give source ids or URLs, or --all (not both).")
    settings = load_settings()
    outcomes = run(fetch_now(settings, sources))
    new = sum(o.new for o in outcomes)
    dup = sum(o.duplicate for o in outcomes)
    skipped = sum(o.skipped for o in outcomes)
    failed = [o for o in outcomes if o.status in ("error", "gone", "moved")]
    click.echo(
        f"Fetched {len(outcomes)} sources: {new} new articles, {dup} duplicates, "
        f"{skipped} skipped; {len(failed)} failed."
    )
    for o in failed:
        click.echo(f"  source #{o.source_id} ({o.url}): {o.error}", err=True)
    for o in outcomes:
        if o.problem:
            click.echo(f"  source #{o.source_id}: read with a problem: {o.problem}", err=True)


async def fetch_now(settings: Settings, refs: tuple[str, ...]) -> list[FetchOutcome]:
    """Fetch the named sources (all active ones when none are named) with a progress bar."""
    async with database(settings) as sessionmaker:
        async with sessionmaker() as session:
            ids = await (find_source_ids(session, refs) if refs else active_source_ids(session))
        tagger = await asyncio.to_thread(Tagger.from_files, settings.feeds_dir)
        columns = (TextColumn("Fetching"), BarColumn(), MofNCompleteColumn())
        with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
            task = progress.add_task("fetch", total=len(ids))
            # No more parse workers than sources: fetching one feed starts one process.
            workers = min(len(ids), os.cpu_count() or 1)
            async with fetcher_for(settings) as fetcher, parse_executor(workers) as executor:
                return await fetch_sources(
                    sessionmaker,
                    ids,
                    fetcher=fetcher,
                    tagger=tagger,
                    on_done=lambda _: progress.advance(task),
                    executor=executor,
                )


@feeds.command("retag")
@click.argument("article_id", type=int)
@click.option("--topic", "topics", multiple=True, help="Topic slug (repeat; replaces topics).")
@click.option("--country", "countries", multiple=True, help="ISO code (repeat; replaces them).")
@click.option("--by", "editor", help="Who made the correction (default: your login name).")
def retag(
    article_id: int, topics: tuple[str, ...], countries: tuple[str, ...], editor: str | None
) -> None:
    """Correct the tags of an article; automatic tagging never overwrites them."""
    if not topics and not countries:
        raise click.UsageError("Give --topic and/or --country.")
    settings = load_settings()

    async def go() -> None:
        async with database(settings) as sessionmaker, sessionmaker.begin() as session:
            await retag_article(
                session,
                article_id,
                topics=topics or None,
                countries=countries or None,
                editor=editor or _login(),
                now=utcnow(),
                who=Who.cli(),
            )

    run(go())
    click.echo(f"Tags of article #{article_id} corrected.")


@feeds.command("retag-all")
def retag_all() -> None:
    """Tag again every article no editor corrected (after topics.toml or regions.toml change)."""
    settings = load_settings()

    async def go() -> int:
        tagger = await asyncio.to_thread(Tagger.from_files, settings.feeds_dir)
        async with database(settings) as sessionmaker, sessionmaker.begin() as session:
            return await retag_automatic(session, tagger)

    click.echo(f"Tagged {run(go())} articles again; corrected articles were left alone.")


def _login() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"
