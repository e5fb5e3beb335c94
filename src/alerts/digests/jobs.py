"""arq jobs for digests: the scheduler tick, the edition sender, and recovery. Thin adapters."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from arq.connections import ArqRedis
from redis.asyncio import Redis
from sqlalchemy import and_, case, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.config import Settings
from alerts.db import Sessionmaker
from alerts.digests import claim
from alerts.digests.plan import plan_edition
from alerts.digests.prepare import PreparedCache, prepare_edition
from alerts.digests.schedule import create_due_editions
from alerts.digests.send import EditionSender, RawSender, SendPolicy
from alerts.links import Links
from alerts.mail.outgoing import MailDeps
from alerts.mail.pool import OutboxSender, SendRate, SmtpPool
from alerts.mail.smtp import SmtpConfig
from alerts.mail.transactional import Branding
from alerts.models import Delivery, DeliveryStatus, Edition, EditionStatus
from alerts.queue import enqueue_edition
from alerts.timeutil import utcnow

log = logging.getLogger(__name__)


@dataclass
class DigestDeps:
    """What the digest jobs need, built once per worker."""

    settings: Settings
    sessionmaker: Sessionmaker
    links: Links
    branding: Branding
    sender: RawSender
    rate: SendRate
    policy: SendPolicy
    owner: str
    cache: PreparedCache
    # Senders running in this worker, by edition, and the ones it started by joining.
    sending: Counter[int] = field(default_factory=Counter)
    joined: set[asyncio.Task[dict[str, Any]]] = field(default_factory=set)


def digest_deps(settings: Settings, mail: MailDeps, redis: Redis | None) -> DigestDeps:
    """Build the digest dependencies from the settings and the worker's mail dependencies."""
    sender: RawSender
    if settings.smtp_url:
        sender = SmtpPool(
            SmtpConfig.from_url(settings.smtp_url, settings.smtp_timeout), settings.smtp_pool_size
        )
    else:
        sender = OutboxSender(mail.sessionmaker)
    return DigestDeps(
        settings=settings,
        sessionmaker=mail.sessionmaker,
        links=mail.links,
        branding=mail.branding,
        sender=sender,
        rate=SendRate(redis, settings.smtp_rate_per_second, settings.smtp_rate_per_hour),
        policy=policy_for(settings),
        owner=worker_identity(),
        cache=PreparedCache(),
    )


def worker_identity() -> str:
    """Return a lease owner name unique to this worker process."""
    # lease_owner holds 64 characters; per-run suffixes add up to 12 more.
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def policy_for(settings: Settings) -> SendPolicy:
    """Return the send policy the settings describe."""
    return SendPolicy(
        batch_size=settings.send_batch_size,
        lease=timedelta(seconds=settings.send_lease_seconds),
        max_hard_bounces=settings.max_hard_bounces,
        retry_schedule=settings.send_retry_schedule,
    )


async def start_editions(deps: DigestDeps, pool: ArqRedis, edition_ids: list[int]) -> None:
    """Plan scheduled editions and enqueue their senders."""
    for edition_id in edition_ids:
        async with deps.sessionmaker.begin() as session:
            edition = await session.get(Edition, edition_id)
            if edition is not None and edition.status == EditionStatus.SCHEDULED:
                edition = await plan_edition(session, edition_id, now=utcnow())
            status = edition.status if edition else None
        if status == EditionStatus.SENDING:
            await enqueue_edition(pool, edition_id, deps.settings.send_parallelism)


async def digest_tick(ctx: dict[str, Any]) -> int:
    """Create due editions exactly once, plan them and start sending."""
    deps = cast(DigestDeps, ctx["digests"])
    now = utcnow()
    async with deps.sessionmaker.begin() as session:
        await create_due_editions(session, now)
        # Also editions created but not planned before a crash.
        waiting = list(
            await session.scalars(
                select(Edition.id).where(
                    Edition.status == EditionStatus.SCHEDULED, Edition.due_at <= now
                )
            )
        )
    await start_editions(deps, cast(ArqRedis, ctx["redis"]), waiting)
    return len(waiting)


async def send_edition(ctx: dict[str, Any], edition_id: int, slot: int = 0) -> dict[str, Any]:
    """Send an edition's deliveries from this worker; come back later for retries."""
    deps = cast(DigestDeps, ctx["digests"])
    if not _take(deps, edition_id):
        # arq hands queued senders to whichever worker polls first, often all to one: a second
        # sender here would share this one's CPU. Idle workers join the edition instead.
        log.info("edition %s slot %s: this worker sends it already", edition_id, slot)
        return {"sent": 0, "finished": False, "already_sending": True}
    return await _run_sender(deps, cast(ArqRedis, ctx["redis"]), edition_id, slot)


def _take(deps: DigestDeps, edition_id: int) -> bool:
    """Count a sender of the edition in this worker, unless one runs here already."""
    if deps.sending[edition_id]:
        return False
    deps.sending[edition_id] += 1
    return True


async def _run_sender(
    deps: DigestDeps, redis: ArqRedis, edition_id: int, slot: int
) -> dict[str, Any]:
    try:
        return await _send(deps, redis, edition_id, slot)
    finally:
        deps.sending[edition_id] -= 1
        if not deps.sending[edition_id]:
            del deps.sending[edition_id]


async def _send(deps: DigestDeps, redis: ArqRedis, edition_id: int, slot: int) -> dict[str, Any]:
    prepared = deps.cache.get(edition_id)
    if prepared is None:
        prepared = await prepare_edition(
            deps.sessionmaker,
            edition_id,
            links=deps.links,
            branding=deps.branding,
            templates_dir=deps.settings.templates_dir,
            feeds_dir=deps.settings.feeds_dir,
            now=utcnow(),
        )
        deps.cache.put(prepared)
    # Each run leases under its own name, so senders in one worker tell their leases apart.
    owner = f"{deps.owner}:{slot}:{uuid.uuid4().hex[:6]}"
    sender = EditionSender(
        sessionmaker=deps.sessionmaker,
        sender=deps.sender,
        rate=deps.rate,
        links=deps.links,
        branding=deps.branding,
        owner=owner,
        policy=deps.policy,
    )
    report = await sender.run(prepared)
    if not report.finished and report.remaining and not report.stopped:
        async with deps.sessionmaker() as session:
            later = await next_wakeup(session, edition_id, utcnow(), owner=owner)
        if later is not None:
            await enqueue_edition(redis, edition_id, 1, defer_until=later, slot_base=slot)
    log.info("edition %s slot %s: %s", edition_id, slot, report)
    return {
        "sent": report.sent,
        "failed": report.failed,
        "skipped": report.skipped,
        "retried": report.retried,
        "remaining": report.remaining,
        "finished": report.finished,
    }


# The slot a joining sender leases under (queued senders use 0 .. SEND_PARALLELISM - 1).
JOINED_SLOT = 99


async def join_editions(deps: DigestDeps, redis: ArqRedis) -> list[int]:
    """Start a sender here for each sending edition with deliveries to claim and none here.

    This is how every worker takes a share of a large edition, wherever arq put its senders.
    """
    now = utcnow()
    async with deps.sessionmaker() as session:
        sending = await session.scalars(
            select(Edition.id).where(Edition.status == EditionStatus.SENDING)
        )
        waiting = []
        for edition_id in list(sending):
            if deps.sending[edition_id]:
                continue
            ready = select(Delivery.id).where(*claim.claimable(edition_id, now)).limit(1)
            if await session.scalar(ready) is not None:
                waiting.append(edition_id)
    joined = [e for e in waiting if _take(deps, e)]
    for edition_id in joined:
        log.info("edition %s: joining its senders", edition_id)
        task = asyncio.create_task(_run_sender(deps, redis, edition_id, JOINED_SLOT))
        deps.joined.add(task)
        task.add_done_callback(_joined_done(deps))
    return joined


def _joined_done(deps: DigestDeps) -> Callable[[asyncio.Task[dict[str, Any]]], None]:
    def done(task: asyncio.Task[dict[str, Any]]) -> None:
        deps.joined.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            log.error("a joined sender failed; recovery will take its deliveries", exc_info=error)

    return done


async def join_loop(deps: DigestDeps, redis: ArqRedis, every: float) -> None:
    """Join sending editions every ``every`` seconds, for as long as the worker runs."""
    while True:
        await asyncio.sleep(every)
        try:
            await join_editions(deps, redis)
        except (SQLAlchemyError, OSError) as e:
            log.warning("could not look for editions to join: %s", e)
        except Exception:  # the loop must outlive any one failure; recovery covers the rest
            log.exception("looking for editions to join failed")


async def stop_joined(deps: DigestDeps) -> None:
    """Cancel the senders this worker joined; each records what it sent before it stops."""
    tasks = list(deps.joined)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def recover_editions(ctx: dict[str, Any]) -> int:
    """Re-enqueue senders for editions still sending: the ledger, not Redis, is the truth."""
    deps = cast(DigestDeps, ctx["digests"])
    now = utcnow()
    async with deps.sessionmaker() as session:
        sending = list(
            await session.scalars(select(Edition.id).where(Edition.status == EditionStatus.SENDING))
        )
        due = [edition_id for edition_id in sending if await senders_lost(session, edition_id, now)]
    for edition_id in due:
        # A sender killed with its worker keeps its job id "in progress" in arq for the job's
        # whole timeout (an hour), so the original ids cannot be enqueued again: use fresh ones.
        await enqueue_edition(
            cast(ArqRedis, ctx["redis"]),
            edition_id,
            deps.settings.send_parallelism,
            defer_until=now,
        )
    return len(due)


async def next_wakeup(
    session: AsyncSession, edition_id: int, now: datetime, *, owner: str
) -> datetime | None:
    """Return when a sender should look again, or None when another sender holds live leases.

    Another sender's live lease means it is still at work on the edition: it looks again
    itself when it finishes, and recovery covers it if it dies, so no extra sender is queued.
    Deliveries this sender leased but left unsent come back when their lease ends.
    """
    pending = and_(Delivery.edition_id == edition_id, Delivery.status == DeliveryStatus.PENDING)
    others = and_(Delivery.lease_until >= now, Delivery.lease_owner != owner)
    mine = and_(Delivery.lease_until >= now, Delivery.lease_owner == owner)
    row = (
        await session.execute(
            select(
                func.count(case((others, 1))),
                func.min(Delivery.next_attempt_at),
                func.min(case((mine, Delivery.lease_until))),
            ).where(pending)
        )
    ).one()
    if row[0]:
        return None
    times = [t for t in (row[1], row[2]) if t is not None]
    return max(min(times), now) if times else now


async def senders_lost(session: AsyncSession, edition_id: int, now: datetime) -> bool:
    """Tell whether deliveries can be claimed now while no sender holds a lease on any."""
    pending = and_(Delivery.edition_id == edition_id, Delivery.status == DeliveryStatus.PENDING)
    leased = Delivery.lease_until >= now
    claimable = and_(*claim.claimable(edition_id, now))
    row = (
        await session.execute(
            select(func.count(case((claimable, 1))), func.count(case((leased, 1)))).where(pending)
        )
    ).one()
    return bool(row[0]) and not row[1]
