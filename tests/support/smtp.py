"""A recording SMTP server built on aiosmtpd, with switchable faults."""

from __future__ import annotations

import asyncio
import socket
import threading
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any, cast

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


@dataclass
class Received:
    """One message the server accepted."""

    mail_from: str
    rcpt_tos: list[str]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        return cast(EmailMessage, message_from_bytes(self.raw, policy=policy.default))


@dataclass
class _Handler:
    messages: list[Received] = field(default_factory=list)
    reply: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    every: int = 0
    every_reply: str = "451 4.3.0 try again later"
    drop_every: int = 0
    delay: float = 0.0
    seen: int = 0
    hold_after: int | None = None
    arrived: int = 0

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)
        with self.lock:
            self.arrived += 1
            arrived = self.arrived
        while self.hold_after is not None and arrived > self.hold_after:
            await asyncio.sleep(0.005)
        with self.lock:
            self.seen += 1
            n = self.seen
        if self.reply is not None:
            return self.reply
        if self.drop_every and n % self.drop_every == 0:
            assert server.transport is not None
            server.transport.close()
            return "421 4.4.2 closing connection"
        if self.every and n % self.every == 0:
            return self.every_reply
        raw = envelope.original_content or b""
        with self.lock:
            self.messages.append(
                Received(str(envelope.mail_from), [str(r) for r in envelope.rcpt_tos], raw)
            )
        return "250 OK recorded"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RecordingSMTP:
    """Listen on a free loopback port; ``messages`` holds what arrived, ``reply`` forces one."""

    def __init__(self) -> None:
        self.port = _free_port()
        self._handler = _Handler()
        self._controller = Controller(self._handler, hostname="127.0.0.1", port=self.port)

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()

    @property
    def messages(self) -> list[Received]:
        with self._handler.lock:
            return list(self._handler.messages)

    def fail_with(self, reply: str | None) -> None:
        """Answer every DATA with ``reply`` (e.g. "451 try later"), or record again with None."""
        self._handler.reply = reply

    def flaky(
        self,
        *,
        every: int = 0,
        reply: str = "451 4.3.0 try again later",
        drop_every: int = 0,
        delay: float = 0.0,
    ) -> None:
        """Refuse every ``every``-th message with ``reply`` and drop every ``drop_every``-th."""
        self._handler.every, self._handler.every_reply = every, reply
        self._handler.drop_every, self._handler.delay = drop_every, delay

    def hold_after(self, count: int) -> None:
        """Keep every message after the first ``count`` waiting in DATA until ``release``."""
        self._handler.hold_after = count

    def release(self) -> None:
        """Let held messages through."""
        self._handler.hold_after = None

    def to(self, address: str) -> list[EmailMessage]:
        """Return the messages sent to ``address``."""
        return [m.message for m in self.messages if address in m.rcpt_tos]


def body_text(message: EmailMessage) -> str:
    """Return the plain-text part."""
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(cast(Any, part).get_content())
