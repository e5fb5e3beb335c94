"""arq jobs and WorkerSettings: thin adapters over the services."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import Executor
from datetime import timedelta
from typing import Any, cast

from arq import Retry, cron, func
from arq.connections import ArqRedis

from alerts.config import Settings
from alerts.db import create_engine, create_sessionmaker
from alerts.digests.alerts import create_alert_editions, start_alerts
from alerts.digests.jobs import (
    DigestDeps,
    digest_deps,
    digest_tick,
    join_loop,
    recover_editions,
    send_edition,
    stop_joined,
)
from alerts.errors import TransientMailError
from alerts.ingest.fetch import Fetcher
from alerts.ingest.pipeline import fetch_due, fetcher_for
from alerts.ingest.pool import close_pool, parse_pool
from alerts.links import Links
from alerts.mail.outgoing import MailDeps, mark_failed, send_queued, stale_mail
from alerts.mail.render import MailRenderer
from alerts.mail.transactional import Branding
from alerts.mail.transport import transport_for
from alerts.queue import enqueue_mail, redis_settings
from alerts.taxonomy.tagger import Tagger
from alerts.timeutil import utcnow

log = logging.getLogger(__name__)

# Seconds to wait before each retry of a transient failure, then give up.
MAIL_RETRY_SCHEDULE = (10, 60, 300, 1800, 7200)


async def send_subscriber_mail(ctx: dict[str, Any], mail_id: int) -> str:
    """Send one queued message; retry transient failures on the explicit schedule."""
    deps = cast(MailDeps, ctx["mail"])
    try:
        outcome = await send_queued(deps, mail_id)
    except TransientMailError as e:
        attempt = int(ctx.get("job_try", 1))
        if attempt > len(MAIL_RETRY_SCHEDULE):
            await mark_failed(deps.sessionmaker, mail_id, f"gave up: {e}")
            return "failed"
        log.warning("mail %s: transient failure, retry %s: %s", mail_id, attempt, e)
        raise Retry(defer=MAIL_RETRY_SCHEDULE[attempt - 1]) from e
    return outcome.value


async def requeue_stale_mail(ctx: dict[str, Any]) -> int:
    """Re-enqueue messages whose jobs were lost; the job id keeps this idempotent."""
    settings = cast(Settings, ctx["settings"])
    deps = cast(MailDeps, ctx["mail"])
    ids = await stale_mail(
        deps.sessionmaker,
        older_than=timedelta(seconds=settings.mail_requeue_after_seconds),
        now=utcnow(),
    )
    pool = cast(ArqRedis, ctx["redis"])
    for mail_id in ids:
        await enqueue_mail(pool, mail_id)
    return len(ids)


async def fetch_due_sources(ctx: dict[str, Any]) -> dict[str, int]:
    """Fetch a bounded batch of the sources that are due; log and return the counts."""
    settings = cast(Settings, ctx["settings"])
    outcomes = await fetch_due(
        cast(MailDeps, ctx["mail"]).sessionmaker,
        fetcher=cast(Fetcher, ctx["fetcher"]),
        tagger=cast(Tagger, ctx["tagger"]),
        limit=settings.feed_batch_size,
        executor=cast(Executor | None, ctx.get("parse_pool")),
    )
    counts = {
        "sources": len(outcomes),
        "new": sum(o.new for o in outcomes),
        "duplicate": sum(o.duplicate for o in outcomes),
        "failed": sum(o.status in ("error", "gone", "moved") for o in outcomes),
    }
    if outcomes:
        log.info("fetched sources: %s", counts)
    new_ids = [i for o in outcomes for i in o.new_ids]
    if new_ids:
        # Subscribers who chose "immediate" get one alert per run, never one per article.
        deps = cast(DigestDeps, ctx["digests"])
        async with deps.sessionmaker.begin() as session:
            editions = await create_alert_editions(session, new_ids, now=utcnow())
        await start_alerts(cast(ArqRedis, ctx["redis"]), editions, settings.send_parallelism)
    return counts


async def startup(ctx: dict[str, Any]) -> None:
    """Fill ctx with the settings, engine and mail dependencies."""
    settings = cast(Settings, ctx.get("settings") or Settings())
    settings.check()
    engine = create_engine(settings.db_url)
    sessionmaker = create_sessionmaker(engine)
    ctx["settings"] = settings
    ctx["engine"] = engine
    ctx["mail"] = MailDeps(
        sessionmaker=sessionmaker,
        renderer=MailRenderer(settings.templates_dir),
        links=Links.from_settings(settings),
        branding=Branding.from_settings(settings),
        transport=transport_for(settings.smtp_url, sessionmaker, settings.smtp_timeout),
        confirm_days=settings.confirm_token_days,
    )
    ctx["digests"] = digest_deps(settings, ctx["mail"], ctx.get("redis"))
    # Built once per worker: compiling the taxonomy patterns takes a fraction of a second.
    ctx["tagger"] = await asyncio.to_thread(Tagger.from_files, settings.feeds_dir)
    ctx["fetcher"] = fetcher_for(settings)
    await ctx["fetcher"].start()
    # One pool per worker process: feedparser on every core, started on the first fetch.
    ctx["parse_pool"] = parse_pool()
    if settings.send_join_seconds > 0 and ctx.get("redis") is not None:
        ctx["join_loop"] = asyncio.create_task(
            join_loop(ctx["digests"], cast(ArqRedis, ctx["redis"]), settings.send_join_seconds)
        )
    log.info("worker ready: %s", cast(DigestDeps, ctx["digests"]).owner)


async def shutdown(ctx: dict[str, Any]) -> None:
    """Stop joined senders; close the transport, fetcher and parse pool; dispose of the engine."""
    if "join_loop" in ctx:
        ctx["join_loop"].cancel()
        await asyncio.gather(ctx["join_loop"], return_exceptions=True)
    if "digests" in ctx:
        await stop_joined(cast(DigestDeps, ctx["digests"]))
    if "mail" in ctx:
        await cast(MailDeps, ctx["mail"]).transport.close()
    if "digests" in ctx:
        await cast(DigestDeps, ctx["digests"]).sender.close()
    if "fetcher" in ctx:
        await cast(Fetcher, ctx["fetcher"]).close()
    if "parse_pool" in ctx:
        await close_pool(cast(Executor, ctx["parse_pool"]))
    if "engine" in ctx:
        await ctx["engine"].dispose()


def worker_settings(settings: Settings) -> dict[str, Any]:
    """Return arq Worker keyword arguments for ``settings``."""
    return {
        "functions": [
            send_subscriber_mail,
            func(send_edition, keep_result=0, timeout=3600, max_tries=1000),
        ],
        "cron_jobs": [
            cron(requeue_stale_mail, second=30, unique=True, run_at_startup=True),
            cron(fetch_due_sources, second=0, unique=True, run_at_startup=True, timeout=300),
            cron(digest_tick, second=5, unique=True, run_at_startup=True, timeout=300),
            cron(recover_editions, second=40, unique=True, run_at_startup=True),
        ],
        "on_startup": startup,
        "on_shutdown": shutdown,
        "redis_settings": redis_settings(settings.redis_url),
        "queue_name": settings.queue_name,
        "ctx": {"settings": settings},
        "max_tries": len(MAIL_RETRY_SCHEDULE) + 1,
        "job_timeout": 120,
        "keep_result": 3600,
        "handle_signals": True,
    }


def worker_class(settings: Settings) -> type:
    """Return a WorkerSettings class, the form `arq` and `run_worker` read."""
    return type("WorkerSettings", (), worker_settings(settings))
