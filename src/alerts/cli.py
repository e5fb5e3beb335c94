"""The `alerts` command: thin, calls services."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence

import click

from alerts.catalog import sync_catalog
from alerts.commands.common import load_settings
from alerts.config import Settings
from alerts.db import create_engine, create_sessionmaker
from alerts.digests.manage import sync_shipped
from alerts.embedded_redis import answers, start_redis
from alerts.hrc.store import shipped_calendar, sync_sessions
from alerts.ingest.opml import import_shipped
from alerts.migrate import upgrade
from alerts.timeutil import utcnow


def _settings() -> Settings:
    return load_settings()


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log debug messages.")
def cli(verbose: bool) -> None:
    """Stay in the loop: newsletters and alerts for human-rights organisations."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


@cli.command()
@click.option("--host", default=None, help="Interface to listen on (default: HOST).")
@click.option("--port", type=int, default=None, help="Port to listen on (default: PORT).")
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Server processes sharing the port (SO_REUSEPORT).",
)
@click.option("--reuse-port", is_flag=True, hidden=True)
def serve(host: str | None, port: int | None, workers: int, reuse_port: bool) -> None:
    """Run the web server."""
    from aiohttp import web  # imported here to keep CLI start-up light

    from alerts.web.app import create_app

    settings = _settings()
    if workers > 1:
        args = [
            "--reuse-port",
            "--host",
            host or settings.host,
            "--port",
            str(port or settings.port),
        ]
        exe = [sys.executable, "-m", "alerts.cli", "serve", *args]
        _supervise([subprocess.Popen(exe) for _ in range(workers)])  # noqa: S603
        return
    _use_uvloop()
    web.run_app(
        create_app(settings),
        host=host or settings.host,
        port=port or settings.port,
        access_log=None,
        print=None,
        reuse_port=reuse_port or None,
    )


@cli.command()
def worker() -> None:
    """Run the arq worker."""
    from arq.worker import run_worker
    from redis.exceptions import RedisError

    from alerts.jobs import worker_class

    settings = _settings()
    _use_uvloop()
    delay = 1.0
    while True:
        started = time.monotonic()
        try:
            run_worker(worker_class(settings))
            return
        except (RedisError, OSError) as e:
            # arq's poll loop lets a connection error out while Redis restarts; the ledger
            # is the truth, so start again rather than leave the queue unserved.
            if time.monotonic() - started > 60:
                delay = 1.0
            click.echo(f"Lost Redis ({e}); restarting the worker in {delay:.0f} s", err=True)
            time.sleep(delay)
            delay = min(delay * 2, 30.0)


@cli.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default: the latest)."""
    settings = _settings()
    asyncio.run(upgrade(settings, revision))
    click.echo(f"Database at {revision}: {_safe_url(settings.db_url)}")


@cli.command()
def seed() -> None:
    """Load the shipped topics and countries (safe to run again)."""
    settings = _settings()
    topics, countries = asyncio.run(_seed(settings))
    click.echo(f"Loaded {topics} topics and {countries} countries.")


async def _seed(settings: Settings) -> tuple[int, int]:
    engine = create_engine(settings.db_url)
    try:
        async with create_sessionmaker(engine).begin() as session:
            counts = await sync_catalog(session, settings.feeds_dir)
            await sync_sessions(session, shipped_calendar(settings.feeds_dir).calendar)
            await import_shipped(session, settings)
            await sync_shipped(session, settings.feeds_dir / "digests.toml", now=utcnow())
            return counts
    finally:
        await engine.dispose()


@cli.command()
def dev() -> None:
    """Run everything on one machine: migrations, demo data, Redis, web server and worker."""
    settings = _settings()
    asyncio.run(upgrade(settings))
    asyncio.run(_seed(settings))
    env = dict(os.environ)
    children: list[subprocess.Popen[bytes]] = []
    if not answers(settings.redis_url):
        url, redis = start_redis(settings.var_dir / "redis")
        children.append(redis)
        env["REDIS_URL"] = url
        click.echo(f"Started a private Redis at {url}")
    exe = [sys.executable, "-m", "alerts.cli"]
    children.append(subprocess.Popen([*exe, "serve"], env=env))  # noqa: S603
    children.append(subprocess.Popen([*exe, "worker"], env=env))  # noqa: S603
    click.echo(f"\nSign-up page:  {settings.base_url}/")
    if settings.outbox:
        click.echo(f"Local outbox:  {settings.base_url}/outbox")
    click.echo("Press Ctrl-C to stop.\n")
    _supervise(children)


def _supervise(children: Sequence[subprocess.Popen[bytes]]) -> None:
    def stop(*_: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        while all(c.poll() is None for c in children):
            with contextlib.suppress(subprocess.TimeoutExpired):
                children[-1].wait(timeout=0.5)
        click.echo("A process stopped; stopping the others.", err=True)
    except KeyboardInterrupt:
        click.echo("\nStopping…")
    finally:
        # Last started, first stopped: the worker finishes its jobs while Redis still answers.
        for child in reversed(children):
            if child.poll() is None:
                child.terminate()
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _use_uvloop() -> None:
    try:
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    except ImportError:
        pass


def _register() -> None:
    from alerts.commands.digests import digests
    from alerts.commands.editors import editors
    from alerts.commands.feeds import feeds
    from alerts.commands.sessions import sessions

    cli.add_command(digests)
    cli.add_command(editors)
    cli.add_command(feeds)
    cli.add_command(sessions)


_register()


def main(argv: Sequence[str] | None = None) -> None:
    """Run the CLI."""
    cli.main(args=list(argv) if argv is not None else None, prog_name="alerts")


if __name__ == "__main__":
    main()
