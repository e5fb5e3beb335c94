"""Real digest messages rendered by the application, and bare loops that only send them.

``bare_loop`` is the reference of the targets: plain ``aiosmtplib.SMTP.sendmail``. With
``prepared=True`` it sends through the worker's own ``SmtpConnection`` instead (the message put
in its DATA form without aiosmtplib's regular expressions), so the difference between that loop
and a worker is what the worker does besides SMTP.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import aiosmtplib
from sqlalchemy import select

from alerts.config import Settings
from alerts.db import Sessionmaker
from alerts.digests.content import select_for
from alerts.digests.prepare import prepare_edition
from alerts.digests.recipients import load_subscribers
from alerts.digests.send import EditionSender
from alerts.links import Links
from alerts.mail.pool import SendRate
from alerts.mail.smtp import SmtpConfig, SmtpConnection
from alerts.mail.transactional import Branding
from alerts.models import Delivery

SENDER = "alerts@alerts.example.org"


async def sample_messages(
    settings: Settings, sessionmaker: Sessionmaker, edition_id: int, count: int, seed: int = 2
) -> list[tuple[str, bytes]]:
    """Render ``count`` random recipients' copies of an edition, as a worker would."""
    links = Links.from_settings(settings)
    branding = Branding.from_settings(settings)
    prepared = await prepare_edition(
        sessionmaker,
        edition_id,
        links=links,
        branding=branding,
        templates_dir=settings.templates_dir,
        feeds_dir=settings.feeds_dir,
        now=datetime.now(UTC),
    )
    composer = EditionSender(
        sessionmaker=sessionmaker,
        sender=None,  # type: ignore[arg-type]  # only compose() is used
        rate=SendRate(None, 0, 0),
        links=links,
        branding=branding,
        owner="bench",
    )
    async with sessionmaker() as session:
        ids = list(
            await session.scalars(
                select(Delivery.subscriber_id).where(Delivery.edition_id == edition_id)
            )
        )
        picked = random.Random(seed).sample(ids, min(len(ids), count * 2))
        rows = await load_subscribers(session, picked)
    out = []
    for sid in picked:
        row = rows[sid]
        chosen = select_for(prepared.articles, row.topics, row.countries)
        if chosen:  # a recipient with nothing to read is skipped, never sent
            out.append((row.email, composer.compose(prepared, row, chosen)[1]))
        if len(out) == count:
            break
    return out


@dataclass(frozen=True)
class BareResult:
    """What the bare loop sent."""

    sent: int
    seconds: float
    cpu: float
    mean_bytes: float

    @property
    def rate(self) -> float:
        """Messages per second."""
        return self.sent / self.seconds if self.seconds else 0.0


async def bare_loop(
    port: int,
    connections: int,
    messages: list[tuple[str, bytes]],
    *,
    count: int,
    max_seconds: float,
    prepared: bool = False,
) -> BareResult:
    """Send pre-built messages over ``connections`` clients, each one message at a time."""
    next_index = 0
    sent = 0
    sizes = 0
    deadline = time.monotonic() + max_seconds

    async def alerts_client() -> None:
        nonlocal next_index, sent, sizes
        connection = SmtpConnection(SmtpConfig.from_url(f"smtp://127.0.0.1:{port}", timeout=30))
        try:
            while next_index < count and time.monotonic() < deadline:
                recipient, data = messages[next_index % len(messages)]
                next_index += 1
                await connection.send(SENDER, [recipient], data, crlf=True)
                sent += 1
                sizes += len(data)
        finally:
            await connection.close()

    async def client() -> None:
        nonlocal next_index, sent, sizes
        smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=30)
        await smtp.connect()
        try:
            while next_index < count and time.monotonic() < deadline:
                recipient, data = messages[next_index % len(messages)]
                next_index += 1
                await smtp.sendmail(SENDER, [recipient], data)
                sent += 1
                sizes += len(data)
        finally:
            await smtp.quit()

    cpu0, t0 = time.process_time(), time.perf_counter()
    run = alerts_client if prepared else client
    await asyncio.gather(*(run() for _ in range(connections)))
    seconds = time.perf_counter() - t0
    return BareResult(sent, seconds, time.process_time() - cpu0, sizes / max(sent, 1))
