"""Editions sent by real `alerts worker` processes through faults: none lost, none doubled.

Each test runs worker processes on a private Redis and the recording SMTP server, injects one
fault, polls the ledger until no delivery is pending, then counts and prints what arrived: messages
per address, ledger rows per status, duplicates and, for a crash, the messages in flight at the
kill (leased by the dead worker, received by the server, not yet recorded as sent).
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from arq.connections import ArqRedis
from arq.constants import default_queue_name
from sqlalchemy import and_, func, or_, select, update

from alerts.config import Settings
from alerts.db import Sessionmaker
from alerts.digests.jobs import recover_editions
from alerts.digests.plan import edition_counts, plan_edition, set_status
from alerts.digests.schedule import create_due_editions
from alerts.models import (
    Delivery,
    DeliveryStatus,
    Digest,
    DigestStatus,
    Edition,
    EditionStatus,
    Subscriber,
)
from alerts.queue import connect, enqueue_edition
from alerts.timeutil import utcnow
from tests.conftest import Backend
from tests.support.digests import digest_deps, make_digest, make_subscriber
from tests.support.factories import make_article, make_source
from tests.support.smtp import RecordingSMTP
from tests.support.workers import (
    Fleet,
    PrivateRedis,
    WorkerProcess,
    eventually,
    fleet,
    private_redis,
    worker_env,
)

DUE = datetime(2026, 1, 5, 7, 0, tzinfo=UTC)
LEASE_SECONDS = 3
WORKER_ENV = {
    "send_lease_seconds": LEASE_SECONDS,
    "send_batch_size": 20,
    "smtp_pool_size": 4,
    "send_parallelism": 2,
}
# With 4 connections per worker, 20 ms a message spreads an edition over a couple of seconds.
SMTP_DELAY = 0.02
DRAIN_TIMEOUT = 30.0

Hook = Callable[[], Awaitable[None]] | None


@pytest.fixture
def readers(backend: Backend) -> int:
    """Return the edition size: SQLite serialises every write, so it gets a smaller one."""
    return 300 if backend.is_postgres else 200


@pytest.fixture
def private(tmp_path: Path) -> Iterator[PrivateRedis]:
    """A Redis of this test's own, which it may crash and restart."""
    with private_redis(tmp_path / "redis") as server:
        yield server


@pytest.fixture
async def queue(private: PrivateRedis) -> AsyncIterator[ArqRedis]:
    """An arq pool on the private Redis, to enqueue senders as the web app or the CLI would."""
    pool = await connect(private.url)
    yield pool
    await pool.aclose()


@pytest.fixture
def workers(settings: Settings, private: PrivateRedis, tmp_path: Path) -> Iterator[Fleet]:
    """Start worker processes on demand; every one is stopped when the test ends."""
    with fleet(tmp_path / "workers", worker_env(settings, private.url, **WORKER_ENV)) as started:
        yield started


async def edition_for(sessionmaker: Sessionmaker, count: int) -> tuple[int, list[str]]:
    """Plan an edition of a weekly digest for ``count`` readers; return its id and addresses."""
    emails = [f"reader{i:04d}@example.org" for i in range(count)]
    async with sessionmaker.begin() as session:
        source = await make_source(session, title="ISHR")
        source.active = False  # the worker's feed cron must not fetch it
        for title, topics in [
            ("China: reprisals against lawyer Ding", ["reprisals"]),
            ("HRC61 opens with focus on civic space", ["civic-space"]),
        ]:
            article = await make_article(
                session, source=source, title=title, topics=topics, published_at=DUE
            )
            article.fetched_at = DUE - timedelta(days=1)
        for email in emails:
            await make_subscriber(session, email=email)
        await make_digest(session, now=DUE - timedelta(days=1))
    async with sessionmaker.begin() as session:
        [decision] = await create_due_editions(session, DUE + timedelta(seconds=5))
        assert decision.edition_id is not None
        edition = await plan_edition(session, decision.edition_id, now=DUE)
        assert edition.planned == count
        # The workers' scheduler tick must not start more editions of this digest.
        await session.execute(update(Digest).values(status=DigestStatus.PAUSED))
    return decision.edition_id, emails


async def move(
    sessionmaker: Sessionmaker, edition_id: int, current: EditionStatus, to: EditionStatus
) -> None:
    """Pause or resume the edition through the service the editor API calls."""
    async with sessionmaker.begin() as session:
        assert await set_status(session, edition_id, to, allowed_from={current})


async def ledger(sessionmaker: Sessionmaker, edition_id: int) -> dict[str, int]:
    """Return the edition's deliveries per status."""
    async with sessionmaker() as session:
        return await edition_counts(session, edition_id)


async def done(sessionmaker: Sessionmaker, edition_id: int) -> bool:
    """Tell whether no delivery is pending and the edition is marked sent."""
    async with sessionmaker() as session:
        status = await session.scalar(select(Edition.status).where(Edition.id == edition_id))
        counts = await edition_counts(session, edition_id)
    return counts["pending"] == 0 and status == EditionStatus.SENT


async def drain(
    sessionmaker: Sessionmaker, edition_id: int, workers: Fleet, supervise: Hook = None
) -> None:
    """Wait until the workers have finished the edition."""

    async def finished() -> bool:
        if supervise:
            await supervise()
        return await done(sessionmaker, edition_id)

    await eventually(
        finished, timeout=DRAIN_TIMEOUT, what="the edition to finish", explain=workers.logs
    )


async def received_at_least(smtp: RecordingSMTP, count: int, workers: Fleet) -> None:
    """Wait until the SMTP server has accepted ``count`` messages: the edition is under way."""

    async def enough() -> bool:
        return len(smtp.messages) >= count

    await eventually(enough, timeout=DRAIN_TIMEOUT, what=f"{count} messages", explain=workers.logs)


async def settled(smtp: RecordingSMTP, quiet: float = 0.3) -> None:
    """Wait until the server has accepted nothing for ``quiet`` s (dead clients' sessions end)."""
    seen = [len(smtp.messages), time.monotonic()]

    async def still() -> bool:
        if len(smtp.messages) != seen[0]:
            seen[:] = [len(smtp.messages), time.monotonic()]
        return time.monotonic() - seen[1] >= quiet

    await eventually(still, timeout=10, what="the SMTP server to go quiet")


async def leased_by(sessionmaker: Sessionmaker, edition_id: int, pid: int) -> set[str]:
    """Return the addresses of pending deliveries leased by worker process ``pid``."""
    async with sessionmaker() as session:
        rows = await session.scalars(
            select(Subscriber.email)
            .join(Delivery, Delivery.subscriber_id == Subscriber.id)
            .where(
                Delivery.edition_id == edition_id,
                Delivery.status == DeliveryStatus.PENDING,
                # worker_identity() is host:pid:random
                Delivery.lease_owner.like(f"%:{pid}:%"),
            )
        )
        return set(rows)


async def leases_ended(
    sessionmaker: Sessionmaker, edition_id: int, workers: Fleet, pid: int | None = None
) -> None:
    """Wait until no lease on the edition (taken by worker process ``pid``, if given) runs."""
    owned = Delivery.lease_owner.like(f"%:{pid}:%") if pid else Delivery.lease_owner.is_not(None)

    async def ended() -> bool:
        async with sessionmaker() as session:
            live = await session.scalar(
                select(func.count()).where(
                    Delivery.edition_id == edition_id, owned, Delivery.lease_until >= utcnow()
                )
            )
        return not live

    await eventually(ended, timeout=LEASE_SECONDS + 5, what="leases to end", explain=workers.logs)


async def lease_holders(sessionmaker: Sessionmaker, edition_id: int) -> set[int]:
    """Return the pids of the worker processes holding leases on the edition right now."""
    async with sessionmaker() as session:
        owners = await session.scalars(
            select(Delivery.lease_owner)
            .where(Delivery.edition_id == edition_id, Delivery.lease_owner.is_not(None))
            .distinct()
        )
        # Owners are "host:pid:worker-id:slot:run-id".
        return {int(owner.split(":")[1]) for owner in owners if owner}


def received(smtp: RecordingSMTP) -> Counter[str]:
    """Return how many messages the server accepted for each address."""
    return Counter(address for message in smtp.messages for address in message.rcpt_tos)


@dataclass
class Tally:
    """What one fault test counted: the numbers the product promises about."""

    fault: str
    expected: list[str]
    received: Counter[str]
    ledger: dict[str, int]
    in_flight: set[str] = field(default_factory=set)
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def missing(self) -> list[str]:
        """Return subscribers the server never got a message for."""
        return [email for email in self.expected if not self.received[email]]

    @property
    def duplicated(self) -> dict[str, int]:
        """Return the addresses that got more than one message, with their counts."""
        return {email: n for email, n in self.received.items() if n > 1}

    @property
    def duplicates(self) -> int:
        """Return the messages beyond the first for each address."""
        return sum(n - 1 for n in self.duplicated.values())

    def show(self) -> str:
        """Print the counts on one line (run pytest with -s to see them) and return it."""
        per_address = Counter(self.received[email] for email in self.expected)
        notes = "".join(f" {key}={value}" for key, value in self.notes.items())
        line = (
            f"[{self.fault}] subscribers={len(self.expected)}"
            f" messages={sum(self.received.values())}"
            f" addresses={len(self.received)}"
            f" messages-per-address={dict(sorted(per_address.items()))}"
            f" missing={len(self.missing)} duplicates={self.duplicates}"
            f" in-flight={len(self.in_flight)} ledger={self.ledger}{notes}"
        )
        print(line)
        return line

    def check(self) -> None:
        """Assert zero missing, every duplicate in flight at a crash, and a clean ledger."""
        line = self.show()
        assert not self.missing, line
        assert set(self.received) == set(self.expected), line
        assert self.duplicates <= len(self.in_flight), line
        assert set(self.duplicated) <= self.in_flight, line
        sent = len(self.expected)
        assert self.ledger == {"pending": 0, "sent": sent, "failed": 0, "skipped": 0}, line


async def pass_over(
    sessionmaker: Sessionmaker, edition_id: int, workers: Fleet, supervise: Hook = None
) -> None:
    """Wait until no delivery is leased or claimable now: the senders have done what they can."""

    async def over() -> bool:
        if supervise:
            await supervise()
        now = utcnow()
        claimable = and_(
            or_(Delivery.lease_until.is_(None), Delivery.lease_until < now),
            or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at <= now),
        )
        async with sessionmaker() as session:
            busy = await session.scalar(
                select(func.count()).where(
                    Delivery.edition_id == edition_id,
                    Delivery.status == DeliveryStatus.PENDING,
                    or_(claimable, Delivery.lease_until >= now),
                )
            )
        return not busy

    await eventually(over, timeout=DRAIN_TIMEOUT, what="the senders to stop", explain=workers.logs)


@dataclass
class Supervisor:
    """Restart a worker that died, as systemd or Docker would, once its leases have ended.

    Counts the deliveries it had in flight: leased, received by the server, not recorded.
    """

    worker: WorkerProcess
    sessionmaker: Sessionmaker
    edition_id: int
    smtp: RecordingSMTP
    workers: Fleet
    deaths: int = 0
    in_flight: set[str] = field(default_factory=set)

    async def check(self) -> None:
        """Restart the worker if it has exited; its startup recovery takes the edition on."""
        if self.worker.running:
            return
        self.deaths += 1
        await settled(self.smtp)
        pid = self.worker.pid
        leased = await leased_by(self.sessionmaker, self.edition_id, pid)
        now = received(self.smtp)
        self.in_flight |= {email for email in leased if now[email]}
        await leases_ended(self.sessionmaker, self.edition_id, self.workers, pid)
        self.worker.start()


async def retries_due(sessionmaker: Sessionmaker, edition_id: int) -> None:
    """Bring the retries forward: the worker waits a minute or more, the ledger says when."""
    async with sessionmaker.begin() as session:
        await session.execute(
            update(Delivery)
            .where(
                Delivery.edition_id == edition_id,
                Delivery.status == DeliveryStatus.PENDING,
                Delivery.next_attempt_at > utcnow(),
            )
            .values(next_attempt_at=utcnow())
        )


async def attempts(sessionmaker: Sessionmaker, edition_id: int) -> dict[int, int]:
    """Return how many deliveries took each number of tries."""
    async with sessionmaker() as session:
        rows = await session.execute(
            select(Delivery.attempts, func.count())
            .where(Delivery.edition_id == edition_id)
            .group_by(Delivery.attempts)
        )
        return {int(tries): int(n) for tries, n in sorted(rows.all())}


async def all_polling(pair: list[WorkerProcess], workers: Fleet) -> None:
    """Wait until every worker of ``pair`` is past its startup and polling for jobs.

    A worker logs "worker ready" at the end of its start-up, just before arq's poll loop;
    the run-at-startup cron jobs go to whichever worker polls first, so they cannot tell.
    """

    async def polling() -> bool:
        return all("worker ready" in w.log() for w in pair)

    await eventually(polling, timeout=20, what="the workers to poll", explain=workers.logs)


async def senders_queued(pool: ArqRedis) -> list[bytes]:
    """Return the ids of the edition senders waiting in the arq queue (cron jobs left out)."""
    return [job for job in await pool.zrange(default_queue_name, 0, -1) if job.startswith(b"ed")]


def sends_in_log(log: str, edition_id: int) -> int:
    """Return how many messages a worker's senders say they sent for the edition."""
    pattern = rf"edition {edition_id} slot \d+: Report\(sent=(\d+)"
    return sum(int(n) for n in re.findall(pattern, log))


async def test_worker_killed_mid_edition_resends_only_what_was_in_flight(
    sessionmaker: Sessionmaker,
    smtp: RecordingSMTP,
    queue: ArqRedis,
    workers: Fleet,
    readers: int,
) -> None:
    edition_id, emails = await edition_for(sessionmaker, readers)
    smtp.flaky(delay=SMTP_DELAY)
    first = workers.start("first")
    await enqueue_edition(queue, edition_id, 2)
    await received_at_least(smtp, readers // 3, workers)

    first.kill()
    await settled(smtp)
    leased = await leased_by(sessionmaker, edition_id, first.pid)
    at_kill = received(smtp)
    in_flight = {email for email in leased if at_kill[email]}
    ledger_at_kill = await ledger(sessionmaker, edition_id)
    assert leased, "the worker was killed with no batch leased: nothing was tested"

    # Restarted once the dead worker's leases end, the worker's startup recovery takes over.
    await leases_ended(sessionmaker, edition_id, workers, first.pid)
    workers.start("second")
    await drain(sessionmaker, edition_id, workers)
    Tally(
        "SIGKILL",
        emails,
        received(smtp),
        await ledger(sessionmaker, edition_id),
        in_flight,
        {
            "received-at-kill": sum(at_kill.values()),
            "ledger-sent-at-kill": ledger_at_kill["sent"],
            "leased-by-killed": len(leased),
        },
    ).check()


async def test_redis_restart_mid_edition_is_recovered_from_the_ledger(
    make_settings: Any,
    sessionmaker: Sessionmaker,
    smtp: RecordingSMTP,
    private: PrivateRedis,
    queue: ArqRedis,
    workers: Fleet,
    readers: int,
) -> None:
    edition_id, emails = await edition_for(sessionmaker, readers)
    # One message in five refused: those wait for a retry in a sender job deferred in Redis.
    smtp.flaky(every=5, delay=SMTP_DELAY)
    worker = workers.start("worker")
    # arq's poll loop sometimes dies of the dropped connection: restart it as systemd would.
    supervisor = Supervisor(worker, sessionmaker, edition_id, smtp, workers)
    await enqueue_edition(queue, edition_id, 2)
    await received_at_least(smtp, readers // 3, workers)

    # Mid-send: the running senders need only the database, so they carry on.
    private.restart()
    at_first_restart = sum(received(smtp).values())
    await pass_over(sessionmaker, edition_id, workers, supervisor.check)
    waiting = (await ledger(sessionmaker, edition_id))["pending"]
    assert waiting, "no delivery waits for a retry: nothing was tested"

    # Between passes: the deferred senders that would have sent the retries are lost.
    private.restart()
    smtp.flaky(delay=SMTP_DELAY)
    await retries_due(sessionmaker, edition_id)
    # The old pool's connections died with the server.
    pool = await connect(private.url)
    deps = digest_deps(make_settings(redis_url=private.url), sessionmaker, pool)
    try:
        lost = len(await senders_queued(pool))
        # What the recovery cron does each minute, run now instead of waiting for second 40.
        recovered = await recover_editions({"digests": deps, "redis": pool})
    finally:
        await deps.sender.close()
        await pool.aclose()
    assert (lost, recovered) == (0, 1)
    await drain(sessionmaker, edition_id, workers, supervisor.check)
    Tally(
        "Redis restart",
        emails,
        received(smtp),
        await ledger(sessionmaker, edition_id),
        supervisor.in_flight,
        notes={
            "restarts": private.restarts,
            "received-at-first-restart": at_first_restart,
            "pending-at-second-restart": waiting,
            "jobs-left-in-redis": lost,
            "editions-recovered": recovered,
            "attempts": await attempts(sessionmaker, edition_id),
            "worker-died": supervisor.deaths,
        },
    ).check()


async def test_smtp_refusing_and_dropping_through_the_worker(
    sessionmaker: Sessionmaker,
    smtp: RecordingSMTP,
    queue: ArqRedis,
    workers: Fleet,
    readers: int,
) -> None:
    edition_id, emails = await edition_for(sessionmaker, readers)
    smtp.flaky(every=5, drop_every=13, delay=SMTP_DELAY / 4)  # 20% refused (451), drops
    workers.start("worker")
    passes = 0
    while True:
        # Fresh slots each pass: the last pass's job ids may not be released yet.
        await enqueue_edition(queue, edition_id, 2, slot_base=2 * passes)
        await pass_over(sessionmaker, edition_id, workers)
        passes += 1
        if (await ledger(sessionmaker, edition_id))["pending"] == 0:
            break
        assert passes < 6, "retries did not converge"
        if passes == 3:
            # Three tries each under the faults; later ones must not give up on a message.
            smtp.flaky()
        await retries_due(sessionmaker, edition_id)
    await drain(sessionmaker, edition_id, workers)
    tries = await attempts(sessionmaker, edition_id)
    assert max(tries) > 1
    Tally(
        "SMTP 451 and drops",
        emails,
        received(smtp),
        await ledger(sessionmaker, edition_id),
        notes={
            "passes": passes,
            "attempts": tries,
            "refused-or-dropped": sum(n * k for n, k in tries.items()) - readers,
        },
    ).check()


async def test_two_workers_share_an_edition_and_send_each_message_once(
    sessionmaker: Sessionmaker,
    smtp: RecordingSMTP,
    queue: ArqRedis,
    workers: Fleet,
    readers: int,
) -> None:
    edition_id, emails = await edition_for(sessionmaker, readers)
    # Slow enough that one worker alone would take seconds over the edition.
    smtp.flaky(delay=5 * SMTP_DELAY)
    # Held back until the first worker polls, or its start-up recovery would start it.
    await move(sessionmaker, edition_id, EditionStatus.SENDING, EditionStatus.PAUSED)
    # Small batches, so that neither worker's sender can lease the whole edition at once.
    left = workers.start("left", send_batch_size=5, send_join_seconds=0.3)
    await all_polling([left], workers)
    await move(sessionmaker, edition_id, EditionStatus.PAUSED, EditionStatus.SENDING)
    # Both senders SEND_PARALLELISM=2 queues go to the one worker there is; it runs one.
    await enqueue_edition(queue, edition_id, 2)

    async def left_has_both() -> bool:
        return not await senders_queued(queue) and len(smtp.messages) > 0

    await eventually(left_has_both, timeout=10, what="the first worker", explain=workers.logs)
    # The second worker gets no queued sender: it has to join the edition on its own.
    right = workers.start("right", send_batch_size=5, send_join_seconds=0.3)
    pair = [left, right]
    holders: set[int] = set()

    async def finished() -> bool:
        holders.update(await lease_holders(sessionmaker, edition_id))
        return await done(sessionmaker, edition_id)

    await eventually(finished, timeout=DRAIN_TIMEOUT, what="the edition", explain=workers.logs)
    # The last senders log their reports just after the edition is marked sent.
    sends: dict[str, int] = {}

    async def reported() -> bool:
        sends.update({w.name: sends_in_log(w.log(), edition_id) for w in pair})
        return sum(sends.values()) >= readers

    await eventually(reported, timeout=10, what="the senders' reports", explain=workers.logs)
    tally = Tally(
        "two workers",
        emails,
        received(smtp),
        await ledger(sessionmaker, edition_id),
        notes={"sent-per-worker": sends, "lease-holders-seen": len(holders)},
    )
    tally.check()
    # The logs count every send; sampling the ledger's lease owners may miss a short lease.
    assert min(sends.values()) > 0 and sum(sends.values()) == readers, tally.show()
    assert holders and holders <= {w.pid for w in pair}, tally.show()


async def test_paused_edition_stops_and_resumes_without_resending(
    make_settings: Any,
    sessionmaker: Sessionmaker,
    smtp: RecordingSMTP,
    private: PrivateRedis,
    queue: ArqRedis,
    workers: Fleet,
    readers: int,
) -> None:
    edition_id, emails = await edition_for(sessionmaker, readers)
    smtp.flaky(delay=SMTP_DELAY)
    workers.start("worker")
    await enqueue_edition(queue, edition_id, 2)
    await received_at_least(smtp, readers // 3, workers)

    await move(sessionmaker, edition_id, EditionStatus.SENDING, EditionStatus.PAUSED)
    await leases_ended(sessionmaker, edition_id, workers)
    await settled(smtp)
    before = received(smtp)
    at_pause = await ledger(sessionmaker, edition_id)
    # Senders stop at the next batch; what they had sent is recorded, nothing is in flight.
    assert at_pause["sent"] == sum(before.values()) == len(before), (at_pause, len(before))
    assert at_pause["pending"] > 0
    deps = digest_deps(make_settings(redis_url=private.url), sessionmaker, queue)
    try:
        assert await recover_editions({"digests": deps, "redis": queue}) == 0
    finally:
        await deps.sender.close()
    await settled(smtp)
    assert received(smtp) == before, "a paused edition went on sending"

    await move(sessionmaker, edition_id, EditionStatus.PAUSED, EditionStatus.SENDING)
    await enqueue_edition(queue, edition_id, 2, slot_base=2)
    await drain(sessionmaker, edition_id, workers)
    after = received(smtp)
    Tally(
        "pause and resume",
        emails,
        after,
        await ledger(sessionmaker, edition_id),
        notes={
            "sent-before-pause": sum(before.values()),
            "sent-after-resume": sum(after.values()) - sum(before.values()),
            "resent": sum(after[email] - 1 for email in before),
        },
    ).check()
