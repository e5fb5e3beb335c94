"""A pool of persistent SMTP connections, and a send rate limit shared by every worker."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Sequence
from email import policy
from email.parser import BytesHeaderParser

from redis.asyncio import Redis
from redis.exceptions import RedisError

from alerts.db import Sessionmaker, insert_for
from alerts.mail.smtp import SmtpConfig, SmtpConnection
from alerts.models import OutboxMessage
from alerts.timeutil import utcnow

log = logging.getLogger(__name__)


class SmtpPool:
    """Up to ``size`` persistent connections; each send borrows one, first come first served."""

    def __init__(self, config: SmtpConfig, size: int) -> None:
        self.size = size
        self._all = [SmtpConnection(config) for _ in range(size)]
        self._idle: deque[SmtpConnection] = deque(self._all)
        self._waiters: deque[asyncio.Future[SmtpConnection]] = deque()

    async def send(
        self, sender: str, recipients: Sequence[str], data: bytes, *, crlf: bool = False
    ) -> str:
        """Send raw message bytes over a pooled connection (``crlf``: see SmtpConnection)."""
        conn = await self._acquire()
        try:
            return await conn.send(sender, recipients, data, crlf=crlf)
        finally:
            self._release(conn)

    async def _acquire(self) -> SmtpConnection:
        if self._idle and not self._waiters:
            return self._idle.popleft()
        waiter: asyncio.Future[SmtpConnection] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            return await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._release(waiter.result())
            else:
                with contextlib.suppress(ValueError):
                    self._waiters.remove(waiter)
            raise

    def _release(self, conn: SmtpConnection) -> None:
        # Hand the connection to the longest waiter. Putting it back for anyone to take would
        # let a sender that never yields between messages keep it, and starve the others
        # until their leases run out.
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(conn)
                return
        self._idle.append(conn)

    async def close(self) -> None:
        """Say QUIT on every open connection."""
        await asyncio.gather(*(c.close() for c in self._all), return_exceptions=True)


class OutboxSender:
    """Catch digest messages in the local outbox when no SMTP server is configured."""

    size = 4

    def __init__(self, sessionmaker: Sessionmaker) -> None:
        self._sessionmaker = sessionmaker

    async def send(
        self, sender: str, recipients: Sequence[str], data: bytes, *, crlf: bool = False
    ) -> str:
        """Store the message; a resend with the same Message-ID stores nothing twice."""
        headers = BytesHeaderParser(policy=policy.default).parsebytes(data)
        message_id = str(headers["Message-ID"])
        async with self._sessionmaker.begin() as session:
            await session.execute(
                insert_for(session, OutboxMessage.__table__)
                .values(
                    created_at=utcnow(),
                    recipient=", ".join(recipients),
                    subject=str(headers["Subject"] or "")[:998],
                    message_id=message_id,
                    raw=data,
                )
                .on_conflict_do_nothing(index_elements=["message_id"])
            )
        return "250 stored in the local outbox"

    async def close(self) -> None:
        """Nothing to release."""


class SendRate:
    """Messages per second and per hour, counted in Redis so every worker shares the limit."""

    def __init__(
        self, redis: Redis | None, per_second: int, per_hour: int, chunk: int = 20
    ) -> None:
        self._redis = redis
        self._per_second = per_second
        self._per_hour = per_hour
        self._chunk = chunk
        self._tokens = 0
        self._lock = asyncio.Lock()

    @property
    def unlimited(self) -> bool:
        """Tell whether no limit is configured."""
        return self._per_second <= 0 and self._per_hour <= 0

    async def acquire(self) -> None:
        """Wait until one more message may be sent."""
        if self.unlimited or self._redis is None:
            return
        async with self._lock:
            while self._tokens == 0:
                self._tokens = await self._reserve()
                if self._tokens == 0:
                    await asyncio.sleep(1.0 - (time.time() % 1.0) + 0.001)
            self._tokens -= 1

    async def _reserve(self) -> int:
        assert self._redis is not None
        now = time.time()
        want = self._chunk if self._per_second <= 0 else min(self._chunk, self._per_second)
        try:
            pipe = self._redis.pipeline(transaction=False)
            sec_key = f"alerts:smtp-rate:s:{int(now)}"
            hour_key = f"alerts:smtp-rate:h:{int(now // 3600)}"
            pipe.incrby(sec_key, want)
            pipe.expire(sec_key, 5)
            pipe.incrby(hour_key, want)
            pipe.expire(hour_key, 7200)
            sec, _, hour, _ = await pipe.execute()
        except (RedisError, OSError) as e:
            log.warning("send-rate counter unavailable, sending slowly: %s", e)
            await asyncio.sleep(1)
            return 1
        allowed = want
        if self._per_second > 0:
            allowed = min(allowed, max(0, self._per_second - (int(sec) - want)))
        if self._per_hour > 0:
            allowed = min(allowed, max(0, self._per_hour - (int(hour) - want)))
        return allowed
