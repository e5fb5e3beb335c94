"""Digest bench send runs: workers handed an edition, timed until its ledger is empty."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
from digest_data import Planned, Population
from digest_procs import BIN, REPO, BenchError, Sink, Worker, postgres_cpu
from redis.asyncio import Redis
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from alerts.db import Sessionmaker
from alerts.models import Delivery, Edition, EditionStatus
from alerts.queue import connect, enqueue_edition

MB = 1024 * 1024


@dataclass
class SendRun:
    """One edition sent by ``workers`` worker processes."""

    label: str
    workers: int
    planned: int
    edition_id: int = 0
    sent: int = 0
    skipped: int = 0
    failed: int = 0
    seconds: float = 0.0
    sink_received: int = 0
    peak_rss: list[int] = field(default_factory=list)
    worker_cpu: float = 0.0
    pg_cpu: float = 0.0
    sink_cpu: float = 0.0
    per_worker_sent: list[int] = field(default_factory=list)
    lost_leases: int = 0
    plan_seconds: float = 0.0
    complete: bool = False

    @property
    def rate(self) -> float:
        """Messages sent per second, first send to empty ledger."""
        return self.sent / self.seconds if self.seconds else 0.0


def dsn_for(admin: str, name: str) -> str:
    """Return ``admin`` with its database replaced by ``name``."""
    base, _, _ = admin.rpartition("/")
    return f"{base}/{name}"


def run_cli(args: list[str], env: dict[str, str]) -> None:
    """Run an ``alerts`` sub-command, raising BenchError when it fails."""
    done = subprocess.run(
        [str(BIN / "alerts"), *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=300
    )
    if done.returncode != 0:
        raise BenchError(f"alerts {' '.join(args)} failed:\n{done.stdout}{done.stderr}")


async def flush_redis(url: str) -> None:
    """Empty the bench's own Redis database."""
    redis = Redis.from_url(url)
    try:
        await redis.flushdb()
    finally:
        await redis.aclose()


async def postgres_pids(dsn: str) -> list[int]:
    """Return the PIDs of every PostgreSQL process (backends and helpers)."""
    conn = await asyncpg.connect(dsn)
    try:
        return [r[0] for r in await conn.fetch("SELECT pid FROM pg_stat_activity")]
    finally:
        await conn.close()


async def ledger(sessionmaker: Sessionmaker, edition_id: int) -> dict[str, int]:
    """Return the edition's deliveries by status."""
    async with sessionmaker() as session:
        rows = await session.execute(
            select(Delivery.status, func.count())
            .where(Delivery.edition_id == edition_id)
            .group_by(Delivery.status)
        )
        return {str(s.value if hasattr(s, "value") else s): int(n) for s, n in rows}


async def first_sent(sessionmaker: Sessionmaker, edition_id: int) -> float:
    """Return the epoch time of the edition's first recorded send."""
    async with sessionmaker() as session:
        when = await session.scalar(
            select(func.min(Delivery.sent_at)).where(Delivery.edition_id == edition_id)
        )
    return when.timestamp() if when else time.time()


async def finished_at(sessionmaker: Sessionmaker, edition_id: int) -> float | None:
    """Return the epoch time the senders marked the edition sent, or None while it is not.

    One primary-key read: polling the ledger itself (a count over 100,000 rows, ten times a
    second) took ~0.4 of a core from PostgreSQL during the run it measured.
    """
    async with sessionmaker() as session:
        row = (
            await session.execute(
                select(Edition.status, Edition.finished_at).where(Edition.id == edition_id)
            )
        ).one()
    return row.finished_at.timestamp() if row.status == EditionStatus.SENT else None


async def cancel(sessionmaker: Sessionmaker, edition_id: int) -> None:
    """Cancel an edition a run left unfinished, so no later run's workers recover it."""
    async with sessionmaker.begin() as session:
        await session.execute(
            update(Edition)
            .where(Edition.id == edition_id, Edition.status == EditionStatus.SENDING)
            .values(status=EditionStatus.CANCELLED)
        )


async def hand_out(redis_url: str, edition_id: int, senders: int) -> None:
    """Queue the edition's senders as the scheduler does (SEND_PARALLELISM of them).

    arq gives queued jobs to whichever worker polls first, often all of them to one; a worker
    runs one sender per edition, and the others join the edition by themselves.
    """
    pool = await connect(redis_url)
    try:
        await enqueue_edition(pool, edition_id, senders)
    finally:
        await pool.aclose()


async def send_run(
    label: str, n: int, plan: Callable[[], Awaitable[Planned]], ctx: Context, limits: Limits
) -> SendRun:
    """Start ``n`` workers, plan an edition, hand it to them, wait until its ledger is empty.

    The edition is planned once the workers are idle: planned earlier, the start-up run of
    recover_editions would take it for an edition whose senders were lost and start one more.
    """
    run = SendRun(label, n, 0)
    await flush_redis(limits.redis_url)
    env = {**ctx.worker_env, "SEND_PARALLELISM": str(n)}
    name = "".join(c if c.isalnum() else "-" for c in label)
    workers = [Worker(env, ctx.workdir / f"worker-{name}-{i}.log") for i in range(n)]
    ctx.workers = workers
    try:
        for w in workers:
            await asyncio.to_thread(w.wait_ready)
        planned = await plan()
        edition_id = run.edition_id = planned.edition_id
        run.planned, run.plan_seconds = planned.planned, planned.seconds
        print(f"  {label}: planned edition {edition_id} ({planned.planned:,} deliveries) in "
              f"{planned.seconds:.2f} s", flush=True)  # fmt: skip
        pg_pids = await postgres_pids(ctx.admin_dsn)
        cpu0 = sum(w.cpu() for w in workers), postgres_cpu(pg_pids), ctx.sink.cpu()
        sink0 = ctx.sink.received()
        await hand_out(limits.redis_url, edition_id, n)
        deadline = time.monotonic() + limits.max_send_seconds
        finished = None
        while time.monotonic() < deadline:
            for w in workers:
                w.sample()
                if w.proc.poll() is not None:
                    raise BenchError(f"worker exited during the run:\n{w.tail()}")
            finished = await finished_at(ctx.sessionmaker, edition_id)
            if finished is not None:
                run.complete = True
                break
            await asyncio.sleep(0.1)
        if finished is None:
            finished = time.time()
            await cancel(ctx.sessionmaker, edition_id)
        run.seconds = finished - await first_sent(ctx.sessionmaker, edition_id)
        counts = await ledger(ctx.sessionmaker, edition_id)
        run.sent, run.skipped = counts.get("sent", 0), counts.get("skipped", 0)
        run.failed = counts.get("failed", 0)
        run.worker_cpu = sum(w.cpu() for w in workers) - cpu0[0]
        run.pg_cpu = postgres_cpu(pg_pids) - cpu0[1]
        run.sink_cpu = ctx.sink.cpu() - cpu0[2]
        await asyncio.sleep(0.3)  # smtp-sink prints its counter when a message ends
        run.sink_received = ctx.sink.received() - sink0
        run.peak_rss = [w.high_water() for w in workers]
    finally:
        for w in workers:
            await asyncio.to_thread(w.stop)
        ctx.workers = []
    run.per_worker_sent = [sent_in_log(w) for w in workers]
    run.lost_leases = sum(lost_in_log(w) for w in workers)
    return run


def sent_in_log(worker: Worker) -> int:
    """Return the messages a worker's senders reported in its log."""
    total = 0
    for line in worker.log.read_text(errors="replace").splitlines():
        if ": Report(sent=" in line:
            total += int(line.split("Report(sent=")[1].split(",")[0])
    return total


def lost_in_log(worker: Worker) -> int:
    """Return the deliveries a worker's senders left because their lease was running out."""
    total = 0
    for line in worker.log.read_text(errors="replace").splitlines():
        if ": Report(sent=" in line:
            total += int(line.split("lost_leases=")[1].split(",")[0])
    return total


@dataclass(frozen=True)
class Limits:
    """Where the job queue is, and how long a run may take."""

    redis_url: str
    max_send_seconds: float


@dataclass
class Context:
    """What every step needs."""

    workdir: Path
    admin_dsn: str
    sessionmaker: Sessionmaker
    sink: Sink
    worker_env: dict[str, str]
    engine: AsyncEngine
    population: Population
    workers: list[Worker] = field(default_factory=list)


def verdict(ok: bool) -> str:
    """Return PASS or FAIL."""
    return "PASS" if ok else "FAIL"


def print_run(run: SendRun) -> None:
    """Print one send run."""
    per = run.worker_cpu / run.sent * 1e3 if run.sent else 0.0
    print(
        f"  {run.label}: {run.sent:,} sent, {run.skipped:,} skipped (nothing matched), "
        f"{run.failed} failed in {run.seconds:.1f} s = {run.rate:,.0f} msg/s"
        f"{'' if run.complete else '  (INCOMPLETE: time limit)'}"
    )
    print(
        f"    sink received {run.sink_received:,}; per worker sent {run.per_worker_sent}; "
        f"lost leases {run.lost_leases}; "
        f"peak RSS {', '.join(f'{r / MB:.0f} MB' for r in run.peak_rss)}"
    )
    print(
        f"    CPU: workers {run.worker_cpu:.1f} s ({per:.2f} ms/msg), PostgreSQL "
        f"{run.pg_cpu:.1f} s, smtp-sink {run.sink_cpu:.1f} s"
    )
