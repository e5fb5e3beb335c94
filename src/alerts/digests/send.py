"""Send an edition: claim batches, build each message from the edition's shared parts, record."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import update

from alerts.db import Sessionmaker
from alerts.digests import claim
from alerts.digests.content import ArticleItem, EditionContext, Recipient, select_for
from alerts.digests.recipients import SubscriberRow, load_subscribers
from alerts.errors import PermanentMailError, TransientMailError
from alerts.links import Links
from alerts.mail.message import Envelope, message_bytes, message_id_for
from alerts.mail.pool import SendRate
from alerts.mail.render import RenderedParts
from alerts.mail.transactional import Branding
from alerts.models import DeliveryStatus, Edition, EditionStatus
from alerts.timeutil import utcnow

log = logging.getLogger(__name__)

MAX_SELECTIONS = 10_000


class RawSender(Protocol):
    """Delivers message bytes: an SMTP pool, or the local outbox."""

    size: int

    async def send(
        self, sender: str, recipients: Sequence[str], data: bytes, *, crlf: bool = False
    ) -> str:
        """Send; raise TransientMailError or PermanentMailError. ``crlf``: lines end in CRLF."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


class EditionRenderer(Protocol):
    """Renders one subscriber's message from parts built once per edition."""

    def render_parts(self, recipient: Recipient, articles: Sequence[ArticleItem]) -> RenderedParts:
        """Return the subject, text and HTML for one recipient, in pieces."""
        ...


# A claimed delivery, its subscriber, their articles, and when it must no longer be sent.
_Job = tuple[claim.Claimed, SubscriberRow, Sequence[ArticleItem], datetime]


@dataclass(frozen=True)
class Prepared:
    """An edition ready to send: its articles and renderer, built once per worker."""

    edition_id: int
    send_when_empty: bool
    articles: tuple[ArticleItem, ...]
    context: EditionContext
    renderer: EditionRenderer


@dataclass(frozen=True)
class SendPolicy:
    """How batches, leases and retries work."""

    batch_size: int = 200
    lease: timedelta = timedelta(minutes=2)
    retry_schedule: tuple[int, ...] = (60, 300, 1800, 7200)
    max_hard_bounces: int = 3
    flush_every: float = 0.1


@dataclass
class Report:
    """What one run of the sender did."""

    sent: int = 0
    failed: int = 0
    skipped: int = 0
    retried: int = 0
    lost_leases: int = 0
    stopped: str = ""
    remaining: int = 0
    finished: bool = False


@dataclass
class EditionSender:
    """Send one edition's deliveries from this worker until none is left to claim."""

    sessionmaker: Sessionmaker
    sender: RawSender
    rate: SendRate
    links: Links
    branding: Branding
    owner: str
    policy: SendPolicy = field(default_factory=SendPolicy)
    clock: Callable[[], datetime] = utcnow
    _buffer: list[claim.Outcome] = field(default_factory=list)
    # Many readers make the same choices: select each distinct choice's articles once.
    _selections: dict[tuple[frozenset[str], frozenset[str]], list[ArticleItem]] = field(
        default_factory=dict
    )

    def __post_init__(self) -> None:
        self._envelope_from = self.branding.envelope_from

    async def run(self, prepared: Prepared) -> Report:
        """Claim, build, send and record until the edition is done, paused or out of work."""
        report = Report()
        stop = asyncio.Event()
        flusher = asyncio.create_task(self._flush_loop(report, stop))
        # One lane per pooled connection builds and sends messages one at a time, so that
        # building the next message overlaps with waiting for the server. The queue holds a
        # batch: the next claim runs while the lanes are still sending the previous one.
        queue: asyncio.Queue[_Job | None] = asyncio.Queue(maxsize=max(1, self.policy.batch_size))
        lanes = [
            asyncio.create_task(self._lane(prepared, queue, report))
            for _ in range(max(1, self.sender.size))
        ]
        producer = asyncio.create_task(self._produce(prepared, queue, report, len(lanes)))
        try:
            await asyncio.wait([producer, *lanes], return_when=asyncio.FIRST_EXCEPTION)
            for lane in lanes:
                if lane.done() and not lane.cancelled() and (error := lane.exception()):
                    raise error
            # After a failed claim the lanes still send what was claimed, then the error shows.
            await asyncio.gather(*lanes)
            producer.result()
        finally:
            for task in (producer, *lanes):
                task.cancel()
            await asyncio.gather(producer, *lanes, return_exceptions=True)
            # Never cancel a flush half-way: the outcomes it holds would be lost.
            stop.set()
            await flusher
            await self._flush(report)
        await self._finish(prepared.edition_id, report)
        return report

    async def _produce(
        self, prepared: Prepared, queue: asyncio.Queue[_Job | None], report: Report, lanes: int
    ) -> None:
        try:
            await self._claim_into(prepared, queue, report)
        finally:
            for _ in range(lanes):
                await queue.put(None)

    async def _claim_into(
        self, prepared: Prepared, queue: asyncio.Queue[_Job | None], report: Report
    ) -> None:
        while await self._still_sending(prepared.edition_id, report):
            now = self.clock()
            async with self.sessionmaker.begin() as session:
                batch = await claim.claim_batch(
                    session,
                    prepared.edition_id,
                    owner=self.owner,
                    size=self.policy.batch_size,
                    lease=self.policy.lease,
                    now=now,
                )
                subscribers = await load_subscribers(session, [c.subscriber_id for c in batch])
            if not batch:
                return
            # A send still running when the lease ends could be repeated by another worker:
            # the last quarter of the lease is left for sends in flight (SMTP_TIMEOUT).
            send_by = now + self.policy.lease * 3 / 4
            for item in batch:
                row = subscribers.get(item.subscriber_id)
                if row is None or not row.active:
                    self._done(item, DeliveryStatus.SKIPPED, "not an active subscriber", report)
                    continue
                chosen = self._select(prepared, row)
                if not chosen and not prepared.send_when_empty:
                    self._done(item, DeliveryStatus.SKIPPED, "nothing matched", report)
                    continue
                await queue.put((item, row, chosen, send_by))

    def _select(self, prepared: Prepared, row: SubscriberRow) -> list[ArticleItem]:
        key = (row.topics, row.countries)
        chosen = self._selections.get(key)
        if chosen is None:
            chosen = select_for(prepared.articles, row.topics, row.countries)
            if len(self._selections) < MAX_SELECTIONS:
                self._selections[key] = chosen
        return chosen

    async def _lane(
        self, prepared: Prepared, queue: asyncio.Queue[_Job | None], report: Report
    ) -> None:
        while (job := await queue.get()) is not None:
            await self._deliver(prepared, *job, report)

    async def _still_sending(self, edition_id: int, report: Report) -> bool:
        async with self.sessionmaker() as session:
            edition = await session.get(Edition, edition_id, populate_existing=True)
        if edition is None or edition.status != EditionStatus.SENDING:
            report.stopped = edition.status.value if edition else "missing"
            return False
        return True

    async def _deliver(
        self,
        prepared: Prepared,
        item: claim.Claimed,
        row: SubscriberRow,
        chosen: Sequence[ArticleItem],
        send_by: datetime,
        report: Report,
    ) -> None:
        if self.clock() >= send_by:
            # Left pending under a lapsing lease: another claim will send it, exactly once.
            report.lost_leases += 1
            return
        message_id, data = self.compose(prepared, row, chosen)
        if not self.rate.unlimited:
            await self.rate.acquire()
        try:
            # message_bytes ends every line with CRLF.
            response = await self.sender.send(self._envelope_from, [row.email], data, crlf=True)
        except PermanentMailError as e:
            self._done(item, DeliveryStatus.FAILED, str(e), report, hard_bounce=True)
        except TransientMailError as e:
            self._retry(item, str(e), report)
        else:
            self._done(item, DeliveryStatus.SENT, response, report, message_id=message_id)

    def compose(
        self, prepared: Prepared, row: SubscriberRow, chosen: Sequence[ArticleItem]
    ) -> tuple[str, bytes]:
        """Return the Message-ID and bytes of one subscriber's copy of the edition."""
        recipient = Recipient(
            subscriber_id=row.id,
            email=row.email,
            topics=row.topics,
            countries=row.countries,
            manage_url=self.links.manage(row),
            unsubscribe_url=self.links.unsubscribe(row),
        )
        body = prepared.renderer.render_parts(recipient, chosen)
        message_id = message_id_for(f"edition-{prepared.edition_id}", row.id, self.branding.host)
        data = message_bytes(
            Envelope(
                sender=self.branding.sender,
                recipient=row.email,
                message_id=message_id,
                list_id=self.branding.list_id,
                unsubscribe_url=recipient.unsubscribe_url,
                date=self.clock(),
            ),
            body,
        )
        return message_id, data

    def _done(
        self,
        item: claim.Claimed,
        status: DeliveryStatus,
        response: str,
        report: Report,
        *,
        message_id: str | None = None,
        hard_bounce: bool = False,
    ) -> None:
        self._buffer.append(
            claim.Outcome(
                item.delivery_id,
                item.subscriber_id,
                status,
                response,
                message_id,
                None,
                hard_bounce,
            )
        )
        if status == DeliveryStatus.SENT:
            report.sent += 1
        elif status == DeliveryStatus.FAILED:
            report.failed += 1
        else:
            report.skipped += 1

    def _retry(self, item: claim.Claimed, response: str, report: Report) -> None:
        schedule = self.policy.retry_schedule
        if item.attempts >= len(schedule):
            self._done(
                item,
                DeliveryStatus.FAILED,
                f"gave up after {item.attempts + 1} tries: {response}",
                report,
            )
            return
        retry_at = self.clock() + timedelta(seconds=schedule[item.attempts])
        self._buffer.append(
            claim.Outcome(
                item.delivery_id,
                item.subscriber_id,
                DeliveryStatus.PENDING,
                response,
                None,
                retry_at,
            )
        )
        report.retried += 1

    async def _flush_loop(self, report: Report, stop: asyncio.Event) -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.policy.flush_every)
            await self._flush(report)

    async def _flush(self, report: Report) -> None:
        outcomes, self._buffer = self._buffer, []
        if not outcomes:
            return
        async with self.sessionmaker.begin() as session:
            await claim.record(
                session,
                self.owner,
                outcomes,
                now=self.clock(),
                max_hard_bounces=self.policy.max_hard_bounces,
            )

    async def _finish(self, edition_id: int, report: Report) -> None:
        async with self.sessionmaker.begin() as session:
            report.remaining = await claim.remaining(session, edition_id)
            if report.remaining == 0:
                result = await session.execute(
                    update(Edition)
                    .where(Edition.id == edition_id, Edition.status == EditionStatus.SENDING)
                    .values(status=EditionStatus.SENT, finished_at=self.clock())
                )
                report.finished = bool(result.rowcount)  # type: ignore[attr-defined]
