"""Transports: a real SMTP server, or the local outbox when none is configured."""

from __future__ import annotations

import asyncio
from email.message import EmailMessage
from email.utils import parseaddr
from typing import Protocol

from alerts.db import Sessionmaker
from alerts.mail.pool import OutboxSender
from alerts.mail.smtp import SmtpConfig, SmtpConnection


def envelope_sender(message: EmailMessage) -> str:
    """Return the bare address of the From header, used as the SMTP envelope sender."""
    return parseaddr(str(message["From"]))[1]


class Transport(Protocol):
    """Something that delivers a message and returns the server's answer."""

    async def send(self, message: EmailMessage) -> str:
        """Deliver ``message``; raise TransientMailError or PermanentMailError."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


class SmtpTransport:
    """Send one-to-one messages through one persistent SMTP connection."""

    def __init__(self, config: SmtpConfig) -> None:
        self._connection = SmtpConnection(config)
        self._lock = asyncio.Lock()

    async def send(self, message: EmailMessage) -> str:
        """Send one message; failures are classified as transient or permanent."""
        async with self._lock:
            return await self._connection.send(
                envelope_sender(message), [str(message["To"])], message.as_bytes()
            )

    async def close(self) -> None:
        """Say QUIT if connected."""
        await self._connection.close()


class OutboxTransport:
    """Catch messages in the database so a developer can read them on /outbox."""

    def __init__(self, sessionmaker: Sessionmaker) -> None:
        self._outbox = OutboxSender(sessionmaker)

    async def send(self, message: EmailMessage) -> str:
        """Store the message; the Message-ID is unique, so a resend stores nothing twice."""
        return await self._outbox.send(
            envelope_sender(message), [str(message["To"])], message.as_bytes()
        )

    async def close(self) -> None:
        """Nothing to release."""


def transport_for(smtp_url: str, sessionmaker: Sessionmaker, timeout: float) -> Transport:
    """Return the SMTP transport when SMTP_URL is set, else the local outbox."""
    if smtp_url:
        return SmtpTransport(SmtpConfig.from_url(smtp_url, timeout))
    return OutboxTransport(sessionmaker)
